//! NumPy `.npz` archives ([`crate::io::npz`]): x/y members by key (guessed
//! as `x`/`y`, `x_train`/`y_train` or `x_test`/`y_test` by role), or one
//! member per class.

use std::path::Path;

use super::{RawData, ReadOptions, Role, first_present, stack_classes};
use crate::error::{Error, Result};
use crate::io::array::Array;
use crate::io::npz;

/// Names of the members that hold samples and labels, from the options or guessed.
fn keys(path: &Path, names: &[String], role: Role, opts: &ReadOptions) -> Result<(String, String)> {
    let (xs, ys): (&[&str], &[&str]) = match role {
        Role::Train => (
            &["images", "x", "X", "x_train", "X_train"],
            &["labels", "y", "Y", "y_train"],
        ),
        Role::Valid => (
            &[
                "images", "x", "X", "x_val", "X_val", "x_valid", "X_valid", "x_train", "X_train",
            ],
            &["labels", "y", "Y", "y_val", "y_valid", "y_train"],
        ),
        Role::Test => (
            &["images", "x", "X", "x_test", "X_test"],
            &["labels", "y", "Y", "y_test"],
        ),
    };
    let xk = opts.x_key.clone().or_else(|| first_present(names, xs).cloned());
    let yk = opts.y_key.clone().or_else(|| first_present(names, ys).cloned());
    match (xk, yk) {
        (Some(xk), Some(yk)) => Ok((xk, yk)),
        _ => Err(Error::format(
            path,
            format!(
                "cannot tell samples from labels among members {}; pass --x-key and --y-key",
                names.join(", ")
            ),
        )),
    }
}

/// Samples and labels of a `.npz` archive.
pub fn load(path: &Path, role: Role, opts: &ReadOptions) -> Result<RawData> {
    let members = npz::read(path)?;
    let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
    let take = |key: &str| -> Result<Array> {
        members
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, a)| a.clone())
            .ok_or_else(|| Error::format(path, format!("no member {key:?}")))
    };
    let (x, labels, class_names) = if !opts.class_keys.is_empty() {
        let parts = opts
            .class_keys
            .iter()
            .map(|k| Ok((k.clone(), take(k)?)))
            .collect::<Result<Vec<_>>>()?;
        stack_classes(path, parts)?
    } else {
        let (xk, yk) = keys(path, &names, role, opts)?;
        let x = take(&xk)?;
        let y = take(&yk)?;
        (x, y.to_labels(path, "label")?, Vec::new())
    };
    Ok(RawData {
        x,
        labels,
        class_names,
        origin: path.display().to_string(),
        channels_first: false,
    })
}
