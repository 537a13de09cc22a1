//! [`RowSource`]s over files: `.npy` through positioned reads
//! ([`crate::io::npy::RowReader`]), HDF5 datasets through windowed chunk
//! reads ([`crate::io::hdf5::rows`]) and Parquet tables (a file or a folder
//! of shards) a row group at a time ([`crate::data::source::parquet::Table`]).
//! Labels are read whole (they are small).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::RowSource;
use crate::data::source::parquet::Table;
use crate::data::source::{ReadOptions, Role, Stored};
use crate::error::{Error, Result};
use crate::io::array::Array;
use crate::io::hdf5::rows::{RowWindow, first_dataset};
use crate::io::npy::RowReader;
use crate::io::parquet::ParquetFile;

/// Bytes of stored rows in one block of a file without chunks of its own.
const BLOCK_BYTES: usize = 1 << 20;

/// Blocks of `rows` rows each (the last shorter) over `n` rows.
fn fixed_blocks(n: usize, rows: usize) -> Vec<Range<usize>> {
    let rows = rows.max(1);
    (0..n.div_ceil(rows))
        .map(|b| b * rows..((b + 1) * rows).min(n))
        .collect()
}

/// The rows of a C-order `.npy` file.
pub struct NpyRows {
    path: PathBuf,
    reader: RowReader,
}

impl NpyRows {
    /// Opens `path`, checking that it holds every row its header declares.
    pub fn open(path: &Path) -> Result<Self> {
        let reader = RowReader::open(path)?;
        if reader.header().shape.len() < 2 {
            return Err(Error::format(
                path,
                format!("samples must be an [n, …] array, got shape {:?}", reader.header().shape),
            ));
        }
        if crate::io::npy::item_size(&reader.header().descr).is_none() {
            return Err(Error::format(
                path,
                format!("unsupported dtype {:?}", reader.header().descr),
            ));
        }
        reader.check_length("rows")?;
        Ok(NpyRows {
            path: path.to_path_buf(),
            reader,
        })
    }
}

impl RowSource for NpyRows {
    fn origin(&self) -> String {
        self.path.display().to_string()
    }

    fn stored(&self) -> Stored {
        Stored {
            shape: self.reader.header().shape.clone(),
            bytes: self.reader.header().descr.ends_with("u1"),
            channels_first: false,
        }
    }

    fn blocks(&self) -> Vec<Range<usize>> {
        let size = crate::io::npy::item_size(&self.reader.header().descr).unwrap_or(1);
        let row = (self.reader.row_len() * size).max(1);
        fixed_blocks(self.reader.rows(), BLOCK_BYTES / row)
    }

    fn read_rows(&mut self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        self.reader.read_at(start, count)?.append_f32(out);
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn RowSource>> {
        Ok(Box::new(NpyRows::open(&self.path)?))
    }
}

/// The rows of an HDF5 dataset.
pub struct Hdf5Rows {
    path: PathBuf,
    key: String,
    window: RowWindow,
}

impl Hdf5Rows {
    /// Opens dataset `key` of `path`.
    pub fn open(path: &Path, key: &str) -> Result<Self> {
        Ok(Hdf5Rows {
            path: path.to_path_buf(),
            key: key.to_string(),
            window: RowWindow::open(path, key)?,
        })
    }
}

impl RowSource for Hdf5Rows {
    fn origin(&self) -> String {
        format!("{}:{}", self.path.display(), self.key)
    }

    fn stored(&self) -> Stored {
        Stored {
            shape: self.window.shape().to_vec(),
            bytes: self.window.dtype() == "uint8",
            channels_first: false,
        }
    }

    fn blocks(&self) -> Vec<Range<usize>> {
        let shape = self.window.shape();
        let rows = self.window.chunk_rows().unwrap_or_else(|| {
            let row = shape[1..].iter().product::<usize>().max(1) * 4;
            BLOCK_BYTES / row
        });
        fixed_blocks(shape[0], rows)
    }

    fn read_rows(&mut self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        self.window.read_f32_into(start, count, out)
    }

