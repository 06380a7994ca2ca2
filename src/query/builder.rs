//! One query builder for dataset queries (`query_dataset`, and chart data after it): metrics,
//! group-by columns, filters, time range and grain → SQL for the dataset's dialect.
//!
//! Identifiers are only ever the dataset's own column names, quoted; values are literals
//! made by `sql::template::quote_str` (strings) or from validated JSON numbers and
//! booleans. The SQL then goes through the same guard, RLS rewrite and row cap as
//! `execute_sql`, so the builder is never the only line of defence.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::datasets::{Dataset, DatasetColumn, DatasetMetric};
use crate::error::{ToolError, closest};
use crate::sql::Dialect;

/// Aggregates a column metric may use.
pub const AGGREGATES: &[&str] = &["SUM", "COUNT", "AVG", "MIN", "MAX", "COUNT_DISTINCT"];
/// Time grains.
pub const GRAINS: &[&str] = &["hour", "day", "week", "month", "quarter", "year"];
/// Filter operators. `sql` and `having` take a SQL condition as the value (no column): on
/// rows (WHERE) and on the aggregated groups (HAVING), checked like any SQL.
pub const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "nin",
    "like",
    "ilike",
    "ct",
    "sw",
    "ew",
    "is_null",
    "is_not_null",
    "sql",
    "having",
];

/// A metric: a saved metric by name, an aggregate over a column, or a labelled SQL expression.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum Metric {
    Saved {
        /// Name of a saved metric of the dataset.
        saved_metric: String,
    },
    Column {
        column: String,
        /// SUM COUNT AVG MIN MAX COUNT_DISTINCT
        aggregate: String,
        label: Option<String>,
    },
    Sql {
        /// An aggregate SQL expression, checked like any SQL.
        sql: String,
        label: String,
    },
}

impl Metric {
    /// The name of the metric's result column.
    pub fn label(&self) -> String {
        match self {
            Metric::Saved { saved_metric } => saved_metric.clone(),
            Metric::Column {
                column,
                aggregate,
                label,
            } => label
                .clone()
                .unwrap_or_else(|| format!("{}__{column}", aggregate.to_ascii_lowercase())),
            Metric::Sql { label, .. } => label.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueryFilter {
    /// The column (none for `sql` and `having`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub col: String,
    pub opr: String,
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Inclusive start, ISO-8601.
    pub start: Option<String>,
    /// Exclusive end, ISO-8601.
    pub end: Option<String>,
    /// Instead of start/end, Superset's forms (UTC): "Last week", "2024-01-01 : today".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<String>,
}

impl TimeRange {
    /// The bounds at `now`: explicit ones as given, a relative range resolved; an error
    /// names what is wrong.
    pub fn bounds(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Result<(Option<String>, Option<String>), ToolError> {
        let bad = |m: String| ToolError::invalid(m).with_details(json!({"field": "time_range"}));
        if let Some(r) = &self.relative {
            if self.start.is_some() || self.end.is_some() {
                return Err(bad(
                    "time_range: give either relative or start/end, not both.".into(),
                ));
            }
            let (a, b) = super::relative::resolve(r, now).ok_or_else(|| {
                bad(format!(
                    "time_range.relative: '{r}' is not a range vizier reads; use {}.",
                    super::relative::FORMS
                ))
            })?;
            let f = |t: Option<chrono::NaiveDateTime>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            };
            return Ok((f(a), f(b)));
        }
        for b in [&self.start, &self.end].into_iter().flatten() {
            if super::list::parse_time(b).is_none() {
                return Err(bad(format!(
                    "time_range: '{b}' is not an ISO-8601 date or time."
                )));
            }
        }
        Ok((self.start.clone(), self.end.clone()))
    }
}

/// What to compute from a dataset.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Columns to group by (or to return, without metrics).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub filters: Vec<QueryFilter>,
    /// The time column for time_range and time_grain; default the dataset's main one.
    pub time_column: Option<String>,
    pub time_range: Option<TimeRange>,
    /// Bucket the time column: hour day week month quarter year (it becomes the first column).
    pub time_grain: Option<String>,
    /// A column or metric label to sort by.
    pub order_by: Option<String>,
    #[serde(default)]
    pub order_desc: bool,
}

/// The dataset column `name`, or an error naming `field` and the closest column.
pub fn column<'a>(
    columns: &'a [DatasetColumn],
    name: &str,
    field: &str,
) -> Result<&'a DatasetColumn, ToolError> {
    columns
        .iter()
        .find(|c| c.column_name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = columns.iter().map(|c| c.column_name.as_str()).collect();
            ToolError::invalid_field(
                field,
                format!(
                    "'{name}' is not a column of the dataset; columns: {}.",
                    names.join(", ")
                ),
                &names,
                Some(name),
            )
        })
}

