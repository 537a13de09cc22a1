//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! A file is a 4-byte magic (`0, 0, type, ndim`), `ndim` big-endian `u32`
//! sizes, then the values in big-endian C order. Types: `0x08` u8, `0x09`
//! i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.

use std::path::Path;

use super::array::{Array, Elements};
use crate::error::{Error, Result};
use crate::tensor::checked_size;

/// The element size and shape declared by an IDX header, with the header's
/// length and the bytes of data it declares (checked for overflow).
struct Layout {
    type_code: u8,
    shape: Vec<usize>,
    header: usize,
    need: usize,
}

/// Parses the header at the start of `bytes` (which may hold only the header).
fn layout(bytes: &[u8], path: &Path) -> Result<Layout> {
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
    let need = checked_size(&shape, size, "IDX").map_err(|_| bad(format!("IDX sizes {shape:?} overflow")))?;
    Ok(Layout {
        type_code,
        shape,
        header,
        need,
    })
}

/// Parses IDX bytes; `path` is only used in error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Array> {
    let bad = |detail: String| Error::format(path, detail);
    let Layout {
        type_code,
        shape,
        header,
        need,
    } = layout(bytes, path)?;
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

/// Reads an IDX file (raw or gzip). A gzip file is inflated as a stream:
/// the header first, then exactly the bytes it declares, after checking that
/// the compressed file could hold them.
pub fn read(path: &Path) -> Result<Array> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !super::is_gzip(&raw) {
        return parse(&raw, path);
    }
    let mut stream = flate2::read::MultiGzDecoder::new(&raw[..]);
    let (mut bytes, l) = read_header(&mut stream, path)?;
    let limit = (raw.len() as u64).saturating_mul(super::MAX_INFLATE_RATIO);
    if l.need as u64 > limit {
        return Err(Error::format(
            path,
            format!(
                "shape {:?} needs {} bytes, more than a {}-byte gzip file can hold",
                l.shape,
                l.need,
                raw.len()
            ),
        ));
    }
    bytes.extend(super::read_exact_bounded(&mut stream, l.need, path, "the IDX data")?);
    parse(&bytes, path)
}

/// The shape an IDX file (raw or gzip) declares, read from its header only.
pub fn read_shape(path: &Path) -> Result<Vec<usize>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = std::io::BufReader::new(file);
    let gzip = super::is_gzip(std::io::BufRead::fill_buf(&mut head).map_err(|e| Error::io(path, e))?);
    let mut r: Box<dyn std::io::Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(head))
    } else {
        Box::new(head)
    };
    Ok(read_header(&mut r, path)?.1.shape)
}

/// Reads and parses the header at the start of a stream.
fn read_header(r: &mut impl std::io::Read, path: &Path) -> Result<(Vec<u8>, Layout)> {
    let mut bytes = super::read_exact_bounded(r, 4, path, "the IDX magic")?;
    let ndim = bytes[3] as usize;
    bytes.extend(super::read_exact_bounded(r, 4 * ndim, path, "the IDX header")?);
    let l = layout(&bytes, path)?;
    Ok((bytes, l))
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
