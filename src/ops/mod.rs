//! The operations of a CNN, forward and backward side by side.
//!
//! Each file holds one op family: its hyper-parameter struct, its output-size
//! arithmetic, and a `*_forward` / `*_backward` pair with the shapes in the
//! docs. Layers in [`crate::layers`] own parameters and buffers and call these.

pub mod activation;
pub mod conv;
pub mod dense;
pub mod loss;
pub mod norm;
pub mod pool;
