//! Built-in models: the course models, LeNet-5, VGG and ResNet.
//!
//! Each function returns a [`ModelSpec`] for a per-sample input shape and a
//! number of classes; [`by_name`] looks one up by the name the command line
//! uses. Parameter names follow the PyTorch definitions the course and the
//! benchmarks use (`conv1`, `fc1`, …; torchvision's names for ResNet).

use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::{BottleneckConfig, Conv1dConfig, Conv2dConfig, Pool2dConfig, ResidualConfig};
use crate::model::ModelSpec;
use crate::ops::conv::Padding;

/// Names accepted by [`by_name`], with one line of description each.
pub const MODELS: &[(&str, &str)] = &[
    (
        "jet_cnn",
        "course CNN for jet images: conv 5@5x5, pool, conv 10@5x5, pool, dense 30-20-10 (20x20: 3,505 params)",
    ),
    (
        "fashion_convnet",
        "Fashion-MNIST ConvNet: conv 32@3x3, pool, conv 64@3x3, pool, dense 128 (225,034 params)",
    ),
    (
        "lenet5",
        "LeNet-5 on 32x32: conv 6@5x5, pool, conv 16@5x5, pool, dense 120-84 (61,706 params)",
    ),
    (
        "keras_small",
        "Keras course model: conv 4@7x7 same + ReLU, pool, dense 8 ReLU, dense 10 softmax",
    ),
    (
        "vgg11",
        "VGG-11 with batch norm for small images (CIFAR style, one dense classifier)",
    ),
    (
        "resnet18",
        "ResNet-18 (torchvision layout, stem adapted to the input channels)",
    ),
    (
        "resnet34",
        "ResNet-34 (torchvision layout and names: basic blocks 3-4-6-3)",
    ),
    (
        "resnet50",
        "ResNet-50 (torchvision v1.5 layout and names: bottleneck blocks 3-4-6-3, stride on the 3x3)",
    ),
    (
        "alexnet",
        "AlexNet (torchvision layout and names: features, avgpool 6x6, classifier)",
    ),
    (
        "vgg16",
        "VGG-16 (torchvision layout and names: features, avgpool 7x7, classifier)",
    ),
    ("vgg16_bn", "VGG-16 with batch norm (torchvision layout and names)"),
    (
        "fcn1d",
        "Fully Convolutional Network for time series (Wang et al. 2017): 128-256-128, kernels 8-5-3",
    ),
    ("lenet1d", "small LeNet-like 1-D CNN for time series"),
];

/// The course's seed CNN for jet images (M1 in the benchmarks).
pub fn jet_cnn(input: &[usize], classes: usize) -> ModelSpec {
    ModelSpec::new(input)
        .named("jet_cnn")
        .conv2d(Conv2dConfig::new(5, 5))
        .relu()
        .max_pool2d(2)
        .conv2d(Conv2dConfig::new(10, 5))
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(30)
        .relu()
        .dense(20)
        .relu()
        .dense(10)
        .relu()
        .dense(classes)
}

/// The Fashion-MNIST ConvNet of the course (M2): no activation after the
/// convolutions, as in the reference.
pub fn fashion_convnet(input: &[usize], classes: usize) -> ModelSpec {
    ModelSpec::new(input)
        .named("fashion_convnet")
        .conv2d(Conv2dConfig::new(32, 3))
        .max_pool2d(2)
        .conv2d(Conv2dConfig::new(64, 3))
        .max_pool2d(2)
        .flatten()
        .dense(128)
        .relu()
        .dense(classes)
}

/// LeNet-5 as in Keras tutorials (M3): ReLU and max pooling.
pub fn lenet5(input: &[usize], classes: usize) -> ModelSpec {
    ModelSpec::new(input)
        .named("lenet5")
        .conv2d(Conv2dConfig::new(6, 5))
        .relu()
        .max_pool2d(2)
        .conv2d(Conv2dConfig::new(16, 5))
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(120)
        .relu()
        .dense(84)
        .relu()
        .dense(classes)
}

/// The small Keras model of the course, Glorot-initialised like Keras.
pub fn keras_small(input: &[usize], classes: usize) -> ModelSpec {
    ModelSpec::new(input)
        .named("keras_small")
        .with_init(Init::Glorot)
        .conv2d(Conv2dConfig::new(4, 7).with_padding(Padding::Same))
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(8)
        .relu()
        .dense(classes)
        .softmax()
}

