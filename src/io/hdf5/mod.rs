//! HDF5 files through the pure-Rust `hdf5-pure` crate (no libhdf5 needed),
//! including h5py's LZF filter, gzip and shuffle.
//!
//! This file owns generic datasets (list, read whole, write whole);
//! [`append`] owns datasets that grow row by row, [`pandas`] the tables
//! pandas' `HDFStore` writes.

pub mod append;
pub mod pandas;
pub mod rows;

use std::path::Path;

use hdf5_pure::{DType, File};

use super::array::{Array, Elements};
use crate::error::{Error, Result};
use crate::tensor::checked_size;

/// A dataset in a file: its path, shape and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetInfo {
    /// `/`-separated path of the dataset inside the file (e.g. `train/images`).
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// NumPy's name of the stored type (`float32`, `uint8`, …).
    pub dtype: String,
}

pub(crate) fn h5err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::format(path, format!("HDF5: {e}"))
}

/// True when the file starts with the HDF5 signature.
pub fn is_hdf5(path: &Path) -> bool {
    hdf5_pure::is_hdf5(path).unwrap_or(false)
}

fn open(path: &Path) -> Result<File> {
    if !path.exists() {
        return Err(Error::not_found(path));
    }
    File::open(path).map_err(|e| h5err(path, e))
}

pub(crate) fn dtype_name(d: &DType) -> String {
    match d {
        DType::F32 => "float32".into(),
        DType::F64 => "float64".into(),
        DType::I8 => "int8".into(),
        DType::I16 => "int16".into(),
        DType::I32 => "int32".into(),
        DType::I64 => "int64".into(),
        DType::U8 => "uint8".into(),
        DType::U16 => "uint16".into(),
        DType::U32 => "uint32".into(),
        DType::U64 => "uint64".into(),
        d if is_f16(d) => "float16".into(),
        other => other.to_string(),
    }
}

/// Every dataset in the file, depth first, with `/`-separated paths.
pub fn list(path: &Path) -> Result<Vec<DatasetInfo>> {
    let f = open(path)?;
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(prefix) = stack.pop() {
        let group = if prefix.is_empty() {
            f.root()
        } else {
            f.group(&prefix).map_err(|e| h5err(path, e))?
        };
        let join = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}/{n}")
            }
        };
        let mut names = group.datasets().map_err(|e| h5err(path, e))?;
        names.sort();
        for name in names {
            let full = join(&name);
            let ds = f.dataset(&full).map_err(|e| h5err(path, e))?;
            let shape = ds
                .shape()
                .map_err(|e| h5err(path, e))?
                .into_iter()
                .map(|d| d as usize)
                .collect();
            let dtype = ds.dtype().map(|d| dtype_name(&d)).unwrap_or_else(|_| "unknown".into());
            out.push(DatasetInfo {
                name: full,
                shape,
                dtype,
            });
        }
        let mut groups = group.groups().map_err(|e| h5err(path, e))?;
        groups.sort();
        for g in groups.into_iter().rev() {
            stack.push(join(&g));
        }
    }
    Ok(out)
}

/// A dataset's dimensions (one that does not fit `usize` saturates, for
/// the size checks to refuse).
pub(crate) fn dataset_shape(path: &Path, ds: &hdf5_pure::Dataset) -> Result<Vec<usize>> {
    Ok(ds
        .shape()
        .map_err(|e| h5err(path, e))?
        .into_iter()
        .map(|d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect())
}

/// The error for a dataset that cannot be opened: the names the file has
/// when it lists cleanly and lacks `key`, or else the real cause (a
/// truncated or corrupt file).
pub(crate) fn missing_dataset(path: &Path, key: &str, cause: hdf5_pure::Error) -> Error {
    match list(path) {
        Ok(l) if !l.iter().any(|d| d.name == key) => {
            let names: Vec<String> = l.into_iter().map(|d| d.name).collect();
            let names = if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            };
            Error::format(path, format!("no dataset {key:?}; the file has {names}"))
        }
        Ok(_) => Error::format(path, format!("HDF5 dataset {key:?}: {cause}")),
        Err(e) => e,
    }
}

/// True for IEEE half precision, little-endian (h5py's `float16`).
fn is_f16(d: &DType) -> bool {
    matches!(d, DType::Other(t) if matches!(**t, hdf5_pure::Datatype::FloatingPoint {
        size: 2,
        byte_order: hdf5_pure::DatatypeByteOrder::LittleEndian,
        ..
    }))
}

/// The values of raw little-endian bytes of element type `base` (`f32`,
/// `f64`, `u8` or `float16`, widened to `f32`); `None` for other types.
fn decode_raw(base: &DType, raw: &[u8]) -> Option<Elements> {
    Some(match base {
        DType::F32 => decode_floats(raw, true),
        DType::F64 => decode_floats(raw, false),
        DType::U8 => Elements::U8(raw.to_vec()),
        d if is_f16(d) => decode_f16(raw),
        _ => return None,
    })
}

/// Little-endian IEEE half-precision values, widened to `f32`.
pub(crate) fn decode_f16(raw: &[u8]) -> Elements {
    let mut out = Vec::with_capacity(raw.len() / 2);
    super::f16::widen_le(raw, &mut out);
    Elements::F32(out)
}

