//! The manifest of a run (`model.toml`): architecture, preprocessing,
//! classes, training settings and where the data came from — everything
//! about a trained model except its weights.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::preprocess::Preprocess;
use crate::data::source::ReadOptions;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::optim::OptimizerConfig;
use crate::train::TrainConfig;

use super::dir::RunDir;

/// Where the data of a run came from, so that it can be read again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Spec of the training data (a path or `builtin:NAME`, see [`crate::sources`]).
    pub train: String,
    /// Spec of a separate validation set, if one was given.
    #[serde(default)]
    pub valid: Option<String>,
    /// Spec of a separate test set, if one was given.
    #[serde(default)]
    pub test: Option<String>,
    /// Fraction of the training data held out for validation, if split off (instead of `valid`).
    #[serde(default)]
    pub valid_split: Option<f64>,
    /// Fraction of the training data held out for testing, if split off (instead of `test`).
    #[serde(default)]
    pub test_split: Option<f64>,
    /// Use only `limit` training samples, if set (a seeded, stratified draw: [`crate::data::Dataset::sample`]).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Seed of the splits.
    #[serde(default)]
    pub split_seed: u64,
    /// How samples and labels were found in the sources.
    #[serde(default)]
    pub read: ReadOptions,
    /// Samples in the training split (checked on resume).
    #[serde(default)]
    pub n_train: usize,
    /// Read the training file a batch at a time instead of whole
    /// (`--stream`, or chosen when it would not fit the memory budget).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// Rows of a streamed set's shuffle buffer; `None`: what 256 MiB of
    /// inputs hold. A streamed epoch's order depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_buffer: Option<usize>,
}

/// Everything about a trained model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of striate that trained the model.
    pub striate_version: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Seed the model's weights were drawn with.
    pub model_seed: u64,
    /// Parameter-name prefixes frozen during training (`--freeze`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frozen: Vec<String>,
    /// The weights the run started from (`--weights`), read again when a
    /// run killed before its first checkpoint is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_weights: Option<std::path::PathBuf>,
    /// How stored samples become model inputs (with the fitted statistics).
    pub preprocess: Preprocess,
    /// Epochs, batch size, loss, early stopping and schedule of the run.
    pub training: TrainConfig,
    /// The optimizer and its hyper-parameters.
    pub optimizer: OptimizerConfig,
    /// Where the data came from.
    pub data: DataRecord,
    /// The architecture.
    pub model: ModelSpec,
}

impl Manifest {
    /// Writes `model.toml` into the run directory.
    pub fn save(&self, dir: &RunDir) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::internal("writing the manifest", e))?;
        crate::atomic::write_str(&dir.manifest(), &text)
    }

    /// Reads `model.toml` of the run directory `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = RunDir::new(dir).manifest();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        toml::from_str(&text).map_err(|e| Error::format(&path, Error::toml_message(&text, &e)))
    }
}
