//! Rasterising the charts' SVG to PNG with `resvg`, using the DejaVu Sans
//! font embedded in the binary, so PNGs look the same on machines without
//! any installed fonts. The pixels are encoded by [`crate::io::image`].

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::error::{Error, Result};

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.set_sans_serif_family(super::svg::FONT);
        Arc::new(db)
    })
    .clone()
}

/// Renders an SVG document to PNG bytes at `scale` × its size.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    let opt = usvg::Options {
        font_family: super::svg::FONT.to_string(),
        fontdb: fonts(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| Error::internal("rendering a chart", e))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| Error::internal("rendering a chart", "it has no size"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::internal("rendering a chart", "it is too large"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    crate::io::image::encode_png(
        pixmap.width() as usize,
        pixmap.height() as usize,
        crate::io::image::PngColor::Rgba,
        &rgba,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one PNG encoder writes the same pixels `tiny_skia`'s own encoder
    /// wrote before the encoders were merged.
    #[test]
    fn rasterised_chart_pixels_match_tiny_skia_encoder() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect x="3" y="4" width="20" height="10" fill="#1f77b4" fill-opacity="0.5"/><circle cx="30" cy="20" r="6" fill="red"/></svg>"##;
        let ours = svg_to_png(svg, 2.0).expect("render");
        let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("parse");
        let mut pixmap = tiny_skia::Pixmap::new(80, 60).expect("pixmap");
        resvg::render(&tree, tiny_skia::Transform::from_scale(2.0, 2.0), &mut pixmap.as_mut());
        let theirs = pixmap.encode_png().expect("encode");
        let decode = |b: &[u8]| image::load_from_memory(b).expect("decode").to_rgba8().into_raw();
        assert_eq!(decode(&ours), decode(&theirs));
    }
}
