//! The residual block of ResNet-18/34 (torchvision's `BasicBlock`).

use serde::{Deserialize, Serialize};

use super::conv::{Conv, Conv1dConfig, Conv2dConfig};
use super::norm::{BatchNorm, BatchNormConfig};
use super::serde_util::{is_default, is_n, n};
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta, layer_state};
use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::ops::conv::{ConvAlgo, Padding};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How the block's input reaches its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shortcut {
    /// Identity when shapes allow, else a 1×1 projection (torchvision's rule).
    #[default]
    Auto,
    /// Always the identity; building fails unless the stride is 1 and `c_in = filters`.
    Identity,
    /// Always a strided 1×1 convolution + batch norm (`downsample`).
    Projection,
}

/// A basic residual block:
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
///
/// `conv1` is `k × k` with the block's stride, `conv2` is `k × k` with stride
/// 1, both padded by `k/2` and without bias; the shortcut is the identity or
/// `downsample = [conv 1×1 (stride), batch norm]`. Parameter names follow
/// torchvision: `conv1.weight`, `bn1.running_mean`, `downsample.0.weight`, …
/// Works on images `[c, h, w]` and, with 1-D convolutions, on signals `[c, l]`.
///
/// # Shapes
/// input `[c_in, h, w]`, output `[filters, ⌈h/stride⌉, ⌈w/stride⌉]` (odd `k`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualConfig {
    /// Output channels of both convolutions (torchvision's `planes`).
    pub filters: usize,
    /// Stride of `conv1` and of the projection; 2 halves the image; default 1.
    #[serde(default = "n::<1>", skip_serializing_if = "is_n::<1>")]
    pub stride: usize,
    /// Window size `k` of both convolutions (odd, so `k/2` padding keeps the size); default 3.
    #[serde(default = "n::<3>", skip_serializing_if = "is_n::<3>")]
    pub kernel: usize,
    /// How the input reaches the output; default [`Shortcut::Auto`].
    #[serde(default, skip_serializing_if = "is_default")]
    pub shortcut: Shortcut,
}

impl ResidualConfig {
    /// A block of `filters` channels, stride 1, `3 × 3` windows, automatic shortcut.
    pub fn new(filters: usize) -> Self {
        ResidualConfig {
            filters,
            stride: 1,
            kernel: 3,
            shortcut: Shortcut::Auto,
        }
    }

    /// Sets the stride of the first convolution and the projection.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the window size of both convolutions.
    pub fn with_kernel(mut self, kernel: usize) -> Self {
        self.kernel = kernel;
        self
    }

    /// Sets how the input reaches the output.
    pub fn with_shortcut(mut self, shortcut: Shortcut) -> Self {
        self.shortcut = shortcut;
        self
    }

    /// Builds the block for the input shape in `ctx` (`[c_in, h, w]`, or `[c_in, l]` with 1-D convolutions).
    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Residual<T>> {
        let one_d = self.check_input(ctx.input)?;
        let c_in = ctx.input[0];
        let pad = self.kernel / 2;
        let BuildCtx { name, input, init, rng } = ctx;
        let mut sub = |suffix: &str, input: &[usize], kernel: usize, stride: usize, pad: usize| -> Result<Conv<T>> {
            let ctx = BuildCtx {
                name: format!("{name}.{suffix}"),
                input,
                init,
                rng: &mut *rng,
            };
            self.branch_conv(ctx, one_d, kernel, stride, pad)
        };
        let conv1 = sub("conv1", input, self.kernel, self.stride, pad)?;
        let mid = conv1.output_shape().to_vec();
        let conv2 = sub("conv2", &mid, self.kernel, 1, pad)?;
        let project = self.projects(c_in)?;
        let down_conv = if project {
            Some(sub("downsample.0", input, 1, self.stride, 0)?)
        } else {
            None
        };
        let out_shape = conv2.output_shape().to_vec();
        check_shortcut_shape(Kind::Residual.display_name(), down_conv.as_ref(), &out_shape)?;
        let bn = |suffix: &str, rng: &mut crate::rng::SeededRng| -> Result<BatchNorm<T>> {
            let ctx = BuildCtx {
                name: format!("{name}.{suffix}"),
                input: &out_shape,
                init,
                rng,
            };
            block_batch_norm(ctx, one_d)
        };
        let bn1 = bn("bn1", rng)?;
        let bn2 = bn("bn2", rng)?;
        let down = match down_conv {
            Some(c) => Some((c, bn("downsample.1", rng)?)),
            None => None,
        };
        Ok(Residual {
            meta: LayerMeta {
                name,
                kind: Kind::Residual,
                input_shape: input.to_vec(),
                output_shape: out_shape,
            },
            conv1,
            bn1,
            conv2,
            bn2,
            down,
            bufs: Default::default(),
        })
    }

