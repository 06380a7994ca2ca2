//! Every chart kind drawn as SVG. This is the one drawing code path: PNGs and dashboards
//! rasterise what is written here, so layout decisions (tick density, label rotation,
//! legend placement, what to do with crowded or empty data) are all made in this module.
//!
//! Text is measured with the bundled font ([`super::fonts`]) before it is placed, so labels
//! are truncated, rotated or thinned instead of overlapping.

use std::fmt::{self, Write as _};

use chrono::NaiveDateTime;

use super::RenderError;
use super::fonts::{self, CAP_MIDDLE, text_width, truncate_to_width};
use super::format::{NumberFormat, format_delta, format_value, parse_optional, tick_format};
use super::model::{ChartData, ChartKind, RenderSpec, Series, XAxis};
use super::scale::{
    Grain, Linear, Ticks, TimeTick, grain_of, nice_ticks, tick_count, time_category_labels,
    time_ticks, time_value,
};
use super::table::{Prepared, is_total_label, prepare_table, table_data};

/// Tableau 10 without its grey, then lighter companions; grey is kept for "Other".
pub const PALETTE: [&str; 17] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#a0cbe8", "#ffbe7d", "#8cd17d", "#86bcb6", "#f1ce63", "#d4a6c8", "#fabfd2",
    "#d7b5a6",
];
pub const OTHER_COLOR: &str = "#bab0ac";
const INK: &str = "#1f2937";
const TEXT: &str = "#4b5563";
const MUTED: &str = "#6b7280";
const GRID: &str = "#e5e7eb";
const AXIS: &str = "#9ca3af";
const ZERO: &str = "#6b7280";
const UP: &str = "#15803d";
const DOWN: &str = "#b91c1c";
const STRIPE: &str = "#f6f7f9";
const HEADER_BG: &str = "#eef0f3";

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A coordinate printed with at most two decimals: enough for anti-aliasing, and keeps a
/// thousand-point path small.
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0.is_finite() {
            (self.0 * 100.0).round() / 100.0
        } else {
            0.0
        };
        if v == v.trunc() && v.abs() < 1e15 {
            write!(f, "{}", v as i64)
        } else {
            write!(f, "{v}")
        }
    }
}

/// Sizes for one picture. Everything scales with the square root of the size relative to
/// 800×600, so small pictures keep readable text and large ones do not look empty.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub s: f64,
    pub title: f64,
    pub axis_title: f64,
    pub tick: f64,
    pub legend: f64,
    pub label: f64,
    pub pad: f64,
}

impl Theme {
    pub fn new(w: f64, h: f64) -> Self {
        let s = (w / 800.0).min(h / 600.0).sqrt().clamp(0.75, 2.2);
        Self {
            s,
            title: 18.0 * s,
            axis_title: 13.0 * s,
            tick: 12.0 * s,
            legend: 12.5 * s,
            label: 11.5 * s,
            pad: 16.0 * s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Font {
    pub size: f64,
    pub bold: bool,
    pub fill: &'static str,
}

impl Font {
    pub fn new(size: f64, fill: &'static str) -> Self {
        Self {
            size,
            bold: false,
            fill,
        }
    }

    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }

    pub fn width(&self, text: &str) -> f64 {
        text_width(text, self.size, self.bold)
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters; they carry nothing visible anyway.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A true minus sign for display: "−5" reads better than "-5" next to other numbers.
fn typo(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) => format!("\u{2212}{rest}"),
        None => s,
    }
}

/// An SVG body being written. Writing to a `String` cannot fail, so `write!` results are
/// ignored throughout.
#[derive(Default)]
pub(crate) struct Svg {
    pub out: String,
}

impl Svg {
    pub fn new() -> Self {
        Self {
            out: String::with_capacity(16 * 1024),
        }
    }

    /// Wraps the body in a standalone document with a white background.
    pub fn document(&self, w: f64, h: f64) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{family}\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n{body}</svg>\n",
            w = N(w),
            h = N(h),
            family = fonts::FAMILY,
            body = self.out
        )
    }

    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
            N(x),
            N(y),
            N(w.max(0.0)),
            N(h.max(0.0))
        );
    }

    /// A one-pixel line snapped to the pixel grid so it stays crisp.
    pub fn hline(&mut self, x1: f64, x2: f64, y: f64, stroke: &str, width: f64) {
        let y = crisp(y, width);
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            N(x1),
            N(y),
            N(x2),
            N(y),
            N(width)
        );
    }

    pub fn vline(&mut self, x: f64, y1: f64, y2: f64, stroke: &str, width: f64) {
        let x = crisp(x, width);
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            N(x),
            N(y1),
            N(x),
            N(y2),
            N(width)
        );
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\"{extra}/>",
            N(cx),
            N(cy),
            N(r)
        );
    }

    /// Text whose capital letters are centred on `y`.
    pub fn text(&mut self, x: f64, y: f64, s: &str, font: Font, anchor: Anchor) {
        self.text_rotated(x, y, s, font, anchor, 0.0);
    }

    pub fn text_rotated(
        &mut self,
        x: f64,
        y: f64,
        s: &str,
        font: Font,
        anchor: Anchor,
        angle: f64,
    ) {
        if s.is_empty() {
            return;
        }
        let weight = if font.bold {
            " font-weight=\"bold\""
        } else {
            ""
        };
        let transform = if angle != 0.0 {
            format!(" transform=\"rotate({} {} {})\"", N(angle), N(x), N(y))
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{}\"{weight}{transform}>{}</text>",
            N(x),
            N(y + CAP_MIDDLE * font.size),
            N(font.size),
            font.fill,
            anchor.attr(),
            escape(s)
        );
    }
}

