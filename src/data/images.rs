//! Folders of images: one subfolder per class (`data/cat/*.png`,
//! `data/dog/*.jpg`), classes in sorted order, decoded by [`crate::io::image`].

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};

const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"];

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// True when `dir` has subfolders that contain images.
pub fn is_image_folder(dir: &Path) -> bool {
    class_dirs(dir).is_ok_and(|c| c.iter().any(|(_, files)| !files.is_empty()))
}

fn class_dirs(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut classes = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        if !p.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&p)
            .map_err(|e| Error::io(&p, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && is_image(f))
            .collect();
        files.sort();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        classes.push((name, files));
    }
    classes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(classes)
}

/// Pixel channels to decode to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channels {
    /// Gray when every image is gray, RGB otherwise.
    #[default]
    Auto,
    /// One gray channel (`c = 1`); colour images are converted to luma.
    Gray,
    /// Three channels, red, green and blue (`c = 3`); gray images are replicated.
    Rgb,
}

/// Images as `[n, c, h, w]` bytes with their class labels and names.
pub struct ImageSet {
    /// Pixels, `[n, c, h, w]` bytes (`u8`), channels-first.
    pub images: Array,
    /// Class index of each image: the position of its subfolder in sorted order.
    pub labels: Vec<u32>,
    /// Names of the class subfolders, sorted; `labels` index into this.
    pub class_names: Vec<String>,
}

/// Reads a class-subfolder image folder. All images must share one size
/// unless `resize` gives `[h, w]`.
pub fn read_folder(dir: &Path, channels: Channels, resize: Option<[usize; 2]>) -> Result<ImageSet> {
    let classes = class_dirs(dir)?;
    if classes.iter().all(|(_, f)| f.is_empty()) {
        return Err(Error::format(
            dir,
            "no class subfolders with images (expected dir/<class>/*.png)",
        ));
    }
    let mut decoded = Vec::new();
    for (label, (_, files)) in classes.iter().enumerate() {
        for f in files {
            let img = crate::io::image::decode(f)?.image;
            let img = match resize {
                Some([h, w]) if (img.height() as usize, img.width() as usize) != (h, w) => {
                    img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
                }
                _ => img,
            };
            decoded.push((label as u32, f.clone(), img));
        }
    }
    let gray = match channels {
        Channels::Gray => true,
        Channels::Rgb => false,
        Channels::Auto => decoded.iter().all(|(_, _, i)| !i.color().has_color()),
    };
    let c = if gray { 1 } else { 3 };
    let (h, w) = (decoded[0].2.height() as usize, decoded[0].2.width() as usize);
    let mut bytes = Vec::with_capacity(decoded.len() * c * h * w);
    let mut labels = Vec::with_capacity(decoded.len());
    for (label, path, img) in &decoded {
        if (img.height() as usize, img.width() as usize) != (h, w) {
            return Err(Error::format(
                path,
                format!(
                    "image is {}×{}, the first one {h}×{w}; pass --resize HxW",
                    img.height(),
                    img.width()
                ),
            ));
        }
        push_pixels(img, gray, &mut bytes);
        labels.push(*label);
    }
    Ok(ImageSet {
        images: Array::new(vec![labels.len(), c, h, w], "uint8", Elements::U8(bytes)),
        labels,
        class_names: classes.into_iter().map(|(n, _)| n).collect(),
    })
}

/// Appends an image's 8-bit pixels to `out`, channels first: one grey
/// plane, or red, green and blue planes.
pub(crate) fn push_pixels(img: &image::DynamicImage, gray: bool, out: &mut Vec<u8>) {
    if gray {
        out.extend_from_slice(img.to_luma8().as_raw());
    } else {
        let rgb = img.to_rgb8();
        for ch in 0..3 {
            out.extend(rgb.as_raw().iter().skip(ch).step_by(3));
        }
    }
}
