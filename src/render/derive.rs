//! What every picture format draws from: the colours of series, and the layouts derived
//! from a chart's data (pie slices, waterfall steps, treemap tiles, the gauge's range, the
//! big number, value ranges). SVG, ASCII, Vega-Lite and the table format all read them here,
//! so each shows the same picture, and no format reaches into another for them.

use super::format::{format_delta, format_value, parse_optional};
use super::model::{BigNumber, ChartData, RenderSpec, XAxis};
use super::scale::{nice_ticks, time_category_labels};

/// Tableau 10 without its grey, then lighter companions; grey is kept for "Other".
pub const PALETTE: [&str; 17] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#a0cbe8", "#ffbe7d", "#8cd17d", "#86bcb6", "#f1ce63", "#d4a6c8", "#fabfd2",
    "#d7b5a6",
];
pub const OTHER_COLOR: &str = "#bab0ac";
/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

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

/// The big number a chart shows: `data.big_number`, or the last value of the first series
/// with the series as trendline and the value before it as the comparison.
pub(crate) fn big_number_of(data: &ChartData) -> Option<BigNumber> {
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
    Some(BigNumber {
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

/// A big number as text, as the Vega-Lite spec and the interactive views show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// The value, formatted; `None` when there is no (finite) value.
    pub value: Option<String>,
    /// The change from the comparison value: arrow and delta, e.g. "▲ +12.3%".
    pub change: Option<String>,
    /// What the change is against, e.g. "vs previous month ($1,200)".
    pub against: Option<String>,
    /// "up", "down" or "flat".
    pub direction: &'static str,
    /// The trendline's finite values, oldest first.
    pub trend: Vec<f64>,
}

/// The big number of a chart as text, in the chart's number format.
pub fn headline(spec: &RenderSpec, data: &ChartData) -> Headline {
    let user = parse_optional(spec.y_format.as_deref()).ok().flatten();
    let b = big_number_of(data);
    let value = b.as_ref().and_then(|b| b.value).filter(|v| v.is_finite());
    let previous = b
        .as_ref()
        .and_then(|b| b.previous)
        .filter(|v| v.is_finite());
    let mut out = Headline {
        value: value.map(|v| format_value(user.as_ref(), v)),
        change: None,
        against: None,
        direction: "flat",
        trend: b
            .as_ref()
            .map(|b| {
                b.trendline
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if let (Some(v), Some(p)) = (value, previous) {
        let (arrow, direction) = if v > p {
            ("▲", "up")
        } else if v < p {
            ("▼", "down")
        } else {
            ("■", "flat")
        };
        out.direction = direction;
        out.change = Some(format!("{arrow} {}", format_delta(user.as_ref(), v, p)));
        out.against = Some(
            match b.as_ref().and_then(|b| b.comparison_label.as_deref()) {
                Some(l) => format!("{l} ({})", format_value(user.as_ref(), p)),
                None => format!("vs {}", format_value(user.as_ref(), p)),
            },
        );
    }
    out
}

/// The x labels of a one-series chart.
pub(crate) fn labels_of(data: &ChartData) -> Vec<String> {
    match &data.x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => time_category_labels(t),
        XAxis::Numbers(n) => n.iter().map(|v| format_value(None, *v)).collect(),
    }
}

/// (label, value) of the first series, values present only.
pub(crate) fn items_of(data: &ChartData) -> Vec<(String, f64)> {
    let Some(s) = data.series.first() else {
        return Vec::new();
    };
    labels_of(data)
        .into_iter()
        .enumerate()
        .filter_map(|(i, l)| s.get(i).map(|v| (l, v)))
        .collect()
}

/// One step of a waterfall: label, start and end of the bar, and whether it is the total.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub label: String,
    pub start: f64,
    pub end: f64,
    pub total: bool,
}

/// The steps of a waterfall: each value moves the running total, then a "Total" bar.
pub(crate) fn waterfall_steps(data: &ChartData) -> Vec<Step> {
    let mut run = 0.0;
    let mut steps: Vec<Step> = items_of(data)
        .into_iter()
        .map(|(label, v)| {
            let s = Step {
                label,
                start: run,
                end: run + v,
                total: false,
            };
            run += v;
            s
        })
        .collect();
    if !steps.is_empty() {
        steps.push(Step {
            label: "Total".into(),
            start: 0.0,
            end: run,
            total: true,
        });
    }
    steps
}

/// The gauge's value and dial range (min, max): the max defaults to a round number at or
/// above the value.
pub(crate) fn gauge_of(spec: &RenderSpec, data: &ChartData) -> Option<(f64, f64, f64)> {
    let value = big_number_of(data)?.value?;
    let (lo, hi) = spec.range.unwrap_or((0.0, None));
    let hi = match hi {
        Some(h) => h,
        None => {
            let t = nice_ticks(lo, value.max(lo), 5, None);
            if t.hi > lo { t.hi } else { lo + 1.0 }
        }
    };
    Some((value, lo, hi))
}

/// A rectangle of a treemap, in a unit square scaled to the caller's area.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tile {
    pub index: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Squarified treemap layout (Bruls, Huizing, van Wijk) of positive `values`, largest
/// first, in the rectangle `w` × `h`.
pub(crate) fn treemap_tiles(values: &[f64], w: f64, h: f64) -> Vec<Tile> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|a, b| values[*b].total_cmp(&values[*a]));
    let total: f64 = order.iter().map(|&i| values[i]).sum();
    let mut out = Vec::new();
    if total <= 0.0 || w <= 0.0 || h <= 0.0 {
        return out;
    }
    let scale = w * h / total;
    let (mut x, mut y, mut rw, mut rh) = (0.0, 0.0, w, h);
    let mut rest: &[usize] = &order;
    while !rest.is_empty() {
        let side = rw.min(rh);
        let worst = |row: &[usize]| -> f64 {
            let areas: Vec<f64> = row.iter().map(|&i| values[i] * scale).collect();
            let sum: f64 = areas.iter().sum();
            let (mx, mn) = (
                areas.iter().copied().fold(0.0, f64::max),
                areas.iter().copied().fold(f64::INFINITY, f64::min),
            );
            (side * side * mx / (sum * sum)).max(sum * sum / (side * side * mn))
        };
        let mut n = 1;
        while n < rest.len() && worst(&rest[..n + 1]) <= worst(&rest[..n]) {
            n += 1;
        }
        let row = &rest[..n];
        let sum: f64 = row.iter().map(|&i| values[i] * scale).sum();
        if rw >= rh {
            // A column on the left.
            let cw = sum / rh;
            let mut yy = y;
            for &i in row {
                let th = values[i] * scale / cw;
                out.push(Tile {
                    index: i,
                    x,
                    y: yy,
                    w: cw,
                    h: th,
                });
                yy += th;
            }
            x += cw;
            rw -= cw;
        } else {
            // A row on top.
            let rh2 = sum / rw;
            let mut xx = x;
            for &i in row {
                let tw = values[i] * scale / rh2;
                out.push(Tile {
                    index: i,
                    x: xx,
                    y,
                    w: tw,
                    h: rh2,
                });
                xx += tw;
            }
            y += rh2;
            rh -= rh2;
        }
        rest = &rest[n..];
    }
    out
}

/// The heatmap's colour of `t` in 0..=1: light to dark blue.
pub(crate) fn heat_color(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let (a, b) = ((0xf1, 0xf5, 0xfb), (0x1e, 0x4e, 0x8c));
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// The smallest and largest value of all series.
pub(crate) fn value_range(data: &ChartData) -> Option<(f64, f64)> {
    let mut it = data
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| v.is_finite())
        .peekable();
    it.peek()?;
    Some(it.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    }))
}
