//! The chart kinds beyond cartesian charts, pies, big numbers and tables: funnels,
//! treemaps, waterfalls, gauges, heatmaps and box plots. The layouts the ASCII and
//! Vega-Lite renderers share (treemap rectangles, waterfall steps, the gauge's range, the
//! heatmap's colours) are here too, so every format shows the same picture.

use std::fmt::Write as _;

use super::pie::text_on;
use super::{
    AXIS, Anchor, Ctx, DOWN, Font, GRID, INK, MUTED, N, OTHER_COLOR, Svg, TEXT, UP, color, escape,
    no_data, typo,
};
use crate::render::derive::{
    gauge_of, heat_color, items_of, labels_of, treemap_tiles, value_range, waterfall_steps,
};
use crate::render::fonts::truncate_to_width;
use crate::render::format::{NumberFormat, format_value, tick_format};
use crate::render::scale::{Linear, nice_ticks, tick_count};

fn item_color(i: usize, label: &str) -> &'static str {
    if label == "Other" {
        OTHER_COLOR
    } else {
        color(i)
    }
}

fn label_fits(ctx: &Ctx, text: &str, font: Font, max: f64) -> Option<String> {
    let t = truncate_to_width(text, font.size, font.bold, max);
    let _ = ctx;
    (!t.is_empty() && t != "…").then_some(t)
}

// ---------------------------------------------------------------------------------------
// Funnel

