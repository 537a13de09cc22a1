//! Delimited tables with a label column ([`crate::data::table`]).

use std::path::Path;

use super::{RawData, ReadOptions};
use crate::data::table::read;
use crate::error::Result;

/// A `.csv`/`.tsv` table, its label column chosen by the options.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<RawData> {
    let t = read(path, &opts.label_column)?;
    Ok(RawData {
        x: t.features,
        labels: t.labels,
        class_names: t.class_names,
        origin: path.display().to_string(),
        channels_first: false,
    })
}
