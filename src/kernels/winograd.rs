//! Winograd's minimal filtering F(2×2, 3×3) for 3×3 convolutions of stride 1
//! (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2×2 block of outputs ("tile") is computed from the 4×4 block of
//! input it sees: the input block and each 3×3 filter are carried into a
//! 4×4 transformed domain (`V = Bᵀ d B`, `U = G g Gᵀ`), multiplied there
//! element by element and summed over input channels — 16 independent
//! matrix products `M[ξ] = U[ξ] · V[ξ]`, one per transformed position ξ —
//! and carried back (`Y = Aᵀ M A`). A tile costs 16 products per pair of
//! channels instead of im2col's 36, and no patch matrix is unfolded.
//!
//! The data gradient of such a convolution is itself one (of the output
//! gradient with the filters turned by 180° and input and output channels
//! swapped, padded by `2 − pad`), so `Plane::data_grad` reuses the same
//! kernel for backward.
//!
//! The transforms' constants are 0, ±1 and ±½, exact in binary; the
//! results differ from the direct sum only by rounding order (in f32 a few
//! units in the last place more than im2col, checked against the scalar
//! reference in `tests/it/kernel_paths.rs`).
//!
//! Layouts: `x` `(n, c_in, h, w)`, `y` `(n, c_out, out_h, out_w)`; the
//! transformed filters `u` are 16 row-major `c_out × c_in` matrices; for a
//! chunk of samples with `t` tiles in all, `v` is 16 `t × c_in` matrices and
//! `m` 16 `t × c_out` matrices (tile index `sample · tiles + row · tiles_w +
//! col`), the 16 of each a cache line more than their size apart (`skewed`),
//! channels last so that the transforms run over 8 channels
//! at once; each sample passes through a channels-last copy on the way in
//! and out.

use std::ops::{Add, Sub};

use crate::kernels::cpu::{Isa, dispatch};
use crate::kernels::gemm::{MatmulSpec, Par, matmul};
use crate::kernels::geometry::ConvGeometry;
use crate::scalar::Scalar;

/// Positions of the transformed domain (4 × 4).
pub const XI: usize = 16;

/// True when F(2×2, 3×3) computes this convolution's forward pass: a 3×3
/// kernel, stride 1, no dilation, one group.
pub fn forward_applies(g: &ConvGeometry) -> bool {
    g.k_h == 3 && g.k_w == 3 && g.stride == [1, 1] && g.dilation == [1, 1] && g.groups == 1
}

/// True when it also computes the data gradient (padding of at most 2 on
/// every side, so that the gradient's own padding `2 − pad` exists).
pub fn data_grad_applies(g: &ConvGeometry) -> bool {
    forward_applies(g) && g.pad_top.max(g.pad_bottom).max(g.pad_left).max(g.pad_right) <= 2
}

/// A stride-1 3×3 convolution as the Winograd kernel sees it: the bottom and
/// right padding follow from the output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plane {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl Plane {
    /// The forward pass of `g` (which [`forward_applies`] accepts).
    pub(crate) fn forward(g: &ConvGeometry) -> Self {
        Plane {
            c_in: g.c_in,
            c_out: g.c_out,
            h: g.h,
            w: g.w,
            pad_top: g.pad_top,
            pad_left: g.pad_left,
            out_h: g.out_h,
            out_w: g.out_w,
        }
    }

    /// The data gradient of `g` (which [`data_grad_applies`] accepts): the
    /// output gradient convolved, padded by `2 − pad`, with the turned filters.
    pub(crate) fn data_grad(g: &ConvGeometry) -> Self {
        Plane {
            c_in: g.c_out,
            c_out: g.c_in,
            h: g.out_h,
            w: g.out_w,
            pad_top: 2 - g.pad_top,
            pad_left: 2 - g.pad_left,
            out_h: g.h,
            out_w: g.w,
        }
    }

    /// Tiles down and across one output plane.
    pub(crate) fn tiles(&self) -> (usize, usize) {
        (self.out_h.div_ceil(2), self.out_w.div_ceil(2))
    }

    /// Tiles of one sample.
    pub(crate) fn tiles_per_sample(&self) -> usize {
        let (th, tw) = self.tiles();
        th * tw
    }

    /// Elements of one input sample.
    pub(crate) fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements of one output sample.
    pub(crate) fn out_len(&self) -> usize {
        self.c_out * self.out_h * self.out_w
    }

    /// Samples whose tiles go through one set of products: enough for at
    /// least 256 tiles (rows of the products), at most `per_task`, with the transformed input and
    /// output of a chunk under 512 Ki elements each where possible (each layer keeps its own, so
    /// this is memory a deep model holds per 3×3 layer and thread).
    pub(crate) fn samples_per_chunk(&self, per_task: usize) -> usize {
        let tp = self.tiles_per_sample().max(1);
        let wanted = 256usize.div_ceil(tp);
        let cap = ((512 << 10) / (XI * self.c_in.max(self.c_out) * tp).max(1)).max(1);
        wanted.min(cap).min(per_task).max(1)
    }

    /// Elements of the transformed input and output of `samples` samples.
    pub(crate) fn chunk_lens(&self, samples: usize) -> (usize, usize) {
        let t = samples * self.tiles_per_sample();
        (XI * skewed(self.c_in * t), XI * skewed(self.c_out * t))
    }
}

