//! The operations of a CNN, forward and backward side by side.
//!
//! Each file holds one op family: its hyper-parameter struct and the
//! validation that turns it into a geometry, and a `*_forward` /
//! `*_backward` pair (or a checked wrapper such as `conv2d`) with the shapes
//! in the docs. The heavy loops of convolution and pooling live in
//! [`crate::kernels`], which these call with validated geometry; dense
//! layers multiply through [`crate::kernels::matmul`]. Layers in
//! [`crate::layers`] own parameters and buffers and call these.

pub mod activation;
pub mod conv;
pub mod dense;
pub mod loss;
pub mod norm;
pub mod pool;
