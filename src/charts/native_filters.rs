//! A dashboard's native filters: their stored form (in `dashboards.json_metadata` under
//! `native_filters`, the shape the Superset importer writes, with Superset's filter type
//! names), the value a filter holds, and the chart filters a value becomes.
//!
//! A filter targets one column on each dataset it covers and applies to the charts in its
//! scope; its value turns into ordinary chart filters (`query::builder::QueryFilter`), so a
//! filtered chart runs through the one chart query path like any other.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ToolError;
use crate::query::builder::QueryFilter;
use crate::query::list::parse_time;

/// The metadata key holding the filters.
pub const KEY: &str = "native_filters";
/// Filter kinds as tools name them.
pub const KINDS: &[&str] = &["select", "time_range", "numeric_range"];

/// Superset's `filterType` of a kind, as stored.
pub fn stored_type(kind: &str) -> &'static str {
    match kind {
        "time_range" => "filter_time",
        "numeric_range" => "filter_range",
        _ => "filter_select",
    }
}

/// The kind of a stored `filter_type`; `None` for Superset kinds vizier does not apply
/// (time column, time grain pickers).
pub fn kind_of(filter_type: &str) -> Option<&'static str> {
    match filter_type {
        "filter_select" => Some("select"),
        "filter_time" => Some("time_range"),
        "filter_range" => Some("numeric_range"),
        _ => None,
    }
}

/// Dashboard metadata (JSON text) with its filters' chart scopes moved by `map` (a chart's
/// id to its copy's), for a copy of the dashboard; charts not in `map` stay as they were.
/// Metadata that is not a JSON object, or filters that are not readable, stay unchanged.
pub fn remap_charts(json_metadata: &str, map: &std::collections::HashMap<i32, i32>) -> String {
    let Ok(Value::Object(mut meta)) = serde_json::from_str::<Value>(json_metadata) else {
        return json_metadata.to_string();
    };
    if let Some(Value::Array(filters)) = meta.get_mut(KEY) {
        for f in filters {
            if let Some(Value::Array(ids)) = f.get_mut("chart_ids") {
                for id in ids.iter_mut() {
                    if let Some(new) = id
                        .as_i64()
                        .and_then(|i| i32::try_from(i).ok())
                        .and_then(|i| map.get(&i))
                    {
                        *id = json!(new);
                    }
                }
            }
        }
    }
    Value::Object(meta).to_string()
}

/// One column of one dataset a filter applies to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FilterTarget {
    pub dataset_id: Option<i32>,
    pub column: Option<String>,
}

/// A stored native filter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NativeFilter {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub filter_type: String,
    #[serde(default)]
    pub targets: Vec<FilterTarget>,
    /// Select filters: more than one value may be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple: Option<bool>,
    #[serde(default)]
    pub default_value: Option<Value>,
    /// The charts the filter applies to; absent (imported filters): every chart on a
    /// targeted dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ids: Option<Vec<i32>>,
}

impl NativeFilter {
    /// The tool-facing kind, if vizier applies this filter.
    pub fn kind(&self) -> Option<&'static str> {
        kind_of(&self.filter_type)
    }

    /// The column the filter targets on `dataset_id`.
    pub fn column_on(&self, dataset_id: i32) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| t.dataset_id == Some(dataset_id))
            .and_then(|t| t.column.as_deref())
    }

    /// Does the filter apply to `chart_id` on `dataset_id`?
    pub fn covers(&self, chart_id: i32, dataset_id: i32) -> bool {
        let on_dataset = self.column_on(dataset_id).is_some();
        match &self.chart_ids {
            Some(ids) => ids.contains(&chart_id) && on_dataset,
            None => on_dataset,
        }
    }

    /// Every column name the filter targets (deduplicated, in order).
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in self.targets.iter().filter_map(|t| t.column.as_deref()) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

/// The stored filters of a dashboard's metadata, as JSON entries (kept verbatim) and those
/// parsed (entries that do not parse are kept but never applied).
pub fn stored(meta: &serde_json::Map<String, Value>) -> Vec<Value> {
    meta.get(KEY)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The entries of `stored` that parse as filters.
pub fn parsed(entries: &[Value]) -> Vec<NativeFilter> {
    entries
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

/// A value a caller gives a filter, naming the filter by id or by column.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterValue {
    /// Filter id (or column).
    pub id: Option<String>,
    pub column: Option<String>,
    /// null: none.
    pub value: Value,
}

/// A filter and the value in force.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FilterState {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub columns: Vec<String>,
    pub value: Value,
    /// given, default or none.
    pub source: String,
}