fn crisp(v: f64, width: f64) -> f64 {
    if width.round() as i64 % 2 == 1 {
        v.floor() + 0.5
    } else {
        v.round()
    }
}

/// Renders a standalone SVG document.
pub fn render(spec: &RenderSpec, data: &ChartData) -> Result<String, RenderError> {
    spec.check_size()?;
    let (w, h) = (f64::from(spec.width), f64::from(spec.height));
    let mut svg = Svg::new();
    draw_chart(&mut svg, spec, data, w, h)?;
    Ok(svg.document(w, h))
}

/// Draws a chart into `svg` at the origin, `w` × `h` pixels (dashboards translate it).
pub(crate) fn draw_chart(
    svg: &mut Svg,
    spec: &RenderSpec,
    data: &ChartData,
    w: f64,
    h: f64,
) -> Result<(), RenderError> {
    let user = parse_optional(spec.y_format.as_deref())?;
    let th = Theme::new(w, h);
    let top = draw_title(svg, &th, &spec.title, w);
    let ctx = Ctx {
        spec,
        data,
        user: user.as_ref(),
        th,
        w,
        h,
        top,
    };
    match spec.kind {
        ChartKind::Line | ChartKind::Area | ChartKind::Scatter | ChartKind::Bar => {
            data.check_lengths()?;
            if data.has_no_values() || data.series.is_empty() {
                no_data(svg, &ctx);
            } else if spec.kind == ChartKind::Bar && spec.horizontal {
                draw_hbar(svg, &ctx);
            } else {
                draw_xy(svg, &ctx);
            }
        }
        ChartKind::Pie { donut } => {
            data.check_lengths()?;
            draw_pie(svg, &ctx, donut);
        }
        ChartKind::BigNumber => draw_big_number(svg, &ctx),
        ChartKind::Table | ChartKind::Pivot => {
            data.check_lengths()?;
            draw_table(svg, &ctx);
        }
    }
    Ok(())
}

/// What every drawing function needs.
struct Ctx<'a> {
    spec: &'a RenderSpec,
    data: &'a ChartData,
    user: Option<&'a NumberFormat>,
    th: Theme,
    w: f64,
    h: f64,
    /// Where the area below the title starts.
    top: f64,
}

fn draw_title(svg: &mut Svg, th: &Theme, title: &str, w: f64) -> f64 {
    let title = title.trim();
    if title.is_empty() {
        return th.pad;
    }
    let font = Font::new(th.title, INK).bold();
    let text = truncate_to_width(title, font.size, true, w - 2.0 * th.pad);
    svg.text(th.pad, th.pad + th.title * 0.5, &text, font, Anchor::Start);
    th.pad + th.title * 1.2 + th.pad * 0.6
}

fn no_data(svg: &mut Svg, ctx: &Ctx) {
    let font = Font::new(ctx.th.title * 0.9, MUTED);
    let cy = (ctx.top + ctx.h) / 2.0;
    svg.text(ctx.w / 2.0, cy, "No data", font, Anchor::Middle);
}

// ---------------------------------------------------------------------------------------
// Legends