fn literal(dialect: Dialect, v: &Value, field: &str) -> Result<String, ToolError> {
    match v {
        Value::String(s) => crate::sql::template::quote_str(dialect, s)
            .map_err(|e| ToolError::invalid(format!("{field}: {e}"))),
        Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(f64::is_finite) => {
            Ok(n.to_string())
        }
        Value::Bool(b) => Ok(match (dialect, b) {
            (Dialect::Sqlite, true) => "1".into(),
            (Dialect::Sqlite, false) => "0".into(),
            (_, true) => "TRUE".into(),
            (_, false) => "FALSE".into(),
        }),
        other => Err(ToolError::invalid(format!(
            "{field}: {other} is not a string, number or boolean."
        ))
        .with_details(json!({"field": field}))),
    }
}

/// The bucket expression of a time grain.
pub fn grain_expr(dialect: Dialect, grain: &str, col: &str) -> Result<String, ToolError> {
    let e = match (dialect, grain) {
        (Dialect::Postgres, g) if GRAINS.contains(&g) => format!("date_trunc('{g}', {col})"),
        (Dialect::Sqlite, "hour") => format!("strftime('%Y-%m-%d %H:00:00', {col})"),
        (Dialect::Sqlite, "day") => format!("date({col})"),
        (Dialect::Sqlite, "week") => format!("date({col}, 'weekday 0', '-6 days')"),
        (Dialect::Sqlite, "month") => format!("strftime('%Y-%m-01', {col})"),
        (Dialect::Sqlite, "quarter") => format!(
            "printf('%s-%02d-01', strftime('%Y', {col}), ((CAST(strftime('%m', {col}) AS INTEGER) - 1) / 3) * 3 + 1)"
        ),
        (Dialect::Sqlite, "year") => format!("strftime('%Y-01-01', {col})"),
        (Dialect::MySql, "hour") => format!("DATE_FORMAT({col}, '%Y-%m-%d %H:00:00')"),
        (Dialect::MySql, "day") => format!("DATE({col})"),
        (Dialect::MySql, "week") => format!("DATE_SUB(DATE({col}), INTERVAL WEEKDAY({col}) DAY)"),
        (Dialect::MySql, "month") => format!("DATE_FORMAT({col}, '%Y-%m-01')"),
        (Dialect::MySql, "quarter") => {
            format!("MAKEDATE(YEAR({col}), 1) + INTERVAL (QUARTER({col}) - 1) QUARTER")
        }
        (Dialect::MySql, "year") => format!("DATE_FORMAT({col}, '%Y-01-01')"),
        (_, other) => {
            return Err(ToolError::invalid_field(
                "time_grain",
                format!("'{other}' is not a time grain."),
                GRAINS,
                Some(other),
            ));
        }
    };
    Ok(e)
}

