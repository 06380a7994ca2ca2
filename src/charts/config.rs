//! The typed chart config: a union on `chart_type` (`xy`, `table`, `pie`, `big_number`,
//! `pivot_table`, `funnel`, `treemap`, `waterfall`, `gauge`, `heatmap`, `histogram`,
//! `box_plot`), stored as JSON in `charts.config` and sent by assistants to
//! `generate_chart`, `update_chart` and the preview tools.
//!
//! [`ChartConfig::parse`] is the only way in: it rejects unknown fields (naming the closest
//! known one), checks options against their allowed values, and [`ChartConfig::check`]
//! checks column and metric names against the dataset, suggesting the closest valid name.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::datasets::{DatasetColumn, DatasetMetric};
use crate::error::{ToolError, closest};
use crate::query::builder::{AGGREGATES, GRAINS, Metric, OPERATORS, QueryFilter, TimeRange};

/// The chart types, as `chart_type` spells them.
pub const CHART_TYPES: &[&str] = &[
    "xy",
    "table",
    "pie",
    "big_number",
    "pivot_table",
    "funnel",
    "treemap",
    "waterfall",
    "gauge",
    "heatmap",
    "histogram",
    "box_plot",
    "mixed_timeseries",
];
/// Kinds of `xy` charts.
pub const XY_KINDS: &[&str] = &["line", "bar", "area", "scatter"];
/// Kinds of each axis' metrics in a `mixed_timeseries` chart.
pub const MIXED_KINDS: &[&str] = &["line", "bar", "area"];
/// The stored `chart_type` of a Superset chart of a type vizier does not draw: kept (with
/// its `viz_type` and `params`) so that it exports back, refused for data and pictures.
pub const UNSUPPORTED: &str = "unsupported";
/// Most rows a chart query may return.
pub const MAX_ROW_LIMIT: u64 = 10_000;

/// A chart config: what to compute from a dataset and how to draw it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "chart_type", rename_all = "snake_case")]
pub enum ChartConfig {
    Xy(XyConfig),
    Table(TableConfig),
    Pie(PieConfig),
    BigNumber(BigNumberConfig),
    PivotTable(PivotConfig),
    Funnel(ShareConfig),
    Treemap(ShareConfig),
    Waterfall(WaterfallConfig),
    Gauge(GaugeConfig),
    Heatmap(HeatmapConfig),
    Histogram(HistogramConfig),
    BoxPlot(BoxPlotConfig),
    MixedTimeseries(MixedConfig),
}

/// Line, bar, area and scatter charts: one or more metrics over an x column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XyConfig {
    /// line (default), bar, area or scatter.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The x column; default the dataset's main time column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// One or more metrics drawn on the y axis.
    pub metrics: Vec<Metric>,
    /// Split each metric into one series per value of these columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Bucket a time x column: hour day week month quarter year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<String>,
    /// Stack bars and areas.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stacked: bool,
    /// vertical (default) or horizontal (bars grow to the right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_axis_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis_title: Option<String>,
    /// A d3-format for y values, e.g. "$,.0f", ",d", ".1%", ".3s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis_format: Option<String>,
    /// Draw a legend (default true; shown when there is more than one series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_legend: Option<bool>,
    /// Sort categories by the first metric, largest first (category x only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub order_desc: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most rows to query (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

/// Two groups of metrics over one x column, each on a y axis of its own (left and right)
/// and drawn as line, bar or area: e.g. revenue as bars beside order count as a line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MixedConfig {
    /// The x column; default the dataset's main time column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Metrics on the left y axis.
    pub metrics: Vec<Metric>,
    /// line (default), bar or area: how the left metrics are drawn.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Metrics on the right y axis.
    pub secondary_metrics: Vec<Metric>,
    /// line (default), bar or area: how the right metrics are drawn.
    #[serde(default = "default_kind")]
    pub secondary_kind: String,
    /// Split each metric into one series per value of these columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Bucket a time x column: hour day week month quarter year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_axis_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_y_axis_title: Option<String>,
    /// A d3-format for the left axis' values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis_format: Option<String>,
    /// A d3-format for the right axis' values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_y_axis_format: Option<String>,
    /// Draw a legend (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_legend: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most rows to query (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

