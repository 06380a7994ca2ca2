//! Between Superset's shapes and vizier's: SQLAlchemy URIs and data-source URLs, a chart's
//! `viz_type` + `params` and vizier's typed chart config, a dashboard's `position` tree and
//! vizier's grid layout. Pure functions; what does not carry over is said in `notes`.

use serde_json::{Map, Value, json};

use crate::charts::config::ChartConfig;
use crate::layout::{Cell, Content, GRID_COLUMNS, HeaderSize, Layout, MAX_MARKDOWN, Row, Tab};
use crate::query::builder::{Metric, QueryFilter, TimeRange};

use super::bundle::MASKED_PASSWORD;

/// A Superset SQLAlchemy URI as a vizier data-source URL.
#[derive(Debug, PartialEq)]
pub enum SourceUrl {
    Url(String),
    /// The password is Superset's mask: the real URL must be supplied.
    Masked,
    /// Not a backend vizier reads, or a form it cannot use (a relative SQLite path).
    Unusable(String),
}

/// `postgresql+psycopg2://…`, `mysql+mysqldb://…`, `sqlite:////abs.db` → vizier's URL.
pub fn source_url(uri: &str) -> SourceUrl {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return SourceUrl::Unusable("it is not a URI (scheme://…)".into());
    };
    let dialect = scheme
        .split('+')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let userinfo = rest.split('/').next().unwrap_or_default();
    if userinfo.rsplit_once('@').is_some_and(|(cred, _)| {
        cred.split_once(':')
            .is_some_and(|(_, p)| p == MASKED_PASSWORD)
    }) {
        return SourceUrl::Masked;
    }
    match dialect.as_str() {
        "postgresql" | "postgres" => SourceUrl::Url(format!("postgres://{rest}")),
        "mysql" | "mariadb" => SourceUrl::Url(format!("mysql://{rest}")),
        "sqlite" => {
            // SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db.
            let path = rest.split('?').next().unwrap_or_default();
            match path.strip_prefix('/') {
                Some(p) if p.starts_with('/') => SourceUrl::Url(format!("sqlite://{p}")),
                _ => SourceUrl::Unusable(format!(
                    "the SQLite path '{path}' is relative to Superset's working directory"
                )),
            }
        }
        other => SourceUrl::Unusable(format!("vizier has no '{other}' data source")),
    }
}

/// A vizier data-source URL as a SQLAlchemy URI, its password masked as Superset does.
pub fn sqlalchemy_uri(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let dialect = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => "postgresql",
        "mysql" | "mariadb" => "mysql",
        "sqlite" => return format!("sqlite:///{rest}"),
        other => return format!("{other}://{rest}"),
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{user}:{MASKED_PASSWORD}@{host}"),
            None => format!("{cred}@{host}"),
        },
        None => authority.to_string(),
    };
    format!("{dialect}://{authority}{tail}")
}

/// A chart's config as vizier stores it, and what did not carry over.
#[derive(Debug, Clone)]
pub struct MappedChart {
    /// `xy`, `table`, …, or `unsupported`.
    pub chart_type: String,
    pub config: Value,
    pub notes: Vec<String>,
}

/// The config vizier keeps for a chart of a type it does not draw.
pub fn unsupported(viz_type: &str, params: &Value, reason: String) -> MappedChart {
    MappedChart {
        chart_type: "unsupported".into(),
        config: json!({"chart_type": "unsupported", "viz_type": viz_type, "params": params}),
        notes: vec![reason],
    }
}

const GRAINS: &[(&str, &str)] = &[
    ("PT1H", "hour"),
    ("P1D", "day"),
    ("P1W", "week"),
    ("P1M", "month"),
    ("P3M", "quarter"),
    ("P1Y", "year"),
];

const OPS: &[(&str, &str)] = &[
    ("==", "eq"),
    ("!=", "ne"),
    (">", "gt"),
    (">=", "gte"),
    ("<", "lt"),
    ("<=", "lte"),
    ("IN", "in"),
    ("NOT IN", "nin"),
    ("LIKE", "like"),
    ("ILIKE", "ilike"),
    ("IS NULL", "is_null"),
    ("IS NOT NULL", "is_not_null"),
];

/// Reads one chart's params, collecting notes on what is dropped.
struct Params<'a> {
    p: &'a Map<String, Value>,
    notes: Vec<String>,
    /// A saved metric's SQL expression by name (the chart's dataset).
    saved: &'a dyn Fn(&str) -> Option<String>,
}