impl FilterState {
    /// The value as a filter bar shows it; `None` when the filter holds none.
    pub fn shown(&self) -> Option<String> {
        shown(&self.kind, &self.value)
    }
}

/// The filter a given value names, by id or by column.
fn named<'a>(
    filters: &'a [NativeFilter],
    v: &FilterValue,
    field: &str,
) -> Result<&'a NativeFilter, ToolError> {
    let ids: Vec<&str> = filters.iter().map(|f| f.id.as_str()).collect();
    match (&v.id, &v.column) {
        (Some(id), _) => filters.iter().find(|f| &f.id == id).ok_or_else(|| {
            ToolError::invalid_field(
                &format!("{field}.id"),
                format!("the dashboard has no filter '{id}'."),
                &ids,
                Some(id),
            )
        }),
        (None, Some(col)) => {
            let hits: Vec<&NativeFilter> = filters
                .iter()
                .filter(|f| f.columns().contains(&col.as_str()))
                .collect();
            match hits.as_slice() {
                [one] => Ok(one),
                [] => {
                    let mut cols: Vec<&str> = filters.iter().flat_map(|f| f.columns()).collect();
                    cols.dedup();
                    Err(ToolError::invalid_field(
                        &format!("{field}.column"),
                        format!("no filter of the dashboard is on column '{col}'."),
                        &cols,
                        Some(col),
                    ))
                }
                many => Err(bad(
                    &format!("{field}.column"),
                    format!(
                        "{} filters are on '{col}'; name one by id: {}.",
                        many.len(),
                        many.iter()
                            .map(|f| f.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        (None, None) => Err(bad(
            field,
            format!("name the filter by id or column; ids: {}.", ids.join(", ")),
        )),
    }
}

/// A dashboard's filters with the values in force: the given ones, else the defaults.
pub struct InForce {
    /// Every filter vizier applies, with its value and where the value came from.
    pub states: Vec<FilterState>,
    /// Filters left out (Superset kinds vizier does not apply, defaults that do not fit).
    pub notes: Vec<String>,
    /// (filter, kind, value) of each filter holding a value.
    active: Vec<(NativeFilter, &'static str, Value)>,
}

impl InForce {
    /// Check `values` (the argument `field`, a list) against `filters` and settle the value
    /// of each filter.
    pub fn new(
        filters: &[NativeFilter],
        values: &[FilterValue],
        field: &str,
    ) -> Result<Self, ToolError> {
        let mut given: HashMap<&str, &Value> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let field = format!("{field}[{i}]");
            let f = named(filters, v, &field)?;
            let Some(kind) = f.kind() else {
                return Err(bad(
                    &field,
                    format!(
                        "filter {} is a Superset '{}' filter vizier does not apply.",
                        f.id, f.filter_type
                    ),
                ));
            };
            check_value(
                kind,
                f.multiple.unwrap_or(false),
                &v.value,
                &format!("{field}.value"),
            )?;
            if given.insert(&f.id, &v.value).is_some() {
                return Err(bad(&field, format!("filter {} is given twice.", f.id)));
            }
        }
        let mut out = Self {
            states: Vec::new(),
            notes: Vec::new(),
            active: Vec::new(),
        };
        for f in filters {
            let (mut value, mut source) = match given.get(f.id.as_str()) {
                Some(v) => ((*v).clone(), "given"),
                None => match &f.default_value {
                    Some(v) if !v.is_null() => (v.clone(), "default"),
                    _ => (Value::Null, "none"),
                },
            };
            let Some(kind) = f.kind() else {
                out.notes.push(format!(
                    "filter {} ({}) is a Superset '{}' filter; vizier does not apply it.",
                    f.id, f.name, f.filter_type
                ));
                continue;
            };
            if source == "default"
                && let Err(e) =
                    check_value(kind, f.multiple.unwrap_or(false), &value, "default_value")
            {
                out.notes.push(format!(
                    "filter {} ({}): its default is left out: {}",
                    f.id, f.name, e.message
                ));
                value = Value::Null;
                source = "none";
            }
            out.states.push(FilterState {
                id: f.id.clone(),
                name: f.name.clone(),
                kind: kind.into(),
                columns: f.columns().into_iter().map(str::to_owned).collect(),
                value: value.clone(),
                source: source.into(),
            });
            if !value.is_null() {
                out.active.push((f.clone(), kind, value));
            }
        }
        Ok(out)
    }

    /// The chart filters the values in force add to chart `chart_id` on `dataset_id`;
    /// `has_column` says whether its dataset still has a column (a filter on a column it
    /// lost is skipped, with a note).
    pub fn conditions_for(
        &self,
        chart_id: i32,
        dataset_id: i32,
        has_column: impl Fn(&str) -> bool,
        notes: &mut Vec<String>,
    ) -> Result<Vec<QueryFilter>, ToolError> {
        let mut out = Vec::new();
        for (f, kind, value) in &self.active {
            if !f.covers(chart_id, dataset_id) {
                continue;
            }
            let Some(col) = f.column_on(dataset_id) else {
                continue;
            };
            if !has_column(col) {
                notes.push(format!(
                    "chart {chart_id}: filter {} is on column '{col}', which its dataset no longer has; not applied.",
                    f.id
                ));
                continue;
            }
            out.extend(conditions(
                kind,
                f.multiple.unwrap_or(false),
                col,
                value,
                "value",
            )?);
        }
        Ok(out)
    }
}

/// A checked value of a filter of `kind` as a person reads it ("West, East",
/// "2024-01-01 to 2024-07-01", "≥ 10"); `None` when it filters nothing.
pub fn shown(kind: &str, value: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    let range = |lo: Option<String>, hi: Option<String>, to: &str, from: &str, until: &str| match (
        lo, hi,
    ) {
        (Some(a), Some(b)) => Some(format!("{a} {to} {b}")),
        (Some(a), None) => Some(format!("{from} {a}")),
        (None, Some(b)) => Some(format!("{until} {b}")),
        (None, None) => None,
    };
    match (kind, value) {
        (_, Value::Null) => None,
        ("time_range", Value::Object(o)) => {
            let s = |k: &str| o.get(k).filter(|v| !v.is_null()).map(text);
            range(s("start"), s("end"), "to", "from", "before")
        }
        ("time_range", Value::String(s)) if s.trim() == "No filter" => None,
        ("time_range", Value::String(s)) => {
            let (a, b) = s.split_once(" : ")?;
            let part = |x: &str| Some(x.trim().to_string()).filter(|x| !x.is_empty());
            range(part(a), part(b), "to", "from", "before")
        }
        ("numeric_range", Value::Array(a)) if a.len() == 2 => {
            let n = |v: &Value| (!v.is_null()).then(|| text(v));
            range(n(&a[0]), n(&a[1]), "–", "≥", "≤")
        }
        ("numeric_range", Value::Object(o)) => {
            let n = |k: &str| o.get(k).filter(|v| !v.is_null()).map(text);
            range(n("min"), n("max"), "–", "≥", "≤")
        }
        (_, Value::Array(items)) if items.is_empty() => None,
        (_, Value::Array(items)) => Some(items.iter().map(text).collect::<Vec<_>>().join(", ")),
        (_, v) => Some(text(v)),
    }
}

fn bad(field: &str, message: String) -> ToolError {
    ToolError::invalid(format!("{field}: {message}")).with_details(json!({"field": field}))
}

/// Check that `value` fits a filter of `kind` (with `multiple` for selects); `field` names
/// the argument in errors. `null` is always fine (no filter).
pub fn check_value(
    kind: &str,
    multiple: bool,
    value: &Value,
    field: &str,
) -> Result<(), ToolError> {
    conditions(kind, multiple, "x", value, field).map(|_| ())
}

fn scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// The chart filters a value of a filter of `kind` on `column` becomes; empty for `null`
/// (or an empty selection), which filters nothing.
///
/// - select: a value, or a list (`multiple` filters) → `eq` / `in`.
/// - time_range: `{"start", "end"}` (ISO-8601; start inclusive, end exclusive, either
///   may be missing) or Superset's `"START : END"` → `gte` / `lt`.
/// - numeric_range: `[min, max]` or `{"min", "max"}` (inclusive; either may be null) →
///   `gte` / `lte`.
pub fn conditions(
    kind: &str,
    multiple: bool,
    column: &str,
    value: &Value,
    field: &str,
) -> Result<Vec<QueryFilter>, ToolError> {
    let cond = |opr: &str, v: Value| QueryFilter {
        col: column.to_string(),
        opr: opr.into(),
        value: Some(v),
    };
    if value.is_null() {
        return Ok(vec![]);
    }
    match kind {
        "select" => match value {
            v if scalar(v) => Ok(vec![cond("eq", v.clone())]),
            Value::Array(items) => {
                if let Some(x) = items.iter().find(|i| !scalar(i)) {
                    return Err(bad(
                        field,
                        format!("{x} is not a string, number or boolean."),
                    ));
                }
                match items.len() {
                    0 => Ok(vec![]),
                    1 => Ok(vec![cond("eq", items[0].clone())]),
                    n if !multiple => Err(bad(
                        field,
                        format!(
                            "this select filter takes one value, not {n}; make it multiple or give one."
                        ),
                    )),
                    _ => Ok(vec![cond("in", value.clone())]),
                }
            }
            other => Err(bad(
                field,
                format!("a select filter takes a value or a list of values, not {other}."),
            )),
        },
        "time_range" => {
            let (start, end) = match value {
                Value::Object(o) => {
                    if let Some(k) = o.keys().find(|k| *k != "start" && *k != "end") {
                        return Err(bad(
                            field,
                            format!("'{k}' is not a time range key; use start and end."),
                        ));
                    }
                    let s = |k: &str| match o.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) if !s.trim().is_empty() => {
                            Ok(Some(s.trim().to_string()))
                        }
                        Some(other) => Err(bad(
                            field,
                            format!("{k}: {other} is not an ISO-8601 date or time."),
                        )),
                    };
                    (s("start")?, s("end")?)
                }
                Value::String(s) if s.trim() == "No filter" => (None, None),
                Value::String(s) => match s.split_once(" : ") {
                    Some((a, b)) => (
                        Some(a.trim().to_string()).filter(|x| !x.is_empty()),
                        Some(b.trim().to_string()).filter(|x| !x.is_empty()),
                    ),
                    None => {
                        return Err(bad(
                            field,
                            format!(
                                "'{s}' is not a time range; give {{\"start\": \"2024-01-01\", \"end\": \"2024-07-01\"}}."
                            ),
                        ));
                    }
                },
                other => {
                    return Err(bad(
                        field,
                        format!("{other} is not a time range; give {{\"start\", \"end\"}}."),
                    ));
                }
            };
            for b in [&start, &end].into_iter().flatten() {
                if parse_time(b).is_none() {
                    return Err(bad(
                        field,
                        format!("'{b}' is not an ISO-8601 date or time, e.g. 2024-01-31."),
                    ));
                }
            }
            if let (Some(a), Some(b)) = (&start, &end)
                && parse_time(a) >= parse_time(b)
            {
                return Err(bad(field, format!("start {a} is not before end {b}.")));
            }
            let mut out = Vec::new();
            if let Some(a) = start {
                out.push(cond("gte", Value::String(a)));
            }
            if let Some(b) = end {
                out.push(cond("lt", Value::String(b)));
            }
            Ok(out)
        }
        "numeric_range" => {
            let (lo, hi) = match value {
                Value::Array(a) if a.len() == 2 => (a[0].clone(), a[1].clone()),
                Value::Object(o) if o.keys().all(|k| k == "min" || k == "max") => (
                    o.get("min").cloned().unwrap_or(Value::Null),
                    o.get("max").cloned().unwrap_or(Value::Null),
                ),
                other => {
                    return Err(bad(
                        field,
                        format!(
                            "{other} is not a numeric range; give [min, max] (either may be null)."
                        ),
                    ));
                }
            };
            let num = |v: &Value| match v {
                Value::Null => Ok(None),
                Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(Some(v.clone())),
                other => Err(bad(field, format!("{other} is not a number."))),
            };
            let (lo, hi) = (num(&lo)?, num(&hi)?);
            if let (Some(a), Some(b)) = (&lo, &hi)
                && a.as_f64() > b.as_f64()
            {
                return Err(bad(field, format!("min {a} is above max {b}.")));
            }
            let mut out = Vec::new();
            if let Some(a) = lo {
                out.push(cond("gte", a));
            }
            if let Some(b) = hi {
                out.push(cond("lte", b));
            }
            Ok(out)
        }
        other => Err(bad(
            field,
            format!(
                "'{other}' is not a filter kind; kinds: {}.",
                KINDS.join(", ")
            ),
        )),
    }
}

/// Does a column's SQL type hold numbers?
pub fn is_numeric_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_uppercase();
    [
        "INT", "REAL", "NUMERIC", "DECIMAL", "FLOAT", "DOUBLE", "NUMBER", "MONEY",
    ]
    .iter()
    .any(|k| t.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(v: &[QueryFilter]) -> Vec<(String, Value)> {
        v.iter()
            .map(|f| (f.opr.clone(), f.value.clone().unwrap_or(Value::Null)))
            .collect()
    }

    #[test]
    fn select_values_become_eq_or_in() {
        let one = conditions("select", false, "region", &json!("West"), "v").expect("one");
        assert_eq!(ops(&one), [("eq".into(), json!("West"))]);
        let many =
            conditions("select", true, "region", &json!(["West", "East"]), "v").expect("many");
        assert_eq!(ops(&many), [("in".into(), json!(["West", "East"]))]);
        assert!(conditions("select", false, "region", &json!(["a", "b"]), "v").is_err());
        assert!(
            conditions("select", true, "region", &json!([]), "v")
                .expect("none")
                .is_empty()
        );
        assert!(conditions("select", true, "region", &json!({"a": 1}), "v").is_err());
        assert!(
            conditions("select", true, "region", &Value::Null, "v")
                .expect("null")
                .is_empty()
        );
    }

    #[test]
    fn time_ranges_in_both_forms() {
        let r = conditions(
            "time_range",
            false,
            "d",
            &json!({"start": "2024-01-01", "end": "2024-02-01"}),
            "v",
        )
        .expect("object");
        assert_eq!(
            ops(&r),
            [
                ("gte".into(), json!("2024-01-01")),
                ("lt".into(), json!("2024-02-01"))
            ]
        );
        let r = conditions("time_range", false, "d", &json!("2024-03-01 : "), "v").expect("text");
        assert_eq!(ops(&r), [("gte".into(), json!("2024-03-01"))]);
        assert!(
            conditions("time_range", false, "d", &json!("No filter"), "v")
                .expect("none")
                .is_empty()
        );
        assert!(conditions("time_range", false, "d", &json!({"start": "soon"}), "v").is_err());
        assert!(
            conditions(
                "time_range",
                false,
                "d",
                &json!({"start": "2024-02-01", "end": "2024-01-01"}),
                "v"
            )
            .is_err()
        );
        assert!(conditions("time_range", false, "d", &json!("last week"), "v").is_err());
    }

    #[test]
    fn numeric_ranges_are_inclusive_and_ordered() {
        let r = conditions("numeric_range", false, "q", &json!([1, null]), "v").expect("lo");
        assert_eq!(ops(&r), [("gte".into(), json!(1))]);
        let r = conditions(
            "numeric_range",
            false,
            "q",
            &json!({"min": 1, "max": 5}),
            "v",
        )
        .expect("both");
        assert_eq!(
            ops(&r),
            [("gte".into(), json!(1)), ("lte".into(), json!(5))]
        );
        assert!(conditions("numeric_range", false, "q", &json!([5, 1]), "v").is_err());
        assert!(conditions("numeric_range", false, "q", &json!(["a", 1]), "v").is_err());
        assert!(conditions("numeric_range", false, "q", &json!([1]), "v").is_err());
    }

    #[test]
    fn imported_filters_parse_and_scope_by_dataset() {
        let stored = json!([
            {"id": "NATIVE_FILTER-1", "name": "Region", "filter_type": "filter_select",
             "targets": [{"dataset_id": 7, "column": "region"}], "default_value": null},
            {"id": "NATIVE_FILTER-2", "name": "Grain", "filter_type": "filter_timegrain",
             "targets": [{"dataset_id": null, "column": null}], "default_value": null},
            {"not": "a filter"}
        ]);
        let all = parsed(stored.as_array().expect("list"));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].kind(), Some("select"));
        assert_eq!(all[1].kind(), None);
        assert!(all[0].covers(3, 7));
        assert!(!all[0].covers(3, 5));
        assert_eq!(all[0].columns(), ["region"]);
    }

    #[test]
    fn values_read_as_a_filter_bar_shows_them() {
        assert_eq!(
            shown("select", &json!(["West", "East"])).as_deref(),
            Some("West, East")
        );
        assert_eq!(shown("select", &json!(3)).as_deref(), Some("3"));
        assert_eq!(shown("select", &json!([])), None);
        assert_eq!(shown("select", &Value::Null), None);
        assert_eq!(
            shown(
                "time_range",
                &json!({"start": "2024-01-01", "end": "2025-01-01"})
            )
            .as_deref(),
            Some("2024-01-01 to 2025-01-01")
        );
        assert_eq!(
            shown("time_range", &json!(" : 2024-06-01")).as_deref(),
            Some("before 2024-06-01")
        );
        assert_eq!(shown("time_range", &json!("No filter")), None);
        assert_eq!(
            shown("numeric_range", &json!([1, null])).as_deref(),
            Some("≥ 1")
        );
        assert_eq!(
            shown("numeric_range", &json!({"min": 1, "max": 5})).as_deref(),
            Some("1 – 5")
        );
    }

    #[test]
    fn values_in_force_are_the_given_else_the_defaults() {
        let filters = parsed(
            json!([
                {"id": "F1", "name": "Region", "filter_type": "filter_select", "multiple": false,
                 "targets": [{"dataset_id": 7, "column": "region"}], "default_value": "West",
                 "chart_ids": [1]},
                {"id": "F2", "name": "Channel", "filter_type": "filter_select",
                 "targets": [{"dataset_id": 7, "column": "channel"}], "default_value": null}
            ])
            .as_array()
            .expect("list"),
        );
        let at_defaults = InForce::new(&filters, &[], "filters").expect("defaults");
        let sources: Vec<&str> = at_defaults
            .states
            .iter()
            .map(|s| s.source.as_str())
            .collect();
        assert_eq!(sources, ["default", "none"]);
        let mut notes = Vec::new();
        let conds = at_defaults
            .conditions_for(1, 7, |_| true, &mut notes)
            .expect("conditions");
        assert_eq!(ops(&conds), [("eq".into(), json!("West"))]);
        assert!(
            at_defaults
                .conditions_for(2, 7, |_| true, &mut notes)
                .expect("none")
                .is_empty()
        );
        let given = |id: &str, value: Value| FilterValue {
            id: Some(id.into()),
            column: None,
            value,
        };
        let f = InForce::new(&filters, &[given("F2", json!("online"))], "filters").expect("given");
        assert_eq!(f.states[1].source, "given");
        let conds = f
            .conditions_for(1, 7, |c| c != "region", &mut notes)
            .expect("conditions");
        assert_eq!(ops(&conds), [("eq".into(), json!("online"))]);
        assert_eq!(notes.len(), 1, "a lost column is noted: {notes:?}");
        let e = InForce::new(&filters, &[given("F9", json!(1))], "filters")
            .err()
            .expect("unknown");
        assert_eq!(e.details["field"], "filters[0].id");
        let e = InForce::new(&filters, &[given("F1", json!(["a", "b"]))], "filters")
            .err()
            .expect("single select");
        assert!(e.message.contains("takes one value"), "{}", e.message);
    }

    #[test]
    fn a_copys_filters_scope_the_copied_charts() {
        let meta = json!({"refresh_frequency": 0, "native_filters": [
            {"id": "F1", "name": "Region", "filter_type": "filter_select",
             "targets": [{"dataset_id": 7, "column": "region"}], "chart_ids": [1, 2, 9]},
            {"id": "F2", "name": "Imported", "filter_type": "filter_select",
             "targets": [{"dataset_id": 7, "column": "channel"}]}
        ]});
        let map: HashMap<i32, i32> = [(1, 11), (2, 12)].into_iter().collect();
        let out: Value = serde_json::from_str(&remap_charts(&meta.to_string(), &map)).unwrap();
        assert_eq!(out["native_filters"][0]["chart_ids"], json!([11, 12, 9]));
        assert!(out["native_filters"][1].get("chart_ids").is_none());
        assert_eq!(out["refresh_frequency"], 0);
        assert_eq!(remap_charts("not json", &map), "not json");
    }
}