impl MixedConfig {
    /// The same query as an `xy` chart of all metrics, left ones first: the two axes share
    /// one query and one shaping; only the picture tells them apart.
    pub fn as_xy(&self) -> XyConfig {
        XyConfig {
            kind: "line".into(),
            x: self.x.clone(),
            metrics: self
                .metrics
                .iter()
                .chain(&self.secondary_metrics)
                .cloned()
                .collect(),
            group_by: self.group_by.clone(),
            time_grain: self.time_grain.clone(),
            stacked: false,
            orientation: None,
            x_axis_title: self.x_axis_title.clone(),
            y_axis_title: self.y_axis_title.clone(),
            y_axis_format: self.y_axis_format.clone(),
            show_legend: self.show_legend,
            order_desc: false,
            filters: self.filters.clone(),
            time_range: self.time_range.clone(),
            row_limit: self.row_limit,
        }
    }
}

/// A table: aggregated (group_by + metrics) or raw rows (columns).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// aggregate (default) or raw.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// aggregate: the columns to group by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// aggregate: the metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// aggregate: metrics shown as their share of the column total (`%label`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percent_metrics: Vec<Metric>,
    /// raw: the columns to show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// A column or metric label to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub order_desc: bool,
    /// A d3-format for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most rows (default 1000 for tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

/// A pie (or donut): one metric split by one dimension.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PieConfig {
    /// The column whose values are the slices.
    pub dimension: String,
    pub metric: Metric,
    /// Draw a ring instead of a full pie.
    #[serde(default, skip_serializing_if = "is_false")]
    pub donut: bool,
    /// Most slices; the rest are summed into "Other" (default 12, 2..=50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_slices: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_legend: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// One headline number, optionally with its trend over time and the change from the
/// previous period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BigNumberConfig {
    pub metric: Metric,
    /// The time column for the trendline and comparison; default the dataset's main one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// With a grain the headline is the latest period's value; without, the total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_trendline: bool,
    /// Compare the latest period with the one before (needs time_grain).
    #[serde(default, skip_serializing_if = "is_false")]
    pub compare_to_previous_period: bool,
    /// A d3-format for the number, e.g. "$,.0f".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// A pivot table: metrics by row columns (down) and column columns (across).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PivotConfig {
    /// Columns whose values label the rows.
    pub rows: Vec<String>,
    /// Columns whose values become column headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    pub metrics: Vec<Metric>,
    /// How totals combine cells: sum (default), mean, min, max, count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_function: Option<String>,
    /// Add a total row and a total column.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_totals: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most grouped rows to query (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

/// A funnel (stages, widest first) or a treemap (tiles by size): one metric split by one
/// dimension.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShareConfig {
    pub dimension: String,
    pub metric: Metric,
    /// Most stages or tiles; the rest are summed into "Other" (default 12, 2..=50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// A waterfall: each x value's metric as a step up or down from the running total, then
/// the total.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WaterfallConfig {
    /// The steps, in their order (a time column needs time_grain).
    pub x: String,
    pub metric: Metric,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// A gauge: one metric's total on a dial from min to max.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GaugeConfig {
    pub metric: Metric,
    /// The dial's start (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The dial's end; default a round number above the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// A heatmap: one metric over x by y, as coloured cells.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeatmapConfig {
    pub x: String,
    pub y: String,
    pub metric: Metric,
    /// Bucket a time x column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
}

/// A histogram: how a numeric column's values spread over equal bins.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistogramConfig {
    pub column: String,
    /// Number of bins (default 10, 2..=100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most values read (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

/// A box plot: quartiles, median and whiskers (1.5 × IQR) of a numeric column, per group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BoxPlotConfig {
    pub column: String,
    /// One box per value of this column; one box without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Most values read (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_limit: Option<u64>,
}

/// Functions that combine pivot cells into totals.
pub const PIVOT_AGGREGATES: &[&str] = &["sum", "mean", "min", "max", "count"];

fn default_kind() -> String {
    "line".into()
}

fn default_mode() -> String {
    "aggregate".into()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Deserialize one variant, turning serde's messages into errors that name the field and
/// the closest allowed one.
fn variant<T: DeserializeOwned + JsonSchema>(chart_type: &str, v: Value) -> Result<T, ToolError> {
    let allowed: Vec<String> = {
        let schema = schemars::schema_for!(T);
        schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        if let Some(field) = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            return ToolError::invalid_field(
                &format!("config.{field}"),
                format!(
                    "'{field}' is not a field of {chart_type} charts; fields: chart_type, {}.",
                    allowed.join(", ")
                ),
                &allowed,
                Some(field),
            );
        }
        if let Some(field) = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            return ToolError::invalid(format!(
                "config.{field}: {chart_type} charts need '{field}'. See get_chart_type_schema(chart_type=\"{chart_type}\")."
            ))
            .with_details(json!({"field": format!("config.{field}")}));
        }
        if msg.contains("untagged enum Metric") {
            return ToolError::invalid(
                "config: a metric is {\"saved_metric\": name}, {\"column\": c, \"aggregate\": \"SUM\", \"label\": optional} \
                 or {\"sql\": expression, \"label\": name}.",
            )
            .with_details(json!({"field": "config.metrics", "aggregates": AGGREGATES}));
        }
        ToolError::invalid(format!("config: {msg}. See get_chart_type_schema(chart_type=\"{chart_type}\")."))
            .with_details(json!({"field": "config"}))
    })
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), ToolError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ToolError::invalid_field(
        field,
        format!("'{value}' is not one of {}.", allowed.join(", ")),
        allowed,
        Some(value),
    ))
}

