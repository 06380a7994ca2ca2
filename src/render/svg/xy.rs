//! Cartesian charts: line, area, scatter, vertical and horizontal bars, with their axes.

use super::legend::{LegendItem, Swatch, draw_legend, legend_height};
use super::{AXIS, Anchor, Ctx, Font, GRID, MUTED, N, Svg, TEXT, Theme, ZERO, color, escape, typo};
use crate::render::fonts::truncate_to_width;
use crate::render::format::format_value;
use crate::render::format::tick_format;
use crate::render::format::{NumberFormat, parse_optional};
use crate::render::model::ChartKind;
use crate::render::model::Series;
use crate::render::model::XAxis;
use crate::render::model::{ChartData, RenderSpec};
use crate::render::scale::Grain;
use crate::render::scale::Linear;
use crate::render::scale::Ticks;
use crate::render::scale::TimeTick;
use crate::render::scale::grain_of;
use crate::render::scale::nice_ticks;
use crate::render::scale::tick_count;
use crate::render::scale::time_category_labels;
use crate::render::scale::time_ticks;
use crate::render::scale::time_value;
use chrono::NaiveDateTime;
use std::fmt::Write as _;

/// How the x axis is laid out.
enum XLayout {
    /// One band per position, labels in data order (categories, or instants and numbers
    /// shown as bars).
    Band {
        labels: Vec<String>,
        from_time: bool,
    },
    /// Continuous time.
    Time {
        times: Vec<NaiveDateTime>,
        lo: f64,
        hi: f64,
        grain: Grain,
    },
    /// Continuous numbers with nice ticks.
    Linear { values: Vec<f64> },
}

fn x_layout(kind: ChartKind, x: &XAxis) -> XLayout {
    let band_only = kind == ChartKind::Bar;
    match x {
        XAxis::Categories(c) => XLayout::Band {
            labels: c.clone(),
            from_time: false,
        },
        XAxis::Time(t) if band_only => XLayout::Band {
            labels: time_category_labels(t),
            from_time: true,
        },
        XAxis::Numbers(n) if band_only => XLayout::Band {
            labels: n.iter().map(|v| format_value(None, *v)).collect(),
            from_time: true,
        },
        XAxis::Time(t) => {
            let lo = t
                .iter()
                .map(|t| time_value(*t))
                .fold(f64::INFINITY, f64::min);
            let hi = t
                .iter()
                .map(|t| time_value(*t))
                .fold(f64::NEG_INFINITY, f64::max);
            // A single instant still needs a window: one day either side.
            let (lo, hi) = if lo < hi {
                (lo, hi)
            } else {
                (lo - 86400.0, hi + 86400.0)
            };
            XLayout::Time {
                times: t.clone(),
                lo,
                hi,
                grain: grain_of(t),
            }
        }
        XAxis::Numbers(n) => XLayout::Linear { values: n.clone() },
    }
}

