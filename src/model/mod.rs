//! `Sequential` models: a stack of layers with inferred shapes.
//!
//! Build one from a [`ModelSpec`] (code or file). Every layer's output shape
//! is inferred from the input shape at build time; a stack that cannot work
//! for the input fails with an error naming the layer. Activations and
//! gradients live in buffers owned by the model and reused across batches.

mod spec;
mod summary;

pub use spec::{LayerKind, LayerSpec, ModelSpec};
pub use summary::{Summary, SummaryRow};

use crate::error::{Error, Result};
use crate::layers::{BuildCtx, ForwardCtx, Kind, Layer, Param, StateMut, StateRef, count_params};
use crate::ops::conv::ConvAlgo;
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// A feed-forward stack of layers.
pub struct Sequential<T: Scalar = f32> {
    spec: ModelSpec,
    input: Vec<usize>,
    layers: Vec<Box<dyn Layer<T>>>,
    /// `acts[i]`: output of layer `i` in the last training-mode pass.
    acts: Vec<Tensor<T>>,
    /// An inference pass alternates between these two, so it holds two
    /// layer outputs at a time rather than one per layer (as PyTorch under
    /// `no_grad`), and leaves the training buffers at the training batch size.
    infer: [Tensor<T>; 2],
    /// `grads[i]`: gradient with respect to the output of layer `i`.
    grads: Vec<Tensor<T>>,
    /// Layers run by the last forward pass.
    ran: usize,
    /// Index of the lowest layer with trainable parameters.
    lowest_trainable: Option<usize>,
    /// Randomness of dropout.
    rng: SeededRng,
}

impl<T: Scalar> std::fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sequential({} layers, input {})",
            self.layers.len(),
            fmt_shape(&self.input)
        )
    }
}

impl ModelSpec {
    /// Builds the model, initialising parameters from `seed`.
    pub fn build<T: Scalar>(&self, seed: u64) -> Result<Sequential<T>> {
        Sequential::from_spec(self, seed)
    }
}

impl<T: Scalar> Sequential<T> {
    /// Starts a model description for per-sample inputs of shape `input`
    /// (e.g. `[1, 28, 28]`); finish it with `.build(seed)`.
    pub fn builder(input: impl Into<Vec<usize>>) -> ModelSpec {
        ModelSpec::new(input)
    }

