//! Max and average pooling layers, 1-D and 2-D, and global pooling.

use serde::{Deserialize, Serialize};

use super::serde_util::{is_default, is_true, opt_pair, pair, yes};
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta};
use crate::error::{Error, Result};
use crate::kernels::geometry::PoolGeometry;
use crate::kernels::pool::{self, PoolAlgo};
use crate::ops::pool::{Pool2dParams, PoolKind};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, numel};

/// A 2-D pooling window (`nn.MaxPool2d` / `nn.AvgPool2d`).
///
/// # Shapes
/// input `[c, h, w]`, output `[c, out_h, out_w]`; see [`crate::ops::pool`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2dConfig {
    /// Window size `[k_h, k_w]` (PyTorch's `kernel_size`, Keras's `pool_size`); one number in model files means a square window.
    #[serde(with = "pair")]
    pub kernel: [usize; 2],
    /// Defaults to the kernel size.
    #[serde(with = "opt_pair", default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<[usize; 2]>,
    /// Padding on both sides `[pad_h, pad_w]`, at most half the window (max pooling ignores it); default `[0, 0]`.
    #[serde(with = "pair", default, skip_serializing_if = "is_default")]
    pub padding: [usize; 2],
    /// Round the output size up instead of down (PyTorch's `ceil_mode`); default false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ceil_mode: bool,
    /// Average pooling: count padded zeros in the divisor (PyTorch's default).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub count_include_pad: bool,
}

impl Pool2dConfig {
    /// A `kernel × kernel` window with stride equal to the window, no padding (PyTorch's defaults).
    pub fn new(kernel: usize) -> Self {
        Pool2dConfig {
            kernel: [kernel, kernel],
            stride: None,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// Sets the same stride on both axes.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = Some([stride, stride]);
        self
    }

    /// Sets the same padding on both axes.
    pub fn with_padding(mut self, padding: usize) -> Self {
        self.padding = [padding, padding];
        self
    }

    /// Sets whether the output size rounds up.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// Sets whether average pooling counts padded zeros in its divisor.
    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The op-level hyper-parameters, the stride resolved.
    pub fn params(&self) -> Pool2dParams {
        Pool2dParams {
            kernel: self.kernel,
            stride: self.stride.unwrap_or(self.kernel),
            padding: self.padding,
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        }
    }

    /// Builds a `kind` (max or average) pooling layer for the `[c, h, w]` input shape in `ctx`.
    pub fn init<T: Scalar>(&self, kind: PoolKind, ctx: BuildCtx<'_>) -> Result<Pool<T>> {
        let layer = Kind::pool(kind, false);
        let &[c, h, w] = ctx.input else {
            return Err(Error::shape(
                layer.display_name(),
                "[channels, height, width] input",
                ctx.input,
            ));
        };
        Pool::build(ctx, layer, kind, self.params().geometry(c, h, w)?)
    }
}

/// A 1-D pooling window (`nn.MaxPool1d` / `nn.AvgPool1d`).
///
/// # Shapes
/// input `[c, l]`, output `[c, out_l]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool1dConfig {
    /// Window length `k` (PyTorch's `kernel_size`).
    pub kernel: usize,
    /// Defaults to the kernel size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    /// Padding on both ends, at most half the window (max pooling ignores it); default 0.
    #[serde(default, skip_serializing_if = "is_default")]
    pub padding: usize,
    /// Round the output length up instead of down (PyTorch's `ceil_mode`); default false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ceil_mode: bool,
    /// Average pooling: count padded zeros in the divisor (PyTorch's default, true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub count_include_pad: bool,
}

