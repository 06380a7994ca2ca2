//! Several charts on one picture: a 12-column grid under a dashboard title, each chart
//! drawn in its cell (on a white card) by the same code as a standalone chart. Cells may
//! also hold markdown (drawn as formatted text, not markup: headings larger and bold, list
//! items with bullets, emphasis and link markup dropped), a header line or a divider.
//!
//! A dashboard with native filters gets a filter bar under its title, as Superset's
//! horizontal bar shows them: each filter's name over a box holding its value in force.
//!
//! Grid units: a column is 1/12 of the usable width; a row unit is 1/24 of the picture
//! width, so a cell's shape does not depend on how tall the dashboard is. A chart that
//! cannot be drawn (a bad number format, mismatched series) shows its error in its cell
//! instead of failing the whole dashboard; bad placements are errors.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::RenderError;
use super::model::{ChartData, MAX_WIDTH, MIN_WIDTH, RenderSpec};
use super::png;
use super::svg::{self, Anchor, Font, Svg, Theme};

/// Grid columns.
pub const COLUMNS: u32 = 12;
/// Tallest dashboard picture, in pixels: beyond this the PNG gets unreasonably large.
pub const MAX_DASHBOARD_HEIGHT: u32 = 12_000;

const PAGE: &str = "#f3f4f6";
const CARD_BORDER: &str = "#e2e5ea";
const DIVIDER: &str = "#c4cad3";

/// Where a chart sits, in grid units: `x` in 0..12 columns, `w` columns wide, `y` and `h`
/// in row units (1/24 of the picture width).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What a cell shows.
#[derive(Debug, Clone, Serialize)]
pub enum Tile {
    Chart {
        spec: Box<RenderSpec>,
        data: Box<ChartData>,
    },
    Markdown(String),
    /// A bold line; `level` 1 (largest) to 3.
    Header {
        text: String,
        level: u8,
    },
    Divider,
}

impl Tile {
    pub fn chart(spec: RenderSpec, data: ChartData) -> Self {
        Self::Chart {
            spec: Box::new(spec),
            data: Box::new(data),
        }
    }
}

/// A native filter as the filter bar shows it: its name and its value in force, as text
/// (`None`: the filter holds no value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterChip {
    pub name: String,
    pub value: Option<String>,
}

/// The filter bar laid out: its height, and each chip's x, row and width in pixels.
struct FilterBar {
    height: f64,
    chips: Vec<(f64, usize, f64)>,
    label: f64,
    value: f64,
    pad: f64,
    line: f64,
    box_h: f64,
    row_gap: f64,
}

impl FilterBar {
    /// Chips flow left to right after a "Filters" heading and wrap onto more rows; a chip
    /// is as wide as its name or value (within bounds), a long value is cut to fit.
    fn layout(filters: &[FilterChip], width: f64, th: &Theme) -> Self {
        let label = th.tick * 0.9;
        let value = th.tick;
        let pad = th.pad * 0.75;
        let line = label * 1.5;
        let box_h = value * 2.0;
        let row_gap = pad * 0.6;
        let gap = th.pad;
        let start = pad + super::fonts::text_width(FILTERS, value, true) + gap;
        let right = width - pad;
        let (min_w, max_w) = (
            value * 7.0,
            (value * 26.0).min(right - start).max(value * 7.0),
        );
        let mut chips = Vec::new();
        let (mut x, mut row) = (start, 0usize);
        for f in filters {
            let text = f.value.as_deref().unwrap_or(NO_FILTER);
            let natural = super::fonts::text_width(f.name.trim(), label, true)
                .max(super::fonts::text_width(text, value, false) + 1.6 * value);
            let cw = natural.clamp(min_w, max_w);
            if x > start && x + cw > right {
                x = start;
                row += 1;
            }
            chips.push((x, row, cw));
            x += cw + gap;
        }
        let rows = if filters.is_empty() { 0 } else { row + 1 };
        let height = if rows == 0 {
            0.0
        } else {
            2.0 * pad + rows as f64 * (line + box_h) + (rows - 1) as f64 * row_gap
        };
        Self {
            height,
            chips,
            label,
            value,
            pad,
            line,
            box_h,
            row_gap,
        }
    }

