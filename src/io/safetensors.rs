//! safetensors files: named tensors with string metadata, read into
//! [`Stored`] values (F32, F64, F16, BF16, I64, I32 and U8 accepted) and
//! written from them (F32, F64, I64). Mapping names onto a model is
//! [`crate::weights`]'s business.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Element types striate writes and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// 32-bit floats (also what F16 and BF16 are read as).
    F32,
    /// 64-bit floats.
    F64,
    /// 64-bit integers (also what I32 and U8 are read as).
    I64,
}

/// A tensor as stored in a file: its type, shape and values (widened to `f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// The element type, on disk when written, or as widened when read.
    pub dtype: DType,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values, row-major, widened to `f64` (exact for floats and for integers up to 2^53).
    pub values: Vec<f64>,
}

impl Stored {
    /// From a tensor, stored as `T`'s type.
    pub fn from_tensor<T: Scalar>(t: &Tensor<T>) -> Self {
        Stored {
            dtype: if T::DTYPE == "F64" { DType::F64 } else { DType::F32 },
            shape: t.shape().to_vec(),
            values: t.data().iter().map(|v| v.f64()).collect(),
        }
    }

    /// As a tensor of `T`.
    pub fn to_tensor<T: Scalar>(&self) -> Tensor<T> {
        Tensor::from_fn(&self.shape, |i| T::lit(self.values[i]))
    }
}

struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn to_bytes(s: &Stored) -> Bytes {
    let data: Vec<u8> = match s.dtype {
        DType::F32 => s.values.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
        DType::F64 => s.values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        DType::I64 => s.values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect(),
    };
    let dtype = match s.dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
    };
    Bytes {
        dtype,
        shape: s.shape.clone(),
        data,
    }
}

/// Serialises named tensors (and optional string metadata) to safetensors bytes.
pub fn to_safetensors_bytes(
    tensors: &[(String, Stored)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Bytes)> = tensors.iter().map(|(n, s)| (n.clone(), to_bytes(s))).collect();
    let file = safetensors::tensor::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), metadata)
        .map_err(|e| Error::Weights(format!("cannot serialise tensors: {e}")))?;
    with_sorted_header(file)
}

/// The same file with its JSON header's keys (and the metadata's) in sorted
/// order: the `safetensors` crate writes its metadata map in hash order, so
/// two identical runs would otherwise give different files.
fn with_sorted_header(file: Vec<u8>) -> Result<Vec<u8>> {
    let bad = || Error::internal("sorting the safetensors header", "malformed header");
    let len_bytes: [u8; 8] = file.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad())?;
    let end = len.checked_add(8).filter(|&e| e <= file.len()).ok_or_else(bad)?;
    // serde_json's maps are BTreeMaps (no preserve_order feature): sorted keys.
    let header: serde_json::Value =
        serde_json::from_slice(&file[8..end]).map_err(|e| Error::internal("sorting the safetensors header", e))?;
    let mut text = serde_json::to_string(&header).map_err(|e| Error::internal("sorting the safetensors header", e))?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + file.len() - end);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&file[end..]);
    Ok(out)
}

/// Writes named tensors to a safetensors file, atomically.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Stored)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = to_safetensors_bytes(tensors, metadata)?;
    crate::atomic::write(path, &bytes)
}

/// The tensors and metadata of a safetensors file, in name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorFile {
    /// The tensors, keyed by name (e.g. `conv1.weight`).
    pub tensors: BTreeMap<String, Stored>,
    /// The file's `__metadata__` strings (empty when it has none).
    pub metadata: HashMap<String, String>,
}

/// Parses safetensors bytes; `path` is used in error messages.
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<TensorFile> {
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::format(path, format!("bad safetensors header: {e}")))?;
    let mut out = TensorFile {
        metadata: meta.metadata().clone().unwrap_or_default(),
        ..Default::default()
    };
    for (name, view) in st.iter() {
        let d = view.data();
        let (dtype, values): (DType, Vec<f64>) = match view.dtype() {
            Dtype::F32 => (
                DType::F32,
                d.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
            ),
            Dtype::F64 => (
                DType::F64,
                d.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            Dtype::F16 => (
                DType::F32,
                d.chunks_exact(2)
                    .map(|c| super::f16::f16_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64)
                    .collect(),
            ),
            Dtype::BF16 => (
                DType::F32,
                d.chunks_exact(2)
                    .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64)
                    .collect(),
            ),
            Dtype::I64 => (
                DType::I64,
                d.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
                    .collect(),
            ),
            Dtype::I32 => (
                DType::I64,
                d.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
            ),
            Dtype::U8 => (DType::I64, d.iter().map(|&b| b as f64).collect()),
            other => {
                return Err(Error::format(
                    path,
                    format!("tensor {name:?} has unsupported type {other:?}"),
                ));
            }
        };
        out.tensors.insert(
            name.to_string(),
            Stored {
                dtype,
                shape: view.shape().to_vec(),
                values,
            },
        );
    }
    Ok(out)
}

/// Reads a safetensors file.
pub fn read_safetensors(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_safetensors(&bytes, path)
}