    fn reopen(&self) -> Result<Box<dyn RowSource>> {
        Ok(Box::new(Hdf5Rows::open(&self.path, &self.key)?))
    }
}

/// The rows of a Parquet table (a file or one split of a folder of shards):
/// its row groups are the blocks, and a read decodes only the rows asked for
/// (images one by one, as the in-memory loader does).
pub struct ParquetRows {
    table: Table,
    /// The shard last read from, kept open.
    file: Option<(usize, ParquetFile)>,
}

impl ParquetRows {
    /// The rows of `table`.
    pub fn new(table: Table) -> Self {
        ParquetRows { table, file: None }
    }
}

impl RowSource for ParquetRows {
    fn origin(&self) -> String {
        self.table.origin.clone()
    }

    fn stored(&self) -> Stored {
        self.table.stored()
    }

    fn blocks(&self) -> Vec<Range<usize>> {
        self.table.groups()
    }

    fn read_rows(&mut self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        let end = start
            .checked_add(count)
            .ok_or_else(|| Error::Data(format!("{}: rows {start}+{count} overflow", self.table.origin)))?;
        for (s, group, rows) in self.table.locate(start..end)? {
            if self.file.as_ref().is_none_or(|(open, _)| *open != s) {
                self.file = Some((s, self.table.open_shard(s)?));
            }
            let Some((_, file)) = &self.file else {
                return Err(Error::internal("streaming Parquet", "no shard open"));
            };
            let mut x = self.table.elements();
            self.table.read(s, file, group, rows, &mut x)?;
            x.append_f32(out);
        }
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn RowSource>> {
        Ok(Box::new(ParquetRows::new(self.table.clone())))
    }
}

/// A file's rows with their labels, as [`open`] finds them.
pub struct Opened {
    /// The rows.
    pub source: Box<dyn RowSource>,
    /// One label per row.
    pub labels: Vec<u32>,
    /// Names of the classes, when the file has them (Parquet's `ClassLabel`).
    pub class_names: Vec<String>,
}

/// Opens a `.npy`, HDF5 or Parquet file (or a folder of Parquet shards,
/// its split for `role`) for streaming, with its labels found as the
/// in-memory loaders find them (`--labels`, a `*label*.npy` beside it;
/// `--x-key`/`--y-key` or the usual dataset or column names).
pub fn open(path: &Path, role: Role, opts: &ReadOptions) -> Result<Opened> {
    let name = crate::data::source::lower_name(path);
    if path.is_dir() || name.ends_with(".parquet") || crate::io::parquet::is_parquet(path) {
        let table = Table::open(path, role, opts)?;
        let labels = table.labels()?;
        let class_names = table.class_names.clone();
        return Ok(Opened {
            source: Box::new(ParquetRows::new(table)),
            labels,
            class_names,
        });
    }
    let (source, labels): (Box<dyn RowSource>, Vec<u32>) = if name.ends_with(".npy") {
        let rows = NpyRows::open(path)?;
        let n = rows.reader.rows();
        let labels = crate::data::source::npy::labels(path, opts, n)?;
        (Box::new(rows), labels)
    } else if crate::io::hdf5::is_hdf5(path) {
        if !opts.class_keys.is_empty() {
            return Err(Error::invalid(
                "--stream",
                "streams one samples dataset with a labels dataset, not --class-keys",
            ));
        }
        let find = |given: &Option<String>, names: &[&str]| -> Result<String> {
            match given {
                Some(k) => Ok(k.clone()),
                None => first_dataset(path, names),
            }
        };
        let xk = find(&opts.x_key, &["images", "x", "X", "data"])?;
        let yk = find(&opts.y_key, &["labels", "y", "Y", "targets"])?;
        let rows = Hdf5Rows::open(path, &xk)?;
        let y = RowWindow::open(path, &yk)?;
        let n = y.shape()[0];
        let arr = Array::new(y.shape().to_vec(), y.dtype(), y.read(0, n)?);
        let labels = arr.to_labels(path, &format!("label (dataset {yk:?})"))?;
        (Box::new(rows), labels)
    } else {
        return Err(Error::invalid(
            "--stream",
            format!("{}: streaming reads .npy, HDF5 and Parquet files", path.display()),
        ));
    };
    Ok(Opened {
        source,
        labels,
        class_names: Vec::new(),
    })
}