impl Params<'_> {
    fn str(&self, key: &str) -> Option<String> {
        self.p
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn bool(&self, key: &str) -> Option<bool> {
        self.p.get(key).and_then(Value::as_bool)
    }

    fn num(&self, key: &str) -> Option<u64> {
        match self.p.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A column reference: a name, or an adhoc column whose SQL is a plain name.
    fn column(&mut self, key: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(o) => {
                let sql = o.get("sqlExpression").and_then(Value::as_str)?;
                if sql.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    Some(sql.to_string())
                } else {
                    self.notes
                        .push(format!("{key}: the SQL column '{sql}' was dropped (vizier groups by dataset columns)"));
                    None
                }
            }
            _ => None,
        }
    }

    fn columns(&mut self, key: &str) -> Vec<String> {
        let items: Vec<Value> = self
            .p
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        items.iter().filter_map(|v| self.column(key, v)).collect()
    }

    fn metric(&mut self, key: &str, v: &Value) -> Option<Metric> {
        match v {
            Value::String(s) => Some(Metric::Saved {
                saved_metric: s.clone(),
            }),
            Value::Object(o) => {
                let label = o.get("label").and_then(Value::as_str).map(str::to_owned);
                match o.get("expressionType").and_then(Value::as_str) {
                    Some("SIMPLE") => {
                        let column = o.get("column").and_then(|c| match c {
                            Value::String(s) => Some(s.clone()),
                            c => c
                                .get("column_name")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        })?;
                        let aggregate = o
                            .get("aggregate")
                            .and_then(Value::as_str)?
                            .to_ascii_uppercase();
                        Some(Metric::Column {
                            column,
                            aggregate,
                            label,
                        })
                    }
                    Some("SQL") => Some(Metric::Sql {
                        sql: o.get("sqlExpression").and_then(Value::as_str)?.to_string(),
                        label: label.unwrap_or_else(|| "metric".into()),
                    }),
                    other => {
                        self.notes
                            .push(format!("{key}: a metric of kind {other:?} was dropped"));
                        None
                    }
                }
            }
            _ => None,
        }
    }

    fn metrics(&mut self, key: &str) -> Vec<Metric> {
        let items: Vec<Value> = match self.p.get(key) {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ (Value::String(_) | Value::Object(_))) => vec![v.clone()],
            _ => vec![],
        };
        items.iter().filter_map(|v| self.metric(key, v)).collect()
    }

    fn grain(&mut self) -> Option<String> {
        let g = self.str("time_grain_sqla")?;
        match GRAINS.iter().find(|(s, _)| *s == g) {
            Some((_, v)) => Some((*v).to_string()),
            None => {
                self.notes.push(format!(
                    "time_grain_sqla: grain {g} has no vizier equivalent; dropped"
                ));
                None
            }
        }
    }

    /// A d3 format vizier can draw (Superset's SMART_NUMBER is the default: dropped).
    fn format(&mut self, key: &str) -> Option<String> {
        let f = self.str(key)?;
        if f == "SMART_NUMBER" {
            return None;
        }
        match crate::render::format::NumberFormat::parse(&f) {
            Ok(_) => Some(f),
            Err(_) => {
                self.notes.push(format!(
                    "{key}: format '{f}' is not one vizier draws; dropped"
                ));
                None
            }
        }
    }

    /// Adhoc filters (WHERE, SIMPLE) and the time range, from `adhoc_filters` and the
    /// older `time_range` param. Returns the filters, the range and its column.
    fn filters(&mut self) -> (Vec<QueryFilter>, Option<TimeRange>, Option<String>) {
        let mut out = Vec::new();
        let mut range = self.str("time_range");
        let mut range_col = None;
        let items: Vec<Value> = self
            .p
            .get("adhoc_filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in &items {
            let kind = f.get("expressionType").and_then(Value::as_str);
            let clause = f.get("clause").and_then(Value::as_str).unwrap_or("WHERE");
            let op = f
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let subject = f.get("subject").and_then(Value::as_str).map(str::to_owned);
            if kind == Some("SIMPLE") && op == "TEMPORAL_RANGE" {
                range = f
                    .get("comparator")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                range_col = subject;
                continue;
            }
            if kind == Some("SQL") && (clause == "WHERE" || clause == "HAVING") {
                let sql = f
                    .get("sqlExpression")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim();
                if sql.is_empty() {
                    continue;
                }
                out.push(QueryFilter {
                    col: String::new(),
                    opr: if clause == "HAVING" { "having" } else { "sql" }.into(),
                    value: Some(Value::String(sql.to_owned())),
                });
                continue;
            }
            if kind == Some("SIMPLE") && clause == "HAVING" {
                match self.having(
                    subject.as_deref().unwrap_or_default(),
                    op,
                    f.get("comparator"),
                ) {
                    Ok(cond) => out.push(QueryFilter {
                        col: String::new(),
                        opr: "having".into(),
                        value: Some(Value::String(cond)),
                    }),
                    Err(why) => self.notes.push(format!(
                        "adhoc_filters: a SIMPLE HAVING filter was dropped: {why}"
                    )),
                }
                continue;
            }
            if kind != Some("SIMPLE") || clause != "WHERE" {
                let sql = f
                    .get("sqlExpression")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.notes.push(format!(
                    "adhoc_filters: a {} {clause} filter ({sql}{}) was dropped; vizier takes column conditions and SQL conditions",
                    kind.unwrap_or("?"),
                    subject.as_deref().map(|s| format!("on {s}")).unwrap_or_default()
                ));
                continue;
            }
            let Some(col) = subject else { continue };
            let mapped = match op {
                "IS TRUE" => Some(("eq", Some(json!(true)))),
                "IS FALSE" => Some(("eq", Some(json!(false)))),
                _ => OPS
                    .iter()
                    .find(|(s, _)| *s == op)
                    .map(|(_, v)| (*v, f.get("comparator").cloned())),
            };
            match mapped {
                Some((opr, value)) => out.push(QueryFilter {
                    col,
                    opr: opr.into(),
                    value: if opr.starts_with("is_") { None } else { value },
                }),
                None => self.notes.push(format!(
                    "adhoc_filters: operator '{op}' on {col} has no vizier equivalent; dropped"
                )),
            }
        }
        let range = range.and_then(|r| self.time_range(&r));
        (out, range, range_col)
    }

    /// A SIMPLE HAVING filter as a SQL condition on groups: its subject is a saved metric,
    /// the label of one of the chart's metrics, or an aggregate expression; the comparator
    /// a number, text or (IN / NOT IN) a list of them.
    fn having(
        &mut self,
        subject: &str,
        op: &str,
        comparator: Option<&Value>,
    ) -> Result<String, String> {
        let subject = subject.trim();
        if subject.is_empty() {
            return Err("it names no metric".into());
        }
        let own: Vec<Metric> = [
            "metrics",
            "metric",
            "percent_metrics",
            "timeseries_limit_metric",
        ]
        .iter()
        .flat_map(|k| {
            let items: Vec<Value> = match self.p.get(*k) {
                Some(Value::Array(a)) => a.clone(),
                Some(v @ (Value::String(_) | Value::Object(_))) => vec![v.clone()],
                _ => vec![],
            };
            let mut quiet = Params {
                p: self.p,
                notes: vec![],
                saved: self.saved,
            };
            items
                .iter()
                .filter_map(|v| quiet.metric(k, v))
                .collect::<Vec<_>>()
        })
        .collect();
        let expr = if let Some(e) = (self.saved)(subject) {
            e
        } else if let Some(m) = own.iter().find(|m| m.label() == subject) {
            match m {
                Metric::Saved { saved_metric } => (self.saved)(saved_metric).ok_or_else(|| {
                    format!("the saved metric '{saved_metric}' is not in the dataset")
                })?,
                Metric::Column {
                    column, aggregate, ..
                } => match aggregate.as_str() {
                    "COUNT_DISTINCT" => format!("COUNT(DISTINCT {column})"),
                    a => format!("{a}({column})"),
                },
                Metric::Sql { sql, .. } => sql.clone(),
            }
        } else if subject.contains('(') {
            subject.to_string()
        } else {
            return Err(format!(
                "'{subject}' is neither a saved metric, one of the chart's metrics nor an aggregate"
            ));
        };
        let literal = |v: &Value| -> Result<String, String> {
            match v {
                Value::Number(n) => Ok(n.to_string()),
                Value::String(t) => match t.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(t.trim().to_string()),
                    _ => Ok(format!("'{}'", t.replace('\'', "''"))),
                },
                Value::Bool(b) => Ok(if *b { "1" } else { "0" }.into()),
                _ => Err(format!("the value {v} is not a number or text")),
            }
        };
        let cond = match op {
            "IS NULL" | "IS NOT NULL" => format!("{expr} {op}"),
            "IN" | "NOT IN" => {
                let items = match comparator {
                    Some(Value::Array(a)) if !a.is_empty() => {
                        a.iter().map(literal).collect::<Result<Vec<_>, _>>()?
                    }
                    _ => return Err(format!("{op} needs a list of values")),
                };
                format!("{expr} {op} ({})", items.join(", "))
            }
            "==" | "=" | "!=" | "<>" | ">" | "<" | ">=" | "<=" => {
                let v = comparator
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| format!("the operator {op} needs a value"))?;
                let sql_op = match op {
                    "==" => "=",
                    "!=" => "<>",
                    o => o,
                };
                format!("{expr} {sql_op} {}", literal(v)?)
            }
            other => {
                return Err(format!(
                    "the operator '{other}' has no HAVING form in vizier"
                ));
            }
        };
        Ok(cond)
    }

    /// `No filter`, `START : END` with explicit dates, or a relative range (kept as text and
    /// resolved at each query); a form vizier does not read is dropped, with a note.
    ///
    /// Bounds are kept as Superset writes them into SQL, `YYYY-MM-DD HH:MM:SS`: Superset 6.1
    /// compares a text date column with that literal (the harness in tests/superset showed
    /// it, python_date_format notwithstanding), so a row dated `2024-01-01` falls outside
    /// `2024-01-01 : …` there, and here too.
    fn time_range(&mut self, r: &str) -> Option<TimeRange> {
        if r.trim().is_empty() || r.trim() == "No filter" {
            return None;
        }
        // Some(None): an open side; Some(Some(t)): an explicit time; None: not explicit.
        let explicit = |s: &str| -> Option<Option<String>> {
            let s = s.trim();
            if s.is_empty() {
                return Some(None);
            }
            crate::query::list::parse_time(s)
                .map(|t| Some(t.format("%Y-%m-%d %H:%M:%S").to_string()))
        };
        if let Some((a, b)) = r.split_once(" : ")
            && let (Some(start), Some(end)) = (explicit(a), explicit(b))
        {
            return Some(TimeRange {
                start,
                end,
                relative: None,
            });
        }
        if crate::query::relative::resolve(r, chrono::Utc::now().naive_utc()).is_some() {
            return Some(TimeRange {
                start: None,
                end: None,
                relative: Some(r.trim().to_owned()),
            });
        }
        self.notes.push(format!(
            "time_range: '{r}' is not a range vizier reads, so the chart shows all time"
        ));
        None
    }
}

fn kind_of(viz_type: &str) -> Option<&'static str> {
    Some(match viz_type {
        "echarts_timeseries_line"
        | "echarts_timeseries"
        | "line"
        | "echarts_timeseries_smooth"
        | "echarts_timeseries_step" => "line",
        "echarts_timeseries_bar" | "bar" | "dist_bar" => "bar",
        "echarts_area" | "area" => "area",
        "echarts_timeseries_scatter" => "scatter",
        _ => return None,
    })
}

/// A Superset chart as vizier's config. Types vizier does not draw come back `unsupported`
/// with their params kept; the result is not yet checked against the dataset.
pub fn chart_from_superset(viz_type: &str, params: &Value) -> MappedChart {
    chart_from_superset_with(viz_type, params, &|_| None)
}

