//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! A file is a 4-byte magic (`0, 0, type, ndim`), `ndim` big-endian `u32`
//! sizes, then the values in big-endian C order. Types: `0x08` u8, `0x09`
//! i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::Dataset;
use super::array::{Array, Elements};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Reads a whole file, decompressing it when it starts with the gzip magic.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt or truncated gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses IDX bytes; `path` is only used in error messages.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<Array> {
    let bad = |detail: String| Error::format(path, detail);
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("not an IDX file (the first two bytes must be zero)".into()));
    }
    let type_code = bytes[2];
    let ndim = bytes[3] as usize;
    let size = match type_code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => return Err(bad(format!("unknown IDX element type 0x{t:02x}"))),
    };
    if ndim == 0 {
        return Err(bad("IDX file declares zero dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad("truncated IDX header".into()));
    }
    let shape: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap_or([0; 4])) as usize)
        .collect();
    let count: usize = shape.iter().product();
    let need = count
        .checked_mul(size)
        .ok_or_else(|| bad(format!("IDX sizes {shape:?} overflow")))?;
    let body = &bytes[header..];
    if body.len() < need {
        return Err(bad(format!(
            "truncated: shape {shape:?} needs {need} bytes of data, the file has {}",
            body.len()
        )));
    }
    let body = &body[..need];
    let (dtype, elems) = match type_code {
        0x08 => ("uint8", Elements::U8(body.to_vec())),
        0x09 => ("int8", Elements::Int(body.iter().map(|&b| b as i8 as i64).collect())),
        0x0B => (
            "int16",
            Elements::Int(
                body.chunks_exact(2)
                    .map(|c| i16::from_be_bytes([c[0], c[1]]) as i64)
                    .collect(),
            ),
        ),
        0x0C => (
            "int32",
            Elements::Int(
                body.chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64)
                    .collect(),
            ),
        ),
        0x0D => (
            "float32",
            Elements::F32(
                body.chunks_exact(4)
                    .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
        ),
        _ => (
            "float64",
            Elements::F64(
                body.chunks_exact(8)
                    .map(|c| f64::from_be_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
        ),
    };
    Ok(Array::new(shape, dtype, elems))
}

/// Reads an IDX file (raw or gzip).
pub fn read_idx(path: &Path) -> Result<Array> {
    parse_idx(&read_maybe_gzip(path)?, path)
}

/// Serialises a `u8` array as IDX (for tests and exports).
pub fn write_idx_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, shape.len() as u8];
    for &d in shape {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Which half of an MNIST-layout folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// `train-images-idx3-ubyte[.gz]` / `train-labels-idx1-ubyte[.gz]`.
    Train,
    /// `t10k-images-idx3-ubyte[.gz]` / `t10k-labels-idx1-ubyte[.gz]`.
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// True when `dir` holds MNIST-layout files.
pub fn is_mnist_dir(dir: &Path) -> bool {
    dir.is_dir() && (find(dir, "train-images-idx3-ubyte").is_some() || find(dir, "t10k-images-idx3-ubyte").is_some())
}

/// Reads one split of an MNIST/Fashion-MNIST folder as `[n, 1, h, w]` images
/// with raw pixel values (0–255) and labels.
pub fn load_mnist_dir(dir: &Path, split: Split) -> Result<Dataset> {
    let images_stem = format!("{}-images-idx3-ubyte", split.prefix());
    let labels_stem = format!("{}-labels-idx1-ubyte", split.prefix());
    let images =
        find(dir, &images_stem).ok_or_else(|| Error::format(dir, format!("no {images_stem}[.gz] in this folder")))?;
    let labels =
        find(dir, &labels_stem).ok_or_else(|| Error::format(dir, format!("no {labels_stem}[.gz] in this folder")))?;
    load_idx_pair(&images, &labels)
}

/// Reads an images file (`[n, h, w]`) and a labels file (`[n]`).
pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    if img.shape.len() != 3 {
        return Err(Error::format(
            images,
            format!("expected [n, height, width] images, got shape {:?}", img.shape),
        ));
    }
    if lab.shape.len() != 1 {
        return Err(Error::format(
            labels,
            format!("expected [n] labels, got shape {:?}", lab.shape),
        ));
    }
    if lab.shape[0] != img.shape[0] {
        return Err(Error::format(
            labels,
            format!(
                "{} labels for {} images in {}",
                lab.shape[0],
                img.shape[0],
                images.display()
            ),
        ));
    }
    let ys = lab.to_labels(labels, "label")?;
    let n_classes = ys.iter().copied().max().map_or(0, |m| m as usize + 1);
    let [n, h, w] = [img.shape[0], img.shape[1], img.shape[2]];
    let x = Tensor::from_vec(&[n, 1, h, w], img.to_f32())?;
    Dataset::classification(x, ys, n_classes)
}
