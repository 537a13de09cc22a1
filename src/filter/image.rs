//! Pictures in and out for the filters (decoding and PNG encoding are
//! [`crate::io::image`]'s; this file owns matplotlib's conventions).
//!
//! [`imread`] reads a file as `matplotlib.pyplot.imread` does, so that
//! results match the course's notebook: PNG samples become `f32` in `[0, 1]`
//! (8-bit: `v/255`; 16-bit grey: `v/65535`; 16-bit colour: `(v >> 8)/255`,
//! as Pillow hands it to matplotlib), grey-with-alpha and palette images
//! become RGBA; other formats (JPEG, …) keep their 0–255 values.

use std::path::Path;

use super::Plane;
use crate::error::Result;
use crate::io::image::{Decoded, PngColor, decode, encode_png};

/// A decoded picture: `h × w` pixels of `channels` interleaved `f32` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    /// Height in pixels (rows).
    pub h: usize,
    /// Width in pixels (columns).
    pub w: usize,
    /// Values per pixel: 1 (grey), 3 (RGB) or 4 (RGBA; grey-with-alpha and palette images become RGBA).
    pub channels: usize,
    /// Pixel values, row-major with channels interleaved (`[h, w, channels]`); `[0, 1]` for PNG, 0–255 otherwise.
    pub data: Vec<f32>,
}

/// Reads an image file with matplotlib's conventions.
pub fn imread(path: &Path) -> Result<Picture> {
    let Decoded { image: img, is_png } = decode(path)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    use image::DynamicImage as D;
    let s8 = |v: u8| if is_png { v as f32 / 255.0 } else { v as f32 };
    let (channels, data): (usize, Vec<f32>) = match &img {
        D::ImageLuma8(b) => (1, b.as_raw().iter().map(|&v| s8(v)).collect()),
        D::ImageLumaA8(b) => (
            4,
            b.as_raw()
                .chunks_exact(2)
                .flat_map(|p| [s8(p[0]), s8(p[0]), s8(p[0]), s8(p[1])])
                .collect(),
        ),
        D::ImageRgb8(b) => (3, b.as_raw().iter().map(|&v| s8(v)).collect()),
        D::ImageRgba8(b) => (4, b.as_raw().iter().map(|&v| s8(v)).collect()),
        D::ImageLuma16(b) => (1, b.as_raw().iter().map(|&v| v as f32 / 65535.0).collect()),
        D::ImageLumaA16(b) => {
            let c = |v: u16| (v >> 8) as f32 / 255.0;
            (
                4,
                b.as_raw()
                    .chunks_exact(2)
                    .flat_map(|p| [c(p[0]), c(p[0]), c(p[0]), c(p[1])])
                    .collect(),
            )
        }
        D::ImageRgb16(b) => (3, b.as_raw().iter().map(|&v| (v >> 8) as f32 / 255.0).collect()),
        D::ImageRgba16(b) => (4, b.as_raw().iter().map(|&v| (v >> 8) as f32 / 255.0).collect()),
        other => (4, other.to_rgba32f().into_raw()),
    };
    Ok(Picture { h, w, channels, data })
}

/// How colour becomes grey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Gray {
    /// `r + g + b` in `f32`, as the course's `np.sum(image, axis=-1)` on an
    /// RGB image (alpha is not added; a grey image counts as `r = g = b`).
    #[default]
    Sum,
    /// `(r + g + b) / 3`.
    Mean,
    /// ITU-R 601 luma `0.299 r + 0.587 g + 0.114 b`.
    Luma,
}

/// One grey value per pixel.
pub fn to_gray(p: &Picture, how: Gray) -> Plane {
    let data = p
        .data
        .chunks_exact(p.channels.max(1))
        .map(|px| {
            let (r, g, b) = if p.channels >= 3 {
                (px[0], px[1], px[2])
            } else {
                (px[0], px[0], px[0])
            };
            let v: f32 = match how {
                Gray::Sum => (r + g) + b,
                Gray::Mean => ((r + g) + b) / 3.0,
                Gray::Luma => 0.299 * r + 0.587 * g + 0.114 * b,
            };
            v as f64
        })
        .collect();
    Plane { h: p.h, w: p.w, data }
}

/// How values map to pixel intensities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Normalize {
    /// Minimum to black, maximum to white.
    #[default]
    MinMax,
    /// `−m … 0 … m` to black, mid-grey, white with `m = max |v|` (signed edges).
    Symmetric,
    /// `|v|` from 0 (black) to its maximum (white).
    Abs,
}

/// Colours of the written image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Colormap {
    /// Black to white (matplotlib's `gray`), the default.
    #[default]
    Gray,
    /// Diverging blue–white–red (matplotlib's `RdBu_r`), for signed values.
    RdBu,
}

/// Values of a plane mapped to `[0, 1]`.
pub fn normalized(p: &Plane, how: Normalize) -> Vec<f64> {
    let (lo, hi) = p
        .data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let m = lo.abs().max(hi.abs());
    let safe = |d: f64| if d > 0.0 { d } else { 1.0 };
    p.data
        .iter()
        .map(|&v| match how {
            Normalize::MinMax => (v - lo) / safe(hi - lo),
            Normalize::Symmetric => 0.5 + 0.5 * v / safe(m),
            Normalize::Abs => v.abs() / safe(m),
        })
        .collect()
}

fn lerp(a: [f64; 3], b: [f64; 3], t: f64) -> [u8; 3] {
    let c = |i: usize| (a[i] + (b[i] - a[i]) * t).round().clamp(0.0, 255.0) as u8;
    [c(0), c(1), c(2)]
}

/// PNG bytes of a plane.
pub fn png_bytes(p: &Plane, how: Normalize, cmap: Colormap) -> Result<Vec<u8>> {
    let t = normalized(p, how);
    match cmap {
        Colormap::Gray => {
            let px: Vec<u8> = t.iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect();
            encode_png(p.w, p.h, PngColor::Gray, &px)
        }
        Colormap::RdBu => {
            let (blue, white, red) = ([33.0, 102.0, 172.0], [247.0, 247.0, 247.0], [178.0, 24.0, 43.0]);
            let px: Vec<u8> = t
                .iter()
                .flat_map(|&v| {
                    if v < 0.5 {
                        lerp(blue, white, v * 2.0)
                    } else {
                        lerp(white, red, v * 2.0 - 1.0)
                    }
                })
                .collect();
            encode_png(p.w, p.h, PngColor::Rgb, &px)
        }
    }
}
