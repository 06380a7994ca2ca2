//! Writing vizier's dashboards and charts as a Superset export bundle (version 1.0.0) that
//! `superset import-dashboards` and Superset's REST import accept: each object keeps its
//! UUID, databases carry a masked password, charts carry `params` and a `query_context`
//! Superset can run. The caller has checked that the caller may see what is exported.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use super::bundle::{VERSION, write_zip};
use super::mapping::{chart_to_superset, position_from_layout, sqlalchemy_uri};
use crate::charts::native_filters::{self, NativeFilter};
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::Dashboard;
use crate::db::datasets::{Dataset, DatasetColumn, DatasetMetric};
use crate::db::schema::{
    charts, dashboard_charts, dashboards, databases, dataset_columns, dataset_metrics, datasets,
};
use crate::db::secrets::Cipher;
use crate::error::ToolError;
use crate::layout::Layout;
use crate::query::catalog::Access;
use crate::with_conn;

/// What a bundle holds.
#[derive(Debug, Default, Clone, Serialize, JsonSchema)]
pub struct Exported {
    pub dashboards: usize,
    pub charts: usize,
    pub datasets: usize,
    pub databases: usize,
    /// Charts written with their kept Superset params only (types vizier does not draw).
    pub unsupported_charts: Vec<String>,
    pub bytes: usize,
}

/// A file name part: letters, digits and `_` only.
fn file_part(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    if t.is_empty() { "x".into() } else { t }
}

/// A bundle file. Written as JSON, which is YAML: every string stays quoted, so Superset's
/// YAML 1.1 reader never turns a date-like string (the metadata timestamp, a date in chart
/// params) into a date object its schemas then refuse.
fn yaml(v: &Value) -> Result<Vec<u8>, ToolError> {
    serde_json::to_vec_pretty(v).map_err(ToolError::internal)
}

/// Superset keys of a stored dashboard's metadata, with chart-id references dropped (they
/// are Superset's old ids) and vizier's own keys removed. The native filters are vizier's
/// (`native_filters`, as `manage_native_filters` keeps them) written in Superset's form, each
/// starting from the Superset filter of the same id when the dashboard came from Superset
/// (so what vizier does not model, such as sort order or search settings, is kept);
/// `datasets` gives each exported dataset's UUID; a target on a dataset not in the bundle
/// is left out, and a filter left with no target with it.
fn superset_metadata(stored: &str, datasets: &BTreeMap<i32, (String, Option<String>)>) -> Value {
    let mut meta: serde_json::Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    let raw: Vec<Value> = match meta.remove("native_filter_configuration") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let vizier: Option<Vec<NativeFilter>> = meta
        .get(native_filters::KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    for k in [
        native_filters::KEY,
        "superset_position",
        "positions",
        "filter_scopes",
        "timed_refresh_immune_slices",
        "expanded_slices",
        "chart_configuration",
        "global_chart_configuration",
        "default_filters",
    ] {
        meta.remove(k);
    }
    let mut config: Vec<Value> = match vizier {
        Some(filters) => filters
            .iter()
            .filter_map(|f| {
                let base = raw
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(&f.id));
                native_filter_json(f, base, datasets)
            })
            .collect(),
        None => raw,
    };
    for f in &mut config {
        if let Some(o) = f.as_object_mut() {
            o.insert(
                "scope".into(),
                json!({"rootPath": ["ROOT_ID"], "excluded": []}),
            );
            o.remove("chartsInScope");
            o.remove("tabsInScope");
        }
    }
    meta.insert("native_filter_configuration".into(), Value::Array(config));
    meta.entry("color_scheme").or_insert(json!(""));
    meta.entry("refresh_frequency").or_insert(json!(0));
    meta.entry("cross_filters_enabled").or_insert(json!(true));
    meta.insert("default_filters".into(), json!("{}"));
    meta.insert("expanded_slices".into(), json!({}));
    meta.insert("timed_refresh_immune_slices".into(), json!([]));
    Value::Object(meta)
}

