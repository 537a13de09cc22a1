//! Convolution: hyper-parameters, their validation into a
//! [`ConvGeometry`], and the checked `conv2d` / `conv2d_backward` entry
//! points. The kernels behind them (im2col-GEMM and the scalar reference)
//! live in [`crate::kernels::conv_gemm`].
//!
//! Like every deep-learning framework, striate's "convolution" layers compute a
//! cross-correlation: the kernel is not flipped. (The true convolution of
//! signal processing, which flips it, lives in [`crate::filter`].)
//!
//! 1-D convolution is 2-D convolution of a `1 × l` image with a `1 × k`
//! kernel; both share the same geometry and kernels.
//!
//! # Shapes
//! - input `x`: `(n, c_in, h, w)`
//! - weight `w`: `(c_out, c_in / groups, k_h, k_w)`
//! - bias `b`: `(c_out)`
//! - output `y`: `(n, c_out, out_h, out_w)` with
//!   `out = ⌊(in + pad_before + pad_after − dilation·(k − 1) − 1) / stride⌋ + 1`

use crate::error::{Error, Result};
use crate::kernels::conv_gemm::ConvOp;
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// The kernel choice [`conv2d`] and [`conv2d_backward`] take; it lives
/// with the kernels in [`crate::kernels::conv_gemm`].
pub use crate::kernels::conv_gemm::ConvAlgo;

/// Zero padding of a convolution's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding: every output sees only real input.
    #[default]
    Valid,
    /// Output size `⌈in / stride⌉`, by the TensorFlow/Keras rule for any
    /// stride: total padding `max((out − 1)·stride + dilation·(k − 1) + 1 − in, 0)`,
    /// split with the odd pixel at the bottom/right. For stride 1 this is
    /// exactly PyTorch's `padding='same'`.
    Same,
    /// Explicit zeros on each side.
    Explicit {
        /// Zero rows above.
        top: usize,
        /// Zero rows below.
        bottom: usize,
        /// Zero columns on the left.
        left: usize,
        /// Zero columns on the right.
        right: usize,
    },
}