/// The SQL of `spec` over dataset `d` (its columns and saved metrics), without a row limit
/// (the caller caps it).
pub fn build(
    dialect: Dialect,
    d: &Dataset,
    columns: &[DatasetColumn],
    saved: &[DatasetMetric],
    spec: &QuerySpec,
) -> Result<String, ToolError> {
    let q = |name: &str| quote_ident(dialect, name);
    let mut select: Vec<String> = Vec::new();
    let mut group: Vec<String> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    // A column in SQL: its quoted name, or its expression when it is a calculated column.
    let refer = |c: &DatasetColumn| column_sql(dialect, c);
    let by_name = |name: &str| {
        columns
            .iter()
            .find(|c| c.column_name == name)
            .map_or_else(|| q(name), refer)
    };
    let time_col = match (&spec.time_column, &d.main_dttm_col) {
        (Some(c), _) => Some(refer(column(columns, c, "time_column")?)),
        (None, Some(c)) if spec.time_grain.is_some() || spec.time_range.is_some() => {
            Some(by_name(c))
        }
        (None, _) if spec.time_grain.is_some() || spec.time_range.is_some() => {
            return Err(ToolError::invalid(
                "time_column: the dataset has no main time column; name one.",
            )
            .with_details(json!({"field": "time_column"})));
        }
        _ => None,
    };
    if let (Some(grain), Some(tc)) = (&spec.time_grain, &time_col) {
        let e = grain_expr(dialect, grain, tc)?;
        select.push(format!("{e} AS {}", q("__timestamp")));
        group.push(e);
        labels.push("__timestamp".into());
    }
    for c in &spec.columns {
        let col = column(columns, c, "columns")?;
        let e = refer(col);
        select.push(if col.is_calculated() {
            format!("{e} AS {}", q(&col.column_name))
        } else {
            e.clone()
        });
        group.push(e);
        labels.push(col.column_name.clone());
    }
    for m in &spec.metrics {
        let (expr, label) = match m {
            Metric::Saved { saved_metric } => {
                let found = saved
                    .iter()
                    .find(|s| &s.metric_name == saved_metric)
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            saved.iter().map(|s| s.metric_name.as_str()).collect();
                        ToolError::invalid_field(
                            "metrics",
                            format!(
                                "'{saved_metric}' is not a saved metric of the dataset; saved: {}.",
                                names.join(", ")
                            ),
                            &names,
                            Some(saved_metric),
                        )
                    })?;
                (found.expression.clone(), found.metric_name.clone())
            }
            Metric::Column {
                column: c,
                aggregate,
                label,
            } => {
                let col = column(columns, c, "metrics")?;
                let agg = aggregate.to_ascii_uppercase();
                let expr = match agg.as_str() {
                    "COUNT_DISTINCT" => format!("COUNT(DISTINCT {})", refer(col)),
                    a if AGGREGATES.contains(&a) => format!("{a}({})", refer(col)),
                    other => {
                        return Err(ToolError::invalid_field(
                            "metrics.aggregate",
                            format!("'{other}' is not an aggregate."),
                            AGGREGATES,
                            Some(other),
                        ));
                    }
                };
                let _ = label;
                (expr, m.label())
            }
            Metric::Sql { sql, .. } => (format!("({sql})"), m.label()),
        };
        if label.is_empty() || label.len() > 255 {
            return Err(
                ToolError::invalid("metrics: labels are 1 to 255 characters.")
                    .with_details(json!({"field": "metrics"})),
            );
        }
        select.push(format!("{expr} AS {}", q(&label)));
        labels.push(label);
    }
    if select.is_empty() {
        return Err(ToolError::invalid("Ask for at least one metric or column.")
            .with_details(json!({"field": "metrics"})));
    }
    let mut wheres: Vec<String> = Vec::new();
    let mut havings: Vec<String> = Vec::new();
    for f in &spec.filters {
        if f.opr == "sql" || f.opr == "having" {
            let Some(Value::String(cond)) = &f.value else {
                return Err(ToolError::invalid(format!(
                    "filters: '{}' takes a SQL condition as a string value.",
                    f.opr
                ))
                .with_details(json!({"field": "filters.value"})));
            };
            // One whole expression: nothing may close the parentheses it is put in.
            crate::sql::parse_expression(dialect, cond).map_err(|e| {
                ToolError::invalid(format!(
                    "filters: the {} condition is not one SQL expression ({e}).",
                    f.opr
                ))
                .with_details(json!({"field": "filters.value"}))
            })?;
            if f.opr == "having" {
                if spec.metrics.is_empty() {
                    return Err(ToolError::invalid(
                        "filters: a having condition filters aggregated groups; ask for metrics.",
                    )
                    .with_details(json!({"field": "filters.opr"})));
                }
                havings.push(format!("({cond})"));
            } else {
                wheres.push(format!("({cond})"));
            }
            continue;
        }
        let col = refer(column(columns, &f.col, "filters.col")?);
        let need = |f: &QueryFilter| {
            f.value.clone().filter(|v| !v.is_null()).ok_or_else(|| {
                ToolError::invalid(format!(
                    "filters: '{}' on '{}' needs a value.",
                    f.opr, f.col
                ))
                .with_details(json!({"field": "filters.value"}))
            })
        };
        let text = |f: &QueryFilter| -> Result<String, ToolError> {
            match need(f)? {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            }
        };
        let like = |pattern: String| {
            crate::sql::template::quote_str(dialect, &pattern).map_err(ToolError::invalid)
        };
        let esc = |s: &str| super::list::escape_like(s);
        let w = match f.opr.as_str() {
            "eq" => format!("{col} = {}", literal(dialect, &need(f)?, "filters.value")?),
            "ne" => format!("{col} <> {}", literal(dialect, &need(f)?, "filters.value")?),
            "gt" => format!("{col} > {}", literal(dialect, &need(f)?, "filters.value")?),
            "gte" => format!("{col} >= {}", literal(dialect, &need(f)?, "filters.value")?),
            "lt" => format!("{col} < {}", literal(dialect, &need(f)?, "filters.value")?),
            "lte" => format!("{col} <= {}", literal(dialect, &need(f)?, "filters.value")?),
            "in" | "nin" => {
                let Value::Array(items) = need(f)? else {
                    return Err(
                        ToolError::invalid(format!("filters: '{}' needs a list.", f.opr))
                            .with_details(json!({"field": "filters.value"})),
                    );
                };
                if items.is_empty() {
                    return Err(ToolError::invalid("filters: the list is empty.")
                        .with_details(json!({"field": "filters.value"})));
                }
                let list = items
                    .iter()
                    .map(|v| literal(dialect, v, "filters.value"))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ");
                format!(
                    "{col} {} ({list})",
                    if f.opr == "in" { "IN" } else { "NOT IN" }
                )
            }
            "like" => format!("{col} LIKE {}", like(text(f)?)?),
            "ilike" => format!("LOWER({col}) LIKE {}", like(text(f)?.to_lowercase())?),
            "ct" => format!(
                "LOWER({col}) LIKE {} ESCAPE '\\'",
                like(format!("%{}%", esc(&text(f)?.to_lowercase())))?
            ),
            "sw" => format!(
                "{col} LIKE {} ESCAPE '\\'",
                like(format!("{}%", esc(&text(f)?)))?
            ),
            "ew" => format!(
                "{col} LIKE {} ESCAPE '\\'",
                like(format!("%{}", esc(&text(f)?)))?
            ),
            "is_null" => format!("{col} IS NULL"),
            "is_not_null" => format!("{col} IS NOT NULL"),
            other => {
                return Err(ToolError::invalid_field(
                    "filters.opr",
                    format!("'{other}' is not an operator."),
                    OPERATORS,
                    Some(other),
                ));
            }
        };
        wheres.push(w);
    }
    if let (Some(range), Some(tc)) = (&spec.time_range, &time_col) {
        let (start, end) = range.bounds(chrono::Utc::now().naive_utc())?;
        for (bound, op) in [(start, ">="), (end, "<")] {
            if let Some(b) = bound {
                wheres.push(format!(
                    "{} {op} {}",
                    tc,
                    literal(dialect, &Value::String(b), "time_range")?
                ));
            }
        }
    }
    let mut sql = format!(
        "SELECT {} FROM {}",
        select.join(", "),
        dataset_source(dialect, d)
    );
    if !wheres.is_empty() {
        sql.push_str(&format!(" WHERE {}", wheres.join(" AND ")));
    }
    if !spec.metrics.is_empty() && !group.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", group.join(", ")));
    }
    if !havings.is_empty() {
        sql.push_str(&format!(" HAVING {}", havings.join(" AND ")));
    }
    match &spec.order_by {
        Some(o) if labels.contains(o) => sql.push_str(&format!(
            " ORDER BY {} {}",
            q(o),
            if spec.order_desc { "DESC" } else { "ASC" }
        )),
        Some(o) => {
            let allowed: Vec<&str> = labels.iter().map(String::as_str).collect();
            let suggestion = closest(o, &allowed);
            return Err(ToolError::invalid(format!(
                "order_by: '{o}' is not a selected column or metric; choose one of {}.",
                allowed.join(", ")
            ))
            .with_details(
                json!({"field": "order_by", "allowed": allowed, "suggestion": suggestion}),
            ));
        }
        None if spec.time_grain.is_some() => {
            sql.push_str(&format!(" ORDER BY {}", q("__timestamp")))
        }
        None => {}
    }
    Ok(sql)
}

/// `name` as a quoted identifier of `dialect`.
pub fn quote_ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// Column `c` in SQL: its quoted name, or for a calculated column its expression in
/// parentheses (as Superset substitutes them).
pub fn column_sql(dialect: Dialect, c: &DatasetColumn) -> String {
    match c.expression.as_deref().map(str::trim) {
        Some(e) if c.is_calculated() => format!("({e})"),
        _ => quote_ident(dialect, &c.column_name),
    }
}

/// The FROM source of a dataset: its quoted table, or its SQL as a derived table.
pub fn dataset_source(dialect: Dialect, d: &Dataset) -> String {
    match &d.sql {
        Some(sql) => format!("({sql}) AS vizier_ds"),
        None => {
            let table = quote_ident(dialect, &d.table_name);
            match &d.schema_name {
                Some(s) => format!("{}.{table} AS vizier_ds", quote_ident(dialect, s)),
                None => format!("{table} AS vizier_ds"),
            }
        }
    }
}