/// Elements from one of the 16 transformed matrices of `len` elements to
/// the next: 16 more than `len` (a cache line of `f32`). The transforms write (and read)
/// all 16 at once, element by element; matrices exactly a power of two
/// apart would put those 16 streams in one set of the L1 cache, which holds
/// 8 or 12 lines (a 3× slowdown of the transforms on ResNet's layers).
fn skewed(len: usize) -> usize {
    len + 16
}

/// `G g Gᵀ` of one 3×3 filter `g` (row-major), `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`.
fn filter_transform<T: Scalar>(g: [T; 9]) -> [T; XI] {
    let half = T::lit(0.5);
    let col = |a: T, b: T, c: T| [a, (a + b + c) * half, (a - b + c) * half, c];
    // G g: 4 × 3, column by column.
    let mut gg = [[T::zero(); 3]; 4];
    for j in 0..3 {
        let c = col(g[j], g[3 + j], g[6 + j]);
        for i in 0..4 {
            gg[i][j] = c[i];
        }
    }
    // (G g) Gᵀ: 4 × 4, row by row.
    let mut out = [T::zero(); XI];
    for i in 0..4 {
        let r = col(gg[i][0], gg[i][1], gg[i][2]);
        out[4 * i..4 * i + 4].copy_from_slice(&r);
    }
    out
}

/// Elements of the transformed filters of a `c_out × c_in` convolution
/// (16 matrices, [`skewed`] apart).
pub(crate) fn filters_len(c_out: usize, c_in: usize) -> usize {
    XI * skewed(c_out * c_in)
}

/// Transforms the filters `w` `(c_out, c_in, 3, 3)` into `u` (at least
/// [`filters_len`] elements): with `turn` false, 16 `c_out × c_in` matrices
/// of `G w[co][ci] Gᵀ` (the forward pass); with `turn` true, 16 `c_in ×
/// c_out` matrices of the filters turned by 180° (the data gradient, see
/// [`Plane::data_grad`]); the matrices [`skewed`] apart, since every filter
/// writes one value to each. Parallel over blocks of the matrices' rows,
/// each row written left to right.
pub(crate) fn transform_filters<T: Scalar>(w: &[T], c_out: usize, c_in: usize, turn: bool, u: &mut [T]) {
    let (rows, cols) = if turn { (c_in, c_out) } else { (c_out, c_in) };
    if rows == 0 || cols == 0 {
        return;
    }
    let mut mats = u[..filters_len(c_out, c_in)].chunks_exact_mut(skewed(rows * cols));
    let mats: [&mut [T]; XI] = std::array::from_fn(|_| &mut mats.next().expect("16 matrices")[..rows * cols]);
    let filters = FilterRows { w, c_in, cols, turn };
    filters.transform(0, mats);
}

/// The filters of [`transform_filters`], transformed a block of rows at a time.
#[derive(Clone, Copy)]
struct FilterRows<'a, T> {
    w: &'a [T],
    c_in: usize,
    cols: usize,
    turn: bool,
}

