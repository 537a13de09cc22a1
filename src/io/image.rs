//! Raster images: decoding PNG, JPEG, BMP, GIF, TIFF and WebP files with the
//! `image` crate, and the one PNG encoder striate writes every picture with
//! (filter outputs, sample grids, rasterised charts).

use std::path::Path;

use crate::error::{Error, Result};

/// A decoded image file.
pub struct Decoded {
    /// The decoded pixels, in the file's own colour type and bit depth.
    pub image: image::DynamicImage,
    /// True when the file was a PNG (whose samples matplotlib scales to `[0, 1]`).
    pub is_png: bool,
}

/// Decodes an image file, its format guessed from its content.
pub fn decode(path: &Path) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_bytes(&bytes, path, "cannot decode image")
}

/// Decodes an image held in memory (a PNG inside a Parquet file, say); its
/// format is guessed from its content. Errors name `origin` and start with `what`.
pub fn decode_bytes(bytes: &[u8], origin: &Path, what: &str) -> Result<Decoded> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(origin, e))?;
    let is_png = reader.format() == Some(image::ImageFormat::Png);
    // A header may declare any size: decoded pixels are allowed what the
    // bytes could hold compressed, and never more than the crate's default.
    let mut limits = image::Limits::default();
    let plausible = (bytes.len() as u64)
        .saturating_mul(super::MAX_INFLATE_RATIO)
        .saturating_add(1 << 20);
    limits.max_alloc = Some(limits.max_alloc.map_or(plausible, |m| m.min(plausible)));
    let mut reader = reader;
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| Error::format(origin, format!("{what}: {e}")))?;
    Ok(Decoded { image, is_png })
}

/// Pixel layout of 8-bit PNG data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PngColor {
    /// One grey value per pixel.
    Gray,
    /// Red, green, blue per pixel.
    Rgb,
    /// Red, green, blue and (straight, not premultiplied) alpha per pixel.
    Rgba,
}

/// PNG bytes of `w × h` 8-bit pixels, interleaved as `color` says.
pub fn encode_png(w: usize, h: usize, color: PngColor, pixels: &[u8]) -> Result<Vec<u8>> {
    let color = match color {
        PngColor::Gray => image::ExtendedColorType::L8,
        PngColor::Rgb => image::ExtendedColorType::Rgb8,
        PngColor::Rgba => image::ExtendedColorType::Rgba8,
    };
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(enc, pixels, w as u32, h as u32, color)
        .map_err(|e| Error::internal("encoding a PNG", e))?;
    Ok(out)
}
