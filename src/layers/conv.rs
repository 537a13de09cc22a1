//! `Conv1d` and `Conv2d` layers.

use serde::{Deserialize, Serialize};

use super::serde_util::{is_default, padding1d, padding2d, pair};
use super::{BuildCtx, ForwardCtx, Layer, Param, StateMut, StateRef, WeightBias};
use crate::error::{Error, Result};
use crate::kernels::conv_gemm::ConvOp;
use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::ops::conv::{Conv2dParams, ConvAlgo, Padding};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

fn one() -> usize {
    1
}
fn one2() -> [usize; 2] {
    [1, 1]
}
fn yes() -> bool {
    true
}
fn is_one(v: &usize) -> bool {
    *v == 1
}
fn is_one2(v: &[usize; 2]) -> bool {
    *v == [1, 1]
}
fn is_true(v: &bool) -> bool {
    *v
}

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
    #[serde(with = "pair")]
    pub kernel: [usize; 2],
    #[serde(with = "pair", default = "one2", skip_serializing_if = "is_one2")]
    pub stride: [usize; 2],
    #[serde(with = "padding2d", default, skip_serializing_if = "is_default")]
    pub padding: Padding,
    #[serde(with = "pair", default = "one2", skip_serializing_if = "is_one2")]
    pub dilation: [usize; 2],
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub groups: usize,
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

    pub fn with_kernel(mut self, kernel: [usize; 2]) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = [stride, stride];
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = [dilation, dilation];
        self
    }

    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

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

    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Conv<T>> {
        let &[c_in, h, w] = ctx.input else {
            return Err(Error::shape(
                "Conv2d",
                "[channels, height, width] input (add a channel axis to 2-D images)",
                ctx.input,
            ));
        };
        Conv::build(ctx, self.params(), self.filters, self.bias, c_in, h, w, false)
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
    pub filters: usize,
    pub kernel: usize,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub stride: usize,
    #[serde(with = "padding1d", default, skip_serializing_if = "is_default")]
    pub padding: Padding,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub dilation: usize,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub groups: usize,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub bias: bool,
}

impl Conv1dConfig {
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

    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// `Padding::Explicit` uses only `left` and `right`.
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = match padding {
            Padding::Explicit { left, right, .. } => Padding::Explicit {
                top: 0,
                bottom: 0,
                left,
                right,
            },
            p => p,
        };
        self
    }

    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }

    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// As 2-D parameters over a `1 × l` image.
    pub fn params(&self) -> Conv2dParams {
        let padding = match self.padding {
            Padding::Explicit { left, right, .. } => Padding::Explicit {
                top: 0,
                bottom: 0,
                left,
                right,
            },
            p => p,
        };
        Conv2dParams {
            kernel: [1, self.kernel],
            stride: [1, self.stride],
            padding,
            dilation: [1, self.dilation],
            groups: self.groups,
        }
    }

    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Conv<T>> {
        let &[c_in, l] = ctx.input else {
            return Err(Error::shape("Conv1d", "[channels, length] input", ctx.input));
        };
        Conv::build(ctx, self.params(), self.filters, self.bias, c_in, 1, l, true)
    }
}

/// A convolution layer, 1-D or 2-D.
pub struct Conv<T: Scalar> {
    name: String,
    one_d: bool,
    op: ConvOp<T>,
    params: WeightBias<T>,
    out_shape: Vec<usize>,
}

impl<T: Scalar> Conv<T> {
    #[allow(clippy::too_many_arguments)]
    fn build(
        ctx: BuildCtx<'_>,
        params: Conv2dParams,
        filters: usize,
        bias: bool,
        c_in: usize,
        h: usize,
        w: usize,
        one_d: bool,
    ) -> Result<Self> {
        if filters == 0 {
            return Err(Error::invalid("convolution", "filters must be positive"));
        }
        let geom = params.geometry(c_in, h, w, filters)?;
        let [_, cig, k_h, k_w] = geom.weight_shape();
        let fan_in = cig * k_h * k_w;
        let fan_out = filters / params.groups * k_h * k_w;
        let wshape: Vec<usize> = if one_d {
            vec![filters, cig, k_w]
        } else {
            vec![filters, cig, k_h, k_w]
        };
        let weight = Param::new(ctx.init.weight(&wshape, fan_in, fan_out, ctx.rng));
        let bias = bias.then(|| Param::new(ctx.init.bias(filters, fan_in, ctx.rng)));
        let out_shape = if one_d {
            vec![filters, geom.out_w]
        } else {
            vec![filters, geom.out_h, geom.out_w]
        };
        Ok(Conv {
            name: ctx.name,
            one_d,
            op: ConvOp::new(geom, ConvAlgo::Auto),
            params: WeightBias { weight, bias },
            out_shape,
        })
    }

    fn check_input(&self, x: &Tensor<T>) {
        debug_assert_eq!(
            x.item_len(),
            self.op.geom.in_len(),
            "{}: input {} does not fit",
            self.name,
            fmt_shape(x.shape())
        );
    }
}

impl<T: Scalar> Layer<T> for Conv<T> {
    fn kind(&self) -> &'static str {
        if self.one_d { "Conv1d" } else { "Conv2d" }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        self.check_input(x);
        let n = x.batch();
        y.resize_batch(n, &self.out_shape);
        let b = self.params.bias_value();
        self.op
            .forward(n, x.data(), self.params.weight.value.data(), b, y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let n = x.batch();
        let dx = dx.map(|dx| {
            dx.resize_for(x.shape());
            dx.data_mut()
        });
        let WeightBias { weight, bias } = &mut self.params;
        let db = bias.as_mut().map(|b| b.grad.data_mut());
        let inp = BackwardIn {
            x: x.data(),
            w: weight.value.data(),
            dy: dy.data(),
        };
        let grads = GradsOut {
            d_input: dx,
            d_weight: weight.grad.data_mut(),
            d_bias: db,
        };
        self.op.backward(n, inp, grads);
    }

    fn visit_state(&self, prefix: &str, f: &mut dyn FnMut(String, StateRef<'_, T>)) {
        self.params.visit(prefix, f);
    }

    fn visit_state_mut(&mut self, prefix: &str, f: &mut dyn FnMut(String, StateMut<'_, T>)) {
        self.params.visit_mut(prefix, f);
    }

    fn for_each_param(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.params.for_each(f);
    }

    fn set_conv_algo(&mut self, algo: ConvAlgo) {
        self.op.algo = algo;
    }

    fn macs_per_sample(&self) -> usize {
        self.op.geom.macs_per_sample()
    }
}