impl<T: Scalar> FilterRows<'_, T> {
    /// Rows of the 16 matrices below which one thread transforms them all.
    const GRAIN: usize = 8;

    /// Fills rows `r0..` of the 16 matrices, of which `mats` holds those
    /// rows (the same count in each), halving the block in parallel.
    fn transform(self, r0: usize, mats: [&mut [T]; XI]) {
        let rows = mats[0].len() / self.cols;
        if rows > Self::GRAIN {
            let mid = rows / 2;
            let mut lo: [&mut [T]; XI] = Default::default();
            let mut hi: [&mut [T]; XI] = Default::default();
            for ((m, l), h) in mats.into_iter().zip(&mut lo).zip(&mut hi) {
                (*l, *h) = m.split_at_mut(mid * self.cols);
            }
            rayon::join(|| self.transform(r0, lo), || self.transform(r0 + mid, hi));
            return;
        }
        let mut mats = mats;
        for r in 0..rows {
            for c in 0..self.cols {
                let (co, ci) = if self.turn { (c, r0 + r) } else { (r0 + r, c) };
                let k = &self.w[(co * self.c_in + ci) * 9..(co * self.c_in + ci + 1) * 9];
                let g: [T; 9] = std::array::from_fn(|i| if self.turn { k[8 - i] } else { k[i] });
                for (mat, v) in mats.iter_mut().zip(filter_transform(g)) {
                    mat[r * self.cols + c] = v;
                }
            }
        }
    }
}

/// One row or column of `Bᵀ d B`: `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`.
#[inline(always)]
fn bt<V: Copy + Add<Output = V> + Sub<Output = V>>(a: V, b: V, c: V, e: V) -> [V; 4] {
    [a - c, b + c, c - b, b - e]
}

/// One row or column of `Aᵀ m A`: `Aᵀ = [1 1 1 0; 0 1 −1 −1]`.
#[inline(always)]
fn at<V: Copy + Add<Output = V> + Sub<Output = V>>(a: V, b: V, c: V, e: V) -> [V; 2] {
    [a + b + c, b - c - e]
}

/// `Bᵀ d B` of one 4×4 input block, of single values or of [`Lanes`] of
/// channels. (Written out, with no closures, so that it inlines into the
/// AVX2 build of its caller.)
#[inline(always)]
fn input_transform<V: Copy + Add<Output = V> + Sub<Output = V>>(d: [[V; 4]; 4]) -> [V; XI] {
    // cj[i] = (Bᵀ d)[i][j]
    let c0 = bt(d[0][0], d[1][0], d[2][0], d[3][0]);
    let c1 = bt(d[0][1], d[1][1], d[2][1], d[3][1]);
    let c2 = bt(d[0][2], d[1][2], d[2][2], d[3][2]);
    let c3 = bt(d[0][3], d[1][3], d[2][3], d[3][3]);
    let [r00, r01, r02, r03] = bt(c0[0], c1[0], c2[0], c3[0]);
    let [r10, r11, r12, r13] = bt(c0[1], c1[1], c2[1], c3[1]);
    let [r20, r21, r22, r23] = bt(c0[2], c1[2], c2[2], c3[2]);
    let [r30, r31, r32, r33] = bt(c0[3], c1[3], c2[3], c3[3]);
    [
        r00, r01, r02, r03, r10, r11, r12, r13, r20, r21, r22, r23, r30, r31, r32, r33,
    ]
}

/// `Aᵀ m A` of one transformed output block.
#[inline(always)]
fn output_transform<V: Copy + Add<Output = V> + Sub<Output = V>>(m: [V; XI]) -> [[V; 2]; 2] {
    // cj[i] = (Aᵀ m)[i][j]
    let c0 = at(m[0], m[4], m[8], m[12]);
    let c1 = at(m[1], m[5], m[9], m[13]);
    let c2 = at(m[2], m[6], m[10], m[14]);
    let c3 = at(m[3], m[7], m[11], m[15]);
    [at(c0[0], c1[0], c2[0], c3[0]), at(c0[1], c1[1], c2[1], c3[1])]
}

/// Channels transformed together: the transforms run on [`LANES`] channels
/// of one tile at once, element-wise operations on fixed arrays that the
/// compiler turns into vector instructions.
const LANES: usize = 8;

/// [`LANES`] values, one per channel.
#[derive(Clone, Copy)]
struct Lanes<T>([T; LANES]);

impl<T: Scalar> Add for Lanes<T> {
    type Output = Self;
    #[inline(always)]
    fn add(mut self, o: Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
        self
    }
}

impl<T: Scalar> Sub for Lanes<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(mut self, o: Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a -= b;
        }
        self
    }
}

impl<T: Scalar> Lanes<T> {
    /// The values of `src` (at most [`LANES`]), zero after them. (A whole
    /// set of lanes is a fixed-size copy; a partial one would otherwise be
    /// a call to `memmove` in every case.)
    #[inline(always)]
    fn load(src: &[T]) -> Self {
        if let Ok(whole) = <[T; LANES]>::try_from(src) {
            return Lanes(whole);
        }
        let mut l = [T::zero(); LANES];
        l[..src.len()].copy_from_slice(src);
        Lanes(l)
    }