fn in_range(field: &str, value: Option<u64>, lo: u64, hi: u64) -> Result<(), ToolError> {
    match value {
        Some(v) if !(lo..=hi).contains(&v) => Err(ToolError::invalid(format!(
            "{field}: {v} is out of range {lo}..={hi}."
        ))
        .with_details(json!({"field": field, "min": lo, "max": hi}))),
        _ => Ok(()),
    }
}

fn check_format(field: &str, f: &Option<String>) -> Result<(), ToolError> {
    if let Some(spec) = f {
        crate::render::format::NumberFormat::parse(spec).map_err(|e| {
            ToolError::invalid(format!("{field}: {e}")).with_details(json!({"field": field}))
        })?;
    }
    Ok(())
}

impl ChartConfig {
    /// Parse and check a config's shape and options (not yet its columns; see [`check`]).
    ///
    /// [`check`]: ChartConfig::check
    pub fn parse(v: &Value) -> Result<ChartConfig, ToolError> {
        let Some(obj) = v.as_object() else {
            return Err(ToolError::invalid(
                "config: expected an object with chart_type and the chart's fields.",
            )
            .with_details(json!({"field": "config"})));
        };
        let Some(t) = obj.get("chart_type").and_then(Value::as_str) else {
            return Err(ToolError::invalid_field(
                "config.chart_type",
                format!("is required: one of {}.", CHART_TYPES.join(", ")),
                CHART_TYPES,
                None,
            ));
        };
        if t == UNSUPPORTED {
            let viz = obj.get("viz_type").and_then(Value::as_str).unwrap_or("?");
            return Err(ToolError::invalid(format!(
                "This chart was imported from Superset with viz_type '{viz}', which vizier does not draw, so it has no data or picture here; its Superset params are kept (get_chart_info) and go back out with export_dashboard. Recreate it with generate_chart as one of: {}.",
                CHART_TYPES.join(", ")
            ))
            .with_details(json!({"field": "config.chart_type", "viz_type": viz, "allowed": CHART_TYPES})));
        }
        if XY_KINDS.contains(&t.trim_end_matches('s')) {
            return Err(ToolError::invalid_field(
                "config.chart_type",
                format!(
                    "{t} charts are chart_type \"xy\" with kind \"{}\".",
                    t.trim_end_matches('s')
                ),
                CHART_TYPES,
                Some("xy"),
            ));
        }
        one_of("config.chart_type", t, CHART_TYPES)?;
        let mut rest = obj.clone();
        rest.remove("chart_type");
        let rest = Value::Object(rest);
        let config = match t {
            "xy" => ChartConfig::Xy(variant(t, rest)?),
            "table" => ChartConfig::Table(variant(t, rest)?),
            "pie" => ChartConfig::Pie(variant(t, rest)?),
            "big_number" => ChartConfig::BigNumber(variant(t, rest)?),
            "funnel" => ChartConfig::Funnel(variant(t, rest)?),
            "treemap" => ChartConfig::Treemap(variant(t, rest)?),
            "waterfall" => ChartConfig::Waterfall(variant(t, rest)?),
            "gauge" => ChartConfig::Gauge(variant(t, rest)?),
            "heatmap" => ChartConfig::Heatmap(variant(t, rest)?),
            "histogram" => ChartConfig::Histogram(variant(t, rest)?),
            "box_plot" => ChartConfig::BoxPlot(variant(t, rest)?),
            "mixed_timeseries" => ChartConfig::MixedTimeseries(variant(t, rest)?),
            _ => ChartConfig::PivotTable(variant(t, rest)?),
        };
        config.check_options()?;
        Ok(config)
    }