    /// Draw the bar as a card at (`x`, `y`), `w` wide.
    fn draw(&self, out: &mut Svg, filters: &[FilterChip], x: f64, y: f64, w: f64, radius: f64) {
        let _ = writeln!(
            out.out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{radius:.1}\" fill=\"#ffffff\" stroke=\"{CARD_BORDER}\" stroke-width=\"1\"/>",
            h = self.height
        );
        let row_pitch = self.line + self.box_h + self.row_gap;
        out.text(
            x + self.pad,
            y + self.pad + self.line + self.box_h / 2.0,
            FILTERS,
            Font::new(self.value, "#111827").bold(),
            Anchor::Start,
        );
        for (f, &(cx, row, cw)) in filters.iter().zip(&self.chips) {
            let top = y + self.pad + row as f64 * row_pitch;
            let name = super::fonts::truncate_to_width(f.name.trim(), self.label, true, cw);
            out.text(
                x + cx,
                top + self.line * 0.45,
                &name,
                Font::new(self.label, "#4b5563").bold(),
                Anchor::Start,
            );
            let by = top + self.line;
            let _ = writeln!(
                out.out,
                "<rect x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{cw:.1}\" height=\"{bh:.1}\" rx=\"{r:.1}\" fill=\"#ffffff\" stroke=\"{DIVIDER}\" stroke-width=\"1\"/>",
                bx = x + cx,
                bh = self.box_h,
                r = radius * 0.7,
            );
            let (text, font) = match &f.value {
                Some(v) => (v.as_str(), Font::new(self.value, "#111827")),
                None => (NO_FILTER, Font::new(self.value, "#6b7280")),
            };
            let text =
                super::fonts::truncate_to_width(text, font.size, false, cw - 1.6 * self.value);
            out.text(
                x + cx + 0.8 * self.value,
                by + self.box_h / 2.0,
                &text,
                font,
                Anchor::Start,
            );
        }
    }
}

const FILTERS: &str = "Filters";
const NO_FILTER: &str = "No filter";

/// Pixel geometry of the grid.
struct Grid {
    margin: f64,
    gutter: f64,
    pitch: f64,
    row: f64,
    top: f64,
}

impl Grid {
    /// `above`: pixels taken under the title (by the filter bar).
    fn new(width: f64, th: &Theme, has_title: bool, above: f64) -> Self {
        let margin = th.pad;
        let gutter = 12.0 * th.s;
        let pitch = (width - 2.0 * margin + gutter) / f64::from(COLUMNS);
        let top = if has_title {
            margin + th.title * 1.4 + th.pad * 0.8
        } else {
            margin
        } + above;
        Self {
            margin,
            gutter,
            pitch,
            row: width / 24.0,
            top,
        }
    }

    /// The cell's x, y, width and height in pixels.
    fn cell(&self, p: &Placement) -> (f64, f64, f64, f64) {
        (
            self.margin + f64::from(p.x) * self.pitch,
            self.top + f64::from(p.y) * self.row,
            f64::from(p.w) * self.pitch - self.gutter,
            f64::from(p.h) * self.row - self.gutter,
        )
    }
}

fn check(charts: &[(Placement, Tile)], width: u32) -> Result<(), RenderError> {
    if !(MIN_WIDTH..=MAX_WIDTH).contains(&width) {
        return Err(RenderError::Width {
            value: width,
            min: MIN_WIDTH,
            max: MAX_WIDTH,
        });
    }
    for (i, (p, tile)) in charts.iter().enumerate() {
        let name = match tile {
            Tile::Chart { spec, .. } if !spec.title.trim().is_empty() => {
                format!("chart {} ({:?})", i + 1, spec.title)
            }
            _ => format!("cell {}", i + 1),
        };
        if p.w == 0 || p.h == 0 {
            return Err(RenderError::Placement(format!(
                "{name} has w={} h={}; both must be at least 1",
                p.w, p.h
            )));
        }
        if p.x.saturating_add(p.w) > COLUMNS {
            return Err(RenderError::Placement(format!(
                "{name} spans columns {}..{}, beyond the {COLUMNS}-column grid",
                p.x,
                p.x.saturating_add(p.w)
            )));
        }
    }
    Ok(())
}

