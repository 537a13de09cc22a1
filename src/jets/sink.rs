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
//! Pixels are `float32` unless an [`ImageDtype`] says otherwise: `float16`
//! (NumPy's `<f2`, HDF5's `H5T_IEEE_F16LE`; nearest, ties to even: about
//! three significant digits, values above 65504 become infinite) or `uint8`
//! (`round(255·v)`, only for normalised `pt`-only images, whose pixels are
//! fractions of the jet's `pt` in `[0, 1]`; striate reads bytes back
//! multiplied by 1/255, so a fraction below 1/510 becomes 0).
//!
//! Both are written under a temporary name and renamed when complete, by
//! [`crate::io::npy::StreamWriter`] and [`crate::io::hdf5::append`].

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::f16::f32_to_f16;
use crate::io::hdf5::append::{AppendDataset, AppendType, AppendWriter};
use crate::io::npy::StreamWriter;

use super::JetImager;
use super::pixelate::Channels;

/// How pixel values are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImageDtype {
    /// `float32`, exact (the default).
    #[default]
    F32,
    /// IEEE half precision: half the size, about three significant digits.
    F16,
    /// `round(255·v)` in a byte: normalised `pt`-only images only.
    U8,
}

/// How an HDF5 output's image chunks are stored (`.npy` is never compressed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// h5py's LZF filter (the default): jet images are mostly zeros, so
    /// files shrink many times (76 MB against 1.1 GB for 300,000 f16 40×40 images).
    #[default]
    Lzf,
    /// Stored as they are: larger files, nothing to decompress when training
    /// streams them (h5py's `compression=None`).
    None,
}

impl ImageDtype {
    /// An error unless images of `imager` can be stored as this type:
    /// `uint8` needs `pt` fractions (normalised, `pt` channel only).
    pub fn check(self, imager: &JetImager) -> Result<()> {
        if self == ImageDtype::U8 && !(imager.pixels.norm && imager.pixels.channels == Channels::Pt) {
            return Err(Error::invalid(
                "--dtype u8",
                "stores round(255·pt fraction) and needs --norm with --channels pt; use f16 for other images",
            ));
        }
        Ok(())
    }

    /// The values `images` stored as this type.
    fn encode(self, images: &[f32]) -> Encoded<'_> {
        match self {
            ImageDtype::F32 => Encoded::F32(images),
            ImageDtype::F16 => Encoded::F16(images.iter().map(|&v| f32_to_f16(v)).collect()),
            ImageDtype::U8 => Encoded::U8(
                images
                    .iter()
                    .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                    .collect(),
            ),
        }
    }
}

/// Pixels in their stored type.
enum Encoded<'a> {
    F32(&'a [f32]),
    F16(Vec<u16>),
    U8(Vec<u8>),
}

/// Receives images (`npix·npix·channels` values each, channels last) and
/// labels.
pub trait ImageSink {
    /// Appends a batch of images (flattened, `npix·npix·channels` each) and, when the sink keeps them, one label per image.
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()>;
    /// Completes the files; returns the paths written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>>;
}

/// Opens a `float32` sink for `path` by its extension.
pub fn create(path: &Path, npix: usize, channels: usize, with_labels: bool) -> Result<Box<dyn ImageSink>> {
    create_as(
        path,
        npix,
        channels,
        with_labels,
        ImageDtype::F32,
        Compression::default(),
    )
}

/// Opens a sink for `path` by its extension, storing pixels as `dtype`, in
/// HDF5 with `compression`.
pub fn create_as(
    path: &Path,
    npix: usize,
    channels: usize,
    with_labels: bool,
    dtype: ImageDtype,
    compression: Compression,
) -> Result<Box<dyn ImageSink>> {
    let dims = [npix, channels];
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "npy" => Ok(Box::new(NpySink::create(path, dims, with_labels, dtype)?)),
        "h5" | "hdf5" => Ok(Box::new(Hdf5Sink::create(path, dims, with_labels, dtype, compression)?)),
        _ => Err(Error::invalid(
            "output",
            format!("{}: write images as .npy or .h5", path.display()),
        )),
    }
}

struct NpySink {
    images: StreamWriter,
    labels: Option<StreamWriter>,
    dtype: ImageDtype,
}

impl NpySink {
    fn create(path: &Path, [npix, channels]: [usize; 2], with_labels: bool, dtype: ImageDtype) -> Result<Self> {
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
        let descr = match dtype {
            ImageDtype::F32 => "<f4",
            ImageDtype::F16 => "<f2",
            ImageDtype::U8 => "|u1",
        };
        Ok(NpySink {
            images: StreamWriter::create(path, descr, vec![npix, npix, channels])?,
            labels,
            dtype,
        })
    }
}

impl ImageSink for NpySink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        match self.dtype.encode(images) {
            Encoded::F32(v) => self.images.write_f32(v)?,
            Encoded::F16(v) => self.images.write_f16(&v)?,
            Encoded::U8(v) => self.images.write_u8(&v)?,
        }
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
    dtype: ImageDtype,
}

impl Hdf5Sink {
    fn create(
        path: &Path,
        [npix, channels]: [usize; 2],
        labels: bool,
        dtype: ImageDtype,
        compression: Compression,
    ) -> Result<Self> {
        let dims = vec![npix, npix, channels];
        let (element, size) = match dtype {
            ImageDtype::F32 => (AppendType::F32Array(dims), 4),
            ImageDtype::F16 => (AppendType::F16Array(dims), 2),
            ImageDtype::U8 => (AppendType::U8Array(dims), 1),
        };
        let chunk = ((1 << 20) / (npix * npix * channels * size).max(1)).clamp(1, 4096);
        let mut datasets = vec![AppendDataset {
            name: "images".into(),
            dtype: element,
            chunk_rows: chunk,
            lzf: compression == Compression::Lzf,
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
            dtype,
        })
    }
}

impl ImageSink for Hdf5Sink {
    fn write(&mut self, images: &[f32], labels: Option<&[u32]>) -> Result<()> {
        match self.dtype.encode(images) {
            Encoded::F32(v) => self.file.append_f32("images", v)?,
            Encoded::F16(v) => self.file.append_f16("images", &v)?,
            Encoded::U8(v) => self.file.append_u8("images", &v)?,
        }
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