/// One vizier native filter in Superset's form (see [`superset_metadata`]).
fn native_filter_json(
    f: &NativeFilter,
    base: Option<&Value>,
    datasets: &BTreeMap<i32, (String, Option<String>)>,
) -> Option<Value> {
    let targets: Vec<Value> = f
        .targets
        .iter()
        .filter_map(|t| {
            let (uuid, _) = datasets.get(&t.dataset_id?)?;
            let mut target = json!({"datasetUuid": uuid});
            if let Some(c) = &t.column {
                target["column"] = json!({"name": c});
            }
            Some(target)
        })
        .collect();
    let time = f.filter_type == "filter_time";
    if targets.is_empty() && !time {
        return None;
    }
    let mut o = base.and_then(Value::as_object).cloned().unwrap_or_default();
    o.insert("id".into(), json!(f.id));
    o.insert("name".into(), json!(f.name));
    o.insert("filterType".into(), json!(f.filter_type));
    o.insert("type".into(), json!("NATIVE_FILTER"));
    o.insert(
        "targets".into(),
        if targets.is_empty() {
            json!([{}])
        } else {
            Value::Array(targets)
        },
    );
    o.entry("cascadeParentIds").or_insert(json!([]));
    o.entry("description").or_insert(json!(""));
    let controls = o.entry("controlValues").or_insert(json!({}));
    if let (Some(c), Some(m)) = (controls.as_object_mut(), f.multiple) {
        c.insert("multiSelect".into(), json!(m));
    }
    // The default value, and the query change it makes (Superset applies a default through
    // its extraFormData).
    let column = f.targets.iter().find_map(|t| t.column.clone());
    let value = f.default_value.clone().filter(|v| !v.is_null());
    let extra = match (&value, f.filter_type.as_str(), &column) {
        (Some(v), "filter_select", Some(col)) => {
            let vals = if v.is_array() { v.clone() } else { json!([v]) };
            json!({"filters": [{"col": col, "op": "IN", "val": vals}]})
        }
        (Some(Value::Array(r)), "filter_range", Some(col)) if r.len() == 2 => {
            let mut fs = Vec::new();
            if !r[0].is_null() {
                fs.push(json!({"col": col, "op": ">=", "val": r[0]}));
            }
            if !r[1].is_null() {
                fs.push(json!({"col": col, "op": "<=", "val": r[1]}));
            }
            json!({"filters": fs})
        }
        (Some(v), "filter_time", _) => json!({"time_range": superset_time_range(v)}),
        _ => json!({}),
    };
    let state_value = match (&value, f.filter_type.as_str()) {
        (Some(v), "filter_select") if !v.is_array() => json!([v]),
        (Some(v), "filter_time") => json!(superset_time_range(v)),
        (Some(v), _) => v.clone(),
        (None, _) => Value::Null,
    };
    o.insert(
        "defaultDataMask".into(),
        json!({"filterState": {"value": state_value}, "extraFormData": extra}),
    );
    Some(Value::Object(o))
}

/// A time filter's default as Superset's time range text: as given when it is text, or
/// `START : END` from `{start, end}`.
fn superset_time_range(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => format!(
            "{} : {}",
            o.get("start").and_then(Value::as_str).unwrap_or_default(),
            o.get("end").and_then(Value::as_str).unwrap_or_default()
        ),
        _ => "No filter".into(),
    }
}

