//! NumPy's `.npy` files (versions 1–3): read whole, read row by row
//! ([`RowReader`]), written whole (`to_bytes_*`) or streamed ([`StreamWriter`]).
//!
//! A `.npy` file is the magic `\x93NUMPY`, a version, a header length, a
//! Python dict literal `{'descr': '<f4', 'fortran_order': False,
//! 'shape': (3, 4), }` padded to 64 bytes, then the raw values. Written here
//! rather than taken from a crate because the format is small and striate
//! needs exact control of dtypes and error messages. Archives of `.npy`
//! members are [`super::npz`].

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::array::{Array, Elements};
use crate::atomic;
use crate::error::{Error, Result};
use crate::tensor::{checked_numel, numel};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parsed `.npy` header.
pub struct Header {
    /// NumPy type string (`<f4`, `|u1`, …).
    pub descr: String,
    /// True for column-major (Fortran-order) values.
    pub fortran: bool,
    /// Array shape.
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
        let descr = &r[1..1 + end];
        if descr.len() < 2 || !descr.is_ascii() {
            return Err(format!("dtype {descr:?} is not a NumPy type string like '<f4'"));
        }
        descr.to_string()
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
pub fn header(bytes: &[u8], path: &Path) -> Result<Header> {
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
pub fn decode_values(h: &Header, body: &[u8], count: usize, path: &Path) -> Result<Elements> {
    decode(&h.descr, body, count)
        .map(|(_, e)| e)
        .map_err(|d| Error::format(path, d))
}

/// Decodes values of a NumPy type string (`<f4`, `|u1`, `>i8`, …).
fn decode(descr: &str, body: &[u8], count: usize) -> std::result::Result<(String, Elements), String> {
    let (order, kind) = match descr.get(..1).zip(descr.get(1..)) {
        Some(parts) => parts,
        None => return Err(format!("unsupported dtype {descr:?}")),
    };
    let big = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(format!("unsupported dtype {descr:?}")),
    };
    // The bytes of `count` values of `size` bytes each.
    let values = |size: usize| -> std::result::Result<&[u8], String> {
        let need = count
            .checked_mul(size)
            .ok_or_else(|| format!("{count} values of {descr} overflow"))?;
        body.get(..need).ok_or_else(|| {
            format!(
                "truncated: {count} values of {descr} need {need} bytes, found {}",
                body.len()
            )
        })
    };
    macro_rules! read {
        ($t:ty, $n:expr) => {{
            values($n)?
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
        "f2" if !big => {
            // Sized by the bytes present (checked), never by the header's count.
            let mut v = Vec::new();
            super::f16::widen_le(values(2)?, &mut v);
            ("float16".into(), Elements::F32(v))
        }
        "f2" => (
            "float16".into(),
            Elements::F32(read!(u16, 2).into_iter().map(super::f16::f16_to_f32).collect()),
        ),
        _ => return Err(format!("unsupported dtype {descr:?}")),
    })
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
    let count = checked_numel(&h.shape).ok_or_else(|| bad(format!("shape {:?} overflows", h.shape)))?;
    let body = bytes.get(h.data_offset..).unwrap_or_default();
    let (dtype, mut elems) = decode(&h.descr, body, count).map_err(bad)?;
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
    parse(&super::read_maybe_gzip(path)?, path)
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

/// Bytes per value of a NumPy type string, for the types [`decode_values`] reads.
pub fn item_size(descr: &str) -> Option<usize> {
    match descr.get(1..)? {
        "u1" | "b1" | "i1" => Some(1),
        "i2" | "u2" | "f2" => Some(2),
        "i4" | "u4" | "f4" => Some(4),
        "i8" | "u8" | "f8" => Some(8),
        _ => None,
    }
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

/// A C-order `.npy` file read a batch of rows (first-axis items) at a time,
/// without holding the file in memory.
pub struct RowReader {
    path: PathBuf,
    file: std::fs::File,
    header: Header,
    row_len: usize,
    next: usize,
}

impl RowReader {
    /// Opens `path` and reads its header; Fortran-order files are refused.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = vec![0u8; 1 << 16];
        let got = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
        let header = header(&head[..got], path)?;
        if header.fortran {
            return Err(Error::format(
                path,
                "Fortran-order arrays are not supported for streaming; save in C order",
            ));
        }
        let row_len = crate::tensor::checked_numel(header.shape.get(1..).unwrap_or(&[]));
        let row_len = row_len.ok_or_else(|| Error::format(path, format!("shape {:?} overflows", header.shape)))?;
        file.seek(SeekFrom::Start(header.data_offset as u64))
            .map_err(|e| Error::io(path, e))?;
        Ok(RowReader {
            path: path.to_path_buf(),
            file,
            header,
            row_len,
            next: 0,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of rows (the first dimension; 1 for a 0-d array).
    pub fn rows(&self) -> usize {
        self.header.shape.first().copied().unwrap_or(1)
    }

    /// Values per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Index of the next row to be read.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Checks that the file holds every row; `what` names the rows in the
    /// message (`"truncated: 10 jets need …"`).
    pub fn check_length(&self, what: &str) -> Result<()> {
        let n = self.rows();
        let size = item_size(&self.header.descr).unwrap_or(1);
        let body = n.checked_mul(self.row_len).and_then(|v| v.checked_mul(size));
        let expected = body.and_then(|b| (self.header.data_offset as u64).checked_add(b as u64));
        let expected = expected.ok_or_else(|| Error::format(&self.path, format!("{n} {what} overflow")))?;
        let actual = self.file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        if actual < expected {
            return Err(Error::format(
                &self.path,
                format!("truncated: {n} {what} need {expected} bytes, the file has {actual}"),
            ));
        }
        Ok(())
    }

    /// The values of rows `start..start + count` (a positioned read; the
    /// sequential position of [`RowReader::read_rows`] moves past them).
    pub fn read_at(&mut self, start: usize, count: usize) -> Result<Elements> {
        let end = start.checked_add(count).filter(|&e| e <= self.rows());
        if end.is_none() {
            return Err(Error::format(
                &self.path,
                format!("rows {start}..{start}+{count} are past the {} rows", self.rows()),
            ));
        }
        let size = item_size(&self.header.descr).unwrap_or(1) as u64;
        let at = self.header.data_offset as u64 + start as u64 * self.row_len as u64 * size;
        self.file
            .seek(SeekFrom::Start(at))
            .map_err(|e| Error::io(&self.path, e))?;
        self.next = start;
        match self.read_rows(count)? {
            Some(v) => Ok(v),
            None => Ok(Elements::F32(Vec::new())),
        }
    }

    /// The values of the next at most `max` rows, or `None` at the end.
    pub fn read_rows(&mut self, max: usize) -> Result<Option<Elements>> {
        let Some(rows) = super::rows_left(self.next, self.rows(), max) else {
            return Ok(None);
        };
        let size = item_size(&self.header.descr)
            .ok_or_else(|| Error::format(&self.path, format!("unsupported dtype {:?}", self.header.descr)))?;
        let count = rows.saturating_mul(self.row_len);
        let need = count.saturating_mul(size);
        let io = |e| Error::io(&self.path, e);
        let left = (self.file.metadata().map_err(io)?.len()).saturating_sub(self.file.stream_position().map_err(io)?);
        if need as u64 > left {
            return Err(Error::format(
                &self.path,
                format!(
                    "truncated: rows {} to {} need {need} bytes, the file has {left} left",
                    self.next,
                    self.next + rows
                ),
            ));
        }
        let mut bytes = vec![0u8; need];
        self.file.read_exact(&mut bytes).map_err(|e| Error::io(&self.path, e))?;
        let values = decode_values(&self.header, &bytes, count, &self.path)?;
        self.next += rows;
        Ok(Some(values))
    }
}

/// A `.npy` file written a batch of items at a time under a temporary name,
/// its count of items filled into the header and the file renamed into place
/// by [`StreamWriter::finish`].
pub struct StreamWriter {
    final_path: PathBuf,
    temp: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    item_shape: Vec<usize>,
    descr: &'static str,
    count: usize,
}

/// Size of a streamed file's preamble, fixed so that it can be rewritten in
/// place with the final count.
const STREAM_PREAMBLE: usize = 128;

impl StreamWriter {
    /// Starts `path` with items of `item_shape` (`[]` for scalars) of type
    /// `descr` (`<f4`, `<f2`, `|u1` or `<i8`).
    pub fn create(path: &Path, descr: &'static str, item_shape: Vec<usize>) -> Result<Self> {
        let temp = atomic::temp_path(path);
        let f = std::fs::File::create(&temp).map_err(|e| Error::io(path, e))?;
        let mut file = std::io::BufWriter::new(f);
        let mut shape = vec![0];
        shape.extend_from_slice(&item_shape);
        file.write_all(&preamble(&shape, descr, Some(STREAM_PREAMBLE)))
            .map_err(|e| Error::io(path, e))?;
        Ok(StreamWriter {
            final_path: path.to_path_buf(),
            temp,
            file,
            item_shape,
            descr,
            count: 0,
        })
    }

    /// The path the file will have when finished.
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    fn append(&mut self, descr: &str, bytes: &[u8], values: usize) -> Result<()> {
        if descr != self.descr {
            return Err(Error::invalid(
                "npy stream",
                format!("{descr} values written to a {} file", self.descr),
            ));
        }
        self.file.write_all(bytes).map_err(|e| Error::io(&self.final_path, e))?;
        self.count += values / numel(&self.item_shape).max(1);
        Ok(())
    }

    /// Appends `f32` values (whole items) to a `<f4` file.
    pub fn write_f32(&mut self, values: &[f32]) -> Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append("<f4", &bytes, values.len())
    }

    /// Appends half-precision values (whole items, as their bits) to a `<f2` file.
    pub fn write_f16(&mut self, bits: &[u16]) -> Result<()> {
        let bytes: Vec<u8> = bits.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append("<f2", &bytes, bits.len())
    }

    /// Appends bytes (whole items) to a `|u1` file.
    pub fn write_u8(&mut self, values: &[u8]) -> Result<()> {
        self.append("|u1", values, values.len())
    }

    /// Appends `i64` values (whole items) to a `<i8` file.
    pub fn write_i64(&mut self, values: &[i64]) -> Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append("<i8", &bytes, values.len())
    }

    /// Writes the final count into the header and renames the file into place.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.final_path.clone();
        let io = |e| Error::io(&path, e);
        let mut shape = vec![self.count];
        shape.extend_from_slice(&self.item_shape);
        let mut file = self.file;
        file.flush().map_err(io)?;
        let mut f = file.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&preamble(&shape, self.descr, Some(STREAM_PREAMBLE)))
            .map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&self.temp, &path).map_err(io)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Halves decode to the same values in either byte order (little-endian
    /// ones through the bulk widening, big-endian ones value by value), and
    /// too few bytes is an error naming the shortfall.
    #[test]
    fn half_floats_decode_in_either_byte_order() {
        let bits: [u16; 11] = [
            0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000, 0x3555, 0x0400, 0xfbff, 0x03ff, 0x4248,
        ];
        let want: Vec<f32> = bits.iter().map(|&b| super::super::f16::f16_to_f32(b)).collect();
        for (descr, bytes) in [
            ("<f2", bits.iter().flat_map(|b| b.to_le_bytes()).collect::<Vec<u8>>()),
            (">f2", bits.iter().flat_map(|b| b.to_be_bytes()).collect()),
        ] {
            match decode(descr, &bytes, bits.len()) {
                Ok((name, Elements::F32(v))) => assert_eq!((name.as_str(), v), ("float16", want.clone()), "{descr}"),
                other => panic!("{descr}: {other:?}"),
            }
            let err = decode(descr, &bytes[..5], 3).unwrap_err();
            assert!(err.contains("truncated"), "{descr}: {err}");
        }
    }
}