/// The value range to show: stacked sums for stacked kinds; zero included for bars and
/// areas (their length encodes the value) and for lines whose values come close to zero.
fn value_extent(kind: ChartKind, stacked: bool, series: &[Series], n: usize) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    if stacked && matches!(kind, ChartKind::Bar | ChartKind::Area) {
        for i in 0..n {
            let (mut pos, mut neg) = (0.0, 0.0);
            for s in series {
                match s.get(i) {
                    Some(v) if v >= 0.0 => pos += v,
                    Some(v) => neg += v,
                    None => {}
                }
            }
            lo = lo.min(neg);
            hi = hi.max(pos);
        }
    } else {
        for s in series {
            for v in s.values.iter().flatten().filter(|v| v.is_finite()) {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let zero = match kind {
        ChartKind::Bar | ChartKind::Area => true,
        ChartKind::Line => (lo > 0.0 && lo < hi * 0.4) || (hi < 0.0 && hi > lo * 0.4),
        _ => false,
    };
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if kind == ChartKind::Scatter && hi > lo {
        // Points are discs: a little room keeps the extreme ones off the axis line.
        (lo, hi) = pad_extent(lo, hi, 0.04);
    }
    (lo, hi)
}

/// Widens `[lo, hi]` by `share` of its span on both sides, without crossing zero: an axis
/// of counts that starts at −1,000 would suggest negative values exist.
fn pad_extent(lo: f64, hi: f64, share: f64) -> (f64, f64) {
    let pad = (hi - lo) * share;
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    let hi = if hi <= 0.0 {
        (hi + pad).min(0.0)
    } else {
        hi + pad
    };
    (lo, hi)
}

/// Smallest tick step worth showing: the format's resolution, or 1 for whole numbers
/// (half an order is not a thing).
fn min_step(user: Option<&NumberFormat>, series: &[Series]) -> Option<f64> {
    if let Some(r) = user.and_then(NumberFormat::resolution) {
        return Some(r);
    }
    let all_integers = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .all(|v| v.fract() == 0.0);
    (user.is_none() && all_integers).then_some(1.0)
}

struct ValueAxis {
    ticks: Ticks,
    labels: Vec<String>,
    label_width: f64,
}

fn value_axis(ctx: &Ctx, length: f64, spacing: f64) -> ValueAxis {
    let data = ctx.data;
    let n = data.x.len();
    let (lo, hi) = value_extent(ctx.spec.kind, ctx.spec.stacked, &data.series, n);
    let mut count = tick_count(length, spacing);
    let step_floor = min_step(ctx.user, &data.series);
    // The count is a hint that 1-2-5 steps can overshoot by half; more ticks than the
    // axis has room for would crowd it, so a coarser step is taken instead.
    let mut ticks = nice_ticks(lo, hi, count, step_floor);
    while ticks.values.len() > tick_count(length, spacing) + 2 && count > 2 {
        count -= 1;
        ticks = nice_ticks(lo, hi, count, step_floor);
    }
    let max_abs = ticks.lo.abs().max(ticks.hi.abs());
    let fmt = tick_format(ctx.user, ticks.step, max_abs);
    let labels: Vec<String> = ticks.values.iter().map(|v| typo(fmt.format(*v))).collect();
    let font = Font::new(ctx.th.tick, MUTED);
    let label_width = labels.iter().map(|l| font.width(l)).fold(0.0, f64::max);
    ValueAxis {
        ticks,
        labels,
        label_width,
    }
}

/// Band labels after deciding how to fit them: each label is one or two lines.
struct BandLabels {
    labels: Vec<Vec<String>>,
    every: usize,
    rotate: bool,
    height: f64,
}

/// Splits `label` at the space that balances two lines, if both then fit `max`.
fn wrap_two(label: &str, font: Font, max: f64) -> Option<Vec<String>> {
    if font.width(label) <= max {
        return Some(vec![label.to_string()]);
    }
    let words: Vec<&str> = label.split_whitespace().collect();
    (1..words.len())
        .map(|k| (words[..k].join(" "), words[k..].join(" ")))
        .map(|(a, b)| (font.width(&a).max(font.width(&b)), a, b))
        .filter(|(w, _, _)| *w <= max)
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a, b)| vec![a, b])
}

fn layout_band_labels(
    labels: &[String],
    band: f64,
    th: &Theme,
    max_len: f64,
    from_time: bool,
) -> BandLabels {
    let font = Font::new(th.tick, MUTED);
    let labels: Vec<String> = labels
        .iter()
        .map(|l| truncate_to_width(l, font.size, false, max_len))
        .collect();
    let widest = labels.iter().map(|l| font.width(l)).fold(0.0, f64::max);
    let gap = th.tick * 0.8;
    let line = th.tick * 1.25;
    let single = |labels: Vec<String>| labels.into_iter().map(|l| vec![l]).collect();
    // Rotated by 45°, neighbouring labels need about 1.4 line heights between anchors.
    let rotated_pitch = line * 1.45;
    let every_h = ((widest + gap) / band).ceil().max(1.0) as usize;
    let every_r = (rotated_pitch / band).ceil().max(1.0) as usize;
    let rotated_height = (widest + line * 0.5) * std::f64::consts::FRAC_1_SQRT_2 + line * 0.5;
    if every_h == 1 {
        return BandLabels {
            labels: single(labels),
            every: 1,
            rotate: false,
            height: line + th.tick * 0.6,
        };
    }
    // Two short lines read better than a slanted one.
    if !from_time {
        let wrapped: Option<Vec<Vec<String>>> = labels
            .iter()
            .map(|l| wrap_two(l, font, band - gap))
            .collect();
        if let Some(wrapped) = wrapped {
            return BandLabels {
                labels: wrapped,
                every: 1,
                rotate: false,
                height: 2.0 * line + th.tick * 0.6,
            };
        }
    }
    if every_r == 1 && !(from_time && every_h <= 3) {
        BandLabels {
            labels: single(labels),
            every: 1,
            rotate: true,
            height: rotated_height + th.tick * 0.6,
        }
    } else if from_time || every_h <= 2 {
        // Dates thin well: every third month is still a readable axis.
        BandLabels {
            labels: single(labels),
            every: every_h,
            rotate: false,
            height: line + th.tick * 0.6,
        }
    } else {
        BandLabels {
            labels: single(labels),
            every: every_r,
            rotate: true,
            height: rotated_height + th.tick * 0.6,
        }
    }
}

