//! `striate summary`, `models`, `evaluate`, `predict` and `data info`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use striate::Sequential;
use striate::data::source::{RawData, Role};
use striate::run::sets::read_raw;
use striate::run::{Manifest, RunDir};
use striate::sources::{self as source, BUILTINS, Source};
use striate::train::{Evaluation, evaluate};
use striate::{model::ModelSpec, zoo};

use crate::args::{EvaluateArgs, InfoArgs, PredictArgs, SummaryArgs};

pub fn summary(args: &SummaryArgs) -> Result<()> {
    let spec = if zoo::is_builtin(&args.model) {
        zoo::by_name(&args.model, args.input.as_ref().map(|s| s.0.as_slice()), args.classes)?
    } else {
        let mut s = ModelSpec::from_file(Path::new(&args.model))?;
        if let Some(i) = &args.input {
            s.input = Some(i.0.clone());
        }
        if s.input.is_none() {
            bail!("{} does not fix its input shape; pass --input C,H,W", args.model);
        }
        s
    };
    let model: Sequential<f32> = spec.build(0)?;
    println!("{}", model.summary());
    Ok(())
}

pub fn models() {
    println!("Built-in models (--model NAME):");
    for (name, about) in zoo::MODELS {
        println!("  {name:<16} {about}");
    }
    println!("\nBuilt-in data (--data builtin:NAME):");
    for (name, about) in BUILTINS {
        println!("  builtin:{name:<8} {about}");
    }
}

/// The trained model of a run directory.
fn load_run(dir: &Path) -> Result<(Manifest, Sequential<f32>)> {
    let manifest = Manifest::load(dir)?;
    let mut model: Sequential<f32> = manifest.model.build(manifest.model_seed)?;
    striate::weights::load_weights(&mut model, &RunDir::new(dir).weights(), true).with_context(|| {
        format!(
            "{} has no finished model (was training interrupted? resume it)",
            dir.display()
        )
    })?;
    Ok((manifest, model))
}

/// Runs a trained model over raw data, preprocessed as in training.
fn run_model(
    manifest: &Manifest,
    model: &mut Sequential<f32>,
    raw: &RawData,
) -> Result<(striate::data::Dataset, Evaluation)> {
    let data = manifest.preprocess.apply(raw)?;
    let loss = manifest.training.loss.to_loss()?;
    let e = evaluate(model, &data, &loss, manifest.training.eval_batch())?;
    Ok((data, e))
}

pub fn evaluate_cmd(args: &EvaluateArgs) -> Result<()> {
    let (manifest, mut model) = load_run(&args.run)?;
    let spec = match &args.data {
        Some(d) => d.clone(),
        None => manifest
            .data
            .test
            .clone()
            .context("the run has no test data recorded; pass --data")?,
    };
    let read = if args.data.is_some() {
        args.read.options()
    } else {
        manifest.data.read.clone()
    };
    let raw = read_raw(&spec, Role::Test, &read)?;
    check_classes(&raw, &manifest)?;
    let (data, e) = run_model(&manifest, &mut model, &raw)?;
    let labels = data.labels().unwrap_or(&[]);
    let m = e.report(labels, &manifest.classes, &args.signal_efficiency)?;
    if let Some(out) = &args.out {
        striate::atomic::write_str(out, &serde_json::to_string_pretty(&m)?)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    println!("{} samples from {}\n", m.n_samples, raw.origin);
    print!("{}", m.classification_report());
    println!("\nconfusion matrix (rows: true, columns: predicted):");
    let w = m.classes.iter().map(|c| c.len()).max().unwrap_or(1).max(6);
    for (name, row) in m.classes.iter().zip(&m.confusion_matrix) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
        println!("{name:>w$} {}", cells.join(""));
    }
    if !m.roc.is_empty() {
        println!();
        crate::train::print_roc(&m);
    }
    println!("\naccuracy {:.4}  loss {:.4}", m.accuracy, m.loss);
    Ok(())
}

fn check_classes(raw: &RawData, manifest: &Manifest) -> Result<()> {
    let k = manifest.classes.len();
    if let Some((i, &l)) = raw.labels.iter().enumerate().find(|(_, l)| **l as usize >= k) {
        bail!(
            "{}: label {l} of sample {i} is not one of the model's {k} classes",
            raw.origin
        );
    }
    Ok(())
}

