//! Fixed-kernel convolution of images and signals, with SciPy's and NumPy's
//! semantics.
//!
//! - [`convolve2d`] / [`correlate2d`]: `scipy.signal.convolve2d` /
//!   `correlate2d` with modes `full`, `same`, `valid` and boundaries `fill`
//!   (with a fill value), `wrap` and `symm`;
//! - [`convolve`] / [`correlate`]: `np.convolve` / `np.correlate` in 1-D;
//! - [`kernel_bank`]: Sobel, the course's edge kernels, Gaussian, box,
//!   Laplacian, sharpen, or a kernel from a file;
//! - [`image`]: PNG/JPEG in (as `matplotlib.pyplot.imread` reads them) and
//!   PNG/NPY out.
//!
//! True convolution flips the kernel; correlation does not. The layers of a
//! CNN (`Conv2d`) compute correlations, as every deep-learning framework
//! does; the course's `scipy.signal.convolve2d(image, kernel)` convolves.
//!
//! Every 2-D mode is a window of the `full` output (shape `(M+K−1, N+L−1)`
//! for an `M×N` image and a `K×L` kernel): `same` starts at
//! `((K−1)/2, (L−1)/2)` for convolution but at `(K/2, L/2)` for correlation
//! (they differ for even kernel sizes, as in SciPy), and `valid` at
//! `(min(M,K)−1, min(N,L)−1)`, computed with zero fill whatever the boundary.
//!
//! Speed: the image is padded once by the boundary rule, then rows are
//! computed in parallel with contiguous inner loops. A kernel that is an
//! outer product of two vectors (Gaussian, box, Sobel 3×3) is applied as two
//! 1-D passes ([`is_separable`]); the course's edge kernels are not separable.

pub mod image;
pub mod kernel_bank;

use rayon::prelude::*;

use crate::error::{Error, Result};

/// A 2-D array of `f64`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    /// Number of rows.
    pub h: usize,
    /// Number of columns.
    pub w: usize,
    /// The `h · w` values, row by row.
    pub data: Vec<f64>,
}

impl Plane {
    /// A plane from `h · w` row-major values; fails when the count does not match.
    pub fn new(h: usize, w: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != h * w {
            return Err(Error::invalid("plane", format!("{} values for {h}×{w}", data.len())));
        }
        Ok(Plane { h, w, data })
    }

    /// A plane of `h × w` zeros.
    pub fn zeros(h: usize, w: usize) -> Self {
        Plane {
            h,
            w,
            data: vec![0.0; h * w],
        }
    }

    /// The value at row `r`, column `c` (panics when out of range).
    pub fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.w + c]
    }

    /// The plane rotated by 180° (both axes flipped).
    pub fn flipped(&self) -> Plane {
        let mut data = self.data.clone();
        data.reverse();
        Plane {
            h: self.h,
            w: self.w,
            data,
        }
    }

    /// The transpose.
    pub fn transposed(&self) -> Plane {
        let mut data = vec![0.0; self.data.len()];
        for r in 0..self.h {
            for c in 0..self.w {
                data[c * self.h + r] = self.data[r * self.w + c];
            }
        }
        Plane {
            h: self.w,
            w: self.h,
            data,
        }
    }
}

/// Which part of the full output to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every position where kernel and image overlap (SciPy's default for
    /// `convolve2d`, NumPy's for `np.convolve`).
    #[default]
    Full,
    /// The size of the image (2-D) or of the longer input (1-D).
    Same,
    /// Only positions where one input lies entirely inside the other.
    Valid,
}

impl std::str::FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(Mode::Full),
            "same" => Ok(Mode::Same),
            "valid" => Ok(Mode::Valid),
            other => Err(Error::invalid("mode", format!("{other:?}: use full, same or valid"))),
        }
    }
}

/// What the image is outside its edges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    /// A constant (SciPy's `fill` with `fillvalue`; 0 by default).
    Fill(f64),
    /// Periodic (`wrap`).
    Wrap,
    /// Mirrored with the edge pixel repeated (`symm`: `c b a | a b c | c b a`).
    Symm,
}

impl Default for Boundary {
    /// SciPy's default: zeros.
    fn default() -> Self {
        Boundary::Fill(0.0)
    }
}

impl Boundary {
    /// Index of the image row/column that position `i` (possibly outside
    /// `0..n`) reads, or `None` for the fill value. The rules repeat as far as
    /// a kernel reaches, as SciPy's do.
    #[inline]
    fn source(self, i: isize, n: usize) -> Option<usize> {
        let n_i = n as isize;
        match self {
            Boundary::Fill(_) => (0..n_i).contains(&i).then_some(i as usize),
            Boundary::Wrap => Some(i.rem_euclid(n_i) as usize),
            Boundary::Symm => {
                let p = i.rem_euclid(2 * n_i);
                Some(if p < n_i { p } else { 2 * n_i - 1 - p } as usize)
            }
        }
    }
}

