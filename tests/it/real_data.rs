//! Checks on the real data sets in `../shared/data/`. They are ignored by
//! the plain test command (a user's machine has no `../shared/`); `.ci/run`
//! runs them with `-- --ignored`, and there a missing folder is a failure.

use std::path::PathBuf;

use striate::data::idx::{Split, load_mnist_dir};
use striate::optim::{Optimizer, OptimizerConfig};
use striate::train::{LrSchedule, TrainConfig, Trainer};
use striate::zoo;

pub fn shared_data() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        p.is_dir(),
        "{} is missing: the real-data checks need it",
        p.display()
    );
    p
}

/// Published statistics of Fashion-MNIST's training pixels check the IDX
/// reader: mean 0.2860, std 0.3530, 6,000 images per class.
#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn fashion_mnist_loads_with_published_statistics() {
    let train = load_mnist_dir(&shared_data().join("fashion-mnist"), Split::Train).unwrap();
    assert_eq!(train.x.shape(), [60_000, 1, 28, 28]);
    let n = train.x.len() as f64;
    let mean = train
        .x
        .data()
        .iter()
        .map(|&v| v as f64 / 255.0)
        .sum::<f64>()
        / n;
    let var = train
        .x
        .data()
        .iter()
        .map(|&v| (v as f64 / 255.0 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 0.2860).abs() < 5e-5, "mean {mean}");
    assert!((var.sqrt() - 0.3530).abs() < 5e-5, "std {}", var.sqrt());
    assert!(train.class_counts().iter().all(|&c| c == 6_000));
}

/// The engine's acceptance check: the course's Fashion-MNIST ConvNet with
/// SGD (lr 0.05, momentum 0.9, batch 64, cosine decay) reaches at least 0.89
/// test accuracy within 5 epochs.
#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn fashion_convnet_with_sgd_reaches_089_in_5_epochs() {
    let dir = shared_data().join("fashion-mnist");
    let mut train = load_mnist_dir(&dir, Split::Train).unwrap();
    let mut test = load_mnist_dir(&dir, Split::Test).unwrap();
    for d in [&mut train, &mut test] {
        d.x.data_mut().iter_mut().for_each(|v| *v /= 255.0);
    }
    let mut model = zoo::fashion_convnet(&[1, 28, 28], 10)
        .build::<f32>(0)
        .unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::sgd_momentum(0.05, 0.9)).unwrap();
    let mut config = TrainConfig::new(5, 64, 0);
    config.schedule = Some(LrSchedule::Cosine {
        t_max: 5,
        eta_min: 0.0,
    });
    let mut trainer = Trainer::new(config).unwrap();
    trainer
        .fit(&mut model, &mut opt, &train, None, &mut [])
        .unwrap();
    let acc = trainer
        .evaluate(&mut model, &test)
        .unwrap()
        .accuracy
        .unwrap();
    println!("Fashion-MNIST ConvNet, SGD, 5 epochs: test accuracy {acc:.4}");
    assert!(acc >= 0.89, "test accuracy {acc}");
}
