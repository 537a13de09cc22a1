//! A run from start to finish: read the data, build the model, train with
//! checkpoints, and (in [`super::results`]) evaluate and write the results.

use std::time::{Duration, Instant};

use crate::data::preprocess::Preprocess;
use crate::data::source::{Role, Stored};
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::optim::Optimizer;
use crate::train::{Callback, Outcome, Trainer};

use super::checkpoint::{self, Checkpointer};
use super::dir::RunDir;
use super::manifest::{DataRecord, Manifest};
use super::plan::RunPlan;
use super::sets::{self, Sets};

/// A run being trained: its directory, manifest, model, optimizer, trainer
/// and data.
///
/// ```no_run
/// # fn main() -> striate::Result<()> {
/// use striate::run::{ModelSource, Run, RunDir, RunPlan};
/// let plan = RunPlan::new(ModelSource::parse("jet_cnn")?, "builtin:jets", 0);
/// let mut run = Run::create(&plan, RunDir::new("runs/jets"), true)?;
/// run.fit(&mut [])?;
/// let results = run.finish(&striate::metrics::DEFAULT_SIGNAL_EFFICIENCIES)?;
/// println!("accuracy {:.4}", results.metrics.accuracy);
/// # Ok(())
/// # }
/// ```
pub struct Run {
    /// Where the run's files go.
    pub dir: RunDir,
    /// What `model.toml` holds.
    pub manifest: Manifest,
    /// The model being trained.
    pub model: Sequential<f32>,
    /// Its optimizer.
    pub optimizer: Optimizer<f32>,
    /// The training loop and its progress.
    pub trainer: Trainer,
    /// Training, validation and test data.
    pub sets: Sets,
    /// What setting up decided on the caller's behalf (padding, weights
    /// loaded), one sentence each.
    pub notes: Vec<String>,
    /// Seconds spent in [`Run::fit`].
    pub seconds: f64,
    /// Time between checkpoints within an epoch (default
    /// [`DEFAULT_CHECKPOINT_EVERY`]); `None`: only after epochs and on interruption.
    pub checkpoint_every: Option<Duration>,
}

/// How often a long epoch is checkpointed by default: a killed run loses at
/// most this much work, and a checkpoint of ResNet-18 (130 MB) costs well
/// under a second of it.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(600);

impl Run {
    /// Starts a new run in `dir`: reads and arranges the data, builds the
    /// model, loads starting weights, freezes, and writes `model.toml`. An
    /// existing run in `dir` is an error unless `overwrite`.
    pub fn create(plan: &RunPlan, dir: RunDir, overwrite: bool) -> Result<Run> {
        let mut notes = Vec::new();
        let mut record = plan.data.clone();
        let (sets, prep) = build_sets(plan, &mut record, &mut notes)?;
        record.n_train = sets.train.len();
        let model = build_model(plan, &prep.input_shape(), sets.class_names.len(), &mut notes)?;
        let mut training = plan.training_for(sets.train.len(), &mut notes);
        if plan.head.is_some() && !training.phases.is_empty() && training.layer_groups.is_empty() {
            // fastai's split of a transferred model: its body groups, then the new head.
            // Layers without parameters (ReLU, pooling) name nothing to train.
            let names = model.param_names();
            let mut groups = crate::transfer::layer_groups(&model)?;
            groups.pop();
            for g in &mut groups {
                g.retain(|p| names.iter().any(|n| n.starts_with(p.as_str())));
            }
            training.layer_groups = groups;
        }
        if let Some(es) = &plan.training.early_stopping
            && sets.valid.is_none()
            && es.monitor.starts_with("val_")
        {
            return Err(Error::invalid(
                "--early-stopping",
                format!(
                    "monitors {} but there is no validation set; add --valid-split 0.1",
                    es.monitor
                ),
            ));
        }
        let manifest = Manifest {
            striate_version: env!("CARGO_PKG_VERSION").into(),
            classes: sets.class_names.clone(),
            model_seed: plan.seed,
            preprocess: prep,
            training: training.clone(),
            optimizer: plan.optimizer.clone(),
            data: record,
            frozen: plan.freeze.clone(),
            start_weights: plan.weights.clone(),
            model: model.spec().clone(),
        };
        let optimizer = Optimizer::new(plan.optimizer.clone())?;
        let trainer = Trainer::new(training)?;
        dir.prepare(overwrite)?;
        manifest.save(&dir)?;
        // Resumable from the start: a run killed before its first epoch ends
        // continues from here.
        checkpoint::save_checkpoint(&dir.checkpoint(), &model, &optimizer, &trainer)?;
        Ok(Run {
            dir,
            manifest,
            model,
            optimizer,
            trainer,
            sets,
            notes,
            seconds: 0.0,
            checkpoint_every: Some(DEFAULT_CHECKPOINT_EVERY),
        })
    }

