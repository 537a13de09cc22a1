//! Transfer learning as the top-tagging lecture does it, offline: pretrain a
//! ResNet-18 on the built-in generated jets (five classes), then fastai's
//! `fine_tune` of that network with a new two-class head on the CMS W-vs-QCD
//! jet images, beside the same network trained from scratch with the same
//! budget (epochs, batches, one-cycle rates). Prints AUC and background
//! rejection on the same held-out test jets for both.
//!
//! ```text
//! cargo run --release --example transfer_jets [CMS_H5] [OUT_DIR]
//! ```
//!
//! `CMS_H5` defaults to `../shared/data/fnal-jet-images/jet_images.h5`
//! (datasets `QCD` and `TT`: 30×30 pT images of QCD and boosted-W jets).

use std::path::PathBuf;

use striate::data::preprocess::Standardize;
use striate::metrics::DEFAULT_SIGNAL_EFFICIENCIES;
use striate::optim::OptimizerConfig;
use striate::optim::one_cycle::{self, FineTune, LrSlice};
use striate::run::{ModelSource, Results, Run, RunDir, RunPlan};
use striate::transfer::Head;

/// Generated jets for pretraining (a seeded, stratified draw of the 50,000).
const PRETRAIN_JETS: usize = 10_000;
/// fastai's `fine_tune(FINE_TUNE_EPOCHS, BASE_LR)` after one frozen epoch.
const FINE_TUNE_EPOCHS: usize = 2;
const BASE_LR: f64 = 3e-3;

fn main() -> striate::Result<()> {
    let mut args = std::env::args().skip(1);
    let cms = args
        .next()
        .unwrap_or_else(|| "../shared/data/fnal-jet-images/jet_images.h5".into());
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/transfer".into()));

    // 1. Pretrain on the built-in jets: gluon, quark, top, W, Z.
    let mut pre = plan("builtin:jets");
    pre.data.limit = Some(PRETRAIN_JETS);
    pre.training = pre
        .training
        .with_phases(one_cycle::fit_one_cycle(2, LrSlice::Single { lr: BASE_LR }));
    let (_, pretrained) = train(&pre, out.join("pretrain"))?;
    println!(
        "pretrained on {PRETRAIN_JETS} generated jets: accuracy {:.4}",
        pretrained.metrics.accuracy
    );

    // 2. fine_tune on the CMS images: the pretrained body, fastai's head with two outputs.
    let mut ft = cms_plan(&cms);
    ft.weights = Some(out.join("pretrain").join("model.safetensors"));
    ft.training = ft
        .training
        .with_phases(one_cycle::fine_tune(FINE_TUNE_EPOCHS, BASE_LR, FineTune::default()));
    let (epochs, tuned) = train(&ft, out.join("fine-tune"))?;

    // 3. The same network from scratch, fit_one_cycle over as many epochs.
    let mut scratch = cms_plan(&cms);
    scratch.training = scratch
        .training
        .with_phases(one_cycle::fit_one_cycle(epochs, LrSlice::Single { lr: BASE_LR }));
    let (_, fresh) = train(&scratch, out.join("scratch"))?;

    println!("\nW vs QCD on {} ({} epochs each):", tuned.evaluated_on, epochs);
    println!(
        "{:<28} {:>8} {:>8} {:>14} {:>14}",
        "", "accuracy", "AUC", "1/εB @ εS=0.3", "1/εB @ εS=0.5"
    );
    for (name, r) in [("fine-tuned (pretrained)", &tuned), ("from scratch", &fresh)] {
        let roc = &r.metrics.roc[0];
        let rej: Vec<String> = roc
            .rejection
            .iter()
            .map(|p| format!("{:.1}", p.background_rejection))
            .collect();
        println!(
            "{name:<28} {:>8.4} {:>8.4} {:>14} {:>14}",
            r.metrics.accuracy, roc.auc, rej[0], rej[1]
        );
    }
    Ok(())
}

/// ResNet-18 on `data` with fastai's optimizer, inputs standardised with
/// statistics of the training split.
fn plan(data: &str) -> RunPlan {
    let mut p = RunPlan::new(ModelSource::Builtin("resnet18".into()), data, 0);
    p.optimizer = OptimizerConfig::fastai_adam(BASE_LR);
    p.training.schedule = None;
    p.prep.standardize = Standardize::Global;
    p
}

/// The CMS images with fastai's head for two classes, 20 % held out for
/// validation and 30 % for the final test (the same jets for both runs).
fn cms_plan(path: &str) -> RunPlan {
    let mut p = plan(path);
    p.data.read.class_keys = vec!["QCD".into(), "TT".into()];
    p.data.valid_split = Some(0.2);
    p.data.test_split = Some(0.3);
    p.head = Some(Head::Fastai);
    p
}

/// Trains one plan into `dir`; returns its epochs and test results.
fn train(plan: &RunPlan, dir: PathBuf) -> striate::Result<(usize, Results)> {
    let mut run = Run::create(plan, RunDir::new(dir), true)?;
    for note in &run.notes {
        println!("{note}");
    }
    run.fit(&mut [])?;
    let epochs = run.trainer.progress.history.epochs.len();
    for e in &run.trainer.progress.history.epochs {
        println!(
            "  epoch {}  loss {:.4}  val_auc {}",
            e.epoch,
            e.loss,
            e.val_auc.map_or("-".into(), |a| format!("{a:.4}"))
        );
    }
    Ok((epochs, run.finish(&DEFAULT_SIGNAL_EFFICIENCIES)?))
}