    /// Stores the first `dst.len()` values.
    #[inline(always)]
    fn store(self, dst: &mut [T]) {
        if let Ok(whole) = <&mut [T; LANES]>::try_from(&mut *dst) {
            *whole = self.0;
            return;
        }
        let n = dst.len();
        dst.copy_from_slice(&self.0[..n]);
    }
}

/// Scratch memory of [`conv_chunk`].
pub(crate) struct Scratch<'a, T> {
    /// The transformed input, at least [`Plane::chunk_lens`]`.0` elements.
    pub v: &'a mut [T],
    /// The transformed output, at least [`Plane::chunk_lens`]`.1` elements.
    pub m: &'a mut [T],
    /// One sample's padded input or output with channels last (grown here).
    pub plane: &'a mut Vec<T>,
}

/// Convolves `samples` whole samples `x` into `y` with the transformed
/// filters `u` (see [`transform_filters`]), the transforms on `isa`, each of
/// the 16 products on `par` threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_chunk<T: Scalar>(
    pl: &Plane,
    isa: Isa,
    samples: usize,
    x: &[T],
    u: &[T],
    y: &mut [T],
    scratch: Scratch<'_, T>,
    par: Par,
) {
    let Scratch { v, m, plane } = scratch;
    let t = samples * pl.tiles_per_sample();
    if t == 0 || pl.c_in == 0 || pl.c_out == 0 {
        return;
    }
    let (th, tw) = pl.tiles();
    let need = ((2 * th + 2) * (2 * tw + 2) * pl.c_in).max(4 * th * tw * pl.c_out);
    if plane.len() < need {
        plane.resize(need, T::zero());
    }
    let (vs, ms) = (skewed(pl.c_in * t), skewed(pl.c_out * t));
    transform_input(isa, pl, samples, x, v, plane);
    // One product per transformed position, summing over input channels:
    // M[ξ] (t × c_out) = V[ξ] (t × c_in) · U[ξ]ᵀ.
    let (uxi, us) = (pl.c_out * pl.c_in, skewed(pl.c_out * pl.c_in));
    for xi in 0..XI {
        matmul(
            &MatmulSpec::new(t, pl.c_out, pl.c_in).b_trans().par(par),
            &v[xi * vs..xi * vs + pl.c_in * t],
            &u[xi * us..xi * us + uxi],
            &mut m[xi * ms..xi * ms + pl.c_out * t],
        );
    }
    transform_output(isa, pl, samples, m, y, plane);
}

dispatch!(transform_input, transform_input_avx2, transform_input_body,
    (pl: &Plane, samples: usize, x: &[T], v: &mut [T], plane: &mut [T]));
dispatch!(transform_output, transform_output_avx2, transform_output_body,
    (pl: &Plane, samples: usize, m: &[T], y: &mut [T], plane: &mut [T]));

/// The input blocks of `samples` samples `x` into the transformed domain `v`
/// (16 `t × c_in` matrices), each sample through `plane`, where it is laid
/// out zero-padded with channels last (`2·th + 2` rows of `2·tw + 2`
/// pixels, which hold the input and its top and left padding: `h + pad_top
/// ≤ 2·th + 2` since `out_h = h + pad_top + pad_bottom − 2`).
#[inline(always)]
fn transform_input_body<T: Scalar>(pl: &Plane, samples: usize, x: &[T], v: &mut [T], plane: &mut [T]) {
    let (th, tw) = pl.tiles();
    let tp = th * tw;
    let t = samples * tp;
    let (h, w, c_in) = (pl.h, pl.w, pl.c_in);
    let pw = 2 * tw + 2;
    let buf = &mut plane[..(2 * th + 2) * pw * c_in];
    let vs = skewed(c_in * t);
    debug_assert!(v.len() >= XI * vs, "transformed input buffer too short");
    for (s, xs) in x[..samples * pl.in_len()].chunks_exact(pl.in_len()).enumerate() {
        buf.fill(T::zero());
        // Channels last, [`LANES`] planes at a time.
        for c0 in (0..c_in).step_by(LANES) {
            let n = LANES.min(c_in - c0);
            let planes: [&[T]; LANES] = std::array::from_fn(|l| {
                let ci = c0 + l.min(n - 1);
                &xs[ci * h * w..(ci + 1) * h * w]
            });
            for r in 0..h {
                let at = (r + pl.pad_top) * pw + pl.pad_left;
                for c in 0..w {
                    let mut px = Lanes([T::zero(); LANES]);
                    for (v, plane) in px.0.iter_mut().zip(&planes) {
                        *v = plane[r * w + c];
                    }
                    px.store(&mut buf[(at + c) * c_in + c0..(at + c) * c_in + c0 + n]);
                }
            }
        }
        for a in 0..th {
            for b in 0..tw {
                let tile = s * tp + a * tw + b;
                for c0 in (0..c_in).step_by(LANES) {
                    let n = LANES.min(c_in - c0);
                    let mut d = [[Lanes([T::zero(); LANES]); 4]; 4];
                    for (i, row) in d.iter_mut().enumerate() {
                        for (j, px) in row.iter_mut().enumerate() {
                            let at = ((2 * a + i) * pw + 2 * b + j) * c_in + c0;
                            *px = Lanes::load(&buf[at..at + n]);
                        }
                    }
                    let at = tile * c_in + c0;
                    for (xi, val) in input_transform(d).into_iter().enumerate() {
                        val.store(&mut v[xi * vs + at..xi * vs + at + n]);
                    }
                }
            }
        }
    }
}

