//! The `Dense` (fully connected, `nn.Linear`) layer.

use serde::{Deserialize, Serialize};

use super::{BuildCtx, ForwardCtx, Layer, Param, StateMut, StateRef, WeightBias};
use crate::error::{Error, Result};
use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::ops::dense::{DenseDims, dense_backward, dense_forward};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

fn yes() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}

/// A fully connected layer.
///
/// # Shapes
/// - input `[in]` (flatten images first), output `[units]`
/// - `weight`: `[units, in]`, `bias`: `[units]` (PyTorch's layout)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    pub units: usize,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub bias: bool,
}

impl DenseConfig {
    pub fn new(units: usize) -> Self {
        DenseConfig { units, bias: true }
    }

    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    pub fn init<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Dense<T>> {
        let &[d_in] = ctx.input else {
            return Err(Error::shape(
                "Dense",
                format!(
                    "a flat [features] input (add a flatten layer before it to turn {} into [{}])",
                    fmt_shape(ctx.input),
                    ctx.input.iter().product::<usize>()
                ),
                ctx.input,
            ));
        };
        if self.units == 0 {
            return Err(Error::invalid("Dense", "units must be positive"));
        }
        let weight = Param::new(ctx.init.weight(&[self.units, d_in], d_in, self.units, ctx.rng));
        let bias = self.bias.then(|| Param::new(ctx.init.bias(self.units, d_in, ctx.rng)));
        Ok(Dense {
            name: ctx.name,
            d_in,
            params: WeightBias { weight, bias },
            out_shape: vec![self.units],
        })
    }
}

/// A fully connected layer: `y = x · Wᵀ + b`.
pub struct Dense<T: Scalar> {
    name: String,
    d_in: usize,
    params: WeightBias<T>,
    out_shape: Vec<usize>,
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        let n = x.batch();
        y.resize_batch(n, &self.out_shape);
        let b = self.params.bias_value();
        let d = DenseDims {
            n,
            d_in: self.d_in,
            d_out: self.out_shape[0],
        };
        dense_forward(d, x.data(), self.params.weight.value.data(), b, y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let n = x.batch();
        let dx = dx.map(|dx| {
            dx.resize_for(x.shape());
            dx.data_mut()
        });
        let WeightBias { weight, bias } = &mut self.params;
        let db = bias.as_mut().map(|b| b.grad.data_mut());
        let d = DenseDims {
            n,
            d_in: self.d_in,
            d_out: self.out_shape[0],
        };
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
        dense_backward(d, inp, grads);
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

    fn macs_per_sample(&self) -> usize {
        self.d_in * self.out_shape[0]
    }
}
