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
//! Both are written under a temporary name and renamed when complete.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::{atomic, data::npy};

/// Receives images (`npix·npix·channels` values each, channels last) and
/// labels.
pub trait ImageSink {
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

/// `.npy` preamble for `shape`, a fixed 128 bytes so that it can be
/// rewritten in place with the final count.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    npy::preamble(shape, descr, Some(128))
}

struct NpyFile {
    final_path: PathBuf,
    temp: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    item_shape: Vec<usize>,
    descr: &'static str,
    count: usize,
}

impl NpyFile {
    fn create(path: &Path, descr: &'static str, item_shape: Vec<usize>) -> Result<Self> {
        let temp = atomic::temp_path(path);
        let f = std::fs::File::create(&temp).map_err(|e| Error::io(path, e))?;
        let mut file = std::io::BufWriter::new(f);
        let mut shape = vec![0];
        shape.extend_from_slice(&item_shape);
        file.write_all(&npy_header(descr, &shape))
            .map_err(|e| Error::io(path, e))?;
        Ok(NpyFile {
            final_path: path.to_path_buf(),
            temp,
            file,
            item_shape,
            descr,
            count: 0,
        })
    }

    fn finish(mut self) -> Result<PathBuf> {
        let path = self.final_path.clone();
        let io = |e| Error::io(&path, e);
        let mut shape = vec![self.count];
        shape.extend_from_slice(&self.item_shape);
        self.file.flush().map_err(io)?;
        let mut f = self.file.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&npy_header(self.descr, &shape)).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&self.temp, &path).map_err(io)?;
        Ok(path)
    }
}

struct NpySink {
    images: NpyFile,
    labels: Option<NpyFile>,
    per: usize,
}

impl NpySink {
    fn create(path: &Path, npix: usize, channels: usize, with_labels: bool) -> Result<Self> {
        let labels = if with_labels {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(NpyFile::create(
                &path.with_file_name(format!("{stem}_labels.npy")),
                "<i8",
                vec![],
            )?)
        } else {
            None
        };
        Ok(NpySink {
            images: NpyFile::create(path, "<f4", vec![npix, npix, channels])?,
            labels,
            per: npix * npix * channels,
        })
    }
}

impl ImageSink for NpySink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        let path = self.images.final_path.clone();
        let bytes: Vec<u8> = images.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.images.file.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
        self.images.count += images.len() / self.per.max(1);
        if let (Some(f), Some(l)) = (self.labels.as_mut(), labels) {
            let b: Vec<u8> = l.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect();
            f.file.write_all(&b).map_err(|e| Error::io(&f.final_path, e))?;
            f.count += l.len();
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
    final_path: PathBuf,
    temp: PathBuf,
    file: hdf5_pure::File,
    per: usize,
    labels: bool,
}

impl Hdf5Sink {
    fn create(path: &Path, npix: usize, channels: usize, labels: bool) -> Result<Self> {
        let h5 = |e: hdf5_pure::Error| Error::format(path, format!("HDF5: {e}"));
        let temp = atomic::temp_path(path);
        let mut b = hdf5_pure::FileBuilder::new();
        let image_type = hdf5_pure::Datatype::Array {
            base_type: Box::new(hdf5_pure::make_f32_type()),
            dimensions: vec![npix as u32, npix as u32, channels as u32],
        };
        let chunk = ((1 << 20) / (npix * npix * channels * 4).max(1)).clamp(1, 4096) as u64;
        b.create_dataset("images")
            .with_dtype(image_type)
            .with_shape(&[0])
            .with_maxshape(&[hdf5_pure::MaxExtent::Unlimited])
            .with_chunks(&[chunk])
            .with_lzf();
        if labels {
            b.create_dataset("labels")
                .with_dtype(hdf5_pure::make_i64_type())
                .with_shape(&[0])
                .with_maxshape(&[hdf5_pure::MaxExtent::Unlimited])
                .with_chunks(&[4096]);
        }
        b.write(&temp).map_err(h5)?;
        let file = hdf5_pure::File::open_rw(&temp).map_err(h5)?;
        Ok(Hdf5Sink {
            final_path: path.to_path_buf(),
            temp,
            file,
            per: npix * npix * channels,
            labels,
        })
    }
}

impl ImageSink for Hdf5Sink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        let path = self.final_path.clone();
        let h5 = |e: hdf5_pure::Error| Error::format(&path, format!("HDF5: {e}"));
        let bytes: Vec<u8> = images.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.file
            .dataset("images")
            .map_err(h5)?
            .append_raw(&bytes)
            .map_err(h5)?;
        if let (true, Some(l)) = (self.labels, labels) {
            debug_assert_eq!(l.len(), images.len() / self.per.max(1));
            let l: Vec<i64> = l.iter().map(|&v| v as i64).collect();
            self.file.dataset("labels").map_err(h5)?.append(&l).map_err(h5)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>> {
        let path = self.final_path.clone();
        self.file
            .close()
            .map_err(|e| Error::format(&path, format!("HDF5: {e}")))?;
        std::fs::rename(&self.temp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(vec![path])
    }
}
