//! One dataset of an HDF5 file read a window of rows at a time, without
//! holding the file or the dataset in memory.
//!
//! The file is opened with `hdf5-pure`'s streaming backend
//! (`File::open_streaming`, positioned reads of metadata and chunks) and
//! rows are read with `Dataset::read_raw_rows`, which reads and decompresses
//! only the chunks a window overlaps. Numbers (`u8`, other integers, `f16`,
//! `f32`, `f64`) and array-typed elements of floats (what `striate
//! pixelate` writes) are read; `f16` is widened to `f32` here.

use std::path::{Path, PathBuf};

use hdf5_pure::{DType, Datatype, DatatypeByteOrder};

use super::{dataset_shape, dtype_name, h5err, missing_dataset};
use crate::error::{Error, Result};
use crate::io::array::Elements;

/// How one stored value is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    U8,
    F16,
    F32,
    F64,
    /// Any other integer type, read through `hdf5-pure`'s widening.
    Int,
}

/// A dataset read by windows of rows (first-axis items).
pub struct RowWindow {
    path: PathBuf,
    key: String,
    ds: hdf5_pure::Dataset,
    shape: Vec<usize>,
    kind: Kind,
    chunk_rows: Option<usize>,
}

fn kind_of(dtype: &DType, datatype: &Datatype) -> Option<(Kind, Vec<usize>)> {
    let kind = match dtype {
        DType::U8 => Kind::U8,
        DType::F32 => Kind::F32,
        DType::F64 => Kind::F64,
        DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U16 | DType::U32 => Kind::Int,
        // Array-typed elements (what `striate pixelate` appends): rows of
        // `dims` values of the base type.
        DType::Array(base, dims) => {
            let Datatype::Array { base_type, .. } = datatype else {
                return None;
            };
            let (k, _) = kind_of(base, base_type)?;
            if k == Kind::Int {
                return None;
            }
            return Some((k, dims.iter().map(|&d| d as usize).collect()));
        }
        _ => match datatype {
            Datatype::FloatingPoint {
                size: 2,
                byte_order: DatatypeByteOrder::LittleEndian,
                ..
            } => Kind::F16,
            _ => return None,
        },
    };
    Some((kind, Vec::new()))
}

impl RowWindow {
    /// Opens dataset `key` of `path`; its type must be numbers striate can train on.
    pub fn open(path: &Path, key: &str) -> Result<Self> {
        if !path.exists() {
            return Err(Error::not_found(path));
        }
        let file = hdf5_pure::File::open_streaming(path).map_err(|e| h5err(path, e))?;
        let ds = file.dataset(key).map_err(|e| missing_dataset(path, key, e))?;
        let mut shape = dataset_shape(path, &ds)?;
        let dtype = ds.dtype().map_err(|e| h5err(path, e))?;
        let datatype = ds.datatype().map_err(|e| h5err(path, e))?;
        let Some((kind, inner)) = kind_of(&dtype, &datatype) else {
            return Err(Error::format(
                path,
                format!("dataset {key:?} has type {dtype}, not numbers striate can stream"),
            ));
        };
        shape.extend(inner);
        if shape.is_empty() {
            return Err(Error::format(path, format!("dataset {key:?} is a scalar, not rows")));
        }
        crate::tensor::checked_size(&shape, 8, "HDF5").map_err(|_| {
            Error::format(
                path,
                format!("dataset {key:?} has shape {shape:?}, whose size overflows"),
            )
        })?;
        let chunk_rows = ds
            .chunk_shape()
            .map_err(|e| h5err(path, e))?
            .and_then(|c| c.first().map(|&r| r as usize))
            .filter(|&r| r > 0);
        Ok(RowWindow {
            path: path.to_path_buf(),
            key: key.to_string(),
            ds,
            shape,
            kind,
            chunk_rows,
        })
    }

