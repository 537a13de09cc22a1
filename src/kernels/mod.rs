//! Compute kernels: the only module with `unsafe` code.
//!
//! - [`reference`]: scalar loops, the oracle for tests and the fallback;
//! - [`gemm`]: matrix products on the `gemm` crate's micro-kernels;
//! - [`im2col`]: patch unfolding for GEMM-based convolution.
//!
//! Ops in [`crate::ops`] validate their arguments, then call these with
//! slices of the right lengths. Which kernel runs is a runtime choice
//! ([`crate::ops::conv::ConvAlgo`]) so that tests exercise every path.

pub mod gemm;
pub mod im2col;
pub mod reference;

pub use self::gemm::{Par, matmul};
