//! `builtin:jets`: generated g, q, t, W, Z jets ([`super::generator`]) as
//! images of [`super::builtin_imager`], loaded as data's [`RawData`].

use super::{builtin_imager, generator, images_of};
use crate::data::source::{RawData, Role, role_origin};
use crate::error::Result;
use crate::io::array::Array;

/// Name and description of the built-in data set this file loads.
pub const JETS: (&str, &str) = (
    "jets",
    "20x20 images of generated g, q, t, W, Z jets (8,000 per class to train, 2,000 to test)",
);

/// 8,000 jets per class to train or 2,000 to test, seeded, as `[n, 1, 20, 20]` images.
pub fn load_jets(role: Role) -> Result<RawData> {
    let (per_class, seed) = if role == Role::Train { (8000, 1) } else { (2000, 2) };
    let jets = generator::generate(&generator::JetGenConfig::default(), per_class, seed)?;
    let imager = builtin_imager();
    let (data, labels, _skipped) = images_of(&jets, &imager)?;
    let npix = imager.pixels.npix;
    Ok(RawData {
        x: Array::from_f32(&[labels.len(), imager.pixels.channels.count(), npix, npix], data),
        labels,
        class_names: generator::CLASSES.iter().map(|s| s.to_string()).collect(),
        origin: role_origin("builtin:jets", role, "test"),
        channels_first: true,
    })
}
