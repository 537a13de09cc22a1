//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! A file is a 4-byte magic (`0, 0, type, ndim`), `ndim` big-endian `u32`
//! sizes, then the values in big-endian C order. Types: `0x08` u8, `0x09`
//! i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.

use std::path::Path;

use super::array::{Array, Elements};
use crate::error::{Error, Result};

/// Parses IDX bytes; `path` is only used in error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Array> {
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
    let need = shape
        .iter()
        .try_fold(size, |acc: usize, &d| acc.checked_mul(d))
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
pub fn read(path: &Path) -> Result<Array> {
    parse(&super::read_maybe_gzip(path)?, path)
}

/// Serialises a `u8` array as IDX (for tests and exports).
pub fn to_bytes_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, shape.len() as u8];
    for &d in shape {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
