//! The files of a run directory: every name in one place.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Charts a run writes, each as `STEM.svg` and `STEM.png`.
pub const CHART_STEMS: &[&str] = &[
    "loss",
    "accuracy",
    "auc",
    "confusion_matrix",
    "samples",
    "roc",
    "class_means",
    "lr_find",
];

/// A run directory and the names of the files in it.
///
/// | file | content |
/// |---|---|
/// | `model.safetensors` | weights, PyTorch names |
/// | `model.toml` | the [`Manifest`](super::Manifest) |
/// | `checkpoint.safetensors` | weights + optimizer moments, progress and RNG state |
/// | `history.csv` | one row per epoch |
/// | `metrics.json` | the final evaluation |
/// | `STEM.svg`, `STEM.png` | charts ([`CHART_STEMS`]) |
/// | `report.html` | everything above on one self-contained page |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path` (nothing is created).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir { path: path.into() }
    }

    /// The next free `runs/NAME-N`.
    pub fn next_free(name: &str) -> Self {
        let path = (1..)
            .map(|i| PathBuf::from(format!("runs/{name}-{i}")))
            .find(|p| !p.exists())
            .unwrap_or_default();
        RunDir { path }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `model.toml`.
    pub fn manifest(&self) -> PathBuf {
        self.path.join("model.toml")
    }

    /// `model.safetensors`: the trained weights.
    pub fn weights(&self) -> PathBuf {
        self.path.join("model.safetensors")
    }

    /// `checkpoint.safetensors`: the resumable state.
    pub fn checkpoint(&self) -> PathBuf {
        self.path.join("checkpoint.safetensors")
    }

    /// `history.csv`.
    pub fn history(&self) -> PathBuf {
        self.path.join("history.csv")
    }

    /// `metrics.json`.
    pub fn metrics(&self) -> PathBuf {
        self.path.join("metrics.json")
    }

    /// `report.html`.
    pub fn report(&self) -> PathBuf {
        self.path.join("report.html")
    }

    /// `lr_find.csv`: the learning-rate finder's sweep (`striate lr-find`).
    pub fn lr_find_table(&self) -> PathBuf {
        self.path.join("lr_find.csv")
    }

    /// A chart's file: `STEM.EXT`.
    pub fn chart(&self, stem: &str, ext: &str) -> PathBuf {
        self.path.join(format!("{stem}.{ext}"))
    }

    /// Every file a run may write.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![
            self.manifest(),
            self.weights(),
            self.checkpoint(),
            self.history(),
            self.metrics(),
            self.report(),
            self.lr_find_table(),
        ];
        for stem in CHART_STEMS {
            files.push(self.chart(stem, "svg"));
            files.push(self.chart(stem, "png"));
        }
        files
    }

    /// Makes the directory ready for a new run. A directory that already holds
    /// a run is an error unless `overwrite`, which removes exactly the files a
    /// run writes (nothing else in the folder).
    pub fn prepare(&self, overwrite: bool) -> Result<()> {
        let dir = &self.path;
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::invalid(dir.display().to_string(), "exists and is not a folder"));
            }
            let files = self.files();
            if files.iter().any(|f| f.exists()) && !overwrite {
                return Err(Error::invalid(
                    dir.display().to_string(),
                    "already holds a run; pass --overwrite to replace it, or --resume to continue it",
                ));
            }
            for f in files.iter().filter(|f| f.exists()) {
                std::fs::remove_file(f).map_err(|e| Error::io(f, e))?;
            }
            self.remove_stale()?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
    }

    /// True when the directory holds a run's manifest.
    pub fn has_run(&self) -> bool {
        self.manifest().exists()
    }

    /// Removes the temporary files (`.NAME.tmp-PID`) that a killed run left
    /// behind; returns how many.
    pub fn remove_stale(&self) -> Result<usize> {
        crate::atomic::remove_stale(&self.files())
    }
}
