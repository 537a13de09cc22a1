//! Every file format striate reads or writes, each in exactly one place.
//! Nothing here knows about data sets, jets, layers or models: a reader
//! turns bytes into an [`array::Array`] (or rows of one), a writer turns
//! values into bytes. `io` depends only on `error`, `tensor`, `scalar` and
//! `atomic`.
//!
//! | file | owns |
//! |---|---|
//! | [`array`] | the raw N-dimensional array every reader returns |
//! | [`npy`] | NumPy `.npy`: header, whole-file reads, row-streamed reads, whole and streamed writes |
//! | [`npz`] | NumPy `.npz` archives of `.npy` members: read and write |
//! | [`hdf5`] | HDF5: generic datasets (list, read, write), appendable datasets, pandas tables |
//! | [`idx`] | the IDX format of MNIST: read and write |
//! | [`csv`] | delimited text opened as a record reader (gzip included) |
//! | [`image`] | PNG/JPEG/… decoding and the one PNG encoder |
//! | [`f16`] | IEEE half precision to `f32` |
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
pub mod pth;
pub mod safetensors;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

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

/// Rows of the next batch of at most `max`, of `n` with `next` read; `None` at the end.
pub(crate) fn rows_left(next: usize, n: usize, max: usize) -> Option<usize> {
    (next < n).then(|| max.min(n - next))
}
