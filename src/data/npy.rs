//! NumPy's `.npy` files (versions 1–3) and `.npz` archives.
//!
//! A `.npy` file is the magic `\x93NUMPY`, a version, a header length, a
//! Python dict literal `{'descr': '<f4', 'fortran_order': False,
//! 'shape': (3, 4), }` padded to 64 bytes, then the raw values. `.npz` is a
//! zip archive of `.npy` members. Written here rather than taken from a crate
//! because the format is small and striate needs exact control of dtypes
//! and error messages; `zip` reads the archives.

use std::io::Read;
use std::path::Path;

use super::array::{Array, Elements};
use crate::error::{Error, Result};
use crate::tensor::numel;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parsed `.npy` header.
pub(crate) struct Header {
    pub descr: String,
    pub fortran: bool,
    pub shape: Vec<usize>,
    /// Byte offset of the first value.
    pub data_offset: usize,
}

fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = text.find(&format!("'{key}'")).ok_or(format!("header has no '{key}'"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        let rest = rest.strip_prefix(':').ok_or(format!("malformed '{key}'"))?.trim_start();
        Ok(rest)
    };
    let descr = {
        let r = field("descr")?;
        let q = r.chars().next().ok_or("empty descr")?;
        if q != '\'' && q != '"' {
            return Err("structured dtypes are not supported".into());
        }
        let end = r[1..].find(q).ok_or("unterminated descr")?;
        r[1..1 + end].to_string()
    };
    let fortran = field("fortran_order")?.starts_with("True");
    let shape = {
        let r = field("shape")?;
        let r = r.strip_prefix('(').ok_or("shape is not a tuple")?;
        let end = r.find(')').ok_or("unterminated shape")?;
        r[..end]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim_end_matches('L')
                    .parse::<usize>()
                    .map_err(|_| format!("bad dimension {s:?}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?
    };
    Ok(Header {
        descr,
        fortran,
        shape,
        data_offset: 0,
    })
}

/// Reads the header at the start of `bytes` (the whole file or its first
/// kilobytes); `path` is used in error messages.
pub(crate) fn header(bytes: &[u8], path: &Path) -> Result<Header> {
    let bad = |d: String| Error::format(path, d);
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(bad("not a .npy file (missing the \\x93NUMPY magic)".into()));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let text = bytes
        .get(start..start + hlen)
        .ok_or_else(|| bad("truncated .npy header".into()))?;
    let mut h = parse_header(&String::from_utf8_lossy(text)).map_err(|e| bad(format!(".npy header: {e}")))?;
    h.data_offset = start + hlen;
    Ok(h)
}

/// Decodes `count` values of the header's type from `body`.
pub(crate) fn decode_values(h: &Header, body: &[u8], count: usize, path: &Path) -> Result<Elements> {
    decode(&h.descr, body, count)
        .map(|(_, e)| e)
        .map_err(|d| Error::format(path, d))
}

/// Decodes values of a NumPy type string (`<f4`, `|u1`, `>i8`, …).
fn decode(descr: &str, body: &[u8], count: usize) -> std::result::Result<(String, Elements), String> {
    let (order, kind) = descr.split_at(1);
    let big = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(format!("unsupported dtype {descr:?}")),
    };
    macro_rules! read {
        ($t:ty, $n:expr) => {{
            let need = count * $n;
            if body.len() < need {
                return Err(format!(
                    "truncated: {count} values of {descr} need {need} bytes, found {}",
                    body.len()
                ));
            }
            body[..need]
                .chunks_exact($n)
                .map(|c| {
                    let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                    if big {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }
                })
                .collect::<Vec<$t>>()
        }};
    }
    Ok(match kind {
        "u1" | "b1" => {
            if body.len() < count {
                return Err(format!("truncated: {count} bytes needed, found {}", body.len()));
            }
            let name = if kind == "b1" { "bool" } else { "uint8" };
            (name.into(), Elements::U8(body[..count].to_vec()))
        }
        "i1" => (
            "int8".into(),
            Elements::Int(read!(i8, 1).into_iter().map(i64::from).collect()),
        ),
        "i2" => (
            "int16".into(),
            Elements::Int(read!(i16, 2).into_iter().map(i64::from).collect()),
        ),
        "u2" => (
            "uint16".into(),
            Elements::Int(read!(u16, 2).into_iter().map(i64::from).collect()),
        ),
        "i4" => (
            "int32".into(),
            Elements::Int(read!(i32, 4).into_iter().map(i64::from).collect()),
        ),
        "u4" => (
            "uint32".into(),
            Elements::Int(read!(u32, 4).into_iter().map(i64::from).collect()),
        ),
        "i8" => ("int64".into(), Elements::Int(read!(i64, 8))),
        "u8" => (
            "uint64".into(),
            Elements::Int(read!(u64, 8).into_iter().map(|v| v as i64).collect()),
        ),
        "f4" => ("float32".into(), Elements::F32(read!(f32, 4))),
        "f8" => ("float64".into(), Elements::F64(read!(f64, 8))),
        "f2" => {
            let bits = read!(u16, 2);
            (
                "float16".into(),
                Elements::F32(bits.into_iter().map(f16_to_f32).collect()),
            )
        }
        _ => return Err(format!("unsupported dtype {descr:?}")),
    })
}

/// IEEE half-precision bits to `f32` (subnormals, infinities and NaN included).
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let frac = (bits & 0x3ff) as u32;
    let out = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            let shift = f.leading_zeros() - 21;
            sign | ((127 - 15 + 1 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(out)
}

/// Reorders Fortran-order (column-major) values into C order.
fn fortran_to_c<T: Copy>(v: &[T], shape: &[usize]) -> Vec<T> {
    let n = v.len();
    let nd = shape.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; nd];
    for _ in 0..n {
        // Fortran offset of the C-order multi-index.
        let mut off = 0;
        let mut stride = 1;
        for (d, &i) in idx.iter().enumerate() {
            off += i * stride;
            stride *= shape[d];
        }
        out.push(v[off]);
        for d in (0..nd).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Parses `.npy` bytes; `path` is used in error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Array> {
    let bad = |d: String| Error::format(path, d);
    let h = header(bytes, path)?;
    let count = numel(&h.shape);
    let (dtype, mut elems) = decode(&h.descr, &bytes[h.data_offset..], count).map_err(bad)?;
    if h.fortran && h.shape.len() > 1 {
        elems = match elems {
            Elements::U8(v) => Elements::U8(fortran_to_c(&v, &h.shape)),
            Elements::Int(v) => Elements::Int(fortran_to_c(&v, &h.shape)),
            Elements::F32(v) => Elements::F32(fortran_to_c(&v, &h.shape)),
            Elements::F64(v) => Elements::F64(fortran_to_c(&v, &h.shape)),
        };
    }
    Ok(Array::new(h.shape, dtype, elems))
}

/// Reads a `.npy` file (gzip-compressed `.npy.gz` too).
pub fn read(path: &Path) -> Result<Array> {
    parse(&super::idx::read_maybe_gzip(path)?, path)
}

/// Reads every member of a `.npz` archive, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Array)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| Error::format(path, format!("not a .npz (zip) archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {i}: {e}")))?;
        let name = member
            .name()
            .map_err(|e| Error::format(path, format!("bad .npz member name: {e}")))?
            .trim_end_matches(".npy")
            .to_string();
        let mut bytes = Vec::with_capacity(member.size() as usize);
        member
            .read_to_end(&mut bytes)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {name:?}: {e}")))?;
        let arr = parse(&bytes, &path.join(&name))?;
        out.push((name, arr));
    }
    Ok(out)
}

/// `.npy` bytes (version 1, little-endian, C order) of `f32` values.
pub fn to_bytes_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    to_bytes(
        shape,
        "<f4",
        &data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )
}