    /// Shape of the dataset, `[n, …]` (array-typed elements' dimensions included).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// NumPy's name of the stored type.
    pub fn dtype(&self) -> String {
        match self.kind {
            Kind::U8 => "uint8".into(),
            Kind::F16 => "float16".into(),
            Kind::F32 => "float32".into(),
            Kind::F64 => "float64".into(),
            Kind::Int => self
                .ds
                .dtype()
                .map(|d| dtype_name(&d))
                .unwrap_or_else(|_| "int64".into()),
        }
    }

    /// Rows per chunk of a chunked dataset.
    pub fn chunk_rows(&self) -> Option<usize> {
        self.chunk_rows
    }

    /// The values of rows `start..start + count`, checked to be complete.
    pub fn read(&self, start: usize, count: usize) -> Result<Elements> {
        let ctx = |e: hdf5_pure::Error| Error::format(&self.path, format!("HDF5 dataset {:?}: {e}", self.key));
        let (s, c) = (start as u64, count as u64);
        let elems = match self.kind {
            // One byte a value: the raw bytes are the values (plain or array-typed).
            Kind::U8 => Elements::U8(self.ds.read_raw_rows(s, c).map_err(ctx)?),
            Kind::Int => Elements::Int(self.ds.read_i64_rows(s, c).map_err(ctx)?),
            Kind::F16 | Kind::F32 => {
                let mut v = Vec::new();
                self.read_f32_into(start, count, &mut v)?;
                return Ok(Elements::F32(v));
            }
            Kind::F64 => super::decode_floats(&self.ds.read_raw_rows(s, c).map_err(ctx)?, false),
        };
        let got = match &elems {
            Elements::U8(v) => v.len(),
            Elements::Int(v) => v.len(),
            Elements::F32(v) => v.len(),
            Elements::F64(v) => v.len(),
        };
        self.check_count(start, count, got)?;
        Ok(elems)
    }

    /// Rows `start..start + count` as `f32`, appended to `out`: half and
    /// single floats are decoded straight from the file's bytes into it (a
    /// streamed epoch reuses one buffer instead of a new vector a block).
    pub fn read_f32_into(&self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        let size = match self.kind {
            Kind::F16 => 2,
            Kind::F32 => 4,
            _ => {
                self.read(start, count)?.append_f32(out);
                return Ok(());
            }
        };
        let ctx = |e: hdf5_pure::Error| Error::format(&self.path, format!("HDF5 dataset {:?}: {e}", self.key));
        let raw = self.ds.read_raw_rows(start as u64, count as u64).map_err(ctx)?;
        self.check_count(start, count, raw.len() / size)?;
        if size == 2 {
            crate::io::f16::widen_le(&raw, out);
        } else {
            out.extend(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        Ok(())
    }

    /// An error unless `got` values are what rows `start..start + count` hold.
    fn check_count(&self, start: usize, count: usize, got: usize) -> Result<()> {
        let want = count.saturating_mul(self.shape[1..].iter().product());
        if got != want {
            return Err(Error::format(
                &self.path,
                format!(
                    "dataset {:?}: rows {start}..{} gave {got} values, expected {want}",
                    self.key,
                    start + count
                ),
            ));
        }
        Ok(())
    }
}

/// The first of `candidates` that names a dataset of `path` (opened for
/// streaming, so a large file is not read whole); an error naming the
/// candidates and the cause when none does.
pub fn first_dataset(path: &Path, candidates: &[&str]) -> Result<String> {
    if !path.exists() {
        return Err(Error::not_found(path));
    }
    let file = hdf5_pure::File::open_streaming(path).map_err(|e| h5err(path, e))?;
    let mut cause = String::new();
    for c in candidates {
        match file.dataset(c) {
            Ok(_) => return Ok(c.to_string()),
            Err(e) if cause.is_empty() => cause = e.to_string(),
            Err(_) => {}
        }
    }
    Err(Error::format(
        path,
        format!(
            "no dataset named {} ({cause}); pass --x-key and --y-key",
            candidates.join(", ")
        ),
    ))
}