pub(super) fn draw_funnel(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let items = items_of(ctx.data);
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max);
    if items.is_empty() || max <= 0.0 {
        no_data(svg, ctx);
        return;
    }
    let first = items[0].1;
    let pct = NumberFormat::parse(".1%").unwrap_or_else(|_| NumberFormat::fixed(1));
    let font = Font::new(th.legend, TEXT);
    let label_w = items
        .iter()
        .map(|(l, _)| font.width(l))
        .fold(0.0, f64::max)
        .min(ctx.w * 0.3);
    let left = th.pad + label_w + th.pad * 0.75;
    let right = ctx.w - th.pad;
    let (top, bottom) = (ctx.top, ctx.h - th.pad);
    let band = (bottom - top) / items.len() as f64;
    let bar_h = band * 0.82;
    let cx = (left + right) / 2.0;
    let full = right - left;
    for (i, (label, v)) in items.iter().enumerate() {
        let y = top + band * i as f64 + (band - bar_h) / 2.0;
        let bw = (v.max(0.0) / max * full).max(1.0);
        let c = item_color(i, label);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{c}\"><title>{}: {}</title></rect>",
            N(cx - bw / 2.0),
            N(y),
            N(bw),
            N(bar_h),
            N(2.0 * th.s),
            escape(label),
            escape(&format_value(ctx.user, *v))
        );
        let name = truncate_to_width(label, font.size, false, label_w);
        svg.text(th.pad + label_w, y + bar_h / 2.0, &name, font, Anchor::End);
        let share = if first > 0.0 {
            format!(" ({})", pct.format(v / first))
        } else {
            String::new()
        };
        let text = typo(format_value(ctx.user, *v)) + &share;
        let vf = Font::new(th.label, INK).bold();
        let tw = vf.width(&text);
        if tw + th.pad * 0.5 < bw {
            svg.text(
                cx,
                y + bar_h / 2.0,
                &text,
                Font {
                    fill: text_on(c),
                    ..vf
                },
                Anchor::Middle,
            );
        } else if cx + bw / 2.0 + th.pad * 0.3 + tw < right {
            svg.text(
                cx + bw / 2.0 + th.pad * 0.3,
                y + bar_h / 2.0,
                &text,
                vf,
                Anchor::Start,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Treemap

pub(super) fn draw_treemap(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let items = items_of(ctx.data);
    let values: Vec<f64> = items.iter().map(|i| i.1).collect();
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    let (x0, y0) = (th.pad, ctx.top);
    let (w, h) = (ctx.w - 2.0 * th.pad, ctx.h - ctx.top - th.pad);
    let tiles = treemap_tiles(&values, w, h);
    if tiles.is_empty() {
        no_data(svg, ctx);
        return;
    }
    let pct = NumberFormat::parse(".1%").unwrap_or_else(|_| NumberFormat::fixed(1));
    let gap = 1.5 * th.s;
    for t in &tiles {
        let (label, v) = &items[t.index];
        let c = item_color(t.index, label);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{c}\" stroke=\"#ffffff\" stroke-width=\"{}\"><title>{}: {} ({})</title></rect>",
            N(x0 + t.x),
            N(y0 + t.y),
            N(t.w),
            N(t.h),
            N(gap),
            escape(label),
            escape(&format_value(ctx.user, *v)),
            pct.format(v / total)
        );
        let name_f = Font::new(th.legend, text_on(c)).bold();
        let value_f = Font::new(th.label, text_on(c));
        let room = t.w - th.pad * 0.8;
        let lines = if t.h >= name_f.size * 3.6 { 2 } else { 1 };
        if t.h < name_f.size * 1.6 || room < name_f.size * 2.0 {
            continue;
        }
        let (tx, ty) = (
            x0 + t.x + th.pad * 0.4,
            y0 + t.y + th.pad * 0.4 + name_f.size * 0.5,
        );
        if let Some(name) = label_fits(ctx, label, name_f, room) {
            svg.text(tx, ty, &name, name_f, Anchor::Start);
        }
        if lines == 2 {
            let text = format!(
                "{} · {}",
                typo(format_value(ctx.user, *v)),
                pct.format(v / total)
            );
            if let Some(t2) = label_fits(ctx, &text, value_f, room) {
                svg.text(tx, ty + name_f.size * 1.4, &t2, value_f, Anchor::Start);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Category plots with a value axis (waterfall, box plot)

struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    y: Linear,
}

impl Frame {
    fn band(&self, n: usize) -> f64 {
        (self.right - self.left) / n.max(1) as f64
    }
}

/// Draws a vertical value axis over `lo..=hi` with grid lines, the category labels under
/// their bands, and the axis titles; returns the plot area and its y scale.
fn category_frame(svg: &mut Svg, ctx: &Ctx, labels: &[String], lo: f64, hi: f64) -> Frame {
    let th = &ctx.th;
    let tick_font = Font::new(th.tick, MUTED);
    let title_font = Font::new(th.axis_title, TEXT);
    let bottom_titles = if ctx.spec.x_title.is_some() {
        th.axis_title * 1.8
    } else {
        0.0
    };
    let left_title = if ctx.spec.y_title.is_some() {
        th.axis_title * 1.8
    } else {
        0.0
    };
    let bottom = ctx.h - th.pad - bottom_titles - th.tick * 1.8;
    let top = ctx.top + th.tick * 0.6;
    let count = tick_count(bottom - top, th.tick * 4.0);
    let ticks = nice_ticks(lo.min(0.0_f64.max(lo)), hi, count, None);
    let fmt = tick_format(ctx.user, ticks.step, ticks.lo.abs().max(ticks.hi.abs()));
    let tick_labels: Vec<String> = ticks.values.iter().map(|v| typo(fmt.format(*v))).collect();
    let label_w = tick_labels
        .iter()
        .map(|l| tick_font.width(l))
        .fold(0.0, f64::max);
    let left = th.pad + left_title + label_w + th.tick * 0.6;
    let right = ctx.w - th.pad;
    let y = Linear::new((ticks.lo, ticks.hi), (bottom, top));
    for (v, l) in ticks.values.iter().zip(&tick_labels) {
        let py = y.map(*v);
        svg.hline(left, right, py, if *v == 0.0 { AXIS } else { GRID }, 1.0);
        svg.text(left - th.tick * 0.5, py, l, tick_font, Anchor::End);
    }
    let frame = Frame {
        left,
        right,
        top,
        bottom,
        y,
    };
    let band = frame.band(labels.len());
    for (i, l) in labels.iter().enumerate() {
        let text = truncate_to_width(l, tick_font.size, false, band * 0.95);
        svg.text(
            left + band * (i as f64 + 0.5),
            bottom + th.tick * 0.9,
            &text,
            tick_font,
            Anchor::Middle,
        );
    }
    if let Some(t) = &ctx.spec.x_title {
        svg.text(
            (left + right) / 2.0,
            ctx.h - th.pad - th.axis_title * 0.5,
            t,
            title_font,
            Anchor::Middle,
        );
    }
    if let Some(t) = &ctx.spec.y_title {
        let text = truncate_to_width(t, title_font.size, false, bottom - top);
        svg.text_rotated(
            th.pad + th.axis_title * 0.5,
            (top + bottom) / 2.0,
            &text,
            title_font,
            Anchor::Middle,
            -90.0,
        );
    }
    frame
}

pub(super) fn draw_waterfall(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let steps = waterfall_steps(ctx.data);
    if steps.is_empty() {
        no_data(svg, ctx);
        return;
    }
    let lo = steps
        .iter()
        .flat_map(|s| [s.start, s.end])
        .fold(0.0, f64::min);
    let hi = steps
        .iter()
        .flat_map(|s| [s.start, s.end])
        .fold(0.0, f64::max);
    let labels: Vec<String> = steps.iter().map(|s| s.label.clone()).collect();
    let f = category_frame(svg, ctx, &labels, lo, hi);
    let band = f.band(steps.len());
    let bar_w = band * 0.7;
    let value_font = Font::new(th.label, INK);
    for (i, s) in steps.iter().enumerate() {
        let x = f.left + band * i as f64 + (band - bar_w) / 2.0;
        let (y0, y1) = (f.y.map(s.start), f.y.map(s.end));
        let c = if s.total {
            color(0)
        } else if s.end >= s.start {
            UP
        } else {
            DOWN
        };
        let delta = s.end - s.start;
        let _ = writeln!(
            svg.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{c}\"><title>{}: {}</title></rect>",
            N(x),
            N(y0.min(y1)),
            N(bar_w),
            N((y0 - y1).abs().max(1.0)),
            escape(&s.label),
            escape(&format_value(ctx.user, delta))
        );
        if i + 1 < steps.len() {
            svg.hline(x + bar_w, x + band, y1, AXIS, 1.0);
        }
        let mut text = typo(format_value(ctx.user, delta));
        if !s.total && delta > 0.0 {
            text = format!("+{text}");
        }
        if value_font.width(&text) <= band * 0.98 {
            let above = s.end >= s.start;
            let ty = if above {
                y0.min(y1) - th.label * 0.7
            } else {
                y0.max(y1) + th.label * 0.7
            };
            if ty > f.top - th.label * 0.5 && ty < f.bottom {
                svg.text(x + bar_w / 2.0, ty, &text, value_font, Anchor::Middle);
            }
        }
    }
}

pub(super) fn draw_box_plot(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let labels = labels_of(ctx.data);
    let Some((lo, hi)) = value_range(ctx.data) else {
        no_data(svg, ctx);
        return;
    };
    if ctx.data.series.len() < 5 || labels.is_empty() {
        no_data(svg, ctx);
        return;
    }
    let pad = ((hi - lo) * 0.05).max(f64::EPSILON);
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    let f = category_frame(svg, ctx, &labels, lo, hi + pad);
    let band = f.band(labels.len());
    let box_w = (band * 0.5).min(th.s * 90.0);
    let s = &ctx.data.series;
    for (i, label) in labels.iter().enumerate() {
        let parts: Vec<Option<f64>> = (0..5).map(|k| s[k].get(i)).collect();
        let [Some(wl), Some(q1), Some(med), Some(q3), Some(wh)] = parts[..] else {
            continue;
        };
        let cx = f.left + band * (i as f64 + 0.5);
        let c = color(i);
        let stroke = format!(" stroke=\"{INK}\" stroke-width=\"{}\"", N(1.2 * th.s));
        svg.vline(cx, f.y.map(wh), f.y.map(q3), INK, 1.0);
        svg.vline(cx, f.y.map(q1), f.y.map(wl), INK, 1.0);
        svg.hline(cx - box_w / 4.0, cx + box_w / 4.0, f.y.map(wh), INK, 1.0);
        svg.hline(cx - box_w / 4.0, cx + box_w / 4.0, f.y.map(wl), INK, 1.0);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{c}\" fill-opacity=\"0.75\"{stroke}><title>{}: median {}, quartiles {} – {}, whiskers {} – {}</title></rect>",
            N(cx - box_w / 2.0),
            N(f.y.map(q3)),
            N(box_w),
            N((f.y.map(q1) - f.y.map(q3)).max(1.0)),
            escape(label),
            escape(&format_value(ctx.user, med)),
            escape(&format_value(ctx.user, q1)),
            escape(&format_value(ctx.user, q3)),
            escape(&format_value(ctx.user, wl)),
            escape(&format_value(ctx.user, wh)),
        );
        svg.hline(cx - box_w / 2.0, cx + box_w / 2.0, f.y.map(med), INK, 2.0);
    }
    let _ = f.right;
}

// ---------------------------------------------------------------------------------------
// Gauge

pub(super) fn draw_gauge(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let Some((value, lo, hi)) = gauge_of(ctx.spec, ctx.data) else {
        no_data(svg, ctx);
        return;
    };
    let avail_h = ctx.h - ctx.top - th.pad;
    let value_size = (th.title * 2.2).min(avail_h * 0.16);
    let tick_font = Font::new(th.tick, MUTED);
    let r = ((ctx.w - 2.0 * th.pad) / 2.0 - th.tick * 2.0)
        .min(avail_h - value_size * 1.6 - th.tick * 1.5)
        .max(20.0);
    let cx = ctx.w / 2.0;
    let cy = ctx.top + (avail_h + r - value_size * 1.4) / 2.0;
    let thick = r * 0.22;
    let share = ((value - lo) / (hi - lo)).clamp(0.0, 1.0);
    // The dial runs over the upper half, from 180° (left) to 0° (right).
    let point = |rad: f64, t: f64| {
        let a = std::f64::consts::PI * (1.0 - t);
        (cx + rad * a.cos(), cy - rad * a.sin())
    };
    let arc = |t0: f64, t1: f64, fill: &str, svg: &mut Svg| {
        let (ax, ay) = point(r, t0);
        let (bx, by) = point(r, t1);
        let (cx2, cy2) = point(r - thick, t1);
        let (dx, dy) = point(r - thick, t0);
        let _ = writeln!(
            svg.out,
            "<path d=\"M{} {}A{} {} 0 0 1 {} {}L{} {}A{} {} 0 0 0 {} {}Z\" fill=\"{fill}\"/>",
            N(ax),
            N(ay),
            N(r),
            N(r),
            N(bx),
            N(by),
            N(cx2),
            N(cy2),
            N(r - thick),
            N(r - thick),
            N(dx),
            N(dy)
        );
    };
    arc(0.0, 1.0, GRID, svg);
    if share > 0.0 {
        arc(0.0, share, color(0), svg);
    }
    // The needle.
    let (nx, ny) = point(r - thick * 0.2, share);
    let _ = writeln!(
        svg.out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"{}\" stroke-linecap=\"round\"/>",
        N(cx),
        N(cy),
        N(nx),
        N(ny),
        N(3.0 * th.s)
    );
    svg.circle(cx, cy, 5.0 * th.s, INK, "");
    let ends = |v: f64| typo(format_value(ctx.user, v));
    svg.text(
        cx - r + thick / 2.0,
        cy + th.tick * 1.1,
        &ends(lo),
        tick_font,
        Anchor::Middle,
    );
    svg.text(
        cx + r - thick / 2.0,
        cy + th.tick * 1.1,
        &ends(hi),
        tick_font,
        Anchor::Middle,
    );
    let text = typo(match ctx.user {
        Some(u) => u.headline(value).format(value),
        None => format_value(None, value),
    });
    let mut font = Font::new(value_size, INK).bold();
    let tw = font.width(&text);
    if tw > ctx.w - 2.0 * th.pad {
        font.size *= (ctx.w - 2.0 * th.pad) / tw;
    }
    svg.text(
        cx,
        cy + th.tick * 1.6 + font.size * 0.6,
        &text,
        font,
        Anchor::Middle,
    );
}

// ---------------------------------------------------------------------------------------
// Heatmap

pub(super) fn draw_heatmap(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let xs = labels_of(ctx.data);
    let ys: Vec<String> = ctx.data.series.iter().map(|s| s.name.clone()).collect();
    let Some((lo, hi)) = value_range(ctx.data) else {
        no_data(svg, ctx);
        return;
    };
    if xs.is_empty() || ys.is_empty() {
        no_data(svg, ctx);
        return;
    }
    let tick_font = Font::new(th.tick, MUTED);
    let title_font = Font::new(th.axis_title, TEXT);
    let y_label_w = ys
        .iter()
        .map(|y| tick_font.width(y))
        .fold(0.0, f64::max)
        .min(ctx.w * 0.28);
    let scale_h = th.tick * 2.6;
    let x_title_h = if ctx.spec.x_title.is_some() {
        th.axis_title * 1.8
    } else {
        0.0
    };
    let left = th.pad + y_label_w + th.tick * 0.6;
    let right = ctx.w - th.pad;
    let top = ctx.top;
    let cell_w = (right - left) / xs.len() as f64;
    // X labels: horizontal when they fit, else rotated.
    let widest_x = xs.iter().map(|x| tick_font.width(x)).fold(0.0, f64::max);
    let rotate = widest_x > cell_w * 0.95;
    let x_label_h = if rotate {
        (widest_x.min(ctx.h * 0.2)) * 0.72 + th.tick
    } else {
        th.tick * 1.8
    };
    let bottom = ctx.h - th.pad - scale_h - x_title_h - x_label_h;
    let cell_h = (bottom - top) / ys.len() as f64;
    let span = if hi > lo { hi - lo } else { 1.0 };
    let value_font = Font::new((cell_h * 0.36).min(th.label), INK);
    for (yi, s) in ctx.data.series.iter().enumerate() {
        let y = top + cell_h * yi as f64;
        for (xi, x_label) in xs.iter().enumerate() {
            let x = left + cell_w * xi as f64;
            let Some(v) = s.get(xi) else {
                svg.rect(x, y, cell_w, cell_h, "#ffffff", " stroke=\"#e5e7eb\"");
                continue;
            };
            let fill = heat_color((v - lo) / span);
            let _ = writeln!(
                svg.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"1\"><title>{}, {}: {}</title></rect>",
                N(x),
                N(y),
                N(cell_w),
                N(cell_h),
                escape(x_label),
                escape(&s.name),
                escape(&format_value(ctx.user, v))
            );
            let text = typo(format_value(ctx.user, v));
            if value_font.size >= th.label * 0.7 && value_font.width(&text) < cell_w * 0.9 {
                let fill_s: &'static str = if (v - lo) / span > 0.5 {
                    "#ffffff"
                } else {
                    INK
                };
                svg.text(
                    x + cell_w / 2.0,
                    y + cell_h / 2.0,
                    &text,
                    Font {
                        fill: fill_s,
                        ..value_font
                    },
                    Anchor::Middle,
                );
            }
        }
        let name = truncate_to_width(&s.name, tick_font.size, false, y_label_w);
        svg.text(
            left - th.tick * 0.5,
            y + cell_h / 2.0,
            &name,
            tick_font,
            Anchor::End,
        );
    }
    let every = if rotate {
        ((tick_font.size * 1.3) / cell_w).ceil().max(1.0) as usize
    } else {
        1
    };
    for (xi, x_label) in xs.iter().enumerate().step_by(every) {
        let cx = left + cell_w * (xi as f64 + 0.5);
        if rotate {
            let text = truncate_to_width(x_label, tick_font.size, false, ctx.h * 0.2);
            svg.text_rotated(
                cx,
                bottom + th.tick * 0.6,
                &text,
                tick_font,
                Anchor::End,
                -45.0,
            );
        } else {
            svg.text(
                cx,
                bottom + th.tick * 0.9,
                x_label,
                tick_font,
                Anchor::Middle,
            );
        }
    }
    if let Some(t) = &ctx.spec.x_title {
        svg.text(
            (left + right) / 2.0,
            bottom + x_label_h + th.axis_title * 0.7,
            t,
            title_font,
            Anchor::Middle,
        );
    }
    // The colour scale: a gradient bar from the smallest to the largest value.
    let sy = ctx.h - th.pad - scale_h + th.tick * 0.5;
    let sw = (right - left).min(th.s * 260.0);
    let sx = right - sw;
    let steps = 24;
    for k in 0..steps {
        let t = k as f64 / (steps - 1) as f64;
        svg.rect(
            sx + sw * k as f64 / steps as f64,
            sy,
            sw / steps as f64 + 0.5,
            th.tick * 0.8,
            &heat_color(t),
            "",
        );
    }
    let ly = sy + th.tick * 0.4;
    svg.text(
        sx - th.tick * 0.4,
        ly,
        &typo(format_value(ctx.user, lo)),
        tick_font,
        Anchor::End,
    );
    let hi_text = typo(format_value(ctx.user, hi));
    let hi_w = tick_font.width(&hi_text);
    if sx - th.tick * 0.4 - tick_font.width(&typo(format_value(ctx.user, lo))) > left + hi_w {
        svg.text(
            sx + sw,
            ly + th.tick * 1.2,
            &hi_text,
            tick_font,
            Anchor::End,
        );
    }
    let _ = (UP, DOWN);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::model::Series;
    use crate::render::model::{ChartData, RenderSpec, XAxis};

    #[test]
    fn treemap_tiles_cover_the_area_in_proportion() {
        let values = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0];
        let tiles = treemap_tiles(&values, 600.0, 400.0);
        assert_eq!(tiles.len(), values.len());
        let total: f64 = values.iter().sum();
        for t in &tiles {
            let want = values[t.index] / total * 600.0 * 400.0;
            assert!((t.w * t.h - want).abs() < 1e-6, "{t:?}");
            assert!(t.x >= -1e-9 && t.x + t.w <= 600.0 + 1e-6);
            assert!(t.y >= -1e-9 && t.y + t.h <= 400.0 + 1e-6);
        }
    }

    #[test]
    fn waterfall_steps_run_from_the_previous_total() {
        let data = ChartData::series(
            XAxis::Categories(vec!["a".into(), "b".into(), "c".into()]),
            vec![Series::new("m", vec![Some(10.0), Some(-4.0), Some(5.0)])],
        );
        let steps = waterfall_steps(&data);
        let ends: Vec<(f64, f64)> = steps.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(ends, [(0.0, 10.0), (10.0, 6.0), (6.0, 11.0), (0.0, 11.0)]);
        assert!(steps[3].total);
    }

    #[test]
    fn gauge_range_defaults_to_a_round_number_above_the_value() {
        let data = ChartData::big_number(crate::render::model::BigNumber {
            value: Some(734.0),
            trendline: vec![],
            previous: None,
            comparison_label: None,
        });
        let mut spec = RenderSpec::new("g", crate::render::ChartKind::Gauge);
        assert_eq!(gauge_of(&spec, &data), Some((734.0, 0.0, 800.0)));
        spec.range = Some((0.0, Some(1000.0)));
        assert_eq!(gauge_of(&spec, &data), Some((734.0, 0.0, 1000.0)));
    }
}