/// VGG-11 with batch norm, CIFAR style: 3×3 convolutions padded by 1 in
/// blocks of 64, 128, 256×2, 512×2, 512×2 with 2×2 pooling after each block
/// (skipped once the image is 1 pixel), then global average pooling and one
/// dense classifier.
pub fn vgg11(input: &[usize], classes: usize) -> ModelSpec {
    let mut spec = ModelSpec::new(input).named("vgg11").with_init(Init::KaimingNormal);
    let mut size = input
        .get(1)
        .copied()
        .unwrap_or(1)
        .min(input.get(2).copied().unwrap_or(1));
    for block in [&[64][..], &[128], &[256, 256], &[512, 512], &[512, 512]] {
        for &filters in block {
            spec = spec
                .conv2d(Conv2dConfig::new(filters, 3).with_padding(Padding::symmetric(1)))
                .batch_norm2d()
                .relu();
        }
        if size >= 2 {
            spec = spec.max_pool2d(2);
            size /= 2;
        }
    }
    spec.global_avg_pool().dense(classes)
}

/// ResNet-18 in torchvision's layout (M4): a 7×7/2 stem without bias, batch
/// norm, ReLU, 3×3/2 max pooling, four stages of two basic blocks (64, 128,
/// 256, 512 filters), global average pooling and `fc`.
pub fn resnet18(input: &[usize], classes: usize) -> ModelSpec {
    resnet_with(
        "resnet18",
        input,
        classes,
        Block::Basic,
        [2, 2, 2, 2],
        [64, 128, 256, 512],
    )
}

/// ResNet-34 in torchvision's layout: as [`resnet18`] with 3, 4, 6, 3 basic blocks.
pub fn resnet34(input: &[usize], classes: usize) -> ModelSpec {
    resnet_with(
        "resnet34",
        input,
        classes,
        Block::Basic,
        [3, 4, 6, 3],
        [64, 128, 256, 512],
    )
}

/// ResNet-50 in torchvision's v1.5 layout: 3, 4, 6, 3 bottleneck blocks
/// (stride on the 3×3 convolution) of 64…512 planes, 2,048 features.
pub fn resnet50(input: &[usize], classes: usize) -> ModelSpec {
    resnet_with(
        "resnet50",
        input,
        classes,
        Block::Bottleneck,
        [3, 4, 6, 3],
        [64, 128, 256, 512],
    )
}

/// The residual block of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Two 3×3 convolutions (ResNet-18/34).
    Basic,
    /// 1×1, 3×3, 1×1 convolutions with expansion 4 (ResNet-50 and deeper).
    Bottleneck,
}

/// A ResNet in torchvision's layout and names with `depths[i]` blocks of
/// `widths[i]` planes in stage `i`; the stem has `widths[0]` filters, as
/// torchvision's (64). Smaller widths give the same names with fewer
/// parameters (the reference fixtures use them).
pub fn resnet_with(
    name: &str,
    input: &[usize],
    classes: usize,
    block: Block,
    depths: [usize; 4],
    widths: [usize; 4],
) -> ModelSpec {
    let mut spec = ModelSpec::new(input)
        .named(name)
        .with_init(Init::KaimingNormal)
        .conv2d(
            Conv2dConfig::new(widths[0], 7)
                .with_stride(2)
                .with_padding(Padding::symmetric(3))
                .with_bias(false),
        )
        .name_last("conv1")
        .batch_norm2d()
        .name_last("bn1")
        .relu()
        .name_last("relu")
        .max_pool2d_with(Pool2dConfig::new(3).with_stride(2).with_padding(1))
        .name_last("maxpool");
    for (stage, (&planes, &depth)) in widths.iter().zip(&depths).enumerate() {
        for index in 0..depth {
            let stride = if stage > 0 && index == 0 { 2 } else { 1 };
            spec = match block {
                Block::Basic => spec.residual(ResidualConfig::new(planes).with_stride(stride)),
                Block::Bottleneck => spec.bottleneck(BottleneckConfig::new(planes).with_stride(stride)),
            }
            .name_last(format!("layer{}.{index}", stage + 1));
        }
    }
    spec.global_avg_pool()
        .name_last("avgpool")
        .dense(classes)
        .name_last("fc")
}