impl Pool1dConfig {
    /// A window of `kernel` with stride equal to the window, no padding (PyTorch's defaults).
    pub fn new(kernel: usize) -> Self {
        Pool1dConfig {
            kernel,
            stride: None,
            padding: 0,
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = Some(stride);
        self
    }

    /// Sets the padding on both ends.
    pub fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// As 2-D parameters over a `1 × l` signal.
    pub fn params(&self) -> Pool2dParams {
        Pool2dParams {
            kernel: [1, self.kernel],
            stride: [1, self.stride.unwrap_or(self.kernel)],
            padding: [0, self.padding],
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        }
    }

    /// Builds a `kind` (max or average) pooling layer for the `[c, l]` input shape in `ctx`.
    pub fn init<T: Scalar>(&self, kind: PoolKind, ctx: BuildCtx<'_>) -> Result<Pool<T>> {
        let layer = Kind::pool(kind, true);
        let &[c, l] = ctx.input else {
            return Err(Error::shape(
                layer.display_name(),
                "[channels, length] input",
                ctx.input,
            ));
        };
        Pool::build(ctx, layer, kind, self.params().geometry(c, 1, l)?)
    }
}

/// A max or average pooling layer.
pub struct Pool<T: Scalar> {
    meta: LayerMeta,
    kind: PoolKind,
    geom: PoolGeometry,
    argmax: Vec<u32>,
    _marker: std::marker::PhantomData<T>,
}

impl<T: Scalar> Pool<T> {
    /// `layer` is the pooling [`Kind`] (which says 1-D or 2-D), `kind` max or average.
    fn build(ctx: BuildCtx<'_>, layer: Kind, kind: PoolKind, geom: PoolGeometry) -> Result<Self> {
        let out_shape = if matches!(layer, Kind::MaxPool1d | Kind::AvgPool1d) {
            vec![geom.c, geom.out_w]
        } else {
            vec![geom.c, geom.out_h, geom.out_w]
        };
        Ok(Pool {
            meta: ctx.meta(layer, out_shape),
            kind,
            geom,
            argmax: Vec::new(),
            _marker: std::marker::PhantomData,
        })
    }
}

impl<T: Scalar> Layer<T> for Pool<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>) {
        let n = x.batch();
        y.resize_batch(n, &self.meta.output_shape);
        match self.kind {
            PoolKind::Max => {
                // Indices of the maxima only where backward will need them.
                let argmax = if ctx.backward {
                    if self.argmax.len() < y.len() {
                        self.argmax.resize(y.len(), 0);
                    }
                    Some(&mut self.argmax[..])
                } else {
                    None
                };
                pool::max_pool2d_forward(&self.geom, PoolAlgo::Auto, n, x.data(), y.data_mut(), argmax)
            }
            PoolKind::Avg => pool::avg_pool2d_forward(&self.geom, n, x.data(), y.data_mut()),
        }
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        let n = x.batch();
        match self.kind {
            PoolKind::Max => pool::max_pool2d_backward(&self.geom, n, dy.data(), &self.argmax, dx.data_mut()),
            PoolKind::Avg => pool::avg_pool2d_backward(&self.geom, n, dy.data(), dx.data_mut()),
        }
    }
}

/// Global average or max pooling over all spatial positions
/// (Keras `GlobalAveragePooling2D`/`1D`; PyTorch `AdaptiveAvgPool2d(1)` + flatten).
///
/// # Shapes
/// input `[c, …]` (any number of spatial axes), output `[c]`.
pub struct GlobalPool<T: Scalar> {
    meta: LayerMeta,
    kind: PoolKind,
    spatial: usize,
    argmax: Vec<u32>,
    _marker: std::marker::PhantomData<T>,
}

impl<T: Scalar> GlobalPool<T> {
    /// A global `kind` (max or average) pooling layer for the `[c, …]` input shape in `ctx`.
    pub fn new(kind: PoolKind, ctx: BuildCtx<'_>) -> Result<Self> {
        if ctx.input.len() < 2 {
            return Err(Error::shape("global pooling", "[channels, …spatial] input", ctx.input));
        }
        let layer = match kind {
            PoolKind::Avg => Kind::GlobalAvgPool,
            PoolKind::Max => Kind::GlobalMaxPool,
        };
        Ok(GlobalPool {
            meta: ctx.meta(layer, vec![ctx.input[0]]),
            kind,
            spatial: numel(&ctx.input[1..]),
            argmax: Vec::new(),
            _marker: std::marker::PhantomData,
        })
    }
}

impl<T: Scalar> Layer<T> for GlobalPool<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_batch(x.batch(), &self.meta.output_shape);
        if self.argmax.len() < y.len() {
            self.argmax.resize(y.len(), 0);
        }
        pool::global_pool_forward(self.kind, self.spatial, x.data(), y.data_mut(), &mut self.argmax);
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        pool::global_pool_backward(self.kind, self.spatial, dy.data(), &self.argmax, dx.data_mut());
    }
}
