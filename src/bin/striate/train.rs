//! `striate train`: new runs and resumed ones.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use striate::data::Dataset;
use striate::data::preprocess::Preprocess;
use striate::data::source::Role;
use striate::model::ModelSpec;
use striate::optim::Optimizer;
use striate::run::{self, DataRecord, EvalReport, Manifest};
use striate::train::{Outcome, TrainConfig, Trainer};
use striate::{Sequential, report, zoo};

use crate::args::TrainArgs;
use crate::datasets::{self, Sets};
use crate::progress::{self, Mode, Reporter};

/// What a finished command tells `main`.
pub enum Finish {
    Done,
    /// Stopped by Ctrl-C with a checkpoint saved.
    Interrupted,
}

/// Files `train` writes; `--overwrite` removes exactly these.
const RUN_FILES: &[&str] = &[
    run::MANIFEST,
    run::WEIGHTS,
    run::CHECKPOINT,
    "history.csv",
    "metrics.json",
    "report.html",
    "loss.svg",
    "loss.png",
    "accuracy.svg",
    "accuracy.png",
    "confusion_matrix.svg",
    "confusion_matrix.png",
    "samples.svg",
    "samples.png",
    "roc.svg",
    "roc.png",
    "class_means.svg",
    "class_means.png",
];

/// Where a model comes from.
enum ModelSource {
    Builtin(String),
    File(ModelSpec),
}

impl ModelSource {
    fn parse(m: &str) -> Result<Self> {
        if zoo::is_builtin(m) {
            return Ok(ModelSource::Builtin(m.to_string()));
        }
        let path = Path::new(m);
        if path.extension().is_some() || path.exists() {
            return Ok(ModelSource::File(ModelSpec::from_file(path)?));
        }
        let names: Vec<&str> = zoo::MODELS.iter().map(|(n, _)| *n).collect();
        bail!(
            "unknown model {m:?}: not a built-in model ({}) nor a .toml/.json file",
            names.join(", ")
        )
    }

    fn input_rank(&self) -> Option<usize> {
        match self {
            ModelSource::Builtin(n) => zoo::default_shape(n).map(|(s, _)| s.len()),
            ModelSource::File(spec) => spec.input_rank(),
        }
    }

    /// Image size the model insists on, when it does not adapt to the data.
    fn fixed_hw(&self) -> Option<[usize; 2]> {
        match self {
            ModelSource::Builtin(n) => zoo::fixed_hw(n),
            ModelSource::File(spec) => spec.input.as_ref().filter(|i| i.len() == 3).map(|i| [i[1], i[2]]),
        }
    }

    /// Training settings for the flags left out.
    fn recipe(&self) -> zoo::Recipe {
        match self {
            ModelSource::Builtin(n) => zoo::recipe(n),
            ModelSource::File(_) => zoo::recipe(""),
        }
    }

    fn name(&self) -> String {
        match self {
            ModelSource::Builtin(n) => n.clone(),
            ModelSource::File(spec) => spec.name.clone().unwrap_or_else(|| "model".into()),
        }
    }

    /// The spec for inputs of `input` shape and `classes` classes.
    fn spec(&self, input: &[usize], classes: usize) -> Result<ModelSpec> {
        Ok(match self {
            ModelSource::Builtin(n) => zoo::by_name(n, Some(input), Some(classes))?,
            ModelSource::File(spec) => {
                let mut s = spec.clone();
                match &s.input {
                    Some(i) if i.as_slice() != input => {
                        bail!("the model file expects inputs of shape {i:?}, the data gives {input:?}")
                    }
                    _ => s.input = Some(input.to_vec()),
                }
                s
            }
        })
    }
}

/// The next free `runs/<name>-N`.
fn default_out(name: &str) -> PathBuf {
    (1..)
        .map(|i| PathBuf::from(format!("runs/{name}-{i}")))
        .find(|p| !p.exists())
        .unwrap_or_default()
}

