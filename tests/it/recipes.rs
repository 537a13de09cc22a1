//! fastai's recipes against fastai: per-batch rate and momentum traces of
//! `fit_one_cycle` and `fine_tune`, lr_find's suggestions on a recorded
//! curve (tests/fixtures/fastai_schedules.json, from gen_fastai.py), and the
//! recipes run through the Trainer: frozen body with batch norm trained,
//! exact rates after a mid-epoch resume, weights restored after lr_find.

use serde_json::Value;
use striate::Tensor;
use striate::data::Dataset;
use striate::model::ModelSpec;
use striate::optim::one_cycle::{self, FineTune, LrSlice, Phase, even_mults, rates_at};
use striate::optim::{Optimizer, OptimizerConfig};
use striate::rng::SeededRng;
use striate::train::lr_find::{LrFindConfig, LrFinding, Suggestion};
use striate::train::{BatchLog, Callback, Control, Outcome, TrainConfig, Trainer};
use striate::weights::model_state;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fastai_schedules.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

/// Largest relative difference and where.
fn worst(a: &[f64], b: &[f64]) -> (f64, usize) {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-300))
        .enumerate()
        .fold((0.0, 0), |acc, (i, d)| if d > acc.0 { (d, i) } else { acc })
}

/// Every batch's per-group rates and momentum from `phases` equal fastai's.
fn check_trace(name: &str, phases: &[Phase]) {
    let f = &fixture()[name];
    let batches = f["batches_per_epoch"].as_u64().unwrap() as usize;
    let (lrs, moms) = (rows(&f["lrs"]), rows(&f["moms"]));
    let epochs: usize = phases.iter().map(|p| p.epochs).sum();
    assert_eq!(lrs.len(), epochs * batches, "{name}: trace length");
    for (step, (want_lr, want_mom)) in lrs.iter().zip(&moms).enumerate() {
        let (got, mom) = rates_at(phases, want_lr.len(), step / batches, step % batches, batches).unwrap();
        let (d, g) = worst(&got, want_lr);
        assert!(
            d < 1e-5,
            "{name} step {step} group {g}: lr {} vs fastai {}",
            got[g],
            want_lr[g]
        );
        assert!(
            (mom - want_mom[0]).abs() < 1e-6,
            "{name} step {step}: mom {mom} vs {}",
            want_mom[0]
        );
    }
    assert!(rates_at(phases, 3, epochs, 0, batches).is_none());
}

#[test]
fn fit_one_cycle_trace_equals_fastai() {
    check_trace("one_cycle", &one_cycle::fit_one_cycle(3, LrSlice::Single { lr: 1e-2 }));
}

#[test]
fn fit_one_cycle_over_a_slice_equals_fastai() {
    let slice = LrSlice::Range {
        start: 1e-4,
        stop: 1e-2,
    };
    check_trace("one_cycle_slice", &one_cycle::fit_one_cycle(2, slice));
}

#[test]
fn fine_tune_trace_equals_fastai() {
    let phases = one_cycle::fine_tune(2, 3e-3, FineTune::default());
    assert!(phases[0].frozen && !phases[1].frozen);
    check_trace("fine_tune", &phases);
}

#[test]
fn even_mults_is_geometric() {
    let v = even_mults(1e-5, 1e-3, 3);
    assert!((v[1] - 1e-4).abs() < 1e-12 && (v[2] - 1e-3).abs() < 1e-12);
    assert_eq!(even_mults(1e-5, 1e-3, 1), vec![1e-3]);
    assert_eq!(
        LrSlice::parse("1e-5:1e-3").unwrap(),
        LrSlice::Range {
            start: 1e-5,
            stop: 1e-3
        }
    );
    assert!(LrSlice::parse("fast").is_err() && LrSlice::parse("-1").is_err());
}

#[test]
fn lr_find_suggestions_equal_fastai() {
    let f = &fixture()["lr_find"];
    let finding = LrFinding {
        lrs: floats(&f["lrs"]),
        losses: floats(&f["losses"]),
        num_it: f["num_it"].as_u64().unwrap() as usize,
    };
    for rule in [Suggestion::Valley, Suggestion::Minimum, Suggestion::Steep] {
        let (got, _) = finding.suggest(rule).unwrap();
        let want = f[rule.name()].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "{}: {got} vs fastai {want}",
            rule.name()
        );
    }
}

