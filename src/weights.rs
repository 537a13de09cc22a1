//! Weights in safetensors files, named as PyTorch names them.
//!
//! A model's state dict is every parameter and buffer under its layer's name:
//! `conv1.weight`, `conv1.bias`, `fc1.weight`, `bn1.running_mean`,
//! `layer1.0.downsample.0.weight`, … with PyTorch's shapes and layouts, so a
//! file saved by `safetensors.torch.save_file(model.state_dict(), …)` loads
//! into the striate model with the same layer names, and the other way round.
//! `num_batches_tracked` is stored as `I64`, like PyTorch's.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::data::npy::f16_to_f32;
use crate::error::{Error, Result};
use crate::layers::{StateMut, StateRef};
use crate::model::Sequential;
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape, numel};

/// Element types striate writes and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    I64,
}

/// A tensor as stored in a file: its type, shape and values (widened to `f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub dtype: DType,
    pub shape: Vec<usize>,
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
    safetensors::tensor::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), metadata)
        .map_err(|e| Error::Weights(format!("cannot serialise tensors: {e}")))
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
    pub tensors: BTreeMap<String, Stored>,
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
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64)
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

/// The model's state dict, as stored tensors.
pub fn model_state<T: Scalar>(model: &Sequential<T>) -> Vec<(String, Stored)> {
    let mut out = Vec::new();
    model.visit_state(&mut |name, s| {
        let t = match s {
            StateRef::Param(p) => &p.value,
            StateRef::Buffer(b) => b,
        };
        let mut stored = Stored::from_tensor(t);
        if name.ends_with("num_batches_tracked") {
            stored.dtype = DType::I64;
        }
        out.push((name, stored));
    });
    out
}

/// Saves the model's weights and buffers to `path` (atomically).
pub fn save_weights<T: Scalar>(model: &Sequential<T>, path: &Path) -> Result<()> {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("producer".to_string(), format!("striate {}", env!("CARGO_PKG_VERSION")));
    write_safetensors(path, &model_state(model), Some(meta))
}

/// What loading a state dict did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    /// In the model, not in the file.
    pub missing: Vec<String>,
    /// In the file, not in the model.
    pub unexpected: Vec<String>,
    /// In both, with different shapes (skipped; an error when strict).
    pub mismatched: Vec<String>,
}

/// Copies tensors into the model by name. With `strict`, every model entry
/// must be present with its shape and no other entry may exist (PyTorch's
/// `load_state_dict(strict=True)`); otherwise what fits is loaded and the rest
/// reported (for fine-tuning with a new head).
pub fn load_state<T: Scalar>(
    model: &mut Sequential<T>,
    tensors: &BTreeMap<String, Stored>,
    strict: bool,
) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    let mut seen = std::collections::HashSet::new();
    let mut errors = Vec::new();
    model.visit_state_mut(&mut |name, s| {
        let t = match s {
            StateMut::Param(p) => &mut p.value,
            StateMut::Buffer(b) => b,
        };
        match tensors.get(&name) {
            None => report.missing.push(name),
            Some(stored) => {
                seen.insert(name.clone());
                // Scalars may be stored as [] or [1].
                let same =
                    stored.shape == t.shape() || (numel(&stored.shape) == 1 && t.len() == 1 && stored.shape.len() <= 1);
                if !same {
                    errors.push(format!(
                        "{name}: file has shape {}, model expects {}",
                        fmt_shape(&stored.shape),
                        fmt_shape(t.shape())
                    ));
                    report.mismatched.push(name);
                } else {
                    t.data_mut()
                        .iter_mut()
                        .zip(&stored.values)
                        .for_each(|(d, &v)| *d = T::lit(v));
                    report.loaded.push(name);
                }
            }
        }
    });
    report.unexpected = tensors.keys().filter(|k| !seen.contains(*k)).cloned().collect();
    if strict && (!report.missing.is_empty() || !report.unexpected.is_empty() || !report.mismatched.is_empty()) {
        let mut parts = errors;
        if !report.missing.is_empty() {
            parts.push(format!("missing {}", report.missing.join(", ")));
        }
        if !report.unexpected.is_empty() {
            parts.push(format!("unexpected {}", report.unexpected.join(", ")));
        }
        return Err(Error::Weights(parts.join("; ")));
    }
    Ok(report)
}

/// Loads weights saved by [`save_weights`] (or PyTorch) into `model`.
pub fn load_weights<T: Scalar>(model: &mut Sequential<T>, path: &Path, strict: bool) -> Result<LoadReport> {
    let file = read_safetensors(path)?;
    load_state(model, &file.tensors, strict).map_err(|e| match e {
        Error::Weights(msg) => Error::format(path, msg),
        e => e,
    })
}
