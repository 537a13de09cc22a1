//! `builtin:shapes`: generated images of six shapes ([`crate::data::synthetic`]).

use super::{RawData, Role};
use crate::data::synthetic;
use crate::error::Result;
use crate::io::array::Array;

/// Name and description of the built-in data set this file loads.
pub const SHAPES: (&str, &str) = ("shapes", "16x16 images of 6 generated shapes (1,800 train + 600 test)");

/// The shapes data set: 1,800 images to train, 600 to test, seeded.
pub fn load_shapes(role: Role) -> Result<RawData> {
    let (n, seed) = if role == Role::Train { (1800, 1) } else { (600, 2) };
    let ds = synthetic::shapes(n, 16, 0.3, seed)?;
    Ok(RawData {
        x: Array::from_f32(ds.x.shape(), ds.x.data().to_vec()),
        labels: ds.labels().unwrap_or(&[]).to_vec(),
        class_names: ds.class_names.clone(),
        origin: format!("builtin:{}", SHAPES.0),
        channels_first: true,
    })
}
