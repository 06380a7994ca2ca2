//! Legends: flowing rows of swatches and labels, shared by the cartesian charts and pies.

use super::{Anchor, Font, MUTED, N, Svg, TEXT, Theme};
use crate::render::fonts::truncate_to_width;
use std::fmt::Write as _;

pub(super) struct LegendItem {
    pub(super) color: &'static str,
    pub(super) label: String,
    /// A figure shown after the label in a muted colour (a pie slice's share).
    pub(super) value: Option<String>,
    pub(super) swatch: Swatch,
}

/// The mark beside a legend label, matching how the series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swatch {
    Square,
    Line,
    Dot,
}

impl LegendItem {
    pub(super) fn new(color: &'static str, label: impl Into<String>, swatch: Swatch) -> Self {
        Self {
            color,
            label: label.into(),
            value: None,
            swatch,
        }
    }
}

/// Label (cut to `max`) and total width of a flowing legend item.
fn legend_item_width(item: &LegendItem, th: &Theme, max: f64) -> (String, f64) {
    let font = Font::new(th.legend, TEXT);
    let label = truncate_to_width(&item.label, font.size, false, max);
    let value_w = item
        .value
        .as_deref()
        .map_or(0.0, |v| th.legend * 0.5 + font.width(v));
    let w = th.legend * 1.6 + font.width(&label) + value_w;
    (label, w)
}

/// Lays legend items out in rows no wider than `width`; returns each row's items with
/// their x offsets, at most `max_rows` rows. The last row keeps room for "+k more".
fn legend_rows(
    items: &[LegendItem],
    th: &Theme,
    width: f64,
    max_rows: usize,
) -> Vec<Vec<(usize, f64)>> {
    let gap = th.legend * 1.4;
    let more_w = Font::new(th.legend, MUTED).width("+99 more") + gap;
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new()];
    let mut x = 0.0;
    for (i, item) in items.iter().enumerate() {
        let (_, iw) = legend_item_width(item, th, width * 0.6);
        let last_row = rows.len() == max_rows;
        let limit = if last_row && i + 1 < items.len() {
            width - more_w
        } else {
            width
        };
        if x > 0.0 && x + iw > limit {
            if last_row {
                break;
            }
            rows.push(Vec::new());
            x = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, x));
        }
        x += iw + gap;
    }
    rows
}

/// Draws a legend flowing from (`x`, `y`); returns its height.
pub(super) fn draw_legend(
    svg: &mut Svg,
    items: &[LegendItem],
    th: &Theme,
    x: f64,
    y: f64,
    width: f64,
) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    let rows = legend_rows(items, th, width, 3);
    let font = Font::new(th.legend, TEXT);
    let row_h = th.legend * 1.7;
    let shown: usize = rows.iter().map(Vec::len).sum();
    for (r, row) in rows.iter().enumerate() {
        let cy = y + row_h * (r as f64 + 0.5);
        for (i, dx) in row {
            let item = &items[*i];
            let sx = x + dx;
            draw_swatch(svg, item, th, sx, cy);
            let (label, _) = legend_item_width(item, th, width * 0.6);
            let lx = sx + th.legend * 1.6;
            svg.text(lx, cy, &label, font, Anchor::Start);
            if let Some(v) = &item.value {
                let vx = lx + font.width(&label) + th.legend * 0.5;
                svg.text(vx, cy, v, Font::new(th.legend, MUTED), Anchor::Start);
            }
        }
    }
    if shown < items.len() {
        let last_y = y + row_h * (rows.len() as f64 - 0.5);
        let more = format!("+{} more", items.len() - shown);
        svg.text(
            x + width,
            last_y,
            &more,
            Font::new(th.legend, MUTED),
            Anchor::End,
        );
    }
    row_h * rows.len() as f64
}

pub(super) fn draw_swatch(svg: &mut Svg, item: &LegendItem, th: &Theme, x: f64, cy: f64) {
    let size = th.legend * 0.9;
    match item.swatch {
        Swatch::Line => {
            let _ = writeln!(
                svg.out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"round\"/>",
                N(x),
                N(cy),
                N(x + size * 1.2),
                N(cy),
                item.color,
                N(2.2 * th.s)
            );
        }
        Swatch::Dot => svg.circle(x + size / 2.0, cy, size * 0.45, item.color, ""),
        Swatch::Square => svg.rect(
            x,
            cy - size / 2.0,
            size,
            size,
            item.color,
            &format!(" rx=\"{}\"", N(2.0 * th.s)),
        ),
    }
}

pub(super) fn legend_height(items: &[LegendItem], th: &Theme, width: f64) -> f64 {
    if items.is_empty() {
        0.0
    } else {
        th.legend * 1.7 * legend_rows(items, th, width, 3).len() as f64
    }
}
