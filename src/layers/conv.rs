//! `Conv1d` and `Conv2d` layers.

use serde::{Deserialize, Serialize};

use super::norm::BatchNorm;
use super::serde_util::{is_default, is_n, is_n2, is_true, n, n2, padding1d, padding2d, pair, yes};
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta, Param, layer_state};
use crate::error::{Error, Result};
use crate::kernels::conv_gemm::{ConvOp, Epilogue};
use crate::ops::conv::{Conv2dParams, ConvAlgo, Padding};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// A 2-D convolution layer (`nn.Conv2d`, Keras `Conv2D`).
///
/// # Shapes
/// - input `[c_in, h, w]`, output `[filters, out_h, out_w]` (see
///   [`crate::ops::conv`] for the arithmetic)
/// - `weight`: `[filters, c_in / groups, k_h, k_w]`, `bias`: `[filters]`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dConfig {
    /// Output channels.
    pub filters: usize,
    /// Window size `[k_h, k_w]` (PyTorch's `kernel_size`); one number in model files means a square window.
    #[serde(with = "pair")]
    pub kernel: [usize; 2],
    /// Step `[s_h, s_w]` between windows; default `[1, 1]`.
    #[serde(with = "pair", default = "n2::<1>", skip_serializing_if = "is_n2::<1>")]
    pub stride: [usize; 2],
    /// Zero padding of the input (`"valid"`, `"same"` or explicit sizes); default [`Padding::Valid`], none.
    #[serde(with = "padding2d", default, skip_serializing_if = "is_default")]
    pub padding: Padding,
    /// Spacing `[d_h, d_w]` between kernel taps (PyTorch's `dilation`, Keras's `dilation_rate`); default `[1, 1]`.
    #[serde(with = "pair", default = "n2::<1>", skip_serializing_if = "is_n2::<1>")]
    pub dilation: [usize; 2],
    /// Number of channel groups (PyTorch's `groups`; `c_in` for depthwise); `c_in` and `filters` must divide by it; default 1.
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub groups: usize,
    /// Whether to add a learned bias per output channel (PyTorch's `bias`, Keras's `use_bias`); default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub bias: bool,
}

impl Conv2dConfig {
    /// `filters` output channels, a `kernel × kernel` window, stride 1, no padding.
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv2dConfig {
            filters,
            kernel: [kernel, kernel],
            stride: [1, 1],
            padding: Padding::Valid,
            dilation: [1, 1],
            groups: 1,
            bias: true,
        }
    }

    /// Sets a rectangular `[k_h, k_w]` window.
    pub fn with_kernel(mut self, kernel: [usize; 2]) -> Self {
        self.kernel = kernel;
        self
    }

    /// Sets the same stride on both axes.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = [stride, stride];
        self
    }

    /// Sets the zero padding (e.g. [`Padding::Same`] or [`Padding::symmetric`]).
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the same dilation on both axes.
    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = [dilation, dilation];
        self
    }

    /// Sets the number of channel groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The op-level hyper-parameters.
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams {
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }

    /// Builds the layer for the input shape in `ctx` (`[c_in, h, w]`), drawing its weights with `ctx`'s init and generator.
    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Conv<T>> {
        let &[c_in, h, w] = ctx.input else {
            return Err(Error::shape(
                Kind::Conv2d.display_name(),
                "[channels, height, width] input (add a channel axis to 2-D images)",
                ctx.input,
            ));
        };
        let spec = ConvSpec {
            kind: Kind::Conv2d,
            params: self.params(),
            filters: self.filters,
            bias: self.bias,
        };
        spec.build(ctx, ImageInput { c_in, h, w })
    }
}

/// A 1-D convolution layer (`nn.Conv1d`, Keras `Conv1D`).
///
/// # Shapes
/// - input `[c_in, l]`, output `[filters, out_l]`
/// - `weight`: `[filters, c_in / groups, k]`, `bias`: `[filters]`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv1dConfig {
    /// Output channels.
    pub filters: usize,
    /// Window length `k` (PyTorch's `kernel_size`).
    pub kernel: usize,
    /// Step between windows; default 1.
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub stride: usize,
    /// Zero padding of the sequence (`"valid"`, `"same"`, or `left`/`right` sizes); default [`Padding::Valid`], none.
    #[serde(with = "padding1d", default, skip_serializing_if = "is_default")]
    pub padding: Padding,
    /// Spacing between kernel taps; default 1.
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub dilation: usize,
    /// Number of channel groups (PyTorch's `groups`); `c_in` and `filters` must divide by it; default 1.
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub groups: usize,
    /// Whether to add a learned bias per output channel; default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub bias: bool,
}