fn prepare_out(dir: &Path, overwrite: bool) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a folder", dir.display());
        }
        let has_run = RUN_FILES.iter().any(|f| dir.join(f).exists());
        if has_run && !overwrite {
            bail!(
                "{} already holds a run; pass --overwrite to replace it, or --resume to continue it",
                dir.display()
            );
        }
        for f in RUN_FILES {
            let p = dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

pub fn train(args: &TrainArgs) -> Result<Finish> {
    if let Some(dir) = &args.resume {
        return resume(args, dir);
    }
    let (Some(model_arg), Some(data_arg)) = (&args.model, &args.data) else {
        bail!("--model and --data are required (or --resume DIR)");
    };
    let mode = Mode::choose(args.quiet, args.json);
    let source = ModelSource::parse(model_arg)?;
    let opt_config = args.optimizer()?;
    let read = args.read.options();
    let raw_train = datasets::read_raw(data_arg, Role::Train, &read)?;

    // Arrange the samples for the model; pad to a fixed-size model's input.
    let mut prep_opts = args.prep.options();
    let mut prep = Preprocess::plan(&raw_train, &prep_opts, source.input_rank())?;
    if let (Some([fh, fw]), None) = (source.fixed_hw(), prep_opts.pad_to) {
        let shape = prep.input_shape();
        if shape.len() == 3 && (shape[1], shape[2]) != (fh, fw) {
            if shape[1] > fh || shape[2] > fw {
                bail!(
                    "{} takes {fh}×{fw} images, the data has {}×{}; pass --resize {fh}x{fw} (image folders)",
                    source.name(),
                    shape[1],
                    shape[2]
                );
            }
            prep_opts.pad_to = Some([fh, fw]);
            prep = Preprocess::plan(&raw_train, &prep_opts, source.input_rank())?;
            if mode.text() {
                println!(
                    "note: padding {}×{} images with zeros to {fh}×{fw} for {}",
                    shape[1],
                    shape[2],
                    source.name()
                );
            }
        }
    }

    let mut record = DataRecord {
        train: data_arg.clone(),
        valid: args.valid.clone(),
        test: args.test.clone(),
        valid_split: args.valid_split,
        test_split: args.test_split,
        limit: args.limit,
        split_seed: args.seed,
        read,
        n_train: 0,
    };
    if record.test.is_none() && record.test_split.is_none() && datasets::has_own_test_split(data_arg) {
        record.test = Some(data_arg.clone());
    }
    let sets = datasets::build_sets(&record, &raw_train, &mut prep, true)?;
    record.n_train = sets.train.len();
    let n_classes = sets.class_names.len();

    let mut spec = source.spec(&prep.input_shape(), n_classes)?;
    if let Some(init) = args.init {
        spec.init = init.init();
    }
    let mut model: Sequential<f32> = spec.build(args.seed).context("building the model")?;
    if let Some(w) = &args.weights {
        let rep = striate::weights::load_weights(&mut model, w, false)?;
        if mode.text() {
            println!(
                "loaded {} tensors from {} ({} left as initialised)",
                rep.loaded.len(),
                w.display(),
                rep.missing.len() + rep.mismatched.len()
            );
        }
    }
    for prefix in &args.freeze {
        if model.set_frozen(prefix, true) == 0 {
            bail!("--freeze {prefix}: no parameter name starts with it");
        }
    }
    let recipe = source.recipe();
    let epochs = args.epochs.unwrap_or(recipe.epochs);
    let mut training = TrainConfig::new(epochs, args.batch.unwrap_or(recipe.batch), args.seed);
    training.loss = args.loss();
    training.schedule = args.schedule(recipe, epochs)?;
    training.early_stopping = args.early_stopping();
    if training.early_stopping.is_some() && sets.valid.is_none() && args.monitor.starts_with("val_") {
        bail!(
            "--early-stopping monitors {} but there is no validation set; add --valid-split 0.1",
            args.monitor
        );
    }
    let manifest = Manifest {
        striate_version: env!("CARGO_PKG_VERSION").into(),
        classes: sets.class_names.clone(),
        model_seed: args.seed,
        preprocess: prep,
        training: training.clone(),
        optimizer: opt_config.clone(),
        data: record,
        model: model.spec().clone(),
    };
    let out = args.out.clone().unwrap_or_else(|| default_out(&source.name()));
    prepare_out(&out, args.overwrite)?;
    manifest.save(&out)?;
    if mode.text() {
        println!("{}\n", model.summary());
        println!(
            "data: {} training samples of shape {:?}{}{}, {} classes",
            sets.train.len(),
            sets.train.sample_shape(),
            sets.valid
                .as_ref()
                .map_or(String::new(), |v| format!(", {} validation", v.len())),
            sets.test
                .as_ref()
                .map_or(String::new(), |(_, t)| format!(", {} test", t.len())),
            n_classes
        );
        println!("run directory: {}\n", out.display());
    }
    let opt = Optimizer::new(opt_config)?;
    let trainer = Trainer::new(training)?;
    fit_and_report(
        mode,
        &out,
        &manifest,
        model,
        opt,
        trainer,
        &sets,
        &args.signal_efficiency,
    )
}

fn resume(args: &TrainArgs, dir: &Path) -> Result<Finish> {
    let mode = Mode::choose(args.quiet, args.json);
    let mut manifest = Manifest::load(dir)?;
    let ck_path = dir.join(run::CHECKPOINT);
    let ck = run::load_checkpoint(&ck_path).with_context(|| format!("resuming from {}", dir.display()))?;
    let raw_train = datasets::read_raw(&manifest.data.train, Role::Train, &manifest.data.read)?;
    let mut prep = manifest.preprocess.clone();
    let sets = datasets::build_sets(&manifest.data, &raw_train, &mut prep, false)?;
    if sets.train.len() != manifest.data.n_train {
        bail!(
            "the training data now has {} samples, the run was started with {}; resume needs the same data",
            sets.train.len(),
            manifest.data.n_train
        );
    }
    let mut training = manifest.training.clone();
    if let Some(epochs) = args.epochs.filter(|&e| e != training.epochs) {
        // Extending a run: a cosine schedule keeps its original length.
        training.epochs = epochs;
        manifest.training.epochs = epochs;
        manifest.save(dir)?;
    }
    let mut model: Sequential<f32> = manifest.model.build(manifest.model_seed)?;
    let (opt, trainer) = run::restore(&ck, &mut model, training)?;
    if mode.text() {
        println!(
            "resuming {} at epoch {} batch {} of {} epochs",
            dir.display(),
            trainer.progress.epoch + 1,
            trainer.progress.batch,
            trainer.config.epochs
        );
    }
    fit_and_report(
        mode,
        dir,
        &manifest,
        model,
        opt,
        trainer,
        &sets,
        &args.signal_efficiency,
    )
}

#[allow(clippy::too_many_arguments)]
fn fit_and_report(
    mode: Mode,
    out: &Path,
    manifest: &Manifest,
    mut model: Sequential<f32>,
    mut opt: Optimizer<f32>,
    mut trainer: Trainer,
    sets: &Sets,
    effs: &[f64],
) -> Result<Finish> {
    if let Some(e) = effs.iter().find(|e| !(0.0..=1.0).contains(*e)) {
        bail!("--signal-efficiency {e} must be between 0 and 1");
    }
    let started = Instant::now();
    let interrupt = progress::interrupt_flag();
    let mut reporter = Reporter::new(mode, trainer.config.epochs, out.join(run::CHECKPOINT), interrupt);
    let outcome = trainer.fit(
        &mut model,
        &mut opt,
        &sets.train,
        sets.valid.as_ref(),
        &mut [&mut reporter],
    );
    if let Some(e) = reporter.error.take() {
        return Err(anyhow::Error::new(e).context("writing the checkpoint"));
    }
    match outcome? {
        Outcome::Interrupted { epoch, batch } => {
            eprintln!(
                "striate: stopped at epoch {epoch}, batch {batch}; checkpoint saved. Resume with:\n  striate train --resume {}",
                out.display()
            );
            return Ok(Finish::Interrupted);
        }
        Outcome::EarlyStopped { epoch } if mode.text() => {
            println!(
                "early stopping after epoch {epoch} (best {} at epoch {})",
                trainer
                    .config
                    .early_stopping
                    .as_ref()
                    .map_or("", |e| e.monitor.as_str()),
                trainer.progress.early.best_epoch
            );
        }
        _ => {}
    }
    let seconds = started.elapsed().as_secs_f64();
    striate::weights::save_weights(&model, &out.join(run::WEIGHTS))?;
    striate::atomic::write_str(&out.join("history.csv"), &trainer.progress.history.to_csv())?;

    // Final evaluation: the test set, else validation, else training data.
    let (set_name, eval_set): (String, &Dataset) = match (&sets.test, &sets.valid) {
        (Some((origin, t)), _) => (format!("test set ({origin})"), t),
        (None, Some(v)) => ("validation set".into(), v),
        _ => ("training set".into(), &sets.train),
    };
    let evaluation = trainer.evaluate(&mut model, eval_set)?;
    let labels = eval_set.labels().unwrap_or(&[]);
    let metrics = run::eval_report(&evaluation, labels, &manifest.classes, effs)?;
    let json = serde_json::to_string_pretty(&metrics_json(&metrics, &set_name, seconds))?;
    striate::atomic::write_str(&out.join("metrics.json"), &json)?;

    let mut charts = report::learning_curves(&trainer.progress.history);
    charts.push(report::confusion_chart(&metrics));
    charts.extend(report::roc_chart(&metrics.roc));
    let shape = eval_set.sample_shape();
    if shape.len() == 3 {
        let per_class = (32 / manifest.classes.len().max(1)).clamp(2, 8);
        let picked = report::pick_samples(labels, per_class);
        let images: Vec<&[f32]> = picked.iter().map(|&i| eval_set.x.item(i)).collect();
        let predicted: Vec<u32> = picked.iter().map(|&i| evaluation.predicted[i]).collect();
        let truth: Vec<u32> = picked.iter().map(|&i| labels[i]).collect();
        charts.push(report::samples_chart(
            &images,
            [shape[0], shape[1], shape[2]],
            &predicted,
            &truth,
            &manifest.classes,
        ));
        charts.extend(report::class_means_chart(&eval_set.x, labels, &manifest.classes));
    }
    report::write_charts(out, &charts)?;
    let summary = model.summary();
    let facts = vec![
        (
            "training data".to_string(),
            format!("{} ({} samples)", manifest.data.train, sets.train.len()),
        ),
        (
            "evaluated on".to_string(),
            format!("{set_name}, {} samples", eval_set.len()),
        ),
        (
            "optimizer".to_string(),
            format!("{} lr {}", manifest.optimizer.name(), manifest.optimizer.lr()),
        ),
        (
            "epochs × batch".to_string(),
            format!(
                "{} × {}",
                trainer.progress.history.epochs.len(),
                manifest.training.batch_size
            ),
        ),
        ("training time".to_string(), format!("{seconds:.1} s")),
        ("threads".to_string(), rayon::current_num_threads().to_string()),
        ("striate".to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ];
    let page = report::ReportPage {
        title: format!("striate run: {}", manifest.model.name.as_deref().unwrap_or("model")),
        facts,
        summary: &summary,
        history: &trainer.progress.history,
        metrics: Some((&set_name, &metrics)),
        charts: &charts,
    };
    striate::atomic::write_str(&out.join("report.html"), &report::html(&page))?;

    match mode {
        Mode::Json => println!(
            "{}",
            serde_json::to_string(&metrics_json(&metrics, &set_name, seconds))?
        ),
        Mode::Quiet => {}
        _ => {
            println!("\nmetrics on the {set_name}:");
            print!("{}", metrics.classification_report());
            print_roc(&metrics);
            println!("\naccuracy {:.4}  loss {:.4}", metrics.accuracy, metrics.loss);
            println!("report: {}", out.join("report.html").display());
        }
    }
    Ok(Finish::Done)
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

/// `metrics.json`: the report plus where it was measured.
fn metrics_json(m: &EvalReport, set: &str, seconds: f64) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("evaluated_on".into(), set.into());
        obj.insert("training_seconds".into(), seconds.into());
    }
    v
}
