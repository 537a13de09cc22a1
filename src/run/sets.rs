//! The data sets of a run — training, validation and test — read and
//! arranged the same way when training starts, when it resumes and when a
//! run is evaluated.

use crate::data::batches::SampleSet;
use crate::data::preprocess::Preprocess;
use crate::data::source::{RawData, ReadOptions, Role};
use crate::data::stream::StreamSet;
use crate::data::stream::files::{self, Opened};
use crate::data::{Targets, split_indices};
use crate::error::{Error, Result};
use crate::sources::{self, Source};

use super::manifest::DataRecord;

/// The data sets of a run, in memory or streamed from disk
/// ([`Sets::build_streamed`]).
pub struct Sets {
    /// The training split.
    pub train: SampleSet,
    /// The validation split, when the run has one.
    pub valid: Option<SampleSet>,
    /// The test set and a description of where it came from.
    pub test: Option<(String, SampleSet)>,
    /// One name per class the labels index.
    pub class_names: Vec<String>,
}

/// Reads `spec` (a path or `builtin:NAME`) as raw samples.
pub fn read_raw(spec: &str, role: Role, opts: &ReadOptions) -> Result<RawData> {
    sources::read(&sources::detect(spec)?, role, opts)
}

/// The data of `spec` opened for streaming as `role`, when it is a file
/// striate can stream (`.npy`, HDF5, Parquet or a folder of Parquet
/// shards); `None` for other sources.
pub fn open_stream(spec: &str, role: Role, opts: &ReadOptions) -> Result<Option<Opened>> {
    match sources::detect(spec)? {
        Source::Npy(p) if !p.to_string_lossy().to_ascii_lowercase().ends_with(".gz") => {
            files::open(&p, role, opts).map(Some)
        }
        Source::Hdf5(p) | Source::Parquet(p) => files::open(&p, role, opts).map(Some),
        _ => Ok(None),
    }
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
    ///
    /// The raw data are dropped once arranged and the splits are taken in
    /// place, so at most about two copies of the samples are held at once.
    pub fn build(rec: &DataRecord, mut raw_train: RawData, prep: &mut Preprocess, fit: bool) -> Result<Sets> {
        let mut all = prep.arrange(&raw_train)?;
        let mut class_names = std::mem::take(&mut raw_train.class_names);
        let train_origin = std::mem::take(&mut raw_train.origin);
        drop(raw_train);
        if let Some(n) = rec.limit {
            if n == 0 {
                return Err(Error::invalid("--limit", "0 leaves no training data"));
            }
            all = all.sample(n, rec.split_seed ^ 0x11A1);
        }
        let mut test = None;
        if let Some(f) = rec.test_split {
            let held = all.split_off(f, rec.split_seed).map_err(split_error("--test-split"))?;
            test = Some((format!("{:.0}% held out of {}", f * 100.0, train_origin), held));
        } else if let Some(spec) = &rec.test {
            let raw = read_raw(spec, Role::Test, &rec.read)?;
            if class_names.is_empty() {
                class_names = raw.class_names.clone();
            }
            test = Some((raw.origin.clone(), prep.arrange(&raw)?));
        }
        let mut valid = None;
        if let Some(f) = rec.valid_split {
            let held = all
                .split_off(f, rec.split_seed ^ 0x5EED)
                .map_err(split_error("--valid-split"))?;
            valid = Some(held);
        } else if let Some(spec) = &rec.valid {
            let raw = read_raw(spec, Role::Valid, &rec.read)?;
            valid = Some(prep.arrange(&raw)?);
        }
        if fit {
            prep.fit(&all);
        }
        for d in [Some(&mut all), valid.as_mut(), test.as_mut().map(|(_, t)| t)]
            .into_iter()
            .flatten()
        {
            prep.standardize(d);
        }
        let mut sets = Sets {
            train: SampleSet::Memory(all),
            valid: valid.map(SampleSet::Memory),
            test: test.map(|(o, t)| (o, SampleSet::Memory(t))),
            class_names,
        };
        sets.agree_on_classes();
        Ok(sets)
    }

    /// [`Sets::build`] for a training file read a batch at a time: the
    /// splits are chosen from the labels alone, exactly as in memory, and
    /// are sets of rows of the same file (validation and test are read by
    /// positioned reads when evaluated, never held whole); standardisation
    /// statistics are fitted by streaming passes over the training rows.
    /// Separate validation and test files stream as well when they are
    /// `.npy`, HDF5 or Parquet, and are read into memory otherwise.
    pub fn build_streamed(rec: &DataRecord, opened: Opened, prep: &mut Preprocess, fit: bool) -> Result<Sets> {
        let class_names = opened.class_names;
        let mut all = StreamSet::new(opened.source, opened.labels, prep)?;
        all.class_names = class_names.clone();
        if let Some(b) = rec.shuffle_buffer {
            if b == 0 {
                return Err(Error::invalid(
                    "--shuffle-buffer",
                    "0 rows cannot shuffle; give at least 1",
                ));
            }
            all.buffer = b;
        }
        if let Some(n) = rec.limit {
            if n == 0 {
                return Err(Error::invalid("--limit", "0 leaves no training data"));
            }
            let keep = crate::data::sample_indices(all.len(), all.targets.labels(), n, rec.split_seed ^ 0x11A1);
            all = all.subset(&keep)?;
        }
        let split = |set: &StreamSet, f: f64, seed: u64, flag: &str| -> Result<(StreamSet, StreamSet)> {
            let k = match &set.targets {
                Targets::Classes { n_classes, .. } => *n_classes,
                Targets::Values(_) => 0,
            };
            let (keep, held) = split_indices(set.len(), set.targets.labels(), k, f, seed).map_err(split_error(flag))?;
            Ok((set.subset(&keep)?, set.subset(&held)?))
        };
        let mut test = None;
        if let Some(f) = rec.test_split {
            let (rest, held) = split(&all, f, rec.split_seed, "--test-split")?;
            test = Some((format!("{:.0}% held out of {}", f * 100.0, all.origin()), held));
            all = rest;
        }
        let mut valid = None;
        if let Some(f) = rec.valid_split {
            let (rest, held) = split(&all, f, rec.split_seed ^ 0x5EED, "--valid-split")?;
            valid = Some(held);
            all = rest;
        }
        if fit {
            all.fit(prep)?;
        }
        for s in [Some(&mut all), valid.as_mut(), test.as_mut().map(|(_, t)| t)]
            .into_iter()
            .flatten()
        {
            s.set_prep(prep);
        }
        // Separate validation and test files stream too when they can (the
        // reference data set's are 400,000 jets each); others are read whole.
        // A file the streaming readers refuse (a Fortran-order .npy, say)
        // may still load whole, as it did before they streamed.
        let separate = |spec: &String, role: Role| -> Result<(String, SampleSet)> {
            if let Ok(Some(opened)) = open_stream(spec, role, &rec.read) {
                let mut set = StreamSet::new(opened.source, opened.labels, prep)?;
                set.class_names = opened.class_names;
                return Ok((set.origin(), SampleSet::Stream(set)));
            }
            let raw = read_raw(spec, role, &rec.read)?;
            Ok((raw.origin.clone(), SampleSet::Memory(prep.apply(&raw)?)))
        };
        let test = match (&rec.test, test) {
            (Some(spec), None) => Some(separate(spec, Role::Test)?),
            (_, t) => t.map(|(o, t)| (o, SampleSet::Stream(t))),
        };
        let valid = match (&rec.valid, valid) {
            (Some(spec), None) => Some(separate(spec, Role::Valid)?.1),
            (_, v) => v.map(SampleSet::Stream),
        };
        let mut sets = Sets {
            train: SampleSet::Stream(all),
            valid,
            test,
            class_names,
        };
        sets.agree_on_classes();
        Ok(sets)
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut SampleSet> {
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
        .map(|d| match d.targets() {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values(_) => 0,
        })
        .max()
        .unwrap_or(0)
        .max(self.class_names.len());
        for d in self.all_mut() {
            if let Targets::Classes { n_classes, .. } = d.targets_mut() {
                *n_classes = k;
            }
        }
        if self.class_names.len() != k {
            self.class_names = (0..k).map(|c| c.to_string()).collect();
        }
    }

    /// The set a final evaluation uses — the test set, else validation, else
    /// the training data — with a description of it.
    pub fn evaluation_set(&self) -> (String, &SampleSet) {
        match (&self.test, &self.valid) {
            (Some((origin, t)), _) => (format!("test set ({origin})"), t),
            (None, Some(v)) => ("validation set".into(), v),
            _ => ("training set".into(), &self.train),
        }
    }
}
