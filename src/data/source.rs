//! Where data comes from, detected from what the user names:
//!
//! | given | read as |
//! |---|---|
//! | `builtin:shapes` | generated images ([`super::synthetic`]) |
//! | a folder with `train-images-idx3-ubyte[.gz]` | MNIST/Fashion-MNIST IDX; the split is picked by name |
//! | a folder of class subfolders with images | PNG/JPEG/… image folder |
//! | `*.h5`, `*.hdf5` | HDF5: `--x-key`/`--y-key` datasets, or one dataset per class (`--class-keys`) |
//! | `*.npz` | NumPy archive: x/y members by key, or `x_train`/`y_train` (`x_test`/`y_test` for test data) |
//! | `*.npy[.gz]` | NumPy array of samples; labels from `--labels FILE` or the one `*label*.npy` beside it |
//! | `*.csv[.gz]` | table with a label column (last by default) |
//! | `*.ts` | UCR/UEA time series (sktime/aeon format) |
//! | `*.txt`, `*.tsv` | classic UCR time series: label first, then the values |

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::images::{self, Channels};
use super::table::{self, LabelColumn};
use super::{idx, series, synthetic};
use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};
use crate::io::{hdf5, npy, npz};

/// A recognised data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Builtin(String),
    IdxDir(PathBuf),
    ImageFolder(PathBuf),
    Hdf5(PathBuf),
    Npz(PathBuf),
    Npy(PathBuf),
    Table(PathBuf),
    /// `.ts` time series.
    Ts(PathBuf),
    /// Classic UCR text time series.
    UcrText(PathBuf),
}

/// Built-in data sets.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "jets",
        "20x20 images of generated g, q, t, W, Z jets (8,000 per class to train, 2,000 to test)",
    ),
    ("shapes", "16x16 images of 6 generated shapes (1,800 train + 600 test)"),
];

/// Which part of a source to read, where the source holds both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Train,
    Test,
}

/// How to find samples and labels inside a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    pub x_key: Option<String>,
    pub y_key: Option<String>,
    /// One dataset per class, in label order (HDF5/NPZ).
    pub class_keys: Vec<String>,
    /// Labels of an `.npy` sample file.
    pub labels_file: Option<PathBuf>,
    pub label_column: LabelColumn,
    pub channels: Channels,
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
    pub x: Array,
    pub labels: Vec<u32>,
    pub class_names: Vec<String>,
    /// Where the data came from, for messages and reports.
    pub origin: String,
    /// True when the samples are images stored channels-first already.
    pub channels_first: bool,
}

impl RawData {
    /// Number of classes: one more than the largest label, or the number of
    /// class names if larger.
    pub fn n_classes(&self) -> usize {
        let from_labels = self.labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        from_labels.max(self.class_names.len())
    }

    pub fn len(&self) -> usize {
        self.x.shape.first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lower_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Recognises a source from its name.
pub fn detect(spec: &str) -> Result<Source> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        if BUILTINS.iter().any(|(n, _)| *n == name) {
            return Ok(Source::Builtin(name.to_string()));
        }
        let names: Vec<String> = BUILTINS.iter().map(|(n, _)| format!("builtin:{n}")).collect();
        return Err(Error::Data(format!(
            "unknown built-in data {spec:?}; available: {}",
            names.join(", ")
        )));
    }
    let path = PathBuf::from(spec);
    if !path.exists() {
        return Err(Error::not_found(&path));
    }
    if path.is_dir() {
        if idx::is_mnist_dir(&path) {
            return Ok(Source::IdxDir(path));
        }
        if images::is_image_folder(&path) {
            return Ok(Source::ImageFolder(path));
        }
        return Err(Error::format(
            &path,
            "folder is neither an MNIST-layout IDX folder nor class subfolders of images",
        ));
    }
    let name = lower_name(&path);
    let ext_is = |e: &[&str]| e.iter().any(|x| name.ends_with(x));
    if ext_is(&[".h5", ".hdf5", ".hdf"]) {
        Ok(Source::Hdf5(path))
    } else if ext_is(&[".npz"]) {
        Ok(Source::Npz(path))
    } else if ext_is(&[".npy", ".npy.gz"]) {
        Ok(Source::Npy(path))
    } else if ext_is(&[".csv", ".csv.gz"]) {
        Ok(Source::Table(path))
    } else if ext_is(&[".ts"]) {
        Ok(Source::Ts(path))
    } else if ext_is(&[".txt", ".tsv", ".txt.gz", ".tsv.gz"]) {
        Ok(Source::UcrText(path))
    } else if hdf5::is_hdf5(&path) {
        Ok(Source::Hdf5(path))
    } else {
        Err(Error::format(
            &path,
            "unknown data format (expected a folder, .h5/.hdf5, .npy, .npz, .csv, .ts, .txt/.tsv or builtin:NAME)",
        ))
    }
}

