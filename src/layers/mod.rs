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

use crate::error::Result;
use crate::init::Init;
use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::ops::conv::ConvAlgo;
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

mod activation;
mod adaptive;
mod bottleneck;
mod conv;
mod dense;
mod kind;
mod norm;
mod pool;
mod residual;
mod serde_util;
mod shape;

pub use activation::{ActivationLayer, Dropout, DropoutConfig, EluConfig, LeakyReluConfig, Softmax};
pub use adaptive::{AdaptivePool, AdaptivePool2dConfig};
pub use bottleneck::{Bottleneck, BottleneckConfig};
pub use conv::{Conv, Conv1dConfig, Conv2dConfig};
pub use dense::{Dense, DenseConfig};
pub use kind::Kind;
pub use norm::{BatchNorm, BatchNormConfig};
pub use pool::{GlobalPool, Pool, Pool1dConfig, Pool2dConfig};
pub use residual::{Residual, ResidualConfig, Shortcut};
pub use shape::Flatten;

/// A trainable tensor with its gradient.
#[derive(Clone, Debug)]
pub struct Param<T: Scalar> {
    /// The current values.
    pub value: Tensor<T>,
    /// Gradient of the last backward pass (overwritten, not accumulated).
    pub grad: Tensor<T>,
    /// Frozen parameters keep their values: optimizers skip them.
    pub frozen: bool,
}

impl<T: Scalar> Param<T> {
    /// A trainable parameter holding `value`, with a zero gradient of the same shape.
    pub fn new(value: Tensor<T>) -> Self {
        let grad = Tensor::zeros(value.shape());
        Param {
            value,
            grad,
            frozen: false,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when the parameter holds no values.
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
    /// A parameter (`weight`, `bias`), with its gradient.
    Param(&'a mut Param<T>),
    /// A buffer that is not trained by gradients (running statistics).
    Buffer(&'a mut Tensor<T>),
}

/// What a forward pass may need besides its input.
pub struct ForwardCtx<'a> {
    /// Training mode: dropout drops, batch norm uses batch statistics.
    pub train: bool,
    /// A backward pass may follow, so keep what it needs. False only for
    /// inference, where blocks fold evaluation-mode batch norm and ReLU into
    /// their convolutions' output and skip the intermediate activations.
    pub backward: bool,
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
    /// Weight initialisation scheme of the model (see [`Init`]).
    pub init: Init,
    /// Random generator the layer draws its initial weights from (its own stream, seeded per layer).
    pub rng: &'a mut SeededRng,
}

impl BuildCtx<'_> {
    /// An error unless a parameter of `shape` can be counted and fits the
    /// memory budget ([`crate::budget`]) with what training keeps beside it
    /// (its gradient and two optimizer moments).
    pub fn check_param<T: Scalar>(&self, shape: &[usize]) -> Result<()> {
        let what = format!("a parameter of shape {shape:?}");
        let n = crate::budget::product(&what, shape)?;
        crate::budget::check(&what, crate::budget::param_bytes(n, std::mem::size_of::<T>()))
    }

    /// The metadata of a layer of `kind` built in this context, with the
    /// per-sample output shape it inferred.
    pub fn meta(&self, kind: Kind, output_shape: Vec<usize>) -> LayerMeta {
        LayerMeta {
            name: self.name.clone(),
            kind,
            input_shape: self.input.to_vec(),
            output_shape,
        }
    }
}

/// What every layer knows about itself once built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerMeta {
    /// Name of this layer in the model, e.g. `conv1`.
    pub name: String,
    /// Its type, e.g. [`Kind::Conv2d`].
    pub kind: Kind,
    /// Per-sample input shape.
    pub input_shape: Vec<usize>,
    /// Per-sample output shape.
    pub output_shape: Vec<usize>,
}

/// A layer of a network.
///
/// `forward` must be called before `backward` with the same input; `backward`
/// overwrites parameter gradients and writes `dx` unless it is `None` (a
/// first layer's input gradient is not needed).
pub trait Layer<T: Scalar>: Send + Sync {
    /// Name, type and shapes of this layer.
    fn meta(&self) -> &LayerMeta;

    /// Type of this layer, e.g. [`Kind::Conv2d`].
    fn kind(&self) -> Kind {
        self.meta().kind
    }

    /// Name of this layer in the model, e.g. `conv1`.
    fn name(&self) -> &str {
        &self.meta().name
    }

    /// Per-sample input shape.
    fn input_shape(&self) -> &[usize] {
        &self.meta().input_shape
    }

    /// Per-sample output shape.
    fn output_shape(&self) -> &[usize] {
        &self.meta().output_shape
    }

    /// `y = layer(x)`; `y` is resized as needed, reusing its memory.
    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>);

    /// Parameter gradients and, when asked, `dx` from `dy`.
    fn backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>);

    /// Visits parameters and buffers with their names below `prefix`
    /// (`prefix` ends with a dot or is empty). Layers with state implement
    /// this and the next two methods with one `layer_state!` list.
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

