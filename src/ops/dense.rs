//! Fully connected (dense, linear) layer arithmetic.
//!
//! # Shapes
//! - input `x`: `(n, in)`
//! - weight `w`: `(out, in)` (PyTorch's layout)
//! - bias `b`: `(out)`
//! - output `y = x · wᵀ + b`: `(n, out)`

use crate::kernels::{self, Par};
use crate::scalar::Scalar;

/// Threads for one dense product: inside GEMM when it is big enough to pay.
fn par_for(macs: usize) -> Par {
    let t = rayon::current_num_threads();
    if t > 1 && macs >= 1 << 17 {
        Par::Threads(t)
    } else {
        Par::Seq
    }
}

/// `y = x · wᵀ + b` for `n` rows.
pub fn dense_forward<T: Scalar>(n: usize, d_in: usize, d_out: usize, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    kernels::matmul(n, d_out, d_in, x, false, w, true, y, false, par_for(n * d_in * d_out));
    if let Some(b) = b {
        for row in y[..n * d_out].chunks_exact_mut(d_out) {
            row.iter_mut().zip(b).for_each(|(v, &bv)| *v += bv);
        }
    }
}

/// Gradients of [`dense_forward`]: `dx = dy · w` (skipped when `None`),
/// `dw = dyᵀ · x`, `db = Σ_rows dy`; all overwritten.
#[allow(clippy::too_many_arguments)]
pub fn dense_backward<T: Scalar>(
    n: usize,
    d_in: usize,
    d_out: usize,
    x: &[T],
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: Option<&mut [T]>,
) {
    let par = par_for(n * d_in * d_out);
    if let Some(dx) = dx {
        kernels::matmul(n, d_in, d_out, dy, false, w, false, dx, false, par);
    }
    kernels::matmul(d_out, d_in, n, dy, true, x, false, dw, false, par);
    if let Some(db) = db {
        db[..d_out].fill(T::zero());
        for row in dy[..n * d_out].chunks_exact(d_out) {
            db.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
        }
    }
}