/// The dashboard as an SVG document, with its height in pixels: `filters` in a filter bar
/// under the title (none: no bar), then the grid.
pub fn render_svg(
    title: &str,
    filters: &[FilterChip],
    charts: &[(Placement, Tile)],
    width: u32,
) -> Result<(String, u32), RenderError> {
    check(charts, width)?;
    let w = f64::from(width);
    let th = Theme::new(w.min(1600.0), w.min(1600.0) * 0.75);
    let bar = FilterBar::layout(filters, w - 2.0 * th.pad, &th);
    let gutter = 12.0 * th.s;
    let above = if bar.height > 0.0 {
        bar.height + gutter
    } else {
        0.0
    };
    let grid = Grid::new(w, &th, !title.trim().is_empty(), above);
    let rows = charts
        .iter()
        .map(|(p, _)| p.y.saturating_add(p.h))
        .max()
        .unwrap_or(4);
    let h = (grid.top + f64::from(rows) * grid.row + grid.margin - grid.gutter).ceil();
    if h > f64::from(MAX_DASHBOARD_HEIGHT) {
        return Err(RenderError::Placement(format!(
            "the grid is {rows} row units deep, which makes the picture {h} pixels tall; \
             the most is {MAX_DASHBOARD_HEIGHT}"
        )));
    }
    let mut out = Svg::new();
    out.rect(0.0, 0.0, w, h, PAGE, "");
    if !title.trim().is_empty() {
        let font = Font::new(th.title * 1.2, "#111827").bold();
        let text = super::fonts::truncate_to_width(title.trim(), font.size, true, w - 2.0 * th.pad);
        out.text(
            grid.margin,
            grid.margin + th.title * 0.6,
            &text,
            font,
            Anchor::Start,
        );
    }
    if bar.height > 0.0 {
        bar.draw(
            &mut out,
            filters,
            grid.margin,
            grid.top - above,
            w - 2.0 * grid.margin,
            6.0 * th.s,
        );
    }
    if charts.is_empty() {
        let font = Font::new(th.title, "#6b7280");
        out.text(
            w / 2.0,
            (grid.top + h) / 2.0,
            "No charts",
            font,
            Anchor::Middle,
        );
    }
    for (i, (p, tile)) in charts.iter().enumerate() {
        let (x, y, cw, ch) = grid.cell(p);
        if cw < 20.0 || ch < 20.0 {
            continue;
        }
        let radius = 6.0 * th.s;
        let (spec, data) = match tile {
            Tile::Chart { spec, data } => (spec, data),
            Tile::Header { text, level } => {
                let size = th.title
                    * match level {
                        1 => 1.5,
                        2 => 1.25,
                        _ => 1.05,
                    };
                let font = Font::new(size, "#111827").bold();
                let text = super::fonts::truncate_to_width(text.trim(), size, true, cw);
                out.text(x, y + ch / 2.0, &text, font, Anchor::Start);
                continue;
            }
            Tile::Divider => {
                out.hline(
                    x,
                    x + cw,
                    y + ch / 2.0,
                    DIVIDER,
                    (2.0 * th.s).round().max(1.0),
                );
                continue;
            }
            Tile::Markdown(text) => {
                let _ = writeln!(
                    out.out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" rx=\"{radius:.1}\" fill=\"#ffffff\" stroke=\"{CARD_BORDER}\" stroke-width=\"1\"/>"
                );
                let mut cell = Svg::new();
                super::markdown::draw(&mut cell, text, cw, th.tick, th.pad);
                let _ = writeln!(
                    out.out,
                    "<clipPath id=\"cell{i}\"><rect width=\"{cw:.1}\" height=\"{ch:.1}\" rx=\"{radius:.1}\"/></clipPath>\n<g transform=\"translate({x:.1} {y:.1})\" clip-path=\"url(#cell{i})\">"
                );
                out.raw(&cell.out);
                out.raw("</g>\n");
                continue;
            }
        };
        let _ = writeln!(
            out.out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" rx=\"{radius:.1}\" fill=\"#ffffff\" stroke=\"{CARD_BORDER}\" stroke-width=\"1\"/>"
        );
        let mut cell = Svg::new();
        if let Err(e) = svg::draw_chart(&mut cell, spec, data, cw, ch) {
            // One broken chart should not hide the others: say what is wrong in its place.
            cell = Svg::new();
            let cth = Theme::new(cw, ch);
            let font = Font::new(cth.tick, "#b91c1c");
            let message = super::fonts::truncate_to_width(
                &e.to_string(),
                font.size,
                false,
                cw - 2.0 * cth.pad,
            );
            cell.text(cth.pad, ch / 2.0, &message, font, Anchor::Start);
        }
        let _ = writeln!(
            out.out,
            "<clipPath id=\"cell{i}\"><rect width=\"{cw:.1}\" height=\"{ch:.1}\" rx=\"{radius:.1}\"/></clipPath>\n<g transform=\"translate({x:.1} {y:.1})\" clip-path=\"url(#cell{i})\">"
        );
        out.raw(&cell.out);
        out.raw("</g>\n");
    }
    let height = h as u32;
    Ok((out.document(w, f64::from(height)), height))
}

