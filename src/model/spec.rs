//! Model descriptions: what a model file holds, and the builder used from code.
//!
//! A [`ModelSpec`] lists layers with their parameters. It is built from code
//! (`ModelSpec::new([1, 28, 28]).conv2d(…).relu()…`) or read from TOML/JSON:
//!
//! ```toml
//! name = "fashion_convnet"
//! input = [1, 28, 28]          # optional: taken from the data when absent
//! [[layers]]
//! type = "conv2d"
//! filters = 32
//! kernel = 3
//! [[layers]]
//! type = "max_pool2d"
//! kernel = 2
//! [[layers]]
//! type = "flatten"
//! [[layers]]
//! type = "dense"
//! units = 10
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::{
    ActivationLayer, AdaptivePool2dConfig, BatchNormConfig, BottleneckConfig, BuildCtx, Conv1dConfig, Conv2dConfig,
    DenseConfig, DropoutConfig, EluConfig, Flatten, GlobalPool, Kind, Layer, LeakyReluConfig, Pool1dConfig,
    Pool2dConfig, ResidualConfig, Softmax,
};
use crate::ops::activation::Activation;
use crate::ops::pool::PoolKind;
use crate::scalar::Scalar;

/// One layer of a model file: its type and parameters, and an optional name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Name used in summaries and parameter names (`conv1` → `conv1.weight`);
    /// generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The layer's type (the `type` key of a model file) and its settings.
    #[serde(flatten)]
    pub kind: LayerKind,
}

/// The layer types and their parameters.
///
/// The serde tag of each variant is its [`Kind::as_str`] (checked by a test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerKind {
    /// 1-D convolution over `[c, l]` signals (`nn.Conv1d`); `type = "conv1d"`.
    Conv1d(Conv1dConfig),
    /// 2-D convolution over `[c, h, w]` images (`nn.Conv2d`, Keras `Conv2D`); `type = "conv2d"`.
    Conv2d(Conv2dConfig),
    /// 1-D max pooling (`nn.MaxPool1d`); `type = "max_pool1d"`.
    MaxPool1d(Pool1dConfig),
    /// 1-D average pooling (`nn.AvgPool1d`); `type = "avg_pool1d"`.
    AvgPool1d(Pool1dConfig),
    /// 2-D max pooling (`nn.MaxPool2d`, Keras `MaxPooling2D`); `type = "max_pool2d"`.
    MaxPool2d(Pool2dConfig),
    /// 2-D average pooling (`nn.AvgPool2d`, Keras `AveragePooling2D`); `type = "avg_pool2d"`.
    AvgPool2d(Pool2dConfig),
    /// Mean over every spatial position, `[c, …]` → `[c]` (Keras `GlobalAveragePooling2D`, `nn.AdaptiveAvgPool2d(1)` + flatten).
    GlobalAvgPool,
    /// Maximum over every spatial position, `[c, …]` → `[c]` (Keras `GlobalMaxPooling2D`).
    GlobalMaxPool,
    /// `nn.AdaptiveAvgPool2d(output)`.
    AdaptiveAvgPool2d(AdaptivePool2dConfig),
    /// `nn.AdaptiveMaxPool2d(output)`.
    AdaptiveMaxPool2d(AdaptivePool2dConfig),
    /// fastai's `AdaptiveConcatPool2d(output)`: max, then average, along channels.
    AdaptiveConcatPool2d(AdaptivePool2dConfig),
    /// Fully connected layer (`nn.Linear`, Keras `Dense`) over flat `[in]` inputs.
    Dense(DenseConfig),
    /// Flattens each sample to a vector, `[c, h, w]` → `[c·h·w]` (`nn.Flatten`).
    Flatten,
    /// `max(x, 0)` elementwise (`nn.ReLU`).
    Relu,
    /// `x` for `x > 0`, `slope · x` otherwise (`nn.LeakyReLU`).
    LeakyRelu(LeakyReluConfig),
    /// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise (`nn.ELU`).
    Elu(EluConfig),
    /// `1 / (1 + e⁻ˣ)` elementwise (`nn.Sigmoid`).
    Sigmoid,
    /// Hyperbolic tangent elementwise (`nn.Tanh`).
    Tanh,
    /// Softmax over the feature (channel) axis (`nn.Softmax(dim=1)`); as the last layer, training uses the logits before it.
    Softmax,
    /// Zeroes elements with probability `p` in training and scales the rest by `1/(1 − p)` (`nn.Dropout`); identity in evaluation.
    Dropout(DropoutConfig),
    /// Batch normalisation of `[f]` features or `[c, l]` signals per channel (`nn.BatchNorm1d`).
    BatchNorm1d(BatchNormConfig),
    /// Batch normalisation of `[c, h, w]` images per channel (`nn.BatchNorm2d`).
    BatchNorm2d(BatchNormConfig),
    /// A ResNet basic block (torchvision's `BasicBlock`).
    Residual(ResidualConfig),
    /// torchvision's `Bottleneck` block (ResNet-50 and deeper).
    Bottleneck(BottleneckConfig),
}

