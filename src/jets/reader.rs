//! Readers of jet constituents, streaming batch by batch.
//!
//! Layouts:
//! - **Top Quark Tagging Reference Dataset** (Kasieczka et al.), pandas
//!   HDFStore files (key `table`): columns `E_0, PX_0, PY_0, PZ_0, …,
//!   PZ_199` (constituents interleaved, hardest first, zero-padded), then
//!   `truthE…`, `ttv`, `is_signal_new` (the label). Both the `table`
//!   format (one compound dataset `/table/table`, what the published files
//!   use) and the `fixed` format (`/table/block0_values`, …) are read.
//! - **The same columns in a CSV** file with a header row (`.csv`, `.csv.gz`).
//!   Optional `PID_i` columns give PDG ids (for charged counts).
//! - **The same columns in Parquet** (`dl4phys/top_tagging` on the Hugging
//!   Face Hub): a `.parquet` file or a folder of shards (its `train` split,
//!   or its only one), read row group by row group.
//! - **NumPy**: `[n, particles, 4]` (`E, px, py, pz`) or `[n, particles, 5]`
//!   (with a PDG id), or `[n, 4·particles]` interleaved rows. Labels, when
//!   wanted, come from a separate file.
//!
//! Errors name the row (jet) and the problem. The files themselves are read
//! by [`crate::io`] (pandas tables, `.npy` rows, CSV records); this file
//! only knows which columns make a jet.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::array::Elements;
use crate::io::hdf5::pandas::PandasTable;
use crate::io::npy::RowReader;
use crate::io::parquet::{ColumnCursor, ParquetFile};

/// Jets read from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Index of the first jet in the file.
    pub first: usize,
    /// Constituents `[E, px, py, pz]` of each jet (padding included).
    pub p4: Vec<Vec<[f64; 4]>>,
    /// PDG ids per jet, when the file has them.
    pub pids: Option<Vec<Vec<i64>>>,
    /// Labels per jet (`is_signal_new`), when the file has them.
    pub labels: Option<Vec<u32>>,
}

/// A file of jets read a batch at a time.
pub trait JetSource {
    /// Number of jets, when known without reading the whole file.
    fn len_hint(&self) -> Option<usize>;
    /// The next at most `max` jets, or `None` at the end.
    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>>;
}

/// Where each value of a flat row sits: column indices of `E_i, PX_i, PY_i,
/// PZ_i` per particle, optional `PID_i`, and the label column.
#[derive(Clone, Debug)]
struct Columns {
    particles: Vec<[usize; 4]>,
    pids: Option<Vec<usize>>,
    label: Option<usize>,
}

impl Columns {
    /// From column names (`E_0, PX_0, …`).
    fn from_names(names: &[String], path: &Path) -> Result<Self> {
        let find = |n: &str| names.iter().position(|c| c == n);
        let mut particles = Vec::new();
        let mut pids = Vec::new();
        for i in 0.. {
            let cols = [
                format!("E_{i}"),
                format!("PX_{i}"),
                format!("PY_{i}"),
                format!("PZ_{i}"),
            ];
            let idx: Vec<Option<usize>> = cols.iter().map(|c| find(c)).collect();
            match (idx[0], idx[1], idx[2], idx[3]) {
                (Some(e), Some(x), Some(y), Some(z)) => particles.push([e, x, y, z]),
                (None, None, None, None) => break,
                _ => {
                    return Err(Error::format(
                        path,
                        format!("particle {i} lacks some of the columns E_{i}, PX_{i}, PY_{i}, PZ_{i}"),
                    ));
                }
            }
            if let Some(p) = find(&format!("PID_{i}")) {
                pids.push(p);
            }
        }
        if particles.is_empty() {
            return Err(Error::format(
                path,
                "no E_0, PX_0, PY_0, PZ_0 columns: not a jet-constituent table",
            ));
        }
        let pids = (pids.len() == particles.len()).then_some(pids);
        let label = find("is_signal_new").or_else(|| find("label"));
        Ok(Columns { particles, pids, label })
    }

