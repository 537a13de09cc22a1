//! The numeric element type of tensors.
//!
//! Models train in `f32`; gradient checks run the very same code in `f64`.
//! Everything numeric in striate is generic over [`Scalar`], which only
//! `f32` and `f64` implement.

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
}

/// `v > 0`, false for NaN (for validating hyper-parameters).
pub(crate) fn is_positive(v: f64) -> bool {
    v > 0.0
}

/// `v >= 0`, false for NaN.
pub(crate) fn is_non_negative(v: f64) -> bool {
    v >= 0.0
}
