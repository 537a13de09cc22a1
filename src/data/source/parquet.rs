//! Parquet files and folders of Parquet shards ([`crate::io::parquet`]), as
//! the Hugging Face Hub lays them out (`data/train-00000-of-00003.parquet`,
//! `data/test-…`; or `default/train/0000.parquet`): the split is picked by
//! file name (or folder) and the role.
//!
//! Two layouts:
//! - **images**: an `image` column (`datasets`' `Image()` feature, a struct
//!   of PNG/JPEG `bytes` and a `path`) and a `label` column, as
//!   `dl4phys/top_tagging_images`; decoded to `[n, c, h, w]` bytes.
//! - **arrays**: one numeric list column (`--x-key`, or guessed: the only
//!   list column, or `images`, `x`, `X`, `data`, `pixel_values`) and a
//!   label column (`--y-key`, or `label`, `labels`, `y`, `Y`, `target`,
//!   `is_signal_new`); every row's list has the same length.
//!
//! Class names come from the `huggingface` metadata of a `ClassLabel`
//! column when the file has them.

use std::path::{Path, PathBuf};

use super::{RawData, ReadOptions, Role, first_present};
use crate::data::images::{Channels, push_pixels};
use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};
use crate::io::parquet::{ColumnKind, ParquetFile};

const X_NAMES: &[&str] = &["images", "image", "x", "X", "data", "pixel_values", "features"];
const Y_NAMES: &[&str] = &["label", "labels", "y", "Y", "target", "targets", "is_signal_new"];

/// The split a shard belongs to: `train` of `train-00000-of-00003.parquet`
/// or of `train/0000.parquet`, else the file's stem.
fn split_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
        let parent = path.parent().and_then(|p| p.file_name());
        return parent.map(|p| p.to_string_lossy().into_owned()).unwrap_or(stem);
    }
    stem.split(['-', '.']).next().unwrap_or_default().to_string()
}

/// The Parquet files under `dir` (two folder levels deep), sorted, grouped
/// by split.
pub fn splits(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut files = Vec::new();
    let mut dirs = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = dirs.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let p = entry.map_err(|e| Error::io(&d, e))?.path();
            if p.is_dir() && depth < 2 {
                dirs.push((p, depth + 1));
            } else if super::lower_name(&p).ends_with(".parquet") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for f in files {
        let split = split_of(&f);
        match out.iter_mut().find(|(s, _)| *s == split) {
            Some((_, v)) => v.push(f),
            None => out.push((split, vec![f])),
        }
    }
    Ok(out)
}

/// True when `dir` holds Parquet files (or its subfolders do).
pub fn is_parquet_dir(dir: &Path) -> bool {
    splits(dir).is_ok_and(|s| !s.is_empty())
}

/// The shards of the split `role` asks for: `train` (or the only split) to
/// train, `test` (else `validation`/`valid`) to test.
pub fn split_files(dir: &Path, role: Role) -> Result<Vec<PathBuf>> {
    let all = splits(dir)?;
    let names: Vec<String> = all.iter().map(|(s, _)| s.clone()).collect();
    let wanted: &[&str] = match role {
        Role::Train => &["train"],
        Role::Test => &["test", "validation", "valid"],
    };
    let pick = first_present(&names, wanted)
        .cloned()
        .or_else(|| match (role, names.as_slice()) {
            (Role::Train, [only]) => Some(only.clone()),
            _ => None,
        });
    match pick {
        Some(name) => Ok(all
            .into_iter()
            .find(|(s, _)| *s == name)
            .map(|(_, f)| f)
            .unwrap_or_default()),
        None if names.is_empty() => Err(Error::format(dir, "no .parquet files in this folder")),
        None => Err(Error::format(
            dir,
            format!(
                "no {} split among the Parquet files' splits {}",
                wanted[0],
                names.join(", ")
            ),
        )),
    }
}

