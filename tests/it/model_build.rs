//! Building models: shape inference, the summary, model files, and clear
//! errors for stacks that cannot work.

use striate::layers::Conv2dConfig;
use striate::model::ModelSpec;
use striate::zoo;
use striate::{Error, Sequential, Tensor};

#[test]
fn course_models_have_the_published_parameter_counts() {
    let count = |spec: ModelSpec| spec.build::<f32>(0).unwrap().summary().total();
    assert_eq!(count(zoo::jet_cnn(&[1, 20, 20], 5)), 3_505);
    assert_eq!(count(zoo::fashion_convnet(&[1, 28, 28], 10)), 225_034);
    assert_eq!(count(zoo::lenet5(&[1, 32, 32], 10)), 61_706);
    // torchvision's resnet18(num_classes=2) with a 1-channel stem.
    assert_eq!(count(zoo::resnet18(&[1, 40, 40], 2)), 11_171_266);
}

#[test]
fn summary_prints_shapes_and_thousands_separators() {
    let model = zoo::fashion_convnet(&[1, 28, 28], 10).build::<f32>(0).unwrap();
    let text = model.summary().to_string();
    for expected in [
        "Model: \"fashion_convnet\"",
        "conv1 (Conv2d)",
        "(None, 32, 26, 26)",
        "(None, 64, 5, 5)",
        "(None, 1600)",
        "204,928",
        "Total params: 225,034 (879.04 KB)",
        "Trainable params: 225,034",
        "Non-trainable params: 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn dense_on_an_image_names_the_layer_and_suggests_flatten() {
    let err = ModelSpec::new([1, 28, 28])
        .conv2d(Conv2dConfig::new(8, 3))
        .dense(10)
        .build::<f32>(0)
        .unwrap_err();
    match &err {
        Error::Layer { index, name, .. } => {
            assert_eq!(*index, 1);
            assert_eq!(name, "fc1");
        }
        other => panic!("expected a layer error, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("flatten") && msg.contains("[8, 26, 26]"), "{msg}");
}

#[test]
fn kernel_larger_than_the_image_is_rejected_with_the_layer() {
    let err = ModelSpec::new([1, 12, 12])
        .conv2d(Conv2dConfig::new(4, 5))
        .max_pool2d(2)
        .conv2d(Conv2dConfig::new(4, 5))
        .build::<f32>(0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer 2 (conv2"), "{err}");
    assert!(err.contains("smaller than the kernel"), "{err}");
}

#[test]
fn model_input_of_the_wrong_shape_is_a_typed_error() {
    let mut model = zoo::jet_cnn(&[1, 20, 20], 5).build::<f32>(0).unwrap();
    let err = model
        .forward(&Tensor::zeros(&[2, 1, 28, 28]), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[n, 1, 20, 20]") && err.contains("[2, 1, 28, 28]"),
        "{err}"
    );
}

#[test]
fn toml_and_json_model_files_round_trip() {
    let text = r#"
        name = "tiny"
        input = [1, 16, 16]
        init = "glorot"

        [[layers]]
        type = "conv2d"
        filters = 6
        kernel = [3, 5]
        padding = "same"
        stride = 2

        [[layers]]
        type = "batch_norm2d"

        [[layers]]
        type = "leaky_relu"
        slope = 0.2

        [[layers]]
        name = "pool"
        type = "avg_pool2d"
        kernel = 2

        [[layers]]
        type = "flatten"

        [[layers]]
        type = "dropout"
        p = 0.25

        [[layers]]
        name = "head"
        type = "dense"
        units = 3
    "#;
    let spec = ModelSpec::from_toml(text).unwrap();
    let model: Sequential<f32> = spec.build(0).unwrap();
    assert_eq!(model.output_shape(), &[3]);
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    assert_eq!(
        names,
        ["conv1", "bn1", "leaky_relu1", "pool", "flatten1", "dropout1", "head"]
    );
    // Written out and read back, in both formats, it is the same model.
    assert_eq!(ModelSpec::from_toml(&spec.to_toml()).unwrap(), spec);
    assert_eq!(ModelSpec::from_json(&spec.to_json()).unwrap(), spec);
}

#[test]
fn misspelled_model_file_fields_are_reported() {
    let err = ModelSpec::from_toml("[[layers]]\ntype = \"conv2d\"\nfilter = 3\nkernel = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("filter"), "{err}");
    let err = ModelSpec::from_toml("[[layers]]\ntype = \"conv3d\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("conv3d"), "{err}");
    let err = ModelSpec::from_toml("[[layers]]\ntype = \"conv2d\"\nfilters = 3\nkernel = 3\npadding = \"full\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("padding"), "{err}");
}

#[test]
fn duplicate_layer_names_are_rejected() {
    let err = ModelSpec::new([4])
        .dense(3)
        .name_last("a")
        .dense(2)
        .name_last("a")
        .build::<f32>(0)
        .unwrap_err();
    assert!(err.to_string().contains("\"a\""), "{err}");
}

#[test]
fn same_seed_same_initial_weights_and_schemes_differ() {
    let a = zoo::lenet5(&[1, 32, 32], 10).build::<f32>(7).unwrap();
    let b = zoo::lenet5(&[1, 32, 32], 10).build::<f32>(7).unwrap();
    assert_eq!(striate::weights::model_state(&a), striate::weights::model_state(&b));
    // Torch's default bound 1/sqrt(fan_in) for conv1 (fan_in 25) is 0.2.
    let state = striate::weights::model_state(&a);
    let w = &state.iter().find(|(n, _)| n == "conv1.weight").unwrap().1.values;
    let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max <= 0.2 && max > 0.15, "{max}");
}

#[test]
fn layer_kind_names_one_vocabulary_for_files_and_summaries() {
    use striate::layers::{AdaptivePool2dConfig, BottleneckConfig};
    use striate::layers::{
        BatchNormConfig, Conv1dConfig, DenseConfig, DropoutConfig, EluConfig, Kind, LeakyReluConfig, Pool1dConfig,
        Pool2dConfig, ResidualConfig,
    };
    use striate::model::LayerKind;
    let every = [
        LayerKind::Conv1d(Conv1dConfig::new(2, 3)),
        LayerKind::Conv2d(Conv2dConfig::new(2, 3)),
        LayerKind::MaxPool1d(Pool1dConfig::new(2)),
        LayerKind::AvgPool1d(Pool1dConfig::new(2)),
        LayerKind::MaxPool2d(Pool2dConfig::new(2)),
        LayerKind::AvgPool2d(Pool2dConfig::new(2)),
        LayerKind::GlobalAvgPool,
        LayerKind::GlobalMaxPool,
        LayerKind::AdaptiveAvgPool2d(AdaptivePool2dConfig::new([2, 3])),
        LayerKind::AdaptiveMaxPool2d(AdaptivePool2dConfig::default()),
        LayerKind::AdaptiveConcatPool2d(AdaptivePool2dConfig::default()),
        LayerKind::Dense(DenseConfig::new(2)),
        LayerKind::Flatten,
        LayerKind::Relu,
        LayerKind::LeakyRelu(LeakyReluConfig::default()),
        LayerKind::Elu(EluConfig::default()),
        LayerKind::Sigmoid,
        LayerKind::Tanh,
        LayerKind::Softmax,
        LayerKind::Dropout(DropoutConfig::new(0.5)),
        LayerKind::BatchNorm1d(BatchNormConfig::default()),
        LayerKind::BatchNorm2d(BatchNormConfig::default()),
        LayerKind::Residual(ResidualConfig::new(2)),
        LayerKind::Bottleneck(BottleneckConfig::new(2)),
    ];
    let kinds: Vec<Kind> = every.iter().map(|l| l.kind()).collect();
    assert_eq!(kinds, Kind::ALL, "one LayerKind per Kind, in the same order");
    for l in &every {
        let json = serde_json::to_value(l).unwrap();
        assert_eq!(json["type"], l.kind().as_str(), "serde tag of {l:?}");
    }
    // Built layers report the kind their spec names (and the summary shows its display name).
    let model = ModelSpec::new([2, 6])
        .conv1d(Conv1dConfig::new(2, 3))
        .batch_norm1d()
        .max_pool1d(2)
        .flatten()
        .dense(3)
        .softmax()
        .build::<f32>(0)
        .unwrap();
    for (layer, spec) in model.layers().iter().zip(&model.spec().layers) {
        assert_eq!(layer.kind(), spec.kind.kind());
    }
    assert!(model.summary().to_string().contains("bn1 (BatchNorm1d)"));
}

#[test]
fn torchvision_zoo_has_torchvisions_parameter_counts_at_224() {
    // torchvision: sum(p.numel() for p in m.parameters()) with 1,000 classes.
    let count = |name: &str| {
        let spec = zoo::by_name(name, Some(&[3, 224, 224]), Some(1000)).unwrap();
        spec.build::<f32>(0).unwrap().param_counts().0
    };
    assert_eq!(count("alexnet"), 61_100_840);
    assert_eq!(count("resnet34"), 21_797_672);
    assert_eq!(count("resnet50"), 25_557_032);
    assert_eq!(count("vgg16"), 138_357_544);
    assert_eq!(count("vgg16_bn"), 138_365_992);
}

#[test]
fn torchvision_zoo_runs_on_40x40_jet_images() {
    // Reduced widths keep this fast; the layouts are those of the full models.
    let specs = [
        zoo::resnet_with("r34", &[1, 40, 40], 2, zoo::Block::Basic, [3, 4, 6, 3], [4, 8, 8, 8]),
        zoo::resnet_with(
            "r50",
            &[1, 40, 40],
            2,
            zoo::Block::Bottleneck,
            [3, 4, 6, 3],
            [4, 4, 4, 4],
        ),
        zoo::alexnet_with(&[1, 40, 40], 2, [4, 4, 4, 4, 4], 8),
        zoo::vgg_with(&[1, 40, 40], 2, &zoo::VGG16_LAYERS.map(|w| w / 64), 8, true),
    ];
    for spec in specs {
        let mut model = spec.build::<f32>(1).unwrap();
        let x = Tensor::<f32>::from_vec(&[2, 1, 40, 40], (0..3200).map(|i| (i % 7) as f32 * 0.1).collect()).unwrap();
        let y = model.predict(&x).unwrap();
        assert_eq!(y.shape(), &[2, 2], "{:?}", model.spec().name);
        assert!(y.data().iter().all(|v| v.is_finite()));
    }
    // The full ResNets build on 1×40×40 too (AlexNet and VGG-16 are checked at
    // reduced width above: their full classifiers hold 57 M and 120 M parameters).
    for name in ["resnet34", "resnet50"] {
        let spec = zoo::by_name(name, None, None).unwrap();
        assert!(Sequential::<f32>::from_spec(&spec, 0).is_ok(), "{name}");
    }
}