    /// Interleaved `E, px, py, pz` columns without names.
    fn interleaved(width: usize, path: &Path, row: usize) -> Result<Self> {
        if width == 0 || !width.is_multiple_of(4) {
            return Err(Error::format(
                path,
                format!("row {row}: {width} values, not a multiple of 4 (E, px, py, pz per particle)"),
            ));
        }
        Ok(Columns {
            particles: (0..width / 4)
                .map(|i| [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3])
                .collect(),
            pids: None,
            label: None,
        })
    }

    /// Appends the jet of one row of values to `batch`.
    fn push(&self, row: &dyn Fn(usize) -> f64, batch: &mut Batch, path: &Path, index: usize) -> Result<()> {
        batch.p4.push(
            self.particles
                .iter()
                .map(|c| [row(c[0]), row(c[1]), row(c[2]), row(c[3])])
                .collect(),
        );
        if let (Some(cols), Some(pids)) = (&self.pids, batch.pids.as_mut()) {
            pids.push(cols.iter().map(|&c| row(c) as i64).collect());
        }
        if let (Some(c), Some(labels)) = (self.label, batch.labels.as_mut()) {
            let v = row(c);
            if !(v >= 0.0 && v.fract() == 0.0) {
                return Err(Error::format(
                    path,
                    format!("row {index}: label {v} is not a class index"),
                ));
            }
            labels.push(v as u32);
        }
        Ok(())
    }

    fn empty_batch(&self, first: usize) -> Batch {
        Batch {
            first,
            p4: Vec::new(),
            pids: self.pids.as_ref().map(|_| Vec::new()),
            labels: self.label.map(|_| Vec::new()),
        }
    }
}