impl Padding {
    /// The same padding `p` on all four sides (PyTorch's `padding=p`).
    pub fn symmetric(p: usize) -> Self {
        Padding::Explicit {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    /// `ph` rows above and below, `pw` columns left and right
    /// (PyTorch's `padding=(ph, pw)`).
    pub fn hw(ph: usize, pw: usize) -> Self {
        Padding::Explicit {
            top: ph,
            bottom: ph,
            left: pw,
            right: pw,
        }
    }

    /// `[before, after]` padding along one axis for an input of `size`.
    fn resolve_axis(&self, axis: usize, size: usize, k: usize, stride: usize, dilation: usize) -> [usize; 2] {
        match *self {
            Padding::Valid => [0, 0],
            Padding::Same => {
                // Saturating: `geometry` has checked that the kernel extent
                // fits, and a saturated total fails its padded-size check.
                let out = size.div_ceil(stride);
                let eff = dilation.saturating_mul(k - 1).saturating_add(1);
                let total = out
                    .saturating_sub(1)
                    .saturating_mul(stride)
                    .saturating_add(eff)
                    .saturating_sub(size);
                [total / 2, total - total / 2]
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => {
                if axis == 0 {
                    [top, bottom]
                } else {
                    [left, right]
                }
            }
        }
    }
}

/// Hyper-parameters of a 2-D convolution (also used for 1-D with `k_h = 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// `[k_h, k_w]`.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`.
    pub stride: [usize; 2],
    /// Zero padding of the input.
    pub padding: Padding,
    /// `[dilation_h, dilation_w]`.
    pub dilation: [usize; 2],
    /// Channel groups: each sees `c_in / groups` inputs and makes
    /// `c_out / groups` outputs.
    pub groups: usize,
}

impl Conv2dParams {
    /// A `k_h × k_w` kernel, stride 1, no padding, no dilation, one group.
    pub fn new(kernel: [usize; 2]) -> Self {
        Conv2dParams {
            kernel,
            stride: [1, 1],
            padding: Padding::Valid,
            dilation: [1, 1],
            groups: 1,
        }
    }

    /// The same parameters with `[stride_h, stride_w]`.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// The same parameters with `padding`.
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The same parameters with `[dilation_h, dilation_w]`.
    pub fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// The same parameters with `groups` channel groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Output height and width for an `h × w` input.
    pub fn out_hw(&self, h: usize, w: usize) -> Result<[usize; 2]> {
        let g = self.geometry(self.groups, h, w, self.groups)?;
        Ok([g.out_h, g.out_w])
    }

    /// Validates the parameters against an input and resolves the padding.
    pub fn geometry(&self, c_in: usize, h: usize, w: usize, c_out: usize) -> Result<ConvGeometry> {
        let what = "convolution";
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return Err(Error::invalid(
                what,
                format!(
                    "kernel {:?}, stride {:?} and dilation {:?} must be positive",
                    self.kernel, self.stride, self.dilation
                ),
            ));
        }
        if self.groups == 0 || !c_in.is_multiple_of(self.groups) || !c_out.is_multiple_of(self.groups) {
            return Err(Error::invalid(
                what,
                format!(
                    "groups = {} must divide both in_channels = {c_in} and out_channels = {c_out}",
                    self.groups
                ),
            ));
        }
        let [pt, pb] = self
            .padding
            .resolve_axis(0, h, self.kernel[0], self.stride[0], self.dilation[0]);
        let [pl, pr] = self
            .padding
            .resolve_axis(1, w, self.kernel[1], self.stride[1], self.dilation[1]);
        let out = |size: usize, before: usize, after: usize, axis: usize| -> Result<usize> {
            let eff = self.dilation[axis]
                .checked_mul(self.kernel[axis] - 1)
                .and_then(|e| e.checked_add(1))
                .filter(|&e| e < usize::MAX)
                .ok_or_else(|| Error::invalid(what, "the dilated kernel's extent overflows"))?;
            let padded = size
                .checked_add(before)
                .and_then(|p| p.checked_add(after))
                .filter(|&p| p < usize::MAX)
                .ok_or_else(|| {
                    Error::invalid(what, format!("padding {before} + {after} of a size {size} overflows"))
                })?;
            if padded < eff {
                return Err(Error::invalid(
                    what,
                    format!(
                        "input {}×{} (padded to {}) is smaller than the {}kernel extent {} along {}",
                        h,
                        w,
                        padded,
                        if self.dilation[axis] > 1 { "dilated " } else { "" },
                        eff,
                        if axis == 0 { "height" } else { "width" }
                    ),
                ));
            }
            Ok((padded - eff) / self.stride[axis] + 1)
        };
        let out_h = out(h, pt, pb, 0)?;
        let out_w = out(w, pl, pr, 1)?;
        // Every buffer the kernels size from this geometry must be countable.
        crate::budget::product(what, &[c_in, h + pt + pb, w + pl + pr])?;
        crate::budget::product(what, &[c_out.max(c_in), out_h, out_w])?;
        crate::budget::product(what, &[c_in, self.kernel[0], self.kernel[1], out_h, out_w])?;
        Ok(ConvGeometry {
            c_in,
            h,
            w,
            c_out,
            k_h: self.kernel[0],
            k_w: self.kernel[1],
            stride: self.stride,
            dilation: self.dilation,
            pad_top: pt,
            pad_bottom: pb,
            pad_left: pl,
            pad_right: pr,
            groups: self.groups,
            out_h,
            out_w,
        })
    }
}

/// Gradients of a convolution.
#[derive(Clone, Debug)]
pub struct ConvGrads<T: Scalar> {
    /// Gradient of the input, shaped like it.
    pub d_input: Tensor<T>,
    /// Gradient of the weights, shaped like them.
    pub d_weight: Tensor<T>,
    /// Gradient of the bias, when one was asked for.
    pub d_bias: Option<Tensor<T>>,
}

fn check_conv_args<T: Scalar>(x: &Tensor<T>, w: &Tensor<T>, p: &Conv2dParams) -> Result<ConvGeometry> {
    if x.ndim() != 4 {
        return Err(Error::shape("conv2d input", "[n, c_in, h, w]", x.shape()));
    }
    if w.ndim() != 4 || w.shape()[2..] != p.kernel {
        return Err(Error::shape(
            "conv2d weight",
            format!("[c_out, c_in/groups, {}, {}]", p.kernel[0], p.kernel[1]),
            w.shape(),
        ));
    }
    let [_, c_in, h, wd] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let g = p.geometry(c_in, h, wd, w.shape()[0])?;
    if w.shape() != g.weight_shape() {
        return Err(Error::shape("conv2d weight", fmt_shape(&g.weight_shape()), w.shape()));
    }
    Ok(g)
}

/// Convolution of a batch `x` `(n, c_in, h, w)` with weights `w`
/// `(c_out, c_in/groups, k_h, k_w)` and an optional bias `(c_out)`.
pub fn conv2d<T: Scalar>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    p: &Conv2dParams,
    algo: ConvAlgo,
) -> Result<Tensor<T>> {
    let g = check_conv_args(x, w, p)?;
    if let Some(b) = b
        && b.shape() != [g.c_out]
    {
        return Err(Error::shape("conv2d bias", fmt_shape(&[g.c_out]), b.shape()));
    }
    let n = x.batch();
    let mut y = Tensor::zeros(&[n, g.c_out, g.out_h, g.out_w]);
    ConvOp::new(g, algo).forward(n, x.data(), w.data(), b.map(|b| b.data()), y.data_mut());
    Ok(y)
}

/// Gradients of [`conv2d`] given the gradient `dy` of its output.
pub fn conv2d_backward<T: Scalar>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    with_bias: bool,
    p: &Conv2dParams,
    algo: ConvAlgo,
) -> Result<ConvGrads<T>> {
    let g = check_conv_args(x, w, p)?;
    let n = x.batch();
    let y_shape = [n, g.c_out, g.out_h, g.out_w];
    if dy.shape() != y_shape {
        return Err(Error::shape("conv2d output gradient", fmt_shape(&y_shape), dy.shape()));
    }
    let mut d_input = Tensor::zeros(x.shape());
    let mut d_weight = Tensor::zeros(w.shape());
    let mut d_bias = with_bias.then(|| Tensor::zeros(&[g.c_out]));
    let inp = BackwardIn {
        x: x.data(),
        w: w.data(),
        dy: dy.data(),
    };
    let grads = GradsOut {
        d_input: Some(d_input.data_mut()),
        d_weight: d_weight.data_mut(),
        d_bias: d_bias.as_mut().map(|b| b.data_mut()),
    };
    ConvOp::new(g, algo).backward(n, inp, grads);
    Ok(ConvGrads {
        d_input,
        d_weight,
        d_bias,
    })
}