impl Conv1dConfig {
    /// `filters` output channels, a window of `kernel`, stride 1, no padding, bias on.
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv1dConfig {
            filters,
            kernel,
            stride: 1,
            padding: Padding::Valid,
            dilation: 1,
            groups: 1,
            bias: true,
        }
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// `Padding::Explicit` uses only `left` and `right`.
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = along_length(padding);
        self
    }

    /// Sets the dilation.
    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }

    /// Sets the number of channel groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// As 2-D parameters over a `1 × l` image.
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams {
            kernel: [1, self.kernel],
            stride: [1, self.stride],
            padding: along_length(self.padding),
            dilation: [1, self.dilation],
            groups: self.groups,
        }
    }

    /// Builds the layer for the input shape in `ctx` (`[c_in, l]`), drawing its weights with `ctx`'s init and generator.
    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Conv<T>> {
        let &[c_in, l] = ctx.input else {
            return Err(Error::shape(
                Kind::Conv1d.display_name(),
                "[channels, length] input",
                ctx.input,
            ));
        };
        let spec = ConvSpec {
            kind: Kind::Conv1d,
            params: self.params(),
            filters: self.filters,
            bias: self.bias,
        };
        spec.build(ctx, ImageInput { c_in, h: 1, w: l })
    }
}

/// A 1-D padding as a 2-D one over a `1 × l` image: only `left` and `right` pad.
fn along_length(padding: Padding) -> Padding {
    match padding {
        Padding::Explicit { left, right, .. } => Padding::Explicit {
            top: 0,
            bottom: 0,
            left,
            right,
        },
        p => p,
    }
}

/// A convolution layer's settings in 2-D form: a 1-D convolution is a 2-D
/// one over a `1 × l` image.
struct ConvSpec {
    /// [`Kind::Conv1d`] or [`Kind::Conv2d`]: the weight and output layouts.
    kind: Kind,
    params: Conv2dParams,
    filters: usize,
    bias: bool,
}

/// One sample's input seen as an image `[c_in, h, w]` (`h = 1` for signals).
struct ImageInput {
    c_in: usize,
    h: usize,
    w: usize,
}

impl ConvSpec {
    fn build<T: Scalar>(self, ctx: BuildCtx<'_>, input: ImageInput) -> Result<Conv<T>> {
        let ConvSpec {
            kind,
            params,
            filters,
            bias,
        } = self;
        if filters == 0 {
            return Err(Error::invalid("convolution", "filters must be positive"));
        }
        let one_d = kind == Kind::Conv1d;
        let geom = params.geometry(input.c_in, input.h, input.w, filters)?;
        let [_, cig, k_h, k_w] = geom.weight_shape();
        let fan_in = cig * k_h * k_w;
        let fan_out = filters / params.groups * k_h * k_w;
        let wshape: Vec<usize> = if one_d {
            vec![filters, cig, k_w]
        } else {
            vec![filters, cig, k_h, k_w]
        };
        ctx.check_param::<T>(&wshape)?;
        let out_len = crate::budget::product("the convolution's output", &[filters, geom.out_h, geom.out_w])?;
        crate::budget::check_elements("one sample's convolution output", out_len, std::mem::size_of::<T>())?;
        let weight = Param::new(ctx.init.weight(&wshape, fan_in, fan_out, ctx.rng));
        let bias = bias.then(|| Param::new(ctx.init.bias(filters, fan_in, ctx.rng)));
        let out_shape = if one_d {
            vec![filters, geom.out_w]
        } else {
            vec![filters, geom.out_h, geom.out_w]
        };
        Ok(Conv {
            meta: ctx.meta(kind, out_shape),
            op: ConvOp::new(geom, ConvAlgo::Auto),
            weight,
            bias,
        })
    }
}

/// A convolution layer, 1-D or 2-D.
pub struct Conv<T: Scalar> {
    meta: LayerMeta,
    op: ConvOp<T>,
    weight: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Scalar> Conv<T> {
    /// Inference: `y = bn(conv(x))`, with a ReLU after it when `relu`, in
    /// one pass: `bn` (evaluation mode) is folded into the convolution's
    /// output epilogue. The unfused layers are the reference.
    pub(super) fn forward_bn_eval(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, bn: &mut BatchNorm<T>, relu: bool) {
        self.check_input(x);
        let n = x.batch();
        y.resize_batch(n, &self.meta.output_shape);
        let (scale, shift) = bn.folded(self.bias.as_ref().map(|b| b.value.data()));
        let ep = Epilogue {
            scale: Some(scale),
            shift: Some(shift),
            relu,
        };
        self.op
            .forward_with(n, x.data(), self.weight.value.data(), ep, y.data_mut());
    }

    fn check_input(&self, x: &Tensor<T>) {
        debug_assert_eq!(
            x.item_len(),
            self.op.geom.in_len(),
            "{}: input {} does not fit",
            self.meta.name,
            fmt_shape(x.shape())
        );
    }
}

impl<T: Scalar> Layer<T> for Conv<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        self.check_input(x);
        let n = x.batch();
        y.resize_batch(n, &self.meta.output_shape);
        let b = self.bias.as_ref().map(|b| b.value.data());
        self.op.forward(n, x.data(), self.weight.value.data(), b, y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let n = x.batch();
        let (inp, grads) = super::weight_backward(&mut self.weight, &mut self.bias, x, dy, dx);
        self.op.backward(n, inp, grads);
    }

    layer_state! {
        param "weight" => weight,
        opt_param "bias" => bias,
    }

    fn set_conv_algo(&mut self, algo: ConvAlgo) {
        self.op.algo = algo;
    }

    fn macs_per_sample(&self) -> usize {
        self.op.geom.macs_per_sample()
    }
}