/// Time ticks that fit `width` pixels without overlapping.
fn fitted_time_ticks(lo: f64, hi: f64, grain: Grain, width: f64, th: &Theme) -> Vec<TimeTick> {
    let font = Font::new(th.tick, MUTED);
    let to_time = |v: f64| {
        chrono::DateTime::from_timestamp(v.floor() as i64, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    };
    let (tlo, thi) = (to_time(lo), to_time(hi));
    let mut count = (width / (th.tick * 6.0)).floor().max(2.0) as usize;
    loop {
        let ticks = time_ticks(tlo, thi, count, grain);
        let widest = ticks
            .iter()
            .map(|t| {
                font.width(&t.label)
                    .max(t.context.as_deref().map_or(0.0, |c| font.width(c)))
            })
            .fold(0.0, f64::max);
        let needed = (widest + th.tick * 1.5) * ticks.len() as f64;
        if needed <= width || count <= 2 {
            return ticks;
        }
        count -= 1;
    }
}

/// Linear x ticks (scatter) that fit `width` pixels.
fn fitted_linear_ticks(values: &[f64], width: f64, th: &Theme) -> (Ticks, Vec<String>) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo {
        pad_extent(lo, hi, 0.03)
    } else {
        (lo, hi)
    };
    let font = Font::new(th.tick, MUTED);
    let mut count = tick_count(width, 90.0 * th.s);
    loop {
        let ticks = nice_ticks(lo, hi, count, None);
        let fmt = tick_format(None, ticks.step, ticks.lo.abs().max(ticks.hi.abs()));
        let labels: Vec<String> = ticks.values.iter().map(|v| typo(fmt.format(*v))).collect();
        let widest = labels.iter().map(|l| font.width(l)).fold(0.0, f64::max);
        if (widest + th.tick * 2.0) * labels.len() as f64 <= width || count <= 2 {
            return (ticks, labels);
        }
        count -= 1;
    }
}

#[derive(Debug, Clone, Copy)]
struct Plot {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

fn series_legend(ctx: &Ctx, swatch: Swatch) -> Vec<LegendItem> {
    if !ctx.spec.show_legend || ctx.data.series.len() < 2 {
        return Vec::new();
    }
    ctx.data
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(color(i), s.name.clone(), swatch))
        .collect()
}

fn swatch_of(kind: ChartKind) -> Swatch {
    match kind {
        ChartKind::Line => Swatch::Line,
        ChartKind::Scatter => Swatch::Dot,
        _ => Swatch::Square,
    }
}

/// A mixed chart's two halves ([`RenderSpec::split_axes`]): the left axis' series and the
/// right axis', each with its own kind and number format.
struct Halves {
    left: (RenderSpec, ChartData),
    right: (RenderSpec, ChartData, Option<NumberFormat>),
    first: usize,
}

impl Halves {
    fn of(ctx: &Ctx) -> Option<Self> {
        let [left, (spec, data)] = ctx.spec.split_axes(ctx.data)?;
        let user = parse_optional(spec.y_format.as_deref()).ok().flatten();
        Some(Self {
            first: left.1.series.len(),
            left,
            right: (spec, data, user),
        })
    }

    fn contexts<'a>(&'a self, ctx: &Ctx<'a>) -> (Ctx<'a>, Ctx<'a>) {
        let sub = |spec, data, user, first_color| Ctx {
            spec,
            data,
            user,
            th: ctx.th,
            w: ctx.w,
            h: ctx.h,
            top: ctx.top,
            first_color,
        };
        (
            sub(&self.left.0, &self.left.1, ctx.user, 0),
            sub(
                &self.right.0,
                &self.right.1,
                self.right.2.as_ref(),
                self.first,
            ),
        )
    }

    /// Series of both axes, right ones marked, each with its axis' swatch.
    fn legend(&self, ctx: &Ctx) -> Vec<LegendItem> {
        if !ctx.spec.show_legend {
            return Vec::new();
        }
        let left = self
            .left
            .1
            .series
            .iter()
            .map(|s| (s.name.clone(), self.left.0.kind));
        let right = (self.right.1.series.iter())
            .map(|s| (format!("{} (right axis)", s.name), self.right.0.kind));
        left.chain(right)
            .enumerate()
            .map(|(i, (name, kind))| LegendItem::new(color(i), name, swatch_of(kind)))
            .collect()
    }
}

