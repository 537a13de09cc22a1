//! Writing jet images as they are made, so that a file of a million jets
//! never has to fit in memory.
//!
//! - `.npy`: `float32 [n, npix, npix, channels]` (channels last, as
//!   EnergyFlow's images), with the labels, when there are any, in
//!   `<stem>_labels.npy` beside it.
//! - `.h5`: dataset `images`, whose elements are `float32 [npix, npix,
//!   channels]` arrays (h5py reads it as `(n, npix, npix, channels)`), and
//!   dataset `labels` (`int64`).
//!
//! Both are written under a temporary name and renamed when complete, by
//! [`crate::io::npy::StreamWriter`] and [`crate::io::hdf5::append`].

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::hdf5::append::{AppendDataset, AppendType, AppendWriter};
use crate::io::npy::StreamWriter;

/// Receives images (`npix·npix·channels` values each, channels last) and
/// labels.
pub trait ImageSink {
    /// Appends a batch of images (flattened, `npix·npix·channels` each) and, when the sink keeps them, one label per image.
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()>;
    /// Completes the files; returns the paths written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>>;
}

/// Opens a sink for `path` by its extension.
pub fn create(path: &Path, npix: usize, channels: usize, with_labels: bool) -> Result<Box<dyn ImageSink>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "npy" => Ok(Box::new(NpySink::create(path, npix, channels, with_labels)?)),
        "h5" | "hdf5" => Ok(Box::new(Hdf5Sink::create(path, npix, channels, with_labels)?)),
        _ => Err(Error::invalid(
            "output",
            format!("{}: write images as .npy or .h5", path.display()),
        )),
    }
}

struct NpySink {
    images: StreamWriter,
    labels: Option<StreamWriter>,
}

impl NpySink {
    fn create(path: &Path, npix: usize, channels: usize, with_labels: bool) -> Result<Self> {
        let labels = if with_labels {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(StreamWriter::create(
                &path.with_file_name(format!("{stem}_labels.npy")),
                "<i8",
                vec![],
            )?)
        } else {
            None
        };
        Ok(NpySink {
            images: StreamWriter::create(path, "<f4", vec![npix, npix, channels])?,
            labels,
        })
    }
}

impl ImageSink for NpySink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        self.images.write_f32(images)?;
        if let (Some(f), Some(l)) = (self.labels.as_mut(), labels) {
            f.write_i64(&l.iter().map(|&v| v as i64).collect::<Vec<i64>>())?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>> {
        let mut out = vec![self.images.finish()?];
        if let Some(l) = self.labels {
            out.push(l.finish()?);
        }
        Ok(out)
    }
}

struct Hdf5Sink {
    file: AppendWriter,
    per: usize,
    labels: bool,
}

impl Hdf5Sink {
    fn create(path: &Path, npix: usize, channels: usize, labels: bool) -> Result<Self> {
        let chunk = ((1 << 20) / (npix * npix * channels * 4).max(1)).clamp(1, 4096);
        let mut datasets = vec![AppendDataset {
            name: "images".into(),
            dtype: AppendType::F32Array(vec![npix, npix, channels]),
            chunk_rows: chunk,
            lzf: true,
        }];
        if labels {
            datasets.push(AppendDataset {
                name: "labels".into(),
                dtype: AppendType::I64,
                chunk_rows: 4096,
                lzf: false,
            });
        }
        Ok(Hdf5Sink {
            file: AppendWriter::create(path, &datasets)?,
            per: npix * npix * channels,
            labels,
        })
    }
}

impl ImageSink for Hdf5Sink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        self.file.append_f32("images", images)?;
        if let (true, Some(l)) = (self.labels, labels) {
            debug_assert_eq!(l.len(), images.len() / self.per.max(1));
            let l: Vec<i64> = l.iter().map(|&v| v as i64).collect();
            self.file.append_i64("labels", &l)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>> {
        Ok(vec![self.file.finish()?])
    }
}