/// `.npy` bytes of `f64` values.
pub fn to_bytes_f64(shape: &[usize], data: &[f64]) -> Vec<u8> {
    to_bytes(
        shape,
        "<f8",
        &data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )
}

/// `.npy` bytes of `u8` values.
pub fn to_bytes_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    to_bytes(shape, "|u1", data)
}

/// `.npy` bytes of `i64` values.
pub fn to_bytes_i64(shape: &[usize], data: &[i64]) -> Vec<u8> {
    to_bytes(
        shape,
        "<i8",
        &data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )
}

fn to_bytes(shape: &[usize], descr: &str, body: &[u8]) -> Vec<u8> {
    let mut out = preamble(shape, descr, None);
    out.extend_from_slice(body);
    out
}

/// The bytes of a `.npy` file before its data: magic, version 1.0, header
/// length and the header dictionary for `shape`, padded with spaces to a
/// multiple of 64 bytes, or to exactly `total` bytes (a multiple of 64 that
/// is large enough), so that a writer that learns the count only at the end
/// can rewrite it in place.
pub fn preamble(shape: &[usize], descr: &str, total: Option<usize>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad so that the data starts on a 64-byte boundary, ending with '\n'.
    let unpadded = 10 + header.len() + 1;
    let pad = match total {
        Some(t) if t >= unpadded => t - unpadded,
        _ => (64 - unpadded % 64) % 64,
    };
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// A `.npz` archive (stored, not compressed) of named `.npy` byte strings.
pub fn npz_bytes(members: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in members {
            zip.start_file(format!("{name}.npy"), opts)
                .map_err(|e| Error::Data(format!("cannot write npz member {name}: {e}")))?;
            std::io::Write::write_all(&mut zip, bytes).map_err(|e| Error::Data(format!("npz: {e}")))?;
        }
        zip.finish().map_err(|e| Error::Data(format!("npz: {e}")))?;
    }
    Ok(cursor.into_inner())
}
