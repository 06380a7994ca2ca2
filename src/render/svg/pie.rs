//! Pies and donuts, and the slices (with "Other") that the ASCII and Vega-Lite
//! renderers share.

use super::legend::{LegendItem, Swatch, draw_legend, draw_swatch, legend_height};
use super::{Anchor, Ctx, Font, INK, MUTED, N, Svg, TEXT, escape, no_data, typo};
use crate::render::derive::{pie_slices, slice_color};
use crate::render::fonts::truncate_to_width;
use crate::render::format::NumberFormat;
use crate::render::format::format_value;
use std::fmt::Write as _;

/// Dark text on light fills, white on dark ones.
pub(super) fn text_on(fill: &str) -> &'static str {
    let hex = fill.trim_start_matches('#');
    let channel = |k: usize| {
        hex.get(k..k + 2)
            .and_then(|c| u8::from_str_radix(c, 16).ok())
            .map_or(0.0, |v| f64::from(v) / 255.0)
    };
    let lum = 0.299 * channel(0) + 0.587 * channel(2) + 0.114 * channel(4);
    if lum > 0.62 { INK } else { "#ffffff" }
}

fn polar(cx: f64, cy: f64, r: f64, angle: f64) -> (f64, f64) {
    (cx + r * angle.sin(), cy - r * angle.cos())
}

