//! A complete run directory from Rust — weights, manifest, checkpoint,
//! history, metrics, charts and the HTML report — with the same calls the
//! `striate train` command makes.
//!
//! ```text
//! cargo run --release --example run_directory [OUT_DIR]
//! ```

use striate::metrics::DEFAULT_SIGNAL_EFFICIENCIES;
use striate::run::{ModelSource, Run, RunDir, RunPlan};

fn main() -> striate::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "runs/example-jets".into());
    // The course's jet CNN on the built-in generated jets, with its recipe.
    let mut plan = RunPlan::new(ModelSource::parse("jet_cnn")?, "builtin:jets", 0);
    plan.training.epochs = 3;
    let mut run = Run::create(&plan, RunDir::new(&out), true)?;
    run.fit(&mut [])?;
    let results = run.finish(&DEFAULT_SIGNAL_EFFICIENCIES)?;
    println!(
        "{} epochs on {} samples; {}: accuracy {:.4}, AUC {:?}",
        run.trainer.progress.history.epochs.len(),
        run.sets.train.len(),
        results.evaluated_on,
        results.metrics.accuracy,
        results
            .metrics
            .roc
            .iter()
            .map(|r| (r.signal.as_str(), r.auc))
            .collect::<Vec<_>>()
    );
    for file in run.dir.files().iter().filter(|f| f.exists()) {
        println!("wrote {}", file.display());
    }
    Ok(())
}