    /// Continues the run in `dir` from its checkpoint, with the same data
    /// and settings (frozen parameters included). A run killed before its
    /// first checkpoint starts again from the beginning. `epochs` extends
    /// (or shortens) the run; a cosine schedule keeps its original length.
    pub fn resume(dir: RunDir, epochs: Option<usize>) -> Result<Run> {
        let mut manifest = Manifest::load(dir.path())?;
        dir.remove_stale()?;
        let ck_path = dir.checkpoint();
        let ck = if ck_path.exists() {
            Some(checkpoint::load_checkpoint(&ck_path)?)
        } else {
            None
        };
        let mut prep = manifest.preprocess.clone();
        let sets = if manifest.data.stream {
            let opened = sets::open_stream(&manifest.data.train, Role::Train, &manifest.data.read)?;
            let opened = opened.ok_or_else(|| Error::Data(format!("{} cannot be streamed", manifest.data.train)))?;
            Sets::build_streamed(&manifest.data, opened, &mut prep, false)?
        } else {
            let raw_train = sets::read_raw(&manifest.data.train, Role::Train, &manifest.data.read)?;
            Sets::build(&manifest.data, raw_train, &mut prep, false)?
        };
        if sets.train.len() != manifest.data.n_train {
            return Err(Error::Data(format!(
                "the training data now has {} samples, the run was started with {}; resume needs the same data",
                sets.train.len(),
                manifest.data.n_train
            )));
        }
        let mut training = manifest.training.clone();
        if let Some(epochs) = epochs.filter(|&e| e != training.epochs) {
            training.epochs = epochs;
            manifest.training.epochs = epochs;
            manifest.save(&dir)?;
        }
        let mut model: Sequential<f32> = manifest.model.build(manifest.model_seed)?;
        let (optimizer, trainer) = match &ck {
            Some(ck) => {
                checkpoint::check_progress(&ck_path, &ck.progress, sets.train.len(), &training)?;
                checkpoint::restore(ck, &mut model, training)?
            }
            None => {
                if let Some(w) = &manifest.start_weights {
                    crate::weights::load_weights(&mut model, w, false)?;
                }
                (Optimizer::new(manifest.optimizer.clone())?, Trainer::new(training)?)
            }
        };
        for prefix in &manifest.frozen {
            model.set_frozen(prefix, true);
        }
        Ok(Run {
            dir,
            manifest,
            model,
            optimizer,
            trainer,
            sets,
            notes: Vec::new(),
            seconds: 0.0,
            checkpoint_every: Some(DEFAULT_CHECKPOINT_EVERY),
        })
    }

    /// Trains until the configured epochs are done, early stopping ends the
    /// run or a callback stops it, checkpointing after every epoch, every
    /// [`Run::checkpoint_every`] within one, and on interruption.
    pub fn fit(&mut self, callbacks: &mut [&mut dyn Callback<f32>]) -> Result<Outcome> {
        let started = Instant::now();
        let mut checkpointer = Checkpointer::new(self.dir.checkpoint()).every(self.checkpoint_every);
        let mut all: Vec<&mut dyn Callback<f32>> = Vec::with_capacity(callbacks.len() + 1);
        for c in callbacks.iter_mut() {
            all.push(&mut **c);
        }
        all.push(&mut checkpointer);
        let outcome = self.trainer.fit_samples(
            &mut self.model,
            &mut self.optimizer,
            self.sets.train.view(),
            self.sets.valid.as_ref().map(|v| v.view()),
            &mut all,
        );
        self.seconds += started.elapsed().as_secs_f64();
        if let Some(e) = checkpointer.error.take() {
            return Err(e);
        }
        outcome
    }
}

