//! What a picture is made from: the chart kind and options ([`RenderSpec`]) and the data
//! ([`ChartData`]), independent of SQL and of any output format.
//!
//! Callers (the chart tools) turn query results into these types; every renderer in
//! [`crate::render`] reads only these types. Validation that concerns all outputs (size
//! bounds, series lengths) lives here too, so each renderer sees the same rules.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::RenderError;

/// Smallest and largest accepted picture sizes, in pixels.
pub const MIN_WIDTH: u32 = 200;
pub const MAX_WIDTH: u32 = 4000;
pub const MIN_HEIGHT: u32 = 150;
pub const MAX_HEIGHT: u32 = 3000;

/// The kind of picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Line,
    Bar,
    Area,
    Scatter,
    Pie {
        donut: bool,
    },
    BigNumber,
    Table,
    Pivot,
    /// Stages of one series, widest first, centred.
    Funnel,
    /// One series as nested rectangles by size.
    Treemap,
    /// One series as steps from a running total, then the total.
    Waterfall,
    /// The big number's value on a dial over `RenderSpec::range`.
    Gauge,
    /// Series are rows (y values), x positions columns, values colours.
    Heatmap,
    /// Per x position, the series are lower whisker, q1, median, q3, upper whisker.
    BoxPlot,
}

/// How to draw: kind, titles, number format and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderSpec {
    pub title: String,
    pub kind: ChartKind,
    pub x_title: Option<String>,
    pub y_title: Option<String>,
    /// A d3-format specifier for values, e.g. `"$,.0f"`, `",d"`, `".1%"`, `".3s"`.
    pub y_format: Option<String>,
    /// Bars and areas: stack series instead of grouping (bars) or overlapping (areas).
    pub stacked: bool,
    /// Bars: categories on the vertical axis, bars growing to the right.
    pub horizontal: bool,
    /// Draw a legend when there is more than one series (and for pies).
    pub show_legend: bool,
    pub width: u32,
    pub height: u32,
    /// Gauges: the dial's start and end (no end: a round number above the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<(f64, Option<f64>)>,
    /// Mixed charts: the series of the last metrics go on a right axis of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<SecondaryAxis>,
}

/// The right axis of a mixed chart: which series it holds and how they are drawn. The
/// series are metric by metric, each metric with the same number of series (one per group),
/// so the last `metrics` of `of` metrics are the last `metrics / of` of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondaryAxis {
    pub metrics: usize,
    pub of: usize,
    /// Line, Bar or Area.
    pub kind: ChartKind,
    pub y_title: Option<String>,
    pub y_format: Option<String>,
}

impl RenderSpec {
    /// A mixed chart as two charts over the same x: the left axis' series (as drawn on the
    /// left) and the right axis' (kind, title and format of the right axis). `None` for
    /// any other chart.
    pub fn split_axes(&self, data: &ChartData) -> Option<[(RenderSpec, ChartData); 2]> {
        let sec = self.secondary.as_ref()?;
        let first = sec.first(data.series.len());
        let part = |series: &[Series]| ChartData {
            series: series.to_vec(),
            ..data.clone()
        };
        let left = RenderSpec {
            secondary: None,
            ..self.clone()
        };
        let right = RenderSpec {
            kind: sec.kind,
            y_title: sec.y_title.clone(),
            y_format: sec.y_format.clone(),
            stacked: false,
            secondary: None,
            ..self.clone()
        };
        Some([
            (left, part(&data.series[..first])),
            (right, part(&data.series[first..])),
        ])
    }
}

impl SecondaryAxis {
    /// The index of the first series on this axis, among `series` series.
    pub fn first(&self, series: usize) -> usize {
        if self.of == 0 {
            return series;
        }
        series - (series / self.of) * self.metrics.min(self.of)
    }
}

impl RenderSpec {
    /// A spec with the usual defaults: 800×600, legend shown, nothing stacked.
    pub fn new(title: impl Into<String>, kind: ChartKind) -> Self {
        Self {
            title: title.into(),
            kind,
            x_title: None,
            y_title: None,
            y_format: None,
            stacked: false,
            horizontal: false,
            show_legend: true,
            width: 800,
            height: 600,
            range: None,
            secondary: None,
        }
    }

