//! HDF5 files ([`crate::io::hdf5`]): samples and labels as two datasets
//! (named by the options or guessed), or one dataset per class.

use std::path::Path;

use super::{RawData, ReadOptions, first_present, stack_classes};
use crate::error::{Error, Result};
use crate::io::hdf5::{list, read};

/// Samples and labels of an HDF5 file.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<RawData> {
    let (x, labels, class_names) = if !opts.class_keys.is_empty() {
        let parts = opts
            .class_keys
            .iter()
            .map(|k| Ok((k.clone(), read(path, k)?)))
            .collect::<Result<Vec<_>>>()?;
        stack_classes(path, parts)?
    } else {
        let (xk, yk) = keys(path, opts)?;
        let x = read(path, &xk)?;
        let labels = read(path, &yk)?.to_labels(path, &format!("label (dataset {yk:?})"))?;
        (x, labels, Vec::new())
    };
    Ok(RawData {
        x,
        labels,
        class_names,
        origin: path.display().to_string(),
        channels_first: false,
    })
}

/// The datasets holding the samples and the labels: named by the options,
/// or guessed (`images`/`x`/`X`/`data`, `labels`/`y`/`Y`/`targets`).
pub fn keys(path: &Path, opts: &ReadOptions) -> Result<(String, String)> {
    let names: Vec<String> = list(path)?.into_iter().map(|d| d.name).collect();
    let x_key = opts
        .x_key
        .clone()
        .or_else(|| first_present(&names, &["images", "x", "X", "data"]).cloned());
    let y_key = opts
        .y_key
        .clone()
        .or_else(|| first_present(&names, &["labels", "y", "Y", "targets"]).cloned());
    match (x_key, y_key) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(Error::format(
            path,
            format!(
                "cannot tell samples from labels among datasets {}; pass --x-key and --y-key, or --class-keys A,B",
                names.join(", ")
            ),
        )),
    }
}
