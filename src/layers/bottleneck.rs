//! The bottleneck block of ResNet-50/101/152 (torchvision's `Bottleneck`,
//! the "v1.5" layout with the stride on the 3×3 convolution).

use serde::{Deserialize, Serialize};

use super::conv::{Conv, Conv2dConfig};
use super::norm::{BatchNorm, BatchNormConfig};
use super::residual::{ShortcutGrad, add_relu, add_shortcut_eval, check_shortcut_shape, sum_relu_grad};
use super::serde_util::{is_n, n};
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta, layer_state};
use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::ops::conv::{ConvAlgo, Padding};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A bottleneck block:
/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`.
///
/// `conv1` is 1×1 to `width` channels, `conv2` 3×3 with the block's stride
/// (padded by 1), `conv3` 1×1 to `planes · expansion`; none has a bias. The
/// shortcut is the identity, or `downsample = [conv 1×1 (stride), batch norm]`
/// when the stride or channel count changes. Names follow torchvision:
/// `conv1.weight`, `bn3.running_var`, `downsample.0.weight`, …
///
/// # Shapes
/// input `[c_in, h, w]`, output `[planes · expansion, ⌈h/stride⌉, ⌈w/stride⌉]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BottleneckConfig {
    /// torchvision's `planes`: the output has `planes · expansion` channels.
    pub planes: usize,
    /// Stride of the 3×3 convolution and of the shortcut (1 when absent).
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub stride: usize,
    /// Channels of the 3×3 convolution; `planes` when absent
    /// (torchvision's `planes · width_per_group / 64 · groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// Output channels per plane (4 when absent, as torchvision).
    #[serde(default = "n::<4>", skip_serializing_if = "is_n::<4>")]
    pub expansion: usize,
}

impl BottleneckConfig {
    /// A block with `planes`, stride 1, width `planes`, expansion 4.
    pub fn new(planes: usize) -> Self {
        BottleneckConfig {
            planes,
            stride: 1,
            width: None,
            expansion: 4,
        }
    }

    /// Stride of the 3×3 convolution and the shortcut.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// Channels of the inner convolutions.
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = Some(width);
        self
    }

    /// Output channels per plane (4 in torchvision).
    pub fn with_expansion(mut self, expansion: usize) -> Self {
        self.expansion = expansion;
        self
    }

    /// Builds the block for `[c, h, w]` inputs.
    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Bottleneck<T>> {
        let kind = Kind::Bottleneck.display_name();
        let (c_in, width, out_c) = self.channels(ctx.input)?;
        let BuildCtx { name, input, init, rng } = ctx;
        let mut conv = |suffix: &str, input: &[usize], c: Conv2dConfig| -> Result<Conv<T>> {
            let ctx = BuildCtx {
                name: format!("{name}.{suffix}"),
                input,
                init,
                rng: &mut *rng,
            };
            c.with_bias(false).init(ctx)
        };
        let conv1 = conv("conv1", input, Conv2dConfig::new(width, 1))?;
        let s1 = conv1.output_shape().to_vec();
        let conv2_cfg = Conv2dConfig::new(width, 3)
            .with_stride(self.stride)
            .with_padding(Padding::symmetric(1));
        let conv2 = conv("conv2", &s1, conv2_cfg)?;
        let s2 = conv2.output_shape().to_vec();
        let conv3 = conv("conv3", &s2, Conv2dConfig::new(out_c, 1))?;
        let out_shape = conv3.output_shape().to_vec();
        let down_conv = if self.stride != 1 || c_in != out_c {
            Some(conv(
                "downsample.0",
                input,
                Conv2dConfig::new(out_c, 1).with_stride(self.stride),
            )?)
        } else {
            None
        };
        check_shortcut_shape(kind, down_conv.as_ref(), &out_shape)?;
        let mut bn = |suffix: &str, shape: &[usize]| -> Result<BatchNorm<T>> {
            let ctx = BuildCtx {
                name: format!("{name}.{suffix}"),
                input: shape,
                init,
                rng: &mut *rng,
            };
            BatchNormConfig::default().init_2d(ctx)
        };
        let (bn1, bn2, bn3) = (bn("bn1", &s1)?, bn("bn2", &s2)?, bn("bn3", &out_shape)?);
        let down = match down_conv {
            Some(c) => Some((c, bn("downsample.1", &out_shape)?)),
            None => None,
        };
        Ok(Bottleneck {
            meta: LayerMeta {
                name,
                kind: Kind::Bottleneck,
                input_shape: input.to_vec(),
                output_shape: out_shape,
            },
            conv1,
            bn1,
            conv2,
            bn2,
            conv3,
            bn3,
            down,
            bufs: Default::default(),
        })
    }

    /// Checks the input and the sizes; returns the input, inner and output channels.
    fn channels(&self, input: &[usize]) -> Result<(usize, usize, usize)> {
        let kind = Kind::Bottleneck.display_name();
        let &[c_in, _, _] = input else {
            return Err(Error::shape(kind, "[channels, height, width] input", input));
        };
        let width = self.width.unwrap_or(self.planes);
        let out_c = self.planes * self.expansion;
        if width == 0 || out_c == 0 || self.stride == 0 {
            return Err(Error::invalid(
                kind,
                "planes, width, expansion and stride must be positive",
            ));
        }
        Ok((c_in, width, out_c))
    }
}