    pub fn chart_type(&self) -> &'static str {
        match self {
            ChartConfig::Xy(_) => "xy",
            ChartConfig::Table(_) => "table",
            ChartConfig::Pie(_) => "pie",
            ChartConfig::BigNumber(_) => "big_number",
            ChartConfig::PivotTable(_) => "pivot_table",
            ChartConfig::Funnel(_) => "funnel",
            ChartConfig::Treemap(_) => "treemap",
            ChartConfig::Waterfall(_) => "waterfall",
            ChartConfig::Gauge(_) => "gauge",
            ChartConfig::Heatmap(_) => "heatmap",
            ChartConfig::Histogram(_) => "histogram",
            ChartConfig::BoxPlot(_) => "box_plot",
            ChartConfig::MixedTimeseries(_) => "mixed_timeseries",
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn filters(&self) -> &[QueryFilter] {
        match self {
            ChartConfig::Xy(c) => &c.filters,
            ChartConfig::Table(c) => &c.filters,
            ChartConfig::Pie(c) => &c.filters,
            ChartConfig::BigNumber(c) => &c.filters,
            ChartConfig::PivotTable(c) => &c.filters,
            ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => &c.filters,
            ChartConfig::Waterfall(c) => &c.filters,
            ChartConfig::Gauge(c) => &c.filters,
            ChartConfig::Heatmap(c) => &c.filters,
            ChartConfig::Histogram(c) => &c.filters,
            ChartConfig::BoxPlot(c) => &c.filters,
            ChartConfig::MixedTimeseries(c) => &c.filters,
        }
    }

    fn time_range(&self) -> Option<&TimeRange> {
        match self {
            ChartConfig::Xy(c) => c.time_range.as_ref(),
            ChartConfig::Table(c) => c.time_range.as_ref(),
            ChartConfig::Pie(c) => c.time_range.as_ref(),
            ChartConfig::BigNumber(c) => c.time_range.as_ref(),
            ChartConfig::PivotTable(c) => c.time_range.as_ref(),
            ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => c.time_range.as_ref(),
            ChartConfig::Waterfall(c) => c.time_range.as_ref(),
            ChartConfig::Gauge(c) => c.time_range.as_ref(),
            ChartConfig::Heatmap(c) => c.time_range.as_ref(),
            ChartConfig::Histogram(c) => c.time_range.as_ref(),
            ChartConfig::BoxPlot(c) => c.time_range.as_ref(),
            ChartConfig::MixedTimeseries(c) => c.time_range.as_ref(),
        }
    }

    /// The config's filters, to add a dashboard's native filter conditions to.
    pub fn filters_mut(&mut self) -> &mut Vec<QueryFilter> {
        match self {
            ChartConfig::Xy(c) => &mut c.filters,
            ChartConfig::Table(c) => &mut c.filters,
            ChartConfig::Pie(c) => &mut c.filters,
            ChartConfig::BigNumber(c) => &mut c.filters,
            ChartConfig::PivotTable(c) => &mut c.filters,
            ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => &mut c.filters,
            ChartConfig::Waterfall(c) => &mut c.filters,
            ChartConfig::Gauge(c) => &mut c.filters,
            ChartConfig::Heatmap(c) => &mut c.filters,
            ChartConfig::Histogram(c) => &mut c.filters,
            ChartConfig::BoxPlot(c) => &mut c.filters,
            ChartConfig::MixedTimeseries(c) => &mut c.filters,
        }
    }

    fn check_options(&self) -> Result<(), ToolError> {
        for f in self.filters() {
            one_of("config.filters.opr", &f.opr, OPERATORS)?;
            if is_sql_filter(f) && !matches!(f.value, Some(Value::String(_))) {
                return Err(ToolError::invalid(format!(
                    "config.filters: '{}' takes a SQL condition as a string value.",
                    f.opr
                ))
                .with_details(json!({"field": "config.filters.value"})));
            }
        }
        if let Some(r) = self.time_range() {
            r.bounds(chrono::Utc::now().naive_utc())
                .map_err(|e| e.with_details(json!({"field": "config.time_range"})))?;
        }
        let grain = |g: &Option<String>| match g {
            Some(g) => one_of("config.time_grain", g, GRAINS),
            None => Ok(()),
        };
        match self {
            ChartConfig::Xy(c) => {
                one_of("config.kind", &c.kind, XY_KINDS)?;
                grain(&c.time_grain)?;
                if let Some(o) = &c.orientation {
                    one_of("config.orientation", o, &["vertical", "horizontal"])?;
                }
                if c.metrics.is_empty() {
                    return Err(
                        ToolError::invalid("config.metrics: give at least one metric.")
                            .with_details(json!({"field": "config.metrics"})),
                    );
                }
                check_format("config.y_axis_format", &c.y_axis_format)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
            ChartConfig::MixedTimeseries(c) => {
                one_of("config.kind", &c.kind, MIXED_KINDS)?;
                one_of("config.secondary_kind", &c.secondary_kind, MIXED_KINDS)?;
                grain(&c.time_grain)?;
                for (field, metrics, axis) in [
                    ("config.metrics", &c.metrics, "left"),
                    ("config.secondary_metrics", &c.secondary_metrics, "right"),
                ] {
                    if metrics.is_empty() {
                        return Err(ToolError::invalid(format!(
                            "{field}: give at least one metric for the {axis} axis (a chart with one axis is chart_type \"xy\")."
                        ))
                        .with_details(json!({"field": field})));
                    }
                }
                check_format("config.y_axis_format", &c.y_axis_format)?;
                check_format("config.secondary_y_axis_format", &c.secondary_y_axis_format)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
            ChartConfig::Table(c) => {
                one_of("config.mode", &c.mode, &["aggregate", "raw"])?;
                match c.mode.as_str() {
                    "raw" if c.columns.is_empty() => {
                        return Err(ToolError::invalid(
                            "config.columns: a raw table needs the columns to show.",
                        )
                        .with_details(json!({"field": "config.columns"})));
                    }
                    "raw"
                        if !c.metrics.is_empty()
                            || !c.group_by.is_empty()
                            || !c.percent_metrics.is_empty() =>
                    {
                        return Err(ToolError::invalid(
                            "config: a raw table shows columns only; use mode \"aggregate\" for group_by and metrics.",
                        )
                        .with_details(json!({"field": "config.mode"})));
                    }
                    "aggregate"
                        if c.metrics.is_empty()
                            && c.percent_metrics.is_empty()
                            && c.group_by.is_empty() =>
                    {
                        return Err(ToolError::invalid(
                            "config: an aggregate table needs metrics, group_by or both.",
                        )
                        .with_details(json!({"field": "config.metrics"})));
                    }
                    "aggregate" if !c.columns.is_empty() => {
                        return Err(ToolError::invalid(
                            "config.columns: an aggregate table groups by group_by; use mode \"raw\" to list columns.",
                        )
                        .with_details(json!({"field": "config.columns"})));
                    }
                    _ => {}
                }
                check_format("config.format", &c.format)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
            ChartConfig::Pie(c) => {
                check_format("config.format", &c.format)?;
                in_range("config.max_slices", c.max_slices, 2, 50)?;
            }
            ChartConfig::BigNumber(c) => {
                grain(&c.time_grain)?;
                if (c.show_trendline || c.compare_to_previous_period) && c.time_grain.is_none() {
                    return Err(ToolError::invalid(
                        "config.time_grain: a trendline or a comparison with the previous period needs a time_grain (e.g. \"month\").",
                    )
                    .with_details(json!({"field": "config.time_grain", "allowed": GRAINS})));
                }
                check_format("config.format", &c.format)?;
            }
            ChartConfig::PivotTable(c) => {
                if c.rows.is_empty() {
                    return Err(ToolError::invalid(
                        "config.rows: a pivot table needs at least one row column.",
                    )
                    .with_details(json!({"field": "config.rows"})));
                }
                if c.metrics.is_empty() {
                    return Err(
                        ToolError::invalid("config.metrics: give at least one metric.")
                            .with_details(json!({"field": "config.metrics"})),
                    );
                }
                if let Some(a) = &c.aggregate_function {
                    one_of("config.aggregate_function", a, PIVOT_AGGREGATES)?;
                }
                check_format("config.format", &c.format)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
            ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => {
                check_format("config.format", &c.format)?;
                in_range("config.max_items", c.max_items, 2, 50)?;
            }
            ChartConfig::Waterfall(c) => {
                grain(&c.time_grain)?;
                check_format("config.format", &c.format)?;
            }
            ChartConfig::Gauge(c) => {
                check_format("config.format", &c.format)?;
                for (field, v) in [("config.min", c.min), ("config.max", c.max)] {
                    if v.is_some_and(|v| !v.is_finite()) {
                        return Err(
                            ToolError::invalid(format!("{field}: give a finite number."))
                                .with_details(json!({"field": field})),
                        );
                    }
                }
                if let (Some(lo), Some(hi)) = (c.min, c.max)
                    && lo >= hi
                {
                    return Err(ToolError::invalid(format!(
                        "config.max: {hi} must be greater than config.min ({lo})."
                    ))
                    .with_details(json!({"field": "config.max"})));
                }
            }
            ChartConfig::Heatmap(c) => {
                grain(&c.time_grain)?;
                check_format("config.format", &c.format)?;
                if c.x == c.y {
                    return Err(ToolError::invalid(
                        "config.y: a heatmap needs two different columns for x and y.",
                    )
                    .with_details(json!({"field": "config.y"})));
                }
            }
            ChartConfig::Histogram(c) => {
                in_range("config.bins", c.bins, 2, 100)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
            ChartConfig::BoxPlot(c) => {
                check_format("config.format", &c.format)?;
                in_range("config.row_limit", c.row_limit, 1, MAX_ROW_LIMIT)?;
            }
        }
        Ok(())
    }

    /// Check every column and saved metric the config names against the dataset.
    pub fn check(
        &self,
        columns: &[DatasetColumn],
        metrics: &[DatasetMetric],
    ) -> Result<(), ToolError> {
        let col = |field: &str, name: &str| -> Result<(), ToolError> {
            crate::query::builder::column(columns, name, field).map(|_| ())
        };
        let saved: Vec<&str> = metrics.iter().map(|m| m.metric_name.as_str()).collect();
        let metric = |field: &str, m: &Metric| -> Result<(), ToolError> {
            match m {
                Metric::Saved { saved_metric } if !saved.contains(&saved_metric.as_str()) => {
                    Err(ToolError::invalid_field(
                        field,
                        format!(
                            "'{saved_metric}' is not a saved metric of the dataset; saved metrics: {}.",
                            saved.join(", ")
                        ),
                        &saved,
                        Some(saved_metric),
                    ))
                }
                Metric::Column {
                    column, aggregate, ..
                } => {
                    col(&format!("{field}.column"), column)?;
                    one_of(
                        &format!("{field}.aggregate"),
                        &aggregate.to_ascii_uppercase(),
                        AGGREGATES,
                    )
                }
                _ => Ok(()),
            }
        };
        for f in self.filters().iter().filter(|f| !is_sql_filter(f)) {
            col("config.filters.col", &f.col)?;
        }
        match self {
            ChartConfig::Xy(c) => {
                if let Some(x) = &c.x {
                    col("config.x", x)?;
                }
                for g in &c.group_by {
                    col("config.group_by", g)?;
                }
                for m in &c.metrics {
                    metric("config.metrics", m)?;
                }
            }
            ChartConfig::MixedTimeseries(c) => {
                if let Some(x) = &c.x {
                    col("config.x", x)?;
                }
                for g in &c.group_by {
                    col("config.group_by", g)?;
                }
                for m in &c.metrics {
                    metric("config.metrics", m)?;
                }
                for m in &c.secondary_metrics {
                    metric("config.secondary_metrics", m)?;
                }
            }
            ChartConfig::Table(c) => {
                for g in c.group_by.iter().chain(&c.columns) {
                    col(
                        if c.mode == "raw" {
                            "config.columns"
                        } else {
                            "config.group_by"
                        },
                        g,
                    )?;
                }
                for m in &c.metrics {
                    metric("config.metrics", m)?;
                }
                for m in &c.percent_metrics {
                    metric("config.percent_metrics", m)?;
                }
            }
            ChartConfig::Pie(c) => {
                col("config.dimension", &c.dimension)?;
                metric("config.metric", &c.metric)?;
            }
            ChartConfig::BigNumber(c) => {
                if let Some(x) = &c.x {
                    col("config.x", x)?;
                }
                metric("config.metric", &c.metric)?;
            }
            ChartConfig::PivotTable(c) => {
                for r in &c.rows {
                    col("config.rows", r)?;
                }
                for r in &c.columns {
                    col("config.columns", r)?;
                }
                for m in &c.metrics {
                    metric("config.metrics", m)?;
                }
            }
            ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => {
                col("config.dimension", &c.dimension)?;
                metric("config.metric", &c.metric)?;
            }
            ChartConfig::Waterfall(c) => {
                col("config.x", &c.x)?;
                metric("config.metric", &c.metric)?;
            }
            ChartConfig::Gauge(c) => metric("config.metric", &c.metric)?,
            ChartConfig::Heatmap(c) => {
                col("config.x", &c.x)?;
                col("config.y", &c.y)?;
                metric("config.metric", &c.metric)?;
            }
            ChartConfig::Histogram(c) => col("config.column", &c.column)?,
            ChartConfig::BoxPlot(c) => {
                col("config.column", &c.column)?;
                if let Some(g) = &c.group_by {
                    col("config.group_by", g)?;
                }
            }
        }
        Ok(())
    }
}

/// The closest chart type to a misspelt one.
pub fn suggest_type(given: &str) -> Option<&'static str> {
    closest(given, CHART_TYPES)
}

/// JSON Schema of one chart type's config, with worked examples.
pub fn type_schema(chart_type: &str) -> Result<Value, ToolError> {
    one_of("chart_type", chart_type, CHART_TYPES)?;
    let mut schema = match chart_type {
        "xy" => serde_json::to_value(schemars::schema_for!(XyConfig)),
        "table" => serde_json::to_value(schemars::schema_for!(TableConfig)),
        "pie" => serde_json::to_value(schemars::schema_for!(PieConfig)),
        "big_number" => serde_json::to_value(schemars::schema_for!(BigNumberConfig)),
        "funnel" | "treemap" => serde_json::to_value(schemars::schema_for!(ShareConfig)),
        "waterfall" => serde_json::to_value(schemars::schema_for!(WaterfallConfig)),
        "gauge" => serde_json::to_value(schemars::schema_for!(GaugeConfig)),
        "heatmap" => serde_json::to_value(schemars::schema_for!(HeatmapConfig)),
        "histogram" => serde_json::to_value(schemars::schema_for!(HistogramConfig)),
        "box_plot" => serde_json::to_value(schemars::schema_for!(BoxPlotConfig)),
        _ => serde_json::to_value(schemars::schema_for!(PivotConfig)),
    }
    .map_err(ToolError::internal)?;
    if let Some(obj) = schema.as_object_mut() {
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "chart_type".into(),
                json!({"const": chart_type, "description": "The chart type."}),
            );
        }
        match obj.get_mut("required").and_then(Value::as_array_mut) {
            Some(req) => req.insert(0, json!("chart_type")),
            None => {
                obj.insert("required".into(), json!(["chart_type"]));
            }
        }
    }
    Ok(schema)
}

/// Worked examples of one chart type (on the bundled retail data's column names).
pub fn examples(chart_type: &str) -> Vec<Value> {
    let revenue = json!({"saved_metric": "revenue"});
    match chart_type {
        "xy" => vec![
            json!({"chart_type": "xy", "kind": "line", "x": "order_date", "time_grain": "month",
                   "metrics": [revenue], "y_axis_format": "$,.0f"}),
            json!({"chart_type": "xy", "kind": "bar", "x": "category",
                   "metrics": [{"column": "quantity", "aggregate": "SUM", "label": "units"}],
                   "group_by": ["channel"], "stacked": true, "order_desc": true}),
        ],
        "mixed_timeseries" => vec![
            json!({"chart_type": "mixed_timeseries", "x": "order_date", "time_grain": "month",
                   "metrics": [revenue], "kind": "bar", "y_axis_format": "$,.0f",
                   "secondary_metrics": [{"saved_metric": "orders"}], "secondary_kind": "line"}),
        ],
        "table" => vec![
            json!({"chart_type": "table", "mode": "aggregate", "group_by": ["region"],
                   "metrics": [revenue], "percent_metrics": [revenue], "order_by": "revenue",
                   "order_desc": true}),
            json!({"chart_type": "table", "mode": "raw", "columns": ["order_date", "product", "line_total"],
                   "row_limit": 50}),
        ],
        "pie" => vec![
            json!({"chart_type": "pie", "dimension": "channel", "metric": revenue, "donut": true}),
        ],
        "big_number" => vec![
            json!({"chart_type": "big_number", "metric": revenue, "format": "$,.0f"}),
            json!({"chart_type": "big_number", "metric": revenue, "time_grain": "month",
                   "show_trendline": true, "compare_to_previous_period": true}),
        ],
        "funnel" => vec![
            json!({"chart_type": "funnel", "dimension": "segment", "metric": {"saved_metric": "orders"}}),
        ],
        "treemap" => vec![
            json!({"chart_type": "treemap", "dimension": "category", "metric": revenue, "format": "$,.0f"}),
        ],
        "waterfall" => vec![
            json!({"chart_type": "waterfall", "x": "order_date", "time_grain": "quarter",
                   "metric": revenue, "format": "$,.0f"}),
        ],
        "gauge" => vec![
            json!({"chart_type": "gauge", "metric": {"saved_metric": "avg_order_value"},
                   "min": 0, "max": 1000, "format": "$,.0f"}),
        ],
        "heatmap" => vec![
            json!({"chart_type": "heatmap", "x": "category", "y": "region", "metric": revenue,
                   "format": "$,.0f"}),
        ],
        "histogram" => vec![json!({"chart_type": "histogram", "column": "line_total", "bins": 20})],
        "box_plot" => {
            vec![json!({"chart_type": "box_plot", "column": "line_total", "group_by": "channel"})]
        }
        _ => vec![
            json!({"chart_type": "pivot_table", "rows": ["region"], "columns": ["category"],
                         "metrics": [revenue], "show_totals": true}),
        ],
    }
}

/// A filter whose value is a SQL condition (`sql` on rows, `having` on groups).
fn is_sql_filter(f: &QueryFilter) -> bool {
    f.opr == "sql" || f.opr == "having"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_parses_and_round_trips() {
        for t in CHART_TYPES {
            for e in examples(t) {
                let c = ChartConfig::parse(&e).unwrap_or_else(|err| panic!("{t}: {err:?}"));
                assert_eq!(c.chart_type(), *t);
                assert_eq!(ChartConfig::parse(&c.to_json()).unwrap(), c);
            }
        }
    }

    #[test]
    fn unknown_fields_name_the_closest_known_one() {
        let e = ChartConfig::parse(
            &json!({"chart_type": "xy", "metrics": [{"saved_metric": "m"}], "stacke": true}),
        )
        .unwrap_err();
        assert!(e.message.contains("config.stacke"), "{}", e.message);
        assert!(
            e.message.contains("Did you mean 'stacked'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_options_are_named() {
        let cases = [
            (json!({"chart_type": "xyz"}), "config.chart_type"),
            (json!({"kind": "line"}), "config.chart_type"),
            (
                json!({"chart_type": "xy", "kind": "lines", "metrics": [{"saved_metric": "m"}]}),
                "Did you mean 'line'",
            ),
            (
                json!({"chart_type": "xy", "metrics": []}),
                "at least one metric",
            ),
            (
                json!({"chart_type": "xy", "metrics": [{"saved_metric": "m"}], "time_grain": "montth"}),
                "Did you mean 'month'",
            ),
            (
                json!({"chart_type": "xy", "metrics": [{"saved_metric": "m"}], "y_axis_format": "%%%q"}),
                "config.y_axis_format",
            ),
            (
                json!({"chart_type": "pie", "metric": {"saved_metric": "m"}}),
                "need 'dimension'",
            ),
            (
                json!({"chart_type": "pie", "dimension": "d", "metric": {"bogus": 1}}),
                "a metric is",
            ),
            (
                json!({"chart_type": "big_number", "metric": {"saved_metric": "m"}, "show_trendline": true}),
                "needs a time_grain",
            ),
            (
                json!({"chart_type": "table", "mode": "raw"}),
                "needs the columns",
            ),
            (
                json!({"chart_type": "pivot_table", "rows": [], "metrics": [{"saved_metric": "m"}]}),
                "at least one row",
            ),
            (
                json!({"chart_type": "xy", "metrics": [{"saved_metric": "m"}], "row_limit": 0}),
                "out of range",
            ),
            (
                json!({"chart_type": "xy", "metrics": [{"saved_metric": "m"}], "filters": [{"col": "a", "opr": "equals", "value": 1}]}),
                "config.filters.opr",
            ),
        ];
        for (config, expect) in cases {
            let e = ChartConfig::parse(&config).unwrap_err();
            assert!(e.message.contains(expect), "{config}: {}", e.message);
        }
    }

    #[test]
    fn columns_and_metrics_are_checked_against_the_dataset() {
        let col = |name: &str| DatasetColumn {
            id: 1,
            dataset_id: 1,
            column_name: name.into(),
            data_type: "TEXT".into(),
            is_temporal: false,
            is_groupable: true,
            is_filterable: true,
            expression: None,
            description: String::new(),
        };
        let columns = vec![col("region"), col("category")];
        let metrics = vec![DatasetMetric {
            id: 1,
            dataset_id: 1,
            metric_name: "revenue".into(),
            expression: "SUM(x)".into(),
            verbose_name: None,
            description: String::new(),
            d3format: None,
            changed_on: chrono::NaiveDateTime::default(),
        }];
        let c = ChartConfig::parse(&json!({"chart_type": "pie", "dimension": "regoin", "metric": {"saved_metric": "revenue"}})).unwrap();
        let e = c.check(&columns, &metrics).unwrap_err();
        assert!(e.message.contains("Did you mean 'region'"), "{}", e.message);
        let c = ChartConfig::parse(&json!({"chart_type": "pie", "dimension": "region", "metric": {"saved_metric": "revenu"}})).unwrap();
        let e = c.check(&columns, &metrics).unwrap_err();
        assert!(
            e.message.contains("Did you mean 'revenue'"),
            "{}",
            e.message
        );
        let c = ChartConfig::parse(&json!({"chart_type": "pie", "dimension": "region", "metric": {"saved_metric": "revenue"}})).unwrap();
        c.check(&columns, &metrics).unwrap();
    }

    #[test]
    fn every_type_schema_requires_chart_type() {
        for t in CHART_TYPES {
            let s = type_schema(t).unwrap();
            assert_eq!(s["properties"]["chart_type"]["const"], json!(t));
            assert_eq!(s["required"][0], json!("chart_type"));
        }
        assert!(type_schema("bar").is_err());
    }
}
