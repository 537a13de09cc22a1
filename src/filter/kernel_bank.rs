//! Named kernels.
//!
//! | name | kernel |
//! |---|---|
//! | `sobel3-horizontal` | Sobel `[[-1,0,1],[-2,0,2],[-1,0,1]]`: derivative along x |
//! | `sobel3-vertical` | its transpose: derivative along y |
//! | `sobel7-horizontal` | the course's 7×7 edge kernel, entry `dx/(dx²+dy²)` at column offset `dx` and row offset `dy` from the centre (0 at the centre) |
//! | `sobel7-vertical` | its transpose, entry `dy/(dx²+dy²)` |
//! | `edge-horizontal`, `edge-vertical` | the same formula for any odd `size` |
//! | `gaussian` | `scipy.ndimage.gaussian_filter`'s weights: `exp(−i²/2σ²)` for `i = −r..r`, normalised, `r = ⌊4σ + ½⌋` unless `size = 2r+1` is given |
//! | `box` | `size × size` of `1/size²` |
//! | `laplacian` | `[[0,1,0],[1,-4,1],[0,1,0]]` |
//! | `sharpen` | `[[0,-1,0],[-1,5,-1],[0,-1,0]]` |
//!
//! Names follow the course: its first kernel, the one it says "shows
//! horizontal edges", is the x-derivative `dx/(dx²+dy²)`. Being a derivative
//! along x, it responds most to intensity changes from left to right, that
//! is to edges that run vertically in the picture; its transpose responds to
//! edges that run horizontally.

use std::path::Path;

use super::Plane;
use crate::error::{Error, Result};
use crate::io::array::Array;

/// Names accepted by [`named`].
pub const NAMES: &[&str] = &[
    "sobel3-horizontal",
    "sobel3-vertical",
    "sobel7-horizontal",
    "sobel7-vertical",
    "edge-horizontal",
    "edge-vertical",
    "gaussian",
    "box",
    "laplacian",
    "sharpen",
];

/// The course's edge kernel of odd `size`: `dx/(dx²+dy²)`.
pub fn edge(size: usize) -> Result<Plane> {
    if size.is_multiple_of(2) || size < 3 {
        return Err(Error::invalid(
            "edge kernel",
            format!("size {size} must be odd and at least 3"),
        ));
    }
    check_side("edge kernel", size, MAX_SIDE_2D)?;
    let c = (size / 2) as i64;
    let data = (0..size * size)
        .map(|i| {
            let (dy, dx) = ((i / size) as i64 - c, (i % size) as i64 - c);
            if dx == 0 && dy == 0 {
                0.0
            } else {
                dx as f64 / (dx * dx + dy * dy) as f64
            }
        })
        .collect();
    Plane::new(size, size, data)
}

/// The largest side of a 2-D kernel: a 1025×1025 kernel already costs a
/// million multiplications per pixel.
pub const MAX_SIDE_2D: usize = 1025;

/// The largest 1-D kernel (for signals).
pub const MAX_SIDE_1D: usize = 100_001;

/// An error unless a kernel of side `n` (of `what`) is within `max`.
fn check_side(what: &str, n: usize, max: usize) -> Result<()> {
    if n > max {
        return Err(Error::invalid(
            what,
            format!("a kernel of {n} values per side is larger than the largest, {max}"),
        ));
    }
    Ok(())
}