impl LayerKind {
    /// The type of the layer, without its settings; its
    /// [`Kind::as_str`] is the `type` of the layer in model files.
    pub fn kind(&self) -> Kind {
        match self {
            LayerKind::Conv1d(_) => Kind::Conv1d,
            LayerKind::Conv2d(_) => Kind::Conv2d,
            LayerKind::MaxPool1d(_) => Kind::MaxPool1d,
            LayerKind::AvgPool1d(_) => Kind::AvgPool1d,
            LayerKind::MaxPool2d(_) => Kind::MaxPool2d,
            LayerKind::AvgPool2d(_) => Kind::AvgPool2d,
            LayerKind::GlobalAvgPool => Kind::GlobalAvgPool,
            LayerKind::GlobalMaxPool => Kind::GlobalMaxPool,
            LayerKind::AdaptiveAvgPool2d(_) => Kind::AdaptiveAvgPool2d,
            LayerKind::AdaptiveMaxPool2d(_) => Kind::AdaptiveMaxPool2d,
            LayerKind::AdaptiveConcatPool2d(_) => Kind::AdaptiveConcatPool2d,
            LayerKind::Dense(_) => Kind::Dense,
            LayerKind::Flatten => Kind::Flatten,
            LayerKind::Relu => Kind::Relu,
            LayerKind::LeakyRelu(_) => Kind::LeakyRelu,
            LayerKind::Elu(_) => Kind::Elu,
            LayerKind::Sigmoid => Kind::Sigmoid,
            LayerKind::Tanh => Kind::Tanh,
            LayerKind::Softmax => Kind::Softmax,
            LayerKind::Dropout(_) => Kind::Dropout,
            LayerKind::BatchNorm1d(_) => Kind::BatchNorm1d,
            LayerKind::BatchNorm2d(_) => Kind::BatchNorm2d,
            LayerKind::Residual(_) => Kind::Residual,
            LayerKind::Bottleneck(_) => Kind::Bottleneck,
        }
    }

    /// Builds the layer for a per-sample input shape.
    pub fn build<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<Box<dyn Layer<T>>> {
        let act = |f: Activation, ctx: BuildCtx<'_>| -> Box<dyn Layer<T>> { Box::new(ActivationLayer::new(f, ctx)) };
        Ok(match self {
            LayerKind::Conv1d(c) => Box::new(c.init::<T>(ctx)?),
            LayerKind::Conv2d(c) => Box::new(c.init::<T>(ctx)?),
            LayerKind::MaxPool1d(c) => Box::new(c.init::<T>(PoolKind::Max, ctx)?),
            LayerKind::AvgPool1d(c) => Box::new(c.init::<T>(PoolKind::Avg, ctx)?),
            LayerKind::MaxPool2d(c) => Box::new(c.init::<T>(PoolKind::Max, ctx)?),
            LayerKind::AvgPool2d(c) => Box::new(c.init::<T>(PoolKind::Avg, ctx)?),
            LayerKind::GlobalAvgPool => Box::new(GlobalPool::<T>::new(PoolKind::Avg, ctx)?),
            LayerKind::GlobalMaxPool => Box::new(GlobalPool::<T>::new(PoolKind::Max, ctx)?),
            LayerKind::AdaptiveAvgPool2d(c) | LayerKind::AdaptiveMaxPool2d(c) | LayerKind::AdaptiveConcatPool2d(c) => {
                Box::new(c.init::<T>(self.kind(), ctx)?)
            }
            LayerKind::Dense(c) => Box::new(c.init::<T>(ctx)?),
            LayerKind::Flatten => Box::new(Flatten::new(ctx)),
            LayerKind::Relu => act(Activation::Relu, ctx),
            LayerKind::LeakyRelu(c) => act(Activation::LeakyRelu { slope: c.slope }, ctx),
            LayerKind::Elu(c) => act(Activation::Elu { alpha: c.alpha }, ctx),
            LayerKind::Sigmoid => act(Activation::Sigmoid, ctx),
            LayerKind::Tanh => act(Activation::Tanh, ctx),
            LayerKind::Softmax => Box::new(Softmax::new(ctx)?),
            LayerKind::Dropout(c) => Box::new(c.init(ctx)?),
            LayerKind::BatchNorm1d(c) => Box::new(c.init_1d::<T>(ctx)?),
            LayerKind::BatchNorm2d(c) => Box::new(c.init_2d::<T>(ctx)?),
            LayerKind::Residual(c) => Box::new(c.init::<T>(ctx)?),
            LayerKind::Bottleneck(c) => Box::new(c.init::<T>(ctx)?),
        })
    }
}

