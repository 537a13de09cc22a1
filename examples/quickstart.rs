//! A CNN trained on striate's built-in generated shapes, from Rust.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use striate::Sequential;
use striate::data::synthetic::shapes;
use striate::layers::Conv2dConfig;
use striate::model::ModelSpec;
use striate::ops::conv::Padding;
use striate::optim::{Optimizer, OptimizerConfig};
use striate::train::{Callback, Control, EpochLog, TrainConfig, Trainer, classification_summary};

struct PrintEpochs;

impl Callback<f32> for PrintEpochs {
    fn on_epoch_end(&mut self, log: &EpochLog, _: &Trainer, _: &Sequential<f32>, _: &Optimizer<f32>) -> Control {
        println!(
            "epoch {}  loss {:.4}  acc {:.4}  val_loss {:.4}  val_acc {:.4}  {:.2} s",
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

fn main() -> striate::Result<()> {
    let train = shapes(1800, 16, 0.3, 1)?;
    let test = shapes(600, 16, 0.3, 2)?;
    let spec = ModelSpec::new([1, 16, 16])
        .named("shapes_cnn")
        .conv2d(Conv2dConfig::new(8, 3).with_padding(Padding::Same))
        .relu()
        .max_pool2d(2)
        .conv2d(Conv2dConfig::new(16, 3).with_padding(Padding::Same))
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(32)
        .relu()
        .dense(6);
    let mut model = spec.build::<f32>(0)?;
    println!("{}\n", model.summary());
    let mut opt = Optimizer::new(OptimizerConfig::adam(1e-3))?;
    let mut trainer = Trainer::new(TrainConfig::new(8, 32, 0))?;
    trainer.fit(&mut model, &mut opt, &train, Some(&test), &mut [&mut PrintEpochs])?;
    let eval = trainer.evaluate(&mut model, &test)?;
    let (_, report) = classification_summary(&eval, test.labels().unwrap_or(&[]), &test.class_names_or_indices());
    println!("\n{report}");
    Ok(())
}