/// Two blobs in 4 dimensions.
fn blobs(n: usize, seed: u64) -> Dataset {
    let mut rng = SeededRng::new(seed);
    let mut x = Vec::with_capacity(n * 4);
    let labels: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
    for &l in &labels {
        for j in 0..4 {
            x.push(rng.normal() as f32 + if j == 0 { 2.0 * l as f32 - 1.0 } else { 0.0 });
        }
    }
    Dataset::classification(Tensor::from_vec(&[n, 4], x).unwrap(), labels, 2).unwrap()
}

fn small_net() -> ModelSpec {
    ModelSpec::new([4]).dense(8).batch_norm1d().relu().dense(2)
}

/// Records every batch's log.
#[derive(Default)]
struct Batches {
    logs: Vec<BatchLog>,
    stop_after: Option<usize>,
    stop_at_epoch_end: bool,
}

impl Callback<f32> for Batches {
    fn on_batch_end(&mut self, log: &BatchLog) -> Control {
        self.logs.push(*log);
        match self.stop_after {
            Some(n) if self.logs.len() == n => Control::Stop,
            _ => Control::Continue,
        }
    }

    fn on_epoch_end(
        &mut self,
        _: &striate::train::EpochLog,
        _: &Trainer,
        _: &striate::Sequential<f32>,
        _: &Optimizer<f32>,
    ) -> Control {
        if self.stop_at_epoch_end {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

fn fine_tune_config() -> TrainConfig {
    let mut config = TrainConfig::new(0, 16, 3).with_phases(one_cycle::fine_tune(2, 3e-3, FineTune::default()));
    config.layer_groups = vec![vec!["fc1.".into()], vec!["bn1.".into()]];
    config.signal_efficiencies = vec![0.3];
    config
}

#[test]
fn fine_tune_freezes_the_body_but_trains_batch_norm() {
    let (train, valid) = (blobs(80, 1), blobs(40, 2));
    let mut model = small_net().build::<f32>(0).unwrap();
    let before = model_state(&model);
    let mut opt = Optimizer::new(OptimizerConfig::fastai_adam(3e-3)).unwrap();
    let mut trainer = Trainer::new(fine_tune_config()).unwrap();
    let mut seen = Batches {
        stop_at_epoch_end: true,
        ..Batches::default()
    };
    let out = trainer
        .fit(&mut model, &mut opt, &train, Some(&valid), &mut [&mut seen])
        .unwrap();
    assert_eq!(out, Outcome::Interrupted { epoch: 1, batch: 0 });
    let after = model_state(&model);
    let changed = |name: &str| {
        let (a, b) = (
            &before.iter().find(|(n, _)| n == name).unwrap().1,
            &after.iter().find(|(n, _)| n == name).unwrap().1,
        );
        a.values.iter().zip(&b.values).any(|(x, y)| x != y)
    };
    assert!(!changed("fc1.weight") && !changed("fc1.bias"), "the frozen body moved");
    assert!(
        changed("bn1.weight") && changed("fc2.weight"),
        "batch norm and head must train"
    );
    let log = &trainer.progress.history.epochs[0];
    assert!(log.val_auc.is_some_and(|a| a > 0.5), "val_auc {:?}", log.val_auc);
    assert_eq!(log.val_rejection.len(), 1);
    let head = one_cycle::rates_at(&trainer.config.phases, 3, 0, 4, 5).unwrap();
    assert!((seen.logs[4].lr - head.0[2]).abs() < 1e-12 && (seen.logs[4].momentum - head.1).abs() < 1e-12);
}

#[test]
fn a_resumed_fine_tune_continues_with_the_exact_rates() {
    let (train, valid) = (blobs(80, 1), blobs(40, 2));
    let run = |stop: Option<usize>| {
        let mut model = small_net().build::<f32>(0).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::fastai_adam(3e-3)).unwrap();
        let mut trainer = Trainer::new(fine_tune_config()).unwrap();
        let mut seen = Batches {
            stop_after: stop,
            ..Batches::default()
        };
        trainer
            .fit(&mut model, &mut opt, &train, Some(&valid), &mut [&mut seen])
            .unwrap();
        if stop.is_some() {
            let (meta, tensors) = opt.export_state();
            let mut opt = Optimizer::import_state(&model, &meta, &tensors).unwrap();
            let mut trainer = Trainer::resume(trainer.config.clone(), trainer.progress.clone()).unwrap();
            trainer
                .fit(&mut model, &mut opt, &train, Some(&valid), &mut [&mut seen])
                .unwrap();
        }
        (seen.logs, model_state(&model))
    };
    let (whole, w1) = run(None);
    let (resumed, w2) = run(Some(7));
    assert_eq!(whole.len(), 15);
    assert_eq!(resumed.len(), 15);
    for (a, b) in whole.iter().zip(&resumed) {
        assert!((a.lr - b.lr).abs() <= 1e-15 * a.lr && (a.momentum - b.momentum).abs() < 1e-15);
    }
    for ((n, a), (_, b)) in w1.iter().zip(&w2) {
        let d = a
            .values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(d < 1e-6, "{n} differs by {d} after resuming");
    }
}

#[test]
fn lr_find_sweeps_and_restores_the_weights() {
    let train = blobs(80, 1);
    let mut model = small_net().build::<f32>(0).unwrap();
    let before = model_state(&model);
    let mut opt = Optimizer::new(OptimizerConfig::fastai_adam(1e-3)).unwrap();
    let trainer = Trainer::new(TrainConfig::new(1, 16, 0)).unwrap();
    let finding = trainer
        .lr_find(&mut model, &mut opt, &train, &LrFindConfig::default())
        .unwrap();
    assert!(
        finding.lrs.len() > 20 && finding.lrs.len() <= 100,
        "{} points",
        finding.lrs.len()
    );
    assert!((finding.lrs[0] - 1e-7).abs() < 1e-20);
    assert!(finding.lrs.windows(2).all(|w| w[1] > w[0]));
    let (valley, _) = finding.suggest(Suggestion::Valley).unwrap();
    assert!(valley > 1e-7 && valley < 10.0);
    assert_eq!(model_state(&model), before, "weights not restored");
    assert_eq!(opt.steps(), 0, "optimizer not restored");
    assert!(
        trainer
            .lr_find(
                &mut model,
                &mut opt,
                &train,
                &LrFindConfig {
                    start_lr: 20.0,
                    ..LrFindConfig::default()
                }
            )
            .is_err()
    );
}

#[test]
fn a_split_that_does_not_exist_is_a_user_error() {
    let mut model = small_net().build::<f32>(0).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::fastai_adam(3e-3)).unwrap();
    let mut config = fine_tune_config();
    config.layer_groups = vec![vec!["body.".into()]];
    let err = Trainer::new(config)
        .unwrap()
        .fit(&mut model, &mut opt, &blobs(32, 1), None, &mut [])
        .unwrap_err();
    assert!(err.is_user_error() && err.to_string().contains("body."), "{err}");
}

#[test]
fn cli_lr_find_prints_a_suggestion_and_writes_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "lr-find",
        "--model",
        "jet_cnn",
        "--data",
        "builtin:shapes",
        "--num-it",
        "30",
        "--out",
        "lf",
    ];
    let out = crate::cli::striate(&args, dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("suggested learning rate (valley)"),
        "{}",
        out.stdout
    );
    for f in ["lr_find.svg", "lr_find.png", "lr_find.csv"] {
        assert!(dir.path().join("lf").join(f).exists(), "{f} missing");
    }
}

