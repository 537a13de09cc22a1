//! The fastai recipes on the command line: `--one-cycle`, `--fine-tune N`,
//! layer groups, and `striate lr-find`.

use anyhow::{Result, bail};
use striate::optim::one_cycle::{self, FineTune, LrSlice, Phase};
use striate::report;
use striate::run::{ModelSource, Run, RunDir};
use striate::train::TrainConfig;
use striate::train::lr_find::{LrFindConfig, Suggestion};

use crate::args::{LrFindArgs, TrainArgs};

/// Sets `training`'s per-batch recipe and layer groups from the flags.
pub fn apply(args: &TrainArgs, training: &mut TrainConfig, lr: f64) -> Result<()> {
    training.layer_groups = args
        .layer_groups
        .iter()
        .map(|g| {
            g.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .collect();
    let slice = args.lr_slice()?.unwrap_or(LrSlice::Single { lr });
    let phases: Vec<Phase> = match args.fine_tune {
        Some(epochs) => {
            let LrSlice::Single { lr: base } = slice else {
                bail!("--fine-tune takes one base rate (--lr 3e-3); it spreads the rates itself");
            };
            let ft = FineTune {
                freeze_epochs: args.freeze_epochs,
                ..FineTune::default()
            };
            one_cycle::fine_tune(epochs, base, ft)
        }
        None if args.one_cycle => one_cycle::fit_one_cycle(training.epochs, slice),
        None => return Ok(()),
    };
    *training = training.clone().with_phases(phases);
    Ok(())
}

/// `striate lr-find`: the sweep on a new run's model and data, the plot
/// and the suggestion.
pub fn lr_find(args: &LrFindArgs) -> Result<()> {
    let t = &args.train;
    let (Some(model_arg), Some(data_arg)) = (&t.model, &t.data) else {
        bail!("--model and --data are required");
    };
    let rule = Suggestion::parse(&args.suggest)?;
    let model = ModelSource::parse(model_arg)?;
    let out = t
        .out
        .clone()
        .map_or_else(|| RunDir::next_free(&format!("lr-find-{}", model.name())), RunDir::new);
    let plan = crate::train::plan(t, model, data_arg)?;
    let mut run = Run::create(&plan, out, t.overwrite)?;
    let find = LrFindConfig {
        start_lr: args.start_lr,
        end_lr: args.end_lr,
        num_it: args.num_it,
        ..LrFindConfig::default()
    };
    let Some(train) = run.sets.train.in_memory() else {
        bail!("lr-find needs the training data in memory; it does not stream (drop --stream)");
    };
    let finding = run.trainer.lr_find(&mut run.model, &mut run.optimizer, train, &find)?;
    let mut marks = Vec::new();
    for r in [Suggestion::Valley, Suggestion::Minimum, Suggestion::Steep] {
        if let Some((lr, (x, y))) = finding.suggest(r) {
            marks.push((r.name(), lr, x, y));
        }
    }
    let pts: Vec<(&str, f64, f64)> = marks.iter().map(|&(n, _, x, y)| (n, x, y)).collect();
    let chart = report::lr_find_chart(&finding, &pts);
    for warning in striate::run::results::write_charts(&run.dir, std::slice::from_ref(&chart))? {
        eprintln!("striate: warning: {warning}");
    }
    let svg = run.dir.chart(&chart.stem, "svg");
    let mut csv = String::from("lr,smoothed_loss\n");
    for (lr, l) in finding.lrs.iter().zip(&finding.losses) {
        csv.push_str(&format!("{lr:e},{l}\n"));
    }
    striate::atomic::write_str(&run.dir.lr_find_table(), &csv)?;
    println!("lr_find: {} batches, plot {}", finding.lrs.len(), svg.display());
    for (name, lr, _, _) in &marks {
        println!("  {name:<8} {lr:.2e}");
    }
    let Some(&(_, chosen, _, _)) = marks.iter().find(|m| m.0 == rule.name()) else {
        bail!(
            "the sweep stopped after {} batches, too few for a suggestion",
            finding.lrs.len()
        );
    };
    println!("suggested learning rate ({}): {chosen:.2e}", rule.name());
    Ok(())
}
