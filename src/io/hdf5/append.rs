//! HDF5 files whose datasets grow as rows are appended (chunked, unlimited
//! first dimension), written under a temporary name and renamed into place
//! when complete.

use std::path::{Path, PathBuf};

use crate::atomic;
use crate::error::{Error, Result};

/// The element type of an appendable dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendType {
    /// Each element an `f32` array of these dimensions (h5py reads the
    /// dataset as `(n, *dims)`).
    F32Array(Vec<usize>),
    /// Each element an IEEE half-precision array (h5py's `float16`).
    F16Array(Vec<usize>),
    /// Each element a `u8` array.
    U8Array(Vec<usize>),
    /// One `i64` per element.
    I64,
}

/// One dataset of an [`AppendWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendDataset {
    /// Path of the dataset in the file.
    pub name: String,
    /// Type of one element.
    pub dtype: AppendType,
    /// Elements per chunk.
    pub chunk_rows: usize,
    /// Compress chunks with h5py's LZF filter.
    pub lzf: bool,
}

/// An HDF5 file of appendable datasets.
pub struct AppendWriter {
    final_path: PathBuf,
    temp: PathBuf,
    file: hdf5_pure::File,
}

impl AppendWriter {
    /// Creates `path` (under a temporary name) with empty `datasets`.
    pub fn create(path: &Path, datasets: &[AppendDataset]) -> Result<Self> {
        let h5 = |e: hdf5_pure::Error| Error::format(path, format!("HDF5: {e}"));
        let temp = atomic::temp_path(path);
        let mut b = hdf5_pure::FileBuilder::new();
        for d in datasets {
            let dtype = match &d.dtype {
                AppendType::F32Array(dims) => array_of(hdf5_pure::make_f32_type(), dims),
                AppendType::F16Array(dims) => array_of(f16_type(), dims),
                AppendType::U8Array(dims) => array_of(hdf5_pure::make_u8_type(), dims),
                AppendType::I64 => hdf5_pure::make_i64_type(),
            };
            let ds = b
                .create_dataset(&d.name)
                .with_dtype(dtype)
                .with_shape(&[0])
                .with_maxshape(&[hdf5_pure::MaxExtent::Unlimited])
                .with_chunks(&[d.chunk_rows as u64]);
            if d.lzf {
                ds.with_lzf();
            }
        }
        b.write(&temp).map_err(h5)?;
        let file = hdf5_pure::File::open_rw(&temp).map_err(h5)?;
        Ok(AppendWriter {
            final_path: path.to_path_buf(),
            temp,
            file,
        })
    }

    fn h5(&self) -> impl Fn(hdf5_pure::Error) -> Error + '_ {
        |e| Error::format(&self.final_path, format!("HDF5: {e}"))
    }

    /// Appends whole elements of `f32` values to an [`AppendType::F32Array`] dataset.
    pub fn append_f32(&mut self, name: &str, values: &[f32]) -> Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append_bytes(name, &bytes)
    }

    /// Appends whole elements of half-precision values (their bits) to an [`AppendType::F16Array`] dataset.
    pub fn append_f16(&mut self, name: &str, bits: &[u16]) -> Result<()> {
        let bytes: Vec<u8> = bits.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append_bytes(name, &bytes)
    }

    /// Appends whole elements of bytes to an [`AppendType::U8Array`] dataset.
    pub fn append_u8(&mut self, name: &str, values: &[u8]) -> Result<()> {
        self.append_bytes(name, values)
    }

    fn append_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let h5 = self.h5();
        self.file.dataset(name).map_err(&h5)?.append_raw(bytes).map_err(&h5)
    }

    /// Appends values to an [`AppendType::I64`] dataset.
    pub fn append_i64(&mut self, name: &str, values: &[i64]) -> Result<()> {
        let h5 = self.h5();
        self.file.dataset(name).map_err(&h5)?.append(values).map_err(&h5)
    }

    /// Closes the file and renames it into place.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.final_path;
        self.file
            .close()
            .map_err(|e| Error::format(&path, format!("HDF5: {e}")))?;
        std::fs::rename(&self.temp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}

fn array_of(base: hdf5_pure::Datatype, dims: &[usize]) -> hdf5_pure::Datatype {
    hdf5_pure::Datatype::Array {
        base_type: Box::new(base),
        dimensions: dims.iter().map(|&v| v as u32).collect(),
    }
}

/// IEEE half precision, little-endian: HDF5's `H5T_IEEE_F16LE`, what h5py
/// writes for NumPy's `float16`.
pub fn f16_type() -> hdf5_pure::Datatype {
    hdf5_pure::Datatype::FloatingPoint {
        size: 2,
        byte_order: hdf5_pure::DatatypeByteOrder::LittleEndian,
        layout: hdf5_pure::FloatingPointLayout {
            bit_offset: 0,
            bit_precision: 16,
            exponent_location: 10,
            exponent_size: 5,
            mantissa_location: 0,
            mantissa_size: 10,
            exponent_bias: 15,
        },
    }
}