/// AlexNet in torchvision's layout and names (`features.0` … `features.10`,
/// `avgpool` to 6×6, `classifier.1/4/6` with dropout 0.5).
pub fn alexnet(input: &[usize], classes: usize) -> ModelSpec {
    alexnet_with(input, classes, [64, 192, 384, 256, 256], 4096)
}

/// [`alexnet`] with other convolution widths and hidden units. On small
/// images (40×40) a 3×3/2 max pooling that finds less than 3×3 pixels is
/// left out, as it would fail; its index stays unused, so names still match.
pub fn alexnet_with(input: &[usize], classes: usize, widths: [usize; 5], hidden: usize) -> ModelSpec {
    let mut spec = ModelSpec::new(input).named("alexnet");
    let mut size = min_hw(input);
    let pool = |spec: ModelSpec, index: usize, size: &mut usize| {
        if *size < 3 {
            return spec;
        }
        *size = (*size - 3) / 2 + 1;
        spec.max_pool2d_with(Pool2dConfig::new(3).with_stride(2))
            .name_last(format!("features.{index}"))
    };
    // (index, filters, kernel, stride, padding, max pooling after it)
    let convs = [
        (0, widths[0], 11, 4, 2, true),
        (3, widths[1], 5, 1, 2, true),
        (6, widths[2], 3, 1, 1, false),
        (8, widths[3], 3, 1, 1, false),
        (10, widths[4], 3, 1, 1, true),
    ];
    for (index, filters, kernel, stride, padding, pooled) in convs {
        let conv = Conv2dConfig::new(filters, kernel)
            .with_stride(stride)
            .with_padding(Padding::symmetric(padding));
        size = (size + 2 * padding).saturating_sub(kernel) / stride + 1;
        spec = spec
            .conv2d(conv)
            .name_last(format!("features.{index}"))
            .relu()
            .name_last(format!("features.{}", index + 1));
        if pooled {
            spec = pool(spec, index + 2, &mut size);
        }
    }
    spec.adaptive_avg_pool2d([6, 6])
        .name_last("avgpool")
        .flatten()
        .name_last("flatten")
        .dropout(0.5)
        .name_last("classifier.0")
        .dense(hidden)
        .name_last("classifier.1")
        .relu()
        .name_last("classifier.2")
        .dropout(0.5)
        .name_last("classifier.3")
        .dense(hidden)
        .name_last("classifier.4")
        .relu()
        .name_last("classifier.5")
        .dense(classes)
        .name_last("classifier.6")
}

/// The smaller of an image input's height and width (1 for other shapes).
fn min_hw(input: &[usize]) -> usize {
    match input {
        [_, h, w] => (*h).min(*w),
        _ => 1,
    }
}

/// VGG-16's convolution widths (torchvision's configuration "D"); 0 marks a
/// 2×2 max pooling.
pub const VGG16_LAYERS: [usize; 18] = [
    64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
];

/// VGG-16 in torchvision's layout and names (`features.N`, `avgpool` to 7×7,
/// `classifier.0/3/6`), with batch norm after each convolution when `bn`.
pub fn vgg16(input: &[usize], classes: usize, bn: bool) -> ModelSpec {
    vgg_with(input, classes, &VGG16_LAYERS, 4096, bn)
}

/// A VGG in torchvision's layout: `layers` lists convolution widths with 0
/// for max pooling; `hidden` units in the classifier. A pooling layer that
/// would find a 1-pixel image is left out (names keep their indices).
pub fn vgg_with(input: &[usize], classes: usize, layers: &[usize], hidden: usize, bn: bool) -> ModelSpec {
    let mut spec = ModelSpec::new(input)
        .named(if bn { "vgg16_bn" } else { "vgg16" })
        .with_init(Init::KaimingNormal);
    let mut size = min_hw(input);
    let mut index = 0;
    for &width in layers {
        if width == 0 {
            if size >= 2 {
                spec = spec.max_pool2d(2).name_last(format!("features.{index}"));
                size /= 2;
            }
            index += 1;
            continue;
        }
        let conv = Conv2dConfig::new(width, 3).with_padding(Padding::symmetric(1));
        spec = spec.conv2d(conv).name_last(format!("features.{index}"));
        index += 1;
        if bn {
            spec = spec.batch_norm2d().name_last(format!("features.{index}"));
            index += 1;
        }
        spec = spec.relu().name_last(format!("features.{index}"));
        index += 1;
    }
    spec.adaptive_avg_pool2d([7, 7])
        .name_last("avgpool")
        .flatten()
        .name_last("flatten")
        .dense(hidden)
        .name_last("classifier.0")
        .relu()
        .name_last("classifier.1")
        .dropout(0.5)
        .name_last("classifier.2")
        .dense(hidden)
        .name_last("classifier.3")
        .relu()
        .name_last("classifier.4")
        .dropout(0.5)
        .name_last("classifier.5")
        .dense(classes)
        .name_last("classifier.6")
}

