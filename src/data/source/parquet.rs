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
//!
//! A [`Table`] describes the file or split from its footers; [`load`] reads
//! it whole and [`crate::data::stream::files::ParquetRows`] a row group at a
//! time, both decoding rows through [`Table::read`].

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{RawData, ReadOptions, Role, Stored, first_present};
use crate::data::images::{Channels, push_pixels};
use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};
use crate::io::parquet::{ColumnKind, ParquetFile};

const X_NAMES: &[&str] = &["images", "image", "x", "X", "data", "pixel_values", "features"];
const Y_NAMES: &[&str] = &["label", "labels", "y", "Y", "target", "targets", "is_signal_new"];
/// Rows read from a column at a time.
const SLICE_ROWS: usize = 4096;

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
        Role::Valid => &["validation", "valid", "val"],
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

/// Labels of row group `group` of `file` from column `col`.
fn labels_of(file: &ParquetFile, col: usize, group: usize, what: &str) -> Result<Vec<u32>> {
    let (values, len) = file.read_f32(group, col)?;
    if len != 1 {
        return Err(Error::format(file.path(), format!("{what} is not one value per row")));
    }
    let arr = Array::from_f32(&[values.len()], values);
    arr.to_labels(file.path(), what)
}

/// How a [`Table`]'s samples are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Encoded images (PNG, JPEG), decoded to `c × h × w` bytes, `c` 1
    /// (grey) or 3 (colour), as the first image decides under
    /// [`Channels::Auto`].
    Images {
        /// One grey channel, else red, green and blue.
        gray: bool,
        /// Height of every image.
        h: usize,
        /// Width of every image.
        w: usize,
    },
    /// A numeric list column of `len` values per row.
    Arrays {
        /// Values per row.
        len: usize,
    },
}

/// One file of a [`Table`].
#[derive(Clone, Debug)]
struct Shard {
    path: PathBuf,
    /// The sample column (the image's `bytes` leaf for images) and the label column.
    x_col: usize,
    y_col: usize,
    /// Rows of each row group.
    groups: Vec<usize>,
    /// Index in the table of the shard's first row.
    first: usize,
}

/// A Parquet table of samples and labels — one file, or one split of a
/// folder of shards — as its footers describe it: which columns hold what,
/// where each row group lies, and how a row decodes. Both the in-memory
/// loader ([`load`]) and the streamed reader
/// ([`crate::data::stream::files::ParquetRows`]) decode rows through
/// [`Table::read`]. Holds no open file; cheap to clone.
#[derive(Clone, Debug)]
pub struct Table {
    shards: Vec<Shard>,
    layout: Layout,
    y_key: String,
    rows: usize,
    /// Names of the classes from the `huggingface` metadata (may be empty).
    pub class_names: Vec<String>,
    /// Where the rows come from, for messages.
    pub origin: String,
}

impl Table {
    /// Opens the Parquet file `path`, or the split `role` asks for of the
    /// folder of shards `path`: reads every footer, finds the columns
    /// (`opts`' keys or guessed) and the layout of the samples from the
    /// first row.
    pub fn open(path: &Path, role: Role, opts: &ReadOptions) -> Result<Table> {
        let files = if path.is_dir() {
            split_files(path, role)?
        } else {
            vec![path.to_path_buf()]
        };
        let mut shards = Vec::with_capacity(files.len());
        let mut first_file = None;
        let (mut xk, mut yk, mut images) = (String::new(), String::new(), false);
        let mut rows = 0usize;
        for (i, f) in files.iter().enumerate() {
            let file = ParquetFile::open(f)?;
            if i == 0 {
                (xk, yk) = keys(&file, opts)?;
                images = file.find(&format!("{xk}.bytes")).is_some();
            }
            let x_col = column(&file, &if images { format!("{xk}.bytes") } else { xk.clone() })?;
            shards.push(Shard {
                path: f.clone(),
                x_col,
                y_col: column(&file, &yk)?,
                groups: file.group_rows().to_vec(),
                first: rows,
            });
            rows = rows
                .checked_add(file.rows())
                .ok_or_else(|| Error::format(f, "too many rows"))?;
            if i == 0 {
                first_file = Some(file);
            }
        }
        let class_names = first_file.as_ref().map(|f| class_names(f, &yk)).unwrap_or_default();
        let origin = if path.is_dir() {
            super::role_origin(&path.display().to_string(), role, "test")
        } else {
            path.display().to_string()
        };
        let mut table = Table {
            shards,
            layout: Layout::Arrays { len: 0 },
            y_key: yk,
            rows,
            class_names,
            origin,
        };
        table.layout = table.first_layout(images, opts.channels)?;
        Ok(table)
    }

