//! Big numbers: the value, its comparison and trendline.

use super::{Anchor, Ctx, DOWN, Font, INK, MUTED, N, Svg, UP, color, no_data, typo};
use crate::render::fonts::text_width;
use crate::render::fonts::truncate_to_width;
use crate::render::format::format_delta;
use crate::render::format::format_value;
use crate::render::scale::Linear;
use std::fmt::Write as _;

use crate::render::derive::big_number_of;

pub(super) fn draw_big_number(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let Some(b) = big_number_of(ctx.data) else {
        no_data(svg, ctx);
        return;
    };
    let Some(value) = b.value.filter(|v| v.is_finite()) else {
        no_data(svg, ctx);
        return;
    };
    let trend: Vec<f64> = b
        .trendline
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let has_trend = trend.len() >= 2;
    let body_h = h - ctx.top - th.pad;
    let spark_h = if has_trend { body_h * 0.3 } else { 0.0 };
    let text_h = body_h - spark_h;
    let text = typo(format_value(ctx.user, value));
    let unit = text_width(&text, 1.0, true).max(0.1);
    let size = (text_h * 0.36)
        .min(th.title * 5.0)
        .min((w - 2.0 * th.pad) * 0.9 / unit)
        .max(th.title);
    let delta = b.previous.filter(|p| p.is_finite()).map(|p| (p, value - p));
    let sub_size = (size * 0.28).clamp(th.legend, th.title * 1.3);
    let block = size + if delta.is_some() { sub_size * 2.2 } else { 0.0 };
    let cy = ctx.top + (text_h - block) / 2.0 + size * 0.5;
    svg.text(
        w / 2.0,
        cy,
        &text,
        Font::new(size, INK).bold(),
        Anchor::Middle,
    );
    if let Some((prev, diff)) = delta {
        let (arrow, fill) = if diff > 0.0 {
            ("▲", UP)
        } else if diff < 0.0 {
            ("▼", DOWN)
        } else {
            ("■", MUTED)
        };
        let change = format!("{arrow} {}", typo(format_delta(ctx.user, value, prev)));
        let against = match &b.comparison_label {
            Some(l) => format!("{l} ({})", typo(format_value(ctx.user, prev))),
            None => format!("vs {}", typo(format_value(ctx.user, prev))),
        };
        let f1 = Font::new(sub_size, fill).bold();
        let f2 = Font::new(sub_size, MUTED);
        // SVG collapses leading spaces, so the gap is a measured offset.
        let gap = sub_size * 0.6;
        let room = (w - 2.0 * th.pad - f1.width(&change) - gap).max(0.0);
        let against = truncate_to_width(&against, sub_size, false, room);
        let total = f1.width(&change) + gap + f2.width(&against);
        let x = w / 2.0 - total / 2.0;
        let y = cy + size * 0.5 + sub_size * 1.3;
        svg.text(x, y, &change, f1, Anchor::Start);
        svg.text(x + f1.width(&change) + gap, y, &against, f2, Anchor::Start);
    }
    if has_trend {
        let lo = trend.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = trend.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let x0 = th.pad;
        let x1 = w - th.pad;
        let y1 = h - th.pad;
        let y0 = y1 - spark_h * 0.85;
        let xs = Linear::new((0.0, (trend.len() - 1) as f64), (x0, x1));
        let ys = Linear::new((lo, if hi > lo { hi } else { lo + 1.0 }), (y1, y0));
        let pts: Vec<(f64, f64)> = trend
            .iter()
            .enumerate()
            .map(|(i, v)| (xs.map(i as f64), ys.map(*v)))
            .collect();
        let mut line = String::new();
        for (k, (x, y)) in pts.iter().enumerate() {
            let _ = write!(
                line,
                "{}{} {}",
                if k == 0 { "M" } else { "L" },
                N(*x),
                N(*y)
            );
        }
        let c = color(0);
        let _ = writeln!(
            svg.out,
            "<path d=\"{line}L{} {}L{} {}Z\" fill=\"{c}\" fill-opacity=\"0.14\"/>",
            N(x1),
            N(y1),
            N(x0),
            N(y1)
        );
        let _ = writeln!(
            svg.out,
            "<path d=\"{line}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"{}\" stroke-linejoin=\"round\"/>",
            N(2.0 * th.s)
        );
        if let Some((x, y)) = pts.last() {
            svg.circle(*x, *y, 3.5 * th.s, c, "");
        }
    }
}
