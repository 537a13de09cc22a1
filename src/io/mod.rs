//! Every file format striate reads or writes, each in exactly one place.
//! Nothing here knows about data sets, jets, layers or models: a reader
//! turns bytes into an [`array::Array`] (or rows of one), a writer turns
//! values into bytes. `io` depends only on `error`, `tensor`, `scalar` and
//! `atomic`.
//!
//! | file | owns |
//! |---|---|
//! | [`array`](mod@array) | the raw N-dimensional array every reader returns |
//! | [`npy`] | NumPy `.npy`: header, whole-file reads, row-streamed reads, whole and streamed writes |
//! | [`npz`] | NumPy `.npz` archives of `.npy` members: read and write |
//! | [`hdf5`] | HDF5: generic datasets (list, read, write), appendable datasets, pandas tables |
//! | [`idx`] | the IDX format of MNIST: read and write |
//! | [`csv`] | delimited text opened as a record reader (gzip included) |
//! | [`image`] | PNG/JPEG/… decoding and the one PNG encoder |
//! | [`f16`](mod@f16) | IEEE half precision to `f32` |
//! | [`parquet`] | Apache Parquet (the Hugging Face Hub's format): row groups read column by column, flat tables written |
//! | [`pth`] | PyTorch `torch.save` checkpoints (zip + a bounded pickle reader), read only |
//! | [`safetensors`] | safetensors files: named tensors with metadata, read and write |
//!
//! Gzip-compressed inputs are recognised by their magic bytes
//! ([`read_maybe_gzip`]).

pub mod array;
pub mod csv;
pub mod f16;
pub mod hdf5;
pub mod idx;
pub mod image;
pub mod npy;
pub mod npz;
pub mod parquet;
pub mod pth;
pub mod safetensors;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Deflate cannot expand data by more than about 1032 to 1: a gzip stream
/// that claims to inflate further is corrupt or hostile.
pub const MAX_INFLATE_RATIO: u64 = 1032;

/// The most bytes a zip member can inflate to: what its compressed size
/// (never more than the archive) can hold at [`MAX_INFLATE_RATIO`], and at
/// least the archive's length. A member declaring more is corrupt.
pub(crate) fn zip_member_bound(compressed: u64, archive_len: u64) -> u64 {
    compressed
        .min(archive_len)
        .saturating_mul(MAX_INFLATE_RATIO)
        .max(archive_len)
}

/// The gzip magic bytes.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads a whole file, decompressing it when it starts with the gzip magic;
/// the inflated data may not exceed [`MAX_INFLATE_RATIO`] times the file.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if is_gzip(&raw) {
        let limit = (raw.len() as u64).saturating_mul(MAX_INFLATE_RATIO);
        inflate_bounded(&raw, limit, path)
    } else {
        Ok(raw)
    }
}

/// Inflates the gzip stream `data` as a stream, failing as soon as it
/// produces more than `limit` bytes; `path` names the file in errors. The
/// output buffer is sized from the gzip trailer when that is within the limit,
/// so a valid file is inflated without reallocation.
pub fn inflate_bounded(data: &[u8], limit: u64, path: &Path) -> Result<Vec<u8>> {
    let declared = data
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as u64)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(declared.min(limit) as usize);
    let mut stream = flate2::read::MultiGzDecoder::new(data).take(limit.saturating_add(1));
    stream
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("corrupt or truncated gzip data: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Error::format(
            path,
            format!(
                "gzip data inflates past {limit} bytes, more than a {}-byte file can hold",
                data.len()
            ),
        ));
    }
    Ok(out)
}

/// Reads exactly `len` bytes from `r` (a decompressing stream) into a new
/// buffer; the caller has bounded `len` by what the input can hold.
/// `path` names the file in errors.
pub(crate) fn read_exact_bounded(r: &mut impl Read, len: usize, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    r.take(len as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("{what}: {e}")))?;
    if out.len() < len {
        return Err(Error::format(
            path,
            format!("truncated: {what} needs {len} bytes, found {}", out.len()),
        ));
    }
    Ok(out)
}

/// A reader (a decompressing stream) that fails once it has produced more
/// than a limit, instead of silently stopping as `Read::take` would.
pub(crate) struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Bounded<R> {
    /// Wraps `inner`, allowing at most `limit` bytes.
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "compressed data inflates past {} bytes, more than the file can hold",
                    self.limit
                ),
            )
        })?;
        Ok(n)
    }
}

/// Rows of the next batch of at most `max`, of `n` with `next` read; `None` at the end.
pub(crate) fn rows_left(next: usize, n: usize, max: usize) -> Option<usize> {
    (next < n).then(|| max.min(n - next))
}