    /// The layout of the first row (of an empty table: no values, or 0×0 images).
    fn first_layout(&self, images: bool, channels: Channels) -> Result<Layout> {
        let found = self.shards.iter().enumerate().find_map(|(s, shard)| {
            let g = shard.groups.iter().position(|&r| r > 0)?;
            Some((s, g))
        });
        let Some((s, g)) = found else {
            return Ok(if images {
                Layout::Images {
                    gray: channels != Channels::Rgb,
                    h: 0,
                    w: 0,
                }
            } else {
                Layout::Arrays { len: 0 }
            });
        };
        let shard = &self.shards[s];
        let file = ParquetFile::open(&shard.path)?;
        let mut cursor = file.cursor(g, shard.x_col)?;
        if images {
            let mut png = Vec::new();
            cursor.bytes(1, &mut png)?;
            let row = cursor.position().saturating_sub(1);
            let first = png
                .first()
                .ok_or_else(|| Error::format(&shard.path, format!("row group {g} holds no image")))?;
            let img = decode_image(first, &shard.path, row)?;
            let gray = match channels {
                Channels::Gray => true,
                Channels::Rgb => false,
                Channels::Auto => !img.color().has_color(),
            };
            let (h, w) = (img.height() as usize, img.width() as usize);
            Ok(Layout::Images { gray, h, w })
        } else {
            let len = cursor.numbers(1, &mut Vec::new())?.unwrap_or(0);
            Ok(Layout::Arrays { len })
        }
    }

    /// How the samples are stored.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The samples' shape (`[n, c, h, w]` images, `[n, len]` arrays), kind
    /// (images are bytes) and arrangement (images channels-first).
    pub fn stored(&self) -> Stored {
        match self.layout {
            Layout::Images { gray, h, w } => Stored {
                shape: vec![self.rows, if gray { 1 } else { 3 }, h, w],
                bytes: true,
                channels_first: true,
            },
            Layout::Arrays { len } => Stored {
                shape: vec![self.rows, len],
                bytes: false,
                channels_first: false,
            },
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values of one sample.
    pub fn row_len(&self) -> usize {
        self.stored().shape[1..].iter().product()
    }

    /// The row groups of every shard as ranges of the table's rows, in order.
    pub fn groups(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut at = shard.first;
            for &n in &shard.groups {
                out.push(at..at + n);
                at += n;
            }
        }
        out
    }

    /// Number of shards (files).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Opens shard `s`, checking that its row groups are still those of the
    /// footer read by [`Table::open`].
    pub fn open_shard(&self, s: usize) -> Result<ParquetFile> {
        let shard = self
            .shards
            .get(s)
            .ok_or_else(|| Error::internal("reading a Parquet table", format!("no shard {s}")))?;
        let file = ParquetFile::open(&shard.path)?;
        if file.group_rows() != shard.groups {
            return Err(Error::format(&shard.path, "the file changed since it was opened"));
        }
        Ok(file)
    }

    /// Every label of shard `s` (opened as `file`), from the label column alone.
    pub fn labels_of_shard(&self, s: usize, file: &ParquetFile) -> Result<Vec<u32>> {
        let what = format!("label (column {:?})", self.y_key);
        let mut out = Vec::new();
        for g in 0..self.shards[s].groups.len() {
            out.extend(labels_of(file, self.shards[s].y_col, g, &what)?);
        }
        Ok(out)
    }

    /// Every label, shard by shard.
    pub fn labels(&self) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        for s in 0..self.shards.len() {
            out.extend(self.labels_of_shard(s, &self.open_shard(s)?)?);
        }
        Ok(out)
    }

    /// Where the table's rows `rows` lie: `(shard, group, rows of the group)`
    /// for each row group they touch, in order; an error past the end.
    pub fn locate(&self, rows: Range<usize>) -> Result<Vec<(usize, usize, Range<usize>)>> {
        if rows.end > self.rows {
            return Err(Error::Data(format!(
                "{}: rows {}..{} asked for, the table has {}",
                self.origin, rows.start, rows.end, self.rows
            )));
        }
        let mut out = Vec::new();
        for (s, shard) in self.shards.iter().enumerate() {
            let mut at = shard.first;
            for (g, &n) in shard.groups.iter().enumerate() {
                let (lo, hi) = (rows.start.max(at), rows.end.min(at + n));
                if lo < hi {
                    out.push((s, g, lo - at..hi - at));
                }
                at += n;
            }
        }
        Ok(out)
    }

