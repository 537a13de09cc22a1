//! Every data spec striate accepts: data/'s formats plus jets/'s. This is
//! the one dispatcher that turns a spec (a path or `builtin:NAME`) into a
//! loader; it sits above both [`crate::data`] and [`crate::jets`].
//!
//! | given | read as |
//! |---|---|
//! | `builtin:jets` | generated jet images ([`crate::jets::builtin`]) |
//! | `builtin:shapes` | generated images ([`crate::data::synthetic`]) |
//! | a folder with `train-images-idx3-ubyte[.gz]` | MNIST/Fashion-MNIST IDX; the split is picked by name |
//! | a folder of class subfolders with images | PNG/JPEG/… image folder |
//! | `*.parquet`, or a folder of Parquet shards (`data/train-00000-of-00002.parquet`, …) | Parquet: an `image` column of PNGs or an array column, and a label column; the split is picked by file name |
//! | `*.h5`, `*.hdf5` | HDF5: `--x-key`/`--y-key` datasets, or one dataset per class (`--class-keys`) |
//! | `*.npz` | NumPy archive: x/y members by key, or `x_train`/`y_train` (`x_test`/`y_test` for test data) |
//! | `*.npy[.gz]` | NumPy array of samples; labels from `--labels FILE` or the one `*label*.npy` beside it |
//! | `*.csv[.gz]` | table with a label column (last by default) |
//! | `*.ts`, `*.ts.gz` | UCR/UEA time series (sktime/aeon format) |
//! | `*.txt`, `*.tsv` | classic UCR time series: label first, then the values |

use std::path::PathBuf;

use crate::data::source::{self as load, RawData, ReadOptions, Role, lower_name};
use crate::data::{idx, images};
use crate::error::{Error, Result};
use crate::io::hdf5;

/// A recognised data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `builtin:NAME`, one of [`BUILTINS`].
    Builtin(String),
    /// A folder of MNIST-layout IDX files.
    IdxDir(PathBuf),
    /// A folder of class subfolders of images.
    ImageFolder(PathBuf),
    /// A Parquet file, or a folder of Parquet shards as the Hugging Face Hub lays them out.
    Parquet(PathBuf),
    /// An HDF5 file (`*.h5`, `*.hdf5`).
    Hdf5(PathBuf),
    /// A NumPy `.npz` archive.
    Npz(PathBuf),
    /// A NumPy `.npy[.gz]` array of samples, with labels from a second file.
    Npy(PathBuf),
    /// A delimited table with a label column.
    Table(PathBuf),
    /// `.ts` time series.
    Ts(PathBuf),
    /// Classic UCR text time series.
    UcrText(PathBuf),
}

/// Built-in data sets: name and description.
pub const BUILTINS: &[(&str, &str)] = &[crate::jets::builtin::JETS, load::builtin::SHAPES];

/// Recognises a source from its name.
pub fn detect(spec: &str) -> Result<Source> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        if BUILTINS.iter().any(|(n, _)| *n == name) {
            return Ok(Source::Builtin(name.to_string()));
        }
        let names: Vec<String> = BUILTINS.iter().map(|(n, _)| format!("builtin:{n}")).collect();
        return Err(Error::Data(format!(
            "unknown built-in data {spec:?}; available: {}",
            names.join(", ")
        )));
    }
    let path = PathBuf::from(spec);
    if !path.exists() {
        return Err(Error::not_found(&path));
    }
    if path.is_dir() {
        if idx::is_mnist_dir(&path) {
            return Ok(Source::IdxDir(path));
        }
        if images::is_image_folder(&path) {
            return Ok(Source::ImageFolder(path));
        }
        if load::parquet::is_parquet_dir(&path) {
            return Ok(Source::Parquet(path));
        }
        return Err(Error::format(
            &path,
            "folder is neither an MNIST-layout IDX folder, class subfolders of images nor Parquet shards",
        ));
    }
    let name = lower_name(&path);
    let ext_is = |e: &[&str]| e.iter().any(|x| name.ends_with(x));
    if ext_is(&[".h5", ".hdf5", ".hdf"]) {
        Ok(Source::Hdf5(path))
    } else if ext_is(&[".parquet"]) {
        Ok(Source::Parquet(path))
    } else if ext_is(&[".npz"]) {
        Ok(Source::Npz(path))
    } else if ext_is(&[".npy", ".npy.gz"]) {
        Ok(Source::Npy(path))
    } else if ext_is(&[".csv", ".csv.gz"]) {
        Ok(Source::Table(path))
    } else if ext_is(&[".ts", ".ts.gz"]) {
        Ok(Source::Ts(path))
    } else if ext_is(&[".txt", ".tsv", ".txt.gz", ".tsv.gz"]) {
        Ok(Source::UcrText(path))
    } else if hdf5::is_hdf5(&path) {
        Ok(Source::Hdf5(path))
    } else if crate::io::parquet::is_parquet(&path) {
        Ok(Source::Parquet(path))
    } else {
        Err(Error::format(
            &path,
            "unknown data format (expected a folder, .h5/.hdf5, .parquet, .npy, .npz, .csv, .ts, .txt/.tsv or builtin:NAME)",
        ))
    }
}

/// Reads the samples and labels of a source with its format's loader, and
/// checks that they pair up.
pub fn read(source: &Source, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let raw = match source {
        Source::Builtin(name) if name == crate::jets::builtin::JETS.0 => crate::jets::builtin::load_jets(role)?,
        Source::Builtin(_) => load::builtin::load_shapes(role)?,
        Source::IdxDir(dir) => load::idx::load(dir, role)?,
        Source::ImageFolder(dir) => load::images::load(dir, opts)?,
        Source::Hdf5(path) => load::hdf5::load(path, opts)?,
        Source::Parquet(path) => load::parquet::load(path, role, opts)?,
        Source::Npz(path) => load::npz::load(path, role, opts)?,
        Source::Npy(path) => load::npy::load(path, opts)?,
        Source::Ts(path) => load::series::load_ts(path, opts)?,
        Source::UcrText(path) => load::series::load_ucr_text(path, opts)?,
        Source::Table(path) => load::table::load(path, opts)?,
    };
    load::check(raw)
}