    /// Checks the input's rank and the kernel's oddness; true for 1-D inputs `[c_in, l]`.
    fn check_input(&self, input: &[usize]) -> Result<bool> {
        let one_d = match input.len() {
            3 => false,
            2 => true,
            _ => {
                return Err(Error::shape(
                    Kind::Residual.display_name(),
                    "[channels, height, width] or [channels, length] input",
                    input,
                ));
            }
        };
        if self.kernel.is_multiple_of(2) {
            return Err(Error::invalid(
                Kind::Residual.display_name(),
                format!("kernel {} must be odd", self.kernel),
            ));
        }
        Ok(one_d)
    }

    /// One of the block's bias-free convolutions to `filters` channels, 1-D or 2-D.
    fn branch_conv<T: Scalar>(
        &self,
        ctx: BuildCtx<'_>,
        one_d: bool,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Conv<T>> {
        if one_d {
            Conv1dConfig::new(self.filters, kernel)
                .with_stride(stride)
                .with_padding(Padding::hw(0, pad))
                .with_bias(false)
                .init(ctx)
        } else {
            Conv2dConfig::new(self.filters, kernel)
                .with_stride(stride)
                .with_padding(Padding::symmetric(pad))
                .with_bias(false)
                .init(ctx)
        }
    }

    /// Whether the shortcut is a projection for `c_in` input channels; an error when an identity cannot fit.
    fn projects(&self, c_in: usize) -> Result<bool> {
        Ok(match self.shortcut {
            Shortcut::Auto => self.stride != 1 || c_in != self.filters,
            Shortcut::Identity => {
                if self.stride != 1 || c_in != self.filters {
                    return Err(Error::invalid(
                        Kind::Residual.display_name(),
                        format!(
                            "an identity shortcut needs stride 1 and {c_in} = {} channels; use shortcut = \"projection\"",
                            self.filters
                        ),
                    ));
                }
                false
            }
            Shortcut::Projection => true,
        })
    }
}

/// A default batch norm over the block's output, 1-D or 2-D.
fn block_batch_norm<T: Scalar>(ctx: BuildCtx<'_>, one_d: bool) -> Result<BatchNorm<T>> {
    if one_d {
        BatchNormConfig::default().init_1d(ctx)
    } else {
        BatchNormConfig::default().init_2d(ctx)
    }
}

/// An error when the projection `down` gives another shape than the main branch's `out_shape`.
pub(super) fn check_shortcut_shape<T: Scalar>(kind: &str, down: Option<&Conv<T>>, out_shape: &[usize]) -> Result<()> {
    if let Some(d) = down
        && d.output_shape() != out_shape
    {
        return Err(Error::invalid(
            kind,
            format!(
                "shortcut output {:?} differs from the branch's {:?}",
                d.output_shape(),
                out_shape
            ),
        ));
    }
    Ok(())
}

/// Activations and gradients kept between passes.
#[derive(Default)]
struct Bufs<T: Scalar> {
    a1: Tensor<T>,
    a2: Tensor<T>,
    a3: Tensor<T>,
    a4: Tensor<T>,
    a5: Tensor<T>,
    s1: Tensor<T>,
    s2: Tensor<T>,
    d_sum: Tensor<T>,
    d1: Tensor<T>,
    d2: Tensor<T>,
    d_short: Tensor<T>,
}

/// A residual block; see [`ResidualConfig`].
pub struct Residual<T: Scalar> {
    meta: LayerMeta,
    conv1: Conv<T>,
    bn1: BatchNorm<T>,
    conv2: Conv<T>,
    bn2: BatchNorm<T>,
    down: Option<(Conv<T>, BatchNorm<T>)>,
    bufs: Bufs<T>,
}

impl<T: Scalar> Layer<T> for Residual<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>) {
        if !ctx.train && !ctx.backward {
            return self.infer(x, y);
        }
        let b = &mut self.bufs;
        self.conv1.forward(x, &mut b.a1, ctx);
        self.bn1.forward(&b.a1, &mut b.a2, ctx);
        b.a3.resize_for(b.a2.shape());
        Activation::Relu.forward(b.a2.data(), b.a3.data_mut());
        self.conv2.forward(&b.a3, &mut b.a4, ctx);
        self.bn2.forward(&b.a4, &mut b.a5, ctx);
        let short: &Tensor<T> = match &mut self.down {
            Some((conv, bn)) => {
                conv.forward(x, &mut b.s1, ctx);
                bn.forward(&b.s1, &mut b.s2, ctx);
                &b.s2
            }
            None => x,
        };
        add_relu(&b.a5, short, y);
    }

    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let b = &mut self.bufs;
        // Through the final ReLU: y > 0 exactly where the sum was positive.
        sum_relu_grad(dy, y, &mut b.d_sum);
        // Main branch.
        self.bn2.backward(&b.a4, &b.a5, &b.d_sum, Some(&mut b.d1));
        self.conv2.backward(&b.a3, &b.a4, &b.d1, Some(&mut b.d2));
        b.d1.resize_for(b.a2.shape());
        Activation::Relu.backward(b.a2.data(), b.a3.data(), b.d2.data(), b.d1.data_mut());
        self.bn1.backward(&b.a1, &b.a2, &b.d1, Some(&mut b.d2));
        // Shortcut: its parameter gradients always, its input gradient if wanted.
        let short = ShortcutGrad {
            down: &mut self.down,
            s1: &b.s1,
            s2: &b.s2,
            d_sum: &b.d_sum,
            scratch: &mut b.d1,
            d_short: &mut b.d_short,
        };
        short.backward_into(x, &mut self.conv1, &b.a1, &b.d2, dx);
    }

    layer_state! {
        layer "conv1" => conv1,
        layer "bn1" => bn1,
        layer "conv2" => conv2,
        layer "bn2" => bn2,
        opt_layer "downsample.0" => down.0,
        opt_layer "downsample.1" => down.1,
    }

    fn set_conv_algo(&mut self, algo: ConvAlgo) {
        self.conv1.set_conv_algo(algo);
        self.conv2.set_conv_algo(algo);
        if let Some((conv, _)) = &mut self.down {
            conv.set_conv_algo(algo);
        }
    }

    fn macs_per_sample(&self) -> usize {
        self.conv1.macs_per_sample()
            + self.conv2.macs_per_sample()
            + self.down.as_ref().map_or(0, |(c, _)| c.macs_per_sample())
    }
}

