//! Fully connected (dense, linear) layer arithmetic.
//!
//! # Shapes
//! - input `x`: `(n, in)`
//! - weight `w`: `(out, in)` (PyTorch's layout)
//! - bias `b`: `(out)`
//! - output `y = x · wᵀ + b`: `(n, out)`

use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::kernels::{MatmulSpec, Par, matmul};
use crate::scalar::Scalar;

/// Sizes of a dense call: `n` rows of `d_in` features mapped to `d_out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseDims {
    /// Rows (samples) in the batch.
    pub n: usize,
    /// Input features.
    pub d_in: usize,
    /// Output features.
    pub d_out: usize,
}

impl DenseDims {
    /// Threads for one dense product: inside GEMM when it is big enough to pay.
    fn par(&self) -> Par {
        let t = rayon::current_num_threads();
        if t > 1 && self.n * self.d_in * self.d_out >= 1 << 17 {
            Par::Threads(t)
        } else {
            Par::Seq
        }
    }
}

/// `y = x · wᵀ + b` for `d.n` rows.
pub fn dense_forward<T: Scalar>(d: DenseDims, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let DenseDims { n, d_in, d_out } = d;
    matmul(&MatmulSpec::new(n, d_out, d_in).b_trans().par(d.par()), x, w, y);
    if let Some(b) = b {
        for row in y[..n * d_out].chunks_exact_mut(d_out) {
            row.iter_mut().zip(b).for_each(|(v, &bv)| *v += bv);
        }
    }
}

/// Gradients of [`dense_forward`]: `d_input = dy · w` (skipped when `None`),
/// `d_weight = dyᵀ · x`, `d_bias = Σ_rows dy`; all overwritten.
pub fn dense_backward<T: Scalar>(d: DenseDims, inp: BackwardIn<'_, T>, grads: GradsOut<'_, T>) {
    let DenseDims { n, d_in, d_out } = d;
    let BackwardIn { x, w, dy } = inp;
    let par = d.par();
    if let Some(dx) = grads.d_input {
        matmul(&MatmulSpec::new(n, d_in, d_out).par(par), dy, w, dx);
    }
    matmul(
        &MatmulSpec::new(d_out, d_in, n).a_trans().par(par),
        dy,
        x,
        grads.d_weight,
    );
    if let Some(db) = grads.d_bias {
        db[..d_out].fill(T::zero());
        for row in dy[..n * d_out].chunks_exact(d_out) {
            db.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
        }
    }
}
