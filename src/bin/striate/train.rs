//! `striate train`: new runs and resumed ones. The work is the library's
//! [`striate::run::Run`]; this file turns flags into a plan and prints.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use striate::metrics::EvalReport;
use striate::report;
use striate::run::{DataRecord, FromRecipe, ModelSource, Results, Run, RunDir, RunPlan};
use striate::train::{Outcome, TrainConfig};

use crate::args::TrainArgs;
use crate::progress::{self, Mode, Reporter};

/// What a finished command tells `main`.
pub enum Finish {
    Done,
    /// Stopped by Ctrl-C with a checkpoint saved.
    Interrupted,
}

/// The plan the flags describe, with the model's recipe for flags left out.
pub fn plan(args: &TrainArgs, model: ModelSource, data: &str) -> Result<RunPlan> {
    let recipe = model.recipe();
    let batch = args.batch.unwrap_or(recipe.batch_size(0));
    let epochs = args.epochs.unwrap_or(recipe.epochs(0, batch));
    let mut training = TrainConfig::new(epochs, batch, args.seed);
    training.loss = args.loss();
    training.schedule = args.schedule(recipe, epochs)?;
    training.early_stopping = args.early_stopping();
    training.signal_efficiencies = args.signal_efficiency.clone();
    training.augment = args.augment.clone().unwrap_or_default();
    let optimizer = args.optimizer()?;
    if args.one_cycle || args.fine_tune.is_some() {
        training.schedule = None;
    }
    crate::recipe::apply(args, &mut training, optimizer.lr())?;
    // What depends on the number of training samples is decided when the data are read.
    let per_epoch = training.phases.is_empty();
    let from_recipe = FromRecipe {
        epochs: args.epochs.is_none() && per_epoch,
        batch: args.batch.is_none(),
        schedule: args.schedule.is_none() && per_epoch,
    };
    Ok(RunPlan {
        model,
        data: DataRecord {
            train: data.to_string(),
            valid: args.valid.clone(),
            test: args.test.clone(),
            valid_split: args.valid_split,
            test_split: args.test_split,
            limit: args.limit,
            split_seed: args.seed,
            read: args.read.options(),
            n_train: 0,
            stream: args.stream,
            shuffle_buffer: args.shuffle_buffer,
        },
        prep: args.prep.options(),
        training,
        optimizer,
        seed: args.seed,
        init: args.init.map(|i| i.init()),
        weights: args.weights.clone(),
        head: args.head.map(|h| h.head()),
        freeze: args.freeze.clone(),
        from_recipe,
    })
}

pub fn train(args: &TrainArgs) -> Result<Finish> {
    let mode = Mode::choose(args.quiet, args.json);
    // Before the run directory gets its first checkpoint: a Ctrl-C from
    // then on stops training cleanly instead of killing the process.
    let interrupt = progress::interrupt_flag();
    let crash = crate::crash::arm();
    let run = match &args.resume {
        Some(dir) => {
            let run = Run::resume(RunDir::new(dir), args.epochs)
                .with_context(|| format!("resuming from {}", dir.display()))?;
            if mode.text() {
                println!(
                    "resuming {} at epoch {} batch {} of {} epochs",
                    dir.display(),
                    run.trainer.progress.epoch + 1,
                    run.trainer.progress.batch,
                    run.trainer.config.epochs
                );
            }
            run
        }
        None => {
            let (Some(model_arg), Some(data_arg)) = (&args.model, &args.data) else {
                bail!("--model and --data are required (or --resume DIR)");
            };
            let model = ModelSource::parse(model_arg)?;
            let out = args
                .out
                .clone()
                .map_or_else(|| RunDir::next_free(&model.name()), RunDir::new);
            let run = Run::create(&plan(args, model, data_arg)?, out, args.overwrite)?;
            if mode.text() {
                print_start(&run);
            }
            run
        }
    };
    let mut run = run;
    run.checkpoint_every =
        (args.checkpoint_every > 0.0).then(|| std::time::Duration::from_secs_f64(args.checkpoint_every * 60.0));
    fit_and_report(mode, run, &args.signal_efficiency, interrupt, crash)
}

fn print_start(run: &Run) {
    for note in &run.notes {
        println!("note: {note}");
    }
    let sets = &run.sets;
    println!("{}\n", run.model.summary());
    println!(
        "data: {} training samples of shape {:?}{}{}{}, {} classes",
        sets.train.len(),
        sets.train.sample_shape(),
        if sets.train.is_streamed() {
            " (streamed from disk)"
        } else {
            ""
        },
        sets.valid
            .as_ref()
            .map_or(String::new(), |v| format!(", {} validation", v.len())),
        sets.test
            .as_ref()
            .map_or(String::new(), |(_, t)| format!(", {} test", t.len())),
        sets.class_names.len()
    );
    println!("run directory: {}\n", run.dir.path().display());
}

fn fit_and_report(
    mode: Mode,
    mut run: Run,
    effs: &[f64],
    interrupt: Arc<AtomicBool>,
    crash: Option<crate::crash::AfterBatches>,
) -> Result<Finish> {
    striate::metrics::check_signal_efficiencies(effs)?;
    let mut reporter = Reporter::new(mode, run.trainer.config.epochs, interrupt);
    let outcome = match crash {
        Some(mut crash) => run.fit(&mut [&mut reporter, &mut crash])?,
        None => run.fit(&mut [&mut reporter])?,
    };
    match outcome {
        Outcome::Interrupted { epoch, batch } => {
            eprintln!(
                "striate: stopped at epoch {epoch}, batch {batch}; checkpoint saved. Resume with:\n  striate train --resume {}",
                run.dir.path().display()
            );
            return Ok(Finish::Interrupted);
        }
        Outcome::EarlyStopped { epoch } if mode.text() => {
            println!(
                "early stopping after epoch {epoch} (best {} at epoch {})",
                run.trainer
                    .config
                    .early_stopping
                    .as_ref()
                    .map_or("", |e| e.monitor.as_str()),
                run.trainer.progress.early.best_epoch
            );
        }
        _ => {}
    }
    let results = run.finish(effs)?;
    for warning in run.notes.iter().filter(|n| n.starts_with("warning: ")) {
        eprintln!("striate: {warning}");
    }
    print_results(mode, &results, &run);
    Ok(Finish::Done)
}

fn print_results(mode: Mode, results: &Results, run: &Run) {
    match mode {
        Mode::Json => println!("{}", results.to_json()),
        Mode::Quiet => {}
        _ => {
            let m = &results.metrics;
            println!("\nmetrics on the {}:", results.evaluated_on);
            print!("{}", m.classification_report());
            print_roc(m);
            println!("\naccuracy {:.4}  loss {:.4}", m.accuracy, m.loss);
            println!("report: {}", run.dir.report().display());
        }
    }
}

/// AUC and background rejection, one line per signal class.
pub fn print_roc(m: &EvalReport) {
    for r in &m.roc {
        let rej: Vec<String> = r
            .rejection
            .iter()
            .map(|x| {
                format!(
                    "1/εB at εS={}: {}",
                    x.signal_efficiency,
                    report::fmt_rejection(x.background_rejection)
                )
            })
            .collect();
        let label = if m.classes.len() == 2 {
            format!("{} vs {}", r.signal, m.classes[0])
        } else {
            format!("{} vs rest", r.signal)
        };
        println!("{label}: AUC {:.4}  {}", r.auc, rej.join("  "));
    }
}
