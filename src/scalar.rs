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
    + sealed::Sealed
    + 'static
{
    /// The safetensors / NumPy name of the type.
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to nearest.
    fn lit(v: f64) -> Self;

    /// Widens to `f64`.
    fn f64(self) -> f64;
}

/// Seals [`Scalar`] (no type outside striate can implement it) and gives
/// each type its per-thread scratch buffer, which only the crate can reach.
pub(crate) mod sealed {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    /// Implemented for `f32` and `f64` only.
    pub trait Sealed: Sized + 'static {
        /// This thread's scratch buffer of this type, shared by every
        /// layer: kernels keep there what lives for one call only (e.g.
        /// Winograd's transformed filters), so that a deep model does not
        /// hold a copy per layer.
        fn scratch() -> &'static LocalKey<RefCell<Vec<Self>>>;
    }

    thread_local! {
        static F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
        static F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    }

    impl Sealed for f32 {
        fn scratch() -> &'static LocalKey<RefCell<Vec<f32>>> {
            &F32
        }
    }

    impl Sealed for f64 {
        fn scratch() -> &'static LocalKey<RefCell<Vec<f64>>> {
            &F64
        }
    }
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
