//! Every layer, loss and optimizer against reference values from PyTorch
//! (Keras for Nadam), produced by `tests/fixtures/gen_torch.py`. Each check
//! runs in f64 (tight) and f32 (about 1e-5 relative), and convolutions run
//! through every kernel path.

use std::collections::BTreeMap;

use striate::Tensor;
use striate::layers::{
    BatchNormConfig, Conv1dConfig, Conv2dConfig, DenseConfig, EluConfig, LeakyReluConfig, Pool1dConfig, Pool2dConfig,
    ResidualConfig, StateMut,
};
use striate::model::{LayerKind, ModelSpec};
use striate::ops::conv::{ConvAlgo, Padding};
use striate::ops::loss::{Loss, Targets};
use striate::optim::{Optimizer, OptimizerConfig};
use striate::scalar::Scalar;
use striate::weights::Stored;

use crate::common::*;

fn padding_of(v: &serde_json::Value, dims: usize) -> Padding {
    match v {
        serde_json::Value::String(s) if s == "same" => Padding::Same,
        serde_json::Value::Number(n) => {
            let p = n.as_u64().unwrap() as usize;
            if dims == 2 {
                Padding::symmetric(p)
            } else {
                Padding::hw(0, p)
            }
        }
        serde_json::Value::Array(a) => {
            let p: Vec<usize> = a.iter().map(|v| v.as_u64().unwrap() as usize).collect();
            if dims == 2 {
                Padding::Explicit {
                    top: p[0],
                    bottom: p[1],
                    left: p[2],
                    right: p[3],
                }
            } else {
                Padding::Explicit {
                    top: 0,
                    bottom: 0,
                    left: p[0],
                    right: p[1],
                }
            }
        }
        other => panic!("padding {other}"),
    }
}

fn conv_kind(c: &Case) -> LayerKind {
    let dims = c.usize("dims");
    let k: Vec<usize> = c.params["kernel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let (s, d, g, bias) = (
        c.usize("stride"),
        c.usize("dilation"),
        c.usize("groups"),
        c.bool("bias"),
    );
    let padding = padding_of(&c.params["padding"], dims);
    if dims == 2 {
        LayerKind::Conv2d(
            Conv2dConfig::new(c.usize("c_out"), k[0])
                .with_kernel([k[0], k[1]])
                .with_stride(s)
                .with_padding(padding)
                .with_dilation(d)
                .with_groups(g)
                .with_bias(bias),
        )
    } else {
        LayerKind::Conv1d(
            Conv1dConfig::new(c.usize("c_out"), k[0])
                .with_stride(s)
                .with_padding(padding)
                .with_dilation(d)
                .with_groups(g)
                .with_bias(bias),
        )
    }
}

fn check_conv<T: Scalar>(file: &str) {
    for c in cases(file) {
        for algo in [
            ConvAlgo::Reference,
            ConvAlgo::Im2colGemm,
            ConvAlgo::Winograd,
            ConvAlgo::Auto,
        ] {
            let x: Tensor<T> = c.t("x");
            let mut layer = build_layer::<T>(&conv_kind(&c), &x.shape()[1..]);
            layer.set_conv_algo(algo);
            let w = c.t("w");
            match c.opt::<T>("b") {
                Some(b) => set_state(layer.as_mut(), &[("weight", &w), ("bias", &b)]),
                None => set_state(layer.as_mut(), &[("weight", &w)]),
            }
            let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
            let what = |t: &str| format!("{} {algo:?} {} {t}", c.name, T::DTYPE);
            assert_close(&what("y"), &y, &c.t("y"), tol::<T>());
            assert_close(&what("dx"), &dx, &c.t("dx"), tol::<T>());
            assert_close(
                &what("dw"),
                &get_state(layer.as_ref(), "weight", true),
                &c.t("dw"),
                tol::<T>(),
            );
            if let Some(db) = c.opt::<T>("db") {
                assert_close(&what("db"), &get_state(layer.as_ref(), "bias", true), &db, tol::<T>());
            }
        }
    }
}