/// The Fully Convolutional Network for time-series classification of Wang,
/// Yan and Oates (2017): three blocks of convolution ('same' padding), batch
/// norm and ReLU with 128, 256, 128 filters and kernels 8, 5, 3, then global
/// average pooling and a softmax classifier.
pub fn fcn1d(input: &[usize], classes: usize) -> ModelSpec {
    let mut spec = ModelSpec::new(input).named("fcn1d").with_init(Init::Glorot);
    for (filters, kernel) in [(128, 8), (256, 5), (128, 3)] {
        spec = spec
            .conv1d(Conv1dConfig::new(filters, kernel).with_padding(Padding::Same))
            .batch_norm1d()
            .relu();
    }
    spec.global_avg_pool().dense(classes).softmax()
}

/// A small LeNet-like 1-D CNN: two convolution + pooling stages and two
/// dense layers.
pub fn lenet1d(input: &[usize], classes: usize) -> ModelSpec {
    ModelSpec::new(input)
        .named("lenet1d")
        .conv1d(Conv1dConfig::new(6, 5).with_padding(Padding::Same))
        .relu()
        .max_pool1d(2)
        .conv1d(Conv1dConfig::new(16, 5).with_padding(Padding::Same))
        .relu()
        .max_pool1d(2)
        .flatten()
        .dense(64)
        .relu()
        .dense(classes)
}

/// The usual input shape and class count of a built-in model.
pub fn default_shape(name: &str) -> Option<(Vec<usize>, usize)> {
    Some(match name {
        "jet_cnn" => (vec![1, 20, 20], 5),
        "fashion_convnet" | "keras_small" => (vec![1, 28, 28], 10),
        "lenet5" => (vec![1, 32, 32], 10),
        "vgg11" => (vec![3, 32, 32], 10),
        "resnet18" | "resnet34" | "resnet50" | "alexnet" | "vgg16" | "vgg16_bn" => (vec![1, 40, 40], 2),
        "fcn1d" | "lenet1d" => (vec![1, 150], 2),
        _ => return None,
    })
}

/// Training settings under which a built-in model trains well; the command
/// line uses them for the flags a user leaves out. A budget in steps and a
/// batch rule are resolved once the training set's size is known
/// ([`Recipe::batch_size`], [`Recipe::epochs`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// How long to train.
    pub budget: Budget,
    /// Samples per training batch.
    pub batch: BatchRule,
    /// How the learning rate changes.
    pub schedule: RecipeSchedule,
}

/// How long a recipe trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// A fixed number of epochs.
    Epochs(usize),
    /// About this many optimizer steps: `ceil(steps / batches per epoch)` epochs.
    Steps(usize),
}

/// How a recipe sizes its batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRule {
    /// Always this many samples.
    Fixed(usize),
    /// dl-4-tsc's `int(min(n / 10, max))` for `n` training samples, but
    /// at least `min`.
    TenthOfData {
        /// Smallest batch.
        min: usize,
        /// Largest batch (16 in dl-4-tsc).
        max: usize,
    },
}

/// The learning-rate schedule of a recipe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecipeSchedule {
    /// The optimizer's rate throughout.
    Constant,
    /// Cosine decay to zero over the epochs.
    Cosine,
    /// Keras's `ReduceLROnPlateau` on the training loss (`monitor='loss'`).
    Plateau {
        /// Factor the rate is multiplied by on a plateau.
        factor: f64,
        /// Epochs of patience per epoch of the run: dl-4-tsc waits 50 of
        /// its 2,000 epochs (1/40); at least one epoch.
        patience_fraction: f64,
        /// Floor of the rate.
        min_lr: f64,
    },
}

/// Optimizer steps of the FCN's default budget (see [`recipe`]).
pub const FCN_STEPS: usize = 2000;

impl Recipe {
    /// The batch size for `n` training samples.
    pub fn batch_size(&self, n: usize) -> usize {
        match self.batch {
            BatchRule::Fixed(b) => b,
            BatchRule::TenthOfData { min, max } => (n / 10).min(max).max(min).max(1),
        }
    }

