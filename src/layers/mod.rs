//! Layers: parameters, buffers and forward/backward passes over batches.
//!
//! A layer is described by a serialisable `…Config` (what a model file
//! holds) that `init`s into the layer for a given per-sample input shape,
//! inferring its output shape or failing with a clear error. The layer owns
//! its parameters, their gradients and any scratch memory, which it reuses
//! from batch to batch.
//!
//! Per-sample shapes: `[c, h, w]` for images, `[c, l]` for signals, `[f]`
//! for feature vectors. Batches add a leading `n`.

use crate::init::Init;
use crate::ops::conv::ConvAlgo;
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

mod activation;
mod conv;
mod dense;
mod norm;
mod pool;
mod residual;
mod serde_util;
mod shape;

pub use activation::{ActivationLayer, Dropout, DropoutConfig, EluConfig, LeakyReluConfig, Softmax};
pub use conv::{Conv, Conv1dConfig, Conv2dConfig};
pub use dense::{Dense, DenseConfig};
pub use norm::{BatchNorm, BatchNormConfig};
pub use pool::{GlobalPool, Pool, Pool1dConfig, Pool2dConfig};
pub use residual::{Residual, ResidualConfig, Shortcut};
pub use shape::Flatten;

/// A trainable tensor with its gradient.
#[derive(Clone, Debug)]
pub struct Param<T: Scalar> {
    pub value: Tensor<T>,
    /// Gradient of the last backward pass (overwritten, not accumulated).
    pub grad: Tensor<T>,
    /// Frozen parameters keep their values: optimizers skip them.
    pub frozen: bool,
}

impl<T: Scalar> Param<T> {
    pub fn new(value: Tensor<T>) -> Self {
        let grad = Tensor::zeros(value.shape());
        Param {
            value,
            grad,
            frozen: false,
        }
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// A named entry of a layer's state, as a state dict holds it.
pub enum StateRef<'a, T: Scalar> {
    /// A parameter (`weight`, `bias`).
    Param(&'a Param<T>),
    /// A buffer that is not trained by gradients (running statistics).
    Buffer(&'a Tensor<T>),
}

/// Mutable access to a named state entry.
pub enum StateMut<'a, T: Scalar> {
    Param(&'a mut Param<T>),
    Buffer(&'a mut Tensor<T>),
}

/// What a forward pass may need besides its input.
pub struct ForwardCtx<'a> {
    /// Training mode: dropout drops, batch norm uses batch statistics.
    pub train: bool,
    /// Randomness for dropout.
    pub rng: &'a mut SeededRng,
}

/// What building a layer needs besides its config.
pub struct BuildCtx<'a> {
    /// Name of the layer (`conv1`, `fc2`, `layer1.0`): the prefix of its
    /// parameter names.
    pub name: String,
    /// Per-sample input shape.
    pub input: &'a [usize],
    pub init: Init,
    pub rng: &'a mut SeededRng,
}

/// A layer of a network.
///
/// `forward` must be called before `backward` with the same input; `backward`
/// overwrites parameter gradients and writes `dx` unless it is `None` (a
/// first layer's input gradient is not needed).
pub trait Layer<T: Scalar>: Send + Sync {
    /// Type name shown in summaries, e.g. `Conv2d`.
    fn kind(&self) -> &'static str;

    /// Name of this layer in the model, e.g. `conv1`.
    fn name(&self) -> &str;

    /// Per-sample output shape.
    fn output_shape(&self) -> &[usize];

    /// `y = layer(x)`; `y` is resized as needed, reusing its memory.
    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>);

    /// Parameter gradients and, when asked, `dx` from `dy`.
    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>);

    /// Visits parameters and buffers with their names below `prefix`
    /// (`prefix` ends with a dot or is empty).
    fn visit_state(&self, _prefix: &str, _f: &mut dyn FnMut(String, StateRef<'_, T>)) {}

    /// Mutable form of [`Layer::visit_state`].
    fn visit_state_mut(&mut self, _prefix: &str, _f: &mut dyn FnMut(String, StateMut<'_, T>)) {}

    /// Visits parameters in a fixed order, without names (the optimizer's
    /// hot path).
    fn for_each_param(&mut self, _f: &mut dyn FnMut(&mut Param<T>)) {}

    /// Picks the convolution kernel (no-op for layers without convolutions).
    fn set_conv_algo(&mut self, _algo: ConvAlgo) {}

    /// Multiply-accumulates of one sample's forward pass (for FLOP counts).
    fn macs_per_sample(&self) -> usize {
        0
    }
}

/// Number of parameter elements of a layer, split into (trainable, frozen).
pub fn count_params<T: Scalar>(layer: &dyn Layer<T>) -> (usize, usize) {
    let mut counts = (0, 0);
    layer.visit_state("", &mut |_, s| {
        if let StateRef::Param(p) = s {
            if p.frozen {
                counts.1 += p.len();
            } else {
                counts.0 += p.len();
            }
        }
    });
    counts
}

/// The `weight` and optional `bias` that convolution and dense layers share,
/// with their state-dict names.
pub(crate) struct WeightBias<T: Scalar> {
    pub weight: Param<T>,
    pub bias: Option<Param<T>>,
}

impl<T: Scalar> WeightBias<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, StateRef<'_, T>)) {
        f(format!("{prefix}weight"), StateRef::Param(&self.weight));
        if let Some(b) = &self.bias {
            f(format!("{prefix}bias"), StateRef::Param(b));
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(String, StateMut<'_, T>)) {
        f(format!("{prefix}weight"), StateMut::Param(&mut self.weight));
        if let Some(b) = &mut self.bias {
            f(format!("{prefix}bias"), StateMut::Param(b));
        }
    }

    fn for_each(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }

    fn bias_value(&self) -> Option<&[T]> {
        self.bias.as_ref().map(|b| b.value.data())
    }
}