/// Bytes of one value of the number types [`read`] accepts (1 for others).
fn item_size(d: &DType) -> usize {
    match d {
        d if is_f16(d) => 2,
        DType::I16 | DType::U16 => 2,
        DType::F32 | DType::I32 | DType::U32 => 4,
        DType::F64 | DType::I64 | DType::U64 => 8,
        _ => 1,
    }
}

/// Refuses a dataset whose declared size overflows or is more than the file
/// could hold even compressed ([`crate::io::MAX_INFLATE_RATIO`]), before
/// anything is allocated for it.
fn check_plausible(path: &Path, key: &str, shape: &[usize], dtype: &DType) -> Result<()> {
    let mut full = shape.to_vec();
    if let DType::Array(_, dims) = dtype {
        full.extend(dims.iter().map(|&d| usize::try_from(d).unwrap_or(usize::MAX)));
    }
    let item = match dtype {
        DType::Array(base, _) => item_size(base),
        d => item_size(d),
    };
    let bytes = checked_size(&full, item, "HDF5").map_err(|_| {
        Error::format(
            path,
            format!("dataset {key:?} has shape {full:?}, whose size overflows"),
        )
    })?;
    let file_len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if bytes as u64 > file_len.saturating_mul(crate::io::MAX_INFLATE_RATIO) {
        return Err(Error::format(
            path,
            format!(
                "dataset {key:?} declares {bytes} bytes (shape {full:?}), more than a {file_len}-byte file can hold"
            ),
        ));
    }
    Ok(())
}

/// Reads dataset `key` whole.
pub fn read(path: &Path, key: &str) -> Result<Array> {
    let f = open(path)?;
    let ds = f.dataset(key).map_err(|e| missing_dataset(path, key, e))?;
    let shape = dataset_shape(path, &ds)?;
    let dtype = ds.dtype().map_err(|e| h5err(path, e))?;
    check_plausible(path, key, &shape, &dtype)?;
    let ctx = |e: hdf5_pure::Error| Error::format(path, format!("HDF5 dataset {key:?}: {e}"));
    let elems = match dtype {
        DType::U8 => Elements::U8(ds.read_u8().map_err(ctx)?),
        DType::F32 => Elements::F32(ds.read_f32().map_err(ctx)?),
        DType::F64 => Elements::F64(ds.read_f64().map_err(ctx)?),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U16 | DType::U32 => {
            Elements::Int(ds.read_i64().map_err(ctx)?)
        }
        DType::U64 => Elements::Int(ds.read_u64().map_err(ctx)?.into_iter().map(|v| v as i64).collect()),
        // Half precision (h5py's float16), widened to f32.
        ref d if is_f16(d) => {
            let raw = ds.read_raw().map_err(ctx)?;
            decode_raw(d, &raw).unwrap_or(Elements::F32(Vec::new()))
        }
        // Array-typed elements (striate's streamed images): shape [n] + dims.
        DType::Array(ref base, ref dims) if decode_raw(base, &[]).is_some() => {
            let raw = ds.read_raw().map_err(ctx)?;
            let elems = decode_raw(base, &raw).unwrap_or(Elements::F32(Vec::new()));
            let mut full = shape.clone();
            full.extend(dims.iter().map(|&d| d as usize));
            let arr = Array::new(full, dtype_name(base), elems);
            arr.check(path)?;
            return Ok(arr);
        }
        other => {
            return Err(Error::format(
                path,
                format!("dataset {key:?} has type {other}, not numbers striate can train on"),
            ));
        }
    };
    let arr = Array::new(shape, dtype_name(&dtype), elems);
    arr.check(path)?;
    Ok(arr)
}

/// Little-endian `f32` (`single`) or `f64` values.
pub(crate) fn decode_floats(raw: &[u8], single: bool) -> Elements {
    if single {
        Elements::F32(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    } else {
        Elements::F64(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        )
    }
}

/// Writes `f32` arrays and `i64` label arrays as datasets of a new file
/// (LZF-compressed in chunks of `chunk_rows` rows when given), atomically.
pub fn write(path: &Path, datasets: &[(&str, &Array)], chunk_rows: Option<usize>) -> Result<()> {
    let mut b = hdf5_pure::FileBuilder::new();
    for (name, arr) in datasets {
        let d = b.create_dataset(name);
        match &arr.elems {
            Elements::U8(v) => d.with_u8_data(v),
            Elements::Int(v) => d.with_i64_data(v),
            Elements::F32(v) => d.with_f32_data(v),
            Elements::F64(v) => d.with_f64_data(v),
        };
        d.with_shape(&arr.shape.iter().map(|&s| s as u64).collect::<Vec<_>>());
        if let (Some(rows), Some(&n)) = (chunk_rows, arr.shape.first())
            && n > 0
        {
            let mut chunk: Vec<u64> = arr.shape.iter().map(|&s| s as u64).collect();
            chunk[0] = rows.min(n) as u64;
            d.with_chunks(&chunk).with_lzf();
        }
    }
    let bytes = b.finish().map_err(|e| h5err(path, e))?;
    crate::atomic::write(path, &bytes)
}
