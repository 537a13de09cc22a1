//! The one vocabulary of layer types: [`Kind`].
//!
//! A model file's `type = "conv2d"` ([`Kind::as_str`]), the summary's
//! `(Conv2d)` ([`Kind::display_name`]), the stem of generated layer names
//! (`conv1`) and the input rank a first layer implies all come from here.

use crate::ops::pool::PoolKind;

/// The type of a layer, without its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 1-D convolution over `[c, l]` signals.
    Conv1d,
    /// 2-D convolution over `[c, h, w]` images.
    Conv2d,
    /// 1-D max pooling.
    MaxPool1d,
    /// 1-D average pooling.
    AvgPool1d,
    /// 2-D max pooling.
    MaxPool2d,
    /// 2-D average pooling.
    AvgPool2d,
    /// Average over all spatial positions.
    GlobalAvgPool,
    /// Maximum over all spatial positions.
    GlobalMaxPool,
    /// Average pooling to a fixed output size (`nn.AdaptiveAvgPool2d`).
    AdaptiveAvgPool2d,
    /// Max pooling to a fixed output size (`nn.AdaptiveMaxPool2d`).
    AdaptiveMaxPool2d,
    /// fastai's `AdaptiveConcatPool2d`: adaptive max and average pooling, concatenated along channels.
    AdaptiveConcatPool2d,
    /// Fully connected layer.
    Dense,
    /// Reshape of each sample to a vector.
    Flatten,
    /// `max(x, 0)`.
    Relu,
    /// ReLU with a slope for negative inputs.
    LeakyRelu,
    /// Exponential linear unit.
    Elu,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over the channel/feature axis.
    Softmax,
    /// Inverted dropout.
    Dropout,
    /// Batch normalisation of `[f]` or `[c, l]` samples.
    BatchNorm1d,
    /// Batch normalisation of `[c, h, w]` samples.
    BatchNorm2d,
    /// ResNet basic block.
    Residual,
    /// ResNet bottleneck block (1×1, 3×3, 1×1 convolutions).
    Bottleneck,
}

impl Kind {
    /// Every kind, in model-file documentation order.
    pub const ALL: [Kind; 24] = [
        Kind::Conv1d,
        Kind::Conv2d,
        Kind::MaxPool1d,
        Kind::AvgPool1d,
        Kind::MaxPool2d,
        Kind::AvgPool2d,
        Kind::GlobalAvgPool,
        Kind::GlobalMaxPool,
        Kind::AdaptiveAvgPool2d,
        Kind::AdaptiveMaxPool2d,
        Kind::AdaptiveConcatPool2d,
        Kind::Dense,
        Kind::Flatten,
        Kind::Relu,
        Kind::LeakyRelu,
        Kind::Elu,
        Kind::Sigmoid,
        Kind::Tanh,
        Kind::Softmax,
        Kind::Dropout,
        Kind::BatchNorm1d,
        Kind::BatchNorm2d,
        Kind::Residual,
        Kind::Bottleneck,
    ];

    /// The `type` of the layer in model files (the serde tag), e.g. `conv2d`.
    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    /// The name shown in summaries and error messages, e.g. `Conv2d`, `ReLU`.
    pub fn display_name(self) -> &'static str {
        self.names().1
    }

    /// (model-file tag, display name).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Conv1d => ("conv1d", "Conv1d"),
            Kind::Conv2d => ("conv2d", "Conv2d"),
            Kind::MaxPool1d => ("max_pool1d", "MaxPool1d"),
            Kind::AvgPool1d => ("avg_pool1d", "AvgPool1d"),
            Kind::MaxPool2d => ("max_pool2d", "MaxPool2d"),
            Kind::AvgPool2d => ("avg_pool2d", "AvgPool2d"),
            Kind::GlobalAvgPool => ("global_avg_pool", "GlobalAvgPool"),
            Kind::GlobalMaxPool => ("global_max_pool", "GlobalMaxPool"),
            Kind::AdaptiveAvgPool2d => ("adaptive_avg_pool2d", "AdaptiveAvgPool2d"),
            Kind::AdaptiveMaxPool2d => ("adaptive_max_pool2d", "AdaptiveMaxPool2d"),
            Kind::AdaptiveConcatPool2d => ("adaptive_concat_pool2d", "AdaptiveConcatPool2d"),
            Kind::Dense => ("dense", "Dense"),
            Kind::Flatten => ("flatten", "Flatten"),
            Kind::Relu => ("relu", "ReLU"),
            Kind::LeakyRelu => ("leaky_relu", "LeakyReLU"),
            Kind::Elu => ("elu", "ELU"),
            Kind::Sigmoid => ("sigmoid", "Sigmoid"),
            Kind::Tanh => ("tanh", "Tanh"),
            Kind::Softmax => ("softmax", "Softmax"),
            Kind::Dropout => ("dropout", "Dropout"),
            Kind::BatchNorm1d => ("batch_norm1d", "BatchNorm1d"),
            Kind::BatchNorm2d => ("batch_norm2d", "BatchNorm2d"),
            Kind::Residual => ("residual", "Residual"),
            Kind::Bottleneck => ("bottleneck", "Bottleneck"),
        }
    }

    /// Prefix of generated layer names: `conv1`, `fc2`, `bn1`, `pool1`, `relu1`, …
    pub fn name_stem(self) -> &'static str {
        match self {
            Kind::Conv1d | Kind::Conv2d => "conv",
            Kind::MaxPool1d
            | Kind::AvgPool1d
            | Kind::MaxPool2d
            | Kind::AvgPool2d
            | Kind::GlobalAvgPool
            | Kind::GlobalMaxPool
            | Kind::AdaptiveAvgPool2d
            | Kind::AdaptiveMaxPool2d
            | Kind::AdaptiveConcatPool2d => "pool",
            Kind::Dense => "fc",
            Kind::BatchNorm1d | Kind::BatchNorm2d => "bn",
            Kind::Residual | Kind::Bottleneck => "block",
            Kind::Flatten
            | Kind::Relu
            | Kind::LeakyRelu
            | Kind::Elu
            | Kind::Sigmoid
            | Kind::Tanh
            | Kind::Softmax
            | Kind::Dropout => self.as_str(),
        }
    }

    /// Rank of the per-sample input this kind needs as a first layer (3 for
    /// 2-D layers, 2 for 1-D layers, 1 for dense layers); `None` when any
    /// rank will do.
    pub fn input_rank(self) -> Option<usize> {
        match self {
            Kind::Conv2d
            | Kind::MaxPool2d
            | Kind::AvgPool2d
            | Kind::AdaptiveAvgPool2d
            | Kind::AdaptiveMaxPool2d
            | Kind::AdaptiveConcatPool2d
            | Kind::BatchNorm2d
            | Kind::Residual
            | Kind::Bottleneck => Some(3),
            Kind::Conv1d | Kind::MaxPool1d | Kind::AvgPool1d => Some(2),
            Kind::Dense => Some(1),
            _ => None,
        }
    }

    /// The pooling layer of `pool` type over 1-D signals or 2-D images.
    pub fn pool(pool: PoolKind, one_d: bool) -> Kind {
        match (pool, one_d) {
            (PoolKind::Max, false) => Kind::MaxPool2d,
            (PoolKind::Avg, false) => Kind::AvgPool2d,
            (PoolKind::Max, true) => Kind::MaxPool1d,
            (PoolKind::Avg, true) => Kind::AvgPool1d,
        }
    }
}

impl std::fmt::Display for Kind {
    /// The display name (`Conv2d`, `ReLU`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}