/// Implements [`Layer::visit_state`], [`Layer::visit_state_mut`] and
/// [`Layer::for_each_param`] from one list of a layer's state, in state-dict
/// order, so names and order are written once. Entries:
///
/// - `param "weight" => field`: a [`Param`];
/// - `opt_param "bias" => field`: an `Option<Param>`;
/// - `buffer "running_mean" => field`: a [`Tensor`] not trained by gradients;
/// - `layer "conv1" => field`: a sub-layer, whose entries get the prefix `conv1.`;
/// - `opt_layer "downsample.0" => field.0`: a sub-layer inside an `Option`
///   (optionally a tuple element of it).
macro_rules! layer_state {
    ($($how:ident $name:literal => $field:ident $(. $sub:tt)?),* $(,)?) => {
        fn visit_state(
            &self,
            prefix: &str,
            f: &mut dyn FnMut(String, $crate::layers::StateRef<'_, T>),
        ) {
            $( $crate::layers::layer_state!(@ref $how, self.$field $(. $sub)?, prefix, $name, f); )*
        }

        fn visit_state_mut(
            &mut self,
            prefix: &str,
            f: &mut dyn FnMut(String, $crate::layers::StateMut<'_, T>),
        ) {
            $( $crate::layers::layer_state!(@mut $how, self.$field $(. $sub)?, prefix, $name, f); )*
        }

        fn for_each_param(&mut self, f: &mut dyn FnMut(&mut $crate::layers::Param<T>)) {
            $( $crate::layers::layer_state!(@each $how, self.$field $(. $sub)?, f); )*
        }
    };
    (@ref param, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $f(format!("{}{}", $prefix, $name), $crate::layers::StateRef::Param(&$e))
    };
    (@ref opt_param, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        if let Some(p) = &$e {
            $f(format!("{}{}", $prefix, $name), $crate::layers::StateRef::Param(p))
        }
    };
    (@ref buffer, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $f(format!("{}{}", $prefix, $name), $crate::layers::StateRef::Buffer(&$e))
    };
    (@ref layer, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $e.visit_state(&format!("{}{}.", $prefix, $name), $f)
    };
    (@ref opt_layer, $($e:tt)+) => {
        $crate::layers::layer_state!(@opt visit_state, as_ref, $($e)+)
    };
    (@mut param, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $f(format!("{}{}", $prefix, $name), $crate::layers::StateMut::Param(&mut $e))
    };
    (@mut opt_param, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        if let Some(p) = &mut $e {
            $f(format!("{}{}", $prefix, $name), $crate::layers::StateMut::Param(p))
        }
    };
    (@mut buffer, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $f(format!("{}{}", $prefix, $name), $crate::layers::StateMut::Buffer(&mut $e))
    };
    (@mut layer, $e:expr, $prefix:ident, $name:literal, $f:ident) => {
        $e.visit_state_mut(&format!("{}{}.", $prefix, $name), $f)
    };
    (@mut opt_layer, $($e:tt)+) => {
        $crate::layers::layer_state!(@opt visit_state_mut, as_mut, $($e)+)
    };
    (@opt $visit:ident, $as:ident, $s:ident . $field:ident $(. $sub:tt)?, $prefix:ident, $name:literal, $f:ident) => {
        if let Some(l) = $s.$field.$as() {
            l$(.$sub)?.$visit(&format!("{}{}.", $prefix, $name), $f)
        }
    };
    (@each param, $e:expr, $f:ident) => {
        $f(&mut $e)
    };
    (@each opt_param, $e:expr, $f:ident) => {
        if let Some(p) = &mut $e {
            $f(p)
        }
    };
    (@each buffer, $e:expr, $f:ident) => {};
    (@each layer, $e:expr, $f:ident) => {
        $e.for_each_param($f)
    };
    (@each opt_layer, $s:ident . $field:ident $(. $sub:tt)?, $f:ident) => {
        if let Some(l) = $s.$field.as_mut() {
            l$(.$sub)?.for_each_param($f)
        }
    };
}
pub(crate) use layer_state;

/// The arguments of a weight layer's backward pass (convolution, dense):
/// what the forward pass saw, and where the gradients go (`dx` resized to
/// the input's shape).
fn weight_backward<'a, T: Scalar>(
    weight: &'a mut Param<T>,
    bias: &'a mut Option<Param<T>>,
    x: &'a Tensor<T>,
    dy: &'a Tensor<T>,
    dx: Option<&'a mut Tensor<T>>,
) -> (BackwardIn<'a, T>, GradsOut<'a, T>) {
    let d_input = dx.map(|dx| {
        dx.resize_for(x.shape());
        dx.data_mut()
    });
    let inp = BackwardIn {
        x: x.data(),
        w: weight.value.data(),
        dy: dy.data(),
    };
    let grads = GradsOut {
        d_input,
        d_weight: weight.grad.data_mut(),
        d_bias: bias.as_mut().map(|b| b.grad.data_mut()),
    };
    (inp, grads)
}