/// A window of the full output: rows `top..top+h`, columns `left..left+w`.
struct Window {
    top: usize,
    left: usize,
    h: usize,
    w: usize,
}

fn window(img: &Plane, k: &Plane, mode: Mode, correlate: bool) -> Result<(Window, bool)> {
    let (m, n, kh, kw) = (img.h, img.w, k.h, k.w);
    Ok(match mode {
        Mode::Full => (
            Window {
                top: 0,
                left: 0,
                h: m + kh - 1,
                w: n + kw - 1,
            },
            false,
        ),
        Mode::Same => {
            let (top, left) = if correlate {
                (kh / 2, kw / 2)
            } else {
                ((kh - 1) / 2, (kw - 1) / 2)
            };
            (Window { top, left, h: m, w: n }, false)
        }
        Mode::Valid => {
            let fits = (m >= kh && n >= kw) || (kh >= m && kw >= n);
            if !fits {
                return Err(Error::invalid(
                    "valid mode",
                    format!(
                        "one input must be at least as large as the other in every dimension (image {m}×{n}, kernel {kh}×{kw})"
                    ),
                ));
            }
            (
                Window {
                    top: m.min(kh) - 1,
                    left: n.min(kw) - 1,
                    h: m.abs_diff(kh) + 1,
                    w: n.abs_diff(kw) + 1,
                },
                true,
            )
        }
    })
}

/// `scipy.signal.convolve2d(image, kernel, mode, boundary, fillvalue)`.
pub fn convolve2d(image: &Plane, kernel: &Plane, mode: Mode, boundary: Boundary) -> Result<Plane> {
    filter2d(image, kernel, mode, boundary, false)
}

/// `scipy.signal.correlate2d(image, kernel, mode, boundary, fillvalue)`.
pub fn correlate2d(image: &Plane, kernel: &Plane, mode: Mode, boundary: Boundary) -> Result<Plane> {
    filter2d(image, kernel, mode, boundary, true)
}

fn filter2d(image: &Plane, kernel: &Plane, mode: Mode, boundary: Boundary, correlate: bool) -> Result<Plane> {
    if image.data.is_empty() || kernel.data.is_empty() {
        return Err(Error::invalid("convolution", "image and kernel must not be empty"));
    }
    let (win, zero_fill) = window(image, kernel, mode, correlate)?;
    let boundary = if zero_fill { Boundary::Fill(0.0) } else { boundary };
    // Both operations as a correlation over the full-output coordinates:
    // out[r, c] = Σ kc[p, q] · E(r + top − (K−1) + p, c + left − (L−1) + q),
    // with kc the kernel itself (correlation) or flipped (convolution).
    let kc = if correlate { kernel.clone() } else { kernel.flipped() };
    let (kh, kw) = (kc.h, kc.w);
    let padded = pad(image, &win, kh, kw, boundary);
    Ok(match separate(&kc) {
        Some((u, v)) if kh * kw >= 9 => separable_pass(&padded, &u, &v, &win),
        _ => direct_pass(&padded, &kc, &win),
    })
}

/// The image extended by the boundary rule over every position the window reads.
fn pad(image: &Plane, win: &Window, kh: usize, kw: usize, boundary: Boundary) -> Plane {
    let (ph, pw) = (win.h + kh - 1, win.w + kw - 1);
    let row0 = win.top as isize - (kh as isize - 1);
    let col0 = win.left as isize - (kw as isize - 1);
    let cols: Vec<Option<usize>> = (0..pw).map(|j| boundary.source(col0 + j as isize, image.w)).collect();
    let fill = if let Boundary::Fill(v) = boundary { v } else { 0.0 };
    let mut data = vec![0.0; ph * pw];
    data.par_chunks_mut(pw.max(1))
        .enumerate()
        .for_each(|(i, row)| match boundary.source(row0 + i as isize, image.h) {
            None => row.fill(fill),
            Some(r) => {
                let src = &image.data[r * image.w..(r + 1) * image.w];
                for (d, c) in row.iter_mut().zip(&cols) {
                    *d = c.map_or(fill, |c| src[c]);
                }
            }
        });
    Plane { h: ph, w: pw, data }
}