/// Opens a jet-constituent file by its extension.
pub fn open(path: &Path) -> Result<Box<dyn JetSource>> {
    if !path.exists() {
        return Err(Error::not_found(path));
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if path.is_dir() {
        let files = crate::data::source::parquet::split_files(path, crate::data::source::Role::Train)?;
        Ok(Box::new(ParquetJets::open(files)?))
    } else if name.ends_with(".parquet") || crate::io::parquet::is_parquet(path) {
        Ok(Box::new(ParquetJets::open(vec![path.to_path_buf()])?))
    } else if name.ends_with(".h5") || name.ends_with(".hdf5") || crate::io::hdf5::is_hdf5(path) {
        Ok(Box::new(PandasHdf::open(path)?))
    } else if name.ends_with(".npy") {
        Ok(Box::new(NpyJets::open(path)?))
    } else if name.ends_with(".csv") || name.ends_with(".csv.gz") {
        Ok(Box::new(CsvJets::open(path)?))
    } else {
        Err(Error::format(
            path,
            "unknown jet-constituent format (expected .h5, .parquet, a folder of Parquet shards, .npy or .csv)",
        ))
    }
}

/// Reads every jet of a file.
pub fn read_all(path: &Path) -> Result<Batch> {
    let mut src = open(path)?;
    let mut all = Batch::default();
    while let Some(b) = src.next_batch(4096)? {
        if all.p4.is_empty() {
            all.pids = b.pids.as_ref().map(|_| Vec::new());
            all.labels = b.labels.as_ref().map(|_| Vec::new());
        }
        all.p4.extend(b.p4);
        if let (Some(a), Some(p)) = (all.pids.as_mut(), b.pids) {
            a.extend(p);
        }
        if let (Some(a), Some(l)) = (all.labels.as_mut(), b.labels) {
            a.extend(l);
        }
    }
    Ok(all)
}

// ---------------------------------------------------------------- HDF5

/// pandas files: `table` (compound records) or `fixed` (blocks) format.
struct PandasHdf {
    path: PathBuf,
    table: PandasTable,
    cols: Columns,
}

impl PandasHdf {
    fn open(path: &Path) -> Result<Self> {
        let table = PandasTable::open(path)?;
        let cols = Columns::from_names(table.column_names(), path)?;
        Ok(PandasHdf {
            path: path.to_path_buf(),
            table,
            cols,
        })
    }
}

impl JetSource for PandasHdf {
    fn len_hint(&self) -> Option<usize> {
        Some(self.table.len())
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        let mut batch = self.cols.empty_batch(self.table.position());
        let (cols, path) = (&self.cols, &self.path);
        let more = self
            .table
            .read_rows(max, &mut |index, get| cols.push(get, &mut batch, path, index))?;
        Ok(more.then_some(batch))
    }
}

// ---------------------------------------------------------------- Parquet

/// Parquet files of the top-tagging columns, one after the other, read a
/// slice of a row group at a time: one cursor per column that makes a jet.
struct ParquetJets {
    files: Vec<ParquetFile>,
    cols: Columns,
    /// The leaf columns a jet needs (particles, PDG ids, label).
    needed: Vec<usize>,
    /// Current file and row group, and the open cursors of its needed columns.
    at: (usize, usize),
    cursors: Vec<ColumnCursor>,
    next: usize,
}

impl ParquetJets {
    fn open(paths: Vec<PathBuf>) -> Result<Self> {
        let files = paths.iter().map(|p| ParquetFile::open(p)).collect::<Result<Vec<_>>>()?;
        let Some(first) = files.first() else {
            return Err(Error::Data("no Parquet files".into()));
        };
        let names: Vec<String> = first.columns().iter().map(|c| c.path.clone()).collect();
        for f in &files[1..] {
            if f.columns().iter().map(|c| &c.path).ne(names.iter()) {
                return Err(Error::format(
                    f.path(),
                    format!("its columns differ from those of {}", first.path().display()),
                ));
            }
        }
        let cols = Columns::from_names(&names, first.path())?;
        let mut needed: Vec<usize> = cols.particles.iter().flatten().copied().collect();
        needed.extend(cols.pids.iter().flatten().copied());
        needed.extend(cols.label);
        needed.sort_unstable();
        needed.dedup();
        Ok(ParquetJets {
            files,
            cols,
            needed,
            at: (0, 0),
            cursors: Vec::new(),
            next: 0,
        })
    }

    /// Opens cursors on the next row group with rows left; false at the end.
    fn advance(&mut self) -> Result<bool> {
        loop {
            if self.cursors.first().is_some_and(|c| c.position() < c.group_end()) {
                return Ok(true);
            }
            let (mut f, mut g) = self.at;
            if !self.cursors.is_empty() {
                g += 1;
            }
            while f < self.files.len() && g >= self.files[f].group_rows().len() {
                (f, g) = (f + 1, 0);
            }
            if f == self.files.len() {
                return Ok(false);
            }
            self.at = (f, g);
            let file = &self.files[f];
            self.cursors = self.needed.iter().map(|&c| file.cursor(g, c)).collect::<Result<_>>()?;
        }
    }
}

impl JetSource for ParquetJets {
    fn len_hint(&self) -> Option<usize> {
        Some(self.files.iter().map(ParquetFile::rows).sum())
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        if max == 0 || !self.advance()? {
            return Ok(None);
        }
        let path = self.files[self.at.0].path().to_path_buf();
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); self.needed.last().map_or(0, |&c| c + 1)];
        let mut rows = None;
        for (cursor, &c) in self.cursors.iter_mut().zip(&self.needed) {
            let n = cursor.numbers(max, &mut values[c])?;
            if n != Some(1) || *rows.get_or_insert(values[c].len()) != values[c].len() {
                return Err(Error::format(
                    &path,
                    format!(
                        "column {} is not one number per row",
                        self.files[self.at.0].columns()[c].path
                    ),
                ));
            }
        }
        let rows = rows.unwrap_or(0);
        let mut batch = self.cols.empty_batch(self.next);
        let (cols, next) = (&self.cols, self.next);
        (0..rows).try_for_each(|r| cols.push(&|c| values[c][r], &mut batch, &path, next + r))?;
        self.next += rows;
        Ok(Some(batch))
    }
}

// ---------------------------------------------------------------- NPY

/// The most values one jet's row may hold (4 or 5 per particle): column
/// tables are sized by a row, so a declared width is checked before them.
const MAX_ROW_VALUES: usize = 1 << 20;

/// `.npy` arrays read row by row from disk.
struct NpyJets {
    path: PathBuf,
    rows: RowReader,
    cols: Columns,
}