impl<T: Scalar> Residual<T> {
    /// Inference: each batch norm (and the ReLU after `bn1`) folded into its
    /// convolution's output, three buffers instead of seven.
    fn infer(&mut self, x: &Tensor<T>, y: &mut Tensor<T>) {
        let b = &mut self.bufs;
        self.conv1.forward_bn_eval(x, &mut b.a1, &mut self.bn1, true);
        self.conv2.forward_bn_eval(&b.a1, &mut b.a4, &mut self.bn2, false);
        add_shortcut_eval(&mut self.down, x, &mut b.s1, &b.a4, y);
    }
}

/// Inference: `y = relu(branch + shortcut(x))`, the projection (if any)
/// computed into `s1` with its batch norm folded into its convolution.
pub(super) fn add_shortcut_eval<T: Scalar>(
    down: &mut Option<(Conv<T>, BatchNorm<T>)>,
    x: &Tensor<T>,
    s1: &mut Tensor<T>,
    branch: &Tensor<T>,
    y: &mut Tensor<T>,
) {
    let short: &Tensor<T> = match down {
        Some((conv, bn)) => {
            conv.forward_bn_eval(x, s1, bn, false);
            s1
        }
        None => x,
    };
    add_relu(branch, short, y);
}

/// `y = relu(branch + short)`, resizing `y`: the end of a residual block.
pub(super) fn add_relu<T: Scalar>(branch: &Tensor<T>, short: &Tensor<T>, y: &mut Tensor<T>) {
    y.resize_for(branch.shape());
    for ((o, &r), &s) in y.data_mut().iter_mut().zip(branch.data()).zip(short.data()) {
        let v = r + s;
        *o = if v > T::zero() { v } else { T::zero() };
    }
}

/// The gradient at the sum of a residual block from that at its output
/// `y = relu(sum)`: `y > 0` exactly where the sum was positive.
pub(super) fn sum_relu_grad<T: Scalar>(dy: &Tensor<T>, y: &Tensor<T>, d_sum: &mut Tensor<T>) {
    d_sum.resize_for(y.shape());
    for ((d, &g), &o) in d_sum.data_mut().iter_mut().zip(dy.data()).zip(y.data()) {
        *d = if o > T::zero() { g } else { T::zero() };
    }
}

/// The last steps of a residual block's backward pass: the shortcut's
/// gradients, then the first convolution's, adding the shortcut's input
/// gradient into `dx` when it is wanted.
pub(super) struct ShortcutGrad<'a, T: Scalar> {
    /// The projection (`downsample.0`, `downsample.1`), if any.
    pub down: &'a mut Option<(Conv<T>, BatchNorm<T>)>,
    /// The projection's convolution and batch-norm outputs.
    pub s1: &'a Tensor<T>,
    pub s2: &'a Tensor<T>,
    /// The gradient at the block's sum.
    pub d_sum: &'a Tensor<T>,
    pub scratch: &'a mut Tensor<T>,
    pub d_short: &'a mut Tensor<T>,
}

impl<T: Scalar> ShortcutGrad<'_, T> {
    /// `conv1` saw `x` and produced `c1`; `d_c1` is the gradient at `c1`.
    pub fn backward_into(
        self,
        x: &Tensor<T>,
        conv1: &mut Conv<T>,
        c1: &Tensor<T>,
        d_c1: &Tensor<T>,
        dx: Option<&mut Tensor<T>>,
    ) {
        let want_dx = dx.is_some();
        if let Some((conv, bn)) = self.down.as_mut() {
            bn.backward(self.s1, self.s2, self.d_sum, Some(&mut *self.scratch));
            conv.backward(x, self.s1, self.scratch, want_dx.then_some(&mut *self.d_short));
        }
        let Some(dx) = dx else {
            conv1.backward(x, c1, d_c1, None);
            return;
        };
        conv1.backward(x, c1, d_c1, Some(&mut *dx));
        let short = if self.down.is_some() {
            &*self.d_short
        } else {
            self.d_sum
        };
        dx.data_mut().iter_mut().zip(short.data()).for_each(|(d, &s)| *d += s);
    }
}
