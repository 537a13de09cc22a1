//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! A file is a 4-byte magic (`0, 0, type, ndim`), `ndim` big-endian `u32`
//! sizes, then the values in big-endian C order. Types: `0x08` u8, `0x09`
//! i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.

use std::path::{Path, PathBuf};

use super::Dataset;
use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};
use crate::io::idx::{read as read_idx, read_shape};
use crate::tensor::Tensor;

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

/// The images and labels files of one split of an MNIST-layout folder.
fn split_files(dir: &Path, split: Split) -> Result<(PathBuf, PathBuf)> {
    let images_stem = format!("{}-images-idx3-ubyte", split.prefix());
    let labels_stem = format!("{}-labels-idx1-ubyte", split.prefix());
    let images =
        find(dir, &images_stem).ok_or_else(|| Error::format(dir, format!("no {images_stem}[.gz] in this folder")))?;
    let labels =
        find(dir, &labels_stem).ok_or_else(|| Error::format(dir, format!("no {labels_stem}[.gz] in this folder")))?;
    Ok((images, labels))
}

/// Reads one split of an MNIST/Fashion-MNIST folder as `[n, 1, h, w]` images
/// with raw pixel values (0–255) and labels.
pub fn load_mnist_dir(dir: &Path, split: Split) -> Result<Dataset> {
    let (images, labels) = split_files(dir, split)?;
    load_idx_pair(&images, &labels)
}

/// One split of an MNIST-layout folder as stored: `[n, 1, h, w]` bytes
/// (other element types clamped to 0–255) and class labels.
pub fn read_mnist_dir(dir: &Path, split: Split) -> Result<(Array, Vec<u32>)> {
    let (images, labels) = split_files(dir, split)?;
    let (x, labels) = read_idx_pair(&images, &labels)?;
    let x = match x.elems {
        Elements::U8(_) => x,
        _ => {
            let bytes = x.to_f32().into_iter().map(|v| v.clamp(0.0, 255.0) as u8).collect();
            Array::new(x.shape, "uint8", Elements::U8(bytes))
        }
    };
    Ok((x, labels))
}

/// Reads an images file (`[n, h, w]`) and a labels file (`[n]`).
pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    let (img, ys) = read_idx_pair(images, labels)?;
    let n_classes = crate::io::array::n_classes(&ys);
    let x = Tensor::from_vec(&img.shape, img.to_f32())?;
    Dataset::classification(x, ys, n_classes)
}

/// An images file (`[n, h, w]`) as `[n, 1, h, w]` in its stored type, and
/// a labels file (`[n]`) as class indices.
fn read_idx_pair(images: &Path, labels: &Path) -> Result<(Array, Vec<u32>)> {
    // The headers first: a mismatch is reported before any data is inflated.
    check_pair_shapes(images, &read_shape(images)?, labels, &read_shape(labels)?)?;
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    check_pair_shapes(images, &img.shape, labels, &lab.shape)?;
    let ys = lab.to_labels(labels, "label")?;
    let [n, h, w] = [img.shape[0], img.shape[1], img.shape[2]];
    Ok((Array::new(vec![n, 1, h, w], img.dtype, img.elems), ys))
}

/// Images `[n, h, w]` and labels `[n]`.
fn check_pair_shapes(images: &Path, img: &[usize], labels: &Path, lab: &[usize]) -> Result<()> {
    if img.len() != 3 {
        return Err(Error::format(
            images,
            format!("expected [n, height, width] images, got shape {img:?}"),
        ));
    }
    if lab.len() != 1 {
        return Err(Error::format(labels, format!("expected [n] labels, got shape {lab:?}")));
    }
    if lab[0] != img[0] {
        return Err(Error::format(
            labels,
            format!("{} labels for {} images in {}", lab[0], img[0], images.display()),
        ));
    }
    Ok(())
}
