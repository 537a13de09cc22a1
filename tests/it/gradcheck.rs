//! Finite-difference gradient checks in f64 for every layer (with stride,
//! padding, dilation and groups variants), every loss and a small model.
//!
//! For a layer `f`, the scalar `L = Σ f(x) ⊙ r` with a fixed random `r` has
//! `dL/dx = backward(r)`; each analytic derivative is compared with the
//! central difference `(L(θ + h) − L(θ − h)) / 2h`.

use striate::Tensor;
use striate::layers::{
    BatchNormConfig, Conv1dConfig, Conv2dConfig, DenseConfig, DropoutConfig, EluConfig, Layer, LeakyReluConfig, Param,
    Pool1dConfig, Pool2dConfig, ResidualConfig,
};
use striate::model::{LayerKind, ModelSpec};
use striate::ops::conv::{ConvAlgo, Padding};
use striate::ops::loss::{Loss, Targets};

use crate::common::*;

const H: f64 = 1e-6;
const RTOL: f64 = 1e-6;

fn loss_of(layer: &mut dyn Layer<f64>, x: &Tensor<f64>, r: &Tensor<f64>, train: bool) -> f64 {
    // The same seed as `run_layer`, so dropout draws the same mask.
    let mut rng = striate::rng::SeededRng::new(1);
    let mut ctx = striate::layers::ForwardCtx {
        train,
        backward: true,
        rng: &mut rng,
    };
    let mut y = Tensor::default();
    layer.forward(x, &mut y, &mut ctx);
    y.data().iter().zip(r.data()).map(|(a, b)| a * b).sum()
}

fn nth_param(layer: &mut dyn Layer<f64>, index: usize, f: &mut dyn FnMut(&mut Param<f64>)) {
    let mut i = 0;
    layer.for_each_param(&mut |p| {
        if i == index {
            f(p);
        }
        i += 1;
    });
}

#[track_caller]
fn close(what: &str, analytic: f64, numeric: f64, scale: f64) {
    let err = (analytic - numeric).abs();
    assert!(
        err <= RTOL * scale.max(1.0) + 1e-9,
        "{what}: analytic {analytic:.10} vs numeric {numeric:.10}"
    );
}

/// Checks input and parameter gradients of a layer of `kind` at `n` random
/// samples of per-sample shape `input`.
fn gradcheck(label: &str, kind: LayerKind, input: &[usize], n: usize, train: bool) {
    gradcheck_with(label, kind, input, n, train, ConvAlgo::Auto)
}

fn gradcheck_with(label: &str, kind: LayerKind, input: &[usize], n: usize, train: bool, algo: ConvAlgo) {
    let mut layer = build_layer::<f64>(&kind, input);
    layer.set_conv_algo(algo);
    let mut shape = vec![n];
    shape.extend_from_slice(input);
    let x = randn::<f64>(&shape, 11);
    let mut out_shape = vec![n];
    out_shape.extend_from_slice(layer.output_shape());
    let r = randn::<f64>(&out_shape, 12);
    let (_, dx) = run_layer(layer.as_mut(), &x, &r, train);
    let mut analytic = Vec::new();
    layer.for_each_param(&mut |p| analytic.push(p.grad.clone()));
    let scale = r.data().iter().map(|v| v.abs()).sum::<f64>() / r.len() as f64;
    let base = loss_of(layer.as_mut(), &x, &r, train);
    // Input gradient: every element (the shapes are small).
    for i in 0..x.len() {
        let mut xp = x.clone();
        xp.data_mut()[i] += H;
        let lp = loss_of(layer.as_mut(), &xp, &r, train);
        xp.data_mut()[i] -= 2.0 * H;
        let lm = loss_of(layer.as_mut(), &xp, &r, train);
        close(
            &format!("{label} dx[{i}]"),
            dx.data()[i],
            (lp - lm) / (2.0 * H),
            scale * base.abs().max(1.0).sqrt(),
        );
    }
    // Parameter gradients.
    for (pi, grad) in analytic.iter().enumerate() {
        for j in 0..grad.len() {
            let mut eval = |delta: f64| {
                nth_param(layer.as_mut(), pi, &mut |p| p.value.data_mut()[j] += delta);
                let l = loss_of(layer.as_mut(), &x, &r, train);
                nth_param(layer.as_mut(), pi, &mut |p| p.value.data_mut()[j] -= delta);
                l
            };
            let numeric = (eval(H) - eval(-H)) / (2.0 * H);
            close(&format!("{label} param {pi}[{j}]"), grad.data()[j], numeric, scale);
        }
    }
}

