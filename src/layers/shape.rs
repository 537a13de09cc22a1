//! Layers that only change shapes.

use super::{BuildCtx, ForwardCtx, Layer};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, numel};

/// Flattens each sample to a vector (`nn.Flatten`): `[c, h, w]` → `[c·h·w]`,
/// in C order, so weights match PyTorch's `torch.flatten(x, 1)`.
pub struct Flatten {
    name: String,
    out_shape: Vec<usize>,
}

impl Flatten {
    pub fn new(ctx: BuildCtx<'_>) -> Self {
        Flatten {
            name: ctx.name,
            out_shape: vec![numel(ctx.input)],
        }
    }
}

impl<T: Scalar> Layer<T> for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_batch(x.batch(), &self.out_shape);
        y.data_mut().copy_from_slice(x.data());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        dx.data_mut().copy_from_slice(dy.data());
    }
}