/// Valid correlation of the padded image with `k`, row by row in parallel.
fn direct_pass(p: &Plane, k: &Plane, win: &Window) -> Plane {
    let mut out = Plane::zeros(win.h, win.w);
    out.data.par_chunks_mut(win.w.max(1)).enumerate().for_each(|(r, row)| {
        for a in 0..k.h {
            let src = &p.data[(r + a) * p.w..(r + a + 1) * p.w];
            for b in 0..k.w {
                let kv = k.data[a * k.w + b];
                if kv == 0.0 {
                    continue;
                }
                for (o, &s) in row.iter_mut().zip(&src[b..b + win.w]) {
                    *o += kv * s;
                }
            }
        }
    });
    out
}

/// The kernel as an outer product `u ⊗ v` when it is one (rank 1 to
/// rounding), for the two-pass path.
pub fn separate(k: &Plane) -> Option<(Vec<f64>, Vec<f64>)> {
    let (mut pr, mut pc, mut best) = (0, 0, 0.0);
    for r in 0..k.h {
        for c in 0..k.w {
            if k.at(r, c).abs() > best {
                (pr, pc, best) = (r, c, k.at(r, c).abs());
            }
        }
    }
    if best == 0.0 {
        return None;
    }
    let u: Vec<f64> = (0..k.h).map(|r| k.at(r, pc)).collect();
    let v: Vec<f64> = (0..k.w).map(|c| k.at(pr, c) / k.at(pr, pc)).collect();
    let tol = 1e-13 * best;
    let rank_one = (0..k.h).all(|r| (0..k.w).all(|c| (k.at(r, c) - u[r] * v[c]).abs() <= tol));
    rank_one.then_some((u, v))
}

/// True when [`convolve2d`] applies `kernel` in two 1-D passes.
pub fn is_separable(kernel: &Plane) -> bool {
    kernel.h * kernel.w >= 9 && separate(kernel).is_some()
}

/// Valid correlation with `u ⊗ v` as a vertical then a horizontal pass.
fn separable_pass(p: &Plane, u: &[f64], v: &[f64], win: &Window) -> Plane {
    // Vertical: tmp[r, j] = Σ_a u[a] · p[r + a, j] over the padded width.
    let mut tmp = vec![0.0; win.h * p.w];
    tmp.par_chunks_mut(p.w.max(1)).enumerate().for_each(|(r, row)| {
        for (a, &ua) in u.iter().enumerate() {
            let src = &p.data[(r + a) * p.w..(r + a + 1) * p.w];
            for (o, &s) in row.iter_mut().zip(src) {
                *o += ua * s;
            }
        }
    });
    let mut out = Plane::zeros(win.h, win.w);
    out.data.par_chunks_mut(win.w.max(1)).enumerate().for_each(|(r, row)| {
        let src = &tmp[r * p.w..(r + 1) * p.w];
        for (b, &vb) in v.iter().enumerate() {
            for (o, &s) in row.iter_mut().zip(&src[b..b + win.w]) {
                *o += vb * s;
            }
        }
    });
    out
}

/// `np.convolve(a, v, mode)`.
pub fn convolve(a: &[f64], v: &[f64], mode: Mode) -> Result<Vec<f64>> {
    filter1d(a, v, mode, false)
}

/// `np.correlate(a, v, mode)` (note NumPy's default mode is `valid`).
pub fn correlate(a: &[f64], v: &[f64], mode: Mode) -> Result<Vec<f64>> {
    filter1d(a, v, mode, true)
}

fn filter1d(a: &[f64], v: &[f64], mode: Mode, correlate: bool) -> Result<Vec<f64>> {
    if a.is_empty() || v.is_empty() {
        return Err(Error::invalid("1-D convolution", "inputs must not be empty"));
    }
    let (m, n) = (a.len(), v.len());
    // The full output, as np.correlate / np.convolve define it.
    let full: Vec<f64> = (0..m + n - 1)
        .map(|i| {
            let mut acc = 0.0;
            for (p, &vp) in v.iter().enumerate() {
                // convolve: a[i − p] · v[p]; correlate: a[i − (n−1) + p] · v[p].
                let j = if correlate {
                    i as isize - (n as isize - 1) + p as isize
                } else {
                    i as isize - p as isize
                };
                if (0..m as isize).contains(&j) {
                    acc += a[j as usize] * vp;
                }
            }
            acc
        })
        .collect();
    let (lo, hi) = (m.min(n), m.max(n));
    let (start, len) = match mode {
        Mode::Full => (0, m + n - 1),
        Mode::Valid => (lo - 1, hi - lo + 1),
        Mode::Same if !correlate => ((lo - 1) / 2, hi),
        Mode::Same if n <= m => ((n - 1) / 2, m),
        Mode::Same => (m / 2, n),
    };
    Ok(full[start..start + len].to_vec())
}