/// Back from the transformed domain `m` (16 `t × c_out` matrices) to the
/// outputs `y` of `samples` samples, 2×2 outputs per tile, each sample
/// through `plane`: whole tiles with channels last, cut to the output's
/// size on the way out.
#[inline(always)]
fn transform_output_body<T: Scalar>(pl: &Plane, samples: usize, m: &[T], y: &mut [T], plane: &mut [T]) {
    let (th, tw) = pl.tiles();
    let tp = th * tw;
    let t = samples * tp;
    let (oh, ow, c_out) = (pl.out_h, pl.out_w, pl.c_out);
    let bw = 2 * tw;
    let buf = &mut plane[..2 * th * bw * c_out];
    let ms = skewed(c_out * t);
    debug_assert!(m.len() >= XI * ms, "transformed output buffer too short");
    for (s, ys) in y[..samples * pl.out_len()].chunks_exact_mut(pl.out_len()).enumerate() {
        for a in 0..th {
            for b in 0..tw {
                let tile = s * tp + a * tw + b;
                for c0 in (0..c_out).step_by(LANES) {
                    let n = LANES.min(c_out - c0);
                    let at = tile * c_out + c0;
                    let mut blk = [Lanes([T::zero(); LANES]); XI];
                    for (xi, px) in blk.iter_mut().enumerate() {
                        *px = Lanes::load(&m[xi * ms + at..xi * ms + at + n]);
                    }
                    for (i, row) in output_transform(blk).into_iter().enumerate() {
                        for (j, val) in row.into_iter().enumerate() {
                            let at = ((2 * a + i) * bw + 2 * b + j) * c_out + c0;
                            val.store(&mut buf[at..at + n]);
                        }
                    }
                }
            }
        }
        // Back to channel planes, [`LANES`] at a time.
        for (b, planes) in ys.chunks_mut(LANES * oh * ow).enumerate() {
            let c0 = b * LANES;
            let p = oh * ow;
            let n = planes.len() / p;
            for r in 0..oh {
                for c in 0..ow {
                    let at = (r * bw + c) * c_out + c0;
                    let px = Lanes::load(&buf[at..at + n]);
                    for (l, &val) in px.0[..n].iter().enumerate() {
                        planes[l * p + r * ow + c] = val;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu::every_isa::{self, values};

    /// The three transforms compose to the correlation of one 4×4 block
    /// with one 3×3 filter, checked against the direct sum.
    #[test]
    fn one_tile_equals_direct_correlation() {
        let d: [[f64; 4]; 4] = std::array::from_fn(|i| std::array::from_fn(|j| (i * 4 + j) as f64 * 0.37 - 2.0));
        let g: [f64; 9] = std::array::from_fn(|i| (i as f64 - 4.0) * 0.21 + 0.05);
        let u = filter_transform(g);
        let v = input_transform(d);
        let mut m = [0.0; XI];
        for xi in 0..XI {
            m[xi] = u[xi] * v[xi];
        }
        let y = output_transform(m);
        for i in 0..2 {
            for j in 0..2 {
                let direct: f64 = (0..3)
                    .flat_map(|p| (0..3).map(move |q| (p, q)))
                    .map(|(p, q)| d[i + p][j + q] * g[p * 3 + q])
                    .sum();
                assert!((y[i][j] - direct).abs() < 1e-12, "({i},{j}): {} vs {direct}", y[i][j]);
            }
        }
    }

    /// Plane geometries: paddings 0–3, lopsided (bottom and right from the
    /// output size), odd outputs, 1×1 images, channel counts that fill the
    /// lanes and ones that leave a partial set.
    fn planes() -> Vec<Plane> {
        // (c_in, c_out, h, w, [top, bottom, left, right])
        let cases = [
            (8, 16, 6, 6, [1, 1, 1, 1]),
            (3, 5, 7, 4, [0, 0, 0, 0]),
            (19, 9, 5, 5, [2, 2, 2, 2]),
            (64, 64, 2, 2, [1, 1, 1, 1]),
            (5, 11, 5, 6, [0, 2, 1, 0]),
            (2, 3, 3, 4, [3, 3, 3, 1]),
            (9, 2, 1, 1, [1, 1, 1, 1]),
        ];
        cases
            .into_iter()
            .map(|(c_in, c_out, h, w, [t, b, l, r])| Plane {
                c_in,
                c_out,
                h,
                w,
                pad_top: t,
                pad_left: l,
                out_h: h + t + b - 2,
                out_w: w + l + r - 2,
            })
            .collect()
    }

    /// The direct correlation of `samples` samples, zero outside the input.
    fn direct<T: Scalar>(pl: &Plane, samples: usize, x: &[T], wt: &[T]) -> Vec<T> {
        let mut y = vec![T::zero(); samples * pl.out_len()];
        for s in 0..samples {
            for co in 0..pl.c_out {
                for r in 0..pl.out_h {
                    for c in 0..pl.out_w {
                        let mut acc = T::zero();
                        for ci in 0..pl.c_in {
                            for p in 0..3 {
                                for q in 0..3 {
                                    let (ir, ic) = (
                                        (r + p) as isize - pl.pad_top as isize,
                                        (c + q) as isize - pl.pad_left as isize,
                                    );
                                    if ir < 0 || ic < 0 || ir as usize >= pl.h || ic as usize >= pl.w {
                                        continue;
                                    }
                                    let xv = x[((s * pl.c_in + ci) * pl.h + ir as usize) * pl.w + ic as usize];
                                    acc += xv * wt[((co * pl.c_in + ci) * 3 + p) * 3 + q];
                                }
                            }
                        }
                        y[((s * pl.c_out + co) * pl.out_h + r) * pl.out_w + c] = acc;
                    }
                }
            }
        }
        y
    }

    /// `conv_chunk` of `samples` samples on `isa`.
    fn chunk<T: Scalar>(pl: &Plane, isa: Isa, samples: usize, x: &[T], wt: &[T]) -> Vec<T> {
        let mut u = vec![T::zero(); filters_len(pl.c_out, pl.c_in)];
        transform_filters(wt, pl.c_out, pl.c_in, false, &mut u);
        let (v_len, m_len) = pl.chunk_lens(samples);
        let (mut v, mut m, mut plane) = (vec![T::zero(); v_len], vec![T::zero(); m_len], Vec::new());
        let mut y = vec![T::zero(); samples * pl.out_len()];
        let scratch = Scratch {
            v: &mut v,
            m: &mut m,
            plane: &mut plane,
        };
        conv_chunk(pl, isa, samples, x, &u, &mut y, scratch, Par::Seq);
        y
    }

    /// Every build of the transforms this CPU runs (the baseline always,
    /// AVX2 where it has it) against the direct sum in f64, and the AVX2
    /// build equal to the baseline build bit for bit in f32 (additions and
    /// subtractions only, in the same order).
    #[test]
    fn transforms_match_direct_sum_on_every_isa() {
        let (isas, avx2) = every_isa::builds("transforms");
        for pl in planes() {
            let samples = 3;
            let (x, wt) = (
                values::<f64>(samples * pl.in_len(), 37),
                values::<f64>(pl.c_out * pl.c_in * 9, 53),
            );
            let expected = direct(&pl, samples, &x, &wt);
            every_isa::assert_close(&format!("{pl:?}"), &isas, &expected, |isa| {
                chunk(&pl, isa, samples, &x, &wt)
            });
            if let Some(avx2) = avx2 {
                let (x, wt) = (
                    values::<f32>(samples * pl.in_len(), 37),
                    values::<f32>(pl.c_out * pl.c_in * 9, 53),
                );
                assert_eq!(
                    chunk(&pl, Isa::BASELINE, samples, &x, &wt),
                    chunk(&pl, avx2, samples, &x, &wt),
                    "{pl:?}"
                );
            }
        }
    }
}