#[test]
fn conv2d_gradients() {
    let cases: Vec<(&str, Conv2dConfig, [usize; 3])> = vec![
        ("basic", Conv2dConfig::new(3, 3), [2, 6, 5]),
        (
            "stride2_pad1",
            Conv2dConfig::new(2, 3)
                .with_stride(2)
                .with_padding(Padding::symmetric(1)),
            [2, 7, 6],
        ),
        ("dilation2", Conv2dConfig::new(2, 3).with_dilation(2), [1, 7, 7]),
        ("groups2", Conv2dConfig::new(4, 2).with_groups(2), [4, 5, 4]),
        (
            "depthwise_no_bias",
            Conv2dConfig::new(3, 3)
                .with_groups(3)
                .with_bias(false)
                .with_padding(Padding::Same),
            [3, 5, 5],
        ),
        (
            "same_stride2",
            Conv2dConfig::new(2, 4).with_stride(2).with_padding(Padding::Same),
            [1, 7, 6],
        ),
        (
            "asymmetric",
            Conv2dConfig::new(2, 3)
                .with_kernel([2, 3])
                .with_padding(Padding::Explicit {
                    top: 1,
                    bottom: 0,
                    left: 0,
                    right: 2,
                }),
            [2, 4, 4],
        ),
        ("pointwise", Conv2dConfig::new(3, 1), [2, 3, 3]),
    ];
    for (label, cfg, input) in cases {
        for algo in [ConvAlgo::Reference, ConvAlgo::Im2colGemm, ConvAlgo::Winograd] {
            let kind = LayerKind::Conv2d(cfg.clone());
            gradcheck_with(&format!("conv2d {label} {algo:?}"), kind, &input, 2, true, algo);
        }
    }
}

#[test]
fn conv1d_gradients() {
    for (label, cfg, input) in [
        ("basic", Conv1dConfig::new(3, 3), [2, 9]),
        (
            "stride_dilation_pad",
            Conv1dConfig::new(2, 3)
                .with_stride(2)
                .with_dilation(2)
                .with_padding(Padding::hw(0, 2)),
            [2, 11],
        ),
        (
            "same_even_kernel",
            Conv1dConfig::new(2, 4).with_padding(Padding::Same),
            [1, 8],
        ),
        ("groups", Conv1dConfig::new(4, 3).with_groups(2), [2, 7]),
    ] {
        gradcheck(&format!("conv1d {label}"), LayerKind::Conv1d(cfg), &input, 2, true);
    }
}

#[test]
fn pooling_gradients() {
    gradcheck("max2d", LayerKind::MaxPool2d(Pool2dConfig::new(2)), &[2, 4, 6], 2, true);
    gradcheck(
        "max2d overlap pad",
        LayerKind::MaxPool2d(Pool2dConfig::new(3).with_stride(2).with_padding(1)),
        &[1, 5, 6],
        2,
        true,
    );
    gradcheck("avg2d", LayerKind::AvgPool2d(Pool2dConfig::new(2)), &[2, 4, 5], 2, true);
    gradcheck(
        "avg2d pad ceil",
        LayerKind::AvgPool2d(Pool2dConfig::new(3).with_stride(2).with_padding(1).with_ceil_mode(true)),
        &[1, 6, 7],
        2,
        true,
    );
    gradcheck(
        "max1d",
        LayerKind::MaxPool1d(Pool1dConfig::new(3).with_stride(2)),
        &[2, 9],
        2,
        true,
    );
    gradcheck("avg1d", LayerKind::AvgPool1d(Pool1dConfig::new(2)), &[2, 8], 2, true);
    gradcheck("global avg", LayerKind::GlobalAvgPool, &[3, 3, 4], 2, true);
    gradcheck("global max", LayerKind::GlobalMaxPool, &[3, 3, 4], 2, true);
    gradcheck("global avg 1d", LayerKind::GlobalAvgPool, &[2, 7], 2, true);
}