pub fn predict(args: &PredictArgs) -> Result<()> {
    let (manifest, mut model) = load_run(&args.run)?;
    let read = striate::data::source::ReadOptions {
        allow_unlabeled: true,
        ..args.read.options()
    };
    let raw = read_raw(&args.data, Role::Test, &read)?;
    let (data, e) = run_model(&manifest, &mut model, &raw)?;
    let k = e.width;
    match args.out.as_ref().and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        Some("npy") => {
            let out = args.out.as_deref().unwrap_or(Path::new("predictions.npy"));
            striate::atomic::write(out, &striate::io::npy::to_bytes_f32(&[data.len(), k], &e.outputs))?;
        }
        Some("csv") | None => {
            let mut text = String::from("index,predicted");
            for c in 0..k {
                text.push(',');
                text.push_str(&manifest.classes.get(c).cloned().unwrap_or_else(|| format!("p{c}")));
            }
            text.push('\n');
            for (i, (row, p)) in e.outputs.chunks_exact(k.max(1)).zip(&e.predicted).enumerate() {
                let name = manifest
                    .classes
                    .get(*p as usize)
                    .cloned()
                    .unwrap_or_else(|| p.to_string());
                let probs: Vec<String> = row.iter().map(|v| format!("{v:.6}")).collect();
                text.push_str(&format!("{i},{name},{}\n", probs.join(",")));
            }
            match &args.out {
                Some(p) => striate::atomic::write_str(p, &text)?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
        }
        Some(other) => bail!("--out must end in .csv or .npy, not .{other}"),
    }
    if let Some(p) = &args.out {
        eprintln!("wrote {} predictions to {}", data.len(), p.display());
    }
    Ok(())
}

pub fn info(args: &InfoArgs) -> Result<()> {
    let src = source::detect(&args.data)?;
    println!("source: {}", describe(&src));
    if let Source::Hdf5(p) = &src {
        println!("datasets:");
        for d in striate::io::hdf5::list(p)? {
            println!("  {:<24} {:?} {}", d.name, d.shape, d.dtype);
        }
    }
    let roles: &[Role] = if matches!(src, Source::IdxDir(_) | Source::Builtin(_)) {
        &[Role::Train, Role::Test]
    } else {
        &[Role::Train]
    };
    for &role in roles {
        // Name the file once: errors about a file already start with its path.
        let raw = source::read(&src, role, &args.read.options()).map_err(|e| {
            let named = e.to_string().contains(args.data.as_str());
            let e = anyhow::Error::from(e);
            if named {
                e
            } else {
                e.context(format!("reading {}", args.data))
            }
        })?;
        print_raw(&raw);
    }
    Ok(())
}

fn describe(src: &Source) -> String {
    match src {
        Source::Builtin(n) => format!("built-in data {n:?}"),
        Source::IdxDir(p) => format!("IDX folder {}", p.display()),
        Source::ImageFolder(p) => format!("image folder {}", p.display()),
        Source::Hdf5(p) => format!("HDF5 file {}", p.display()),
        Source::Parquet(p) => format!("Parquet {}", p.display()),
        Source::Npz(p) => format!("NumPy archive {}", p.display()),
        Source::Npy(p) => format!("NumPy array {}", p.display()),
        Source::Table(p) => format!("table {}", p.display()),
        Source::Ts(p) => format!("time series (.ts) {}", p.display()),
        Source::UcrText(p) => format!("time series (UCR text) {}", p.display()),
    }
}

fn print_raw(raw: &RawData) {
    println!("\n{}", raw.origin);
    println!("  samples:  {} × {:?} ({})", raw.len(), &raw.x.shape[1..], raw.x.dtype);
    if let Some((lo, hi, mean, std)) = raw.x.stats() {
        println!("  values:   min {lo:.6}  max {hi:.6}  mean {mean:.6}  std {std:.6}");
    }
    let non_finite = (0..raw.x.len()).filter(|&i| !raw.x.get(i).is_finite()).count();
    if non_finite > 0 {
        println!("  WARNING:  {non_finite} values are NaN or infinite");
    }
    let k = raw.n_classes();
    let mut counts = vec![0usize; k];
    for &l in &raw.labels {
        counts[l as usize] += 1;
    }
    println!("  classes:  {k}");
    for (c, n) in counts.iter().enumerate() {
        let name = raw.class_names.get(c).map_or(String::new(), |s| format!(" {s}"));
        println!("    {c:>3}{name:<12} {n:>8}");
    }
}
