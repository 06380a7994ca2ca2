//! Tables and pivot tables.

use super::{AXIS, Anchor, Ctx, Font, GRID, HEADER_BG, INK, MUTED, STRIPE, Svg, no_data, typo};
use crate::render::fonts::text_width;
use crate::render::fonts::truncate_to_width;
use crate::render::table::Prepared;
use crate::render::table::is_total_label;
use crate::render::table::prepare_table;
use crate::render::table::table_data;

pub(super) fn draw_table(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let table = table_data(ctx.spec, ctx.data);
    let p: Prepared = prepare_table(&table, ctx.user);
    if p.columns.is_empty() {
        no_data(svg, ctx);
        return;
    }
    let avail_w = w - 2.0 * th.pad;
    let base = th.tick * 1.02;
    let row_h = base * 2.0;
    let fit_rows = (((h - ctx.top - th.pad) / row_h).floor() as usize).saturating_sub(1);
    let visible = if p.rows.len() > fit_rows {
        fit_rows.saturating_sub(1)
    } else {
        p.rows.len()
    };
    // Pivots emphasise totals like a report would: bold "Total" rows and columns. (In a
    // plain table a "Total" column is just a measure.)
    let pivot = p.index_columns > 0;
    let total_cols: Vec<bool> = p
        .columns
        .iter()
        .map(|c| pivot && is_total_label(c))
        .collect();
    let bold_cell = |r: usize, c: usize| {
        c < p.index_columns
            || total_cols[c]
            || (pivot && p.rows[r].first().is_some_and(|v| is_total_label(v)))
    };
    // Natural column widths (header and the rows shown) at a given text size, with `pad`
    // around each cell's text; `wrap` lets a header take two lines where that narrows it.
    let header_lines = |c: usize, size: f64, wrap: bool| -> Vec<String> {
        let one = vec![p.columns[c].clone()];
        if !wrap {
            return one;
        }
        match two_lines(&p.columns[c], size) {
            Some((a, b)) => vec![a, b],
            None => one,
        }
    };
    let natural = |size: f64, wrap: bool, pad: f64| -> Vec<f64> {
        (0..p.columns.len())
            .map(|c| {
                let head_w = header_lines(c, size, wrap)
                    .iter()
                    .map(|l| text_width(l, size, true))
                    .fold(0.0, f64::max);
                (0..visible)
                    .map(|r| text_width(&p.rows[r][c], size, bold_cell(r, c)))
                    .fold(head_w, f64::max)
                    + 2.0 * pad * size
            })
            .collect()
    };
    // Too wide: first a slightly smaller font; a pivot then takes two-line headers and
    // tighter cells, so its row labels keep their room; then cut text columns (never
    // numbers, which would change their meaning, nor a pivot's row labels unless they
    // alone would take much of the picture), then drop trailing columns.
    let mut size = base;
    let mut pad = 0.7;
    let mut wrap = false;
    let mut widths = natural(size, wrap, pad);
    let sum = |w: &[f64]| w.iter().sum::<f64>();
    if sum(&widths) > avail_w {
        size = base * (avail_w / sum(&widths)).max(0.82);
        widths = natural(size, wrap, pad);
    }
    if pivot && sum(&widths) > avail_w {
        wrap = true;
        pad = 0.4;
        widths = natural(size, wrap, pad);
    }
    let min_col = size * 5.0;
    let floor = |c: usize, natural: f64| {
        if pivot && c < p.index_columns {
            natural.min(avail_w * 0.4).max(min_col)
        } else {
            min_col
        }
    };
    let labels = widths.clone();
    while sum(&widths) > avail_w {
        let widest_text = widths
            .iter()
            .copied()
            .enumerate()
            .filter(|(c, wv)| !p.numeric[*c] && *wv > floor(*c, labels[*c]))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, wmax)) = widest_text else { break };
        let excess = sum(&widths) - avail_w;
        widths[i] = (wmax - excess).max(floor(i, labels[i])).max(wmax * 0.8);
    }
    let mut dropped = 0;
    while sum(&widths) > avail_w && widths.len() > 1 {
        widths.pop();
        dropped += 1;
    }
    // Spread spare room so the table spans the picture like a report table.
    let total = sum(&widths);
    if total < avail_w && total > 0.0 {
        let extra = (avail_w - total) / widths.len() as f64;
        for wv in &mut widths {
            *wv += extra;
        }
    }
    // Headers wrap only where their column is still too narrow for them on one line.
    let heads: Vec<Vec<String>> = widths
        .iter()
        .enumerate()
        .map(|(c, cw)| {
            if wrap && text_width(&p.columns[c], size, true) > cw - 2.0 * pad * size {
                header_lines(c, size, true)
            } else {
                vec![p.columns[c].clone()]
            }
        })
        .collect();
    let head_h = if heads.iter().any(|l| l.len() > 1) {
        row_h * 1.6
    } else {
        row_h
    };
    let fit_rows = ((h - ctx.top - th.pad - head_h) / row_h).floor().max(0.0) as usize;
    let visible = if p.rows.len() > fit_rows {
        fit_rows.saturating_sub(1).min(visible)
    } else {
        p.rows.len()
    };
    let body = Font::new(size, INK);
    let head = Font::new(size, INK).bold();
    let index = Font::new(size, INK).bold();
    let cell_pad = size * pad;
    let x0 = th.pad;
    let mut y = ctx.top;
    svg.rect(x0, y, avail_w, head_h, HEADER_BG, "");
    let mut x = x0;
    for (c, cw) in widths.iter().enumerate() {
        let lines = &heads[c];
        let lead = size * 1.25;
        let first = y + head_h / 2.0 - lead * (lines.len() as f64 - 1.0) / 2.0;
        for (i, line) in lines.iter().enumerate() {
            let text = truncate_to_width(line, head.size, true, cw - 2.0 * cell_pad);
            let ly = first + lead * i as f64;
            if p.numeric[c] {
                svg.text(x + cw - cell_pad, ly, &text, head, Anchor::End);
            } else {
                svg.text(x + cell_pad, ly, &text, head, Anchor::Start);
            }
        }
        x += cw;
    }
    y += head_h;
    svg.hline(x0, x0 + avail_w, y, AXIS, 1.0);
    for (r, row) in p.rows[..visible].iter().enumerate() {
        if r % 2 == 1 {
            svg.rect(x0, y, avail_w, row_h, STRIPE, "");
        }
        let mut x = x0;
        for (c, cw) in widths.iter().enumerate() {
            let f = if bold_cell(r, c) { index } else { body };
            let text = truncate_to_width(&row[c], f.size, f.bold, cw - 2.0 * cell_pad);
            if p.numeric[c] {
                svg.text(
                    x + cw - cell_pad,
                    y + row_h / 2.0,
                    &typo(text),
                    f,
                    Anchor::End,
                );
            } else {
                svg.text(x + cell_pad, y + row_h / 2.0, &text, f, Anchor::Start);
            }
            x += cw;
        }
        y += row_h;
    }
    if p.index_columns > 0 && p.index_columns < widths.len() {
        let split: f64 = widths[..p.index_columns].iter().sum();
        svg.vline(x0 + split, ctx.top, y, GRID, 1.0);
    }
    svg.hline(x0, x0 + avail_w, y, GRID, 1.0);
    let mut notes = Vec::new();
    let more = p.rows.len() - visible;
    if more > 0 {
        notes.push(format!(
            "… {more} more row{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    if dropped > 0 {
        notes.push(format!(
            "{dropped} more column{} not shown",
            if dropped == 1 { "" } else { "s" }
        ));
    }
    if p.rows.is_empty() {
        notes.push("No rows".to_string());
    }
    if !notes.is_empty() {
        svg.text(
            x0 + cell_pad,
            y + row_h / 2.0,
            &notes.join(" · "),
            Font::new(size, MUTED),
            Anchor::Start,
        );
    }
}

/// `text` split at the space that makes its longer line shortest, if that is shorter than
/// the text on one line.
fn two_lines(text: &str, size: f64) -> Option<(String, String)> {
    let whole = text_width(text, size, true);
    text.char_indices()
        .filter(|(_, ch)| *ch == ' ')
        .map(|(i, _)| {
            let (a, b) = (text[..i].trim_end(), text[i..].trim_start());
            let w = text_width(a, size, true).max(text_width(b, size, true));
            (w, a, b)
        })
        .filter(|(w, a, b)| *w < whole && !a.is_empty() && !b.is_empty())
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a, b)| (a.to_string(), b.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::render::model::{ChartData, ChartKind, RenderSpec, TableData};

    /// The example dashboard's pivot in half a dashboard's width: region rows, a column per
    /// category and a total.
    #[test]
    fn a_tight_pivot_keeps_its_row_labels_whole() {
        let categories = [
            "Beauty",
            "Clothing",
            "Electronics",
            "Grocery",
            "Home & Kitchen",
            "Sports & Outdoors",
            "Total",
        ];
        let mut columns = vec!["region".to_string()];
        columns.extend(categories.iter().map(|c| c.to_string()));
        let rows = [
            "Central Canada",
            "Midwest",
            "Northeast",
            "Western Canada",
            "Total",
        ]
        .iter()
        .map(|r| {
            let mut row = vec![json!(r)];
            row.extend((0..categories.len()).map(|i| json!(1_372_060.61 + i as f64)));
            row
        })
        .collect();
        let mut spec = RenderSpec::new("Revenue by region and category", ChartKind::Pivot);
        (spec.width, spec.height) = (760, 560);
        let data = ChartData::table(TableData {
            columns,
            rows,
            index_columns: 1,
        });
        let svg = crate::render::svg::render(&spec, &data).expect("drawn");
        for label in ["Central Canada", "Western Canada", "Northeast"] {
            assert!(svg.contains(&format!(">{label}<")), "{label} cut: {svg}");
        }
        assert!(
            svg.contains(">Sports &amp;<") && svg.contains(">Outdoors<"),
            "a long header takes two lines: {svg}"
        );
        assert!(!svg.contains("not shown"), "every column fits: {svg}");
    }
}