#[test]
fn conv2d_matches_torch() {
    check_conv::<f64>("conv2d");
    check_conv::<f32>("conv2d");
}

#[test]
fn conv1d_matches_torch() {
    check_conv::<f64>("conv1d");
    check_conv::<f32>("conv1d");
}

fn check_pool<T: Scalar>() {
    for c in cases("pool") {
        let x: Tensor<T> = c.t("x");
        let kind = if c.bool("glob") {
            if c.str("kind") == "avg" {
                LayerKind::GlobalAvgPool
            } else {
                LayerKind::GlobalMaxPool
            }
        } else {
            let k = c.usize("kernel");
            let s = c.params["stride"].as_u64().map(|v| v as usize);
            let (p, ceil, incl) = (c.usize("padding"), c.bool("ceil_mode"), c.bool("count_include_pad"));
            if c.usize("dims") == 2 {
                let mut cfg = Pool2dConfig::new(k)
                    .with_padding(p)
                    .with_ceil_mode(ceil)
                    .with_count_include_pad(incl);
                if let Some(s) = s {
                    cfg = cfg.with_stride(s);
                }
                if c.str("kind") == "max" {
                    LayerKind::MaxPool2d(cfg)
                } else {
                    LayerKind::AvgPool2d(cfg)
                }
            } else {
                let mut cfg = Pool1dConfig::new(k).with_padding(p);
                cfg.ceil_mode = ceil;
                cfg.count_include_pad = incl;
                if let Some(s) = s {
                    cfg = cfg.with_stride(s);
                }
                if c.str("kind") == "max" {
                    LayerKind::MaxPool1d(cfg)
                } else {
                    LayerKind::AvgPool1d(cfg)
                }
            }
        };
        let mut layer = build_layer::<T>(&kind, &x.shape()[1..]);
        let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
        assert_close(&format!("{} {} y", c.name, T::DTYPE), &y, &c.t("y"), tol::<T>());
        assert_close(&format!("{} {} dx", c.name, T::DTYPE), &dx, &c.t("dx"), tol::<T>());
    }
}

#[test]
fn pooling_matches_torch() {
    check_pool::<f64>();
    check_pool::<f32>();
}

fn check_dense_act<T: Scalar>() {
    for c in cases("dense_act") {
        let x: Tensor<T> = c.t("x");
        let kind = if c.name.starts_with("dense") {
            LayerKind::Dense(DenseConfig::new(c.usize("units")).with_bias(c.bool("bias")))
        } else {
            match c.str("act") {
                "relu" => LayerKind::Relu,
                "leaky_relu" => LayerKind::LeakyRelu(LeakyReluConfig { slope: c.f64("slope") }),
                "elu" => LayerKind::Elu(EluConfig { alpha: c.f64("alpha") }),
                "sigmoid" => LayerKind::Sigmoid,
                "tanh" => LayerKind::Tanh,
                "softmax" => LayerKind::Softmax,
                other => panic!("activation {other}"),
            }
        };
        let mut layer = build_layer::<T>(&kind, &x.shape()[1..]);
        if c.has("w") {
            let w = c.t("w");
            match c.opt::<T>("b") {
                Some(b) => set_state(layer.as_mut(), &[("weight", &w), ("bias", &b)]),
                None => set_state(layer.as_mut(), &[("weight", &w)]),
            }
        }
        let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
        let what = |t: &str| format!("{} {} {t}", c.name, T::DTYPE);
        assert_close(&what("y"), &y, &c.t("y"), tol::<T>());
        assert_close(&what("dx"), &dx, &c.t("dx"), tol::<T>());
        if c.has("dw") {
            assert_close(
                &what("dw"),
                &get_state(layer.as_ref(), "weight", true),
                &c.t("dw"),
                tol::<T>(),
            );
        }
        if c.has("db") {
            assert_close(
                &what("db"),
                &get_state(layer.as_ref(), "bias", true),
                &c.t("db"),
                tol::<T>(),
            );
        }
    }
}