#[test]
fn cli_fine_tune_logs_auc_and_bad_splits_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "train",
        "--model",
        "jet_cnn",
        "--data",
        "builtin:shapes",
        "--valid-split",
        "0.2",
        "--quiet",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        crate::cli::striate(&args, dir.path())
    };
    let ok = run(&[
        "--fine-tune",
        "1",
        "--lr",
        "3e-3",
        "--monitor",
        "val_auc",
        "--early-stopping",
        "2",
        "--out",
        "ft",
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let history = std::fs::read_to_string(dir.path().join("ft/history.csv")).unwrap();
    assert!(
        history.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,val_auc"),
        "{history}"
    );
    assert_eq!(history.lines().count(), 3, "{history}");
    let bad = run(&["--fine-tune", "1", "--layer-group", "nope", "--out", "bad"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("nope"), "{}", bad.stderr);
    let range = run(&["--lr", "1e-5:1e-3", "--out", "bad2"]);
    assert_eq!(range.code, 2, "{}", range.stderr);
}

/// fastai's `wd_bn_bias=False`: a one-cycle run with decoupled weight decay
/// leaves the batch-norm parameters and biases undecayed, and every weight
/// and running statistic equals fastai's after six steps
/// (tests/fixtures/fastai_wd.safetensors, from gen_fastai_wd.py). With
/// `wd_bn_bias` on, it equals fastai's `wd_bn_bias=True` instead.
#[test]
fn one_cycle_weight_decay_skips_batch_norm_and_biases_as_fastai() {
    use striate::weights::{load_state, read_tensors};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fastai_wd.safetensors");
    let fx = read_tensors(std::path::Path::new(path)).unwrap();
    let part = |prefix: &str| -> std::collections::BTreeMap<String, striate::io::safetensors::Stored> {
        fx.iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (renamed(n), v.clone())))
            .collect()
    };
    // nn.Sequential's indices as striate names the same layers
    fn renamed(n: &str) -> String {
        let (layer, rest) = n.split_once('.').unwrap();
        let ours = match layer {
            "0" => "fc1",
            "2" => "bn1",
            _ => "fc2",
        };
        format!("{ours}.{rest}")
    }
    let x: Vec<f32> = fx["x"].values.iter().map(|&v| v as f32).collect();
    let y: Vec<u32> = fx["y"].values.iter().map(|&v| v as u32).collect();
    let n = y.len();
    let data = Dataset::classification(Tensor::from_vec(&[n, 4], x).unwrap(), y, 2).unwrap();
    for (wd_bn_bias, want) in [(false, "after."), (true, "after_wd_all.")] {
        let mut model = ModelSpec::new([4])
            .dense(8)
            .relu()
            .batch_norm1d()
            .dense(2)
            .build::<f32>(0)
            .unwrap();
        let report = load_state(&mut model, &part("init."), false).unwrap();
        assert_eq!(report.missing, ["bn1.num_batches_tracked"], "{report:?}");
        let mut config = OptimizerConfig::fastai_adam(5e-2);
        if let OptimizerConfig::AdamW { weight_decay, .. } = &mut config {
            *weight_decay = 0.1;
        }
        let mut opt = Optimizer::new(config).unwrap();
        let mut train =
            TrainConfig::new(0, n, 0).with_phases(one_cycle::fit_one_cycle(6, LrSlice::Single { lr: 5e-2 }));
        train.shuffle = false;
        train.wd_bn_bias = wd_bn_bias;
        let mut trainer = Trainer::new(train).unwrap();
        trainer.fit(&mut model, &mut opt, &data, None, &mut []).unwrap();
        let expected = part(want);
        let ours: std::collections::BTreeMap<String, _> = model_state(&model).into_iter().collect();
        let (mut compared, mut worst) = (0, 0.0f64);
        for (name, e) in &expected {
            let Some(o) = ours.get(name) else { continue };
            let (d, at) = o
                .values
                .iter()
                .zip(&e.values)
                .map(|(a, b)| (a - b).abs())
                .enumerate()
                .fold((0.0, 0), |acc, (i, d)| if d > acc.0 { (d, i) } else { acc });
            println!("wd_bn_bias={wd_bn_bias} {name}: largest difference {d:e} at {at}");
            worst = worst.max(d);
            compared += 1;
        }
        assert!(worst < 1e-5, "wd_bn_bias={wd_bn_bias}: off by {worst:e}");
        assert_eq!(compared, 8, "weights, biases and running statistics of three layers");
    }
}