    /// Checks the picture size against [`MIN_WIDTH`]..=[`MAX_WIDTH`] and
    /// [`MIN_HEIGHT`]..=[`MAX_HEIGHT`].
    pub fn check_size(&self) -> Result<(), RenderError> {
        check_size(self.width, self.height)
    }
}

pub(crate) fn check_size(width: u32, height: u32) -> Result<(), RenderError> {
    if !(MIN_WIDTH..=MAX_WIDTH).contains(&width) {
        return Err(RenderError::Width {
            value: width,
            min: MIN_WIDTH,
            max: MAX_WIDTH,
        });
    }
    if !(MIN_HEIGHT..=MAX_HEIGHT).contains(&height) {
        return Err(RenderError::Height {
            value: height,
            min: MIN_HEIGHT,
            max: MAX_HEIGHT,
        });
    }
    Ok(())
}

/// One named series of values, aligned with the x axis; `None` or NaN is a gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }

    /// The value at `i` if it is present and finite.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.values
            .get(i)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    }
}

/// The x axis: categories (in display order), instants, or numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XAxis {
    Categories(Vec<String>),
    Time(Vec<NaiveDateTime>),
    Numbers(Vec<f64>),
}

impl XAxis {
    pub fn len(&self) -> usize {
        match self {
            XAxis::Categories(v) => v.len(),
            XAxis::Time(v) => v.len(),
            XAxis::Numbers(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A single headline value with its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BigNumber {
    /// The headline value; `None` draws "No data".
    pub value: Option<f64>,
    /// Recent values, oldest first, drawn as a small trendline.
    #[serde(default)]
    pub trendline: Vec<f64>,
    /// The value to compare with (e.g. the previous period); drives the delta and arrow.
    pub previous: Option<f64>,
    /// What `previous` is, e.g. "vs last month".
    pub comparison_label: Option<String>,
}

/// Rows for tables and pivots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableData {
    pub columns: Vec<String>,
    /// Cells are raw JSON values (numbers are formatted by the renderer) or strings that
    /// are already formatted (shown as they are).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// How many leading columns label the rows (pivot row headers); 0 for a plain table.
    #[serde(default)]
    pub index_columns: usize,
}

/// Everything a chart shows. Which parts are read depends on [`ChartKind`]:
/// cartesian kinds and pies read `x` and `series`; big numbers read `big_number` (or fall
/// back to the last value of the first series); tables and pivots read `table` (or fall
/// back to `x` and `series` as columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub x: XAxis,
    pub series: Vec<Series>,
    /// Big number: value, optional trendline points, optional comparison (previous value).
    pub big_number: Option<BigNumber>,
    /// Table and pivot: column headers and rows of cells, already formatted or raw JSON values.
    pub table: Option<TableData>,
}

impl ChartData {
    /// Data for cartesian charts and pies.
    pub fn series(x: XAxis, series: Vec<Series>) -> Self {
        Self {
            x,
            series,
            big_number: None,
            table: None,
        }
    }

    /// Data for a big number.
    pub fn big_number(big_number: BigNumber) -> Self {
        Self {
            x: XAxis::Categories(Vec::new()),
            series: Vec::new(),
            big_number: Some(big_number),
            table: None,
        }
    }

    /// Data for a table or pivot.
    pub fn table(table: TableData) -> Self {
        Self {
            x: XAxis::Categories(Vec::new()),
            series: Vec::new(),
            big_number: None,
            table: Some(table),
        }
    }

    /// Every series must have one value per x position: a mismatch is a caller bug that
    /// would otherwise draw points at the wrong place.
    pub fn check_lengths(&self) -> Result<(), RenderError> {
        let expected = self.x.len();
        for s in &self.series {
            if s.values.len() != expected {
                return Err(RenderError::SeriesLength {
                    series: s.name.clone(),
                    got: s.values.len(),
                    expected,
                });
            }
        }
        Ok(())
    }

    /// True when no series has a single finite value.
    pub fn has_no_values(&self) -> bool {
        self.x.is_empty()
            || self
                .series
                .iter()
                .all(|s| s.values.iter().all(|v| !v.is_some_and(f64::is_finite)))
    }
}
