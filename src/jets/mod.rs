//! Jet images from particles: EnergyFlow's recipe, a built-in jet
//! generator, and readers for constituent files.
//!
//! The recipe ([`JetImager`]): four-vectors `[E, px, py, pz]` become
//! `[pt, y, phi, m]` with `phi` measured near the hardest particle
//! ([`physics::ptyphims_from_p4s`]); the jet is centred on its axis
//! (E-scheme or `pt`-weighted), rotated so that its principal axis is
//! vertical, reflected so that most `pt` sits at positive `y` and `phi`, and
//! pixelated ([`pixelate::pixelate`]). Each step has EnergyFlow 1.4's
//! semantics, checked pixel by pixel against EnergyFlow on generated jets.

pub mod builtin;
pub mod convert;
pub mod exact;
pub mod generator;
pub mod physics;
pub mod pixelate;
pub mod reader;
pub mod sink;
pub mod sum;
pub mod toptag;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use physics::{Centre, PhiRef, Reflect};
use pixelate::{Channels, PixelParams};

/// Relative tolerance of the `E ≥ |p|` check: massless particles stored in
/// `float32` come out with `E` a few ulp below `|p|`.
pub const ENERGY_TOLERANCE: f64 = 1e-5;

/// The whole recipe from four-vectors to an image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JetImager {
    /// Grid size, width, channels and normalisation of the image (default 33×33, width 0.8, `pt`, normalised).
    pub pixels: PixelParams,
    /// Centring scheme; `None` leaves the jet where it is (pixelate still
    /// snaps its centroid to the central pixel).
    pub centre: Option<CentreScheme>,
    /// Rotate the principal axis onto `phi` (EnergyFlow's `rotate_ptyphims`); default true.
    pub rotate: bool,
    /// Reflect so most `pt` lies at positive `y` and `phi` (EnergyFlow's `reflect_ptyphims`); default true.
    pub reflect: bool,
}

/// Serialisable form of [`Centre`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreScheme {
    /// Axis from the summed four-vectors (EnergyFlow's `escheme`), the default.
    EScheme,
    /// Axis at the `pt`-weighted mean of `y` and `phi` (EnergyFlow's `ptscheme`).
    PtScheme,
}

impl From<CentreScheme> for Centre {
    fn from(c: CentreScheme) -> Centre {
        match c {
            CentreScheme::EScheme => Centre::EScheme,
            CentreScheme::PtScheme => Centre::PtScheme,
        }
    }
}

impl Default for JetImager {
    /// 33×33 pixels of width 0.8 (EnergyFlow's defaults), `pt` only,
    /// normalised, E-scheme centring, rotation and reflection.
    fn default() -> Self {
        JetImager {
            pixels: PixelParams {
                npix: 33,
                width: 0.8,
                channels: Channels::Pt,
                norm: true,
            },
            centre: Some(CentreScheme::EScheme),
            rotate: true,
            reflect: true,
        }
    }
}

/// Checks a jet's four-vectors: finite, and `E ≥ |p|` up to
/// [`ENERGY_TOLERANCE`]. All-zero padding rows pass.
pub fn check_four_vectors(p4s: &[[f64; 4]]) -> Result<()> {
    for (i, p) in p4s.iter().enumerate() {
        if let Some(c) = p.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "particle {i} has a non-finite {} ({})",
                ["E", "px", "py", "pz"][c],
                p[c]
            )));
        }
        let [e, px, py, pz] = *p;
        let pabs = (px * px + py * py + pz * pz).sqrt();
        if e < pabs * (1.0 - ENERGY_TOLERANCE) {
            return Err(Error::Data(format!(
                "particle {i} has E = {e} below |p| = {pabs} (not a physical four-vector)"
            )));
        }
    }
    Ok(())
}

impl JetImager {
    /// Checks the pixel settings (`npix ≥ 1`, a positive finite width).
    pub fn validate(&self) -> Result<()> {
        self.pixels.validate()
    }

    /// Values per image (`npix · npix · channels`).
    pub fn image_len(&self) -> usize {
        self.pixels.len()
    }

    /// The image of a jet, `[npix, npix, channels]` channels last, or
    /// `None` for an empty jet (no particle with `pt > 0`), which callers
    /// skip and count. `pids` are PDG ids, needed for charged counts.
    pub fn image(&self, p4s: &[[f64; 4]], pids: Option<&[i64]>) -> Result<Option<Vec<f64>>> {
        check_four_vectors(p4s)?;
        let mut parts = physics::ptyphims_from_p4s(p4s, PhiRef::Hardest);
        if !parts.iter().any(|p| p[0] > 0.0) {
            return Ok(None);
        }
        if let Some(c) = self.centre {
            physics::center(&mut parts, c.into())?;
        }
        if self.rotate {
            physics::rotate(&mut parts);
        }
        if self.reflect {
            physics::reflect(&mut parts, Reflect::Both);
        }
        pixelate::pixelate(&parts, pids, &self.pixels)
    }
}

/// `[npix, npix, c]` (channels last) → `[c, npix, npix]` (what models take).
pub fn channels_first(img: &[f64], npix: usize, channels: usize, out: &mut [f32]) {
    for (i, &v) in img.iter().enumerate() {
        let (pix, ch) = (i / channels, i % channels);
        out[ch * npix * npix + pix] = v as f32;
    }
}

/// Images of many jets in parallel, channels first (`[n, c, npix, npix]`
/// flattened), with their labels; empty jets are skipped and counted.
pub fn images_of(jets: &[generator::Jet], imager: &JetImager) -> Result<(Vec<f32>, Vec<u32>, usize)> {
    use rayon::prelude::*;
    imager.validate()?;
    let (npix, nc) = (imager.pixels.npix, imager.pixels.channels.count());
    let per = imager.image_len();
    let images: Vec<Option<Vec<f32>>> = jets
        .par_iter()
        .enumerate()
        .map(|(i, jet)| {
            let img = imager
                .image(&jet.p4, Some(&jet.pids))
                .map_err(|e| Error::Data(format!("jet {i}: {e}")))?;
            Ok(img.map(|img| {
                let mut out = vec![0f32; per];
                channels_first(&img, npix, nc, &mut out);
                out
            }))
        })
        .collect::<Result<_>>()?;
    let mut data = Vec::with_capacity(jets.len() * per);
    let mut labels = Vec::with_capacity(jets.len());
    let mut skipped = 0;
    for (img, jet) in images.into_iter().zip(jets) {
        match img {
            Some(v) => {
                data.extend_from_slice(&v);
                labels.push(jet.label);
            }
            None => skipped += 1,
        }
    }
    Ok((data, labels, skipped))
}

/// The images of `builtin:jets`: 20×20 pixels over 1.6 × 1.6 in `(y, phi)`
/// (enough for a top quark's three prongs at 500 GeV), `pt` normalised,
/// E-scheme centring, rotation and reflection — the input of the course's
/// seed CNN.
pub fn builtin_imager() -> JetImager {
    JetImager {
        pixels: PixelParams {
            npix: 20,
            width: 1.6,
            channels: Channels::Pt,
            norm: true,
        },
        ..JetImager::default()
    }
}