#[test]
fn dense_and_activations_match_torch() {
    check_dense_act::<f64>();
    check_dense_act::<f32>();
}

fn check_norm<T: Scalar>() {
    for c in cases("norm") {
        let x: Tensor<T> = c.t("x");
        let cfg = BatchNormConfig {
            eps: c.f64("eps"),
            momentum: c.f64("momentum"),
        };
        let kind = if c.usize("dims") == 2 {
            LayerKind::BatchNorm2d(cfg)
        } else {
            LayerKind::BatchNorm1d(cfg)
        };
        let mut layer = build_layer::<T>(&kind, &x.shape()[1..]);
        let (g, b, rm, rv) = (c.t("gamma"), c.t("beta"), c.t("running_mean0"), c.t("running_var0"));
        set_state(
            layer.as_mut(),
            &[
                ("weight", &g),
                ("bias", &b),
                ("running_mean", &rm),
                ("running_var", &rv),
            ],
        );
        let what = |t: &str| format!("{} {} {t}", c.name, T::DTYPE);
        let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
        assert_close(&what("y"), &y, &c.t("y"), tol::<T>());
        assert_close(&what("dx"), &dx, &c.t("dx"), tol::<T>());
        assert_close(
            &what("dgamma"),
            &get_state(layer.as_ref(), "weight", true),
            &c.t("dgamma"),
            tol::<T>(),
        );
        assert_close(
            &what("dbeta"),
            &get_state(layer.as_ref(), "bias", true),
            &c.t("dbeta"),
            tol::<T>(),
        );
        assert_close(
            &what("running_mean"),
            &get_state(layer.as_ref(), "running_mean", false),
            &c.t("running_mean"),
            tol::<T>(),
        );
        assert_close(
            &what("running_var"),
            &get_state(layer.as_ref(), "running_var", false),
            &c.t("running_var"),
            tol::<T>(),
        );
        let tracked = get_state(layer.as_ref(), "num_batches_tracked", false);
        assert_eq!(tracked.data()[0].f64(), 1.0, "{}", what("num_batches_tracked"));
        let (y, dx) = run_layer(layer.as_mut(), &c.t("x_eval"), &c.t("dy_eval"), false);
        assert_close(&what("y_eval"), &y, &c.t("y_eval"), tol::<T>());
        assert_close(&what("dx_eval"), &dx, &c.t("dx_eval"), tol::<T>());
        assert_close(
            &what("dgamma_eval"),
            &get_state(layer.as_ref(), "weight", true),
            &c.t("dgamma_eval"),
            tol::<T>(),
        );
        assert_close(
            &what("dbeta_eval"),
            &get_state(layer.as_ref(), "bias", true),
            &c.t("dbeta_eval"),
            tol::<T>(),
        );
    }
}

#[test]
fn batch_norm_matches_torch() {
    check_norm::<f64>();
    check_norm::<f32>();
}

/// A block's outputs, input gradient, parameter gradients and buffers
/// against a fixture file of cases with `p.NAME`, `g.NAME` and `buf.NAME` tensors.
pub(crate) fn check_block<T: Scalar>(file: &str, kind_of: impl Fn(&Case) -> LayerKind) {
    for c in cases(file) {
        let x: Tensor<T> = c.t("x");
        let mut layer = build_layer::<T>(&kind_of(&c), &x.shape()[1..]);
        let names = c.keys_under("p.");
        let values: Vec<(String, Tensor<T>)> = names.iter().map(|n| (n.clone(), c.t(&format!("p.{n}")))).collect();
        let refs: Vec<(&str, &Tensor<T>)> = values.iter().map(|(n, t)| (n.as_str(), t)).collect();
        set_state(layer.as_mut(), &refs);
        let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
        let what = |t: &str| format!("{file} {} {} {t}", c.name, T::DTYPE);
        assert_close(&what("y"), &y, &c.t("y"), tol::<T>());
        assert_close(&what("dx"), &dx, &c.t("dx"), tol::<T>());
        for n in &names {
            let g = get_state(layer.as_ref(), n, true);
            assert_close(&what(&format!("grad {n}")), &g, &c.t(&format!("g.{n}")), tol::<T>());
        }
        for n in c.keys_under("buf.") {
            let b = get_state(layer.as_ref(), &n, false);
            assert_close(&what(&format!("buffer {n}")), &b, &c.t(&format!("buf.{n}")), tol::<T>());
        }
    }
}

