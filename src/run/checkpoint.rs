//! Checkpoints: weights, optimizer moments, progress and the dropout
//! generator in one safetensors file, written atomically after every epoch,
//! periodically within long ones and on interruption by [`Checkpointer`],
//! read back to resume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::optim::{Optimizer, OptimizerState};
use crate::rng::SeededRng;
use crate::tensor::Tensor;
use crate::train::{Callback, Control, EpochLog, Progress, TrainConfig, Trainer};
use crate::weights::{Stored, read_safetensors, write_safetensors};

/// Writes a resumable checkpoint: weights, optimizer state, progress and the
/// dropout generator, in one safetensors file written atomically.
pub fn save_checkpoint(path: &Path, model: &Sequential<f32>, opt: &Optimizer<f32>, trainer: &Trainer) -> Result<()> {
    let mut tensors: Vec<(String, Stored)> = crate::weights::model_state(model)
        .into_iter()
        .map(|(n, s)| (format!("model/{n}"), s))
        .collect();
    let (meta, opt_tensors) = opt.export_state();
    tensors.extend(
        opt_tensors
            .iter()
            .map(|(n, t)| (format!("optim/{n}"), Stored::from_tensor(t))),
    );
    let mut md = std::collections::HashMap::new();
    md.insert("format".into(), "striate-checkpoint-1".into());
    md.insert("progress".into(), to_json(&trainer.progress)?);
    md.insert("optimizer".into(), to_json(&meta)?);
    md.insert("rng".into(), to_json(model.rng_state())?);
    write_safetensors(path, &tensors, Some(md))
}

fn to_json<V: Serialize>(v: &V) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal("serialising the checkpoint state", e))
}

/// A checkpoint read back.
pub struct Checkpoint {
    /// Model weights and buffers by parameter name (`conv1.weight`, …).
    pub model_state: BTreeMap<String, Stored>,
    /// The optimizer's hyper-parameters, groups, learning rate and step counts.
    pub optimizer: OptimizerState,
    /// The optimizer's per-parameter buffers (moments, momentum), by name.
    pub optimizer_tensors: Vec<(String, Tensor<f32>)>,
    /// Where training stood: epochs and batches done, history, early-stopping memory.
    pub progress: Progress,
    /// State of the model's dropout generator.
    pub rng: SeededRng,
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let file = read_safetensors(path)?;
    if file.metadata.get("format").map(String::as_str) != Some("striate-checkpoint-1") {
        return Err(Error::format(path, "not a striate checkpoint"));
    }
    let get = |k: &str| -> Result<&String> {
        file.metadata
            .get(k)
            .ok_or_else(|| Error::format(path, format!("checkpoint has no {k}")))
    };
    let parse_err = |e: serde_json::Error| Error::format(path, format!("corrupt checkpoint state: {e}"));
    let mut model_state = BTreeMap::new();
    let mut optimizer_tensors = Vec::new();
    for (name, t) in file.tensors.iter() {
        if let Some(n) = name.strip_prefix("model/") {
            model_state.insert(n.to_string(), t.clone());
        } else if let Some(n) = name.strip_prefix("optim/") {
            optimizer_tensors.push((n.to_string(), t.to_tensor::<f32>()));
        }
    }
    Ok(Checkpoint {
        model_state,
        optimizer: serde_json::from_str(get("optimizer")?).map_err(parse_err)?,
        optimizer_tensors,
        progress: serde_json::from_str(get("progress")?).map_err(parse_err)?,
        rng: serde_json::from_str(get("rng")?).map_err(parse_err)?,
    })
}

/// An error unless the checkpoint's progress fits a run of `n_train`
/// training samples: a batch counter past the end of an epoch, or a history
/// that does not have one row per completed epoch, is a corrupt file (the
/// loop would otherwise skip an epoch and log an empty row).
pub fn check_progress(path: &Path, p: &Progress, n_train: usize, training: &TrainConfig) -> Result<()> {
    let batches = n_train.div_ceil(training.batch_size.max(1));
    if p.batch > batches {
        return Err(Error::format(
            path,
            format!(
                "the checkpoint is at batch {} of an epoch of {batches} batches",
                p.batch
            ),
        ));
    }
    if p.history.epochs.len() != p.epoch {
        return Err(Error::format(
            path,
            format!(
                "the checkpoint has completed {} epochs but {} history rows",
                p.epoch,
                p.history.epochs.len()
            ),
        ));
    }
    Ok(())
}

/// Restores model, optimizer and trainer from a checkpoint.
pub fn restore(
    ck: &Checkpoint,
    model: &mut Sequential<f32>,
    training: TrainConfig,
) -> Result<(Optimizer<f32>, Trainer)> {
    crate::weights::load_state(model, &ck.model_state, true)?;
    model.set_rng_state(ck.rng.clone());
    let opt = Optimizer::import_state(model, &ck.optimizer, &ck.optimizer_tensors)?;
    let trainer = Trainer::resume(training, ck.progress.clone())?;
    Ok((opt, trainer))
}

/// The callback that keeps a run resumable: it writes the checkpoint after
/// every epoch, when a run is interrupted and, within long epochs, every
/// [`Checkpointer::every`], so a killed run loses at most that much. A
/// failed write stops training; the error is kept in [`Checkpointer::error`].
pub struct Checkpointer {
    path: PathBuf,
    /// Time between checkpoints within an epoch; `None`: only at epoch ends.
    pub every: Option<Duration>,
    /// When the last checkpoint was written (or the callback made).
    last: Instant,
    /// The first failure to write the checkpoint.
    pub error: Option<Error>,
}

impl Checkpointer {
    /// Checkpoints to `path` at epoch ends and interruptions.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Checkpointer {
            path: path.into(),
            every: None,
            last: Instant::now(),
            error: None,
        }
    }

    /// Also checkpoints within an epoch once `every` has passed since the last checkpoint.
    pub fn every(mut self, every: Option<Duration>) -> Self {
        self.every = every;
        self
    }

    fn save(&mut self, trainer: &Trainer, model: &Sequential<f32>, opt: &Optimizer<f32>) -> Control {
        self.last = Instant::now();
        match save_checkpoint(&self.path, model, opt, trainer) {
            Ok(()) => Control::Continue,
            Err(e) => {
                self.error.get_or_insert(e);
                Control::Stop
            }
        }
    }
}

impl Callback<f32> for Checkpointer {
    fn on_epoch_end(
        &mut self,
        _: &EpochLog,
        trainer: &Trainer,
        model: &Sequential<f32>,
        opt: &Optimizer<f32>,
    ) -> Control {
        self.save(trainer, model, opt)
    }

    fn on_batch_state(&mut self, trainer: &Trainer, model: &Sequential<f32>, opt: &Optimizer<f32>) -> Control {
        match self.every {
            Some(every) if self.last.elapsed() >= every => self.save(trainer, model, opt),
            _ => Control::Continue,
        }
    }

    fn on_interrupt(&mut self, trainer: &Trainer, model: &Sequential<f32>, opt: &Optimizer<f32>) {
        self.save(trainer, model, opt);
    }
}