/// Activations and gradients kept between passes.
#[derive(Default)]
struct Bufs<T: Scalar> {
    /// Per stage: convolution output `c`, batch-norm output `n`, ReLU output
    /// `a` (the third stage's ReLU comes after the sum).
    c1: Tensor<T>,
    n1: Tensor<T>,
    a1: Tensor<T>,
    c2: Tensor<T>,
    n2: Tensor<T>,
    a2: Tensor<T>,
    c3: Tensor<T>,
    n3: Tensor<T>,
    s1: Tensor<T>,
    s2: Tensor<T>,
    d_sum: Tensor<T>,
    d1: Tensor<T>,
    d2: Tensor<T>,
    d3: Tensor<T>,
    d_short: Tensor<T>,
}

/// A bottleneck block; see [`BottleneckConfig`].
pub struct Bottleneck<T: Scalar> {
    meta: LayerMeta,
    conv1: Conv<T>,
    bn1: BatchNorm<T>,
    conv2: Conv<T>,
    bn2: BatchNorm<T>,
    conv3: Conv<T>,
    bn3: BatchNorm<T>,
    down: Option<(Conv<T>, BatchNorm<T>)>,
    bufs: Bufs<T>,
}

impl<T: Scalar> Bottleneck<T> {
    /// Inference: each batch norm (and the ReLUs inside the branch) folded
    /// into its convolution's output, four buffers instead of ten.
    fn infer(&mut self, x: &Tensor<T>, y: &mut Tensor<T>) {
        let b = &mut self.bufs;
        self.conv1.forward_bn_eval(x, &mut b.c1, &mut self.bn1, true);
        self.conv2.forward_bn_eval(&b.c1, &mut b.c2, &mut self.bn2, true);
        self.conv3.forward_bn_eval(&b.c2, &mut b.c3, &mut self.bn3, false);
        add_shortcut_eval(&mut self.down, x, &mut b.s1, &b.c3, y);
    }
}

/// `a = relu(n)`, resizing `a`.
fn relu<T: Scalar>(n: &Tensor<T>, a: &mut Tensor<T>) {
    a.resize_for(n.shape());
    Activation::Relu.forward(n.data(), a.data_mut());
}

/// `dn = relu'(n) · da`, resizing `dn`.
fn relu_back<T: Scalar>(n: &Tensor<T>, a: &Tensor<T>, da: &Tensor<T>, dn: &mut Tensor<T>) {
    dn.resize_for(n.shape());
    Activation::Relu.backward(n.data(), a.data(), da.data(), dn.data_mut());
}

impl<T: Scalar> Layer<T> for Bottleneck<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>) {
        if !ctx.train && !ctx.backward {
            return self.infer(x, y);
        }
        let b = &mut self.bufs;
        self.conv1.forward(x, &mut b.c1, ctx);
        self.bn1.forward(&b.c1, &mut b.n1, ctx);
        relu(&b.n1, &mut b.a1);
        self.conv2.forward(&b.a1, &mut b.c2, ctx);
        self.bn2.forward(&b.c2, &mut b.n2, ctx);
        relu(&b.n2, &mut b.a2);
        self.conv3.forward(&b.a2, &mut b.c3, ctx);
        self.bn3.forward(&b.c3, &mut b.n3, ctx);
        let short: &Tensor<T> = match &mut self.down {
            Some((conv, bn)) => {
                conv.forward(x, &mut b.s1, ctx);
                bn.forward(&b.s1, &mut b.s2, ctx);
                &b.s2
            }
            None => x,
        };
        add_relu(&b.n3, short, y);
    }

    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let b = &mut self.bufs;
        sum_relu_grad(dy, y, &mut b.d_sum);
        self.bn3.backward(&b.c3, &b.n3, &b.d_sum, Some(&mut b.d1));
        self.conv3.backward(&b.a2, &b.c3, &b.d1, Some(&mut b.d2));
        relu_back(&b.n2, &b.a2, &b.d2, &mut b.d1);
        self.bn2.backward(&b.c2, &b.n2, &b.d1, Some(&mut b.d2));
        self.conv2.backward(&b.a1, &b.c2, &b.d2, Some(&mut b.d1));
        relu_back(&b.n1, &b.a1, &b.d1, &mut b.d2);
        self.bn1.backward(&b.c1, &b.n1, &b.d2, Some(&mut b.d1));
        let short = ShortcutGrad {
            down: &mut self.down,
            s1: &b.s1,
            s2: &b.s2,
            d_sum: &b.d_sum,
            scratch: &mut b.d3,
            d_short: &mut b.d_short,
        };
        short.backward_into(x, &mut self.conv1, &b.c1, &b.d1, dx);
    }

    layer_state! {
        layer "conv1" => conv1,
        layer "bn1" => bn1,
        layer "conv2" => conv2,
        layer "bn2" => bn2,
        layer "conv3" => conv3,
        layer "bn3" => bn3,
        opt_layer "downsample.0" => down.0,
        opt_layer "downsample.1" => down.1,
    }

    fn set_conv_algo(&mut self, algo: ConvAlgo) {
        for c in [&mut self.conv1, &mut self.conv2, &mut self.conv3] {
            c.set_conv_algo(algo);
        }
        if let Some((conv, _)) = &mut self.down {
            conv.set_conv_algo(algo);
        }
    }

    fn macs_per_sample(&self) -> usize {
        let main = self.conv1.macs_per_sample() + self.conv2.macs_per_sample() + self.conv3.macs_per_sample();
        main + self.down.as_ref().map_or(0, |(c, _)| c.macs_per_sample())
    }
}
