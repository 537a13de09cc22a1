//! The numeric element type of tensors.
//!
//! Models train in `f32`; gradient checks run the very same code in `f64`.
//! Everything numeric in striate is generic over [`Scalar`], which only
//! `f32` and `f64` implement.

use std::cell::RefCell;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type: `f32` (training) or `f64` (gradient checks).
pub trait Scalar:
    num_traits::Float
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + 'static
{
    /// The safetensors / NumPy name of the type.
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to nearest.
    fn lit(v: f64) -> Self;

    /// Widens to `f64`.
    fn f64(self) -> f64;

    /// Runs `f` on this thread's scratch buffer of this type, shared by
    /// every layer (kernels keep there what lives for one call only, e.g.
    /// Winograd's transformed filters, so that a deep model does not hold a
    /// copy per layer). Where the buffer is already in use on this thread
    /// (a kernel called from inside another's parallel section), `f` gets a
    /// fresh one.
    fn with_scratch<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
}

/// Runs `f` on `cell`'s buffer, or on a fresh one where it is borrowed.
fn borrow_scratch<T, R>(cell: &RefCell<Vec<T>>, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
    match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        Err(_) => f(&mut Vec::new()),
    }
}

thread_local! {
    static SCRATCH_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SCRATCH_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

impl Scalar for f32 {
    const DTYPE: &'static str = "F32";

    #[inline(always)]
    fn lit(v: f64) -> Self {
        v as f32
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }

    fn with_scratch<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R {
        SCRATCH_F32.with(|c| borrow_scratch(c, f))
    }
}

impl Scalar for f64 {
    const DTYPE: &'static str = "F64";

    #[inline(always)]
    fn lit(v: f64) -> Self {
        v
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }

    fn with_scratch<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R {
        SCRATCH_F64.with(|c| borrow_scratch(c, f))
    }
}

/// `v > 0`, false for NaN (for validating hyper-parameters).
pub(crate) fn is_positive(v: f64) -> bool {
    v > 0.0
}

/// `v >= 0`, false for NaN.
pub(crate) fn is_non_negative(v: f64) -> bool {
    v >= 0.0
}
