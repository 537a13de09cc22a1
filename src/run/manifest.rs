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
    /// Parameter-name prefixes frozen during training (`--freeze`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frozen: Vec<String>,
    /// The weights the run started from (`--weights`), read again when a
    /// run killed before its first checkpoint is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_weights: Option<std::path::PathBuf>,
    pub preprocess: Preprocess,
    pub training: TrainConfig,
    pub optimizer: OptimizerConfig,
    pub data: DataRecord,
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