    /// The number of epochs for `n` training samples in batches of `batch`.
    pub fn epochs(&self, n: usize, batch: usize) -> usize {
        match self.budget {
            Budget::Epochs(e) => e,
            Budget::Steps(steps) => {
                let per_epoch = n.div_ceil(batch.max(1)).max(1);
                steps.div_ceil(per_epoch).max(1)
            }
        }
    }

    /// The plateau patience for a run of `epochs` epochs (0 without a plateau schedule).
    pub fn patience(&self, epochs: usize) -> usize {
        match self.schedule {
            RecipeSchedule::Plateau { patience_fraction, .. } => {
                ((epochs as f64 * patience_fraction).round() as usize).max(1)
            }
            _ => 0,
        }
    }
}

/// The recipe of a model.
///
/// - `fcn1d`: dl-4-tsc's FCN settings (Fawaz et al. 2019, after Wang et al.
///   2017) — Adam 1e-3, batches of `min(n/10, 16)`, `ReduceLROnPlateau` on
///   the training loss (factor 0.5, floor 1e-4) — with a budget of
///   [`FCN_STEPS`] optimizer steps instead of their 2,000 epochs (24,000
///   steps on a set of 36 series), patience 1/40 of the epochs as their 50
///   of 2,000, and batches of at least 8: on ArrowHead (36 series) 2,000
///   steps of batch 3 reached 0.71 test accuracy, of batch 8 0.87.
/// - `lenet1d`: 100 epochs of batch 8 with cosine decay.
/// - the image models: 10 epochs of batch 64 at a constant rate.
pub fn recipe(name: &str) -> Recipe {
    match name {
        "fcn1d" => Recipe {
            budget: Budget::Steps(FCN_STEPS),
            batch: BatchRule::TenthOfData { min: 8, max: 16 },
            schedule: RecipeSchedule::Plateau {
                factor: 0.5,
                patience_fraction: 1.0 / 40.0,
                min_lr: 1e-4,
            },
        },
        "lenet1d" => Recipe {
            budget: Budget::Epochs(100),
            batch: BatchRule::Fixed(8),
            schedule: RecipeSchedule::Cosine,
        },
        _ => Recipe {
            budget: Budget::Epochs(10),
            batch: BatchRule::Fixed(64),
            schedule: RecipeSchedule::Constant,
        },
    }
}

/// Image height and width a built-in model is defined for, when it does not
/// adapt to its input: LeNet-5 is a 32×32 network, so smaller images (28×28
/// MNIST) are zero-padded to 32×32, as in LeCun et al.
pub fn fixed_hw(name: &str) -> Option<[usize; 2]> {
    (name == "lenet5").then_some([32, 32])
}

/// A built-in model by name, for `input` (per sample) and `classes`
/// (defaults from [`default_shape`]).
pub fn by_name(name: &str, input: Option<&[usize]>, classes: Option<usize>) -> Result<ModelSpec> {
    let (default_input, default_classes) = default_shape(name).ok_or_else(|| {
        let names: Vec<&str> = MODELS.iter().map(|(n, _)| *n).collect();
        Error::Model(format!(
            "unknown model {name:?}; built-in models are {}",
            names.join(", ")
        ))
    })?;
    let input = input.unwrap_or(&default_input);
    let classes = classes.unwrap_or(default_classes);
    if classes == 0 {
        return Err(Error::Model("a classifier needs at least one class".into()));
    }
    Ok(match name {
        "jet_cnn" => jet_cnn(input, classes),
        "fashion_convnet" => fashion_convnet(input, classes),
        "lenet5" => lenet5(input, classes),
        "keras_small" => keras_small(input, classes),
        "vgg11" => vgg11(input, classes),
        "resnet18" => resnet18(input, classes),
        "resnet34" => resnet34(input, classes),
        "resnet50" => resnet50(input, classes),
        "alexnet" => alexnet(input, classes),
        "vgg16" => vgg16(input, classes, false),
        "vgg16_bn" => vgg16(input, classes, true),
        "fcn1d" => fcn1d(input, classes),
        _ => lenet1d(input, classes),
    })
}

/// True when `name` is a built-in model.
pub fn is_builtin(name: &str) -> bool {
    MODELS.iter().any(|(n, _)| *n == name)
}
