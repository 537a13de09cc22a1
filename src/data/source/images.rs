//! Folders of class subfolders of images ([`crate::data::images`]).

use std::path::Path;

use super::{RawData, ReadOptions};
use crate::data::images::read_folder;
use crate::error::Result;

/// Every image under `dir`, labelled by its subfolder.
pub fn load(dir: &Path, opts: &ReadOptions) -> Result<RawData> {
    let set = read_folder(dir, opts.channels, opts.resize)?;
    Ok(RawData {
        x: set.images,
        labels: set.labels,
        class_names: set.class_names,
        origin: dir.display().to_string(),
        channels_first: true,
    })
}
