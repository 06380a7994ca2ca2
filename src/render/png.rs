//! SVG to PNG with resvg, using only the bundled font. Nothing here decides what a chart
//! looks like: that is [`super::svg`]'s job; this module only rasterises and encodes.
//!
//! Encoding is done here rather than with tiny-skia's `encode_png`: pictures are opaque, so
//! RGB without alpha and the `png` crate's fast deflate give files about 1.4× larger in a
//! tenth of the time (about 1 ms instead of 10 ms at 800×600), which is most of the budget.

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg;

use super::RenderError;
use super::fonts;

/// Rasterises an SVG document to a `width` × `height` PNG on a white background.
pub fn rasterize(svg: &str, width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let options = usvg::Options {
        font_family: fonts::FAMILY.to_string(),
        fontdb: fonts::database(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| RenderError::Raster(format!("the SVG did not parse: {e}")))?;
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| RenderError::Raster(format!("cannot allocate {width}×{height} pixels")))?;
    pixmap.fill(Color::WHITE);
    // Scale the drawing to the requested size in case the document's own size differs.
    let size = tree.size();
    let transform = Transform::from_scale(
        width as f32 / size.width().max(1.0),
        height as f32 / size.height().max(1.0),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    encode_opaque(&pixmap).map_err(|e| RenderError::Raster(format!("PNG encoding failed: {e}")))
}

/// Encodes an opaque pixmap as RGB. The background was filled white first, so every
/// pixel is opaque and its premultiplied colour is its colour.
fn encode_opaque(pixmap: &Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let mut rgb = Vec::with_capacity(pixmap.pixels().len() * 3);
    for p in pixmap.pixels() {
        rgb.extend_from_slice(&[p.red(), p.green(), p.blue()]);
    }
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rasterises_text_with_the_bundled_font() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" font-family="DejaVu Sans"><text x="4" y="28" font-size="20" fill="#000">Sales</text></svg>"##;
        let png = rasterize(svg, 120, 40).unwrap();
        let pixmap = Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (120, 40));
        // Some pixels are dark: the text was drawn, so the font was found.
        let dark = pixmap.pixels().iter().filter(|p| p.red() < 100).count();
        assert!(dark > 50, "{dark} dark pixels");
    }

    #[test]
    fn malformed_svg_is_an_error() {
        assert!(matches!(
            rasterize("<svg", 10, 10),
            Err(RenderError::Raster(_))
        ));
    }
}
