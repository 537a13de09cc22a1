//! Reading the data of a run: training, validation and test sets, the same
//! way when training starts, when it resumes and when a run is evaluated.

use anyhow::{Context, Result, bail};
use striate::data::Dataset;
use striate::data::preprocess::Preprocess;
use striate::data::source::{RawData, ReadOptions, Role};
use striate::run::DataRecord;
use striate::sources::{self as source, Source};

/// The data sets of a run.
pub struct Sets {
    pub train: Dataset,
    pub valid: Option<Dataset>,
    /// The test set and a description of where it came from.
    pub test: Option<(String, Dataset)>,
    pub class_names: Vec<String>,
}

/// Reads `spec` (a path or `builtin:NAME`) as raw samples.
pub fn read_raw(spec: &str, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let src = source::detect(spec)?;
    let raw = source::read(&src, role, opts).with_context(|| format!("reading {spec}"))?;
    Ok(raw)
}

/// True when the source holds a test split of its own (an IDX folder).
pub fn has_own_test_split(spec: &str) -> bool {
    matches!(source::detect(spec), Ok(Source::IdxDir(_)) | Ok(Source::Builtin(_)))
}

/// Builds the sets a record describes, arranging samples with `prep`. With
/// `fit`, standardisation statistics are computed on the training split
/// first (a new run); otherwise the recorded ones are used (resume).
pub fn build_sets(rec: &DataRecord, raw_train: &RawData, prep: &mut Preprocess, fit: bool) -> Result<Sets> {
    let mut all = prep.arrange(raw_train)?;
    if let Some(n) = rec.limit {
        if n == 0 {
            bail!("--limit 0 leaves no training data");
        }
        all = all.take(n);
    }
    let mut class_names = raw_train.class_names.clone();
    let mut test = None;
    if let Some(f) = rec.test_split {
        let (rest, held) = all.split(f, rec.split_seed).context("--test-split")?;
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
        let (rest, held) = all.split(f, rec.split_seed ^ 0x5EED).context("--valid-split")?;
        all = rest;
        valid = Some(held);
    } else if let Some(spec) = &rec.valid {
        let raw = read_raw(spec, Role::Train, &rec.read)?;
        valid = Some(prep.arrange(&raw)?);
    }
    if fit {
        prep.fit(&all);
    }
    prep.standardize(&mut all);
    if let Some(v) = valid.as_mut() {
        prep.standardize(v);
    }
    if let Some((_, t)) = test.as_mut() {
        prep.standardize(t);
    }
    // Every set must agree on the number of classes the labels index.
    let k = [Some(&all), valid.as_ref(), test.as_ref().map(|(_, t)| t)]
        .into_iter()
        .flatten()
        .map(|d| d.n_classes())
        .max()
        .unwrap_or(0)
        .max(class_names.len());
    for d in [Some(&mut all), valid.as_mut(), test.as_mut().map(|(_, t)| t)]
        .into_iter()
        .flatten()
    {
        if let striate::data::Targets::Classes { n_classes, .. } = &mut d.targets {
            *n_classes = k;
        }
    }
    if class_names.len() != k {
        class_names = (0..k).map(|c| c.to_string()).collect();
    }
    Ok(Sets {
        train: all,
        valid,
        test,
        class_names,
    })
}
