//! Layers that only change shapes.

use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, numel};

/// Flattens each sample to a vector (`nn.Flatten`): `[c, h, w]` → `[c·h·w]`,
/// in C order, so weights match PyTorch's `torch.flatten(x, 1)`.
pub struct Flatten {
    meta: LayerMeta,
}

impl Flatten {
    /// Flattens samples of shape `ctx.input`.
    pub fn new(ctx: BuildCtx<'_>) -> Self {
        Flatten {
            meta: ctx.meta(Kind::Flatten, vec![numel(ctx.input)]),
        }
    }
}

impl<T: Scalar> Layer<T> for Flatten {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_batch(x.batch(), &self.meta.output_shape);
        y.data_mut().copy_from_slice(x.data());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        dx.data_mut().copy_from_slice(dy.data());
    }
}