/// Build the bundle of `dashboard_ids` (with all their charts) and `chart_ids`, with every
/// dataset and database they use; with `access`, only the charts it sees.
pub async fn export(
    conn: &mut MetaConn,
    cipher: &Cipher,
    dashboard_ids: &[i32],
    chart_ids: &[i32],
    access: Option<&Access>,
) -> Result<(Vec<u8>, Exported), ToolError> {
    let d_ids = dashboard_ids.to_vec();
    let dashes: Vec<Dashboard> = with_conn!(conn, |c| {
        dashboards::table
            .filter(dashboards::id.eq_any(d_ids))
            .select(Dashboard::as_select())
            .order(dashboards::id)
            .load(c)
            .await
    })?;
    let mut want: BTreeSet<i32> = chart_ids.iter().copied().collect();
    let d_ids = dashboard_ids.to_vec();
    let linked: Vec<i32> = with_conn!(conn, |c| {
        dashboard_charts::table
            .filter(dashboard_charts::dashboard_id.eq_any(d_ids))
            .select(dashboard_charts::chart_id)
            .load(c)
            .await
    })?;
    want.extend(linked);
    for d in &dashes {
        want.extend(
            Layout::parse(&d.layout)
                .map(|l| l.chart_ids())
                .unwrap_or_default(),
        );
    }
    let ids: Vec<i32> = want.into_iter().collect();
    let chart_rows: Vec<Chart> = with_conn!(conn, |c| {
        charts::table
            .filter(charts::id.eq_any(ids))
            .filter(charts::deleted_on.is_null())
            .select(Chart::as_select())
            .order(charts::id)
            .load(c)
            .await
    })?;
    let mut chart_rows = chart_rows;
    if let Some(a) = access {
        chart_rows.retain(|c| a.sees_dataset(c.dataset_id));
    }
    let ds_ids: Vec<i32> = chart_rows
        .iter()
        .map(|c| c.dataset_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let q = ds_ids.clone();
    let dataset_rows: Vec<Dataset> = with_conn!(conn, |c| {
        datasets::table
            .filter(datasets::id.eq_any(q))
            .select(Dataset::as_select())
            .load(c)
            .await
    })?;
    let q = ds_ids.clone();
    let columns: Vec<DatasetColumn> = with_conn!(conn, |c| {
        dataset_columns::table
            .filter(dataset_columns::dataset_id.eq_any(q))
            .select(DatasetColumn::as_select())
            .order(dataset_columns::id)
            .load(c)
            .await
    })?;
    let q = ds_ids.clone();
    let metrics: Vec<DatasetMetric> = with_conn!(conn, |c| {
        dataset_metrics::table
            .filter(dataset_metrics::dataset_id.eq_any(q))
            .select(DatasetMetric::as_select())
            .order(dataset_metrics::id)
            .load(c)
            .await
    })?;
    let db_ids: Vec<i32> = dataset_rows
        .iter()
        .map(|d| d.database_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let dbs: Vec<(i32, String, String, String, String)> = with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq_any(db_ids))
            .select((
                databases::id,
                databases::uuid,
                databases::name,
                databases::connection_encrypted,
                databases::settings,
            ))
            .load(c)
            .await
    })?;

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut out = Exported::default();
    let mut db_file: BTreeMap<i32, (String, String)> = BTreeMap::new();
    for (id, uuid, name, enc, settings) in &dbs {
        let url = cipher.decrypt(enc).map_err(ToolError::internal)?;
        let allow_dml = serde_json::from_str::<Value>(settings)
            .ok()
            .and_then(|s| s.get("allow_dml").and_then(Value::as_bool))
            .unwrap_or(false);
        let v = json!({
            "database_name": name, "sqlalchemy_uri": sqlalchemy_uri(&url), "cache_timeout": null,
            "expose_in_sqllab": true, "allow_run_async": false, "allow_ctas": false,
            "allow_cvas": false, "allow_dml": allow_dml, "allow_file_upload": false,
            "extra": {"allows_virtual_table_explore": true}, "uuid": uuid, "version": VERSION,
        });
        files.insert(format!("databases/{}.yaml", file_part(name)), yaml(&v)?);
        db_file.insert(*id, (uuid.clone(), file_part(name)));
        out.databases += 1;
    }
    let mut ds_info: BTreeMap<i32, (String, Option<String>)> = BTreeMap::new();
    for d in &dataset_rows {
        let Some((db_uuid, db_dir)) = db_file.get(&d.database_id) else {
            continue;
        };
        let extra: Value = serde_json::from_str(&d.extra).unwrap_or(json!({}));
        let cols: Vec<Value> = columns
            .iter()
            .filter(|c| c.dataset_id == d.id)
            .map(|c| {
                json!({
                    "column_name": c.column_name,
                    "verbose_name": extra.pointer(&format!("/verbose_names/{}", c.column_name.replace('~', "~0").replace('/', "~1"))),
                    "is_dttm": c.is_temporal, "is_active": true,
                    "type": if c.data_type.is_empty() { Value::Null } else { json!(c.data_type) },
                    "advanced_data_type": null, "groupby": c.is_groupable,
                    "filterable": c.is_filterable, "expression": c.expression,
                    "description": if c.description.is_empty() { Value::Null } else { json!(c.description) },
                    "python_date_format": extra.pointer(&format!("/python_date_format/{}", c.column_name.replace('~', "~0").replace('/', "~1"))),
                    "extra": {},
                })
            })
            .collect();
        let ms: Vec<Value> = metrics
            .iter()
            .filter(|m| m.dataset_id == d.id)
            .map(|m| {
                json!({
                    "metric_name": m.metric_name, "verbose_name": m.verbose_name,
                    "metric_type": null, "expression": m.expression,
                    "description": if m.description.is_empty() { Value::Null } else { json!(m.description) },
                    "d3format": m.d3format, "currency": null, "extra": {}, "warning_text": null,
                })
            })
            .collect();
        let v = json!({
            "table_name": d.table_name, "main_dttm_col": d.main_dttm_col,
            "description": if d.description.is_empty() { Value::Null } else { json!(d.description) },
            "default_endpoint": null, "offset": 0,
            "cache_timeout": super::mapping::cache_timeout_to_superset(d.cache_timeout),
            "schema": d.schema_name, "sql": d.sql, "params": null, "template_params": null,
            "filter_select_enabled": true, "fetch_values_predicate": null, "extra": null,
            "normalize_columns": false, "always_filter_main_dttm": false,
            "uuid": d.uuid, "metrics": ms, "columns": cols, "version": VERSION,
            "database_uuid": db_uuid,
        });
        files.insert(
            format!(
                "datasets/{db_dir}/{}_{}.yaml",
                file_part(&d.table_name),
                d.id
            ),
            yaml(&v)?,
        );
        ds_info.insert(d.id, (d.uuid.clone(), d.main_dttm_col.clone()));
        out.datasets += 1;
    }
    let mut chart_meta: BTreeMap<i32, (String, String)> = BTreeMap::new();
    for ch in &chart_rows {
        let Some((ds_uuid, time_col)) = ds_info.get(&ch.dataset_id) else {
            continue;
        };
        let config: Value = serde_json::from_str(&ch.config).unwrap_or(Value::Null);
        let (viz_type, params, query_context) =
            chart_to_superset(&config, ch.dataset_id, time_col.as_deref()).map_err(|e| {
                ToolError::invalid(format!(
                    "chart {} ('{}') cannot be exported: {e}",
                    ch.id, ch.name
                ))
            })?;
        if ch.chart_type == "unsupported" {
            out.unsupported_charts.push(ch.name.clone());
        }
        let v = json!({
            "slice_name": ch.name, "description": if ch.description.is_empty() { Value::Null } else { json!(ch.description) },
            "certified_by": null, "certification_details": null, "viz_type": viz_type,
            "params": params, "query_context": query_context, "cache_timeout": null,
            "uuid": ch.uuid, "version": VERSION, "dataset_uuid": ds_uuid,
        });
        files.insert(
            format!("charts/{}_{}.yaml", file_part(&ch.name), ch.id),
            yaml(&v)?,
        );
        chart_meta.insert(ch.id, (ch.uuid.clone(), ch.name.clone()));
        out.charts += 1;
    }
    for d in &dashes {
        let layout = Layout::parse(&d.layout)?;
        let lookup = |id: i32| chart_meta.get(&id).cloned();
        let position = position_from_layout(&layout, &d.title, &lookup);
        let v = json!({
            "dashboard_title": d.title,
            "description": if d.description.is_empty() { Value::Null } else { json!(d.description) },
            "css": "", "slug": d.slug, "certified_by": null, "certification_details": null,
            "published": d.published, "uuid": d.uuid, "position": position,
            "metadata": superset_metadata(&d.json_metadata, &ds_info), "version": VERSION,
        });
        files.insert(
            format!("dashboards/{}_{}.yaml", file_part(&d.title), d.id),
            yaml(&v)?,
        );
        out.dashboards += 1;
    }
    let kind = if dashes.is_empty() {
        "Slice"
    } else {
        "Dashboard"
    };
    let now = chrono::Utc::now();
    // Superset parses the timestamp with Python's datetime: microseconds at most.
    let stamp = now.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    let meta = json!({"version": VERSION, "type": kind, "timestamp": stamp});
    files.insert("metadata.yaml".into(), yaml(&meta)?);
    let root = format!(
        "{}_export_{}",
        if dashes.is_empty() {
            "chart"
        } else {
            "dashboard"
        },
        now.format("%Y%m%dT%H%M%S")
    );
    let zip = write_zip(&root, &files)?;
    out.bytes = zip.len();
    Ok((zip, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vizier_native_filters_are_written_in_supersets_form() {
        let datasets = BTreeMap::from([(3, ("ds-uuid-3".to_string(), Some("day".to_string())))]);
        let stored = json!({
            "native_filter_configuration": [{"id": "NATIVE_FILTER-a", "name": "Old name",
                "filterType": "filter_select", "controlValues": {"sortAscending": true},
                "targets": [{"datasetId": 99, "column": {"name": "region"}}]}],
            "native_filters": [
                {"id": "NATIVE_FILTER-a", "name": "Region", "filter_type": "filter_select",
                 "targets": [{"dataset_id": 3, "column": "region"}], "multiple": false,
                 "default_value": "West"},
                {"id": "NATIVE_FILTER-b", "name": "Amount", "filter_type": "filter_range",
                 "targets": [{"dataset_id": 3, "column": "amount"}], "default_value": [10, null]},
                {"id": "NATIVE_FILTER-c", "name": "When", "filter_type": "filter_time",
                 "targets": [], "default_value": "Last week"},
                {"id": "NATIVE_FILTER-d", "name": "Elsewhere", "filter_type": "filter_select",
                 "targets": [{"dataset_id": 4, "column": "x"}]}
            ],
            "superset_position": {}
        })
        .to_string();
        let meta = superset_metadata(&stored, &datasets);
        let config = meta["native_filter_configuration"]
            .as_array()
            .expect("filters");
        let ids: Vec<&str> = config.iter().filter_map(|f| f["id"].as_str()).collect();
        // The filter on a dataset not in the bundle is left out.
        assert_eq!(
            ids,
            ["NATIVE_FILTER-a", "NATIVE_FILTER-b", "NATIVE_FILTER-c"]
        );
        let a = &config[0];
        assert_eq!(a["name"], "Region");
        assert_eq!(
            a["targets"],
            json!([{"datasetUuid": "ds-uuid-3", "column": {"name": "region"}}])
        );
        assert_eq!(
            a["controlValues"]["sortAscending"], true,
            "Superset's own settings kept"
        );
        assert_eq!(a["controlValues"]["multiSelect"], false);
        assert_eq!(
            a["defaultDataMask"]["filterState"]["value"],
            json!(["West"])
        );
        assert_eq!(
            a["defaultDataMask"]["extraFormData"]["filters"][0],
            json!({"col": "region", "op": "IN", "val": ["West"]})
        );
        assert_eq!(a["scope"]["rootPath"], json!(["ROOT_ID"]));
        assert_eq!(
            config[1]["defaultDataMask"]["extraFormData"]["filters"],
            json!([{"col": "amount", "op": ">=", "val": 10}])
        );
        assert_eq!(config[2]["targets"], json!([{}]));
        assert_eq!(
            config[2]["defaultDataMask"]["extraFormData"]["time_range"],
            "Last week"
        );
        assert!(meta.get("native_filters").is_none());
        assert!(meta.get("superset_position").is_none());
    }
}