fn check_residual<T: Scalar>() {
    check_block::<T>("residual", |c| {
        LayerKind::Residual(ResidualConfig::new(c.usize("c_out")).with_stride(c.usize("stride")))
    });
}

#[test]
fn residual_block_matches_torchvision() {
    check_residual::<f64>();
    check_residual::<f32>();
}

fn check_losses<T: Scalar>() {
    for c in cases("loss") {
        let z: Tensor<T> = c.t("z");
        let floats = |key: &str| -> Option<Vec<f64>> {
            c.params[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_f64().unwrap()).collect())
        };
        let mut grad = Tensor::default();
        let loss = if c.name.starts_with("ce") {
            let labels: Vec<u32> = c.t::<f64>("labels").data().iter().map(|&v| v as u32).collect();
            let l = Loss::CrossEntropy {
                class_weights: floats("weights"),
                label_smoothing: c.f64("label_smoothing"),
            };
            l.compute(&z, Targets::Classes(&labels), Some(&mut grad)).unwrap()
        } else {
            let t: Tensor<T> = c.t("t");
            let l = if c.name.starts_with("bce") {
                Loss::BinaryCrossEntropy {
                    pos_weight: floats("pos_weight"),
                }
            } else {
                Loss::MeanSquaredError
            };
            l.compute(&z, Targets::Values(t.data()), Some(&mut grad)).unwrap()
        };
        let expected = c.t::<f64>("loss").data()[0];
        let rel = (loss - expected).abs() / expected.abs();
        assert!(rel < tol::<T>(), "{} {}: loss {loss} vs {expected}", c.name, T::DTYPE);
        assert_close(&format!("{} {} dz", c.name, T::DTYPE), &grad, &c.t("dz"), tol::<T>());
    }
}

#[test]
fn losses_match_torch() {
    check_losses::<f64>();
    check_losses::<f32>();
}

fn optimizer_config(c: &Case) -> OptimizerConfig {
    let f = |k: &str, d: f64| c.params[k].as_f64().unwrap_or(d);
    let b = |k: &str| c.params[k].as_bool().unwrap_or(false);
    let betas = c.params["betas"]
        .as_array()
        .map_or((0.9, 0.999), |a| (a[0].as_f64().unwrap(), a[1].as_f64().unwrap()));
    match c.str("kind") {
        "sgd" => OptimizerConfig::Sgd {
            lr: f("lr", 0.0),
            momentum: f("momentum", 0.0),
            dampening: f("dampening", 0.0),
            nesterov: b("nesterov"),
            weight_decay: f("weight_decay", 0.0),
        },
        "adam" => OptimizerConfig::Adam {
            lr: f("lr", 0.0),
            betas,
            eps: f("eps", 1e-8),
            weight_decay: f("weight_decay", 0.0),
            amsgrad: b("amsgrad"),
        },
        "adamw" => OptimizerConfig::AdamW {
            lr: f("lr", 0.0),
            betas,
            eps: f("eps", 1e-8),
            weight_decay: f("weight_decay", 0.01),
            amsgrad: b("amsgrad"),
        },
        "rmsprop" => OptimizerConfig::RmsProp {
            lr: f("lr", 0.0),
            alpha: f("alpha", 0.99),
            eps: f("eps", 1e-8),
            weight_decay: f("weight_decay", 0.0),
            momentum: f("momentum", 0.0),
            centered: b("centered"),
        },
        "nadam" => OptimizerConfig::Nadam {
            lr: f("lr", 0.0),
            beta1: f("beta1", 0.9),
            beta2: f("beta2", 0.999),
            eps: f("eps", 1e-7),
            weight_decay: 0.0,
        },
        other => panic!("optimizer {other}"),
    }
}