struct LegendItem {
    color: &'static str,
    label: String,
    /// A figure shown after the label in a muted colour (a pie slice's share).
    value: Option<String>,
    swatch: Swatch,
}

/// The mark beside a legend label, matching how the series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swatch {
    Square,
    Line,
    Dot,
}

impl LegendItem {
    fn new(color: &'static str, label: impl Into<String>, swatch: Swatch) -> Self {
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
fn draw_legend(svg: &mut Svg, items: &[LegendItem], th: &Theme, x: f64, y: f64, width: f64) -> f64 {
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

fn draw_swatch(svg: &mut Svg, item: &LegendItem, th: &Theme, x: f64, cy: f64) {
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

fn legend_height(items: &[LegendItem], th: &Theme, width: f64) -> f64 {
    if items.is_empty() {
        0.0
    } else {
        th.legend * 1.7 * legend_rows(items, th, width, 3).len() as f64
    }
}

// ---------------------------------------------------------------------------------------
// Cartesian charts

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

/// Lines, areas, scatter plots and vertical bars.
fn draw_xy(svg: &mut Svg, ctx: &Ctx) {
    let th = &ctx.th;
    let (w, h) = (ctx.w, ctx.h);
    let kind = ctx.spec.kind;
    let n = ctx.data.x.len();
    let swatch = match kind {
        ChartKind::Line => Swatch::Line,
        ChartKind::Scatter => Swatch::Dot,
        _ => Swatch::Square,
    };
    let legend = series_legend(ctx, swatch);
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
    let axis = value_axis(ctx, est_h, 64.0 * th.s);
    let tick_gap = th.tick * 0.6;
    let px = left + axis.label_width + tick_gap;
    let layout = x_layout(kind, &ctx.data.x);
    let right_pad = th.pad * 1.2;
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

    // Data.
    match kind {
        ChartKind::Bar => draw_vbars(svg, ctx, plot, &yscale),
        ChartKind::Line => draw_lines(svg, ctx, plot, &yscale, &xpos, false),
        ChartKind::Area => draw_lines(svg, ctx, plot, &yscale, &xpos, true),
        _ => draw_points(svg, ctx, &yscale, &xpos),
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

fn draw_vbars(svg: &mut Svg, ctx: &Ctx, plot: Plot, yscale: &Linear) {
    let th = &ctx.th;
    let series = &ctx.data.series;
    let n = ctx.data.x.len().max(1);
    let m = series.len().max(1);
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
                gx + (bar_w + bar_gap) * j as f64 + bar_gap / 2.0
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
                color(j)
            );
            if !stacked && m == 1 {
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
        let c = color(j);
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
                svg.circle(*x, yscale.map(v), r, color(j), &extra);
            }
        }
    }
}

/// Horizontal bars: categories down the left, values along the bottom.
fn draw_hbar(svg: &mut Svg, ctx: &Ctx) {
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

// ---------------------------------------------------------------------------------------
// Pie

/// Most slices a pie shows; the rest are folded into "Other".
pub const MAX_SLICES: usize = 12;

/// Slices (label, value) of a pie: positive values only, largest kept when there are
/// too many, the rest summed as "Other".
pub(crate) fn pie_slices(data: &ChartData) -> Vec<(String, f64)> {
    let labels: Vec<String> = match &data.x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => time_category_labels(t),
        XAxis::Numbers(n) => n.iter().map(|v| format_value(None, *v)).collect(),
    };
    let mut slices: Vec<(String, f64)> = if labels.len() == 1 && data.series.len() > 1 {
        // One row, many measures: each measure is a slice.
        data.series
            .iter()
            .filter_map(|s| s.get(0).map(|v| (s.name.clone(), v)))
            .collect()
    } else if let Some(s) = data.series.first() {
        labels
            .into_iter()
            .enumerate()
            .filter_map(|(i, l)| s.get(i).map(|v| (l, v)))
            .collect()
    } else {
        Vec::new()
    };
    // Negative parts of a whole cannot be drawn as angles.
    slices.retain(|(_, v)| *v > 0.0);
    if slices.len() > MAX_SLICES {
        let mut order: Vec<usize> = (0..slices.len()).collect();
        order.sort_by(|a, b| slices[*b].1.total_cmp(&slices[*a].1));
        let keep: std::collections::HashSet<usize> =
            order[..MAX_SLICES - 1].iter().copied().collect();
        let other: f64 = (0..slices.len())
            .filter(|i| !keep.contains(i))
            .map(|i| slices[i].1)
            .sum();
        let mut kept: Vec<(String, f64)> = slices
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, s)| s)
            .collect();
        kept.push(("Other".to_string(), other));
        return kept;
    }
    slices
}

pub(crate) fn slice_color(i: usize, label: &str, count: usize) -> &'static str {
    if label == "Other" && i + 1 == count {
        OTHER_COLOR
    } else {
        color(i)
    }
}