/// Lines, areas, scatter plots and vertical bars; a mixed chart's two axes.
pub(super) fn draw_xy(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let kind = ctx.spec.kind;
    let n = ctx.data.x.len();
    let halves = Halves::of(ctx);
    let sides = halves.as_ref().map(|m| m.contexts(ctx));
    let legend = match &halves {
        Some(m) => m.legend(ctx),
        None => series_legend(ctx, swatch_of(kind)),
    };
    let legend_h = legend_height(&legend, th, w - 2.0 * th.pad);
    let legend_y = ctx.top;
    let top = ctx.top
        + if legend_h > 0.0 {
            legend_h + th.pad * 0.4
        } else {
            th.pad * 0.2
        };

    let axis_title = Font::new(th.axis_title, TEXT);
    let x_title = ctx
        .spec
        .x_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let y_title = ctx
        .spec
        .y_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let bottom = th.pad
        + if x_title.is_some() {
            th.axis_title * 1.6
        } else {
            0.0
        };
    let left = th.pad
        + if y_title.is_some() {
            th.axis_title * 1.7
        } else {
            0.0
        };

    // Value ticks first, from an estimate of the plot height; their labels set the left
    // margin, which sets the plot width, which decides how the x labels fit.
    let est_h = (h - top - bottom - th.tick * 3.0).max(20.0);
    let axis = value_axis(sides.as_ref().map_or(ctx, |(l, _)| l), est_h, 64.0 * th.s);
    let right_axis = sides
        .as_ref()
        .map(|(_, r)| value_axis(r, est_h, 64.0 * th.s));
    let right_title = (ctx.spec.secondary.as_ref())
        .and_then(|sec| sec.y_title.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let tick_gap = th.tick * 0.6;
    let px = left + axis.label_width + tick_gap;
    // Bars of either axis need bands.
    let any_bar = sides
        .as_ref()
        .is_some_and(|(l, r)| l.spec.kind == ChartKind::Bar || r.spec.kind == ChartKind::Bar);
    let layout = x_layout(if any_bar { ChartKind::Bar } else { kind }, &ctx.data.x);
    let right_pad = match &right_axis {
        Some(a) => {
            tick_gap
                + a.label_width
                + th.pad
                + if right_title.is_some() {
                    th.axis_title * 1.7
                } else {
                    0.0
                }
        }
        None => th.pad * 1.2,
    };
    let pw = (w - px - right_pad).max(10.0);

    let font = Font::new(th.tick, MUTED);
    let line_h = th.tick * 1.25;
    let (x_labels_h, band_labels, time_tick_list, linear) = match &layout {
        XLayout::Band { labels, from_time } => {
            let band = pw / n.max(1) as f64;
            let max_len = (h * 0.3).min(180.0 * th.s);
            let b = layout_band_labels(labels, band, th, max_len, *from_time);
            (b.height, Some(b), None, None)
        }
        XLayout::Time { lo, hi, grain, .. } => {
            let ticks = fitted_time_ticks(*lo, *hi, *grain, pw, th);
            let lines = if ticks.iter().any(|t| t.context.is_some()) {
                2.0
            } else {
                1.0
            };
            (line_h * lines + th.tick * 0.6, None, Some(ticks), None)
        }
        XLayout::Linear { values, .. } => {
            let (ticks, labels) = fitted_linear_ticks(values, pw, th);
            (line_h + th.tick * 0.6, None, None, Some((ticks, labels)))
        }
    };
    let py = top + th.tick * 0.5;
    let ph = (h - py - bottom - x_labels_h).max(10.0);
    let plot = Plot {
        x: px,
        y: py,
        w: pw,
        h: ph,
    };
    let yscale = Linear::new((axis.ticks.lo, axis.ticks.hi), (plot.y + plot.h, plot.y));

    // Grid and value labels.
    for (v, label) in axis.ticks.values.iter().zip(&axis.labels) {
        let y = yscale.map(*v);
        if *v != 0.0 || axis.ticks.lo == 0.0 {
            svg.hline(plot.x, plot.x + plot.w, y, GRID, 1.0);
        }
        svg.text(plot.x - tick_gap, y, label, font, Anchor::End);
    }

    // X positions and x labels.
    let xpos: Vec<Option<f64>> = match &layout {
        XLayout::Band { .. } => {
            let band = plot.w / n.max(1) as f64;
            (0..n)
                .map(|i| Some(plot.x + band * (i as f64 + 0.5)))
                .collect()
        }
        XLayout::Time { times, lo, hi, .. } => {
            let xs = Linear::new((*lo, *hi), (plot.x, plot.x + plot.w));
            times.iter().map(|t| Some(xs.map(time_value(*t)))).collect()
        }
        XLayout::Linear { values, .. } => {
            let ticks = linear.as_ref().map(|(t, _)| t);
            let (lo, hi) = ticks.map_or((0.0, 1.0), |t| (t.lo, t.hi));
            let xs = Linear::new((lo, hi), (plot.x, plot.x + plot.w));
            values
                .iter()
                .map(|v| v.is_finite().then(|| xs.map(*v)))
                .collect()
        }
    };
    let label_top = plot.y + plot.h + th.tick * 0.6;
    if let Some(b) = &band_labels {
        let band = plot.w / n.max(1) as f64;
        for (i, label) in b.labels.iter().enumerate() {
            if i % b.every != 0 {
                continue;
            }
            let cx = plot.x + band * (i as f64 + 0.5);
            for (k, text) in label.iter().enumerate() {
                if b.rotate {
                    // A slanted label runs down-left from its tick: keep it inside the picture.
                    let room = (cx - 2.0) / std::f64::consts::FRAC_1_SQRT_2;
                    let text = truncate_to_width(text, font.size, false, room);
                    svg.text_rotated(
                        cx,
                        label_top + th.tick * 0.3,
                        &text,
                        font,
                        Anchor::End,
                        -45.0,
                    );
                } else {
                    svg.text(
                        cx,
                        label_top + line_h * (k as f64 + 0.5),
                        text,
                        font,
                        Anchor::Middle,
                    );
                }
            }
        }
    }
    if let (Some(ticks), XLayout::Time { lo, hi, .. }) = (&time_tick_list, &layout) {
        let xs = Linear::new((*lo, *hi), (plot.x, plot.x + plot.w));
        for t in ticks {
            let cx = xs.map(time_value(t.at));
            svg.vline(
                cx,
                plot.y + plot.h,
                plot.y + plot.h + th.tick * 0.35,
                AXIS,
                1.0,
            );
            let cx = clamp_label(cx, font.width(&t.label), w);
            svg.text(cx, label_top + line_h * 0.5, &t.label, font, Anchor::Middle);
            if let Some(c) = &t.context {
                let cx = clamp_label(xs.map(time_value(t.at)), font.width(c), w);
                svg.text(
                    cx,
                    label_top + line_h * 1.5,
                    c,
                    Font::new(th.tick, TEXT).bold(),
                    Anchor::Middle,
                );
            }
        }
    }
    if let Some((ticks, labels)) = &linear {
        let xs = Linear::new((ticks.lo, ticks.hi), (plot.x, plot.x + plot.w));
        for (v, label) in ticks.values.iter().zip(labels) {
            let cx = xs.map(*v);
            svg.vline(cx, plot.y, plot.y + plot.h, GRID, 1.0);
            let cx = clamp_label(cx, font.width(label), w);
            svg.text(cx, label_top + line_h * 0.5, label, font, Anchor::Middle);
        }
    }

    // Data: a mixed chart's bars first (sharing the bands), then its lines and areas.
    if let (Some((l, r)), Some(a2)) = (&sides, &right_axis) {
        let y2scale = Linear::new((a2.ticks.lo, a2.ticks.hi), (plot.y + plot.h, plot.y));
        for (v, label) in a2.ticks.values.iter().zip(&a2.labels) {
            svg.text(
                plot.x + plot.w + tick_gap,
                y2scale.map(*v),
                label,
                font,
                Anchor::Start,
            );
        }
        let bars = |c: &Ctx| {
            if c.spec.kind == ChartKind::Bar {
                c.data.series.len()
            } else {
                0
            }
        };
        let slots = bars(l) + bars(r);
        let sides = [(l, &yscale, 0), (r, &y2scale, bars(l))];
        for (c, scale, slot0) in sides {
            if c.spec.kind == ChartKind::Bar {
                draw_vbars(svg, c, plot, scale, Some((slot0, slots)));
            }
        }
        for (c, scale, _) in sides {
            if c.spec.kind != ChartKind::Bar {
                draw_lines(svg, c, plot, scale, &xpos, c.spec.kind == ChartKind::Area);
            }
        }
    } else {
        match kind {
            ChartKind::Bar => draw_vbars(svg, ctx, plot, &yscale, None),
            ChartKind::Line => draw_lines(svg, ctx, plot, &yscale, &xpos, false),
            ChartKind::Area => draw_lines(svg, ctx, plot, &yscale, &xpos, true),
            _ => draw_points(svg, ctx, &yscale, &xpos),
        }
    }

    // Baseline on top of the data: the zero line where values cross it, else the axis.
    let zero_inside = axis.ticks.lo < 0.0 && axis.ticks.hi > 0.0;
    svg.hline(plot.x, plot.x + plot.w, plot.y + plot.h, AXIS, 1.0);
    if zero_inside {
        svg.hline(plot.x, plot.x + plot.w, yscale.map(0.0), ZERO, 1.0);
    }

    // Titles and legend.
    if let Some(t) = x_title {
        let t = truncate_to_width(t, axis_title.size, false, plot.w);
        svg.text(
            plot.x + plot.w / 2.0,
            h - th.pad - th.axis_title * 0.5,
            &t,
            axis_title,
            Anchor::Middle,
        );
    }
    if let Some(t) = y_title {
        let t = truncate_to_width(t, axis_title.size, false, plot.h);
        svg.text_rotated(
            th.pad + th.axis_title * 0.5,
            plot.y + plot.h / 2.0,
            &t,
            axis_title,
            Anchor::Middle,
            -90.0,
        );
    }
    if let Some(t) = right_title {
        let t = truncate_to_width(t, axis_title.size, false, plot.h);
        svg.text_rotated(
            w - th.pad - th.axis_title * 0.5,
            plot.y + plot.h / 2.0,
            &t,
            axis_title,
            Anchor::Middle,
            90.0,
        );
    }
    if !legend.is_empty() {
        draw_legend(svg, &legend, th, th.pad, legend_y, w - 2.0 * th.pad);
    }
}

/// Keeps a centred label inside the picture.
fn clamp_label(cx: f64, width: f64, w: f64) -> f64 {
    cx.clamp(
        width / 2.0 + 2.0,
        (w - width / 2.0 - 2.0).max(width / 2.0 + 2.0),
    )
}

/// `slots` (first, of): these series take bar slots first.. of `of` in each band (a mixed
/// chart's two axes of bars share the bands); `None`: all the slots.
fn draw_vbars(
    svg: &mut Svg,
    ctx: &Ctx,
    plot: Plot,
    yscale: &Linear,
    slots: Option<(usize, usize)>,
) {
    let th = &ctx.th;
    let series = &ctx.data.series;
    let n = ctx.data.x.len().max(1);
    let (slot0, m) = slots.unwrap_or((0, series.len().max(1)));
    let band = plot.w / n as f64;
    let stacked = ctx.spec.stacked && m > 1;
    // Bars take 75% of their band (less padding when crowded), and never grow absurdly wide.
    let fill = if band < 6.0 { 0.9 } else { 0.75 };
    let groups = if stacked { 1.0 } else { m as f64 };
    let group_w = (band * fill).min(110.0 * th.s * groups.sqrt());
    let bar_gap = if stacked || m == 1 {
        0.0
    } else {
        (group_w / m as f64 * 0.08).min(2.0 * th.s)
    };
    let bar_w = if stacked {
        group_w
    } else {
        group_w / m as f64 - bar_gap
    };
    let label_font = Font::new(th.label, TEXT);
    let show_labels = !ctx.data.series.is_empty() && n <= 24;
    let mut labels: Vec<(f64, f64, String, bool)> = Vec::new();
    for i in 0..n {
        let gx = plot.x + band * i as f64 + (band - group_w) / 2.0;
        let (mut pos, mut neg) = (0.0, 0.0);
        for (j, s) in series.iter().enumerate() {
            let Some(v) = s.get(i) else { continue };
            let (a, b) = if stacked {
                if v >= 0.0 {
                    pos += v;
                    (pos - v, pos)
                } else {
                    neg += v;
                    (neg - v, neg)
                }
            } else {
                (0.0, v)
            };
            let (ya, yb) = (yscale.map(a), yscale.map(b));
            let x = if stacked {
                gx
            } else {
                gx + (bar_w + bar_gap) * (slot0 + j) as f64 + bar_gap / 2.0
            };
            let (top, height) = (ya.min(yb), (ya - yb).abs());
            let tip = format!(
                "<title>{}: {}</title>",
                escape(&s.name),
                escape(&format_value(ctx.user, v))
            );
            let _ = writeln!(
                svg.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">{tip}</rect>",
                N(x),
                N(top),
                N(bar_w.max(0.5)),
                N(height.max(0.0)),
                color(ctx.first_color + j)
            );
            if !stacked && m == 1 && slots.is_none() {
                labels.push((
                    x + bar_w / 2.0,
                    if v >= 0.0 { top } else { top + height },
                    typo(format_value(ctx.user, v)),
                    v >= 0.0,
                ));
            }
        }
        if stacked && (pos != 0.0 || neg != 0.0) {
            let total = pos + neg;
            let y = if total >= 0.0 {
                yscale.map(pos)
            } else {
                yscale.map(neg)
            };
            labels.push((
                gx + group_w / 2.0,
                y,
                typo(format_value(ctx.user, total)),
                total >= 0.0,
            ));
        }
    }
    // Value labels only when every one fits over its bar: a partial set misleads.
    let fits = show_labels
        && labels
            .iter()
            .all(|(_, _, t, _)| label_font.width(t) <= group_w + th.label * 0.6);
    if fits {
        for (x, y, text, up) in labels {
            let dy = th.label * 0.85;
            let y = if up {
                (y - dy).max(plot.y - th.label * 0.2)
            } else {
                (y + dy).min(plot.y + plot.h + th.label * 0.2)
            };
            svg.text(x, y, &text, label_font, Anchor::Middle);
        }
    }
}

/// Lines (and areas when `area`): gaps at missing values, markers when points are few.
fn draw_lines(
    svg: &mut Svg,
    ctx: &Ctx,
    plot: Plot,
    yscale: &Linear,
    xpos: &[Option<f64>],
    area: bool,
) {
    let th = &ctx.th;
    let series = &ctx.data.series;
    let n = xpos.len();
    let stacked = area && ctx.spec.stacked && series.len() > 1;
    let base = yscale.map(0.0).clamp(plot.y, plot.y + plot.h);
    let markers = n <= 40 && plot.w / n.max(1) as f64 >= 14.0 * th.s;
    let width = if n > 300 { 1.6 * th.s } else { 2.2 * th.s };
    let mut lower = vec![0.0f64; n];
    for (j, s) in series.iter().enumerate() {
        let c = color(ctx.first_color + j);
        let values: Vec<Option<f64>> = if stacked {
            (0..n)
                .map(|i| Some(lower[i] + s.get(i).unwrap_or(0.0)))
                .collect()
        } else {
            (0..n).map(|i| s.get(i)).collect()
        };
        let points: Vec<Option<(f64, f64)>> = (0..n)
            .map(|i| match (xpos[i], values[i]) {
                (Some(x), Some(v)) => Some((x, yscale.map(v))),
                _ => None,
            })
            .collect();
        if area {
            if stacked {
                let mut d = String::new();
                for i in 0..n {
                    if let (Some(x), Some((_, y))) = (xpos[i], points[i]) {
                        let _ = write!(
                            d,
                            "{}{} {}",
                            if d.is_empty() { "M" } else { "L" },
                            N(x),
                            N(y)
                        );
                    }
                }
                for i in (0..n).rev() {
                    if let Some(x) = xpos[i] {
                        let _ = write!(d, "L{} {}", N(x), N(yscale.map(lower[i])));
                    }
                }
                if !d.is_empty() {
                    let _ = writeln!(
                        svg.out,
                        "<path d=\"{d}Z\" fill=\"{c}\" fill-opacity=\"0.78\"/>"
                    );
                }
            } else {
                for run in runs(&points) {
                    let mut d = String::new();
                    let (fx, _) = run[0];
                    let _ = write!(d, "M{} {}", N(fx), N(base));
                    for (x, y) in &run {
                        let _ = write!(d, "L{} {}", N(*x), N(*y));
                    }
                    let (lx, _) = run[run.len() - 1];
                    let _ = write!(d, "L{} {}Z", N(lx), N(base));
                    let opacity = if series.len() > 1 { 0.22 } else { 0.3 };
                    let _ = writeln!(
                        svg.out,
                        "<path d=\"{d}\" fill=\"{c}\" fill-opacity=\"{opacity}\"/>"
                    );
                }
            }
        }
        for run in runs(&points) {
            if run.len() == 1 {
                // An isolated value between gaps would be invisible as a line.
                svg.circle(run[0].0, run[0].1, width * 1.3, c, "");
                continue;
            }
            let mut d = String::with_capacity(run.len() * 14);
            for (k, (x, y)) in run.iter().enumerate() {
                let _ = write!(d, "{}{} {}", if k == 0 { "M" } else { "L" }, N(*x), N(*y));
            }
            let _ = writeln!(
                svg.out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"{}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
                N(width)
            );
        }
        if markers && !area {
            let extra = format!(" stroke=\"#ffffff\" stroke-width=\"{}\"", N(1.2 * th.s));
            for (x, y) in points.iter().flatten() {
                svg.circle(*x, *y, 3.4 * th.s, c, &extra);
            }
        }
        if stacked {
            for (i, l) in lower.iter_mut().enumerate() {
                *l += s.get(i).unwrap_or(0.0);
            }
        }
    }
}

/// Runs of consecutive present points.
fn runs(points: &[Option<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in points {
        match p {
            Some(p) => cur.push(*p),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn draw_points(svg: &mut Svg, ctx: &Ctx, yscale: &Linear, xpos: &[Option<f64>]) {
    let th = &ctx.th;
    let total: usize = ctx.data.series.iter().map(|s| s.values.len()).sum();
    let r = if total <= 150 {
        4.8
    } else if total <= 1500 {
        3.6
    } else {
        2.4
    } * th.s;
    let extra = format!(
        " fill-opacity=\"0.78\" stroke=\"#ffffff\" stroke-width=\"{}\"",
        N(0.8 * th.s)
    );
    for (j, s) in ctx.data.series.iter().enumerate() {
        for (i, x) in xpos.iter().enumerate() {
            if let (Some(x), Some(v)) = (x, s.get(i)) {
                svg.circle(*x, yscale.map(v), r, color(ctx.first_color + j), &extra);
            }
        }
    }
}

/// Horizontal bars: categories down the left, values along the bottom.
pub(super) fn draw_hbar(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let n = ctx.data.x.len();
    let series = &ctx.data.series;
    let m = series.len().max(1);
    let stacked = ctx.spec.stacked && m > 1;
    let legend = series_legend(ctx, Swatch::Square);
    let legend_h = legend_height(&legend, th, w - 2.0 * th.pad);
    let top = ctx.top
        + if legend_h > 0.0 {
            legend_h + th.pad * 0.4
        } else {
            th.pad * 0.2
        };
    let axis_title = Font::new(th.axis_title, TEXT);
    // The category axis is vertical here, so the x title goes on the left and the y
    // (value) title at the bottom.
    let cat_title = ctx
        .spec
        .x_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let val_title = ctx
        .spec
        .y_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let bottom = th.pad
        + if val_title.is_some() {
            th.axis_title * 1.6
        } else {
            0.0
        };
    let left = th.pad
        + if cat_title.is_some() {
            th.axis_title * 1.7
        } else {
            0.0
        };
    let font = Font::new(th.tick, MUTED);
    let cat_font = Font::new(th.tick, TEXT);
    let labels: Vec<String> = match x_layout(ChartKind::Bar, &ctx.data.x) {
        XLayout::Band { labels, .. } => labels,
        _ => Vec::new(),
    };
    let max_label = w * 0.3;
    let labels: Vec<String> = labels
        .iter()
        .map(|l| truncate_to_width(l, cat_font.size, false, max_label))
        .collect();
    let label_w = labels.iter().map(|l| cat_font.width(l)).fold(0.0, f64::max);
    let px = left + label_w + th.tick * 0.7;
    let line_h = th.tick * 1.25;
    let py = top + th.tick * 0.3;
    let ph = (h - py - bottom - line_h - th.tick * 0.6).max(10.0);
    let value_room = 60.0 * th.s;
    let pw = (w - px - th.pad - value_room * 0.3).max(10.0);

    // Value ticks along the bottom, as many as their labels allow.
    let mut spacing = 90.0 * th.s;
    let axis = loop {
        let a = value_axis(ctx, pw, spacing);
        if (a.label_width + th.tick * 2.0) * a.labels.len() as f64 <= pw || spacing > pw {
            break a;
        }
        spacing *= 1.3;
    };
    let xs = Linear::new((axis.ticks.lo, axis.ticks.hi), (px, px + pw));
    for (v, label) in axis.ticks.values.iter().zip(&axis.labels) {
        let x = xs.map(*v);
        svg.vline(x, py, py + ph, GRID, 1.0);
        let x = clamp_label(x, font.width(label), w);
        svg.text(
            x,
            py + ph + th.tick * 0.6 + line_h * 0.5,
            label,
            font,
            Anchor::Middle,
        );
    }

    let band = ph / n.max(1) as f64;
    let fill = if band < 6.0 { 0.9 } else { 0.72 };
    let groups = if stacked { 1.0 } else { m as f64 };
    let group_h = (band * fill).min(70.0 * th.s * groups.sqrt());
    let bar_gap = if stacked || m == 1 {
        0.0
    } else {
        (group_h / m as f64 * 0.08).min(2.0 * th.s)
    };
    let bar_h = if stacked {
        group_h
    } else {
        group_h / m as f64 - bar_gap
    };
    let every = ((line_h * 1.05) / band).ceil().max(1.0) as usize;
    let label_font = Font::new(th.label, TEXT);
    let mut ends: Vec<(f64, f64, String)> = Vec::new();
    for (i, label) in labels.iter().enumerate().take(n) {
        let cy = py + band * (i as f64 + 0.5);
        if i % every == 0 {
            svg.text(px - th.tick * 0.7, cy, label, cat_font, Anchor::End);
        }
        let gy = cy - group_h / 2.0;
        let (mut pos, mut neg) = (0.0, 0.0);
        for (j, s) in series.iter().enumerate() {
            let Some(v) = s.get(i) else { continue };
            let (a, b) = if stacked {
                if v >= 0.0 {
                    pos += v;
                    (pos - v, pos)
                } else {
                    neg += v;
                    (neg - v, neg)
                }
            } else {
                (0.0, v)
            };
            let (xa, xb) = (xs.map(a), xs.map(b));
            let y = if stacked {
                gy
            } else {
                gy + (bar_h + bar_gap) * j as f64 + bar_gap / 2.0
            };
            let tip = format!(
                "<title>{}: {}</title>",
                escape(&s.name),
                escape(&format_value(ctx.user, v))
            );
            let _ = writeln!(
                svg.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">{tip}</rect>",
                N(xa.min(xb)),
                N(y),
                N((xa - xb).abs()),
                N(bar_h.max(0.5)),
                color(j)
            );
            if !stacked && m == 1 {
                ends.push((xb, y + bar_h / 2.0, typo(format_value(ctx.user, v))));
            }
        }
        if stacked {
            ends.push((xs.map(pos), cy, typo(format_value(ctx.user, pos + neg))));
        }
    }
    // Values at the bar ends when each has a row of its own.
    if every == 1 && band >= th.label * 1.1 {
        let zero = xs.map(0.0);
        for (x, y, text) in ends {
            let tw = label_font.width(&text);
            if x >= zero {
                let x = (x + th.label * 0.4).min(w - 2.0 - tw);
                svg.text(x, y, &text, label_font, Anchor::Start);
            } else {
                svg.text(x - th.label * 0.4, y, &text, label_font, Anchor::End);
            }
        }
    }
    let zero_inside = axis.ticks.lo < 0.0 && axis.ticks.hi > 0.0;
    let x0 = if zero_inside { xs.map(0.0) } else { px };
    svg.vline(x0, py, py + ph, if zero_inside { ZERO } else { AXIS }, 1.0);
    if let Some(t) = val_title {
        let t = truncate_to_width(t, axis_title.size, false, pw);
        svg.text(
            px + pw / 2.0,
            h - th.pad - th.axis_title * 0.5,
            &t,
            axis_title,
            Anchor::Middle,
        );
    }
    if let Some(t) = cat_title {
        let t = truncate_to_width(t, axis_title.size, false, ph);
        svg.text_rotated(
            th.pad + th.axis_title * 0.5,
            py + ph / 2.0,
            &t,
            axis_title,
            Anchor::Middle,
            -90.0,
        );
    }
    if !legend.is_empty() {
        draw_legend(svg, &legend, th, th.pad, ctx.top, w - 2.0 * th.pad);
    }
}
