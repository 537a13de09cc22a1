//! Training on tiny generated data: the loss goes down, nothing turns NaN,
//! the same seed gives the same numbers, a resumed run ends where an
//! uninterrupted one does, and a diverging run stops with a clear error.

use striate::Tensor;
use striate::data::Dataset;
use striate::layers::Conv2dConfig;
use striate::model::ModelSpec;
use striate::optim::LrSchedule;
use striate::optim::{Optimizer, OptimizerConfig};
use striate::rng::SeededRng;
use striate::train::{EarlyStopping, Outcome, TrainConfig, Trainer};
use striate::weights::model_state;
use striate::{Error, Sequential};

/// 8×8 images of three classes: a horizontal bar, a vertical bar, a diagonal,
/// at random positions, with noise.
pub fn bars(n: usize, seed: u64) -> Dataset {
    let mut rng = SeededRng::new(seed);
    let mut x = Vec::with_capacity(n * 64);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 3) as u32;
        let pos = 1 + rng.below(6) as usize;
        for r in 0..8 {
            for c in 0..8 {
                let on = match class {
                    0 => r == pos,
                    1 => c == pos,
                    _ => r == c,
                };
                x.push(if on { 1.0 } else { 0.0 } + 0.2 * rng.normal() as f32);
            }
        }
        labels.push(class);
    }
    Dataset::classification(Tensor::from_vec(&[n, 1, 8, 8], x).unwrap(), labels, 3).unwrap()
}

pub fn small_cnn() -> ModelSpec {
    ModelSpec::new([1, 8, 8])
        .conv2d(Conv2dConfig::new(4, 3))
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(16)
        .relu()
        .dropout(0.1)
        .dense(3)
}

fn train(epochs: usize, seed: u64) -> (Sequential<f32>, Trainer) {
    let data = bars(96, 1);
    let valid = bars(30, 2);
    let mut model = small_cnn().build::<f32>(seed).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adam(0.01)).unwrap();
    let mut trainer = Trainer::new(TrainConfig::new(epochs, 16, seed)).unwrap();
    let outcome = trainer.fit(&mut model, &mut opt, &data, Some(&valid), &mut []).unwrap();
    assert_eq!(outcome, Outcome::Completed);
    (model, trainer)
}

#[test]
fn loss_goes_down_and_accuracy_up() {
    let (_, trainer) = train(12, 3);
    let h = &trainer.progress.history;
    let loss = h.series("loss");
    assert_eq!(loss.len(), 12);
    assert!(loss.iter().all(|l| l.is_finite()));
    assert!(loss[11] < 0.5 * loss[0], "loss {loss:?}");
    let acc = h.series("val_accuracy");
    assert!(acc[11] > 0.9, "validation accuracy {acc:?}");
}

#[test]
fn same_seed_same_numbers() {
    let (m1, t1) = train(3, 5);
    let (m2, t2) = train(3, 5);
    let strip = |t: &Trainer| {
        t.progress
            .history
            .epochs
            .iter()
            .map(|e| (e.loss, e.val_loss, e.accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&t1), strip(&t2));
    assert_eq!(model_state(&m1), model_state(&m2));
    let (m3, _) = train(3, 6);
    assert_ne!(
        model_state(&m1),
        model_state(&m3),
        "a different seed should change the weights"
    );
}

#[test]
fn resuming_mid_epoch_ends_in_the_same_weights() {
    let data = bars(96, 1);
    let config = TrainConfig::new(3, 16, 9);
    let (full, _) = {
        let mut model = small_cnn().build::<f32>(9).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::adam(0.01)).unwrap();
        let mut t = Trainer::new(config.clone()).unwrap();
        t.fit(&mut model, &mut opt, &data, None, &mut []).unwrap();
        (model, t)
    };
    // Interrupt after 8 batches (epoch 2 of 3, batch 2 of 6), save, resume.
    let mut model = small_cnn().build::<f32>(9).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adam(0.01)).unwrap();
    let mut t = Trainer::new(config.clone()).unwrap();
    let outcome = t
        .fit(
            &mut model,
            &mut opt,
            &data,
            None,
            &mut [&mut crate::common::StopAfter(8)],
        )
        .unwrap();
    assert_eq!(outcome, Outcome::Interrupted { epoch: 2, batch: 2 });
    // What a checkpoint holds: weights, optimizer state, progress, RNG state.
    let weights = model_state(&model);
    let (opt_meta, opt_tensors) = opt.export_state();
    let progress = t.progress.clone();
    let rng = model.rng_state().clone();
    drop((model, opt, t));

    let mut model = small_cnn().build::<f32>(1234).unwrap();
    let map = weights.into_iter().collect();
    striate::weights::load_state(&mut model, &map, true).unwrap();
    model.set_rng_state(rng);
    let mut opt = Optimizer::import_state(&model, &opt_meta, &opt_tensors).unwrap();
    let mut t = Trainer::resume(config, progress).unwrap();
    assert_eq!(
        t.fit(&mut model, &mut opt, &data, None, &mut []).unwrap(),
        Outcome::Completed
    );
    assert_eq!(model_state(&model), model_state(&full));
}

