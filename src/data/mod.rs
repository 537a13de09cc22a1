//! Data sets: samples with class labels (or real targets), preprocessing,
//! and one small loader per source format (over [`crate::io`], which owns
//! the formats themselves). `data` knows nothing of jets: the data specs
//! that name jet sources are dispatched by [`crate::sources`].

pub mod augment;
pub mod idx;
pub mod images;
pub mod preprocess;
pub mod series;
pub mod source;
pub mod synthetic;
pub mod table;

use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::tensor::{Tensor, fmt_shape};

/// What a data set's samples are labelled with.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample, each below `n_classes`.
    Classes {
        /// Class index of each sample, in `0..n_classes`.
        labels: Vec<u32>,
        /// Number of classes (may exceed the largest label present).
        n_classes: usize,
    },
    /// Real-valued targets, one row per sample.
    Values(Tensor<f32>),
}

/// Samples `x` (`[n, …]`) with their targets and optional class names.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Samples, `[n, …]` (e.g. `[n, c, h, w]` images, `[n, c, l]` series, `[n, features]` vectors).
    pub x: Tensor<f32>,
    /// What each sample is labelled with (class indices or real values).
    pub targets: Targets,
    /// Names of the classes, in label order (empty when unknown).
    pub class_names: Vec<String>,
}

impl Dataset {
    /// A classification data set; checks sizes, label range and that every
    /// value is finite.
    pub fn classification(x: Tensor<f32>, labels: Vec<u32>, n_classes: usize) -> Result<Self> {
        if x.ndim() < 2 {
            return Err(Error::Data(format!(
                "samples must be an [n, …] array, got shape {}",
                fmt_shape(x.shape())
            )));
        }
        if x.batch() != labels.len() {
            return Err(Error::Data(format!(
                "{} samples but {} labels",
                x.batch(),
                labels.len()
            )));
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(Error::LabelOutOfRange {
                sample: i,
                label: labels[i] as i64,
                n_classes,
            });
        }
        let ds = Dataset {
            x,
            targets: Targets::Classes { labels, n_classes },
            class_names: Vec::new(),
        };
        ds.check_finite()?;
        Ok(ds)
    }

    /// A data set with real-valued targets (`[n, …]`).
    pub fn regression(x: Tensor<f32>, y: Tensor<f32>) -> Result<Self> {
        if x.batch() != y.batch() {
            return Err(Error::Data(format!("{} samples but {} targets", x.batch(), y.batch())));
        }
        let ds = Dataset {
            x,
            targets: Targets::Values(y),
            class_names: Vec::new(),
        };
        ds.check_finite()?;
        Ok(ds)
    }

    /// Sets the class names (in label order) and returns the data set.
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = names;
        self
    }

    fn check_finite(&self) -> Result<()> {
        if let Some(i) = self.x.data().iter().position(|v| !v.is_finite()) {
            let k = self.x.item_len().max(1);
            return Err(Error::Data(format!(
                "sample {} has a non-finite value ({}) at element {}",
                i / k,
                self.x.data()[i],
                i % k
            )));
        }
        if let Targets::Values(y) = &self.targets
            && let Some(i) = y.data().iter().position(|v| !v.is_finite())
        {
            return Err(Error::Data(format!("target {} is not finite", i / y.item_len().max(1))));
        }
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.batch()
    }

    /// True when the data set has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample.
    pub fn sample_shape(&self) -> &[usize] {
        &self.x.shape()[1..]
    }

    /// Class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values(_) => None,
        }
    }

    /// Number of classes (0 for real-valued targets).
    pub fn n_classes(&self) -> usize {
        match &self.targets {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values(_) => 0,
        }
    }

    /// Class names, generated as `0, 1, …` when the data has none.
    pub fn class_names_or_indices(&self) -> Vec<String> {
        if self.class_names.len() == self.n_classes() {
            self.class_names.clone()
        } else {
            (0..self.n_classes()).map(|c| c.to_string()).collect()
        }
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        if let Some(labels) = self.labels() {
            for &l in labels {
                counts[l as usize] += 1;
            }
        }
        counts
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Tensor::default();
        x.gather_items(&self.x, indices);
        let targets = match &self.targets {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(y) => {
                let mut t = Tensor::default();
                t.gather_items(y, indices);
                Targets::Values(t)
            }
        };
        Dataset {
            x,
            targets,
            class_names: self.class_names.clone(),
        }
    }

    /// The first `n` samples (all when fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&idx)
    }

    /// Splits off a fraction for validation after a seeded shuffle:
    /// returns (rest, held out). The split is stratified by class for
    /// classification data, so each class keeps its share.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::invalid(
                "split fraction",
                format!("{fraction} must be between 0 and 1"),
            ));
        }
        let mut rng = SeededRng::new(seed);
        let (mut keep, mut held) = (Vec::new(), Vec::new());
        match self.labels() {
            Some(labels) => {
                for c in 0..self.n_classes() {
                    let mut idx: Vec<usize> = (0..self.len()).filter(|&i| labels[i] as usize == c).collect();
                    rng.shuffle(&mut idx);
                    let n_held = (idx.len() as f64 * fraction).round() as usize;
                    held.extend_from_slice(&idx[..n_held]);
                    keep.extend_from_slice(&idx[n_held..]);
                }
            }
            None => {
                let idx = rng.permutation(self.len());
                let n_held = (self.len() as f64 * fraction).round() as usize;
                held.extend_from_slice(&idx[..n_held]);
                keep.extend_from_slice(&idx[n_held..]);
            }
        }
        keep.sort_unstable();
        held.sort_unstable();
        if keep.is_empty() || held.is_empty() {
            return Err(Error::Data(format!(
                "splitting {} samples by {fraction} leaves an empty part",
                self.len()
            )));
        }
        Ok((self.subset(&keep), self.subset(&held)))
    }
}