/// The model a new run trains: the plan's architecture for `input` and
/// `classes` (with fastai's cut and head when the plan transfers), its
/// starting weights and frozen parameters.
fn build_model(plan: &RunPlan, input: &[usize], classes: usize, notes: &mut Vec<String>) -> Result<Sequential<f32>> {
    let mut spec = match plan.head {
        Some(head) => plan.model.transfer_spec(input, classes, head)?,
        None => plan.model.spec(input, classes)?,
    };
    if let Some(init) = plan.init {
        spec.init = init;
    }
    let mut model: Sequential<f32> = spec.build(plan.seed)?;
    if let (Some(w), Some(_)) = (&plan.weights, plan.head) {
        let tensors = crate::weights::read_tensors(w)?;
        let rep = crate::transfer::load_pretrained(&mut model, tensors, plan.seed)?;
        notes.push(format!("{}: {}", w.display(), rep.summary()));
        if !rep.adapted.is_empty() {
            notes.push(format!(
                "adapted to {} input channels: {}",
                input[0],
                rep.adapted.join(", ")
            ));
        }
    } else if let Some(w) = &plan.weights {
        let rep = crate::weights::load_weights(&mut model, w, false)?;
        notes.push(format!(
            "loaded {} tensors from {} ({} left as initialised)",
            rep.loaded.len(),
            w.display(),
            rep.missing.len() + rep.mismatched.len()
        ));
    }
    for prefix in &plan.freeze {
        if model.set_frozen(prefix, true) == 0 {
            return Err(Error::invalid(
                format!("--freeze {prefix}"),
                "no parameter name starts with it",
            ));
        }
    }
    Ok(model)
}

/// The sets of a new run and their preprocessing: the training file is
/// streamed when the record asks (`--stream`) or when its samples would take
/// more than a third of the memory budget (a whole read peaks near two
/// copies of them, the stored values and the arranged set: 3.76 GB for
/// 1.92 GB of 40×40 images; the model and its activations need room too);
/// otherwise read whole. Sets
/// `record.stream` to what was chosen.
fn build_sets(plan: &RunPlan, record: &mut DataRecord, notes: &mut Vec<String>) -> Result<(Sets, Preprocess)> {
    let opened = match sets::open_stream(&record.train, Role::Train, &record.read) {
        Ok(o) => o,
        Err(e) if record.stream => return Err(e),
        Err(_) => None,
    };
    if let Some(opened) = opened {
        let stored = opened.source.stored();
        let mut prep = plan_preprocess(plan, &stored, notes)?;
        let item = prep.input_shape().iter().product::<usize>() as u128;
        let bytes = stored.shape[0] as u128 * item * 4;
        if record.stream || bytes * 3 > u128::from(crate::budget::limit()) {
            if !record.stream {
                notes.push(format!(
                    "streaming {} from disk: its samples take {}, more than a third of the memory budget (--max-memory)",
                    record.train,
                    crate::budget::human_bytes(bytes)
                ));
            }
            record.stream = true;
            let sets = Sets::build_streamed(record, opened, &mut prep, true)?;
            return Ok((sets, prep));
        }
    } else if record.stream {
        return Err(Error::invalid(
            "--stream",
            format!("streams .npy, HDF5 and Parquet files; {} is none of them", record.train),
        ));
    }
    let raw_train = sets::read_raw(&record.train, Role::Train, &record.read)?;
    let mut prep = plan_preprocess(plan, &raw_train.stored(), notes)?;
    if record.test.is_none() && record.test_split.is_none() && sets::has_own_test_split(&record.train) {
        record.test = Some(record.train.clone());
    }
    let sets = Sets::build(record, raw_train, &mut prep, true)?;
    Ok((sets, prep))
}

/// The preprocessing plan; pads images to a fixed-size model's input when
/// the caller did not choose a size.
fn plan_preprocess(plan: &RunPlan, raw: &Stored, notes: &mut Vec<String>) -> Result<Preprocess> {
    let rank = plan.model.input_rank();
    let prep = Preprocess::plan_stored(raw, &plan.prep, rank)?;
    let (Some([fh, fw]), None) = (plan.model.fixed_hw(), plan.prep.pad_to) else {
        return Ok(prep);
    };
    let shape = prep.input_shape();
    if shape.len() != 3 || (shape[1], shape[2]) == (fh, fw) {
        return Ok(prep);
    }
    if shape[1] > fh || shape[2] > fw {
        return Err(Error::invalid(
            plan.model.name(),
            format!(
                "takes {fh}×{fw} images, the data has {}×{}; pass --resize {fh}x{fw} (image folders)",
                shape[1], shape[2]
            ),
        ));
    }
    let mut opts = plan.prep.clone();
    opts.pad_to = Some([fh, fw]);
    notes.push(format!(
        "padding {}×{} images with zeros to {fh}×{fw} for {}",
        shape[1],
        shape[2],
        plan.model.name()
    ));
    Preprocess::plan_stored(raw, &opts, rank)
}
