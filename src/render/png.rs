//! SVG to PNG with resvg, using only the bundled font. Nothing here decides what a chart
//! looks like: that is [`super::svg`]'s job; this module only rasterises and encodes.
//!
//! Encoding is done here rather than with tiny-skia's `encode_png`: pictures are opaque, so
//! RGB without alpha and the `png` crate's fast deflate give files about 1.4× larger in a
//! tenth of the time (about 1 ms instead of 10 ms at 800×600), which is most of the budget.
//!
//! A chart rarely has more than 256 colours (a few series colours, greys, and their
//! anti-aliased edges on white: 176 in the example bar chart at 1000×600), and then it is
//! written as an indexed PNG, one byte per pixel: about a third of the RGB file (22 KB instead
//! of 72 KB there). Every byte of a picture is carried base64 in the JSON response and
//! scanned by the serializer on an HTTP worker — work at normal priority that the render
//! threads' low priority does not cover — and read by the assistant. More colours than 256
//! (photographic gradients never occur, but nothing forbids them) fall back to RGB.

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

/// Encodes an opaque pixmap: indexed when it has at most 256 colours, else RGB. The
/// background was filled white first, so every pixel is opaque and its premultiplied colour
/// is its colour.
fn encode_opaque(pixmap: &Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let rgb = |p: &resvg::tiny_skia::PremultipliedColorU8| [p.red(), p.green(), p.blue()];
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let data = match Palette::index(pixmap.pixels().iter().map(rgb)) {
        Some((palette, indices)) => {
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_palette(palette);
            indices
        }
        None => {
            encoder.set_color(png::ColorType::Rgb);
            pixmap.pixels().iter().flat_map(rgb).collect()
        }
    };
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(out)
}

/// Up to 256 colours and their indices: a small open-addressing table, since a colour
/// changes at every anti-aliased edge and a general hash map per change costs milliseconds
/// at 800×600.
struct Palette {
    /// Slot → colour as 0x00RRGGBB, or `EMPTY`.
    keys: [u32; Self::SLOTS],
    /// Slot → index into `colors`.
    indices: [u8; Self::SLOTS],
    colors: Vec<u8>,
}

impl Palette {
    /// Twice the most colours, so probes stay short.
    const SLOTS: usize = 512;
    const EMPTY: u32 = u32::MAX;

    /// The palette (RGB triples) and one index per pixel, or None past 256 colours.
    fn index(pixels: impl ExactSizeIterator<Item = [u8; 3]>) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut table = Self {
            keys: [Self::EMPTY; Self::SLOTS],
            indices: [0; Self::SLOTS],
            colors: Vec::with_capacity(256 * 3),
        };
        let mut out = Vec::with_capacity(pixels.len());
        // Most pixels repeat the one before (background, fills): skip the table for them.
        let mut last = (Self::EMPTY, 0u8);
        for [r, g, b] in pixels {
            let key = u32::from_be_bytes([0, r, g, b]);
            if key != last.0 {
                last = (key, table.slot_of(key)?);
            }
            out.push(last.1);
        }
        Some((table.colors, out))
    }

    fn slot_of(&mut self, key: u32) -> Option<u8> {
        let mut slot = (key.wrapping_mul(0x9E37_79B1) >> 23) as usize % Self::SLOTS;
        loop {
            match self.keys[slot] {
                k if k == key => return Some(self.indices[slot]),
                Self::EMPTY => {
                    let index = u8::try_from(self.colors.len() / 3).ok()?;
                    let [_, r, g, b] = key.to_be_bytes();
                    self.colors.extend_from_slice(&[r, g, b]);
                    self.keys[slot] = key;
                    self.indices[slot] = index;
                    return Some(index);
                }
                _ => slot = (slot + 1) % Self::SLOTS,
            }
        }
    }
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
    fn few_colours_are_written_indexed_and_many_as_rgb_with_the_same_pixels() {
        // Text on white: a few hundred colours at most, so indexed.
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" font-family="DejaVu Sans"><rect x="0" y="30" width="90" height="30" fill="#4e79a7"/><text x="4" y="28" font-size="20" fill="#000">Sales</text></svg>"##;
        let indexed = rasterize(svg, 200, 60).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&indexed));
        assert_eq!(
            decoder.read_info().unwrap().info().color_type,
            png::ColorType::Indexed
        );
        // 400 colours: more than a palette holds, so RGB.
        let mut many = Pixmap::new(400, 2).unwrap();
        for (i, p) in many.pixels_mut().iter_mut().enumerate() {
            let [_, _, hi, lo] = u32::try_from(i % 400).unwrap().to_be_bytes();
            *p = resvg::tiny_skia::ColorU8::from_rgba(lo, hi, 0, 255).premultiply();
        }
        let rgb = encode_opaque(&many).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&rgb));
        assert_eq!(
            decoder.read_info().unwrap().info().color_type,
            png::ColorType::Rgb
        );
        // Both decode to exactly the pixels drawn.
        assert_eq!(Pixmap::decode_png(&rgb).unwrap().data(), many.data());
        let mut drawn = Pixmap::new(200, 60).unwrap();
        drawn.fill(Color::WHITE);
        let tree = usvg::Tree::from_str(
            svg,
            &usvg::Options {
                font_family: fonts::FAMILY.to_string(),
                fontdb: fonts::database(),
                ..usvg::Options::default()
            },
        )
        .unwrap();
        resvg::render(&tree, Transform::default(), &mut drawn.as_mut());
        assert_eq!(Pixmap::decode_png(&indexed).unwrap().data(), drawn.data());
    }

    #[test]
    fn malformed_svg_is_an_error() {
        assert!(matches!(
            rasterize("<svg", 10, 10),
            Err(RenderError::Raster(_))
        ));
    }
}
