//! MNIST-layout folders of IDX files ([`crate::data::idx`]): images stay
//! bytes, labels go straight to class indices.

use std::path::Path;

use super::{RawData, Role, role_origin};
use crate::data::idx::{self, Split};
use crate::error::Result;

/// One half of an MNIST/Fashion-MNIST folder as `[n, 1, h, w]` bytes.
pub fn load(dir: &Path, role: Role) -> Result<RawData> {
    // An IDX folder holds train and t10k files: validation uses the latter.
    let split = if role == Role::Train { Split::Train } else { Split::Test };
    let (x, labels) = idx::read_mnist_dir(dir, split)?;
    Ok(RawData {
        x,
        labels,
        class_names: Vec::new(),
        origin: role_origin(&dir.display().to_string(), role, "t10k"),
        channels_first: true,
    })
}