/// Class names of column `label` from the `huggingface` metadata (`ClassLabel` names).
fn class_names(file: &ParquetFile, label: &str) -> Vec<String> {
    let Some(text) = file.metadata("huggingface") else {
        return Vec::new();
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json.pointer(&format!("/info/features/{label}/names"))
        .and_then(|v| v.as_array())
        .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The sample and label columns of `file`: from the options or guessed.
fn keys(file: &ParquetFile, opts: &ReadOptions) -> Result<(String, String)> {
    let fields: Vec<String> = file.columns().iter().map(|c| c.field.clone()).collect();
    let lists: Vec<&String> = file
        .columns()
        .iter()
        .filter(|c| c.depth > 0 && c.kind == ColumnKind::Numeric)
        .map(|c| &c.field)
        .collect();
    let x = opts
        .x_key
        .clone()
        .or_else(|| first_present(&fields, X_NAMES).cloned())
        .or_else(|| (lists.len() == 1).then(|| lists[0].clone()));
    let y = opts.y_key.clone().or_else(|| first_present(&fields, Y_NAMES).cloned());
    match (x, y) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ if fields.iter().any(|f| f == "E_0") => Err(Error::format(
            file.path(),
            "jet constituents (E_0, PX_0, …): turn them into images with `striate pixelate` first",
        )),
        _ => Err(Error::format(
            file.path(),
            format!(
                "cannot tell samples from labels among columns {}; pass --x-key and --y-key",
                fields.join(", ")
            ),
        )),
    }
}

/// Index of the leaf `name` (a column or `field.leaf`) of `file`.
fn column(file: &ParquetFile, name: &str) -> Result<usize> {
    file.find(name).ok_or_else(|| {
        Error::format(
            file.path(),
            format!("no column {name:?} (or it has several leaves: name one, e.g. {name}.bytes)"),
        )
    })
}

/// Labels of every row group of `file` from column `col`.
fn labels_of(file: &ParquetFile, col: usize, group: usize, what: &str) -> Result<Vec<u32>> {
    let (values, len) = file.read_f32(group, col)?;
    if len != 1 {
        return Err(Error::format(file.path(), format!("{what} is not one value per row")));
    }
    let arr = Array::from_f32(&[values.len()], values);
    arr.to_labels(file.path(), what)
}

/// Samples and labels of a Parquet file, or of one split of a folder of shards.
pub fn load(path: &Path, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let files = if path.is_dir() {
        split_files(path, role)?
    } else {
        vec![path.to_path_buf()]
    };
    let first = ParquetFile::open(&files[0])?;
    let (xk, yk) = keys(&first, opts)?;
    let class_names = class_names(&first, &yk);
    let images = first.find(&format!("{xk}.bytes")).is_some();
    let mut acc = Samples::default();
    for (i, f) in files.iter().enumerate() {
        let file = if i == 0 { None } else { Some(ParquetFile::open(f)?) };
        let file = file.as_ref().unwrap_or(&first);
        let x_col = column(file, &if images { format!("{xk}.bytes") } else { xk.clone() })?;
        let y_col = column(file, &yk)?;
        for g in 0..file.group_rows().len() {
            let labels = labels_of(file, y_col, g, &format!("label (column {yk:?})"))?;
            if images {
                acc.push_images(file, x_col, g, opts.channels)?;
            } else {
                acc.push_arrays(file, x_col, g)?;
            }
            acc.labels.extend(labels);
        }
    }
    let origin = if path.is_dir() {
        super::role_origin(&path.display().to_string(), role, "test")
    } else {
        path.display().to_string()
    };
    let x = match acc.pixels {
        Some((gray, h, w)) => {
            let c = if gray { 1 } else { 3 };
            Array::new(vec![acc.labels.len(), c, h, w], "uint8", Elements::U8(acc.bytes))
        }
        None => Array::from_f32(&[acc.values.len() / acc.row_len.max(1), acc.row_len], acc.values),
    };
    Ok(RawData {
        x,
        labels: acc.labels,
        class_names,
        origin,
        channels_first: acc.pixels.is_some(),
    })
}

/// What [`load`] gathers, group by group.
#[derive(Default)]
struct Samples {
    values: Vec<f32>,
    row_len: usize,
    bytes: Vec<u8>,
    /// Grey or colour, and the size of the first image.
    pixels: Option<(bool, usize, usize)>,
    labels: Vec<u32>,
}

impl Samples {
    fn push_arrays(&mut self, file: &ParquetFile, col: usize, group: usize) -> Result<()> {
        let (values, len) = file.read_f32(group, col)?;
        if self.labels.is_empty() && self.values.is_empty() {
            self.row_len = len;
            crate::budget::check_elements(
                "the samples of the Parquet data",
                crate::budget::mul("the samples of the Parquet data", file.rows(), len)?,
                4,
            )?;
        } else if len != self.row_len && !values.is_empty() {
            return Err(Error::format(
                file.path(),
                format!("rows of {len} values, earlier rows {}", self.row_len),
            ));
        }
        self.values.extend(values);
        Ok(())
    }

    fn push_images(&mut self, file: &ParquetFile, col: usize, group: usize, channels: Channels) -> Result<()> {
        let first_row: usize = file.group_rows()[..group].iter().sum();
        for (r, png) in file.read_bytes(group, col)?.into_iter().enumerate() {
            let row = first_row + r;
            let img =
                crate::io::image::decode_bytes(&png, file.path(), &format!("row {row}: cannot decode image"))?.image;
            let (h, w) = (img.height() as usize, img.width() as usize);
            let (gray, h0, w0) = *self.pixels.get_or_insert_with(|| {
                let gray = match channels {
                    Channels::Gray => true,
                    Channels::Rgb => false,
                    Channels::Auto => !img.color().has_color(),
                };
                (gray, h, w)
            });
            if (h, w) != (h0, w0) {
                return Err(Error::format(
                    file.path(),
                    format!("row {row}: image is {h}×{w}, the first one {h0}×{w0}"),
                ));
            }
            if self.bytes.is_empty() {
                let per = h * w * if gray { 1 } else { 3 };
                crate::budget::check_elements(
                    "the images of the Parquet data",
                    crate::budget::mul("the images of the Parquet data", file.rows(), per)?,
                    1,
                )?;
            }
            push_pixels(&img, gray, &mut self.bytes);
        }
        Ok(())
    }
}
