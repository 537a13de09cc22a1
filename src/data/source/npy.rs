//! NumPy `.npy` sample files ([`crate::io::npy`]), their labels from
//! `--labels FILE` or the one `*label*.npy` beside them.

use std::path::{Path, PathBuf};

use super::{RawData, ReadOptions, lower_name};
use crate::error::{Error, Result};
use crate::io::npy::read;

/// Samples of a `.npy` file with their labels (label 0 for every sample
/// when none are found and the options allow unlabelled data).
pub fn load(path: &Path, opts: &ReadOptions) -> Result<RawData> {
    let x = read(path)?;
    let labels = labels(path, opts, x.shape.first().copied().unwrap_or(0))?;
    Ok(RawData {
        x,
        labels,
        class_names: Vec::new(),
        origin: path.display().to_string(),
        channels_first: false,
    })
}

/// The labels of the `n` samples of the `.npy` file `path`: from
/// `--labels`, else the `*label*.npy` beside it, else (when the options allow
/// unlabelled data) 0 for every sample.
pub fn labels(path: &Path, opts: &ReadOptions, n: usize) -> Result<Vec<u32>> {
    let labels_path = match &opts.labels_file {
        Some(p) => Some(p.clone()),
        None if opts.allow_unlabeled => sibling_labels(path).ok(),
        None => Some(sibling_labels(path)?),
    };
    match labels_path {
        Some(lp) => read(&lp)?.to_labels(&lp, "label"),
        None => Ok(vec![0; n]),
    }
}

/// The labels file beside an `.npy` of samples: the `*label*.npy` there whose
/// name starts with the samples' stem (`x.npy` → `x_labels.npy`), or else
/// the only `*label*.npy` in the folder.
fn sibling_labels(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p != path
                && lower_name(p).contains("label")
                && (lower_name(p).ends_with(".npy") || lower_name(p).ends_with(".npy.gz"))
        })
        .collect();
    found.sort();
    let stem = lower_name(path).split('.').next().unwrap_or("").to_string();
    if let Some(p) = found
        .iter()
        .find(|p| !stem.is_empty() && lower_name(p).starts_with(&stem))
    {
        return Ok(p.clone());
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::format(
            path,
            "no labels: pass --labels FILE.npy (no *label*.npy beside it)",
        )),
        _ => Err(Error::format(
            path,
            "several *label*.npy files beside it; pass --labels FILE.npy",
        )),
    }
}