    /// Builds a model from a spec, which must know its input shape.
    pub fn from_spec(spec: &ModelSpec, seed: u64) -> Result<Self> {
        let input = spec
            .input
            .clone()
            .ok_or_else(|| Error::Model("the input shape is not set (give `input = [c, h, w]` or data)".into()))?;
        if input.is_empty() || input.contains(&0) {
            return Err(Error::Model(format!(
                "input shape {} has an empty axis",
                fmt_shape(&input)
            )));
        }
        if spec.layers.is_empty() {
            return Err(Error::Model("a model needs at least one layer".into()));
        }
        let names = spec.layer_names()?;
        let mut root = SeededRng::new(seed);
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::with_capacity(spec.layers.len());
        let mut shape = input.clone();
        // Parameter bytes the model will hold in training (value, gradient and
        // two optimizer moments), checked against the budget layer by layer so
        // that many layers, each within the limit, cannot add up past it.
        let mut param_bytes: u128 = 0;
        for (index, (l, name)) in spec.layers.iter().zip(names).enumerate() {
            // Each layer draws from its own stream, so adding a layer does not
            // change how earlier ones are initialised.
            let mut rng = SeededRng::new(seed ^ (index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
            let ctx = BuildCtx {
                name: name.clone(),
                input: &shape,
                init: spec.init,
                rng: &mut rng,
            };
            let layer = l.kind.build::<T>(ctx).map_err(|e| Error::Layer {
                index,
                name: name.clone(),
                kind: l.kind.kind().as_str().to_string(),
                source: Box::new(e),
            })?;
            shape = layer.output_shape().to_vec();
            let (trainable, frozen) = count_params(layer.as_ref());
            param_bytes += crate::budget::param_bytes(trainable + frozen, std::mem::size_of::<T>());
            crate::budget::check(&format!("the parameters of layers 0 to {index}"), param_bytes)?;
            layers.push(layer);
        }
        let n = layers.len();
        let mut resolved = spec.clone();
        resolved.input = Some(input.clone());
        let mut model = Sequential {
            spec: resolved,
            input,
            layers,
            acts: (0..n).map(|_| Tensor::default()).collect(),
            infer: Default::default(),
            grads: (0..n).map(|_| Tensor::default()).collect(),
            ran: 0,
            lowest_trainable: None,
            rng: root.fork(0xD80_0417),
        };
        model.refresh_trainable();
        Ok(model)
    }

    /// The spec this model was built from, with its input shape set.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input
    }

    /// Per-sample output shape.
    pub fn output_shape(&self) -> &[usize] {
        self.layers.last().map_or(&self.input, |l| l.output_shape())
    }

    /// The layers, input to output.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// True when the last layer is a softmax: training then applies the loss
    /// to the logits before it.
    pub fn ends_with_softmax(&self) -> bool {
        self.layers.last().is_some_and(|l| l.kind() == Kind::Softmax)
    }

    /// Number of classes (outputs) of a classifier.
    pub fn n_outputs(&self) -> usize {
        self.output_shape().iter().product()
    }

    fn check_input(&self, x: &Tensor<T>) -> Result<()> {
        x.expect_batch_of("model input", &self.input)
    }

    fn run<'a>(&'a mut self, x: &'a Tensor<T>, train: bool, upto: usize) -> Result<&'a Tensor<T>> {
        self.check_input(x)?;
        let mut ctx = ForwardCtx {
            train,
            backward: train,
            rng: &mut self.rng,
        };
        if !train {
            // An inference pass keeps nothing for backward.
            self.ran = 0;
            let [a, b] = &mut self.infer;
            let (mut cur, mut next) = (a, b);
            for (i, layer) in self.layers[..upto].iter_mut().enumerate() {
                layer.forward(if i == 0 { x } else { cur }, next, &mut ctx);
                std::mem::swap(&mut cur, &mut next);
            }
            return Ok(if upto == 0 { x } else { cur });
        }
        for i in 0..upto {
            let (done, rest) = self.acts.split_at_mut(i);
            let input = if i == 0 { x } else { &done[i - 1] };
            self.layers[i].forward(input, &mut rest[0], &mut ctx);
        }
        self.ran = upto;
        Ok(if upto == 0 { x } else { &self.acts[upto - 1] })
    }

    /// Runs every layer; `train` selects dropout and batch-norm behaviour.
    /// Without `train` the pass is inference: blocks fuse batch norm and
    /// ReLU into their convolutions and keep nothing for [`Sequential::backward`],
    /// which then fails.
    pub fn forward<'a>(&'a mut self, x: &'a Tensor<T>, train: bool) -> Result<&'a Tensor<T>> {
        self.run(x, train, self.layers.len())
    }

    /// Runs every layer but a final softmax: the logits a loss expects.
    pub fn forward_logits<'a>(&'a mut self, x: &'a Tensor<T>, train: bool) -> Result<&'a Tensor<T>> {
        let upto = self.layers.len() - usize::from(self.ends_with_softmax());
        self.run(x, train, upto)
    }

    /// Evaluation-mode output for a batch (a copy).
    pub fn predict(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.forward(x, false).cloned()
    }

    /// Back-propagates `d_out`, the gradient with respect to the output of
    /// the last forward pass, through the layers it ran; parameter gradients
    /// are overwritten. `x` must be the input of that pass.
    pub fn backward(&mut self, x: &Tensor<T>, d_out: &Tensor<T>) -> Result<()> {
        let ran = self.ran;
        if ran == 0 {
            return Err(Error::invalid(
                "backward",
                "call forward in training mode first (an inference pass keeps nothing for backward)",
            ));
        }
        if d_out.shape() != self.acts[ran - 1].shape() {
            return Err(Error::shape(
                "backward output gradient",
                fmt_shape(self.acts[ran - 1].shape()),
                d_out.shape(),
            ));
        }
        // Layers below the lowest one with trainable parameters need no
        // gradients at all, and that one needs no input gradient.
        let Some(lowest) = self.lowest_trainable.filter(|&l| l < ran) else {
            return Ok(());
        };
        for i in (lowest..ran).rev() {
            let (g_lo, g_hi) = self.grads.split_at_mut(i);
            let dy = if i == ran - 1 { d_out } else { &g_hi[0] };
            let input = if i == 0 { x } else { &self.acts[i - 1] };
            let dx = if i > lowest { Some(&mut g_lo[i - 1]) } else { None };
            self.layers[i].backward(input, &self.acts[i], dy, dx);
        }
        Ok(())
    }

    /// Visits every parameter and buffer with its state-dict name
    /// (`conv1.weight`, `bn1.running_mean`, …).
    pub fn visit_state(&self, f: &mut dyn FnMut(String, StateRef<'_, T>)) {
        for l in &self.layers {
            l.visit_state(&format!("{}.", l.name()), f);
        }
    }

    /// Mutable form of [`Sequential::visit_state`].
    pub fn visit_state_mut(&mut self, f: &mut dyn FnMut(String, StateMut<'_, T>)) {
        for l in &mut self.layers {
            let prefix = format!("{}.", l.name());
            l.visit_state_mut(&prefix, f);
        }
        self.refresh_trainable();
    }

    fn refresh_trainable(&mut self) {
        self.lowest_trainable = self.layers.iter().position(|l| count_params(l.as_ref()).0 > 0);
    }

    /// Visits parameters in a fixed order (what optimizers iterate).
    pub fn for_each_param(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        for l in &mut self.layers {
            l.for_each_param(f);
        }
    }

    /// Parameter names in [`Sequential::for_each_param`] order.
    pub fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_state(&mut |name, s| {
            if let StateRef::Param(_) = s {
                names.push(name);
            }
        });
        names
    }

    /// Freezes (or unfreezes) every parameter whose name starts with
    /// `prefix` (`"conv"`, `"fc1."`, `""` for all); returns how many tensors
    /// changed. Frozen parameters are not updated by optimizers.
    pub fn set_frozen(&mut self, prefix: &str, frozen: bool) -> usize {
        let mut count = 0;
        self.visit_state_mut(&mut |name, s| {
            if let StateMut::Param(p) = s
                && name.starts_with(prefix)
            {
                p.frozen = frozen;
                count += 1;
            }
        });
        count
    }

    /// Picks the convolution kernel of every convolution.
    pub fn set_conv_algo(&mut self, algo: ConvAlgo) {
        for l in &mut self.layers {
            l.set_conv_algo(algo);
        }
    }

    /// (trainable, frozen) parameter counts.
    pub fn param_counts(&self) -> (usize, usize) {
        self.layers.iter().fold((0, 0), |acc, l| {
            let (t, f) = count_params(l.as_ref());
            (acc.0 + t, acc.1 + f)
        })
    }

    /// Multiply-accumulates of one sample's forward pass.
    pub fn macs_per_sample(&self) -> usize {
        self.layers.iter().map(|l| l.macs_per_sample()).sum()
    }

    /// State of the dropout random generator (for checkpoints).
    pub fn rng_state(&self) -> &SeededRng {
        &self.rng
    }

    /// Restores the dropout random generator (from a checkpoint).
    pub fn set_rng_state(&mut self, rng: SeededRng) {
        self.rng = rng;
    }

    /// The Keras-style table of layers, output shapes and parameter counts.
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }
}
