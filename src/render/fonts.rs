//! The bundled font (DejaVu Sans, regular and bold; license in
//! `assets/fonts/LICENSE-DejaVu.txt`) and what the layout needs to know about it.
//!
//! Layout happens before rasterising, so label widths are measured here from the font's
//! advance widths; the same bytes feed resvg's font database, so what is measured is what
//! is drawn. No system font is ever consulted: pictures look the same on every machine.

use std::sync::{Arc, LazyLock};

use resvg::usvg::fontdb;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The family name written into every SVG `font-family`.
pub const FAMILY: &str = "DejaVu Sans";

/// Width of a character, in ems, when the font cannot tell (never expected with the
/// bundled font; keeps layout sane rather than failing).
const FALLBACK_ADVANCE: f32 = 0.6;

/// Advance widths of one face: a table for Latin-1, the font itself for anything else.
struct Face {
    latin1: [f32; 256],
    font: Option<FontRef<'static>>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Self {
        let mut face = Face {
            latin1: [FALLBACK_ADVANCE; 256],
            font: FontRef::new(data).ok(),
            units_per_em: 2048.0,
        };
        if let Some(font) = &face.font {
            face.units_per_em = f32::from(
                font.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            );
            for c in 0u8..=255 {
                face.latin1[usize::from(c)] = face.lookup(char::from(c));
            }
        }
        face
    }

    fn lookup(&self, c: char) -> f32 {
        let Some(font) = &self.font else {
            return FALLBACK_ADVANCE;
        };
        let Some(gid) = font.charmap().map(c) else {
            return FALLBACK_ADVANCE;
        };
        font.glyph_metrics(Size::unscaled(), LocationRef::default())
            .advance_width(gid)
            .map_or(FALLBACK_ADVANCE, |w| w / self.units_per_em)
    }

    fn advance(&self, c: char) -> f32 {
        match self.latin1.get(c as usize) {
            Some(w) => *w,
            None => self.lookup(c),
        }
    }
}

static FACES: LazyLock<[Face; 2]> = LazyLock::new(|| [Face::load(REGULAR), Face::load(BOLD)]);

/// Width in pixels of `text` set at `size` pixels (kerning ignored: a pixel or two at most).
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let face = &FACES[usize::from(bold)];
    let ems: f32 = text.chars().map(|c| face.advance(c)).sum();
    f64::from(ems) * size
}

/// Distance from the baseline to the middle of a capital letter, in ems: adding it to a
/// y centres a line of text there (DejaVu's cap height is 0.73 em).
pub const CAP_MIDDLE: f64 = 0.365;

/// Cuts `text` to fit `max` pixels, ending in "…" when something was cut.
pub fn truncate_to_width(text: &str, size: f64, bold: bool, max: f64) -> String {
    if text_width(text, size, bold) <= max {
        return text.to_string();
    }
    let ellipsis = text_width("…", size, bold);
    let mut out = String::new();
    let mut width = 0.0;
    for c in text.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
        if width + w + ellipsis > max {
            break;
        }
        width += w;
        out.push(c);
    }
    let trimmed = out.trim_end();
    if trimmed.is_empty() {
        return String::new();
    }
    format!("{trimmed}…")
}

static DATABASE: LazyLock<Arc<fontdb::Database>> = LazyLock::new(|| {
    let mut db = fontdb::Database::new();
    db.load_font_data(REGULAR.to_vec());
    db.load_font_data(BOLD.to_vec());
    db.set_sans_serif_family(FAMILY);
    Arc::new(db)
});

/// resvg's font database holding only the bundled faces, built once.
pub fn database() -> Arc<fontdb::Database> {
    Arc::clone(&DATABASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font() {
        let w = text_width("Revenue", 12.0, false);
        assert!(w > 40.0 && w < 60.0, "{w}");
        assert!(text_width("Revenue", 12.0, true) > w);
        assert!(text_width("€", 12.0, false) > 0.0);
        assert_eq!(database().len(), 2);
    }

    #[test]
    fn truncation_adds_an_ellipsis() {
        let t = truncate_to_width("Consumer Electronics and Appliances", 12.0, false, 80.0);
        assert!(t.ends_with('…'), "{t}");
        assert!(text_width(&t, 12.0, false) <= 80.0);
        assert_eq!(truncate_to_width("Toys", 12.0, false, 80.0), "Toys");
    }
}
