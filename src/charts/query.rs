//! From a chart config to a dataset query ([`plan`]), and from the query's rows to what the
//! renderers draw ([`shape`], [`render_spec`]).
//!
//! The query itself is built by the one query builder (`query::builder`) and run
//! through the SQL engine's pipeline (guard, row-level security, row cap), so chart data
//! obeys exactly the rules `execute_sql` and `query_dataset` obey.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::config::{ChartConfig, XyConfig};
use crate::db::datasets::{Dataset, DatasetColumn};
use crate::error::ToolError;
use crate::query::builder::{Metric, QuerySpec};
use crate::query::list::parse_time;
use crate::render::model::SecondaryAxis;
use crate::render::{BigNumber, ChartData, ChartKind, RenderSpec, Series, TableData, XAxis};

/// The result column of a time-bucketed x axis.
pub const TIME_COLUMN: &str = "__timestamp";
/// Most series an xy chart draws; further groups are left out (and said so).
pub const MAX_SERIES: usize = 20;
/// The result column holding the latest instant of each time bucket (xy charts with a
/// time grain): the last bucket is left out when the data stops before it ends.
pub const LATEST_COLUMN: &str = "__latest";

/// A chart's data as callers get it: its result columns and rows without the helper
/// column [`LATEST_COLUMN`] (it serves the picture, where an unfinished last bucket is left
/// out; the data is what the chart computes).
pub fn without_helper_columns(columns: &mut Vec<String>, rows: &mut [Vec<Value>]) {
    if let Some(i) = columns.iter().position(|c| c == LATEST_COLUMN) {
        columns.remove(i);
        for row in rows.iter_mut().filter(|r| i < r.len()) {
            row.remove(i);
        }
    }
}

