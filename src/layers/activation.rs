//! Activation, softmax and dropout layers: no parameters, any input shape.

use serde::{Deserialize, Serialize};

use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta};
use crate::error::{Error, Result};
use crate::ops::activation::{self, Activation};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, numel};

/// An element-wise activation layer (`ReLU`, `LeakyReLU`, `ELU`, `Sigmoid`, `Tanh`).
///
/// # Shapes
/// output shape = input shape.
pub struct ActivationLayer {
    meta: LayerMeta,
    f: Activation,
}

impl ActivationLayer {
    /// The layer applying `f`.
    pub fn new(f: Activation, ctx: BuildCtx<'_>) -> Self {
        let kind = match f {
            Activation::Relu => Kind::Relu,
            Activation::LeakyRelu { .. } => Kind::LeakyRelu,
            Activation::Elu { .. } => Kind::Elu,
            Activation::Sigmoid => Kind::Sigmoid,
            Activation::Tanh => Kind::Tanh,
        };
        ActivationLayer {
            meta: ctx.meta(kind, ctx.input.to_vec()),
            f,
        }
    }
}

impl<T: Scalar> Layer<T> for ActivationLayer {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_for(x.shape());
        self.f.forward(x.data(), y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        self.f.backward(x.data(), y.data(), dy.data(), dx.data_mut());
    }
}

/// `LeakyReLU` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakyReluConfig {
    /// Slope for negative inputs (PyTorch's default 0.01).
    pub slope: f64,
}

impl Default for LeakyReluConfig {
    fn default() -> Self {
        LeakyReluConfig { slope: 0.01 }
    }
}

/// `ELU` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EluConfig {
    /// Scale of the negative branch, `alpha · (eˣ − 1)` (default 1).
    pub alpha: f64,
}

impl Default for EluConfig {
    fn default() -> Self {
        EluConfig { alpha: 1.0 }
    }
}

/// Softmax over the channel/feature axis (`nn.Softmax(dim=1)`).
///
/// As the last layer of a classifier it turns logits into probabilities;
/// training then applies the loss to the logits before it (the fused,
/// numerically stable form), as Keras does for `activation="softmax"`.
///
/// # Shapes
/// output shape = input shape `[c, …]`.
pub struct Softmax {
    meta: LayerMeta,
}

impl Softmax {
    /// Softmax over the first axis of `ctx.input`.
    pub fn new(ctx: BuildCtx<'_>) -> Result<Self> {
        if ctx.input.is_empty() {
            return Err(Error::shape(
                Kind::Softmax.display_name(),
                "[features] or [channels, …] input",
                ctx.input,
            ));
        }
        Ok(Softmax {
            meta: ctx.meta(Kind::Softmax, ctx.input.to_vec()),
        })
    }

    fn dims(&self, n: usize) -> (usize, usize, usize) {
        let shape = &self.meta.input_shape;
        (n, shape[0], numel(&shape[1..]))
    }
}

impl<T: Scalar> Layer<T> for Softmax {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_for(x.shape());
        let (n, c, s) = self.dims(x.batch());
        activation::softmax_forward(n, c, s, x.data(), y.data_mut());
    }

    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        let (n, c, s) = self.dims(x.batch());
        activation::softmax_backward(n, c, s, y.data(), dy.data(), dx.data_mut());
    }
}

/// `Dropout` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    /// Probability of zeroing an element.
    pub p: f64,
}

impl DropoutConfig {
    /// Dropout zeroing each element with probability `p` (PyTorch's `nn.Dropout(p)`).
    pub fn new(p: f64) -> Self {
        DropoutConfig { p }
    }

    /// Builds the layer for the input shape in `ctx`; fails unless `0 ≤ p < 1`.
    pub fn init(&self, ctx: BuildCtx<'_>) -> Result<Dropout> {
        if !(0.0..1.0).contains(&self.p) {
            return Err(Error::invalid(
                Kind::Dropout.display_name(),
                format!("p = {} must be in [0, 1)", self.p),
            ));
        }
        Ok(Dropout {
            meta: ctx.meta(Kind::Dropout, ctx.input.to_vec()),
            p: self.p,
            mask: Vec::new(),
            active: false,
        })
    }
}

/// Inverted dropout (`nn.Dropout`): in training each element is zeroed with
/// probability `p` and the survivors scaled by `1/(1 − p)`; in evaluation it
/// is the identity.
pub struct Dropout {
    meta: LayerMeta,
    p: f64,
    /// The scale of each element in the last training forward pass.
    mask: Vec<f64>,
    active: bool,
}

impl<T: Scalar> Layer<T> for Dropout {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>) {
        y.resize_for(x.shape());
        self.active = ctx.train && self.p > 0.0;
        if !self.active {
            y.data_mut().copy_from_slice(x.data());
            return;
        }
        let scale = 1.0 / (1.0 - self.p);
        self.mask.resize(x.len(), 0.0);
        for ((m, yv), &xv) in self.mask.iter_mut().zip(y.data_mut()).zip(x.data()) {
            *m = if ctx.rng.bernoulli(self.p) { 0.0 } else { scale };
            *yv = xv * T::lit(*m);
        }
    }

    fn backward(&mut self, _x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(dy.shape());
        if !self.active {
            dx.data_mut().copy_from_slice(dy.data());
            return;
        }
        for ((d, &g), &m) in dx.data_mut().iter_mut().zip(dy.data()).zip(&self.mask) {
            *d = g * T::lit(m);
        }
    }
}