#[test]
fn adaptive_pooling_gradients() {
    use striate::layers::AdaptivePool2dConfig;
    // Uneven windows that overlap (7 → 3, 5 → 2), a larger output than input
    // (repeated pixels), and the fastai concat form.
    for (label, out, input) in [
        ("uneven", [3, 2], [2, 7, 5]),
        ("upsample", [4, 5], [1, 3, 2]),
        ("one", [1, 1], [3, 4, 4]),
    ] {
        let cfg = AdaptivePool2dConfig::new(out);
        gradcheck(
            &format!("adaptive avg {label}"),
            LayerKind::AdaptiveAvgPool2d(cfg.clone()),
            &input,
            2,
            true,
        );
        gradcheck(
            &format!("adaptive max {label}"),
            LayerKind::AdaptiveMaxPool2d(cfg.clone()),
            &input,
            2,
            true,
        );
        gradcheck(
            &format!("adaptive concat {label}"),
            LayerKind::AdaptiveConcatPool2d(cfg),
            &input,
            2,
            true,
        );
    }
}

#[test]
fn bottleneck_gradients() {
    use striate::layers::BottleneckConfig;
    let kind = |c: BottleneckConfig| LayerKind::Bottleneck(c);
    gradcheck(
        "bottleneck identity",
        kind(BottleneckConfig::new(2)),
        &[8, 4, 4],
        2,
        true,
    );
    gradcheck(
        "bottleneck projection",
        kind(BottleneckConfig::new(2).with_stride(2).with_width(3)),
        &[3, 5, 5],
        2,
        true,
    );
    gradcheck("bottleneck eval", kind(BottleneckConfig::new(2)), &[8, 3, 3], 2, false);
}

#[test]
fn dense_activation_and_shape_gradients() {
    gradcheck("dense", LayerKind::Dense(DenseConfig::new(4)), &[5], 3, true);
    gradcheck(
        "dense no bias",
        LayerKind::Dense(DenseConfig::new(2).with_bias(false)),
        &[3],
        2,
        true,
    );
    gradcheck("relu", LayerKind::Relu, &[2, 3, 3], 2, true);
    gradcheck(
        "leaky relu",
        LayerKind::LeakyRelu(LeakyReluConfig { slope: 0.2 }),
        &[7],
        2,
        true,
    );
    gradcheck("elu", LayerKind::Elu(EluConfig { alpha: 0.7 }), &[7], 2, true);
    gradcheck("sigmoid", LayerKind::Sigmoid, &[7], 2, true);
    gradcheck("tanh", LayerKind::Tanh, &[7], 2, true);
    gradcheck("softmax", LayerKind::Softmax, &[5], 3, true);
    gradcheck("softmax channels", LayerKind::Softmax, &[3, 2, 2], 2, true);
    gradcheck("flatten", LayerKind::Flatten, &[2, 2, 3], 2, true);
    gradcheck(
        "dropout train",
        LayerKind::Dropout(DropoutConfig::new(0.4)),
        &[12],
        3,
        true,
    );
    gradcheck(
        "dropout eval",
        LayerKind::Dropout(DropoutConfig::new(0.4)),
        &[12],
        3,
        false,
    );
}

#[test]
fn batch_norm_gradients() {
    let bn = BatchNormConfig::default();
    gradcheck("bn2d train", LayerKind::BatchNorm2d(bn.clone()), &[2, 3, 3], 3, true);
    gradcheck("bn2d eval", LayerKind::BatchNorm2d(bn.clone()), &[2, 3, 3], 3, false);
    gradcheck("bn1d features", LayerKind::BatchNorm1d(bn.clone()), &[4], 5, true);
    gradcheck("bn1d sequence", LayerKind::BatchNorm1d(bn), &[2, 5], 3, true);
}

#[test]
fn residual_gradients() {
    gradcheck(
        "residual identity",
        LayerKind::Residual(ResidualConfig::new(2)),
        &[2, 4, 4],
        2,
        true,
    );
    gradcheck(
        "residual projection",
        LayerKind::Residual(ResidualConfig::new(3).with_stride(2)),
        &[2, 5, 5],
        2,
        true,
    );
    gradcheck(
        "residual 1d",
        LayerKind::Residual(ResidualConfig::new(2).with_stride(2)),
        &[1, 7],
        2,
        true,
    );
    gradcheck(
        "residual eval",
        LayerKind::Residual(ResidualConfig::new(2)),
        &[2, 3, 3],
        2,
        false,
    );
}