    /// The samples of rows `rows` of row group `group` of shard `s` (opened
    /// as `file`), appended to `out`: images decoded to bytes
    /// ([`Elements::U8`]), arrays as [`Elements::F32`]. Only the column's
    /// rows up to `rows.end` are read, and only the images of `rows` decoded.
    pub fn read(
        &self,
        s: usize,
        file: &ParquetFile,
        group: usize,
        rows: Range<usize>,
        out: &mut Elements,
    ) -> Result<()> {
        let shard = &self.shards[s];
        let mut cursor = file.cursor(group, shard.x_col)?;
        let (mut encoded, mut numbers) = (Vec::new(), Vec::new());
        // The rows before `rows` are read past, then `rows` kept, a slice at a time.
        for (mut left, keep) in [(rows.start, false), (rows.len(), true)] {
            while left > 0 {
                let (first, n) = (cursor.position(), left.min(SLICE_ROWS));
                match (self.layout, &mut *out) {
                    (Layout::Images { gray, h, w }, Elements::U8(bytes)) => {
                        encoded.clear();
                        cursor.bytes(n, &mut encoded)?;
                        if keep {
                            push_images(&shard.path, first, &encoded, (gray, h, w), bytes)?;
                        }
                    }
                    (Layout::Arrays { len }, Elements::F32(values)) => {
                        numbers.clear();
                        if let Some(l) = cursor.numbers(n, &mut numbers)?
                            && l != len
                        {
                            return Err(Error::format(
                                &shard.path,
                                format!("rows of {l} values, earlier rows {len}"),
                            ));
                        }
                        if keep {
                            values.extend(numbers.iter().map(|&v| v as f32));
                        }
                    }
                    _ => {
                        return Err(Error::internal(
                            "reading a Parquet table",
                            "samples asked for in the wrong element type",
                        ));
                    }
                }
                let got = cursor.position() - first;
                if got == 0 {
                    return Err(Error::format(
                        &shard.path,
                        format!(
                            "row group {group} ends before its declared {} rows",
                            shard.groups[group]
                        ),
                    ));
                }
                left -= got.min(left);
            }
        }
        Ok(())
    }

    /// An empty buffer of the element type [`Table::read`] appends to.
    pub fn elements(&self) -> Elements {
        match self.layout {
            Layout::Images { .. } => Elements::U8(Vec::new()),
            Layout::Arrays { .. } => Elements::F32(Vec::new()),
        }
    }
}

/// Decodes the images `encoded` of rows `first…` of `path` and appends
/// their pixels (`gray` or colour planes) to `out`; each must be `h`×`w`.
fn push_images(
    path: &Path,
    first: usize,
    encoded: &[Vec<u8>],
    (gray, h, w): (bool, usize, usize),
    out: &mut Vec<u8>,
) -> Result<()> {
    for (r, data) in encoded.iter().enumerate() {
        let img = decode_image(data, path, first + r)?;
        let (ih, iw) = (img.height() as usize, img.width() as usize);
        if (ih, iw) != (h, w) {
            return Err(Error::format(
                path,
                format!("row {}: image is {ih}×{iw}, the first one {h}×{w}", first + r),
            ));
        }
        push_pixels(&img, gray, out);
    }
    Ok(())
}

/// The image of row `row` of `path`, decoded.
fn decode_image(data: &[u8], path: &Path, row: usize) -> Result<image::DynamicImage> {
    Ok(crate::io::image::decode_bytes(data, path, &format!("row {row}: cannot decode image"))?.image)
}

/// Samples and labels of a Parquet file, or of one split of a folder of shards.
pub fn load(path: &Path, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let table = Table::open(path, role, opts)?;
    let stored = table.stored();
    let (what, elem) = match table.layout {
        Layout::Images { .. } => ("the images of the Parquet data", 1),
        Layout::Arrays { .. } => ("the samples of the Parquet data", 4),
    };
    crate::budget::check_elements(what, crate::budget::mul(what, table.rows, table.row_len())?, elem)?;
    let mut x = table.elements();
    let mut labels = Vec::new();
    for s in 0..table.shards() {
        let file = table.open_shard(s)?;
        labels.extend(table.labels_of_shard(s, &file)?);
        for (g, &n) in table.shards[s].groups.iter().enumerate() {
            table.read(s, &file, g, 0..n, &mut x)?;
        }
    }
    let dtype = if stored.bytes { "uint8" } else { "float32" };
    Ok(RawData {
        x: Array::new(stored.shape, dtype, x),
        labels,
        class_names: table.class_names,
        origin: table.origin,
        channels_first: stored.channels_first,
    })
}