/// [`chart_from_superset`] knowing the dataset's saved metrics (`saved` gives a saved
/// metric's SQL by name): a SIMPLE HAVING filter on a saved metric needs its expression.
pub fn chart_from_superset_with(
    viz_type: &str,
    params: &Value,
    saved: &dyn Fn(&str) -> Option<String>,
) -> MappedChart {
    let empty = Map::new();
    let mut p = Params {
        p: params.as_object().unwrap_or(&empty),
        notes: vec![],
        saved,
    };
    let (filters, time_range, range_col) = p.filters();
    let row_limit = p
        .num("row_limit")
        .map(|n| n.clamp(1, crate::charts::config::MAX_ROW_LIMIT));
    let mut c = Map::new();
    let mut put = |k: &str, v: Value| {
        if !(v.is_null() || v == json!([]) || v == json!(false)) {
            c.insert(k.into(), v);
        }
    };
    let m = |v: Vec<Metric>| serde_json::to_value(v).unwrap_or(Value::Null);
    let chart_type = if let Some(kind) = kind_of(viz_type) {
        if viz_type.ends_with("smooth") || viz_type.ends_with("step") {
            p.notes.push(format!("{viz_type} is drawn as a plain line"));
        }
        let x = match p.p.get("x_axis").cloned() {
            Some(v) => p.column("x_axis", &v),
            None => p.str("granularity_sqla"),
        }
        .or(range_col);
        put("kind", json!(kind));
        put("x", json!(x));
        put("metrics", m(p.metrics("metrics")));
        put("group_by", json!(p.columns("groupby")));
        put("time_grain", json!(p.grain()));
        let stack = p.p.get("stack").is_some_and(|s| {
            s.as_bool() == Some(true) || s.as_str().is_some_and(|s| !s.is_empty())
        });
        put("stacked", json!(stack));
        if p.str("orientation").as_deref() == Some("horizontal") {
            put("orientation", json!("horizontal"));
        }
        put("x_axis_title", json!(p.str("x_axis_title")));
        put("y_axis_title", json!(p.str("y_axis_title")));
        put("y_axis_format", json!(p.format("y_axis_format")));
        put("show_legend", json!(p.bool("show_legend")));
        // Categories sorted by a metric, largest first.
        put(
            "order_desc",
            json!(p.str("x_axis_sort").is_some() && p.bool("x_axis_sort_asc") == Some(false)),
        );
        put("row_limit", json!(row_limit));
        "xy"
    } else {
        match viz_type {
            "mixed_timeseries" => {
                let x = match p.p.get("x_axis").cloned() {
                    Some(v) => p.column("x_axis", &v),
                    None => p.str("granularity_sqla"),
                }
                .or(range_col);
                // Query B's own filters and grouping are not kept apart: vizier draws both
                // axes from one query.
                let groups = p.columns("groupby");
                let groups_b = p.columns("groupby_b");
                if !groups_b.is_empty() && groups_b != groups {
                    p.notes.push(
                        "mixed_timeseries: query B's groupby differs from query A's; both axes use query A's".into(),
                    );
                }
                if p.p
                    .get("adhoc_filters_b")
                    .and_then(Value::as_array)
                    .is_some_and(|f| !f.is_empty())
                {
                    p.notes.push(
                        "mixed_timeseries: query B's filters are not kept; both axes use query A's"
                            .into(),
                    );
                }
                let kind = |key: &str, area: &str, p: &mut Params| {
                    let t = p.str(key).unwrap_or_default();
                    if p.bool(area) == Some(true) {
                        "area"
                    } else if t == "bar" {
                        "bar"
                    } else {
                        if !t.is_empty() && t != "line" {
                            p.notes
                                .push(format!("mixed_timeseries: {key} '{t}' is drawn as a line"));
                        }
                        "line"
                    }
                };
                let (ka, kb) = (
                    kind("seriesType", "area", &mut p),
                    kind("seriesTypeB", "areaB", &mut p),
                );
                put("x", json!(x));
                put("metrics", m(p.metrics("metrics")));
                put("kind", json!(ka));
                put("secondary_metrics", m(p.metrics("metrics_b")));
                put("secondary_kind", json!(kb));
                put("group_by", json!(groups));
                put("time_grain", json!(p.grain()));
                put("y_axis_format", json!(p.format("y_axis_format")));
                put(
                    "secondary_y_axis_format",
                    json!(p.format("y_axis_format_secondary")),
                );
                put("y_axis_title", json!(p.str("y_axis_title")));
                put("show_legend", json!(p.bool("show_legend")));
                put("row_limit", json!(row_limit));
                "mixed_timeseries"
            }
            "pie" => {
                let dims = p.columns("groupby");
                if dims.len() > 1 {
                    p.notes.push(format!(
                        "pie: grouped by {} columns; vizier splits by the first",
                        dims.len()
                    ));
                }
                put("dimension", json!(dims.first()));
                put("metric", json!(p.metrics("metric").first()));
                put("donut", json!(p.bool("donut").unwrap_or(false)));
                put("format", json!(p.format("number_format")));
                put("show_legend", json!(p.bool("show_legend")));
                put("max_slices", json!(row_limit.map(|n| n.clamp(2, 50))));
                "pie"
            }
            "big_number_total" => {
                put("metric", json!(p.metrics("metric").first()));
                put("format", json!(p.format("y_axis_format")));
                "big_number"
            }
            "big_number" => {
                let x = match p.p.get("x_axis").cloned() {
                    Some(v) => p.column("x_axis", &v),
                    None => p.str("granularity_sqla"),
                }
                .or(range_col);
                put("metric", json!(p.metrics("metric").first()));
                put("x", json!(x));
                put(
                    "time_grain",
                    json!(p.grain().unwrap_or_else(|| "day".into())),
                );
                put(
                    "show_trendline",
                    json!(p.bool("show_trend_line").unwrap_or(true)),
                );
                put(
                    "compare_to_previous_period",
                    json!(p.num("compare_lag").is_some_and(|n| n > 0)),
                );
                put("format", json!(p.format("y_axis_format")));
                "big_number"
            }
            "table" => {
                let raw = p.str("query_mode").as_deref() == Some("raw");
                put("mode", json!(if raw { "raw" } else { "aggregate" }));
                if raw {
                    put("columns", json!(p.columns("all_columns")));
                    // order_by_cols: ["[\"col\", true]"] (JSON strings; true = ascending).
                    let first =
                        p.p.get("order_by_cols")
                            .and_then(Value::as_array)
                            .and_then(|a| a.first())
                            .and_then(Value::as_str)
                            .and_then(|s| serde_json::from_str::<(String, bool)>(s).ok());
                    if let Some((col, asc)) = first {
                        put("order_by", json!(col));
                        put("order_desc", json!(!asc));
                    }
                } else {
                    put("group_by", json!(p.columns("groupby")));
                    let metrics = p.metrics("metrics");
                    let sort =
                        p.p.get("timeseries_limit_metric")
                            .cloned()
                            .and_then(|v| p.metric("timeseries_limit_metric", &v));
                    let order = sort.or_else(|| metrics.first().cloned());
                    put("metrics", m(metrics));
                    if let Some(o) = order {
                        put("order_by", json!(o.label()));
                        put("order_desc", json!(p.bool("order_desc").unwrap_or(true)));
                    }
                    let percent = p.metrics("percent_metrics");
                    if !percent.is_empty() {
                        put("percent_metrics", m(percent));
                    }
                }
                put("row_limit", json!(row_limit));
                "table"
            }
            "pivot_table_v2" => {
                put("rows", json!(p.columns("groupbyRows")));
                put("columns", json!(p.columns("groupbyColumns")));
                put("metrics", m(p.metrics("metrics")));
                let agg = p.str("aggregateFunction");
                let mapped = match agg.as_deref() {
                    None | Some("Sum") => None,
                    Some("Average") => Some("mean"),
                    Some("Minimum") => Some("min"),
                    Some("Maximum") => Some("max"),
                    Some("Count") => Some("count"),
                    Some(other) => {
                        p.notes.push(format!(
                            "pivot_table_v2: totals by '{other}' are drawn as sums"
                        ));
                        None
                    }
                };
                put("aggregate_function", json!(mapped));
                put(
                    "show_totals",
                    json!(
                        p.bool("rowTotals").unwrap_or(false)
                            || p.bool("colTotals").unwrap_or(false)
                    ),
                );
                put("format", json!(p.format("valueFormat")));
                put("row_limit", json!(row_limit));
                "pivot_table"
            }
            "funnel" | "treemap_v2" => {
                let dims = p.columns("groupby");
                if dims.len() > 1 {
                    p.notes.push(format!(
                        "{viz_type}: grouped by {} columns; vizier splits by the first",
                        dims.len()
                    ));
                }
                put("dimension", json!(dims.first()));
                put("metric", json!(p.metrics("metric").first()));
                put("format", json!(p.format("number_format")));
                put("max_items", json!(row_limit.map(|n| n.clamp(2, 50))));
                if viz_type == "funnel" {
                    "funnel"
                } else {
                    "treemap"
                }
            }
            "waterfall" => {
                let x = match p.p.get("x_axis").cloned() {
                    Some(v) => p.column("x_axis", &v),
                    None => None,
                }
                .or(range_col);
                put("x", json!(x));
                put("metric", json!(p.metrics("metric").first()));
                put("time_grain", json!(p.grain()));
                put("format", json!(p.format("y_axis_format")));
                "waterfall"
            }
            "gauge_chart" => {
                let f = |k: &str| p.p.get(k).and_then(Value::as_f64);
                let (lo, hi) = (f("min_val"), f("max_val"));
                put("metric", json!(p.metrics("metric").first()));
                put("min", json!(lo));
                put("max", json!(hi));
                put("format", json!(p.format("number_format")));
                "gauge"
            }
            "heatmap_v2" => {
                let x = match p.p.get("x_axis").cloned() {
                    Some(v) => p.column("x_axis", &v),
                    None => None,
                };
                let y = match p.p.get("groupby").cloned() {
                    Some(Value::Array(a)) => a.first().and_then(|v| p.column("groupby", v)),
                    Some(v) => p.column("groupby", &v),
                    None => None,
                };
                put("x", json!(x));
                put("y", json!(y));
                put("metric", json!(p.metrics("metric").first()));
                put("time_grain", json!(p.grain()));
                put("format", json!(p.format("y_axis_format")));
                "heatmap"
            }
            "histogram_v2" => {
                let column = match p.p.get("column").cloned() {
                    Some(v) => p.column("column", &v),
                    None => None,
                };
                put("column", json!(column));
                put("bins", json!(p.num("bins").map(|n| n.clamp(2, 100))));
                put("row_limit", json!(row_limit));
                "histogram"
            }
            "box_plot" => {
                // vizier's box plot reads a column's values; Superset's distributes a metric
                // across columns. The form vizier exports (the column's MAX distributed
                // across the column itself) maps back.
                let across = p.columns("columns");
                let metrics = p.metrics("metrics");
                let same = match (across.as_slice(), metrics.as_slice()) {
                    (
                        [c],
                        [
                            Metric::Column {
                                column, aggregate, ..
                            },
                        ],
                    ) => c == column && aggregate.eq_ignore_ascii_case("MAX"),
                    _ => false,
                };
                if !same {
                    return unsupported(
                        viz_type,
                        params,
                        "box_plot: only the form vizier exports (a column's MAX distributed across the column) maps to a vizier box plot; kept with its params".into(),
                    );
                }
                put("column", json!(across.first()));
                put("group_by", json!(p.columns("groupby").first()));
                put("format", json!(p.format("number_format")));
                put("row_limit", json!(row_limit));
                "box_plot"
            }
            other => {
                return unsupported(
                    other,
                    params,
                    format!(
                        "viz_type '{other}' is not a chart type vizier draws; kept with its params"
                    ),
                );
            }
        }
    };
    put(
        "filters",
        serde_json::to_value(&filters).unwrap_or(Value::Null),
    );
    put(
        "time_range",
        serde_json::to_value(&time_range).unwrap_or(Value::Null),
    );
    c.insert("chart_type".into(), json!(chart_type));
    let config = Value::Object(c);
    match ChartConfig::parse(&config) {
        Ok(parsed) => MappedChart {
            chart_type: chart_type.into(),
            config: parsed.to_json(),
            notes: p.notes,
        },
        Err(e) => {
            let mut u = unsupported(
                viz_type,
                params,
                format!(
                    "its params do not make a vizier {chart_type} chart: {}",
                    e.message
                ),
            );
            u.notes.extend(p.notes);
            u
        }
    }
}

