//! Jet images: particles binned in `(phi, y)` with EnergyFlow's `pixelate`
//! semantics.
//!
//! The pixel width is `pw = width / npix`; a coordinate `v` falls in the
//! pixel `⌈v/pw − ½⌉` of a grid anchored at 0 (edges go to the lower pixel),
//! and the grid is shifted by whole pixels so that the pixel of the
//! `pt`-weighted centroid lands at index `⌊npix/2⌋` (20 of 0..39 for
//! `npix = 40`). Rows are `phi`, columns are `y`; channel 0 is `pt`,
//! channel 1 the particle count (or only charged particles, from PDG ids).
//! Images are `[npix, npix, channels]`, channels last, as EnergyFlow's.

use serde::{Deserialize, Serialize};

use super::sum::pairwise_sum;
use crate::error::{Error, Result};

/// What each pixel holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channels {
    /// Summed `pt`.
    #[default]
    Pt,
    /// `pt`, then the number of particles.
    PtCounts,
    /// `pt`, then the number of charged particles (from PDG ids).
    PtChargedCounts,
}

impl Channels {
    /// Number of image channels: 1 for `pt` alone, 2 otherwise.
    pub fn count(self) -> usize {
        if self == Channels::Pt { 1 } else { 2 }
    }
}

/// Image settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PixelParams {
    /// Pixels per side.
    pub npix: usize,
    /// Width of the image in `y` and `phi` (EnergyFlow's `img_width`).
    pub width: f64,
    /// What each pixel holds (default `pt` only).
    pub channels: Channels,
    /// Divide the `pt` channel by the `pt` that landed in the image.
    pub norm: bool,
}

impl PixelParams {
    /// Checks that `npix ≥ 1` and the width is positive and finite.
    pub fn validate(&self) -> Result<()> {
        if self.npix == 0 {
            return Err(Error::invalid("npix", "must be at least 1"));
        }
        if !(self.width > 0.0 && self.width.is_finite()) {
            return Err(Error::invalid(
                "image width",
                format!("{} must be positive", self.width),
            ));
        }
        let what = format!("--npix {}", self.npix);
        let len = crate::budget::product(&what, &[self.npix, self.npix, self.channels.count()])?;
        // An image in f64 while it is drawn, and its f32 copy per thread.
        let copies = 2 * rayon::current_num_threads().max(1);
        crate::budget::check_elements(&what, len, 12 * copies)
    }

    /// Values per image.
    pub fn len(&self) -> usize {
        self.npix * self.npix * self.channels.count()
    }

    /// True when an image has no values (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// 1 for the charged particles EnergyFlow knows (±211, ±321, ±2212, ±11,
/// ±13), 0 for everything else.
pub fn abs_charge(pid: i64) -> f64 {
    match pid.abs() {
        211 | 321 | 2212 | 11 | 13 => 1.0,
        _ => 0.0,
    }
}

/// `⌈v/pw − ½⌉`, EnergyFlow's pixel index of coordinate `v`.
#[inline]
fn pixel_of(v: f64, pw: f64) -> f64 {
    (v / pw - 0.5).ceil()
}

/// The image of particles `[pt, y, phi, …]` (PDG ids only for charged
/// counts). `Ok(None)` when the jet has no particle with `pt > 0`, or when,
/// with `norm`, no `pt` lands in the image: EnergyFlow raises there, striate
/// skips the jet and counts it.
pub fn pixelate(particles: &[[f64; 4]], pids: Option<&[i64]>, p: &PixelParams) -> Result<Option<Vec<f64>>> {
    p.validate()?;
    if p.channels == Channels::PtChargedCounts && pids.is_none_or(|ids| ids.len() != particles.len()) {
        return Err(Error::invalid("charged counts", "need one PDG id per particle"));
    }
    let kept: Vec<usize> = (0..particles.len()).filter(|&i| particles[i][0] > 0.0).collect();
    if kept.is_empty() {
        return Ok(None);
    }
    for &i in &kept {
        if !particles[i][1].is_finite() || !particles[i][2].is_finite() {
            return Err(Error::Data(format!(
                "particle {i} has pt {} but rapidity {} and phi {}",
                particles[i][0], particles[i][1], particles[i][2]
            )));
        }
    }
    let pw = p.width / p.npix as f64;
    let pts: Vec<f64> = kept.iter().map(|&i| particles[i][0]).collect();
    let total = pairwise_sum(&pts);
    let wy: Vec<f64> = kept.iter().map(|&i| particles[i][1] * particles[i][0]).collect();
    let wphi: Vec<f64> = kept.iter().map(|&i| particles[i][2] * particles[i][0]).collect();
    let (ybar, phibar) = (pairwise_sum(&wy) / total, pairwise_sum(&wphi) / total);
    let half = (p.npix / 2) as f64;
    let (cy, cphi) = (pixel_of(ybar, pw) - half, pixel_of(phibar, pw) - half);
    let nc = p.channels.count();
    let mut img = vec![0.0f64; p.len()];
    let n = p.npix as f64;
    for &i in &kept {
        let iy = pixel_of(particles[i][1], pw) - cy;
        let iphi = pixel_of(particles[i][2], pw) - cphi;
        if !(iy >= 0.0 && iy < n && iphi >= 0.0 && iphi < n) {
            continue;
        }
        let at = ((iphi as usize) * p.npix + iy as usize) * nc;
        img[at] += particles[i][0];
        match p.channels {
            Channels::Pt => {}
            Channels::PtCounts => img[at + 1] += 1.0,
            Channels::PtChargedCounts => img[at + 1] += abs_charge(pids.map_or(0, |ids| ids[i])),
        }
    }
    if p.norm {
        let landed: f64 = img.iter().step_by(nc).sum();
        if landed == 0.0 {
            return Ok(None);
        }
        img.iter_mut().step_by(nc).for_each(|v| *v /= landed);
    }
    Ok(Some(img))
}
