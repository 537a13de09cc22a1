//! What every source loader produces: samples as stored with their labels
//! ([`RawData`]), the options that steer them ([`ReadOptions`]) and which
//! half of a source to read ([`Role`]). One small loader per source format
//! sits beside this file, each thin over [`crate::io`]; the dispatcher that
//! picks one from a data spec is [`crate::sources`].

pub mod builtin;
pub mod hdf5;
pub mod idx;
pub mod images;
pub mod npy;
pub mod npz;
pub mod parquet;
pub mod series;
pub mod table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::images::Channels;
use super::table::LabelColumn;
use crate::error::{Error, Result};
use crate::io::array::Array;

/// Which part of a source to read, where the source holds both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The training part (`train` files, `x_train`/`y_train` members).
    Train,
    /// The test part (`t10k`/`test` files, `x_test`/`y_test` members).
    Test,
    /// A separate validation set (`--valid`): a Hub folder's `validation`
    /// split, `x_val`/`x_valid` members, else as the training part of a
    /// file; the test part of an IDX folder or a built-in set.
    Valid,
}

/// How to find samples and labels inside a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    /// Name of the HDF5 dataset or NPZ member holding the samples; guessed (`images`, `x`, `X`, …) when `None`.
    pub x_key: Option<String>,
    /// Name of the HDF5 dataset or NPZ member holding the labels; guessed (`labels`, `y`, `Y`, …) when `None`.
    pub y_key: Option<String>,
    /// One dataset per class, in label order (HDF5/NPZ).
    pub class_keys: Vec<String>,
    /// Labels of an `.npy` sample file.
    pub labels_file: Option<PathBuf>,
    /// Which column of a CSV table holds the labels (default: the last).
    pub label_column: LabelColumn,
    /// Pixel channels to decode image folders to (default [`Channels::Auto`]).
    pub channels: Channels,
    /// Size `[h, w]` to resize every image of a folder to; `None`: images must share one size.
    pub resize: Option<[usize; 2]>,
    /// Zero-pad time series of unequal lengths at the end.
    pub pad_series: bool,
    /// Accept samples without labels (prediction); they get label 0.
    #[serde(skip)]
    pub allow_unlabeled: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            x_key: None,
            y_key: None,
            class_keys: Vec::new(),
            labels_file: None,
            label_column: LabelColumn::default(),
            channels: Channels::Auto,
            resize: None,
            pad_series: false,
            allow_unlabeled: false,
        }
    }
}

/// Samples as stored (`[n, …]`, not yet scaled or arranged) with labels.
#[derive(Clone, Debug, PartialEq)]
pub struct RawData {
    /// Samples as stored, `[n, …]`, with their stored element type.
    pub x: Array,
    /// Class index of each sample, into `class_names` when that is not empty.
    pub labels: Vec<u32>,
    /// Names of the classes in label order; empty when the source has none.
    pub class_names: Vec<String>,
    /// Where the data came from, for messages and reports.
    pub origin: String,
    /// True when the samples are images stored channels-first already.
    pub channels_first: bool,
}

/// What preprocessing needs to know of stored samples, without the values:
/// the shape (`[n, …]`), whether they are bytes, and whether images are
/// channels-first already.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// Shape of the samples, `[n, …]`.
    pub shape: Vec<usize>,
    /// True when the values are bytes (scaled by 1/255 by default).
    pub bytes: bool,
    /// True when the samples are images stored channels-first already.
    pub channels_first: bool,
}

impl RawData {
    /// The shape and kind of the samples.
    pub fn stored(&self) -> Stored {
        Stored {
            shape: self.x.shape.clone(),
            bytes: self.x.is_bytes(),
            channels_first: self.channels_first,
        }
    }

    /// Number of classes: one more than the largest label, or the number of
    /// class names if larger.
    pub fn n_classes(&self) -> usize {
        let from_labels = crate::io::array::n_classes(&self.labels);
        from_labels.max(self.class_names.len())
    }

    /// Number of samples (the first axis of `x`).
    pub fn len(&self) -> usize {
        self.x.shape.first().copied().unwrap_or(0)
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) fn lower_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Stacks per-class arrays (`[n_c, …]` each) into one array with labels.
pub(crate) fn stack_classes(path: &Path, parts: Vec<(String, Array)>) -> Result<(Array, Vec<u32>, Vec<String>)> {
    let item: Vec<usize> = parts[0].1.shape[1..].to_vec();
    let mut data = Vec::new();
    let mut labels = Vec::new();
    let mut names = Vec::new();
    for (label, (name, arr)) in parts.into_iter().enumerate() {
        if arr.shape.len() < 2 || arr.shape[1..] != item[..] {
            return Err(Error::format(
                path,
                format!(
                    "class {name:?} has samples of shape {:?}, the first class {item:?}",
                    &arr.shape[1..]
                ),
            ));
        }
        labels.extend(std::iter::repeat_n(label as u32, arr.shape[0]));
        data.extend(arr.to_f32());
        names.push(name);
    }
    let mut shape = vec![labels.len()];
    shape.extend_from_slice(&item);
    Ok((Array::from_f32(&shape, data), labels, names))
}

fn check_pair(path: &Path, x: &Array, labels: &[u32]) -> Result<()> {
    let n = x.shape.first().copied().unwrap_or(0);
    if n != labels.len() {
        return Err(Error::format(path, format!("{n} samples but {} labels", labels.len())));
    }
    if x.shape.len() < 2 {
        return Err(Error::format(
            path,
            format!("samples must be an [n, …] array, got shape {:?}", x.shape),
        ));
    }
    Ok(())
}

pub(crate) fn first_present<'a>(names: &'a [String], candidates: &[&str]) -> Option<&'a String> {
    candidates.iter().find_map(|c| names.iter().find(|n| n.as_str() == *c))
}

/// Checks what a loader produced: as many labels as samples, samples at
/// least `[n, …]`, and not empty.
pub fn check(raw: RawData) -> Result<RawData> {
    let path = PathBuf::from(&raw.origin);
    check_pair(&path, &raw.x, &raw.labels)?;
    if raw.labels.is_empty() {
        return Err(Error::format(&path, "the data set is empty"));
    }
    Ok(raw)
}

/// `dir (train)`, `dir (validation)` or `dir (test_name)`: the origin of one part of a source.
pub(crate) fn role_origin(what: &str, role: Role, test_name: &str) -> String {
    let part = match role {
        Role::Train => "train",
        Role::Valid => "validation",
        Role::Test => test_name,
    };
    format!("{what} ({part})")
}