fn check_optimizers<T: Scalar>() {
    for c in cases("optim") {
        // One bias-free dense layer holds the [2, 5] parameter.
        let spec = ModelSpec::new([5]).layer(LayerKind::Dense(DenseConfig::new(2).with_bias(false)));
        let mut model = spec.build::<T>(0).unwrap();
        let p0: Tensor<T> = c.t("p0");
        let grads: Tensor<T> = c.t("grads");
        let traj: Tensor<T> = c.t("traj");
        let mut state = BTreeMap::new();
        state.insert("fc1.weight".to_string(), Stored::from_tensor(&p0));
        striate::weights::load_state(&mut model, &state, true).unwrap();
        let mut opt = Optimizer::<T>::new(optimizer_config(&c)).unwrap();
        // Keras computes in float32: compare its trajectory at f32 precision.
        let rtol = if c.str("kind") == "nadam" { 2e-5 } else { tol::<T>() };
        for step in 0..grads.batch() {
            model.visit_state_mut(&mut |_, s| {
                if let StateMut::Param(p) = s {
                    p.grad.data_mut().copy_from_slice(grads.item(step));
                }
            });
            opt.step(&mut model);
            let p = striate::weights::model_state(&model).remove(0).1.to_tensor::<T>();
            let expected = Tensor::from_vec(&[2, 5], traj.item(step).to_vec()).unwrap();
            assert_close(
                &format!("{} {} step {}", c.name, T::DTYPE, step + 1),
                &p,
                &expected,
                rtol,
            );
        }
    }
}

#[test]
fn optimizers_match_torch_and_keras() {
    check_optimizers::<f64>();
    check_optimizers::<f32>();
}

fn check_model<T: Scalar>() {
    let c = cases("model").remove(0);
    let mut model = striate::zoo::jet_cnn(&[1, 20, 20], 5).build::<T>(0).unwrap();
    assert_eq!(model.param_counts().0, c.usize("params"));
    let mut state = BTreeMap::new();
    for n in c.keys_under("p.") {
        state.insert(n.clone(), Stored::from_tensor(&c.t::<f64>(&format!("p.{n}"))));
    }
    // Strict: the names and shapes of PyTorch's M1 are exactly striate's.
    striate::weights::load_state(&mut model, &state, true).unwrap();
    let x: Tensor<T> = c.t("x");
    let labels: Vec<u32> = c.t::<f64>("labels").data().iter().map(|&v| v as u32).collect();
    let logits = model.forward_logits(&x, true).unwrap().clone();
    assert_close(
        &format!("jet_cnn {} logits", T::DTYPE),
        &logits,
        &c.t("logits"),
        tol::<T>(),
    );
    let mut grad = Tensor::default();
    let loss = Loss::cross_entropy()
        .compute(&logits, Targets::Classes(&labels), Some(&mut grad))
        .unwrap();
    let expected = c.t::<f64>("loss").data()[0];
    assert!(
        (loss - expected).abs() / expected < tol::<T>(),
        "loss {loss} vs {expected}"
    );
    model.backward(&x, &grad).unwrap();
    let mut checked = 0;
    model.visit_state(&mut |name, s| {
        if let striate::layers::StateRef::Param(p) = s {
            assert_close(
                &format!("jet_cnn {} grad {name}", T::DTYPE),
                &p.grad,
                &c.t(&format!("g.{name}")),
                tol::<T>(),
            );
            checked += 1;
        }
    });
    assert_eq!(checked, 12);
}

#[test]
fn whole_model_matches_torch() {
    check_model::<f64>();
    check_model::<f32>();
}
