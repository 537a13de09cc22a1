//! The data sets of a run — training, validation and test — read and
//! arranged the same way when training starts, when it resumes and when a
//! run is evaluated.

use crate::data::preprocess::Preprocess;
use crate::data::source::{RawData, ReadOptions, Role};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::sources::{self, Source};

use super::manifest::DataRecord;

/// The data sets of a run.
pub struct Sets {
    /// The training split.
    pub train: Dataset,
    /// The validation split, when the run has one.
    pub valid: Option<Dataset>,
    /// The test set and a description of where it came from.
    pub test: Option<(String, Dataset)>,
    /// One name per class the labels index.
    pub class_names: Vec<String>,
}

/// Reads `spec` (a path or `builtin:NAME`) as raw samples.
pub fn read_raw(spec: &str, role: Role, opts: &ReadOptions) -> Result<RawData> {
    sources::read(&sources::detect(spec)?, role, opts)
}

/// True when the source holds a test split of its own (an IDX folder, a
/// built-in data set).
pub fn has_own_test_split(spec: &str) -> bool {
    matches!(sources::detect(spec), Ok(Source::IdxDir(_)) | Ok(Source::Builtin(_)))
}

/// A split flag's error, naming the flag.
fn split_error(flag: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| Error::invalid(flag, e.to_string())
}

impl Sets {
    /// Builds the sets a record describes from the raw training data,
    /// arranging samples with `prep`. With `fit`, standardisation statistics
    /// are computed on the training split first (a new run); otherwise the
    /// recorded ones are used (resume).
    pub fn build(rec: &DataRecord, raw_train: &RawData, prep: &mut Preprocess, fit: bool) -> Result<Sets> {
        let mut all = prep.arrange(raw_train)?;
        if let Some(n) = rec.limit {
            if n == 0 {
                return Err(Error::invalid("--limit", "0 leaves no training data"));
            }
            all = all.sample(n, rec.split_seed ^ 0x11A1);
        }
        let mut class_names = raw_train.class_names.clone();
        let mut test = None;
        if let Some(f) = rec.test_split {
            let (rest, held) = all.split(f, rec.split_seed).map_err(split_error("--test-split"))?;
            all = rest;
            test = Some((format!("{:.0}% held out of {}", f * 100.0, raw_train.origin), held));
        } else if let Some(spec) = &rec.test {
            let raw = read_raw(spec, Role::Test, &rec.read)?;
            if class_names.is_empty() {
                class_names = raw.class_names.clone();
            }
            test = Some((raw.origin.clone(), prep.arrange(&raw)?));
        }
        let mut valid = None;
        if let Some(f) = rec.valid_split {
            let (rest, held) = all
                .split(f, rec.split_seed ^ 0x5EED)
                .map_err(split_error("--valid-split"))?;
            all = rest;
            valid = Some(held);
        } else if let Some(spec) = &rec.valid {
            let raw = read_raw(spec, Role::Train, &rec.read)?;
            valid = Some(prep.arrange(&raw)?);
        }
        if fit {
            prep.fit(&all);
        }
        let mut sets = Sets {
            train: all,
            valid,
            test,
            class_names,
        };
        for d in sets.all_mut() {
            prep.standardize(d);
        }
        sets.agree_on_classes();
        Ok(sets)
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut Dataset> {
        [
            Some(&mut self.train),
            self.valid.as_mut(),
            self.test.as_mut().map(|(_, t)| t),
        ]
        .into_iter()
        .flatten()
    }

    /// Every set must agree on the number of classes the labels index.
    fn agree_on_classes(&mut self) {
        let k = [
            Some(&self.train),
            self.valid.as_ref(),
            self.test.as_ref().map(|(_, t)| t),
        ]
        .into_iter()
        .flatten()
        .map(|d| d.n_classes())
        .max()
        .unwrap_or(0)
        .max(self.class_names.len());
        for d in self.all_mut() {
            if let Targets::Classes { n_classes, .. } = &mut d.targets {
                *n_classes = k;
            }
        }
        if self.class_names.len() != k {
            self.class_names = (0..k).map(|c| c.to_string()).collect();
        }
    }

    /// The set a final evaluation uses — the test set, else validation, else
    /// the training data — with a description of it.
    pub fn evaluation_set(&self) -> (String, &Dataset) {
        match (&self.test, &self.valid) {
            (Some((origin, t)), _) => (format!("test set ({origin})"), t),
            (None, Some(v)) => ("validation set".into(), v),
            _ => ("training set".into(), &self.train),
        }
    }
}