/// The dashboard as a PNG `width` pixels wide.
pub fn render_png(
    title: &str,
    filters: &[FilterChip],
    charts: &[(Placement, Tile)],
    width: u32,
) -> Result<Vec<u8>, RenderError> {
    let (svg, height) = render_svg(title, filters, charts, width)?;
    png::rasterize(&svg, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::model::{ChartKind, Series, XAxis};
    use resvg::tiny_skia::Pixmap;

    fn bar(title: &str) -> Tile {
        Tile::chart(
            RenderSpec::new(title, ChartKind::Bar),
            ChartData::series(
                XAxis::Categories(vec!["a".into(), "b".into()]),
                vec![Series::new("v", vec![Some(1.0), Some(2.0)])],
            ),
        )
    }

    #[test]
    fn charts_are_composed_on_the_grid() {
        let left = bar("Left");
        let right = bar("Right");
        let charts = vec![
            (
                Placement {
                    x: 0,
                    y: 0,
                    w: 6,
                    h: 8,
                },
                left,
            ),
            (
                Placement {
                    x: 6,
                    y: 0,
                    w: 6,
                    h: 8,
                },
                right,
            ),
        ];
        let (svg, height) = render_svg("Sales", &[], &charts, 1200).unwrap();
        assert!(svg.contains("Left") && svg.contains("Right") && svg.contains("Sales"));
        assert_eq!(svg.matches("<clipPath").count(), 2);
        // 8 row units of 1200/24 = 50 pixels, plus title and margins.
        assert!(height > 400 && height < 560, "{height}");
        let png = render_png("Sales", &[], &charts, 1200).unwrap();
        let pixmap = Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (1200, height));
    }

    #[test]
    fn a_broken_chart_shows_its_error_in_its_cell() {
        let Tile::Chart {
            spec: mut s,
            data: d,
        } = bar("Broken")
        else {
            unreachable!("a chart")
        };
        s.y_format = Some("%%".into());
        let charts = vec![(
            Placement {
                x: 0,
                y: 0,
                w: 12,
                h: 6,
            },
            Tile::chart(*s, *d),
        )];
        let (svg, _) = render_svg("", &[], &charts, 800).unwrap();
        assert!(svg.contains("invalid number format"), "{svg}");
    }

    #[test]
    fn placements_and_width_are_checked() {
        let b = bar("x");
        let beyond = vec![(
            Placement {
                x: 8,
                y: 0,
                w: 6,
                h: 4,
            },
            b.clone(),
        )];
        let e = render_svg("", &[], &beyond, 1200).unwrap_err();
        assert!(e.to_string().contains("12-column grid"), "{e}");
        let empty = vec![(
            Placement {
                x: 0,
                y: 0,
                w: 0,
                h: 4,
            },
            b.clone(),
        )];
        assert!(render_svg("", &[], &empty, 1200).is_err());
        let deep = vec![(
            Placement {
                x: 0,
                y: 1000,
                w: 4,
                h: 4,
            },
            b,
        )];
        assert!(
            render_svg("", &[], &deep, 1200)
                .unwrap_err()
                .to_string()
                .contains("tall")
        );
        let e = render_png("", &[], &[], 100).unwrap_err();
        assert!(e.to_string().contains("width 100"), "{e}");
    }

    #[test]
    fn text_cells_are_drawn_as_text() {
        let at = |y, h| Placement { x: 0, y, w: 12, h };
        let cells = vec![
            (
                at(0, 1),
                Tile::Header {
                    text: "Overview".into(),
                    level: 1,
                },
            ),
            (at(1, 1), Tile::Divider),
            (at(2, 4), Tile::Markdown("# Notes\n- **one** item".into())),
        ];
        let (svg, _) = render_svg("T", &[], &cells, 1200).unwrap();
        assert!(
            svg.contains(">Overview<") && svg.contains(">Notes<") && svg.contains(">one item<")
        );
        assert!(!svg.contains("**") && !svg.contains("# Notes"), "{svg}");
        assert!(svg.contains("<line"), "the divider is a rule");
        assert!(render_png("T", &[], &cells, 1200).is_ok());
    }

    #[test]
    fn native_filters_get_a_bar_under_the_title() {
        let charts = vec![(
            Placement {
                x: 0,
                y: 0,
                w: 12,
                h: 6,
            },
            bar("Revenue"),
        )];
        let filters = vec![
            FilterChip {
                name: "Region".into(),
                value: Some("West, South".into()),
            },
            FilterChip {
                name: "Sales channel".into(),
                value: None,
            },
        ];
        let (plain, plain_h) = render_svg("Sales", &[], &charts, 1200).unwrap();
        let (svg, h) = render_svg("Sales", &filters, &charts, 1200).unwrap();
        assert!(!plain.contains(">Filters<"), "no filters, no bar");
        for text in [
            ">Filters<",
            ">Region<",
            ">West, South<",
            ">Sales channel<",
            ">No filter<",
        ] {
            assert!(svg.contains(text), "{text} in {svg}");
        }
        assert!(
            h > plain_h,
            "the bar pushes the grid down: {h} vs {plain_h}"
        );
        // Many filters wrap onto more rows of the bar; a long value is cut to fit.
        let many: Vec<FilterChip> = (0..12)
            .map(|i| FilterChip {
                name: format!("Filter {i}"),
                value: Some("a value ".repeat(i + 1)),
            })
            .collect();
        let (svg, taller) = render_svg("Sales", &many, &charts, 1200).unwrap();
        assert!(taller > h, "{taller} vs {h}");
        assert!(svg.contains(">Filter 11<") && svg.contains('…'), "{svg}");
        assert!(render_png("Sales", &many, &charts, 1200).is_ok());
    }
}
