//! Every chart kind drawn as SVG. This is the one drawing code path: PNGs and dashboards
//! rasterise what is written here, so layout decisions (tick density, label rotation,
//! legend placement, what to do with crowded or empty data) are all made in this module.
//!
//! Text is measured with the bundled font ([`super::fonts`]) before it is placed, so labels
//! are truncated, rotated or thinned instead of overlapping.
//!
//! What belongs where: this file holds the frame every chart shares (palette, sizes, the
//! SVG writer, the title and the dispatch by chart kind); each chart family has a file of
//! its own ([`xy`] cartesian charts, [`pie`], [`big_number`], [`table`] tables and pivots,
//! [`shapes`] funnels, treemaps, waterfalls, gauges, heatmaps and box plots),
//! and [`legend`] the legends the cartesian charts and pies share.

mod big_number;
mod legend;
mod pie;
mod shapes;
mod table;
mod xy;

use std::fmt::{self, Write as _};

use super::RenderError;
use super::fonts::{self, CAP_MIDDLE, text_width, truncate_to_width};
use super::format::{NumberFormat, parse_optional};
use super::model::{ChartData, ChartKind, RenderSpec};

pub use super::derive::{MAX_SLICES, OTHER_COLOR, PALETTE, color};
use big_number::draw_big_number;
use pie::draw_pie;
use table::draw_table;
use xy::{draw_hbar, draw_xy};

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
        first_color: 0,
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
        ChartKind::Gauge => shapes::draw_gauge(svg, &ctx),
        kind => {
            data.check_lengths()?;
            match kind {
                ChartKind::Funnel => shapes::draw_funnel(svg, &ctx),
                ChartKind::Treemap => shapes::draw_treemap(svg, &ctx),
                ChartKind::Waterfall => shapes::draw_waterfall(svg, &ctx),
                ChartKind::Heatmap => shapes::draw_heatmap(svg, &ctx),
                _ => shapes::draw_box_plot(svg, &ctx),
            }
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
    /// The palette index of the first series (a mixed chart's right axis continues the
    /// left axis' colours).
    first_color: usize,
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

#[cfg(test)]
mod tests {
    use super::pie::text_on;
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
