//! Trains the course's Fashion-MNIST ConvNet with SGD from Rust.
//!
//! ```text
//! cargo run --release --example fashion_mnist -- ../shared/data/fashion-mnist [epochs] [lr] [momentum] [batch]
//! ```

use std::path::PathBuf;

use striate::data::idx::{Split, load_mnist_dir};
use striate::optim::LrSchedule;
use striate::optim::{Optimizer, OptimizerConfig};
use striate::train::{BatchLog, Callback, Control, EpochLog, TrainConfig, Trainer, classification_summary};
use striate::{Sequential, zoo};

struct Print;

impl Callback<f32> for Print {
    fn on_batch_end(&mut self, _log: &BatchLog) -> Control {
        Control::Continue
    }

    fn on_epoch_end(&mut self, log: &EpochLog, _t: &Trainer, _m: &Sequential<f32>, _o: &Optimizer<f32>) -> Control {
        println!(
            "epoch {}  loss {:.4}  acc {:.4}  val_loss {:.4}  val_acc {:.4}  {:.1} s",
            log.epoch,
            log.loss,
            log.accuracy.unwrap_or(0.0),
            log.val_loss.unwrap_or(0.0),
            log.val_accuracy.unwrap_or(0.0),
            log.seconds
        );
        Control::Continue
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/fashion-mnist".into()));
    let epochs: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let lr: f64 = args.next().map_or(Ok(0.1), |s| s.parse())?;
    let momentum: f64 = args.next().map_or(Ok(0.0), |s| s.parse())?;
    let batch: usize = args.next().map_or(Ok(64), |s| s.parse())?;
    let cosine = args.next().is_some_and(|s| s == "cosine");
    let mut train = load_mnist_dir(&dir, Split::Train)?;
    let mut test = load_mnist_dir(&dir, Split::Test)?;
    for d in [&mut train, &mut test] {
        d.x.data_mut().iter_mut().for_each(|v| *v /= 255.0);
    }
    let mut model = zoo::fashion_convnet(&[1, 28, 28], 10).build::<f32>(0)?;
    println!("{}", model.summary());
    let mut opt = Optimizer::new(OptimizerConfig::sgd_momentum(lr, momentum))?;
    let mut config = TrainConfig::new(epochs, batch, 0);
    if cosine {
        config.schedule = Some(LrSchedule::Cosine {
            t_max: epochs,
            eta_min: 0.0,
        });
    }
    let mut trainer = Trainer::new(config)?;
    trainer.fit(&mut model, &mut opt, &train, Some(&test), &mut [&mut Print])?;
    let eval = trainer.evaluate(&mut model, &test)?;
    let names = test.class_names_or_indices();
    let (_, report) = classification_summary(&eval, test.labels().unwrap_or(&[]), &names);
    println!("{report}");
    println!("test accuracy {:.4}", eval.accuracy.unwrap_or(0.0));
    Ok(())
}
