//! Compute kernels: every loop that touches tensor data in bulk, and the
//! only module with `unsafe` code.
//!
//! - [`geometry`]: validated convolution and pooling geometry, what every
//!   kernel takes;
//! - [`reference`](mod@reference): scalar loops, the oracle for tests and the fallback;
//! - [`gemm`]: matrix products on the `gemm` crate's micro-kernels, described
//!   by a [`MatmulSpec`];
//! - [`im2col`]: patch unfolding for GEMM-based convolution;
//! - [`conv_gemm`]: the parallel im2col-GEMM convolution driver and the
//!   [`conv_gemm::ConvAlgo`] switch between it and the reference;
//! - [`winograd`]: Winograd's F(2×2, 3×3) for 3×3 convolutions of stride
//!   1, forward and data gradient;
//! - [`direct`]: the forward pass of small stride-1 convolutions (first
//!   layers: few input channels, few filters) straight from the input plane;
//! - [`pool`]: max, average and global pooling, with the 2×2 max-pool fast
//!   path chosen at run time ([`pool::PoolAlgo`]);
//! - [`grads`]: the argument groups of backward passes;
//! - [`half`]: half-precision values widened in bulk (F16C where present);
//! - [`cpu`]: the CPU's instruction sets, the GEMM kernels they select and
//!   the build of striate's own vector loops ([`cpu::Isa`]) that runs.
//!
//! Kernels take validated geometry and slices of the right lengths and
//! cannot fail; [`crate::ops`] validates user input and wraps them. Which
//! kernel runs is a runtime choice so that tests exercise every path.
//! Nothing here imports from `ops` or any module above it.

pub mod conv_gemm;
pub mod cpu;
pub mod direct;
pub mod gemm;
pub mod geometry;
pub mod grads;
pub mod half;
pub mod im2col;
pub mod pool;
pub mod reference;
pub mod winograd;

pub use self::gemm::{MatmulSpec, Par, matmul};