/// Dark text on light fills, white on dark ones.
fn text_on(fill: &str) -> &'static str {
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

fn draw_pie(svg: &mut Svg, ctx: &Ctx, donut: bool) {
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
    for (mid, sweep, share, c) in label_spots {
        let text = if share >= 0.1 {
            format!("{:.0}%", share * 100.0)
        } else {
            format!("{:.1}%", share * 100.0)
        };
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
        let value = typo(format_value(ctx.user, total));
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

// ---------------------------------------------------------------------------------------
// Big number

/// The big number a chart shows: `data.big_number`, or the last value of the first series
/// with the series as trendline and the value before it as the comparison.
pub(crate) fn big_number_of(data: &ChartData) -> Option<super::model::BigNumber> {
    if let Some(b) = &data.big_number {
        return Some(b.clone());
    }
    let s = data.series.first()?;
    let values: Vec<f64> = s
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let value = *values.last()?;
    Some(super::model::BigNumber {
        value: Some(value),
        trendline: values.clone(),
        previous: values
            .len()
            .checked_sub(2)
            .and_then(|i| values.get(i))
            .copied(),
        comparison_label: None,
    })
}

fn draw_big_number(svg: &mut Svg, ctx: &Ctx) {
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

// ---------------------------------------------------------------------------------------
// Tables

fn draw_table(svg: &mut Svg, ctx: &Ctx) {
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
    // Natural column widths (header and the rows shown) at a given text size.
    let natural = |size: f64| -> Vec<f64> {
        (0..p.columns.len())
            .map(|c| {
                let head_w = text_width(&p.columns[c], size, true);
                (0..visible)
                    .map(|r| text_width(&p.rows[r][c], size, bold_cell(r, c)))
                    .fold(head_w, f64::max)
                    + 1.4 * size
            })
            .collect()
    };
    // Too wide: first a slightly smaller font, then cut text columns (never numbers, which
    // would change their meaning), then drop trailing columns.
    let mut size = base;
    let mut widths = natural(size);
    let sum = |w: &[f64]| w.iter().sum::<f64>();
    if sum(&widths) > avail_w {
        size = base * (avail_w / sum(&widths)).max(0.82);
        widths = natural(size);
    }
    let min_col = size * 5.0;
    while sum(&widths) > avail_w {
        let widest_text = widths
            .iter()
            .copied()
            .enumerate()
            .filter(|(c, wv)| !p.numeric[*c] && *wv > min_col)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, wmax)) = widest_text else { break };
        let excess = sum(&widths) - avail_w;
        widths[i] = (wmax - excess).max(min_col).max(wmax * 0.8);
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
    let body = Font::new(size, INK);
    let head = Font::new(size, INK).bold();
    let index = Font::new(size, INK).bold();
    let cell_pad = size * 0.7;
    let x0 = th.pad;
    let mut y = ctx.top;
    svg.rect(x0, y, avail_w, row_h, HEADER_BG, "");
    let mut x = x0;
    for (c, cw) in widths.iter().enumerate() {
        let text = truncate_to_width(&p.columns[c], head.size, true, cw - 2.0 * cell_pad);
        if p.numeric[c] {
            svg.text(x + cw - cell_pad, y + row_h / 2.0, &text, head, Anchor::End);
        } else {
            svg.text(x + cell_pad, y + row_h / 2.0, &text, head, Anchor::Start);
        }
        x += cw;
    }
    y += row_h;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(N(1.0).to_string(), "1");
        assert_eq!(N(1.256).to_string(), "1.26");
        assert_eq!(N(-0.5).to_string(), "-0.5");
        assert_eq!(N(f64::NAN).to_string(), "0");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn contrast_picks_dark_text_on_yellow() {
        assert_eq!(text_on("#edc948"), INK);
        assert_eq!(text_on("#4e79a7"), "#ffffff");
    }
}