fn loss_gradcheck(label: &str, loss: &Loss, z: &Tensor<f64>, targets: Targets<'_, f64>) {
    let mut grad = Tensor::default();
    loss.compute(z, targets, Some(&mut grad)).unwrap();
    for i in 0..z.len() {
        let mut zp = z.clone();
        zp.data_mut()[i] += H;
        let lp = loss.compute(&zp, targets, None).unwrap();
        zp.data_mut()[i] -= 2.0 * H;
        let lm = loss.compute(&zp, targets, None).unwrap();
        close(&format!("{label} dz[{i}]"), grad.data()[i], (lp - lm) / (2.0 * H), 1.0);
    }
}

#[test]
fn loss_gradients() {
    let z = randn::<f64>(&[5, 4], 3);
    let labels = [0u32, 3, 1, 1, 2];
    for (label, loss) in [
        ("ce", Loss::cross_entropy()),
        (
            "ce weighted smoothed",
            Loss::CrossEntropy {
                class_weights: Some(vec![1.0, 2.0, 0.5, 3.0]),
                label_smoothing: 0.15,
            },
        ),
    ] {
        loss_gradcheck(label, &loss, &z, Targets::Classes(&labels));
    }
    let t = Tensor::<f64>::from_fn(&[5, 4], |i| (i % 3) as f64 / 2.0);
    loss_gradcheck(
        "bce",
        &Loss::BinaryCrossEntropy {
            pos_weight: Some(vec![1.0, 2.0, 3.0, 0.5]),
        },
        &z,
        Targets::Values(t.data()),
    );
    loss_gradcheck("mse", &Loss::MeanSquaredError, &z, Targets::Values(t.data()));
    let z1 = randn::<f64>(&[4, 1], 5);
    loss_gradcheck(
        "bce labels",
        &Loss::BinaryCrossEntropy { pos_weight: None },
        &z1,
        Targets::Classes(&[0, 1, 1, 0]),
    );
}

/// A small whole model: every parameter gradient of its cross-entropy loss.
#[test]
fn whole_model_gradients() {
    let spec = ModelSpec::new([2, 8, 8])
        .conv2d(Conv2dConfig::new(4, 3).with_padding(Padding::Same))
        .batch_norm2d()
        .relu()
        .conv2d(Conv2dConfig::new(4, 3).with_stride(2).with_groups(2))
        .max_pool2d(2)
        .residual(ResidualConfig::new(3))
        .global_avg_pool()
        .dense(6)
        .tanh()
        .dense(3)
        .softmax();
    let mut model = spec.build::<f64>(3).unwrap();
    let x = randn::<f64>(&[4, 2, 8, 8], 21);
    let labels = [0u32, 2, 1, 2];
    let loss = Loss::cross_entropy();
    let loss_at = |model: &mut striate::Sequential<f64>| {
        let z = model.forward_logits(&x, true).unwrap().clone();
        loss.compute(&z, Targets::Classes(&labels), None).unwrap()
    };
    let z = model.forward_logits(&x, true).unwrap().clone();
    let mut grad = Tensor::default();
    loss.compute(&z, Targets::Classes(&labels), Some(&mut grad)).unwrap();
    model.backward(&x, &grad).unwrap();
    let mut analytic = Vec::new();
    model.for_each_param(&mut |p| analytic.push(p.grad.clone()));
    let mut checked = 0;
    for (pi, g) in analytic.iter().enumerate() {
        for j in (0..g.len()).step_by(3) {
            let shift = |model: &mut striate::Sequential<f64>, d: f64| {
                let mut i = 0;
                model.for_each_param(&mut |p| {
                    if i == pi {
                        p.value.data_mut()[j] += d;
                    }
                    i += 1;
                });
            };
            shift(&mut model, H);
            let lp = loss_at(&mut model);
            shift(&mut model, -2.0 * H);
            let lm = loss_at(&mut model);
            shift(&mut model, H);
            close(
                &format!("model param {pi}[{j}]"),
                g.data()[j],
                (lp - lm) / (2.0 * H),
                1.0,
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} derivatives checked");
}