/// Stacks per-class arrays (`[n_c, …]` each) into one array with labels.
fn stack_classes(path: &Path, parts: Vec<(String, Array)>) -> Result<(Array, Vec<u32>, Vec<String>)> {
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

fn first_present<'a>(names: &'a [String], candidates: &[&str]) -> Option<&'a String> {
    candidates.iter().find_map(|c| names.iter().find(|n| n.as_str() == *c))
}

/// Reads the samples and labels of a source.
pub fn read(source: &Source, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let raw = match source {
        Source::Builtin(name) if name == "jets" => {
            use crate::jets::{builtin_imager, generator, images_of};
            let (per_class, seed) = if role == Role::Train { (8000, 1) } else { (2000, 2) };
            let jets = generator::generate(&generator::JetGenConfig::default(), per_class, seed)?;
            let imager = builtin_imager();
            let (data, labels, _skipped) = images_of(&jets, &imager)?;
            let npix = imager.pixels.npix;
            RawData {
                x: Array::from_f32(&[labels.len(), imager.pixels.channels.count(), npix, npix], data),
                labels,
                class_names: generator::CLASSES.iter().map(|s| s.to_string()).collect(),
                origin: format!("builtin:jets ({})", if role == Role::Train { "train" } else { "test" }),
                channels_first: true,
            }
        }
        Source::Builtin(name) => {
            let (n, seed) = if role == Role::Train { (1800, 1) } else { (600, 2) };
            let ds = synthetic::shapes(n, 16, 0.3, seed)?;
            RawData {
                x: Array::from_f32(ds.x.shape(), ds.x.data().to_vec()),
                labels: ds.labels().unwrap_or(&[]).to_vec(),
                class_names: ds.class_names.clone(),
                origin: format!("builtin:{name}"),
                channels_first: true,
            }
        }
        Source::IdxDir(dir) => {
            let split = if role == Role::Train {
                idx::Split::Train
            } else {
                idx::Split::Test
            };
            let ds = idx::load_mnist_dir(dir, split)?;
            let (n, h, w) = (ds.len(), ds.x.shape()[2], ds.x.shape()[3]);
            let bytes: Vec<u8> = ds.x.data().iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect();
            RawData {
                x: Array::new(vec![n, 1, h, w], "uint8", Elements::U8(bytes)),
                labels: ds.labels().unwrap_or(&[]).to_vec(),
                class_names: Vec::new(),
                origin: format!(
                    "{} ({})",
                    dir.display(),
                    if role == Role::Train { "train" } else { "t10k" }
                ),
                channels_first: true,
            }
        }
        Source::ImageFolder(dir) => {
            let set = images::read_folder(dir, opts.channels, opts.resize)?;
            RawData {
                x: set.images,
                labels: set.labels,
                class_names: set.class_names,
                origin: dir.display().to_string(),
                channels_first: true,
            }
        }
        Source::Hdf5(path) => {
            let (x, labels, class_names) = if !opts.class_keys.is_empty() {
                let parts = opts
                    .class_keys
                    .iter()
                    .map(|k| Ok((k.clone(), hdf5::read(path, k)?)))
                    .collect::<Result<Vec<_>>>()?;
                stack_classes(path, parts)?
            } else {
                let names: Vec<String> = hdf5::list(path)?.into_iter().map(|d| d.name).collect();
                let x_key = opts
                    .x_key
                    .clone()
                    .or_else(|| first_present(&names, &["images", "x", "X", "data"]).cloned());
                let y_key = opts
                    .y_key
                    .clone()
                    .or_else(|| first_present(&names, &["labels", "y", "Y", "targets"]).cloned());
                let (Some(xk), Some(yk)) = (x_key, y_key) else {
                    return Err(Error::format(
                        path,
                        format!(
                            "cannot tell samples from labels among datasets {}; pass --x-key and --y-key, or --class-keys A,B",
                            names.join(", ")
                        ),
                    ));
                };
                let x = hdf5::read(path, &xk)?;
                let labels = hdf5::read(path, &yk)?.to_labels(path, &format!("label (dataset {yk:?})"))?;
                (x, labels, Vec::new())
            };
            RawData {
                x,
                labels,
                class_names,
                origin: path.display().to_string(),
                channels_first: false,
            }
        }
        Source::Npz(path) => {
            let members = npz::read(path)?;
            let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
            let take = |key: &str| members.iter().find(|(n, _)| n == key).map(|(_, a)| a.clone());
            let (x, labels, class_names) = if !opts.class_keys.is_empty() {
                let parts = opts
                    .class_keys
                    .iter()
                    .map(|k| {
                        take(k)
                            .map(|a| (k.clone(), a))
                            .ok_or_else(|| Error::format(path, format!("no member {k:?}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                stack_classes(path, parts)?
            } else {
                let (xs, ys): (&[&str], &[&str]) = match role {
                    Role::Train => (
                        &["images", "x", "X", "x_train", "X_train"],
                        &["labels", "y", "Y", "y_train"],
                    ),
                    Role::Test => (
                        &["images", "x", "X", "x_test", "X_test"],
                        &["labels", "y", "Y", "y_test"],
                    ),
                };
                let xk = opts.x_key.clone().or_else(|| first_present(&names, xs).cloned());
                let yk = opts.y_key.clone().or_else(|| first_present(&names, ys).cloned());
                let (Some(xk), Some(yk)) = (xk, yk) else {
                    return Err(Error::format(
                        path,
                        format!(
                            "cannot tell samples from labels among members {}; pass --x-key and --y-key",
                            names.join(", ")
                        ),
                    ));
                };
                let x = take(&xk).ok_or_else(|| Error::format(path, format!("no member {xk:?}")))?;
                let y = take(&yk).ok_or_else(|| Error::format(path, format!("no member {yk:?}")))?;
                (x, y.to_labels(path, "label")?, Vec::new())
            };
            RawData {
                x,
                labels,
                class_names,
                origin: path.display().to_string(),
                channels_first: false,
            }
        }
        Source::Npy(path) => {
            let x = npy::read(path)?;
            let labels_path = match &opts.labels_file {
                Some(p) => Some(p.clone()),
                None if opts.allow_unlabeled => sibling_labels(path).ok(),
                None => Some(sibling_labels(path)?),
            };
            let labels = match labels_path {
                Some(lp) => npy::read(&lp)?.to_labels(&lp, "label")?,
                None => vec![0; x.shape.first().copied().unwrap_or(0)],
            };
            RawData {
                x,
                labels,
                class_names: Vec::new(),
                origin: path.display().to_string(),
                channels_first: false,
            }
        }
        Source::Ts(path) | Source::UcrText(path) => {
            let set = if matches!(source, Source::Ts(_)) {
                series::read_ts(path, opts.pad_series)?
            } else {
                series::read_ucr_text(path, opts.pad_series)?
            };
            RawData {
                x: set.x,
                labels: set.labels,
                class_names: set.class_names,
                origin: path.display().to_string(),
                channels_first: true,
            }
        }
        Source::Table(path) => {
            let t = table::read(path, &opts.label_column)?;
            RawData {
                x: t.features,
                labels: t.labels,
                class_names: t.class_names,
                origin: path.display().to_string(),
                channels_first: false,
            }
        }
    };
    let path = PathBuf::from(&raw.origin);
    check_pair(&path, &raw.x, &raw.labels)?;
    if raw.labels.is_empty() {
        return Err(Error::format(&path, "the data set is empty"));
    }
    Ok(raw)
}

/// The labels file beside an `.npy` of samples: the `*label*.npy` there whose
/// name starts with the samples' stem (`x.npy` → `x_labels.npy`), or else
/// the only `*label*.npy` in the folder.
fn sibling_labels(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p != path
                && lower_name(p).contains("label")
                && (lower_name(p).ends_with(".npy") || lower_name(p).ends_with(".npy.gz"))
        })
        .collect();
    found.sort();
    let stem = lower_name(path).split('.').next().unwrap_or("").to_string();
    if let Some(p) = found
        .iter()
        .find(|p| !stem.is_empty() && lower_name(p).starts_with(&stem))
    {
        return Ok(p.clone());
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::format(
            path,
            "no labels: pass --labels FILE.npy (no *label*.npy beside it)",
        )),
        _ => Err(Error::format(
            path,
            "several *label*.npy files beside it; pass --labels FILE.npy",
        )),
    }
}