impl NpyJets {
    fn open(path: &Path) -> Result<Self> {
        let rows = RowReader::open(path)?;
        rows.check_length("jets")?;
        if rows.row_len() > MAX_ROW_VALUES {
            return Err(Error::format(
                path,
                format!("rows of {} values: a jet has at most {MAX_ROW_VALUES}", rows.row_len()),
            ));
        }
        let header = rows.header();
        match header.descr.get(1..).unwrap_or_default() {
            "f4" | "f8" => {}
            other => {
                return Err(Error::format(
                    path,
                    format!("jet arrays must be float32 or float64, not {other}"),
                ));
            }
        }
        let (row_len, per_particle) = match header.shape.as_slice() {
            &[_, _, k] if k == 4 || k == 5 => (rows.row_len(), k),
            &[_, _, k] => {
                return Err(Error::format(
                    path,
                    format!("particles have {k} values; expected 4 (E, px, py, pz) or 5 (and a PDG id)"),
                ));
            }
            &[_, w] => (w, 4),
            other => {
                return Err(Error::format(
                    path,
                    format!("shape {other:?}: expected [n, particles, 4|5] or [n, 4·particles]"),
                ));
            }
        };
        let cols = if per_particle == 5 {
            Columns {
                particles: (0..row_len / 5)
                    .map(|i| [5 * i, 5 * i + 1, 5 * i + 2, 5 * i + 3])
                    .collect(),
                pids: Some((0..row_len / 5).map(|i| 5 * i + 4).collect()),
                label: None,
            }
        } else {
            Columns::interleaved(row_len, path, 0)?
        };
        Ok(NpyJets {
            path: path.to_path_buf(),
            rows,
            cols,
        })
    }
}

impl JetSource for NpyJets {
    fn len_hint(&self) -> Option<usize> {
        Some(self.rows.rows())
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        let first = self.rows.position();
        let values = match self.rows.read_rows(max)? {
            None => return Ok(None),
            Some(Elements::F32(v)) => v.into_iter().map(f64::from).collect::<Vec<f64>>(),
            Some(Elements::F64(v)) => v,
            Some(_) => return Err(Error::format(&self.path, "jet arrays must be float32 or float64")),
        };
        let mut batch = self.cols.empty_batch(first);
        for (r, row) in values.chunks_exact(self.rows.row_len()).enumerate() {
            self.cols.push(&|c| row[c], &mut batch, &self.path, first + r)?;
        }
        Ok(Some(batch))
    }
}

// ---------------------------------------------------------------- CSV

/// A CSV file with the top-tagging column names in a header row.
struct CsvJets {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    cols: Columns,
    width: usize,
    next: usize,
}

impl CsvJets {
    fn open(path: &Path) -> Result<Self> {
        let mut reader = crate::io::csv::open(path, b',', true)?;
        let names: Vec<String> = reader
            .headers()
            .map_err(|e| Error::format(path, format!("cannot read the header row: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let cols = Columns::from_names(&names, path)?;
        Ok(CsvJets {
            path: path.to_path_buf(),
            reader,
            width: names.len(),
            cols,
            next: 0,
        })
    }
}

impl JetSource for CsvJets {
    fn len_hint(&self) -> Option<usize> {
        None
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        let mut batch = self.cols.empty_batch(self.next);
        let mut record = csv::StringRecord::new();
        while batch.p4.len() < max {
            let more = self
                .reader
                .read_record(&mut record)
                .map_err(|e| Error::format(&self.path, format!("row {}: {e}", self.next)))?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != self.width {
                return Err(Error::format(
                    &self.path,
                    format!("line {line}: {} columns, the header has {}", record.len(), self.width),
                ));
            }
            let values = record
                .iter()
                .map(|f| f.parse::<f64>())
                .collect::<std::result::Result<Vec<f64>, _>>()
                .map_err(|_| Error::format(&self.path, format!("line {line}: a value is not a number")))?;
            self.cols.push(&|c| values[c], &mut batch, &self.path, self.next)?;
            self.next += 1;
        }
        Ok((!batch.p4.is_empty()).then_some(batch))
    }
}
