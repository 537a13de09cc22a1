//! UCR/UEA time series ([`crate::data::series`]): `.ts` files and the
//! classic text format.

use std::path::Path;

use super::{RawData, ReadOptions};
use crate::data::series::{SeriesSet, read_ts, read_ucr_text};
use crate::error::Result;

fn raw(path: &Path, set: SeriesSet) -> RawData {
    RawData {
        x: set.x,
        labels: set.labels,
        class_names: set.class_names,
        origin: path.display().to_string(),
        channels_first: true,
    }
}

/// A `.ts` (sktime/aeon) file.
pub fn load_ts(path: &Path, opts: &ReadOptions) -> Result<RawData> {
    Ok(raw(path, read_ts(path, opts.pad_series)?))
}

/// A classic UCR text file (label first, then the values).
pub fn load_ucr_text(path: &Path, opts: &ReadOptions) -> Result<RawData> {
    Ok(raw(path, read_ucr_text(path, opts.pad_series)?))
}