/// A model: input shape, initialisation and layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Name of the model, shown in summaries and reports; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Per-sample input shape, e.g. `[1, 28, 28]`; when absent the data decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<usize>>,
    /// How weights are initialised; default [`Init::Torch`], PyTorch's.
    #[serde(default)]
    pub init: Init,
    /// The layers, input to output.
    pub layers: Vec<LayerSpec>,
}

macro_rules! unit_layers {
    ($($(#[$doc:meta])* $fn:ident => $kind:ident),* $(,)?) => {
        $( $(#[$doc])* pub fn $fn(self) -> Self { self.layer(LayerKind::$kind) } )*
    };
}

impl ModelSpec {
    /// An empty model for per-sample inputs of `input` shape.
    pub fn new(input: impl Into<Vec<usize>>) -> Self {
        ModelSpec {
            name: None,
            input: Some(input.into()),
            init: Init::Torch,
            layers: Vec::new(),
        }
    }

    /// An empty model whose input shape comes later (from data).
    pub fn without_input() -> Self {
        ModelSpec {
            name: None,
            input: None,
            init: Init::Torch,
            layers: Vec::new(),
        }
    }

    /// Sets the model's name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the weight initialisation scheme.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Sets the per-sample input shape (e.g. `[1, 28, 28]`).
    pub fn with_input(mut self, input: impl Into<Vec<usize>>) -> Self {
        self.input = Some(input.into());
        self
    }

    /// Appends a layer.
    pub fn layer(mut self, kind: LayerKind) -> Self {
        self.layers.push(LayerSpec { name: None, kind });
        self
    }

    /// Names the last layer added (its parameters become `name.weight`, …).
    pub fn name_last(mut self, name: impl Into<String>) -> Self {
        if let Some(l) = self.layers.last_mut() {
            l.name = Some(name.into());
        }
        self
    }

    /// Appends a 2-D convolution.
    pub fn conv2d(self, c: Conv2dConfig) -> Self {
        self.layer(LayerKind::Conv2d(c))
    }

    /// Appends a 1-D convolution.
    pub fn conv1d(self, c: Conv1dConfig) -> Self {
        self.layer(LayerKind::Conv1d(c))
    }

    /// `MaxPool2d(kernel)` with stride = kernel.
    pub fn max_pool2d(self, kernel: usize) -> Self {
        self.layer(LayerKind::MaxPool2d(Pool2dConfig::new(kernel)))
    }

    /// Appends a 2-D max pooling with explicit settings.
    pub fn max_pool2d_with(self, c: Pool2dConfig) -> Self {
        self.layer(LayerKind::MaxPool2d(c))
    }

    /// `AvgPool2d(kernel)` with stride = kernel.
    pub fn avg_pool2d(self, kernel: usize) -> Self {
        self.layer(LayerKind::AvgPool2d(Pool2dConfig::new(kernel)))
    }

    /// Appends a 2-D average pooling with explicit settings.
    pub fn avg_pool2d_with(self, c: Pool2dConfig) -> Self {
        self.layer(LayerKind::AvgPool2d(c))
    }

    /// `MaxPool1d(kernel)` with stride = kernel.
    pub fn max_pool1d(self, kernel: usize) -> Self {
        self.layer(LayerKind::MaxPool1d(Pool1dConfig::new(kernel)))
    }

    /// `AvgPool1d(kernel)` with stride = kernel.
    pub fn avg_pool1d(self, kernel: usize) -> Self {
        self.layer(LayerKind::AvgPool1d(Pool1dConfig::new(kernel)))
    }

    /// `Dense(units)` with bias.
    pub fn dense(self, units: usize) -> Self {
        self.layer(LayerKind::Dense(DenseConfig::new(units)))
    }

    /// `LeakyReLU` with `slope` for negative inputs (PyTorch's default 0.01).
    pub fn leaky_relu(self, slope: f64) -> Self {
        self.layer(LayerKind::LeakyRelu(LeakyReluConfig { slope }))
    }

    /// `ELU` with scale `alpha` of the negative branch (PyTorch's default 1).
    pub fn elu(self, alpha: f64) -> Self {
        self.layer(LayerKind::Elu(EluConfig { alpha }))
    }

    /// `Dropout(p)`: zeroes elements with probability `p` in training.
    pub fn dropout(self, p: f64) -> Self {
        self.layer(LayerKind::Dropout(DropoutConfig::new(p)))
    }

    /// `BatchNorm1d` with PyTorch's defaults (`eps = 1e-5`, `momentum = 0.1`).
    pub fn batch_norm1d(self) -> Self {
        self.layer(LayerKind::BatchNorm1d(BatchNormConfig::default()))
    }

    /// `BatchNorm2d` with PyTorch's defaults (`eps = 1e-5`, `momentum = 0.1`).
    pub fn batch_norm2d(self) -> Self {
        self.layer(LayerKind::BatchNorm2d(BatchNormConfig::default()))
    }

    /// Appends a residual block.
    pub fn residual(self, c: ResidualConfig) -> Self {
        self.layer(LayerKind::Residual(c))
    }

    /// A ResNet bottleneck block.
    pub fn bottleneck(self, c: BottleneckConfig) -> Self {
        self.layer(LayerKind::Bottleneck(c))
    }

    /// `AdaptiveAvgPool2d([out_h, out_w])`.
    pub fn adaptive_avg_pool2d(self, output: [usize; 2]) -> Self {
        self.layer(LayerKind::AdaptiveAvgPool2d(AdaptivePool2dConfig::new(output)))
    }

    /// `AdaptiveMaxPool2d([out_h, out_w])`.
    pub fn adaptive_max_pool2d(self, output: [usize; 2]) -> Self {
        self.layer(LayerKind::AdaptiveMaxPool2d(AdaptivePool2dConfig::new(output)))
    }

    /// fastai's `AdaptiveConcatPool2d`: max then average pooling to
    /// `[out_h, out_w]`, concatenated along channels.
    pub fn adaptive_concat_pool2d(self, output: [usize; 2]) -> Self {
        self.layer(LayerKind::AdaptiveConcatPool2d(AdaptivePool2dConfig::new(output)))
    }

    unit_layers! {
        /// Flattens each sample to a vector.
        flatten => Flatten,
        /// Appends a `ReLU`.
        relu => Relu,
        /// Appends a logistic `Sigmoid`.
        sigmoid => Sigmoid,
        /// Appends a `Tanh`.
        tanh => Tanh,
        /// Softmax over features; as the last layer, training uses the logits before it.
        softmax => Softmax,
        /// Appends a global average pooling, `[c, …]` → `[c]`.
        global_avg_pool => GlobalAvgPool,
        /// Appends a global max pooling, `[c, …]` → `[c]`.
        global_max_pool => GlobalMaxPool,
    }

    /// Reads a model file (`.toml` or `.json`, by extension); a syntax error
    /// is one line that names the file once and the line of it.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "json" => Self::from_json(&text).map_err(|e| Error::format(path, e.to_string())),
            "toml" => toml::from_str(&text).map_err(|e| Error::format(path, Error::toml_message(&text, &e))),
            _ => Err(Error::format(path, "model files must end in .toml or .json")),
        }
    }

    /// Parses a model from TOML text (the layout in the module docs).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Model(Error::toml_message(text, &e)))
    }

    /// Parses a model from JSON text (the same fields as TOML).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Model(e.to_string()))
    }

    /// The model as TOML text, as [`ModelSpec::from_toml`] reads it.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise model: {e}\n"))
    }

    /// The model as pretty-printed JSON text, as [`ModelSpec::from_json`] reads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Rank of the per-sample input the model takes: the input shape's
    /// length when set, else what the first layer needs (3 for 2-D layers,
    /// 2 for 1-D layers, 1 for dense layers); `None` when it cannot tell.
    pub fn input_rank(&self) -> Option<usize> {
        if let Some(i) = &self.input {
            return Some(i.len());
        }
        self.layers.iter().find_map(|l| l.kind.kind().input_rank())
    }

    /// Layer names, generated where the spec gives none: convolutions
    /// `conv1, conv2, …`, dense layers `fc1, …`, batch norms `bn1, …`,
    /// residual blocks `block1, …`, pools `pool1, …`, activations `relu1, …`.
    pub fn layer_names(&self) -> Result<Vec<String>> {
        let mut counts = std::collections::HashMap::<&str, usize>::new();
        let mut names = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let stem = l.kind.kind().name_stem();
            let c = counts.entry(stem).or_insert(0);
            *c += 1;
            names.push(l.name.clone().unwrap_or_else(|| format!("{stem}{c}")));
        }
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            if !seen.insert(n.as_str()) {
                return Err(Error::Model(format!("two layers are named {n:?}")));
            }
        }
        Ok(names)
    }
}
