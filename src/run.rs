//! A run directory: what `striate train` writes and `evaluate`, `predict`
//! and `--resume` read.
//!
//! | file | content |
//! |---|---|
//! | `model.safetensors` | weights, PyTorch names |
//! | `model.toml` | [`Manifest`]: architecture, preprocessing, classes, settings, data |
//! | `checkpoint.safetensors` | weights + optimizer moments, with progress and RNG state as metadata |
//! | `history.csv`, `metrics.json`, plots, `report.html` | results |
//!
//! Every file is written atomically.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::preprocess::Preprocess;
use crate::data::source::ReadOptions;
use crate::error::{Error, Result};
use crate::metrics::{self, ClassScores, ClassificationReport, RocSummary};
use crate::model::{ModelSpec, Sequential};
use crate::optim::{Optimizer, OptimizerConfig, OptimizerState};
use crate::rng::SeededRng;
use crate::tensor::Tensor;
use crate::train::{Evaluation, Progress, TrainConfig, Trainer};
use crate::weights::{Stored, read_safetensors, write_safetensors};

/// Where the data of a run came from, so that it can be read again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    pub train: String,
    #[serde(default)]
    pub valid: Option<String>,
    #[serde(default)]
    pub test: Option<String>,
    #[serde(default)]
    pub valid_split: Option<f64>,
    #[serde(default)]
    pub test_split: Option<f64>,
    #[serde(default)]
    pub limit: Option<usize>,
    /// Seed of the splits.
    #[serde(default)]
    pub split_seed: u64,
    #[serde(default)]
    pub read: ReadOptions,
    /// Samples in the training split (checked on resume).
    #[serde(default)]
    pub n_train: usize,
}

/// Everything about a trained model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub striate_version: String,
    pub classes: Vec<String>,
    pub model_seed: u64,
    pub preprocess: Preprocess,
    pub training: TrainConfig,
    pub optimizer: OptimizerConfig,
    pub data: DataRecord,
    pub model: ModelSpec,
}

pub const MANIFEST: &str = "model.toml";
pub const WEIGHTS: &str = "model.safetensors";
pub const CHECKPOINT: &str = "checkpoint.safetensors";

impl Manifest {
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Data(format!("cannot write the manifest: {e}")))?;
        crate::atomic::write_str(&dir.join(MANIFEST), &text)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        toml::from_str(&text).map_err(|e| Error::format(&path, e.to_string().trim().to_string()))
    }
}

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
    let mut md = HashMap::new();
    md.insert("format".into(), "striate-checkpoint-1".into());
    md.insert("progress".into(), to_json(&trainer.progress)?);
    md.insert("optimizer".into(), to_json(&meta)?);
    md.insert("rng".into(), to_json(model.rng_state())?);
    write_safetensors(path, &tensors, Some(md))
}

fn to_json<V: Serialize>(v: &V) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Data(format!("cannot serialise checkpoint state: {e}")))
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub model_state: BTreeMap<String, Stored>,
    pub optimizer: OptimizerState,
    pub optimizer_tensors: Vec<(String, Tensor<f32>)>,
    pub progress: Progress,
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

/// What `metrics.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub n_samples: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub classes: Vec<String>,
    /// `confusion_matrix[true][predicted]`.
    pub confusion_matrix: Vec<Vec<u64>>,
    pub per_class: Vec<ClassScores>,
    pub macro_avg: ClassScores,
    pub weighted_avg: ClassScores,
    /// Top-5 accuracy when there are more than 5 classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top5_accuracy: Option<f64>,
    /// Area under the ROC curve, for two classes (class 1 is the signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    /// ROC summaries: class 1 against class 0 for two classes, each class
    /// against the rest otherwise (AUC and background rejection `1/εB` at
    /// chosen signal efficiencies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roc: Vec<RocSummary>,
    /// Mean one-vs-rest AUC (more than two classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc_macro: Option<f64>,
}

/// Signal efficiencies at which background rejection is reported by default.
pub const DEFAULT_SIGNAL_EFFICIENCIES: [f64; 2] = [0.3, 0.5];

/// Metrics of an evaluation against labels; ROC summaries at the signal
/// efficiencies `effs`.
pub fn eval_report(e: &Evaluation, labels: &[u32], classes: &[String], effs: &[f64]) -> Result<EvalReport> {
    let k = classes.len().max(e.width).max(2);
    let names: Vec<String> = (0..k)
        .map(|c| classes.get(c).cloned().unwrap_or_else(|| c.to_string()))
        .collect();
    let cm = metrics::confusion_matrix(&e.predicted, labels, k);
    let report = ClassificationReport::from_confusion(&cm, &names);
    let top5 = (e.width > 5).then(|| metrics::top_k_accuracy(&e.outputs, e.width, labels, 5));
    let both_present = |c: u32| labels.contains(&c) && labels.iter().any(|&l| l != c);
    let roc = if k == 2 {
        if both_present(1) {
            let score: Vec<f64> = if e.width == 1 {
                e.outputs.iter().map(|&v| v as f64).collect()
            } else {
                e.outputs.chunks_exact(e.width).map(|r| r[1] as f64).collect()
            };
            let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
            vec![metrics::roc_summary(&names[1], &positive, &score, effs)?]
        } else {
            Vec::new()
        }
    } else {
        metrics::one_vs_rest(&e.outputs, e.width, labels, &names, effs)?
    };
    let auc = (k == 2).then(|| roc.first().map(|r| r.auc)).flatten();
    let auc_macro = (k > 2 && !roc.is_empty()).then(|| roc.iter().map(|r| r.auc).sum::<f64>() / roc.len() as f64);
    Ok(EvalReport {
        n_samples: labels.len(),
        loss: e.loss,
        accuracy: report.accuracy,
        classes: names,
        confusion_matrix: cm,
        per_class: report.per_class,
        macro_avg: report.macro_avg,
        weighted_avg: report.weighted_avg,
        top5_accuracy: top5,
        auc,
        roc,
        auc_macro,
    })
}

impl EvalReport {
    /// The scikit-learn style text report.
    pub fn classification_report(&self) -> ClassificationReport {
        ClassificationReport {
            per_class: self.per_class.clone(),
            accuracy: self.accuracy,
            macro_avg: self.macro_avg.clone(),
            weighted_avg: self.weighted_avg.clone(),
        }
    }
}