fn grain_iso(g: &Option<String>) -> Option<&'static str> {
    let g = g.as_deref()?;
    GRAINS.iter().find(|(_, v)| *v == g).map(|(s, _)| *s)
}

fn metric_json(m: &Metric) -> Value {
    match m {
        Metric::Saved { saved_metric } => json!(saved_metric),
        Metric::Column {
            column,
            aggregate,
            label,
        } => json!({
            "expressionType": "SIMPLE",
            "column": {"column_name": column},
            "aggregate": aggregate.to_ascii_uppercase(),
            "label": label.clone().unwrap_or_else(|| m.label()),
            "hasCustomLabel": label.is_some(),
            "optionName": format!("metric_{}", m.label()),
        }),
        Metric::Sql { sql, label } => json!({
            "expressionType": "SQL",
            "sqlExpression": sql,
            "label": label,
            "hasCustomLabel": true,
            "optionName": format!("metric_{label}"),
        }),
    }
}

fn time_range_text(r: &Option<TimeRange>) -> String {
    match r {
        Some(TimeRange {
            relative: Some(rel),
            ..
        }) => rel.clone(),
        Some(TimeRange { start, end, .. }) if start.is_some() || end.is_some() => format!(
            "{} : {}",
            start.as_deref().unwrap_or(""),
            end.as_deref().unwrap_or("")
        ),
        _ => "No filter".into(),
    }
}

/// Superset's form of vizier filters: adhoc filters for params and `{col, op, val}` for
/// the query context.
fn filters_json(filters: &[QueryFilter]) -> (Vec<Value>, Vec<Value>) {
    let mut adhoc = Vec::new();
    let mut query = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        if f.opr == "sql" || f.opr == "having" {
            adhoc.push(json!({
                "clause": if f.opr == "having" { "HAVING" } else { "WHERE" },
                "expressionType": "SQL",
                "sqlExpression": f.value.as_ref().and_then(Value::as_str).unwrap_or_default(),
                "subject": null, "operator": null, "comparator": null,
                "filterOptionName": format!("filter_{i}"), "isExtra": false, "isNew": false,
            }));
            continue;
        }
        let (op, val) = match f.opr.as_str() {
            "ct" | "sw" | "ew" => {
                let v = f.value.as_ref().and_then(Value::as_str).unwrap_or_default();
                let pat = match f.opr.as_str() {
                    "ct" => format!("%{v}%"),
                    "sw" => format!("{v}%"),
                    _ => format!("%{v}"),
                };
                ("LIKE", json!(pat))
            }
            o => (
                OPS.iter().find(|(_, v)| *v == o).map_or("==", |(s, _)| *s),
                f.value.clone().unwrap_or(Value::Null),
            ),
        };
        adhoc.push(json!({
            "clause": "WHERE", "expressionType": "SIMPLE", "subject": f.col, "operator": op,
            "comparator": val, "filterOptionName": format!("filter_{i}"), "isExtra": false,
            "isNew": false, "sqlExpression": null,
        }));
        let mut q = json!({"col": f.col, "op": op});
        if !op.starts_with("IS ") {
            q["val"] = val;
        }
        query.push(q);
    }
    (adhoc, query)
}

