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
//! - **NumPy**: `[n, particles, 4]` (`E, px, py, pz`) or `[n, particles, 5]`
//!   (with a PDG id), or `[n, 4·particles]` interleaved rows. Labels, when
//!   wanted, come from a separate file.
//!
//! Errors name the row (jet) and the problem.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::data::array::Elements;
use crate::data::npy;
use crate::error::{Error, Result};

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
    if name.ends_with(".h5") || name.ends_with(".hdf5") || crate::data::hdf5::is_hdf5(path) {
        Ok(Box::new(PandasHdf::open(path)?))
    } else if name.ends_with(".npy") {
        Ok(Box::new(NpyJets::open(path)?))
    } else if name.ends_with(".csv") || name.ends_with(".csv.gz") {
        Ok(Box::new(CsvJets::open(path)?))
    } else {
        Err(Error::format(
            path,
            "unknown jet-constituent format (expected .h5, .npy or .csv)",
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

/// A value type inside a pandas block.
#[derive(Clone, Copy, Debug)]
enum Scalar {
    F32,
    F64,
    I64,
}

/// pandas files: `table` (compound records) or `fixed` (blocks) format.
struct PandasHdf {
    path: PathBuf,
    file: hdf5_pure::File,
    layout: PandasLayout,
    cols: Columns,
    n: usize,
    next: usize,
}

enum PandasLayout {
    /// `/table/table`: records of `size` bytes; column `c` at `offsets[c]`.
    Table { size: usize, offsets: Vec<(usize, Scalar)> },
    /// `/table/blockK_values`: each column as (block, index within block).
    Fixed {
        blocks: Vec<(String, usize, Scalar)>,
        at: Vec<(usize, usize)>,
    },
}

/// Names in a pickle (protocol 0) of a list of strings, as pandas stores
/// column names in attributes: the `V…` tokens up to each newline.
fn pickled_names(s: &str) -> Vec<String> {
    s.split('\n')
        .filter_map(|line| line.strip_prefix('V').or_else(|| line.strip_prefix("aV")))
        .map(str::to_string)
        .collect()
}

fn attr_text(v: &hdf5_pure::AttrValue) -> Option<String> {
    use hdf5_pure::AttrValue as A;
    match v {
        A::String(s) | A::AsciiString(s) => Some(s.clone()),
        A::StringSized { value, .. } => Some(value.clone()),
        A::U8Array(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn scalar_of(dt: &hdf5_pure::Datatype) -> Option<Scalar> {
    use hdf5_pure::Datatype as D;
    match dt {
        D::FloatingPoint { size: 4, .. } => Some(Scalar::F32),
        D::FloatingPoint { size: 8, .. } => Some(Scalar::F64),
        D::FixedPoint { size: 8, .. } => Some(Scalar::I64),
        _ => None,
    }
}

fn read_scalar(bytes: &[u8], at: usize, t: Scalar) -> f64 {
    match t {
        Scalar::F32 => f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4])) as f64,
        Scalar::F64 => f64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8])),
        Scalar::I64 => i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8])) as f64,
    }
}

impl PandasHdf {
    fn open(path: &Path) -> Result<Self> {
        let h5 = |e: hdf5_pure::Error| Error::format(path, format!("HDF5: {e}"));
        let file = hdf5_pure::File::open_streaming(path).map_err(h5)?;
        if let Ok(ds) = file.dataset("table/table") {
            // The table format: names per block in `values_block_K_kind`.
            let attrs = ds.attrs().map_err(h5)?;
            let hdf5_pure::Datatype::Compound { size, members } = ds.datatype().map_err(h5)? else {
                return Err(Error::format(path, "/table/table is not a compound dataset"));
            };
            let mut names = Vec::new();
            let mut offsets = Vec::new();
            for m in &members {
                let (base, count) = match &m.datatype {
                    hdf5_pure::Datatype::Array { base_type, dimensions } => {
                        (base_type.as_ref(), dimensions.iter().product::<u32>() as usize)
                    }
                    other => (other, 1),
                };
                let Some(t) = scalar_of(base) else { continue };
                let width = match t {
                    Scalar::F32 => 4,
                    _ => 8,
                };
                let block_names = attrs
                    .get(&format!("{}_kind", m.name))
                    .and_then(attr_text)
                    .map(|s| pickled_names(&s))
                    .unwrap_or_default();
                for k in 0..count {
                    names.push(
                        block_names
                            .get(k)
                            .cloned()
                            .unwrap_or_else(|| format!("{}[{k}]", m.name)),
                    );
                    offsets.push((m.byte_offset as usize + k * width, t));
                }
            }
            let n = ds.shape().map_err(h5)?.first().copied().unwrap_or(0) as usize;
            let cols = Columns::from_names(&names, path)?;
            return Ok(PandasHdf {
                path: path.to_path_buf(),
                file,
                layout: PandasLayout::Table {
                    size: size as usize,
                    offsets,
                },
                cols,
                n,
                next: 0,
            });
        }
        // The fixed format: /table/blockK_items name the columns of blockK_values.
        let mut names = Vec::new();
        let mut blocks = Vec::new();
        let mut at = Vec::new();
        let mut n = 0;
        for k in 0.. {
            let (Ok(items), Ok(values)) = (
                file.dataset(&format!("table/block{k}_items")),
                file.dataset(&format!("table/block{k}_values")),
            ) else {
                break;
            };
            let item_names = items.read_string().map_err(h5)?;
            let shape = values.shape().map_err(h5)?;
            let t = values
                .datatype()
                .ok()
                .as_ref()
                .and_then(scalar_of)
                .ok_or_else(|| Error::format(path, format!("block{k}_values has a type striate cannot read")))?;
            n = shape.first().copied().unwrap_or(0) as usize;
            for (i, name) in item_names.into_iter().enumerate() {
                names.push(name);
                at.push((blocks.len(), i));
            }
            blocks.push((
                format!("table/block{k}_values"),
                shape.get(1).copied().unwrap_or(1) as usize,
                t,
            ));
        }
        if blocks.is_empty() {
            return Err(Error::format(
                path,
                "neither /table/table nor /table/block0_values: not a pandas jet-constituent file",
            ));
        }
        let cols = Columns::from_names(&names, path)?;
        Ok(PandasHdf {
            path: path.to_path_buf(),
            file,
            layout: PandasLayout::Fixed { blocks, at },
            cols,
            n,
            next: 0,
        })
    }
}

