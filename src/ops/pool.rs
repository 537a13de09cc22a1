//! Max and average pooling (PyTorch semantics) and global pooling: the
//! window's hyper-parameters and their validation into a [`PoolGeometry`].
//! The loops live in [`crate::kernels::pool`].
//!
//! # Shapes
//! - input `(n, c, h, w)`, output `(n, c, out_h, out_w)` with
//!   `out = ⌊(in + 2·pad − k) / stride⌋ + 1` (⌈…⌉ with `ceil_mode`, minus one
//!   when the last window would start in the right padding, as PyTorch).
//! - 1-D pooling is 2-D pooling of a `1 × l` image with a `1 × k` window.
//! - global pooling: `(n, c, …)` → `(n, c)`.
//!
//! Max pooling ignores padding; average pooling counts padded zeros in the
//! divisor unless `count_include_pad` is false (PyTorch's default is true).

use crate::error::{Error, Result};
use crate::kernels::geometry::PoolGeometry;

/// The reduction a pooling layer applies; it lives with the kernels in
/// [`crate::kernels::pool`].
pub use crate::kernels::pool::PoolKind;

/// Hyper-parameters of a 2-D pooling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    /// `[k_h, k_w]`.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`; PyTorch's default is the kernel size.
    pub stride: [usize; 2],
    /// `[pad_h, pad_w]` on both sides, at most half the kernel.
    pub padding: [usize; 2],
    /// Round the output size up (PyTorch's `ceil_mode`).
    pub ceil_mode: bool,
    /// Average pooling only: count padded zeros in the divisor.
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// A `k_h × k_w` window with stride equal to the window, no padding.
    pub fn new(kernel: [usize; 2]) -> Self {
        Pool2dParams {
            kernel,
            stride: kernel,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// The same window with `[stride_h, stride_w]`.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// The same window with `[pad_h, pad_w]`.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// The same window with `ceil_mode`.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// The same window with `count_include_pad`.
    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// Validates the window against a `c × h × w` input.
    pub fn geometry(&self, c: usize, h: usize, w: usize) -> Result<PoolGeometry> {
        if self.kernel.contains(&0) || self.stride.contains(&0) {
            return Err(Error::invalid(
                "pooling",
                format!("kernel {:?} and stride {:?} must be positive", self.kernel, self.stride),
            ));
        }
        let mut out = [0; 2];
        for (axis, size) in [h, w].into_iter().enumerate() {
            let (k, s, p) = (self.kernel[axis], self.stride[axis], self.padding[axis]);
            if p > k / 2 {
                return Err(Error::invalid(
                    "pooling",
                    format!("padding {p} must be at most half the kernel size {k}"),
                ));
            }
            if size + 2 * p < k {
                return Err(Error::invalid(
                    "pooling",
                    format!(
                        "input {h}×{w} is smaller than the {}×{} window",
                        self.kernel[0], self.kernel[1]
                    ),
                ));
            }
            let span = size + 2 * p - k;
            let mut o = if self.ceil_mode { span.div_ceil(s) } else { span / s } + 1;
            if self.ceil_mode && (o - 1) * s >= size + p {
                o -= 1;
            }
            out[axis] = o;
        }
        Ok(PoolGeometry {
            c,
            h,
            w,
            k: self.kernel,
            stride: self.stride,
            pad: self.padding,
            out_h: out[0],
            out_w: out[1],
            count_include_pad: self.count_include_pad,
        })
    }
}
