//! Built-in data that needs no file: seeded, generated images.
//!
//! [`shapes`] draws small grayscale images of six simple shapes at random
//! positions and sizes with pixel noise — a data set the size of sklearn's
//! digits on which a small CNN learns something real within seconds.

use super::Dataset;
use crate::error::Result;
use crate::rng::SeededRng;
use crate::tensor::Tensor;

/// Class names of [`shapes`], in label order.
pub const SHAPE_CLASSES: [&str; 6] = ["hbar", "vbar", "diagonal", "antidiagonal", "square", "cross"];

/// `n` images of `size × size` pixels (`size ≥ 8`), classes in turn, with
/// Gaussian pixel noise of standard deviation `noise`; values roughly in
/// `[0, 1]`, shape `[n, 1, size, size]`.
pub fn shapes(n: usize, size: usize, noise: f64, seed: u64) -> Result<Dataset> {
    let size = size.max(8);
    let mut rng = SeededRng::new(seed);
    let mut x = vec![0f32; n * size * size];
    let mut labels = Vec::with_capacity(n);
    for (i, img) in x.chunks_exact_mut(size * size).enumerate() {
        let class = i % SHAPE_CLASSES.len();
        let len = size / 2 + rng.below((size / 3) as u64) as usize;
        let r0 = rng.below((size - len + 1) as u64) as usize;
        let c0 = rng.below((size - len + 1) as u64) as usize;
        let mid_r = r0 + len / 2;
        let mid_c = c0 + len / 2;
        let mut set = |r: usize, c: usize| img[r * size + c] = 1.0;
        for t in 0..len {
            match class {
                0 => set(mid_r, c0 + t),
                1 => set(r0 + t, mid_c),
                2 => set(r0 + t, c0 + t),
                3 => set(r0 + t, c0 + len - 1 - t),
                4 => {
                    set(r0, c0 + t);
                    set(r0 + len - 1, c0 + t);
                    set(r0 + t, c0);
                    set(r0 + t, c0 + len - 1);
                }
                _ => {
                    set(mid_r, c0 + t);
                    set(r0 + t, mid_c);
                }
            }
        }
        for v in img.iter_mut() {
            *v += (noise * rng.normal()) as f32;
        }
        labels.push(class as u32);
    }
    let x = Tensor::from_vec(&[n, 1, size, size], x)?;
    Ok(Dataset::classification(x, labels, SHAPE_CLASSES.len())?
        .with_class_names(SHAPE_CLASSES.iter().map(|s| s.to_string()).collect()))
}