/// Normalised Gaussian weights of `scipy.ndimage.gaussian_filter1d` with
/// radius `r`.
pub fn gaussian_weights(sigma: f64, radius: usize) -> Vec<f64> {
    let w: Vec<f64> = (-(radius as i64)..=radius as i64)
        .map(|i| (-0.5 * (i * i) as f64 / (sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|v| v / sum).collect()
}

/// Radius of a Gaussian kernel: `size / 2` for an odd `size`, else
/// `⌊4σ + ½⌋` (`gaussian_filter`'s `truncate = 4`).
fn gaussian_radius(sigma: f64, size: Option<usize>) -> Result<usize> {
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(Error::invalid(
            "gaussian kernel",
            format!("sigma {sigma} must be positive"),
        ));
    }
    match size {
        Some(s) if s % 2 == 1 => Ok(s / 2),
        Some(s) => Err(Error::invalid("gaussian kernel", format!("size {s} must be odd"))),
        // Saturating: a huge sigma gives a huge radius, which the callers'
        // size checks refuse.
        None => Ok((4.0 * sigma + 0.5).floor() as usize),
    }
}

/// The radius of a Gaussian whose kernel side may be at most `max`.
fn gaussian_radius_within(sigma: f64, size: Option<usize>, max: usize) -> Result<usize> {
    let r = gaussian_radius(sigma, size)?;
    let side = r.saturating_mul(2).saturating_add(1);
    check_side(&format!("gaussian kernel of sigma {sigma}"), side, max)?;
    Ok(r)
}

/// A 2-D Gaussian (outer product of [`gaussian_weights`]).
pub fn gaussian(sigma: f64, size: Option<usize>) -> Result<Plane> {
    let w = gaussian_weights(sigma, gaussian_radius_within(sigma, size, MAX_SIDE_2D)?);
    let n = w.len();
    Plane::new(n, n, (0..n * n).map(|i| w[i / n] * w[i % n]).collect())
}

fn fixed(rows: &[[f64; 3]; 3]) -> Plane {
    Plane {
        h: 3,
        w: 3,
        data: rows.iter().flatten().copied().collect(),
    }
}

/// A kernel by name; `size` and `sigma` where the kernel takes them.
pub fn named(name: &str, size: Option<usize>, sigma: Option<f64>) -> Result<Plane> {
    let sobel = fixed(&[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]);
    Ok(match name {
        "sobel3-horizontal" => sobel,
        "sobel3-vertical" => sobel.transposed(),
        "sobel7-horizontal" => edge(7)?,
        "sobel7-vertical" => edge(7)?.transposed(),
        "edge-horizontal" => edge(size.unwrap_or(7))?,
        "edge-vertical" => edge(size.unwrap_or(7))?.transposed(),
        "gaussian" => gaussian(sigma.unwrap_or(1.0), size)?,
        "box" => {
            let n = size.unwrap_or(3);
            if n == 0 {
                return Err(Error::invalid("box kernel", "size must be positive"));
            }
            check_side("box kernel", n, MAX_SIDE_2D)?;
            Plane::new(n, n, vec![1.0 / (n * n) as f64; n * n])?
        }
        "laplacian" => fixed(&[[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        "sharpen" => fixed(&[[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
        other => {
            return Err(Error::invalid(
                "kernel",
                format!("unknown kernel {other:?}; choose {} or --kernel-file", NAMES.join(", ")),
            ));
        }
    })
}

/// A 1-D kernel by name, for signals: `box` (moving average) or `gaussian`.
pub fn named_1d(name: &str, size: Option<usize>, sigma: Option<f64>) -> Result<Vec<f64>> {
    match name {
        "box" => {
            let n = size.unwrap_or(3);
            if n == 0 {
                return Err(Error::invalid("box kernel", "size must be positive"));
            }
            check_side("box kernel", n, MAX_SIDE_1D)?;
            Ok(vec![1.0 / n as f64; n])
        }
        "gaussian" => {
            let sigma = sigma.unwrap_or(1.0);
            Ok(gaussian_weights(
                sigma,
                gaussian_radius_within(sigma, size, MAX_SIDE_1D)?,
            ))
        }
        other => Err(Error::invalid(
            "kernel",
            format!("{other:?} is not a 1-D kernel; signals take box, gaussian or --kernel-file"),
        )),
    }
}

/// A kernel from a CSV file (one row per line) or a 2-D `.npy` array.
pub fn from_file(path: &Path) -> Result<Plane> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let plane = if name.ends_with(".npy") {
        let a: Array = crate::io::npy::read(path)?;
        if a.shape.len() != 2 {
            return Err(Error::format(
                path,
                format!("a kernel must be 2-D, this array has shape {:?}", a.shape),
            ));
        }
        Plane::new(a.shape[0], a.shape[1], (0..a.len()).map(|i| a.get(i)).collect())?
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut rows: Vec<Vec<f64>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let row = line
                .split([',', ' ', '\t'])
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse::<f64>()
                        .map_err(|_| Error::format(path, format!("line {}: {t:?} is not a number", i + 1)))
                })
                .collect::<Result<Vec<f64>>>()?;
            if let Some(first) = rows.first()
                && first.len() != row.len()
            {
                return Err(Error::format(
                    path,
                    format!(
                        "line {}: {} values, the first row has {}",
                        i + 1,
                        row.len(),
                        first.len()
                    ),
                ));
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(Error::format(path, "the kernel file is empty"));
        }
        let (h, w) = (rows.len(), rows[0].len());
        Plane::new(h, w, rows.into_iter().flatten().collect())?
    };
    if let Some(i) = plane.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::format(path, format!("kernel entry {i} is not finite")));
    }
    Ok(plane)
}
