//! The `Dense` (fully connected, `nn.Linear`) layer.

use serde::{Deserialize, Serialize};

use super::serde_util::{is_true, yes};
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta, Param, layer_state};
use crate::error::{Error, Result};
use crate::ops::dense::{DenseDims, dense_backward, dense_forward};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// A fully connected layer.
///
/// # Shapes
/// - input `[in]` (flatten images first), output `[units]`
/// - `weight`: `[units, in]`, `bias`: `[units]` (PyTorch's layout)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    /// Output features (PyTorch's `out_features`, Keras's `units`).
    pub units: usize,
    /// Whether to add a learned bias per output (PyTorch's `bias`, Keras's `use_bias`); default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub bias: bool,
}

impl DenseConfig {
    /// `units` outputs with a bias.
    pub fn new(units: usize) -> Self {
        DenseConfig { units, bias: true }
    }

    /// Turns the bias on or off.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Builds the layer for a flat `[in]` input shape in `ctx`, drawing its weights with `ctx`'s init and generator.
    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Dense<T>> {
        let &[d_in] = ctx.input else {
            return Err(Error::shape(
                Kind::Dense.display_name(),
                format!(
                    "a flat [features] input (add a flatten layer before it to turn {} into [{}])",
                    fmt_shape(ctx.input),
                    ctx.input.iter().product::<usize>()
                ),
                ctx.input,
            ));
        };
        if self.units == 0 {
            return Err(Error::invalid(Kind::Dense.display_name(), "units must be positive"));
        }
        ctx.check_param::<T>(&[self.units, d_in])?;
        let weight = Param::new(ctx.init.weight(&[self.units, d_in], d_in, self.units, ctx.rng));
        let bias = self.bias.then(|| Param::new(ctx.init.bias(self.units, d_in, ctx.rng)));
        Ok(Dense {
            meta: ctx.meta(Kind::Dense, vec![self.units]),
            d_in,
            d_out: self.units,
            weight,
            bias,
        })
    }
}

/// A fully connected layer: `y = x · Wᵀ + b`.
pub struct Dense<T: Scalar> {
    meta: LayerMeta,
    d_in: usize,
    d_out: usize,
    weight: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        let n = x.batch();
        y.resize_batch(n, &self.meta.output_shape);
        let b = self.bias.as_ref().map(|b| b.value.data());
        let d = DenseDims {
            n,
            d_in: self.d_in,
            d_out: self.d_out,
        };
        dense_forward(d, x.data(), self.weight.value.data(), b, y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let n = x.batch();
        let d = DenseDims {
            n,
            d_in: self.d_in,
            d_out: self.d_out,
        };
        let (inp, grads) = super::weight_backward(&mut self.weight, &mut self.bias, x, dy, dx);
        dense_backward(d, inp, grads);
    }

    layer_state! {
        param "weight" => weight,
        opt_param "bias" => bias,
    }

    fn macs_per_sample(&self) -> usize {
        self.d_in * self.d_out
    }
}