pub(super) fn draw_pie(svg: &mut Svg, ctx: &Ctx, donut: bool) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let slices = pie_slices(ctx.data);
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    if slices.is_empty() || total <= 0.0 || !total.is_finite() {
        no_data(svg, ctx);
        return;
    }
    let pct = NumberFormat::parse(".1%").unwrap_or_else(|_| NumberFormat::fixed(1));
    let items: Vec<LegendItem> = slices
        .iter()
        .enumerate()
        .map(|(i, (l, v))| LegendItem {
            color: slice_color(i, l, slices.len()),
            label: l.clone(),
            value: Some(pct.format(v / total)),
            swatch: Swatch::Square,
        })
        .collect();
    let show_legend = ctx.spec.show_legend;
    let font = Font::new(th.legend, TEXT);
    let avail_h = h - ctx.top - th.pad;
    // Landscape pictures get the legend on the right, portrait ones below.
    let side = w >= h * 1.05;
    let row_h = th.legend * 1.8;
    let (cx, cy, r) = if !show_legend {
        let r = (w - 2.0 * th.pad).min(avail_h) / 2.0 * 0.92;
        (w / 2.0, ctx.top + avail_h / 2.0, r)
    } else if side {
        let widest = items
            .iter()
            .map(|i| font.width(&i.label))
            .fold(0.0, f64::max);
        let value_w = items
            .iter()
            .filter_map(|i| i.value.as_deref())
            .map(|v| font.width(v))
            .fold(0.0, f64::max);
        let legend_w = (widest + value_w + th.legend * 3.0).min(w * 0.42);
        let area_w = w - legend_w - 3.0 * th.pad;
        let r = area_w.min(avail_h) / 2.0 * 0.92;
        let cx = th.pad + area_w / 2.0;
        let cy = ctx.top + avail_h / 2.0;
        // Vertical list, centred on the pie, cut to the rows that fit.
        let fit = ((avail_h / row_h).floor() as usize).max(1);
        let shown = items.len().min(fit);
        let lx = w - th.pad - legend_w;
        let ly = cy - row_h * shown as f64 / 2.0;
        for (k, item) in items.iter().take(shown).enumerate() {
            let y = ly + row_h * (k as f64 + 0.5);
            draw_swatch(svg, item, th, lx, y);
            let room = legend_w - th.legend * 2.6 - value_w;
            let label = truncate_to_width(&item.label, font.size, false, room);
            svg.text(lx + th.legend * 1.6, y, &label, font, Anchor::Start);
            if let Some(v) = &item.value {
                svg.text(
                    lx + legend_w,
                    y,
                    v,
                    Font::new(th.legend, MUTED),
                    Anchor::End,
                );
            }
        }
        (cx, cy, r)
    } else {
        let legend_h = legend_height(&items, th, w - 2.0 * th.pad);
        let r = (w - 2.0 * th.pad).min(avail_h - legend_h - th.pad * 0.5) / 2.0 * 0.92;
        draw_legend(
            svg,
            &items,
            th,
            th.pad,
            h - th.pad - legend_h,
            w - 2.0 * th.pad,
        );
        (w / 2.0, ctx.top + (avail_h - legend_h) / 2.0, r)
    };
    let r = r.max(10.0);
    let inner = if donut { r * 0.58 } else { 0.0 };
    let stroke = format!(
        " stroke=\"#ffffff\" stroke-width=\"{}\" stroke-linejoin=\"round\"",
        N(1.5 * th.s)
    );
    let mut angle = 0.0f64;
    let tau = std::f64::consts::TAU;
    let mut label_spots = Vec::new();
    for (i, (label, v)) in slices.iter().enumerate() {
        let share = v / total;
        let sweep = share * tau;
        let (a0, a1) = (angle, angle + sweep);
        angle = a1;
        let c = slice_color(i, label, slices.len());
        let tip = format!(
            "<title>{}: {} ({})</title>",
            escape(label),
            escape(&format_value(ctx.user, *v)),
            pct.format(share)
        );
        if share >= 0.9999 {
            // A full circle cannot be drawn as one arc.
            if donut {
                let _ = writeln!(
                    svg.out,
                    "<path d=\"M{cx} {top}A{r} {r} 0 1 1 {cx} {bot}A{r} {r} 0 1 1 {cx} {top}ZM{cx} {itop}A{ir} {ir} 0 1 0 {cx} {ibot}A{ir} {ir} 0 1 0 {cx} {itop}Z\" fill=\"{c}\" fill-rule=\"evenodd\">{tip}</path>",
                    cx = N(cx),
                    top = N(cy - r),
                    bot = N(cy + r),
                    r = N(r),
                    itop = N(cy - inner),
                    ibot = N(cy + inner),
                    ir = N(inner)
                );
            } else {
                let _ = writeln!(
                    svg.out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{c}\">{tip}</circle>",
                    N(cx),
                    N(cy),
                    N(r)
                );
            }
        } else {
            let large = u8::from(sweep > std::f64::consts::PI);
            let (x0, y0) = polar(cx, cy, r, a0);
            let (x1, y1) = polar(cx, cy, r, a1);
            let d = if donut {
                let (ix1, iy1) = polar(cx, cy, inner, a1);
                let (ix0, iy0) = polar(cx, cy, inner, a0);
                format!(
                    "M{} {}A{} {} 0 {large} 1 {} {}L{} {}A{} {} 0 {large} 0 {} {}Z",
                    N(x0),
                    N(y0),
                    N(r),
                    N(r),
                    N(x1),
                    N(y1),
                    N(ix1),
                    N(iy1),
                    N(inner),
                    N(inner),
                    N(ix0),
                    N(iy0)
                )
            } else {
                format!(
                    "M{} {}L{} {}A{} {} 0 {large} 1 {} {}Z",
                    N(cx),
                    N(cy),
                    N(x0),
                    N(y0),
                    N(r),
                    N(r),
                    N(x1),
                    N(y1)
                )
            };
            let _ = writeln!(svg.out, "<path d=\"{d}\" fill=\"{c}\"{stroke}>{tip}</path>");
        }
        label_spots.push(((a0 + a1) / 2.0, sweep, share, c));
    }
    // Percentages inside slices big enough to hold them; tiny slices stay unlabelled
    // (the legend still gives their share).
    let lf = Font::new((r * 0.085).clamp(th.label * 0.9, th.label * 1.5), INK).bold();
    let lr = if donut { (r + inner) / 2.0 } else { r * 0.66 };
    // One precision for every label (the legend's): "40.0%" beside "6.0%", never "40%".
    for (mid, sweep, share, c) in label_spots {
        let text = pct.format(share);
        let tw = lf.width(&text);
        let room = sweep * lr;
        if share < 0.03 || room < tw * 1.1 || (donut && r - inner < lf.size * 1.4) {
            continue;
        }
        let (x, y) = polar(cx, cy, lr, mid);
        svg.text(
            x,
            y,
            &text,
            Font {
                fill: text_on(c),
                ..lf
            },
            Anchor::Middle,
        );
    }
    if donut && inner > th.label * 3.0 {
        let value = typo(match ctx.user {
            Some(u) => u.headline(total).format(total),
            None => format_value(None, total),
        });
        let mut size = (inner * 0.42).min(th.title * 2.2);
        let bold = Font::new(size, INK).bold();
        let widest = bold.width(&value);
        if widest > inner * 1.6 {
            size *= inner * 1.6 / widest;
        }
        svg.text(
            cx,
            cy - size * 0.2,
            &value,
            Font::new(size, INK).bold(),
            Anchor::Middle,
        );
        svg.text(
            cx,
            cy + size * 0.75,
            "Total",
            Font::new((size * 0.42).max(th.label * 0.9), MUTED),
            Anchor::Middle,
        );
    }
}
