//! safetensors files: named tensors with string metadata, read into
//! [`Stored`] values (F32, F64, F16, BF16, I64, I32 and U8 accepted) and
//! written from them (F32, F64, I64). Mapping names onto a model is
//! [`crate::weights`]'s business.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors};

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

impl DType {
    /// Bytes per element.
    fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }

    /// The name in a safetensors header.
    fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::I64 => "I64",
        }
    }

    /// Where the `safetensors` crate puts it: wider types first (its `Dtype`
    /// order), so that 8-byte values stay 8-byte aligned.
    fn rank(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::F64 => 1,
            DType::I64 => 2,
        }
    }
}

/// Where each tensor goes in a file, and its header.
struct Layout {
    /// Length prefix, JSON header (keys sorted) and padding to 8 bytes.
    head: Vec<u8>,
    /// Indices into the tensors in the order their data is written.
    order: Vec<usize>,
    /// Bytes of the whole file.
    len: u64,
}

/// Lays the tensors out as the `safetensors` crate does (wider types
/// first, then by name), with the header's keys in sorted order so that
/// two identical runs write identical files.
fn layout(tensors: &[(String, Stored)], metadata: Option<HashMap<String, String>>) -> Result<Layout> {
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by(|&a, &b| {
        let (na, sa) = &tensors[a];
        let (nb, sb) = &tensors[b];
        sb.dtype.rank().cmp(&sa.dtype.rank()).then(na.cmp(nb))
    });
    // serde_json's maps are BTreeMaps (no preserve_order feature): sorted keys.
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for &i in &order {
        let (name, s) = &tensors[i];
        if s.values.len() != crate::tensor::numel(&s.shape) {
            return Err(Error::Weights(format!(
                "cannot serialise tensors: {name} has shape {:?} but {} values",
                s.shape,
                s.values.len()
            )));
        }
        let end = offset + (s.values.len() * s.dtype.size()) as u64;
        let entry = serde_json::json!({"dtype": s.dtype.name(), "shape": s.shape, "data_offsets": [offset, end]});
        if header.insert(name.clone(), entry).is_some() || name == "__metadata__" {
            return Err(Error::Weights(format!(
                "cannot serialise tensors: the name {name:?} is used twice"
            )));
        }
        offset = end;
    }
    if let Some(md) = metadata {
        header.insert("__metadata__".into(), serde_json::json!(md));
    }
    let mut text = serde_json::Value::Object(header).to_string();
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut head = Vec::with_capacity(8 + text.len());
    head.extend_from_slice(&(text.len() as u64).to_le_bytes());
    head.extend_from_slice(text.as_bytes());
    Ok(Layout {
        len: head.len() as u64 + offset,
        head,
        order,
    })
}

/// Writes the file `layout` describes, converting each tensor's values as
/// it goes, so no copy of the whole file is ever held.
fn write_file(w: &mut dyn Write, layout: &Layout, tensors: &[(String, Stored)]) -> std::io::Result<()> {
    w.write_all(&layout.head)?;
    let mut buf = Vec::with_capacity(1 << 16);
    for &i in &layout.order {
        let s = &tensors[i].1;
        for chunk in s.values.chunks(8192) {
            buf.clear();
            match s.dtype {
                DType::F32 => chunk
                    .iter()
                    .for_each(|&v| buf.extend_from_slice(&(v as f32).to_le_bytes())),
                DType::F64 => chunk.iter().for_each(|&v| buf.extend_from_slice(&v.to_le_bytes())),
                DType::I64 => chunk
                    .iter()
                    .for_each(|&v| buf.extend_from_slice(&(v as i64).to_le_bytes())),
            }
            w.write_all(&buf)?;
        }
    }
    Ok(())
}

/// Serialises named tensors (and optional string metadata) to safetensors bytes.
pub fn to_safetensors_bytes(
    tensors: &[(String, Stored)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let layout = layout(tensors, metadata)?;
    let mut out = Vec::with_capacity(usize::try_from(layout.len).unwrap_or(0));
    write_file(&mut out, &layout, tensors).map_err(|e| Error::internal("serialising tensors", e))?;
    Ok(out)
}

/// Writes named tensors to a safetensors file, atomically, a tensor at a
/// time: the file's bytes are never assembled whole in memory (the
/// `Stored` values, `f64`, are the caller's).
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Stored)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let layout = layout(tensors, metadata)?;
    crate::atomic::write_with(path, layout.len, |w| write_file(w, &layout, tensors))
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use safetensors::tensor::{Dtype, View};

    use super::*;

    struct Bytes(Dtype, Vec<usize>, Vec<u8>);

    impl View for &Bytes {
        fn dtype(&self) -> Dtype {
            self.0
        }
        fn shape(&self) -> &[usize] {
            &self.1
        }
        fn data(&self) -> Cow<'_, [u8]> {
            Cow::Borrowed(&self.2)
        }
        fn data_len(&self) -> usize {
            self.2.len()
        }
    }

    /// The `safetensors` crate's serialisation, with the header's keys then sorted.
    fn reference(tensors: &[(String, Stored)], md: Option<HashMap<String, String>>) -> Vec<u8> {
        let bytes: Vec<(String, Bytes)> = tensors
            .iter()
            .map(|(n, s)| {
                let (dtype, data) = match s.dtype {
                    DType::F32 => (
                        Dtype::F32,
                        s.values.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
                    ),
                    DType::F64 => (Dtype::F64, s.values.iter().flat_map(|&v| v.to_le_bytes()).collect()),
                    DType::I64 => (
                        Dtype::I64,
                        s.values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect(),
                    ),
                };
                (n.clone(), Bytes(dtype, s.shape.clone(), data))
            })
            .collect();
        let file = safetensors::tensor::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), md).unwrap();
        let len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&file[8..8 + len]).unwrap();
        let mut text = header.to_string();
        while !text.len().is_multiple_of(8) {
            text.push(' ');
        }
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&file[8 + len..]);
        out
    }

    fn stored(dtype: DType, shape: &[usize], first: f64) -> Stored {
        let n = crate::tensor::numel(shape);
        Stored {
            dtype,
            shape: shape.to_vec(),
            values: (0..n).map(|i| first + i as f64 * 0.37).collect(),
        }
    }

    #[test]
    fn streamed_file_equals_the_crates_serialisation() {
        let tensors = vec![
            ("layer.weight".to_string(), stored(DType::F32, &[3, 5, 700], -1.5)),
            ("a.bias".to_string(), stored(DType::F32, &[3], 0.25)),
            ("bn.num_batches_tracked".to_string(), stored(DType::I64, &[], 7.0)),
            ("z.double".to_string(), stored(DType::F64, &[2, 2], 1e-3)),
            ("empty".to_string(), stored(DType::F32, &[0, 4], 0.0)),
        ];
        let md: HashMap<String, String> = [("format", "pt"), ("producer", "striate")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for md in [None, Some(md)] {
            let ours = to_safetensors_bytes(&tensors, md.clone()).unwrap();
            assert_eq!(ours, reference(&tensors, md.clone()));
            let dir = std::env::temp_dir().join(format!("striate-st-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("t.safetensors");
            write_safetensors(&path, &tensors, md).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), ours);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn values_that_do_not_fill_the_shape_are_refused() {
        let mut bad = stored(DType::F32, &[2, 3], 0.0);
        bad.values.pop();
        let e = to_safetensors_bytes(&[("w".into(), bad)], None).unwrap_err();
        assert!(e.to_string().contains("shape [2, 3] but 5 values"), "{e}");
    }
}