#[test]
fn diverging_run_stops_with_epoch_and_batch() {
    let data = bars(48, 1);
    let mut model = small_cnn().build::<f32>(1).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::sgd(1e12)).unwrap();
    let mut t = Trainer::new(TrainConfig::new(5, 16, 1)).unwrap();
    let err = t.fit(&mut model, &mut opt, &data, None, &mut []).unwrap_err();
    match &err {
        Error::NonFiniteLoss { epoch, batch, .. } => {
            assert!(*epoch >= 1 && *batch >= 1);
        }
        other => panic!("expected a non-finite loss error, got {other}"),
    }
    assert!(err.to_string().contains("epoch"), "{err}");
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let data = bars(60, 1);
    let valid = bars(30, 2);
    let mut model = small_cnn().build::<f32>(2).unwrap();
    // A learning rate so high that validation loss soon stops improving.
    let mut opt = Optimizer::new(OptimizerConfig::sgd_momentum(0.5, 0.9)).unwrap();
    let mut config = TrainConfig::new(40, 10, 2);
    config.early_stopping = Some(EarlyStopping::new("val_loss", 2).restore_best());
    let mut t = Trainer::new(config).unwrap();
    let outcome = t.fit(&mut model, &mut opt, &data, Some(&valid), &mut []).unwrap();
    let Outcome::EarlyStopped { epoch } = outcome else {
        panic!("expected early stopping, got {outcome:?}");
    };
    let best = t.progress.early.best.unwrap();
    assert_eq!(t.progress.early.wait, 2);
    assert!(epoch < 40);
    // The restored weights reproduce the best validation loss.
    let e = t.evaluate(&mut model, &valid).unwrap();
    assert!((e.loss - best).abs() < 1e-5, "restored {} vs best {best}", e.loss);
}

/// Monitoring the validation AUC with a validation set of one class is
/// refused before the first epoch (it would never be logged), and works
/// when the validation set has signal and background.
#[test]
fn a_monitored_auc_needs_signal_and_background_in_validation() {
    let data = bars(60, 1);
    let valid = bars(30, 2);
    let only_class_0: Vec<usize> = (0..valid.len()).filter(|&i| valid.labels().unwrap()[i] == 0).collect();
    let one_class = valid.subset(&only_class_0);
    for (v, ok) in [(&one_class, false), (&valid, true)] {
        let mut model = small_cnn().build::<f32>(2).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::adam(0.01)).unwrap();
        let mut config = TrainConfig::new(2, 10, 2);
        config.early_stopping = Some(EarlyStopping::new("val_auc", 5));
        let mut t = Trainer::new(config).unwrap();
        let result = t.fit(&mut model, &mut opt, &data, Some(v), &mut []);
        match (result, ok) {
            (Ok(_), true) => assert_eq!(t.progress.history.epochs.len(), 2),
            (Err(e @ Error::InvalidArgument { .. }), false) => {
                assert!(e.to_string().contains("val_auc needs a validation set"), "{e}");
                assert!(t.progress.history.epochs.is_empty());
            }
            (other, _) => panic!("validation with one class: {}, got {other:?}", !ok),
        }
    }
}

#[test]
fn step_schedule_sets_the_learning_rate() {
    let data = bars(30, 1);
    let mut model = small_cnn().build::<f32>(2).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::sgd(0.1)).unwrap();
    let mut config = TrainConfig::new(5, 10, 2);
    config.schedule = Some(LrSchedule::Step {
        step_size: 2,
        gamma: 0.5,
    });
    let mut t = Trainer::new(config).unwrap();
    t.fit(&mut model, &mut opt, &data, None, &mut []).unwrap();
    let lrs = t.progress.history.series("lr");
    let expected = [0.1, 0.1, 0.05, 0.05, 0.025];
    for (a, b) in lrs.iter().zip(expected) {
        assert!((a - b).abs() < 1e-12, "{lrs:?}");
    }
}

#[test]
fn frozen_parameters_do_not_move() {
    let data = bars(30, 1);
    let mut model = small_cnn().build::<f32>(4).unwrap();
    assert_eq!(model.set_frozen("conv1.", true), 2);
    let before = model_state(&model);
    let mut opt = Optimizer::new(OptimizerConfig::adam(0.01)).unwrap();
    Trainer::new(TrainConfig::new(2, 10, 4))
        .unwrap()
        .fit(&mut model, &mut opt, &data, None, &mut [])
        .unwrap();
    let after = model_state(&model);
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        if name.starts_with("conv1.") {
            assert_eq!(a, b, "{name} moved");
        } else if name.starts_with("fc") {
            assert_ne!(a, b, "{name} did not train");
        }
    }
    let s = model.summary();
    assert_eq!(s.non_trainable, 4 * 9 + 4);
}

#[test]
fn parameter_groups_use_their_own_learning_rate() {
    let data = bars(30, 1);
    let mut model = small_cnn().build::<f32>(4).unwrap();
    let before = model_state(&model);
    let group = striate::optim::ParamGroup {
        prefix: "fc".into(),
        lr: Some(0.0),
        weight_decay: None,
    };
    let mut opt = Optimizer::new(OptimizerConfig::sgd(0.1)).unwrap().with_group(group);
    Trainer::new(TrainConfig::new(1, 10, 4))
        .unwrap()
        .fit(&mut model, &mut opt, &data, None, &mut [])
        .unwrap();
    let after = model_state(&model);
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        if name.starts_with("fc") {
            assert_eq!(a, b, "{name} should not move at lr 0");
        } else {
            assert_ne!(a, b, "{name} should train");
        }
    }
}

#[test]
fn evaluation_batches_default_to_the_training_batch_size() {
    let config = TrainConfig::new(1, 32, 0);
    assert_eq!(config.eval_batch(), 32);
    let text = toml::to_string(&config).unwrap();
    assert!(!text.contains("eval_batch_size"), "{text}");
    // Manifests written before the default changed keep their setting.
    let mut old: TrainConfig = toml::from_str(&format!("eval_batch_size = 1000\n{text}")).unwrap();
    assert_eq!(old.eval_batch(), 1000);
    old.eval_batch_size = Some(0);
    assert!(old.validate().is_err());
}