/// The columns a table's percent metrics add: `%label` for each (Superset's names).
pub fn percent_columns(config: &ChartConfig) -> Vec<(String, String)> {
    match config {
        ChartConfig::Table(c) if c.mode != "raw" => {
            let mut out: Vec<(String, String)> = Vec::new();
            for m in &c.percent_metrics {
                let label = m.label();
                if !out.iter().any(|(l, _)| *l == label) {
                    out.push((label.clone(), format!("%{label}")));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Add a table's percent metric columns to its query result, as Superset's contribution
/// post-processing does: each row's value (null counted as 0) divided by the column's
/// total over the rows returned; null when the total is 0. Returns the columns added.
pub fn add_percent_columns(
    config: &ChartConfig,
    columns: &[String],
    rows: &mut [Vec<Value>],
) -> Vec<String> {
    let mut added = Vec::new();
    for (label, name) in percent_columns(config) {
        let Some(i) = columns.iter().position(|c| *c == label) else {
            continue;
        };
        let value = |r: &Vec<Value>| r.get(i).and_then(number).unwrap_or(0.0);
        let total: f64 = rows.iter().map(value).sum();
        for r in rows.iter_mut() {
            let share = value(r) / total;
            r.push(if total != 0.0 && share.is_finite() {
                json!(share)
            } else {
                Value::Null
            });
        }
        added.push(name);
    }
    added
}

/// A chart's query: the builder spec and the row limit.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: QuerySpec,
    pub limit: u64,
    /// The x column of an xy chart, or the time column of a big number.
    pub x: Option<String>,
    /// The x axis holds instants.
    pub x_is_time: bool,
}

fn main_time(d: &Dataset, field: &str) -> Result<String, ToolError> {
    d.main_dttm_col.clone().ok_or_else(|| {
        ToolError::invalid(format!(
            "{field}: the dataset has no main time column; name the column to use."
        ))
        .with_details(json!({"field": field}))
    })
}

fn is_temporal(columns: &[DatasetColumn], name: &str) -> bool {
    columns
        .iter()
        .any(|c| c.column_name == name && c.is_temporal)
}

/// The query a chart needs.
pub fn plan(
    config: &ChartConfig,
    d: &Dataset,
    columns: &[DatasetColumn],
) -> Result<Plan, ToolError> {
    let base = |filters: &[_], time_range: &Option<_>| QuerySpec {
        filters: filters.to_vec(),
        time_range: time_range.clone(),
        ..QuerySpec::default()
    };
    let plan = match config {
        ChartConfig::MixedTimeseries(c) => return plan(&ChartConfig::Xy(c.as_xy()), d, columns),
        ChartConfig::Xy(c) => {
            let x = match &c.x {
                Some(x) => x.clone(),
                None => main_time(d, "config.x")?,
            };
            let temporal = is_temporal(columns, &x);
            let mut spec = base(&c.filters, &c.time_range);
            spec.metrics = c.metrics.clone();
            if temporal && c.time_grain.is_some() {
                spec.time_column = Some(x.clone());
                spec.time_grain = c.time_grain.clone();
                spec.columns = c.group_by.clone();
                spec.metrics.push(Metric::Column {
                    column: x.clone(),
                    aggregate: "MAX".into(),
                    label: Some(LATEST_COLUMN.into()),
                });
            } else {
                if c.time_grain.is_some() {
                    return Err(ToolError::invalid(format!(
                        "config.time_grain: x column '{x}' is not a time column; drop time_grain or pick a time x."
                    ))
                    .with_details(json!({"field": "config.time_grain"})));
                }
                spec.columns = std::iter::once(x.clone())
                    .chain(c.group_by.iter().cloned())
                    .collect();
                spec.order_by = Some(x.clone());
                if temporal {
                    spec.time_column = Some(x.clone());
                }
            }
            Plan {
                spec,
                limit: c.row_limit.unwrap_or(10_000),
                x: Some(x),
                x_is_time: temporal,
            }
        }
        ChartConfig::Table(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            if c.mode == "raw" {
                spec.columns = c.columns.clone();
            } else {
                spec.columns = c.group_by.clone();
                spec.metrics = c.metrics.clone();
                // A percent metric is queried too (once), then divided by its column total.
                for m in &c.percent_metrics {
                    if !spec.metrics.iter().any(|x| x.label() == m.label()) {
                        spec.metrics.push(m.clone());
                    }
                }
            }
            spec.order_by = c.order_by.clone();
            spec.order_desc = c.order_desc;
            Plan {
                spec,
                limit: c.row_limit.unwrap_or(1_000),
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::Pie(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.columns = vec![c.dimension.clone()];
            spec.metrics = vec![c.metric.clone()];
            spec.order_by = Some(c.metric.label());
            spec.order_desc = true;
            Plan {
                spec,
                limit: 1_000,
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::BigNumber(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.metrics = vec![c.metric.clone()];
            let x = match (&c.time_grain, &c.x) {
                (Some(_), Some(x)) => Some(x.clone()),
                (Some(_), None) => Some(main_time(d, "config.x")?),
                (None, x) => x.clone(),
            };
            if let Some(g) = &c.time_grain {
                spec.time_column = x.clone();
                spec.time_grain = Some(g.clone());
                // As an xy chart over time asks: the same query (and cached rows) serve
                // a big number and a line of the same metric and grain.
                if let Some(x) = x.as_ref().filter(|x| is_temporal(columns, x)) {
                    spec.metrics.push(Metric::Column {
                        column: x.clone(),
                        aggregate: "MAX".into(),
                        label: Some(LATEST_COLUMN.into()),
                    });
                }
            } else if x.is_some() {
                spec.time_column = x.clone();
            }
            Plan {
                spec,
                limit: 10_000,
                x,
                x_is_time: c.time_grain.is_some(),
            }
        }
        ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.columns = vec![c.dimension.clone()];
            spec.metrics = vec![c.metric.clone()];
            spec.order_by = Some(c.metric.label());
            spec.order_desc = true;
            Plan {
                spec,
                limit: 1_000,
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::Waterfall(c) => {
            let temporal = is_temporal(columns, &c.x);
            let mut spec = base(&c.filters, &c.time_range);
            spec.metrics = vec![c.metric.clone()];
            match (&c.time_grain, temporal) {
                (Some(g), true) => {
                    spec.time_column = Some(c.x.clone());
                    spec.time_grain = Some(g.clone());
                    spec.order_by = Some(TIME_COLUMN.into());
                }
                (Some(_), false) => {
                    return Err(ToolError::invalid(format!(
                        "config.time_grain: x column '{}' is not a time column; drop time_grain or pick a time x.",
                        c.x
                    ))
                    .with_details(json!({"field": "config.time_grain"})));
                }
                (None, _) => {
                    spec.columns = vec![c.x.clone()];
                    spec.order_by = Some(c.x.clone());
                    if temporal {
                        spec.time_column = Some(c.x.clone());
                    }
                }
            }
            Plan {
                spec,
                limit: 1_000,
                x: Some(c.x.clone()),
                x_is_time: temporal && c.time_grain.is_some(),
            }
        }
        ChartConfig::Gauge(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.metrics = vec![c.metric.clone()];
            Plan {
                spec,
                limit: 1,
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::Heatmap(c) => {
            let temporal = is_temporal(columns, &c.x);
            let mut spec = base(&c.filters, &c.time_range);
            spec.metrics = vec![c.metric.clone()];
            match (&c.time_grain, temporal) {
                (Some(g), true) => {
                    spec.time_column = Some(c.x.clone());
                    spec.time_grain = Some(g.clone());
                    spec.columns = vec![c.y.clone()];
                }
                (Some(_), false) => {
                    return Err(ToolError::invalid(format!(
                        "config.time_grain: x column '{}' is not a time column; drop time_grain or pick a time x.",
                        c.x
                    ))
                    .with_details(json!({"field": "config.time_grain"})));
                }
                (None, _) => spec.columns = vec![c.x.clone(), c.y.clone()],
            }
            Plan {
                spec,
                limit: 10_000,
                x: Some(c.x.clone()),
                x_is_time: temporal && c.time_grain.is_some(),
            }
        }
        ChartConfig::Histogram(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.columns = vec![c.column.clone()];
            Plan {
                spec,
                limit: c.row_limit.unwrap_or(10_000),
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::BoxPlot(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.columns = c
                .group_by
                .iter()
                .cloned()
                .chain([c.column.clone()])
                .collect();
            Plan {
                spec,
                limit: c.row_limit.unwrap_or(10_000),
                x: None,
                x_is_time: false,
            }
        }
        ChartConfig::PivotTable(c) => {
            let mut spec = base(&c.filters, &c.time_range);
            spec.columns = c.rows.iter().chain(&c.columns).cloned().collect();
            spec.metrics = c.metrics.clone();
            spec.order_by = c.rows.first().cloned();
            Plan {
                spec,
                limit: c.row_limit.unwrap_or(10_000),
                x: None,
                x_is_time: false,
            }
        }
    };
    Ok(plan)
}

/// A cell as a number: JSON numbers, numeric strings (exact decimals), booleans.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// A cell as a label.
pub fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(null)".into(),
        other => other.to_string(),
    }
}

fn time(v: &Value) -> Option<NaiveDateTime> {
    match v {
        Value::String(s) => parse_time(s.trim()),
        _ => None,
    }
}

fn index_of(columns: &[String], name: &str) -> Result<usize, ToolError> {
    columns.iter().position(|c| c == name).ok_or_else(|| {
        ToolError::internal(format!(
            "the chart query returned no column '{name}' (columns: {})",
            columns.join(", ")
        ))
    })
}

/// What was left out while shaping (told to the caller).
#[derive(Debug, Default, Clone)]
pub struct Notes(pub Vec<String>);

/// Turn the query's result into chart data.
pub fn shape(
    config: &ChartConfig,
    plan: &Plan,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<(ChartData, Notes), ToolError> {
    let mut notes = Notes::default();
    let data = match config {
        ChartConfig::Xy(c) => shape_xy(c, plan, columns, rows, &mut notes)?,
        ChartConfig::MixedTimeseries(c) => shape_xy(&c.as_xy(), plan, columns, rows, &mut notes)?,
        ChartConfig::Pie(c) => {
            let d = index_of(columns, &c.dimension)?;
            let m = index_of(columns, &c.metric.label())?;
            let max = c.max_slices.unwrap_or(12) as usize;
            let mut slices: Vec<(String, f64)> = rows
                .iter()
                .filter_map(|r| Some((label(&r[d]), number(&r[m])?)))
                .collect();
            slices.sort_by(|a, b| b.1.total_cmp(&a.1));
            if slices.len() > max {
                let other: f64 = slices[max - 1..].iter().map(|s| s.1).sum();
                notes.0.push(format!(
                    "{} smaller slices are summed into \"Other\".",
                    slices.len() - (max - 1)
                ));
                slices.truncate(max - 1);
                slices.push(("Other".into(), other));
            }
            ChartData::series(
                XAxis::Categories(slices.iter().map(|s| s.0.clone()).collect()),
                vec![Series::new(
                    c.metric.label(),
                    slices.iter().map(|s| Some(s.1)).collect(),
                )],
            )
        }
        ChartConfig::BigNumber(c) => {
            let m = index_of(columns, &c.metric.label())?;
            if c.time_grain.is_some() {
                let t = index_of(columns, TIME_COLUMN)?;
                let mut points: Vec<(NaiveDateTime, f64)> = rows
                    .iter()
                    .filter_map(|r| Some((time(&r[t])?, number(&r[m])?)))
                    .collect();
                points.sort_by_key(|p| p.0);
                if let (Some(last), Some(ends), Some(grain)) = (
                    points.last(),
                    data_ends(columns, rows),
                    c.time_grain.as_deref(),
                ) && unfinished(last.0, ends, grain)
                {
                    notes.0.push(format!(
                        "The latest {grain} (from {}) is unfinished: the data ends on {}.",
                        last.0.format("%Y-%m-%d"),
                        ends.format("%Y-%m-%d")
                    ));
                }
                let value = points.last().map(|p| p.1);
                let previous = if c.compare_to_previous_period && points.len() >= 2 {
                    Some(points[points.len() - 2].1)
                } else {
                    None
                };
                ChartData::big_number(BigNumber {
                    value,
                    trendline: if c.show_trendline {
                        points.iter().map(|p| p.1).collect()
                    } else {
                        Vec::new()
                    },
                    previous,
                    comparison_label: previous.map(|_| {
                        format!(
                            "vs previous {}",
                            c.time_grain.as_deref().unwrap_or("period")
                        )
                    }),
                })
            } else {
                ChartData::big_number(BigNumber {
                    value: rows.first().and_then(|r| number(&r[m])),
                    trendline: Vec::new(),
                    previous: None,
                    comparison_label: None,
                })
            }
        }
        ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => {
            let d = index_of(columns, &c.dimension)?;
            let m = index_of(columns, &c.metric.label())?;
            let max = c.max_items.unwrap_or(12) as usize;
            let mut items: Vec<(String, f64)> = rows
                .iter()
                .filter_map(|r| Some((label(&r[d]), number(&r[m])?)))
                .collect();
            items.sort_by(|a, b| b.1.total_cmp(&a.1));
            if items.len() > max {
                let other: f64 = items[max - 1..].iter().map(|s| s.1).sum();
                notes.0.push(format!(
                    "{} smaller values are summed into \"Other\".",
                    items.len() - (max - 1)
                ));
                items.truncate(max - 1);
                items.push(("Other".into(), other));
            }
            ChartData::series(
                XAxis::Categories(items.iter().map(|s| s.0.clone()).collect()),
                vec![Series::new(
                    c.metric.label(),
                    items.iter().map(|s| Some(s.1)).collect(),
                )],
            )
        }
        ChartConfig::Waterfall(c) => {
            let x_name = if plan.spec.time_grain.is_some() {
                TIME_COLUMN
            } else {
                c.x.as_str()
            };
            let xi = index_of(columns, x_name)?;
            let m = index_of(columns, &c.metric.label())?;
            let steps: Vec<(String, f64)> = rows
                .iter()
                .map(|r| {
                    let x = match time(&r[xi]) {
                        Some(t) if plan.x_is_time => t.format("%Y-%m-%d").to_string(),
                        _ => label(&r[xi]),
                    };
                    (x, number(&r[m]).unwrap_or(0.0))
                })
                .collect();
            ChartData::series(
                XAxis::Categories(steps.iter().map(|s| s.0.clone()).collect()),
                vec![Series::new(
                    c.metric.label(),
                    steps.iter().map(|s| Some(s.1)).collect(),
                )],
            )
        }
        ChartConfig::Gauge(c) => {
            let m = index_of(columns, &c.metric.label())?;
            ChartData::big_number(BigNumber {
                value: rows.first().and_then(|r| number(&r[m])),
                trendline: Vec::new(),
                previous: None,
                comparison_label: None,
            })
        }
        ChartConfig::Heatmap(c) => shape_heatmap(c, plan, columns, rows, &mut notes)?,
        ChartConfig::Histogram(c) => {
            let i = index_of(columns, &c.column)?;
            let values: Vec<f64> = rows.iter().filter_map(|r| number(&r[i])).collect();
            let skipped = rows.len() - values.len();
            if skipped > 0 {
                notes.0.push(format!(
                    "{skipped} values that are not numbers (or null) are left out."
                ));
            }
            let (labels, counts) = histogram(&values, c.bins.unwrap_or(10) as usize);
            ChartData::series(
                XAxis::Categories(labels),
                vec![Series::new(
                    "count",
                    counts.into_iter().map(|n| Some(n as f64)).collect(),
                )],
            )
        }
        ChartConfig::BoxPlot(c) => {
            let v = index_of(columns, &c.column)?;
            let g = c
                .group_by
                .as_ref()
                .map(|g| index_of(columns, g))
                .transpose()?;
            let mut groups: Vec<(String, Vec<f64>)> = Vec::new();
            let mut at: HashMap<String, usize> = HashMap::new();
            for r in rows {
                let Some(x) = number(&r[v]) else { continue };
                let key = g.map(|g| label(&r[g])).unwrap_or_else(|| c.column.clone());
                let k = *at.entry(key.clone()).or_insert_with(|| {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                });
                groups[k].1.push(x);
            }
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            if groups.len() > MAX_SERIES {
                notes.0.push(format!(
                    "{MAX_SERIES} of {} groups are drawn (the first by name); filter to see the rest.",
                    groups.len()
                ));
                groups.truncate(MAX_SERIES);
            }
            let stats: Vec<[f64; 5]> = groups.iter_mut().map(|(_, v)| box_stats(v)).collect();
            let outliers: usize = groups
                .iter()
                .zip(&stats)
                .map(|((_, v), s)| v.iter().filter(|x| **x < s[0] || **x > s[4]).count())
                .sum();
            if outliers > 0 {
                notes.0.push(format!(
                    "{outliers} values beyond the whiskers (1.5 × IQR) are not drawn."
                ));
            }
            ChartData::series(
                XAxis::Categories(groups.iter().map(|g| g.0.clone()).collect()),
                BOX_PARTS
                    .iter()
                    .enumerate()
                    .map(|(k, name)| Series::new(*name, stats.iter().map(|s| Some(s[k])).collect()))
                    .collect(),
            )
        }
        ChartConfig::Table(_) => {
            // Percent metric columns read as percentages, as Superset shows them.
            let share: Vec<usize> = percent_columns(config)
                .iter()
                .filter_map(|(_, name)| columns.iter().position(|c| c == name))
                .collect();
            let pct = crate::render::format::NumberFormat::parse(".3%").ok();
            let rows = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(i, v)| match (&pct, number(v)) {
                            (Some(f), Some(x)) if share.contains(&i) => Value::String(f.format(x)),
                            _ => v.clone(),
                        })
                        .collect()
                })
                .collect();
            ChartData::table(TableData {
                columns: columns.to_vec(),
                rows,
                index_columns: 0,
            })
        }
        ChartConfig::PivotTable(c) => {
            let row_idx: Vec<usize> = c
                .rows
                .iter()
                .map(|r| index_of(columns, r))
                .collect::<Result<_, _>>()?;
            let col_idx: Vec<usize> = c
                .columns
                .iter()
                .map(|r| index_of(columns, r))
                .collect::<Result<_, _>>()?;
            let metrics: Vec<(String, usize)> = c
                .metrics
                .iter()
                .map(|m| Ok((m.label(), index_of(columns, &m.label())?)))
                .collect::<Result<_, ToolError>>()?;
            ChartData::table(pivot(
                &c.rows,
                rows,
                &row_idx,
                &col_idx,
                &metrics,
                c.show_totals,
                c.aggregate_function.as_deref().unwrap_or("sum"),
            ))
        }
    };
    Ok((data, notes))
}

fn shape_xy(
    c: &XyConfig,
    plan: &Plan,
    columns: &[String],
    rows: &[Vec<Value>],
    notes: &mut Notes,
) -> Result<ChartData, ToolError> {
    let x_name = if plan.spec.time_grain.is_some() {
        TIME_COLUMN.to_string()
    } else {
        plan.x.clone().unwrap_or_default()
    };
    let xi = index_of(columns, &x_name)?;
    let gi: Vec<usize> = c
        .group_by
        .iter()
        .map(|g| index_of(columns, g))
        .collect::<Result<_, _>>()?;
    let mi: Vec<(String, usize)> = c
        .metrics
        .iter()
        .map(|m| Ok((m.label(), index_of(columns, &m.label())?)))
        .collect::<Result<_, ToolError>>()?;
    // The x axis: instants, numbers (scatter) or categories, in query order.
    let as_time = plan.x_is_time
        && rows
            .iter()
            .all(|r| r[xi].is_null() || time(&r[xi]).is_some());
    let as_numbers =
        !as_time && c.kind == "scatter" && rows.iter().all(|r| number(&r[xi]).is_some());
    let mut keys: Vec<String> = Vec::new();
    let mut key_at: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<String> = Vec::new();
    let mut group_at: HashMap<String, usize> = HashMap::new();
    let mut group_total: Vec<f64> = Vec::new();
    let mut cells: HashMap<(usize, usize, usize), f64> = HashMap::new();
    for r in rows {
        if as_time && r[xi].is_null() {
            continue;
        }
        let key = label(&r[xi]);
        let k = *key_at.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        });
        let gkey = gi
            .iter()
            .map(|&i| label(&r[i]))
            .collect::<Vec<_>>()
            .join(", ");
        let g = *group_at.entry(gkey.clone()).or_insert_with(|| {
            groups.push(gkey);
            group_total.push(0.0);
            groups.len() - 1
        });
        for (m, (_, idx)) in mi.iter().enumerate() {
            if let Some(v) = number(&r[*idx]) {
                *cells.entry((k, g, m)).or_insert(0.0) += v;
                if m == 0 {
                    group_total[g] += v.abs();
                }
            }
        }
    }
    // Keep the largest groups when there are too many to read.
    let mut kept: Vec<usize> = (0..groups.len()).collect();
    if kept.len() > MAX_SERIES {
        kept.sort_by(|a, b| group_total[*b].total_cmp(&group_total[*a]));
        notes.0.push(format!(
            "{} of {} groups are drawn (the largest by {}); filter or group by fewer values to see the rest.",
            MAX_SERIES,
            groups.len(),
            mi[0].0
        ));
        kept.truncate(MAX_SERIES);
        kept.sort();
    }
    // The order of x positions.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if as_time {
        let times: Vec<NaiveDateTime> = keys
            .iter()
            .map(|k| time(&Value::String(k.clone())).unwrap_or_default())
            .collect();
        order.sort_by_key(|&i| times[i]);
    } else if as_numbers {
        let nums: Vec<f64> = keys.iter().map(|k| k.parse().unwrap_or(0.0)).collect();
        order.sort_by(|a, b| nums[*a].total_cmp(&nums[*b]));
    } else if c.order_desc {
        let total = |k: usize| -> f64 {
            (0..groups.len())
                .filter_map(|g| cells.get(&(k, g, 0)))
                .sum()
        };
        order.sort_by(|a, b| total(*b).total_cmp(&total(*a)));
    }
    // A last time bucket the data stops inside of (the current week, a time range ending
    // mid-month) would draw as a drop: it is left out, and said so.
    if as_time && order.len() >= 2 {
        let last = order[order.len() - 1];
        let start = time(&Value::String(keys[last].clone()));
        if let (Some(latest), Some(start), Some(grain)) = (
            data_ends(columns, rows),
            start,
            plan.spec.time_grain.as_deref(),
        ) && unfinished(start, latest, grain)
        {
            order.pop();
            notes.0.push(format!(
                "The last {grain} (from {}) is left out: the data ends on {}, before the {grain} does.",
                start.format("%Y-%m-%d"),
                latest.format("%Y-%m-%d")
            ));
        }
    }
    let x = if as_time {
        XAxis::Time(
            order
                .iter()
                .map(|&i| time(&Value::String(keys[i].clone())).unwrap_or_default())
                .collect(),
        )
    } else if as_numbers {
        XAxis::Numbers(
            order
                .iter()
                .map(|&i| keys[i].parse().unwrap_or(0.0))
                .collect(),
        )
    } else {
        XAxis::Categories(order.iter().map(|&i| keys[i].clone()).collect())
    };
    let mut series = Vec::new();
    for (m, (mlabel, _)) in mi.iter().enumerate() {
        for &g in &kept {
            let name = match (gi.is_empty(), mi.len()) {
                (true, _) => mlabel.clone(),
                (false, 1) => groups[g].clone(),
                (false, _) => format!("{mlabel}, {}", groups[g]),
            };
            let values = order
                .iter()
                .map(|&k| cells.get(&(k, g, m)).copied())
                .collect();
            series.push(Series::new(name, values));
        }
    }
    Ok(ChartData::series(x, series))
}

/// The series of a box plot, in order.
pub const BOX_PARTS: [&str; 5] = ["lower whisker", "q1", "median", "q3", "upper whisker"];

/// Lower whisker, first quartile, median, third quartile and upper whisker of `values`
/// (sorted in place): whiskers reach the furthest values within 1.5 × IQR of the box.
fn box_stats(values: &mut [f64]) -> [f64; 5] {
    values.sort_by(f64::total_cmp);
    let q = |p: f64| -> f64 {
        let pos = p * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
    };
    let (q1, median, q3) = (q(0.25), q(0.5), q(0.75));
    let iqr = q3 - q1;
    let low = values
        .iter()
        .copied()
        .find(|v| *v >= q1 - 1.5 * iqr)
        .unwrap_or(q1);
    let high = values
        .iter()
        .rev()
        .copied()
        .find(|v| *v <= q3 + 1.5 * iqr)
        .unwrap_or(q3);
    [low, q1, median, q3, high]
}

/// `bins` equal bins over the values' range: their labels ("10 – 20") and counts. The last
/// bin holds its upper edge.
fn histogram(values: &[f64], bins: usize) -> (Vec<String>, Vec<usize>) {
    if values.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bins = if hi > lo { bins.max(1) } else { 1 };
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for v in values {
        let b = (((v - lo) / width).floor() as usize).min(bins - 1);
        counts[b] += 1;
    }
    let edge = |k: usize| lo + width * k as f64;
    let fmt = crate::render::format::tick_format(None, width, hi.abs().max(lo.abs()));
    let labels = (0..bins)
        .map(|k| format!("{} – {}", fmt.format(edge(k)), fmt.format(edge(k + 1))))
        .collect();
    (labels, counts)
}

fn shape_heatmap(
    c: &super::config::HeatmapConfig,
    plan: &Plan,
    columns: &[String],
    rows: &[Vec<Value>],
    notes: &mut Notes,
) -> Result<ChartData, ToolError> {
    let x_name = if plan.spec.time_grain.is_some() {
        TIME_COLUMN
    } else {
        c.x.as_str()
    };
    let xi = index_of(columns, x_name)?;
    let yi = index_of(columns, &c.y)?;
    let m = index_of(columns, &c.metric.label())?;
    let x_label = |v: &Value| match time(v) {
        Some(t) if plan.x_is_time => t.format("%Y-%m-%d").to_string(),
        _ => label(v),
    };
    let mut xs: Vec<String> = rows.iter().map(|r| x_label(&r[xi])).collect();
    xs.sort();
    xs.dedup();
    let mut ys: Vec<String> = rows.iter().map(|r| label(&r[yi])).collect();
    ys.sort();
    ys.dedup();
    const MAX_CELLS: usize = 60;
    for (axis, v) in [("x", &mut xs), ("y", &mut ys)] {
        if v.len() > MAX_CELLS {
            notes.0.push(format!(
                "{MAX_CELLS} of {} {axis} values are drawn (the first in order); filter to see the rest.",
                v.len()
            ));
            v.truncate(MAX_CELLS);
        }
    }
    let x_at: HashMap<&str, usize> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| (x.as_str(), i))
        .collect();
    let mut series: Vec<Series> = ys
        .iter()
        .map(|y| Series::new(y.clone(), vec![None; xs.len()]))
        .collect();
    let y_at: HashMap<String, usize> = ys
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, y)| (y, i))
        .collect();
    for r in rows {
        let (Some(&x), Some(&y)) = (x_at.get(x_label(&r[xi]).as_str()), y_at.get(&label(&r[yi])))
        else {
            continue;
        };
        if let Some(v) = number(&r[m]) {
            let cell = &mut series[y].values[x];
            *cell = Some(cell.unwrap_or(0.0) + v);
        }
    }
    Ok(ChartData::series(XAxis::Categories(xs), series))
}

/// The start of the period after the one starting at `start` (grains of a day or more;
/// `None` for hours, whose buckets are not judged).
/// Where the data ends: the latest instant in [`LATEST_COLUMN`], when the query asked for it.
fn data_ends(columns: &[String], rows: &[Vec<Value>]) -> Option<NaiveDateTime> {
    let li = columns.iter().position(|c| c == LATEST_COLUMN)?;
    rows.iter().filter_map(|r| r.get(li).and_then(time)).max()
}

/// Whether data ending at `latest` stops inside the `grain` bucket starting at `start`
/// (more than a day before the bucket's end).
fn unfinished(start: NaiveDateTime, latest: NaiveDateTime, grain: &str) -> bool {
    period_end(start, grain)
        .is_some_and(|end| latest.date() < end.date() - chrono::Duration::days(1))
}

fn period_end(start: NaiveDateTime, grain: &str) -> Option<NaiveDateTime> {
    use chrono::Months;
    match grain {
        "day" => Some(start + chrono::Duration::days(1)),
        "week" => Some(start + chrono::Duration::days(7)),
        "month" => start.checked_add_months(Months::new(1)),
        "quarter" => start.checked_add_months(Months::new(3)),
        "year" => start.checked_add_months(Months::new(12)),
        _ => None,
    }
}

fn pivot(
    row_names: &[String],
    rows: &[Vec<Value>],
    row_idx: &[usize],
    col_idx: &[usize],
    metrics: &[(String, usize)],
    totals: bool,
    aggregate: &str,
) -> TableData {
    let mut row_keys: Vec<Vec<String>> = Vec::new();
    let mut row_at: HashMap<Vec<String>, usize> = HashMap::new();
    let mut col_keys: Vec<String> = Vec::new();
    let mut col_at: HashMap<String, usize> = HashMap::new();
    let mut cells: HashMap<(usize, usize, usize), Vec<f64>> = HashMap::new();
    for r in rows {
        let rk: Vec<String> = row_idx.iter().map(|&i| label(&r[i])).collect();
        let ri = *row_at.entry(rk.clone()).or_insert_with(|| {
            row_keys.push(rk);
            row_keys.len() - 1
        });
        let ck = col_idx
            .iter()
            .map(|&i| label(&r[i]))
            .collect::<Vec<_>>()
            .join(" · ");
        let ci = *col_at.entry(ck.clone()).or_insert_with(|| {
            col_keys.push(ck);
            col_keys.len() - 1
        });
        for (m, (_, idx)) in metrics.iter().enumerate() {
            if let Some(v) = number(&r[*idx]) {
                cells.entry((ri, ci, m)).or_default().push(v);
            }
        }
    }
    let mut order: Vec<usize> = (0..col_keys.len()).collect();
    order.sort_by(|a, b| col_keys[*a].cmp(&col_keys[*b]));
    let combine = |values: &[f64]| -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match aggregate {
            "mean" => values.iter().sum::<f64>() / values.len() as f64,
            "min" => values.iter().copied().fold(f64::INFINITY, f64::min),
            "max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            "count" => values.len() as f64,
            _ => values.iter().sum(),
        })
    };
    let header = |ck: &str, m: &str| match (col_idx.is_empty(), metrics.len()) {
        (true, _) => m.to_string(),
        (false, 1) => ck.to_string(),
        (false, _) => format!("{ck} · {m}"),
    };
    let mut columns: Vec<String> = row_names.to_vec();
    for &c in &order {
        for (m, _) in metrics {
            columns.push(header(&col_keys[c], m));
        }
    }
    if totals && !col_idx.is_empty() {
        for (m, _) in metrics {
            columns.push(if metrics.len() == 1 {
                "Total".into()
            } else {
                format!("Total · {m}")
            });
        }
    }
    let num = |v: Option<f64>| v.map(|f| json!(f)).unwrap_or(Value::Null);
    let mut out_rows = Vec::new();
    for (ri, rk) in row_keys.iter().enumerate() {
        let mut row: Vec<Value> = rk.iter().map(|s| Value::String(s.clone())).collect();
        for &c in &order {
            for m in 0..metrics.len() {
                row.push(num(cells.get(&(ri, c, m)).and_then(|v| combine(v))));
            }
        }
        if totals && !col_idx.is_empty() {
            for m in 0..metrics.len() {
                let all: Vec<f64> = (0..col_keys.len())
                    .filter_map(|c| cells.get(&(ri, c, m)))
                    .flatten()
                    .copied()
                    .collect();
                row.push(num(combine(&all)));
            }
        }
        out_rows.push(row);
    }
    if totals {
        let mut row: Vec<Value> = vec![Value::String("Total".into())];
        row.extend((1..row_names.len()).map(|_| Value::String(String::new())));
        let mut column_totals = |c: Option<usize>, m: usize| {
            let all: Vec<f64> = (0..row_keys.len())
                .flat_map(|r| match c {
                    Some(c) => cells.get(&(r, c, m)).cloned().unwrap_or_default(),
                    None => (0..col_keys.len())
                        .filter_map(|c| cells.get(&(r, c, m)))
                        .flatten()
                        .copied()
                        .collect(),
                })
                .collect();
            row.push(num(combine(&all)));
        };
        for &c in &order {
            for m in 0..metrics.len() {
                column_totals(Some(c), m);
            }
        }
        if !col_idx.is_empty() {
            for m in 0..metrics.len() {
                column_totals(None, m);
            }
        }
        out_rows.push(row);
    }
    TableData {
        columns,
        rows: out_rows,
        index_columns: row_names.len(),
    }
}

fn humanize(name: &str) -> String {
    let s = name.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// How to draw the chart: kind, titles, formats, size.
pub fn render_spec(
    config: &ChartConfig,
    plan: &Plan,
    title: &str,
    width: u32,
    height: u32,
    metric_format: impl Fn(&Metric) -> Option<String>,
) -> RenderSpec {
    spec_of(config, plan, title, width, height, &metric_format)
}

/// [`render_spec`], not generic, so that a mixed chart can ask it for its xy form.
fn spec_of(
    config: &ChartConfig,
    plan: &Plan,
    title: &str,
    width: u32,
    height: u32,
    metric_format: &dyn Fn(&Metric) -> Option<String>,
) -> RenderSpec {
    let kind = match config {
        ChartConfig::Xy(c) => match c.kind.as_str() {
            "bar" => ChartKind::Bar,
            "area" => ChartKind::Area,
            "scatter" => ChartKind::Scatter,
            _ => ChartKind::Line,
        },
        ChartConfig::Pie(c) => ChartKind::Pie { donut: c.donut },
        ChartConfig::BigNumber(_) => ChartKind::BigNumber,
        ChartConfig::Table(_) => ChartKind::Table,
        ChartConfig::PivotTable(_) => ChartKind::Pivot,
        ChartConfig::Funnel(_) => ChartKind::Funnel,
        ChartConfig::Treemap(_) => ChartKind::Treemap,
        ChartConfig::Waterfall(_) => ChartKind::Waterfall,
        ChartConfig::Gauge(_) => ChartKind::Gauge,
        ChartConfig::Heatmap(_) => ChartKind::Heatmap,
        ChartConfig::Histogram(_) => ChartKind::Bar,
        ChartConfig::BoxPlot(_) => ChartKind::BoxPlot,
        ChartConfig::MixedTimeseries(c) => mixed_kind(&c.kind),
    };
    let mut spec = RenderSpec::new(title, kind);
    spec.width = width;
    spec.height = height;
    match config {
        ChartConfig::Xy(c) => {
            spec.x_title = c.x_axis_title.clone().or_else(|| {
                Some(match (&c.time_grain, &plan.x) {
                    (Some(g), _) => humanize(g),
                    (None, Some(x)) => humanize(x),
                    (None, None) => String::new(),
                })
            });
            spec.y_title = c
                .y_axis_title
                .clone()
                .or_else(|| (c.metrics.len() == 1).then(|| humanize(&c.metrics[0].label())));
            spec.y_format = c
                .y_axis_format
                .clone()
                .or_else(|| c.metrics.first().and_then(&metric_format));
            spec.stacked = c.stacked;
            spec.horizontal = c.orientation.as_deref() == Some("horizontal");
            spec.show_legend = c.show_legend.unwrap_or(true);
        }
        ChartConfig::Pie(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
            spec.show_legend = c.show_legend.unwrap_or(true);
        }
        ChartConfig::BigNumber(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
        }
        ChartConfig::Table(c) => spec.y_format = c.format.clone(),
        ChartConfig::PivotTable(c) => {
            spec.y_format = c
                .format
                .clone()
                .or_else(|| c.metrics.first().and_then(&metric_format))
        }
        ChartConfig::Funnel(c) | ChartConfig::Treemap(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
        }
        ChartConfig::Waterfall(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
            spec.x_title = Some(humanize(c.time_grain.as_deref().unwrap_or(&c.x)));
            spec.y_title = Some(humanize(&c.metric.label()));
            spec.show_legend = false;
        }
        ChartConfig::Gauge(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
            spec.range = Some((c.min.unwrap_or(0.0), c.max));
        }
        ChartConfig::Heatmap(c) => {
            spec.y_format = c.format.clone().or_else(|| metric_format(&c.metric));
            spec.x_title = Some(humanize(&c.x));
            spec.y_title = Some(humanize(&c.y));
        }
        ChartConfig::Histogram(c) => {
            spec.x_title = Some(humanize(&c.column));
            spec.y_title = Some("Count".into());
            spec.y_format = Some(",d".into());
            spec.show_legend = false;
        }
        ChartConfig::BoxPlot(c) => {
            spec.y_format = c.format.clone();
            spec.x_title = c.group_by.as_deref().map(humanize);
            spec.y_title = Some(humanize(&c.column));
        }
        ChartConfig::MixedTimeseries(c) => {
            // The x axis, the left format and the legend as the same chart drawn as xy.
            let xy = spec_of(
                &ChartConfig::Xy(c.as_xy()),
                plan,
                title,
                width,
                height,
                metric_format,
            );
            let title =
                |metrics: &[Metric]| (metrics.len() == 1).then(|| humanize(&metrics[0].label()));
            spec.x_title = xy.x_title;
            spec.y_format = xy.y_format;
            spec.show_legend = xy.show_legend;
            spec.y_title = c.y_axis_title.clone().or_else(|| title(&c.metrics));
            spec.secondary = Some(SecondaryAxis {
                metrics: c.secondary_metrics.len(),
                of: c.metrics.len() + c.secondary_metrics.len(),
                kind: mixed_kind(&c.secondary_kind),
                y_title: c
                    .secondary_y_axis_title
                    .clone()
                    .or_else(|| title(&c.secondary_metrics)),
                y_format: c
                    .secondary_y_axis_format
                    .clone()
                    .or_else(|| c.secondary_metrics.first().and_then(&metric_format)),
            });
        }
    }
    spec
}

/// How one axis of a mixed chart draws its metrics.
fn mixed_kind(kind: &str) -> ChartKind {
    match kind {
        "bar" => ChartKind::Bar,
        "area" => ChartKind::Area,
        _ => ChartKind::Line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn percent_columns_divide_by_the_column_total() {
        let config = ChartConfig::parse(&json!({"chart_type": "table", "group_by": ["r"],
            "metrics": [{"saved_metric": "m"}],
            "percent_metrics": [{"saved_metric": "m"}, {"saved_metric": "m"}, {"saved_metric": "z"}]}))
        .expect("config");
        let mut rows = vec![
            vec![json!("a"), json!(1), json!(0)],
            vec![json!("b"), json!(3), json!(0)],
            vec![json!("c"), Value::Null, json!(0)],
        ];
        let added = add_percent_columns(&config, &cols(&["r", "m", "z"]), &mut rows);
        assert_eq!(added, ["%m", "%z"], "each percent metric once");
        assert_eq!(rows[0][3], json!(0.25));
        assert_eq!(rows[1][3], json!(0.75));
        assert_eq!(rows[2][3], json!(0.0), "null counts as 0");
        assert_eq!(rows[0][4], Value::Null, "a zero total has no shares");
    }

    fn xy(config: Value) -> (ChartConfig, Plan) {
        let c = ChartConfig::parse(&config).unwrap();
        let plan = Plan {
            spec: QuerySpec::default(),
            limit: 100,
            x: Some("x".into()),
            x_is_time: false,
        };
        (c, plan)
    }

    #[test]
    fn groups_become_series_aligned_on_x() {
        let (c, plan) = xy(json!({"chart_type": "xy", "kind": "bar", "x": "x",
            "metrics": [{"saved_metric": "m"}], "group_by": ["g"]}));
        let rows = vec![
            vec![json!("a"), json!("g1"), json!(1)],
            vec![json!("a"), json!("g2"), json!("2.5")],
            vec![json!("b"), json!("g1"), json!(3)],
        ];
        let (data, _) = shape(&c, &plan, &cols(&["x", "g", "m"]), &rows).unwrap();
        assert_eq!(data.x, XAxis::Categories(vec!["a".into(), "b".into()]));
        assert_eq!(data.series.len(), 2);
        assert_eq!(data.series[0].name, "g1");
        assert_eq!(data.series[0].values, vec![Some(1.0), Some(3.0)]);
        assert_eq!(data.series[1].values, vec![Some(2.5), None]);
        data.check_lengths().unwrap();
    }

    #[test]
    fn time_buckets_are_sorted_instants() {
        let (c, mut plan) = xy(json!({"chart_type": "xy", "x": "d", "time_grain": "month",
            "metrics": [{"saved_metric": "m"}]}));
        plan.spec.time_grain = Some("month".into());
        plan.x_is_time = true;
        let rows = vec![
            vec![json!("2024-02-01"), json!(2)],
            vec![json!("2024-01-01T00:00:00+00:00"), json!(1)],
        ];
        let (data, _) = shape(&c, &plan, &cols(&[TIME_COLUMN, "m"]), &rows).unwrap();
        let XAxis::Time(t) = &data.x else {
            panic!("time axis expected")
        };
        assert!(t[0] < t[1]);
        assert_eq!(data.series[0].values, vec![Some(1.0), Some(2.0)]);
    }

    #[test]
    fn pie_keeps_the_largest_slices_and_sums_the_rest() {
        let c = ChartConfig::parse(&json!({"chart_type": "pie", "dimension": "d",
            "metric": {"saved_metric": "m"}, "max_slices": 3}))
        .unwrap();
        let p = plan(&c, &dataset(), &[]).unwrap();
        let rows: Vec<Vec<Value>> = (1..=5)
            .map(|i| vec![json!(format!("s{i}")), json!(i)])
            .collect();
        let (data, notes) = shape(&c, &p, &cols(&["d", "m"]), &rows).unwrap();
        assert_eq!(
            data.x,
            XAxis::Categories(vec!["s5".into(), "s4".into(), "Other".into()])
        );
        assert_eq!(data.series[0].values, vec![Some(5.0), Some(4.0), Some(6.0)]);
        assert_eq!(notes.0.len(), 1);
    }

    #[test]
    fn pivot_with_totals() {
        let c = ChartConfig::parse(
            &json!({"chart_type": "pivot_table", "rows": ["r"], "columns": ["c"],
            "metrics": [{"saved_metric": "m"}], "show_totals": true}),
        )
        .unwrap();
        let p = plan(&c, &dataset(), &[]).unwrap();
        let rows = vec![
            vec![json!("north"), json!("x"), json!(1)],
            vec![json!("north"), json!("y"), json!(2)],
            vec![json!("south"), json!("x"), json!(4)],
        ];
        let (data, _) = shape(&c, &p, &cols(&["r", "c", "m"]), &rows).unwrap();
        let t = data.table.unwrap();
        assert_eq!(t.columns, cols(&["r", "x", "y", "Total"]));
        assert_eq!(
            t.rows[0],
            vec![json!("north"), json!(1.0), json!(2.0), json!(3.0)]
        );
        assert_eq!(
            t.rows[1],
            vec![json!("south"), json!(4.0), Value::Null, json!(4.0)]
        );
        assert_eq!(
            t.rows[2],
            vec![json!("Total"), json!(5.0), json!(2.0), json!(7.0)]
        );
        assert_eq!(t.index_columns, 1);
    }

    #[test]
    fn big_number_takes_the_latest_period_and_compares() {
        let c = ChartConfig::parse(
            &json!({"chart_type": "big_number", "metric": {"saved_metric": "m"},
            "time_grain": "month", "show_trendline": true, "compare_to_previous_period": true}),
        )
        .unwrap();
        let p = plan(&c, &dataset(), &[]).unwrap();
        let rows = vec![
            vec![json!("2024-01-01"), json!(10)],
            vec![json!("2024-02-01"), json!(12)],
        ];
        let (data, _) = shape(&c, &p, &cols(&[TIME_COLUMN, "m"]), &rows).unwrap();
        let b = data.big_number.unwrap();
        assert_eq!((b.value, b.previous), (Some(12.0), Some(10.0)));
        assert_eq!(b.trendline, vec![10.0, 12.0]);
    }

    #[test]
    fn a_big_number_asks_what_a_line_of_its_metric_and_grain_asks() {
        let columns = [DatasetColumn {
            id: 1,
            dataset_id: 1,
            column_name: "d".into(),
            data_type: "TIMESTAMP".into(),
            is_temporal: true,
            is_groupable: true,
            is_filterable: true,
            expression: None,
            description: String::new(),
        }];
        let big = ChartConfig::parse(&json!({"chart_type": "big_number",
            "metric": {"saved_metric": "m"}, "x": "d", "time_grain": "month",
            "show_trendline": true, "compare_to_previous_period": true}))
        .unwrap();
        let line = ChartConfig::parse(&json!({"chart_type": "xy", "kind": "line", "x": "d",
            "time_grain": "month", "metrics": [{"saved_metric": "m"}]}))
        .unwrap();
        let (b, l) = (
            plan(&big, &dataset(), &columns).unwrap(),
            plan(&line, &dataset(), &columns).unwrap(),
        );
        assert_eq!(format!("{:?}", b.spec), format!("{:?}", l.spec));
        assert_eq!(b.limit, l.limit);
        // The data stops mid-February: the headline is February's, said to be unfinished.
        let rows = vec![
            vec![json!("2024-01-01"), json!(10), json!("2024-01-31 20:00:00")],
            vec![json!("2024-02-01"), json!(4), json!("2024-02-10 09:00:00")],
        ];
        let names = cols(&[TIME_COLUMN, "m", LATEST_COLUMN]);
        let (data, notes) = shape(&big, &b, &names, &rows).unwrap();
        let n = data.big_number.unwrap();
        assert_eq!((n.value, n.previous), (Some(4.0), Some(10.0)));
        assert_eq!(
            notes.0,
            ["The latest month (from 2024-02-01) is unfinished: the data ends on 2024-02-10."]
        );
        // A whole last month says nothing.
        let rows = vec![rows[0].clone()];
        let (_, notes) = shape(&big, &b, &names, &rows).unwrap();
        assert!(notes.0.is_empty(), "{:?}", notes.0);
    }

    fn dataset() -> Dataset {
        Dataset {
            id: 1,
            uuid: String::new(),
            database_id: 1,
            schema_name: None,
            table_name: "t".into(),
            sql: None,
            description: String::new(),
            main_dttm_col: Some("d".into()),
            extra: String::new(),
            created_on: NaiveDateTime::default(),
            changed_on: NaiveDateTime::default(),
            created_by_fk: None,
            changed_by_fk: None,
            deleted_on: None,
            cache_timeout: None,
        }
    }
}
