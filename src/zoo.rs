//! Built-in models: the course models, LeNet-5, VGG and ResNet.
//!
//! Each function returns a [`ModelSpec`] for a per-sample input shape and a
//! number of classes; [`by_name`] looks one up by the name the command line
//! uses. Parameter names follow the PyTorch definitions the course and the
//! benchmarks use (`conv1`, `fc1`, …; torchvision's names for ResNet).

use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::{Conv1dConfig, Conv2dConfig, Pool2dConfig, ResidualConfig};
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
    let mut spec = ModelSpec::new(input)
        .named("resnet18")
        .with_init(Init::KaimingNormal)
        .conv2d(
            Conv2dConfig::new(64, 7)
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
    for (stage, filters) in [64, 128, 256, 512].into_iter().enumerate() {
        for block in 0..2 {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            spec = spec
                .residual(ResidualConfig::new(filters).with_stride(stride))
                .name_last(format!("layer{}.{block}", stage + 1));
        }
    }
    spec.global_avg_pool()
        .name_last("avgpool")
        .dense(classes)
        .name_last("fc")
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
        "resnet18" => (vec![1, 40, 40], 2),
        "fcn1d" | "lenet1d" => (vec![1, 150], 2),
        _ => return None,
    })
}

/// Training settings under which a built-in model trains well; the command
/// line uses them for the flags a user leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipe {
    /// Number of epochs.
    pub epochs: usize,
    /// Samples per training batch.
    pub batch: usize,
    /// Cosine learning-rate decay to zero over the epochs.
    pub cosine: bool,
}

/// The recipe of a model: 10 epochs of batch 64 for the image models; for the
/// time-series models, which see small training sets (GunPoint has 50
/// series), 100 epochs of batch 8 with cosine decay — with Adam 1e-3 this
/// takes the FCN to the published 100% on GunPoint.
pub fn recipe(name: &str) -> Recipe {
    match name {
        "fcn1d" | "lenet1d" => Recipe {
            epochs: 100,
            batch: 8,
            cosine: true,
        },
        _ => Recipe {
            epochs: 10,
            batch: 64,
            cosine: false,
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
        "fcn1d" => fcn1d(input, classes),
        _ => lenet1d(input, classes),
    })
}

/// True when `name` is a built-in model.
pub fn is_builtin(name: &str) -> bool {
    MODELS.iter().any(|(n, _)| *n == name)
}