/// Rows of the next batch of at most `max`, of `n` with `next` read; `None` at the end.
fn rows_left(next: usize, n: usize, max: usize) -> Option<usize> {
    (next < n).then(|| max.min(n - next))
}

impl JetSource for PandasHdf {
    fn len_hint(&self) -> Option<usize> {
        Some(self.n)
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        let Some(rows) = rows_left(self.next, self.n, max) else {
            return Ok(None);
        };
        let path = self.path.clone();
        let h5 = |e: hdf5_pure::Error| Error::format(&path, format!("HDF5: {e}"));
        let mut batch = self.cols.empty_batch(self.next);
        match &self.layout {
            PandasLayout::Table { size, offsets } => {
                let ds = self.file.dataset("table/table").map_err(h5)?;
                let raw = ds.read_raw_rows(self.next as u64, rows as u64).map_err(h5)?;
                for (r, rec) in raw.chunks_exact(*size).enumerate() {
                    let get = |c: usize| read_scalar(rec, offsets[c].0, offsets[c].1);
                    self.cols.push(&get, &mut batch, &self.path, self.next + r)?;
                }
            }
            PandasLayout::Fixed { blocks, at } => {
                let mut data = Vec::new();
                for (name, width, t) in blocks {
                    let ds = self.file.dataset(name).map_err(h5)?;
                    let raw = ds.read_raw_rows(self.next as u64, rows as u64).map_err(h5)?;
                    data.push((raw, *width, *t));
                }
                for r in 0..rows {
                    let get = |c: usize| {
                        let (b, i) = at[c];
                        let (raw, width, t) = &data[b];
                        let size = match t {
                            Scalar::F32 => 4,
                            _ => 8,
                        };
                        read_scalar(raw, (r * width + i) * size, *t)
                    };
                    self.cols.push(&get, &mut batch, &self.path, self.next + r)?;
                }
            }
        }
        self.next += rows;
        Ok(Some(batch))
    }
}

// ---------------------------------------------------------------- NPY

/// `.npy` arrays read row by row from disk.
struct NpyJets {
    path: PathBuf,
    file: std::fs::File,
    header: npy::Header,
    /// Values per jet and per particle (4 or 5).
    row_len: usize,
    per_particle: usize,
    cols: Columns,
    item_size: usize,
    n: usize,
    next: usize,
}

impl NpyJets {
    fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = vec![0u8; 1 << 16];
        let got = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
        let header = npy::header(&head[..got], path)?;
        if header.fortran {
            return Err(Error::format(
                path,
                "Fortran-order arrays are not supported for streaming; save in C order",
            ));
        }
        let item_size = match &header.descr[1..] {
            "f4" => 4,
            "f8" => 8,
            other => {
                return Err(Error::format(
                    path,
                    format!("jet arrays must be float32 or float64, not {other}"),
                ));
            }
        };
        let (n, row_len, per_particle) = match header.shape.as_slice() {
            &[n, m, k] if k == 4 || k == 5 => (n, m * k, k),
            &[_, _, k] => {
                return Err(Error::format(
                    path,
                    format!("particles have {k} values; expected 4 (E, px, py, pz) or 5 (and a PDG id)"),
                ));
            }
            &[n, w] => (n, w, 4),
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
        let expected = header.data_offset as u64 + (n * row_len * item_size) as u64;
        let actual = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if actual < expected {
            return Err(Error::format(
                path,
                format!("truncated: {n} jets need {expected} bytes, the file has {actual}"),
            ));
        }
        file.seek(SeekFrom::Start(header.data_offset as u64))
            .map_err(|e| Error::io(path, e))?;
        Ok(NpyJets {
            path: path.to_path_buf(),
            file,
            header,
            row_len,
            per_particle,
            cols,
            item_size,
            n,
            next: 0,
        })
    }
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

impl JetSource for NpyJets {
    fn len_hint(&self) -> Option<usize> {
        Some(self.n)
    }

    fn next_batch(&mut self, max: usize) -> Result<Option<Batch>> {
        let Some(rows) = rows_left(self.next, self.n, max) else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; rows * self.row_len * self.item_size];
        self.file.read_exact(&mut bytes).map_err(|e| Error::io(&self.path, e))?;
        let values = match npy::decode_values(&self.header, &bytes, rows * self.row_len, &self.path)? {
            Elements::F32(v) => v.into_iter().map(f64::from).collect::<Vec<f64>>(),
            Elements::F64(v) => v,
            _ => unreachable!("checked float types at open"),
        };
        let mut batch = self.cols.empty_batch(self.next);
        for (r, row) in values.chunks_exact(self.row_len).enumerate() {
            self.cols.push(&|c| row[c], &mut batch, &self.path, self.next + r)?;
        }
        debug_assert!(self.per_particle == 4 || batch.pids.is_some());
        self.next += rows;
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
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let inner: Box<dyn Read> = if path.to_string_lossy().ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(inner);
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