/// A vizier chart as Superset's `viz_type`, `params` and `query_context` (a JSON string).
/// `datasource` is the chart's dataset id (Superset rewrites it on import); `time_col` the
/// dataset's main time column.
pub fn chart_to_superset(
    config: &Value,
    dataset_id: i32,
    time_col: Option<&str>,
) -> Result<(String, Value, Option<String>), String> {
    if config.get("chart_type").and_then(Value::as_str) == Some("unsupported") {
        let vt = config
            .get("viz_type")
            .and_then(Value::as_str)
            .unwrap_or("table")
            .to_string();
        return Ok((vt, config.get("params").cloned().unwrap_or(json!({})), None));
    }
    let c = ChartConfig::parse(config).map_err(|e| e.message)?;
    let datasource = format!("{dataset_id}__table");
    let (filters, range, row_limit) = match &c {
        ChartConfig::Xy(x) => (&x.filters, &x.time_range, x.row_limit),
        ChartConfig::Table(t) => (&t.filters, &t.time_range, t.row_limit),
        ChartConfig::Pie(p) => (&p.filters, &p.time_range, p.max_slices),
        ChartConfig::BigNumber(b) => (&b.filters, &b.time_range, None),
        ChartConfig::PivotTable(p) => (&p.filters, &p.time_range, p.row_limit),
        ChartConfig::Funnel(p) | ChartConfig::Treemap(p) => {
            (&p.filters, &p.time_range, p.max_items)
        }
        ChartConfig::Waterfall(w) => (&w.filters, &w.time_range, None),
        ChartConfig::Gauge(g) => (&g.filters, &g.time_range, None),
        ChartConfig::Heatmap(h) => (&h.filters, &h.time_range, None),
        ChartConfig::Histogram(h) => (&h.filters, &h.time_range, h.row_limit),
        ChartConfig::BoxPlot(b) => (&b.filters, &b.time_range, b.row_limit),
        ChartConfig::MixedTimeseries(x) => (&x.filters, &x.time_range, x.row_limit),
    };
    let (mut adhoc, mut qfilters) = filters_json(filters);
    let range_text = time_range_text(range);
    let range_col = match &c {
        ChartConfig::Xy(x) => x.x.as_deref().or(time_col),
        ChartConfig::MixedTimeseries(x) => x.x.as_deref().or(time_col),
        ChartConfig::BigNumber(b) => b.x.as_deref().or(time_col),
        _ => time_col,
    };
    if let Some(col) = range_col {
        adhoc.push(json!({"clause": "WHERE", "expressionType": "SIMPLE", "subject": col,
            "operator": "TEMPORAL_RANGE", "comparator": range_text, "filterOptionName": "filter_time",
            "isExtra": false, "isNew": false, "sqlExpression": null}));
        if range.is_some() {
            qfilters.push(json!({"col": col, "op": "TEMPORAL_RANGE", "val": range_text}));
        }
    }
    let mut params = json!({"datasource": datasource, "adhoc_filters": adhoc, "time_range": range_text,
        "extra_form_data": {}, "dashboards": []});
    let ms = |v: &[Metric]| v.iter().map(metric_json).collect::<Vec<_>>();
    let mut columns: Vec<Value> = Vec::new();
    let mut metrics: Vec<Value> = Vec::new();
    let mut orderby: Vec<Value> = Vec::new();
    let mut post: Vec<Value> = Vec::new();
    // SQL conditions go to the query's extras, as Superset's own query builder puts them.
    let sql_of = |opr: &str| {
        filters
            .iter()
            .filter(|f| f.opr == opr)
            .filter_map(|f| f.value.as_ref().and_then(Value::as_str))
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let mut extras = json!({"having": sql_of("having"), "where": sql_of("sql")});
    let viz_type = match &c {
        ChartConfig::Xy(x) => {
            let vt = match x.kind.as_str() {
                "bar" => "echarts_timeseries_bar",
                "area" => "echarts_area",
                "scatter" => "echarts_timeseries_scatter",
                _ => "echarts_timeseries_line",
            };
            let xcol = x.x.as_deref().or(time_col).unwrap_or_default();
            params["x_axis"] = json!(xcol);
            params["metrics"] = json!(ms(&x.metrics));
            params["groupby"] = json!(x.group_by);
            if let Some(g) = grain_iso(&x.time_grain) {
                params["time_grain_sqla"] = json!(g);
                extras["time_grain_sqla"] = json!(g);
            }
            params["stack"] = if x.stacked {
                json!("Stack")
            } else {
                Value::Null
            };
            params["orientation"] = json!(x.orientation.as_deref().unwrap_or("vertical"));
            for (k, v) in [
                ("x_axis_title", &x.x_axis_title),
                ("y_axis_title", &x.y_axis_title),
                ("y_axis_format", &x.y_axis_format),
            ] {
                if let Some(v) = v {
                    params[k] = json!(v);
                }
            }
            if let Some(v) = x.show_legend {
                params["show_legend"] = json!(v);
            }
            if x.order_desc
                && let Some(first) = x.metrics.first()
            {
                params["x_axis_sort"] = json!(first.label());
                params["x_axis_sort_asc"] = json!(false);
            }
            let mut axis = json!({"columnType": "BASE_AXIS", "sqlExpression": xcol, "label": xcol, "expressionType": "SQL"});
            if let Some(g) = grain_iso(&x.time_grain) {
                axis["timeGrain"] = json!(g);
            }
            columns.push(axis);
            columns.extend(x.group_by.iter().map(|g| json!(g)));
            metrics = ms(&x.metrics);
            if let Some(first) = x.metrics.first() {
                orderby.push(json!([metric_json(first), false]));
            }
            vt
        }
        ChartConfig::MixedTimeseries(x) => {
            let xcol = x.x.as_deref().or(time_col).unwrap_or_default();
            params["x_axis"] = json!(xcol);
            params["metrics"] = json!(ms(&x.metrics));
            params["metrics_b"] = json!(ms(&x.secondary_metrics));
            params["groupby"] = json!(x.group_by);
            params["groupby_b"] = json!(x.group_by);
            params["adhoc_filters_b"] = params["adhoc_filters"].clone();
            for (key, area, kind) in [
                ("seriesType", "area", &x.kind),
                ("seriesTypeB", "areaB", &x.secondary_kind),
            ] {
                params[key] = json!(if kind == "bar" { "bar" } else { "line" });
                params[area] = json!(kind == "area");
            }
            params["yAxisIndex"] = json!(0);
            params["yAxisIndexB"] = json!(1);
            if let Some(g) = grain_iso(&x.time_grain) {
                params["time_grain_sqla"] = json!(g);
                extras["time_grain_sqla"] = json!(g);
            }
            for (k, v) in [
                ("y_axis_format", &x.y_axis_format),
                ("y_axis_format_secondary", &x.secondary_y_axis_format),
                ("y_axis_title", &x.y_axis_title),
            ] {
                if let Some(v) = v {
                    params[k] = json!(v);
                }
            }
            if let Some(v) = x.show_legend {
                params["show_legend"] = json!(v);
            }
            let mut axis = json!({"columnType": "BASE_AXIS", "sqlExpression": xcol, "label": xcol, "expressionType": "SQL"});
            if let Some(g) = grain_iso(&x.time_grain) {
                axis["timeGrain"] = json!(g);
            }
            columns.push(axis);
            columns.extend(x.group_by.iter().map(|g| json!(g)));
            // Query A's metrics here; query B (the right axis) is added below.
            metrics = ms(&x.metrics);
            "mixed_timeseries"
        }
        ChartConfig::Table(t) => {
            params["query_mode"] = json!(t.mode);
            if t.mode == "raw" {
                params["all_columns"] = json!(t.columns);
                columns = t.columns.iter().map(|c| json!(c)).collect();
                if let Some(o) = &t.order_by {
                    let s = serde_json::to_string(&json!([o, !t.order_desc])).unwrap_or_default();
                    params["order_by_cols"] = json!([s]);
                    orderby.push(json!([o, !t.order_desc]));
                }
            } else {
                params["groupby"] = json!(t.group_by);
                params["metrics"] = json!(ms(&t.metrics));
                columns = t.group_by.iter().map(|c| json!(c)).collect();
                metrics = ms(&t.metrics);
                // Percent metrics: queried with the metrics, then Superset's contribution
                // step adds `%label` columns (as its table chart's own query does).
                let shares = crate::charts::query::percent_columns(&c);
                if !shares.is_empty() {
                    params["percent_metrics"] = json!(ms(&t.percent_metrics));
                    for m in &t.percent_metrics {
                        if !t.metrics.iter().any(|x| x.label() == m.label())
                            && !metrics.contains(&metric_json(m))
                        {
                            metrics.push(metric_json(m));
                        }
                    }
                    let (labels, renamed): (Vec<_>, Vec<_>) = shares.into_iter().unzip();
                    post.push(json!({"operation": "contribution",
                        "options": {"columns": labels, "rename_columns": renamed}}));
                }
                if let Some(o) = &t.order_by
                    && let Some(m) = t.metrics.iter().find(|m| &m.label() == o)
                {
                    params["timeseries_limit_metric"] = metric_json(m);
                    orderby.push(json!([metric_json(m), !t.order_desc]));
                }
                params["order_desc"] = json!(t.order_desc);
            }
            if let Some(f) = &t.format {
                params["table_number_format"] = json!(f);
            }
            "table"
        }
        ChartConfig::Pie(p) => {
            params["groupby"] = json!([p.dimension]);
            params["metric"] = metric_json(&p.metric);
            params["donut"] = json!(p.donut);
            if let Some(v) = p.show_legend {
                params["show_legend"] = json!(v);
            }
            if let Some(f) = &p.format {
                params["number_format"] = json!(f);
            }
            columns.push(json!(p.dimension));
            metrics = vec![metric_json(&p.metric)];
            orderby.push(json!([metric_json(&p.metric), false]));
            "pie"
        }
        ChartConfig::BigNumber(b) => {
            params["metric"] = metric_json(&b.metric);
            if let Some(f) = &b.format {
                params["y_axis_format"] = json!(f);
            }
            metrics = vec![metric_json(&b.metric)];
            match grain_iso(&b.time_grain) {
                Some(g) if b.show_trendline || b.compare_to_previous_period => {
                    let xcol = b.x.as_deref().or(time_col).unwrap_or_default();
                    params["x_axis"] = json!(xcol);
                    params["time_grain_sqla"] = json!(g);
                    params["show_trend_line"] = json!(b.show_trendline);
                    params["compare_lag"] = json!(if b.compare_to_previous_period { 1 } else { 0 });
                    extras["time_grain_sqla"] = json!(g);
                    columns.push(
                        json!({"columnType": "BASE_AXIS", "sqlExpression": xcol, "label": xcol,
                        "expressionType": "SQL", "timeGrain": g}),
                    );
                    "big_number"
                }
                _ => "big_number_total",
            }
        }
        ChartConfig::PivotTable(p) => {
            params["groupbyRows"] = json!(p.rows);
            params["groupbyColumns"] = json!(p.columns);
            params["metrics"] = json!(ms(&p.metrics));
            params["aggregateFunction"] = json!(match p.aggregate_function.as_deref() {
                Some("mean") => "Average",
                Some("min") => "Minimum",
                Some("max") => "Maximum",
                Some("count") => "Count",
                _ => "Sum",
            });
            params["rowTotals"] = json!(p.show_totals);
            params["colTotals"] = json!(p.show_totals);
            params["metricsLayout"] = json!("COLUMNS");
            if let Some(f) = &p.format {
                params["valueFormat"] = json!(f);
            }
            columns = p.rows.iter().chain(&p.columns).map(|c| json!(c)).collect();
            metrics = ms(&p.metrics);
            "pivot_table_v2"
        }
        ChartConfig::Funnel(p) | ChartConfig::Treemap(p) => {
            params["groupby"] = json!([p.dimension]);
            params["metric"] = metric_json(&p.metric);
            if let Some(f) = &p.format {
                params["number_format"] = json!(f);
            }
            columns.push(json!(p.dimension));
            metrics = vec![metric_json(&p.metric)];
            orderby.push(json!([metric_json(&p.metric), false]));
            if matches!(c, ChartConfig::Funnel(_)) {
                "funnel"
            } else {
                "treemap_v2"
            }
        }
        ChartConfig::Waterfall(w) => {
            params["x_axis"] = json!(w.x);
            params["metric"] = metric_json(&w.metric);
            if let Some(g) = grain_iso(&w.time_grain) {
                params["time_grain_sqla"] = json!(g);
                extras["time_grain_sqla"] = json!(g);
            }
            if let Some(f) = &w.format {
                params["y_axis_format"] = json!(f);
            }
            let mut axis = json!({"columnType": "BASE_AXIS", "sqlExpression": w.x, "label": w.x, "expressionType": "SQL"});
            if let Some(g) = grain_iso(&w.time_grain) {
                axis["timeGrain"] = json!(g);
            }
            columns.push(axis);
            metrics = vec![metric_json(&w.metric)];
            "waterfall"
        }
        ChartConfig::Gauge(g) => {
            params["metric"] = metric_json(&g.metric);
            if let Some(v) = g.min {
                params["min_val"] = json!(v);
            }
            if let Some(v) = g.max {
                params["max_val"] = json!(v);
            }
            if let Some(f) = &g.format {
                params["number_format"] = json!(f);
            }
            metrics = vec![metric_json(&g.metric)];
            "gauge_chart"
        }
        ChartConfig::Heatmap(h) => {
            params["x_axis"] = json!(h.x);
            params["groupby"] = json!(h.y);
            params["metric"] = metric_json(&h.metric);
            if let Some(g) = grain_iso(&h.time_grain) {
                params["time_grain_sqla"] = json!(g);
                extras["time_grain_sqla"] = json!(g);
            }
            if let Some(f) = &h.format {
                params["y_axis_format"] = json!(f);
            }
            columns = vec![json!(h.x), json!(h.y)];
            metrics = vec![metric_json(&h.metric)];
            "heatmap_v2"
        }
        ChartConfig::Histogram(h) => {
            params["column"] = json!(h.column);
            if let Some(b) = h.bins {
                params["bins"] = json!(b);
            }
            columns = vec![json!(h.column)];
            "histogram_v2"
        }
        ChartConfig::BoxPlot(b) => {
            // Superset distributes a metric across columns: the column's MAX across the
            // column itself gives one value per distinct value (repeats count once there).
            let m = Metric::Column {
                column: b.column.clone(),
                aggregate: "MAX".into(),
                label: None,
            };
            params["columns"] = json!([b.column]);
            params["groupby"] = json!(b.group_by.iter().collect::<Vec<_>>());
            params["metrics"] = json!([metric_json(&m)]);
            params["whiskerOptions"] = json!("Tukey");
            if let Some(f) = &b.format {
                params["number_format"] = json!(f);
            }
            columns = b
                .group_by
                .iter()
                .chain([&b.column])
                .map(|c| json!(c))
                .collect();
            metrics = vec![metric_json(&m)];
            "box_plot"
        }
    };
    params["viz_type"] = json!(viz_type);
    if let Some(n) = row_limit {
        params["row_limit"] = json!(n);
    }
    let query = json!({
        "filters": qfilters, "extras": extras, "applied_time_extras": {}, "columns": columns,
        "metrics": metrics, "orderby": orderby, "annotation_layers": [],
        "row_limit": params["row_limit"].as_u64().unwrap_or(match viz_type {
            "big_number_total" => 1,
            "table" => 1000,
            _ => 10_000,
        }),
        "series_limit": 0, "order_desc": true, "url_params": {}, "custom_params": {},
        "custom_form_data": {}, "time_range": range_text, "post_processing": post,
    });
    let mut queries = vec![query];
    if let ChartConfig::MixedTimeseries(x) = &c {
        // Superset's mixed chart asks two queries: A (left axis) and B (right axis).
        let mut b = queries[0].clone();
        b["metrics"] = json!(ms(&x.secondary_metrics));
        queries.push(b);
    }
    let qc = json!({
        "datasource": {"id": dataset_id, "type": "table"}, "force": false, "queries": queries,
        "form_data": params, "result_format": "json", "result_type": "full",
    });
    Ok((viz_type.into(), params, Some(qc.to_string())))
}

/// A dashboard layout from Superset's position tree; charts are named by UUID and found
/// through `chart_id`. Markdown, headers and dividers become cells of their own kind
/// (headers and dividers each in a row of its own); what cannot be placed is noted.
pub fn layout_from_position(
    position: &Value,
    chart_id: &dyn Fn(&str) -> Option<i32>,
) -> (Layout, Vec<String>) {
    let mut notes = Vec::new();
    let mut layout = Layout::parse("{}").unwrap_or_default();
    let Some(nodes) = position.as_object() else {
        return (layout, notes);
    };
    let node = |id: &str| nodes.get(id);
    let children = |n: &Value| -> Vec<String> {
        n.get("children")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    // Charts under a node, in reading order, with their sizes; other leaves counted.
    fn walk(
        id: &str,
        nodes: &Map<String, Value>,
        chart_id: &dyn Fn(&str) -> Option<i32>,
        out: &mut Vec<Cell>,
        skipped: &mut Vec<String>,
        depth: usize,
    ) {
        let Some(n) = nodes.get(id) else { return };
        if depth > 64 {
            return;
        }
        match n.get("type").and_then(Value::as_str).unwrap_or_default() {
            "CHART" => {
                let meta = n.get("meta");
                let uuid = meta
                    .and_then(|m| m.get("uuid"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if let Some(cid) = chart_id(uuid) {
                    let num = |k: &str, d: u64| {
                        meta.and_then(|m| m.get(k))
                            .and_then(Value::as_u64)
                            .unwrap_or(d)
                    };
                    out.push(Cell::chart(
                        cid,
                        num("width", 4).clamp(1, u64::from(GRID_COLUMNS)) as u32,
                        num("height", 50).clamp(1, 1000) as u32,
                    ));
                }
            }
            "MARKDOWN" => {
                let meta = n.get("meta");
                let code = meta
                    .and_then(|m| m.get("code"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if code.trim().is_empty() {
                    return;
                }
                if code.len() > MAX_MARKDOWN {
                    skipped.push(format!("markdown longer than {MAX_MARKDOWN} bytes"));
                    return;
                }
                let num = |k: &str, d: u64| {
                    meta.and_then(|m| m.get(k))
                        .and_then(Value::as_u64)
                        .unwrap_or(d)
                };
                out.push(Cell::markdown(
                    code,
                    num("width", 4).clamp(1, u64::from(GRID_COLUMNS)) as u32,
                    num("height", 50).clamp(1, 1000) as u32,
                ));
            }
            "HEADER" => {
                let text = n
                    .pointer("/meta/text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim();
                if text.is_empty() {
                    return;
                }
                let size = match n.pointer("/meta/headerSize").and_then(Value::as_str) {
                    Some("SMALL_HEADER") => HeaderSize::Small,
                    Some("LARGE_HEADER") => HeaderSize::Large,
                    _ => HeaderSize::Medium,
                };
                let text: String = text.chars().take(crate::layout::MAX_HEADER).collect();
                out.push(Cell::header(text, size));
            }
            "DIVIDER" => out.push(Cell::divider()),
            _ => {
                for c in n
                    .get("children")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(c) = c.as_str() {
                        walk(c, nodes, chart_id, out, skipped, depth + 1);
                    }
                }
            }
        }
    }
    // Rows: each ROW (or loose chart) becomes one or more rows no wider than the grid.
    let rows_of = |parent: &str, skipped: &mut Vec<String>, notes: &mut Vec<String>| -> Vec<Row> {
        let mut rows = Vec::new();
        let Some(p) = node(parent) else { return rows };
        for child in children(p) {
            let Some(n) = node(&child) else { continue };
            let kind = n.get("type").and_then(Value::as_str).unwrap_or_default();
            if kind == "TABS" {
                notes.push("nested tabs were flattened into their parent".into());
            }
            let mut cells = Vec::new();
            walk(&child, nodes, chart_id, &mut cells, skipped, 0);
            if !matches!(
                kind,
                "ROW" | "CHART" | "TABS" | "MARKDOWN" | "HEADER" | "DIVIDER"
            ) && !cells.is_empty()
            {
                notes.push(format!("a {kind} was flattened into rows"));
            }
            let mut row = Row::default();
            for cell in cells {
                let used: u32 = row.charts.iter().map(|c| c.width).sum();
                if cell.is_full_row() {
                    if !row.charts.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                    rows.push(Row { charts: vec![cell] });
                    continue;
                }
                if used + cell.width > GRID_COLUMNS {
                    rows.push(std::mem::take(&mut row));
                }
                row.charts.push(cell);
            }
            if !row.charts.is_empty() {
                rows.push(row);
            }
        }
        rows
    };
    let mut skipped = Vec::new();
    // ROOT_ID → GRID_ID (rows) or → TABS (tabs of rows); GRID_ID may also hold TABS.
    let mut tops: Vec<String> = node("ROOT_ID").map(children).unwrap_or_default();
    if tops.is_empty() && nodes.contains_key("GRID_ID") {
        tops.push("GRID_ID".into());
    }
    for top in tops {
        let Some(n) = node(&top) else { continue };
        match n.get("type").and_then(Value::as_str).unwrap_or_default() {
            "TABS" => {
                for tab in children(n) {
                    let Some(t) = node(&tab) else { continue };
                    let title = t
                        .pointer("/meta/text")
                        .and_then(Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                        .map_or_else(|| format!("Tab {}", layout.tabs.len() + 1), str::to_owned);
                    let title = if layout.tabs.iter().any(|x| x.title == title) {
                        format!("{title} ({})", layout.tabs.len() + 1)
                    } else {
                        title
                    };
                    let rows = rows_of(&tab, &mut skipped, &mut notes);
                    layout.tabs.push(Tab { title, rows });
                }
            }
            _ => {
                // GRID_ID: rows, or TABS inside the grid.
                for child in children(n) {
                    let Some(c) = node(&child) else { continue };
                    if c.get("type").and_then(Value::as_str) == Some("TABS") {
                        for tab in children(c) {
                            let Some(t) = node(&tab) else { continue };
                            let title = t
                                .pointer("/meta/text")
                                .and_then(Value::as_str)
                                .filter(|s| !s.trim().is_empty())
                                .map_or_else(
                                    || format!("Tab {}", layout.tabs.len() + 1),
                                    str::to_owned,
                                );
                            let rows = rows_of(&tab, &mut skipped, &mut notes);
                            layout.tabs.push(Tab { title, rows });
                        }
                    }
                }
                let mut rows = rows_of(&top, &mut skipped, &mut notes);
                rows.retain(|r| !r.charts.is_empty());
                layout.rows.extend(rows);
            }
        }
    }
    // With tabs, vizier keeps charts in the tabs' rows only.
    if !layout.tabs.is_empty() && !layout.rows.is_empty() {
        let loose = std::mem::take(&mut layout.rows);
        notes.push("charts outside the tabs were put in a first tab 'Main'".into());
        layout.tabs.insert(
            0,
            Tab {
                title: "Main".into(),
                rows: loose,
            },
        );
    }
    // A chart placed twice in Superset appears once in vizier.
    let mut seen = std::collections::HashSet::new();
    let mut dup = false;
    let mut keep = |rows: &mut Vec<Row>| {
        for r in rows.iter_mut() {
            r.charts.retain(|c| {
                let fresh = c.chart_id().is_none_or(|id| seen.insert(id));
                dup |= !fresh;
                fresh
            });
        }
        rows.retain(|r| !r.charts.is_empty());
    };
    keep(&mut layout.rows);
    for t in &mut layout.tabs {
        keep(&mut t.rows);
    }
    if dup {
        notes.push("a chart placed more than once is shown once".into());
    }
    skipped.sort();
    skipped.dedup();
    if !skipped.is_empty() {
        notes.push(format!(
            "not taken: {} (kept in json_metadata.superset_position)",
            skipped.join(", ")
        ));
    }
    (layout, notes)
}

/// A vizier layout as Superset's position tree; `chart` gives a chart's uuid and name.
pub fn position_from_layout(
    layout: &Layout,
    title: &str,
    chart: &dyn Fn(i32) -> Option<(String, String)>,
) -> Value {
    let mut nodes = Map::new();
    nodes.insert("DASHBOARD_VERSION_KEY".into(), json!("v2"));
    nodes.insert(
        "HEADER_ID".into(),
        json!({"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}}),
    );
    let mut n = 0usize;
    let mut add_rows = |rows: &[Row],
                        parents: Vec<String>,
                        nodes: &mut Map<String, Value>|
     -> Vec<String> {
        let mut ids = Vec::new();
        for r in rows {
            n += 1;
            // Headers and dividers sit directly in the grid or tab, as Superset puts them.
            if let [cell] = r.charts.as_slice()
                && cell.is_full_row()
            {
                let (id, node) = match &cell.content {
                    Content::Header { text, size } => {
                        let id = format!("HEADER-{n}");
                        let size = match size {
                            HeaderSize::Small => "SMALL_HEADER",
                            HeaderSize::Medium => "MEDIUM_HEADER",
                            HeaderSize::Large => "LARGE_HEADER",
                        };
                        let node = json!({"id": id, "type": "HEADER", "children": [], "parents": parents,
                                "meta": {"text": text, "headerSize": size, "background": "BACKGROUND_TRANSPARENT"}});
                        (id, node)
                    }
                    _ => {
                        let id = format!("DIVIDER-{n}");
                        let node = json!({"id": id, "type": "DIVIDER", "children": [], "parents": parents, "meta": {}});
                        (id, node)
                    }
                };
                nodes.insert(id.clone(), node);
                ids.push(id);
                continue;
            }
            let row_id = format!("ROW-{n}");
            let mut row_parents = parents.clone();
            row_parents.push(row_id.clone());
            let mut kids = Vec::new();
            for (k, c) in r.charts.iter().enumerate() {
                let (id, node) = match &c.content {
                    Content::Chart(chart_id) => {
                        let Some((uuid, name)) = chart(*chart_id) else {
                            continue;
                        };
                        let id = format!("CHART-{chart_id}");
                        let node = json!({"id": id, "type": "CHART", "children": [], "parents": row_parents,
                               "meta": {"chartId": chart_id, "uuid": uuid, "sliceName": name,
                                        "width": c.width, "height": c.height}});
                        (id, node)
                    }
                    Content::Markdown(code) => {
                        let id = format!("MARKDOWN-{n}-{k}");
                        let node = json!({"id": id, "type": "MARKDOWN", "children": [], "parents": row_parents,
                               "meta": {"code": code, "width": c.width, "height": c.height}});
                        (id, node)
                    }
                    // A header or divider among other cells (not valid in vizier): left out.
                    _ => continue,
                };
                nodes.insert(id.clone(), node);
                kids.push(id);
            }
            nodes.insert(
                row_id.clone(),
                json!({"id": row_id, "type": "ROW", "children": kids, "parents": parents,
                       "meta": {"background": "BACKGROUND_TRANSPARENT"}}),
            );
            ids.push(row_id);
        }
        ids
    };
    if layout.tabs.is_empty() {
        let rows = add_rows(
            &layout.rows,
            vec!["ROOT_ID".into(), "GRID_ID".into()],
            &mut nodes,
        );
        nodes.insert(
            "GRID_ID".into(),
            json!({"id": "GRID_ID", "type": "GRID", "children": rows, "parents": ["ROOT_ID"]}),
        );
        nodes.insert(
            "ROOT_ID".into(),
            json!({"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]}),
        );
    } else {
        let mut tab_ids = Vec::new();
        for (i, t) in layout.tabs.iter().enumerate() {
            let id = format!("TAB-{}", i + 1);
            let rows = add_rows(
                &t.rows,
                vec!["ROOT_ID".into(), "TABS-1".into(), id.clone()],
                &mut nodes,
            );
            nodes.insert(
                id.clone(),
                json!({"id": id, "type": "TAB", "children": rows, "parents": ["ROOT_ID", "TABS-1"],
                       "meta": {"text": t.title, "defaultText": "Tab title", "placeholder": "Tab title"}}),
            );
            tab_ids.push(id);
        }
        nodes.insert("TABS-1".into(), json!({"id": "TABS-1", "type": "TABS", "children": tab_ids, "parents": ["ROOT_ID"], "meta": {}}));
        nodes.insert(
            "GRID_ID".into(),
            json!({"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]}),
        );
        nodes.insert(
            "ROOT_ID".into(),
            json!({"id": "ROOT_ID", "type": "ROOT", "children": ["TABS-1"]}),
        );
    }
    Value::Object(nodes)
}

/// A dataset's `cache_timeout` from Superset's to vizier's meaning: Superset's -1 (bypass
/// the cache) is vizier's 0 (never cached); its 0 or nothing is the server's default (vizier
/// keeps nothing forever); a positive lifetime stays, up to a year.
pub fn cache_timeout_from_superset(t: Option<i64>) -> Option<i32> {
    match t {
        Some(t) if t < 0 => Some(0),
        Some(t) if t > 0 => Some(i32::try_from(t.min(31_536_000)).unwrap_or(31_536_000)),
        _ => None,
    }
}

/// The inverse of [`cache_timeout_from_superset`].
pub fn cache_timeout_to_superset(t: Option<i32>) -> Option<i64> {
    match t {
        Some(0) => Some(-1),
        other => other.map(i64::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_uris_become_source_urls() {
        let u = |s: &str| source_url(s);
        assert_eq!(
            u("postgresql+psycopg2://a:b@h:5432/d"),
            SourceUrl::Url("postgres://a:b@h:5432/d".into())
        );
        assert_eq!(
            u("postgresql://a@h/d"),
            SourceUrl::Url("postgres://a@h/d".into())
        );
        assert_eq!(
            u("mysql+mysqldb://a:b@h/d"),
            SourceUrl::Url("mysql://a:b@h/d".into())
        );
        assert_eq!(
            u("mysql://a:b@h/d?charset=utf8"),
            SourceUrl::Url("mysql://a:b@h/d?charset=utf8".into())
        );
        assert_eq!(
            u("sqlite:////srv/x.db?check_same_thread=false"),
            SourceUrl::Url("sqlite:///srv/x.db".into())
        );
        assert_eq!(u("postgresql://a:XXXXXXXXXX@h/d"), SourceUrl::Masked);
        assert!(matches!(u("sqlite:///rel.db"), SourceUrl::Unusable(m) if m.contains("relative")));
        assert!(matches!(u("snowflake://x"), SourceUrl::Unusable(m) if m.contains("snowflake")));
        assert_eq!(
            sqlalchemy_uri("postgres://a:secret@h:5/d"),
            "postgresql://a:XXXXXXXXXX@h:5/d"
        );
        assert_eq!(sqlalchemy_uri("sqlite:///srv/x.db"), "sqlite:////srv/x.db");
        assert_eq!(
            source_url(&sqlalchemy_uri("sqlite:///srv/x.db")),
            SourceUrl::Url("sqlite:///srv/x.db".into())
        );
    }

    #[test]
    fn charts_map_both_ways() {
        let params = json!({
            "viz_type": "echarts_timeseries_bar", "x_axis": "day", "time_grain_sqla": "P1M",
            "metrics": ["revenue", {"expressionType": "SIMPLE", "column": {"column_name": "qty"}, "aggregate": "SUM", "label": "SUM(qty)"},
                        {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}],
            "groupby": ["region"], "stack": "Stack",
            "adhoc_filters": [
                {"expressionType": "SIMPLE", "clause": "WHERE", "subject": "region", "operator": "IN", "comparator": ["a", "b"]},
                {"expressionType": "SIMPLE", "clause": "WHERE", "subject": "day", "operator": "TEMPORAL_RANGE", "comparator": "2024-01-01 : 2025-01-01"},
                {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": "1 = 1"}],
            "y_axis_format": "SMART_NUMBER", "row_limit": 500,
        });
        let m = chart_from_superset("echarts_timeseries_bar", &params);
        assert_eq!(m.chart_type, "xy", "{:?}", m.notes);
        assert_eq!(m.config["kind"], "bar");
        assert_eq!(m.config["time_grain"], "month");
        assert_eq!(m.config["stacked"], true);
        assert_eq!(m.config["metrics"][1]["label"], "SUM(qty)");
        assert_eq!(m.config["time_range"]["start"], "2024-01-01 00:00:00");
        assert_eq!(m.config["filters"][0]["opr"], "in");
        assert_eq!(m.config["filters"][1]["opr"], "sql");
        assert_eq!(m.config["filters"][1]["value"], "1 = 1");
        let (vt, p, qc) = chart_to_superset(&m.config, 7, None).expect("exports");
        assert_eq!(vt, "echarts_timeseries_bar");
        assert_eq!(p["time_grain_sqla"], "P1M");
        let qc = qc.expect("query context");
        assert!(qc.contains("\"datasource\":{\"id\":7"));
        assert!(qc.contains("\"where\":\"(1 = 1)\""), "{qc}");
        let back = chart_from_superset(&vt, &p);
        assert_eq!(back.config, m.config, "{:?}", back.notes);
    }

    #[test]
    fn relative_ranges_and_sql_conditions_survive_a_round_trip() {
        let params = json!({
            "datasource": "1__table", "viz_type": "table", "query_mode": "aggregate",
            "metrics": ["revenue"], "groupby": ["region"], "row_limit": 100,
            "adhoc_filters": [
                {"expressionType": "SIMPLE", "clause": "WHERE", "subject": "day", "operator": "TEMPORAL_RANGE", "comparator": "Last quarter"},
                {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": "region <> 'x'"},
                {"expressionType": "SQL", "clause": "HAVING", "sqlExpression": "SUM(qty) > 3"}],
        });
        let m = chart_from_superset("table", &params);
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        assert_eq!(m.config["time_range"]["relative"], "Last quarter");
        assert_eq!(m.config["filters"][0]["opr"], "sql");
        assert_eq!(m.config["filters"][1]["opr"], "having");
        let (vt, p, qc) = chart_to_superset(&m.config, 7, Some("day")).expect("exports");
        assert_eq!(p["time_range"], "Last quarter");
        let qc = qc.expect("query context");
        assert!(qc.contains("\"having\":\"(SUM(qty) > 3)\""), "{qc}");
        let back = chart_from_superset(&vt, &p);
        assert_eq!(back.config, m.config, "{:?}", back.notes);
        // A form vizier does not read is reported, not guessed.
        let mut odd = params.clone();
        odd["adhoc_filters"][0]["comparator"] = json!("Last fortnight");
        let m = chart_from_superset("table", &odd);
        assert!(
            m.notes.iter().any(|n| n.contains("Last fortnight")),
            "{:?}",
            m.notes
        );
        assert!(m.config.get("time_range").is_none_or(Value::is_null));
    }

    #[test]
    fn percent_metrics_and_simple_having_filters_are_taken() {
        let units = json!({"expressionType": "SIMPLE", "column": {"column_name": "qty"},
                           "aggregate": "SUM", "label": "units"});
        let params = json!({
            "datasource": "1__table", "viz_type": "table", "query_mode": "aggregate",
            "metrics": ["revenue", units], "percent_metrics": ["revenue", "orders"],
            "groupby": ["region"],
            "adhoc_filters": [
                {"expressionType": "SIMPLE", "clause": "HAVING", "subject": "revenue", "operator": ">", "comparator": 15000},
                {"expressionType": "SIMPLE", "clause": "HAVING", "subject": "units", "operator": "IN", "comparator": [1, "2"]},
                {"expressionType": "SIMPLE", "clause": "HAVING", "subject": "COUNT(*)", "operator": "!=", "comparator": "x'y"},
                {"expressionType": "SIMPLE", "clause": "HAVING", "subject": "region", "operator": "==", "comparator": "a"}],
        });
        let saved = |n: &str| (n == "revenue").then(|| "SUM(amount)".to_string());
        let m = chart_from_superset_with("table", &params, &saved);
        assert_eq!(
            m.config["percent_metrics"][1],
            json!({"saved_metric": "orders"})
        );
        let having: Vec<&str> = m.config["filters"]
            .as_array()
            .expect("filters")
            .iter()
            .map(|f| {
                assert_eq!(f["opr"], "having");
                f["value"].as_str().expect("condition")
            })
            .collect();
        assert_eq!(
            having,
            [
                "SUM(amount) > 15000",
                "SUM(qty) IN (1, 2)",
                "COUNT(*) <> 'x''y'"
            ]
        );
        assert!(
            m.notes.iter().any(|n| n.contains("'region' is neither")),
            "a plain column is not a HAVING subject: {:?}",
            m.notes
        );
        let (vt, p, qc) = chart_to_superset(&m.config, 7, None).expect("exports");
        assert_eq!(p["percent_metrics"], json!(["revenue", "orders"]));
        let qc: Value = serde_json::from_str(&qc.expect("query context")).expect("json");
        let q = &qc["queries"][0];
        assert_eq!(
            q["metrics"].as_array().map(Vec::len),
            Some(3),
            "orders is queried too"
        );
        assert_eq!(q["post_processing"][0]["operation"], "contribution");
        assert_eq!(
            q["post_processing"][0]["options"]["rename_columns"],
            json!(["%revenue", "%orders"])
        );
        assert!(
            q["extras"]["having"]
                .as_str()
                .unwrap_or_default()
                .contains("SUM(amount) > 15000")
        );
        let back = chart_from_superset(&vt, &p);
        assert_eq!(back.config, m.config, "{:?}", back.notes);
    }

    #[test]
    fn every_vizier_example_survives_a_round_trip() {
        for t in crate::charts::config::CHART_TYPES {
            for e in crate::charts::config::examples(t) {
                let c = ChartConfig::parse(&e).expect("parses").to_json();
                let (vt, p, _) = chart_to_superset(&c, 1, Some("order_date")).expect("exports");
                let back = chart_from_superset(&vt, &p);
                assert_eq!(back.chart_type, *t, "{vt}: {:?}", back.notes);
                let mut want = c.clone();
                // A big number's x defaults to the main time column on the way out.
                if *t == "big_number" && want.get("time_grain").is_some() && want.get("x").is_none()
                {
                    want["x"] = json!("order_date");
                }
                if *t == "big_number" && want.get("time_grain").is_none() {
                    assert_eq!(vt, "big_number_total");
                }
                assert_eq!(back.config, want, "{vt}: {:?}", back.notes);
            }
        }
    }

    #[test]
    fn unknown_types_are_kept_unsupported() {
        let m = chart_from_superset("sankey_v2", &json!({"source": "a"}));
        assert_eq!(m.chart_type, "unsupported");
        assert_eq!(m.config["params"]["source"], "a");
        assert!(m.notes[0].contains("sankey_v2"));
        let (vt, p, _) = chart_to_superset(&m.config, 1, None).expect("exports");
        assert_eq!((vt.as_str(), &p["source"]), ("sankey_v2", &json!("a")));
    }

    #[test]
    fn positions_become_layouts_and_back() {
        let position = json!({
            "ROOT_ID": {"type": "ROOT", "children": ["TABS-1"]},
            "TABS-1": {"type": "TABS", "children": ["TAB-a", "TAB-b"]},
            "TAB-a": {"type": "TAB", "children": ["HEADER-1", "ROW-1", "MARKDOWN-1", "DIVIDER-1"], "meta": {"text": "Sales"}},
            "TAB-b": {"type": "TAB", "children": ["ROW-2"], "meta": {"text": "Ops"}},
            "HEADER-1": {"type": "HEADER", "meta": {"text": "Overview", "headerSize": "LARGE_HEADER"}},
            "DIVIDER-1": {"type": "DIVIDER", "meta": {}},
            "ROW-1": {"type": "ROW", "children": ["CHART-1", "COLUMN-1"]},
            "COLUMN-1": {"type": "COLUMN", "children": ["CHART-2", "CHART-3"]},
            "ROW-2": {"type": "ROW", "children": ["CHART-4"]},
            "MARKDOWN-1": {"type": "MARKDOWN", "meta": {"code": "# hi", "width": 5, "height": 30}},
            "CHART-1": {"type": "CHART", "meta": {"uuid": "u1", "width": 6, "height": 40}},
            "CHART-2": {"type": "CHART", "meta": {"uuid": "u2", "width": 6, "height": 30}},
            "CHART-3": {"type": "CHART", "meta": {"uuid": "u3", "width": 6, "height": 30}},
            "CHART-4": {"type": "CHART", "meta": {"uuid": "u4", "width": 12, "height": 50}},
        });
        let ids = |u: &str| u.strip_prefix('u').and_then(|n| n.parse().ok());
        let (layout, notes) = layout_from_position(&position, &ids);
        layout.validate().expect("valid");
        assert_eq!(layout.tabs.len(), 2);
        assert_eq!(layout.tabs[0].title, "Sales");
        assert_eq!(layout.chart_ids(), vec![1, 2, 3, 4]);
        let a = &layout.tabs[0].rows;
        assert_eq!(a.len(), 5, "header, chart rows, markdown, divider");
        assert_eq!(
            a[0].charts[0].content,
            Content::Header {
                text: "Overview".into(),
                size: HeaderSize::Large
            }
        );
        assert_eq!(a[3].charts[0], Cell::markdown("# hi", 5, 30));
        assert_eq!(a[4].charts[0].content, Content::Divider);
        assert!(!notes.iter().any(|n| n.contains("not taken")), "{notes:?}");
        let pos = position_from_layout(&layout, "T", &|id| {
            Some((format!("u{id}"), format!("c{id}")))
        });
        assert_eq!(pos["HEADER-1"]["meta"]["headerSize"], "LARGE_HEADER");
        assert_eq!(
            pos["HEADER-1"]["parents"],
            json!(["ROOT_ID", "TABS-1", "TAB-1"])
        );
        assert!(
            pos["TAB-1"]["children"]
                .as_array()
                .unwrap()
                .contains(&json!("DIVIDER-5"))
        );
        let (again, _) = layout_from_position(&pos, &ids);
        assert_eq!(again, layout);
    }

    #[test]
    fn mixed_timeseries_goes_out_as_two_queries_and_comes_back() {
        let config = json!({"chart_type": "mixed_timeseries", "x": "order_date", "time_grain": "month",
            "metrics": [{"saved_metric": "revenue"}], "kind": "bar",
            "secondary_metrics": [{"saved_metric": "orders"}], "secondary_kind": "area",
            "secondary_y_axis_format": ",d"});
        let (vt, p, qc) = chart_to_superset(&config, 3, None).expect("exports");
        assert_eq!(vt, "mixed_timeseries");
        assert_eq!(p["metrics"], json!(["revenue"]));
        assert_eq!(p["metrics_b"], json!(["orders"]));
        assert_eq!(
            (
                p["seriesType"].clone(),
                p["seriesTypeB"].clone(),
                p["areaB"].clone()
            ),
            (json!("bar"), json!("line"), json!(true))
        );
        assert_eq!(p["y_axis_format_secondary"], ",d");
        let qc: Value = serde_json::from_str(&qc.expect("query context")).expect("json");
        let queries = qc["queries"].as_array().expect("queries");
        assert_eq!(queries.len(), 2, "query A and query B");
        assert_eq!(queries[1]["metrics"], json!(["orders"]));
        let back = chart_from_superset("mixed_timeseries", &p);
        assert_eq!(back.chart_type, "mixed_timeseries", "{:?}", back.notes);
        for key in [
            "metrics",
            "secondary_metrics",
            "kind",
            "secondary_kind",
            "x",
            "time_grain",
        ] {
            assert_eq!(back.config[key], config[key], "{key}: {}", back.config);
        }
        ChartConfig::parse(&back.config).expect("a config vizier draws");
    }

    #[test]
    fn cache_timeouts_keep_their_meaning_both_ways() {
        // Superset: -1 bypasses the cache, 0/None is its default, N seconds a lifetime.
        for (superset, vizier) in [
            (Some(-1), Some(0)),
            (None, None),
            (Some(0), None),
            (Some(300), Some(300)),
        ] {
            assert_eq!(
                cache_timeout_from_superset(superset),
                vizier,
                "{superset:?}"
            );
        }
        assert_eq!(
            cache_timeout_from_superset(Some(10_000_000_000)),
            Some(31_536_000),
            "capped at a year"
        );
        for vizier in [None, Some(0), Some(1), Some(3600)] {
            let there = cache_timeout_to_superset(vizier);
            assert_eq!(cache_timeout_from_superset(there), vizier, "{vizier:?}");
        }
    }
}
