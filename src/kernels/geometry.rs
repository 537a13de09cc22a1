//! Validated geometry of convolutions and pooling windows: every size
//! resolved, so kernels index without checking.
//!
//! These are produced by the hyper-parameter structs of [`crate::ops`]
//! (`Conv2dParams::geometry`, `Pool2dParams::geometry`), which validate the
//! user's numbers first; kernels take them as given.

/// A convolution with every size resolved: what kernels take.
///
/// Produced by `ops::conv::Conv2dParams::geometry`, which guarantees
/// positive kernel, stride and dilation, `groups` dividing both channel
/// counts, and a padded input at least as large as the (dilated) kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// `[stride_h, stride_w]`.
    pub stride: [usize; 2],
    /// `[dilation_h, dilation_w]`.
    pub dilation: [usize; 2],
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero rows below the input.
    pub pad_bottom: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Zero columns right of the input.
    pub pad_right: usize,
    /// Channel groups (1 for a dense convolution, `c_in` for depthwise).
    pub groups: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl ConvGeometry {
    /// Elements of one input sample.
    pub fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements of one output sample.
    pub fn out_len(&self) -> usize {
        self.c_out * self.out_h * self.out_w
    }

    /// Weight shape `(c_out, c_in / groups, k_h, k_w)`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in / self.groups, self.k_h, self.k_w]
    }

    /// Rows of the unfolded patch matrix of one group: `c_in/groups · k_h · k_w`.
    pub fn patch_len(&self) -> usize {
        self.c_in / self.groups * self.k_h * self.k_w
    }

    /// Multiply-accumulates of the forward pass per sample.
    pub fn macs_per_sample(&self) -> usize {
        self.out_len() * self.patch_len()
    }

    /// True when the patch matrix is the input itself (1×1, stride 1, no padding).
    pub(crate) fn is_pointwise(&self) -> bool {
        self.k_h == 1
            && self.k_w == 1
            && self.stride == [1, 1]
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }
}

/// A pooling window with every size resolved.
///
/// Produced by `ops::pool::Pool2dParams::geometry`, which guarantees a
/// positive window and stride, padding at most half the window, and an
/// input at least as large as the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Channels (each pooled on its own).
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// `[k_h, k_w]`.
    pub k: [usize; 2],
    /// `[stride_h, stride_w]`.
    pub stride: [usize; 2],
    /// `[pad_h, pad_w]` on both sides.
    pub pad: [usize; 2],
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Average pooling only: count padded zeros in the divisor.
    pub count_include_pad: bool,
}

impl PoolGeometry {
    /// Elements of one input plane.
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }

    /// Elements of one output plane.
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }

    /// The clipped window `[lo, hi)` of output row `oy` and its unclipped
    /// (padded) height, which PyTorch divides by with `count_include_pad`.
    #[inline]
    pub(crate) fn rows(&self, oy: usize) -> (usize, usize, usize) {
        window(oy, self.k[0], self.stride[0], self.pad[0], self.h)
    }

    /// [`PoolGeometry::rows`] along the width.
    #[inline]
    pub(crate) fn cols(&self, ox: usize) -> (usize, usize, usize) {
        window(ox, self.k[1], self.stride[1], self.pad[1], self.w)
    }

    /// The common 2×2 window with stride 2, no padding and every window
    /// inside the image.
    pub(crate) fn is_halving(&self) -> bool {
        self.k == [2, 2]
            && self.stride == [2, 2]
            && self.pad == [0, 0]
            && 2 * self.out_h <= self.h
            && 2 * self.out_w <= self.w
    }
}

/// The clipped window `[start, end)` along one axis and the unclipped
/// (padded) size PyTorch divides by with `count_include_pad`.
#[inline]
fn window(o: usize, k: usize, s: usize, p: usize, size: usize) -> (usize, usize, usize) {
    let start = (o * s) as isize - p as isize;
    let end_padded = (start + k as isize).min((size + p) as isize);
    let padded = (end_padded - start) as usize;
    let lo = start.max(0) as usize;
    let hi = (end_padded.min(size as isize)).max(lo as isize) as usize;
    (lo, hi, padded)
}
