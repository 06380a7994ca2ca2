//! Importing a read [`Bundle`] into the metadata store: planned first (charts mapped and
//! checked against their datasets, layouts built, nothing written), then written in ONE
//! transaction, so a bundle that fails anywhere leaves nothing behind. Objects keep their
//! Superset UUIDs: importing the same bundle again updates them in place.
//!
//! Which vizier database each bundle database becomes ([`DbTarget`]) is decided by the
//! caller, which can reach the data sources and the secrets.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use super::bundle::{Bundle, DatasetFile, chart_uuids};
use super::mapping::{MappedChart, chart_from_superset_with, layout_from_position, unsupported};
use crate::charts::config::ChartConfig;
use crate::db::MetaConn;
use crate::db::datasets::{DatasetColumn, DatasetMetric};
use crate::db::models::{new_uuid, now};
use crate::db::schema::{
    chart_owners, charts, dashboard_charts, dashboard_owners, dashboards, databases,
    dataset_columns, dataset_metrics, datasets,
};
use crate::error::ToolError;
use crate::in_transaction;

/// Where a bundle database goes.
#[derive(Clone)]
pub enum DbTarget {
    /// A registered vizier database; `connection` replaces its URL when set (encrypted).
    Existing {
        id: i32,
        connection: Option<(String, String)>,
    },
    /// Registered by the import, keeping the bundle's UUID.
    New {
        name: String,
        engine: String,
        connection_encrypted: String,
        settings: String,
    },
}

/// How many objects of each kind an import created and updated.
#[derive(Debug, Default, Clone, Serialize, JsonSchema)]
pub struct Counts {
    pub databases: usize,
    pub datasets: usize,
    pub charts: usize,
    pub dashboards: usize,
}

/// One object not taken, or taken only in part, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Item {
    pub kind: String,
    pub name: String,
    pub uuid: String,
    /// `partial` (imported, something dropped) or `unsupported` (kept, not drawn).
    pub status: String,
    pub reasons: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone, Serialize, JsonSchema)]
pub struct Report {
    pub created: Counts,
    pub updated: Counts,
    /// Bundle files vizier does not read.
    pub ignored_files: Vec<String>,
    pub items: Vec<Item>,
    /// Bundle database uuid → the vizier database id it became.
    pub database_ids: BTreeMap<String, i32>,
    pub dashboard_ids: Vec<i32>,
}

/// `%Y-%m-%d`-like formats sort as text the way vizier's ISO bounds compare.
fn iso_like(format: &str) -> bool {
    [
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S.%f",
    ]
    .contains(&format)
}

fn catalog_parts(d: &DatasetFile) -> (Vec<DatasetColumn>, Vec<DatasetMetric>) {
    let cols = d
        .columns
        .iter()
        .map(|c| DatasetColumn {
            id: 0,
            dataset_id: 0,
            column_name: c.column_name.clone(),
            data_type: c.data_type.clone().unwrap_or_default(),
            is_temporal: c.is_dttm.unwrap_or(false),
            is_groupable: c.groupby.unwrap_or(true),
            is_filterable: c.filterable.unwrap_or(true),
            expression: c.expression.clone().filter(|e| !e.trim().is_empty()),
            description: c.description.clone().unwrap_or_default(),
        })
        .collect();
    let metrics = d
        .metrics
        .iter()
        .map(|m| DatasetMetric {
            id: 0,
            dataset_id: 0,
            metric_name: m.metric_name.clone(),
            expression: m.expression.clone(),
            verbose_name: m.verbose_name.clone(),
            description: m.description.clone().unwrap_or_default(),
            d3format: m.d3format.clone(),
            changed_on: chrono::NaiveDateTime::default(),
        })
        .collect();
    (cols, metrics)
}

/// Map every chart (pure: no store access), checking it against its bundle dataset.
pub fn map_charts(bundle: &Bundle) -> Vec<MappedChart> {
    let by_uuid: HashMap<String, &DatasetFile> = bundle
        .datasets
        .iter()
        .map(|(_, d)| (d.uuid.to_ascii_lowercase(), d))
        .collect();
    bundle
        .charts
        .iter()
        .map(|(_, c)| {
            let dataset = by_uuid.get(&c.dataset_uuid.to_ascii_lowercase());
            let saved = |name: &str| {
                dataset.and_then(|d| {
                    d.metrics
                        .iter()
                        .find(|m| m.metric_name == name)
                        .map(|m| m.expression.clone())
                })
            };
            let mut m = chart_from_superset_with(&c.viz_type, &c.params, &saved);
            if m.chart_type == "unsupported" {
                return m;
            }
            let Some(d) = dataset else {
                return m;
            };
            let (cols, metrics) = catalog_parts(d);
            let checked = ChartConfig::parse(&m.config).and_then(|cfg| cfg.check(&cols, &metrics));
            if let Err(e) = checked {
                let notes = std::mem::take(&mut m.notes);
                m = unsupported(
                    &c.viz_type,
                    &c.params,
                    format!("it does not fit its dataset: {}", e.message),
                );
                m.notes.extend(notes);
            }
            m
        })
        .collect()
}

/// The dataset's `extra`: what vizier keeps of Superset's column details.
fn dataset_extra(d: &DatasetFile) -> Value {
    let formats: BTreeMap<&str, &str> = d
        .columns
        .iter()
        .filter_map(|c| Some((c.column_name.as_str(), c.python_date_format.as_deref()?)))
        .collect();
    let verbose: BTreeMap<&str, &str> = d
        .columns
        .iter()
        .filter_map(|c| Some((c.column_name.as_str(), c.verbose_name.as_deref()?)))
        .collect();
    json!({"python_date_format": formats, "verbose_names": verbose})
}

/// A tenant check for an object found by UUID: it must be the caller's.
fn foreign(kind: &str, uuid: &str) -> ToolError {
    ToolError::conflict(format!(
        "bundle: {kind} {uuid} exists in vizier outside your tenant; it cannot be updated by this import."
    ))
    .with_details(json!({"field": "bundle", "uuid": uuid}))
}

/// Write the bundle in one transaction. `targets` maps each bundle database's (lowercase)
/// UUID to where it goes; every bundle database must have one.
pub async fn import(
    conn: &mut MetaConn,
    bundle: &Bundle,
    targets: &HashMap<String, DbTarget>,
    user: Option<i32>,
    tenant: Option<&str>,
) -> Result<Report, ToolError> {
    let mapped = map_charts(bundle);
    let mut report = Report {
        ignored_files: bundle.ignored.clone(),
        ..Default::default()
    };
    for ((_, c), m) in bundle.charts.iter().zip(&mapped) {
        if !m.notes.is_empty() {
            report.items.push(Item {
                kind: "chart".into(),
                name: c.slice_name.clone(),
                uuid: c.uuid.clone(),
                status: if m.chart_type == "unsupported" {
                    "unsupported"
                } else {
                    "partial"
                }
                .into(),
                reasons: m.notes.clone(),
            });
        }
    }
    for (_, d) in &bundle.datasets {
        let odd: Vec<String> = d
            .columns
            .iter()
            .filter_map(|c| {
                let f = c.python_date_format.as_deref()?;
                (!iso_like(f)).then(|| {
                    format!(
                        "column {}: python_date_format '{f}' is kept, but vizier compares time ranges on it as ISO text",
                        c.column_name
                    )
                })
            })
            .collect();
        if !odd.is_empty() {
            report.items.push(Item {
                kind: "dataset".into(),
                name: d.table_name.clone(),
                uuid: d.uuid.clone(),
                status: "partial".into(),
                reasons: odd,
            });
        }
    }
    for (_, db) in &bundle.databases {
        if !targets.contains_key(&db.uuid.to_ascii_lowercase()) {
            return Err(ToolError::invalid(format!(
                "bundle: database '{}' ({}) has no vizier database to go to.",
                db.database_name, db.uuid
            )));
        }
    }
    let at = now();
    let tenant_s = tenant.map(str::to_owned);
    let report = in_transaction!(conn, |c| {
        let mut report = report;
        // Databases.
        let mut db_ids: HashMap<String, i32> = HashMap::new();
        for (_, db) in &bundle.databases {
            let key = db.uuid.to_ascii_lowercase();
            let id = match &targets[&key] {
                DbTarget::Existing { id, connection } => {
                    if let Some((engine, enc)) = connection {
                        diesel::update(databases::table.find(*id))
                            .set((
                                databases::engine.eq(engine),
                                databases::connection_encrypted.eq(enc),
                                databases::changed_on.eq(at),
                                databases::changed_by_fk.eq(user),
                            ))
                            .execute(c)
                            .await?;
                        report.updated.databases += 1;
                    }
                    *id
                }
                DbTarget::New {
                    name,
                    engine,
                    connection_encrypted,
                    settings,
                } => {
                    let id: i32 = diesel::insert_into(databases::table)
                        .values((
                            databases::uuid.eq(&key),
                            databases::name.eq(name),
                            databases::engine.eq(engine),
                            databases::connection_encrypted.eq(connection_encrypted),
                            databases::settings.eq(settings),
                            databases::description.eq("Imported from Superset"),
                            databases::created_on.eq(at),
                            databases::changed_on.eq(at),
                            databases::created_by_fk.eq(user),
                            databases::changed_by_fk.eq(user),
                            databases::tenant.eq(&tenant_s),
                        ))
                        .returning(databases::id)
                        .get_result(c)
                        .await?;
                    report.created.databases += 1;
                    id
                }
            };
            db_ids.insert(key.clone(), id);
            report.database_ids.insert(key, id);
        }
        // Datasets: kept by UUID; columns and metrics replaced.
        let mut ds_ids: HashMap<String, i32> = HashMap::new();
        for (_, d) in &bundle.datasets {
            let key = d.uuid.to_ascii_lowercase();
            let database_id = db_ids[&d.database_uuid.to_ascii_lowercase()];
            let existing: Option<(i32, Option<String>)> = datasets::table
                .inner_join(databases::table)
                .filter(datasets::uuid.eq(&key))
                .select((datasets::id, databases::tenant))
                .first(c)
                .await
                .optional()?;
            let extra = dataset_extra(d).to_string();
            let sql = d.sql.as_deref().filter(|s| !s.trim().is_empty());
            let fields = (
                datasets::database_id.eq(database_id),
                datasets::schema_name.eq(d.schema.as_deref().filter(|s| !s.is_empty())),
                datasets::table_name.eq(&d.table_name),
                datasets::sql.eq(sql),
                datasets::description.eq(d.description.as_deref().unwrap_or("")),
                datasets::main_dttm_col.eq(d.main_dttm_col.as_deref()),
                datasets::extra.eq(&extra),
                datasets::cache_timeout
                    .eq(super::mapping::cache_timeout_from_superset(d.cache_timeout)),
                datasets::changed_on.eq(at),
                datasets::changed_by_fk.eq(user),
            );
            let id = match existing {
                Some((_, t)) if t != tenant_s => return Err(foreign("dataset", &key)),
                Some((id, _)) => {
                    diesel::update(datasets::table.find(id))
                        .set((
                            fields,
                            datasets::deleted_on.eq(None::<chrono::NaiveDateTime>),
                        ))
                        .execute(c)
                        .await?;
                    diesel::delete(
                        dataset_columns::table.filter(dataset_columns::dataset_id.eq(id)),
                    )
                    .execute(c)
                    .await?;
                    diesel::delete(
                        dataset_metrics::table.filter(dataset_metrics::dataset_id.eq(id)),
                    )
                    .execute(c)
                    .await?;
                    report.updated.datasets += 1;
                    id
                }
                None => {
                    let id: i32 = diesel::insert_into(datasets::table)
                        .values((
                            fields,
                            datasets::uuid.eq(&key),
                            datasets::created_on.eq(at),
                            datasets::created_by_fk.eq(user),
                        ))
                        .returning(datasets::id)
                        .get_result(c)
                        .await?;
                    report.created.datasets += 1;
                    id
                }
            };
            let (cols, metrics) = catalog_parts(d);
            for col in &cols {
                diesel::insert_into(dataset_columns::table)
                    .values((
                        dataset_columns::uuid.eq(new_uuid()),
                        dataset_columns::dataset_id.eq(id),
                        dataset_columns::column_name.eq(&col.column_name),
                        dataset_columns::data_type.eq(&col.data_type),
                        dataset_columns::is_temporal.eq(col.is_temporal),
                        dataset_columns::is_groupable.eq(col.is_groupable),
                        dataset_columns::is_filterable.eq(col.is_filterable),
                        dataset_columns::expression.eq(&col.expression),
                        dataset_columns::description.eq(&col.description),
                        dataset_columns::created_on.eq(at),
                        dataset_columns::changed_on.eq(at),
                        dataset_columns::created_by_fk.eq(user),
                        dataset_columns::changed_by_fk.eq(user),
                    ))
                    .execute(c)
                    .await?;
            }
            for m in &metrics {
                diesel::insert_into(dataset_metrics::table)
                    .values((
                        dataset_metrics::uuid.eq(new_uuid()),
                        dataset_metrics::dataset_id.eq(id),
                        dataset_metrics::metric_name.eq(&m.metric_name),
                        dataset_metrics::expression.eq(&m.expression),
                        dataset_metrics::verbose_name.eq(&m.verbose_name),
                        dataset_metrics::description.eq(&m.description),
                        dataset_metrics::d3format.eq(&m.d3format),
                        dataset_metrics::created_on.eq(at),
                        dataset_metrics::changed_on.eq(at),
                        dataset_metrics::created_by_fk.eq(user),
                        dataset_metrics::changed_by_fk.eq(user),
                    ))
                    .execute(c)
                    .await?;
            }
            ds_ids.insert(key, id);
        }
        // Charts.
        let mut chart_ids: HashMap<String, i32> = HashMap::new();
        for ((_, ch), m) in bundle.charts.iter().zip(&mapped) {
            let key = ch.uuid.to_ascii_lowercase();
            let dataset_id = ds_ids[&ch.dataset_uuid.to_ascii_lowercase()];
            let existing: Option<(i32, Option<String>)> = charts::table
                .inner_join(datasets::table.inner_join(databases::table))
                .filter(charts::uuid.eq(&key))
                .select((charts::id, databases::tenant))
                .first(c)
                .await
                .optional()?;
            let config = m.config.to_string();
            let fields = (
                charts::name.eq(&ch.slice_name),
                charts::chart_type.eq(&m.chart_type),
                charts::dataset_id.eq(dataset_id),
                charts::config.eq(&config),
                charts::description.eq(ch.description.as_deref().unwrap_or("")),
                charts::changed_on.eq(at),
                charts::changed_by_fk.eq(user),
            );
            let id = match existing {
                Some((_, t)) if t != tenant_s => return Err(foreign("chart", &key)),
                Some((id, _)) => {
                    diesel::update(charts::table.find(id))
                        .set((fields, charts::deleted_on.eq(None::<chrono::NaiveDateTime>)))
                        .execute(c)
                        .await?;
                    report.updated.charts += 1;
                    id
                }
                None => {
                    let id: i32 = diesel::insert_into(charts::table)
                        .values((
                            fields,
                            charts::uuid.eq(&key),
                            charts::created_on.eq(at),
                            charts::created_by_fk.eq(user),
                        ))
                        .returning(charts::id)
                        .get_result(c)
                        .await?;
                    if let Some(u) = user {
                        diesel::insert_into(chart_owners::table)
                            .values((chart_owners::chart_id.eq(id), chart_owners::user_id.eq(u)))
                            .execute(c)
                            .await?;
                    }
                    report.created.charts += 1;
                    id
                }
            };
            chart_ids.insert(key, id);
        }
        // Dashboards.
        for (_, d) in &bundle.dashboards {
            let key = d.uuid.to_ascii_lowercase();
            let lookup = |u: &str| chart_ids.get(&u.to_ascii_lowercase()).copied();
            let (layout, notes) = layout_from_position(&d.position, &lookup);
            if let Err(e) = layout.validate() {
                return Err(ToolError::invalid(format!(
                    "bundle: dashboard '{}': its position does not make a vizier layout: {}",
                    d.dashboard_title, e.message
                )));
            }
            let mut meta = d.metadata.as_object().cloned().unwrap_or_default();
            let native: Vec<Value> = meta
                .get("native_filter_configuration")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| {
                    let targets: Vec<Value> = f
                        .get("targets")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|t| {
                            let ds = t
                                .get("datasetUuid")
                                .and_then(Value::as_str)
                                .and_then(|u| ds_ids.get(&u.to_ascii_lowercase()));
                            json!({"dataset_id": ds, "column": t.pointer("/column/name")})
                        })
                        .collect();
                    json!({
                        "id": f.get("id"), "name": f.get("name"),
                        "filter_type": f.get("filterType"), "targets": targets,
                        "default_value": f.pointer("/defaultDataMask/filterState/value"),
                    })
                })
                .collect();
            meta.insert("native_filters".into(), Value::Array(native));
            meta.insert("superset_position".into(), d.position.clone());
            let meta = Value::Object(meta).to_string();
            let existing: Option<(i32, Option<String>)> = dashboards::table
                .filter(dashboards::uuid.eq(&key))
                .select((dashboards::id, dashboards::tenant))
                .first(c)
                .await
                .optional()?;
            // A slug another dashboard of the tenant holds is left off (reported).
            let mut slug = d.slug.clone().filter(|s| !s.trim().is_empty());
            if let Some(s) = &slug {
                let mut q = dashboards::table
                    .filter(dashboards::slug.eq(s))
                    .filter(dashboards::uuid.ne(&key))
                    .into_boxed();
                q = match &tenant_s {
                    Some(t) => q.filter(dashboards::tenant.eq(t)),
                    None => q.filter(dashboards::tenant.is_null()),
                };
                let taken: i64 = q.count().get_result(c).await?;
                if taken > 0 {
                    report.items.push(Item {
                        kind: "dashboard".into(),
                        name: d.dashboard_title.clone(),
                        uuid: key.clone(),
                        status: "partial".into(),
                        reasons: vec![format!(
                            "slug '{s}' belongs to another dashboard; imported without a slug"
                        )],
                    });
                    slug = None;
                }
            }
            if !notes.is_empty() {
                report.items.push(Item {
                    kind: "dashboard".into(),
                    name: d.dashboard_title.clone(),
                    uuid: key.clone(),
                    status: "partial".into(),
                    reasons: notes,
                });
            }
            let layout_json = layout.to_json();
            let fields = (
                dashboards::title.eq(&d.dashboard_title),
                dashboards::slug.eq(&slug),
                dashboards::description.eq(d.description.as_deref().unwrap_or("")),
                dashboards::published.eq(d.published.unwrap_or(false)),
                dashboards::layout.eq(&layout_json),
                dashboards::json_metadata.eq(&meta),
                dashboards::changed_on.eq(at),
                dashboards::changed_by_fk.eq(user),
            );
            let id = match existing {
                Some((_, t)) if t != tenant_s => return Err(foreign("dashboard", &key)),
                Some((id, _)) => {
                    diesel::update(dashboards::table.find(id))
                        .set((
                            fields,
                            dashboards::version.eq(dashboards::version + 1),
                            dashboards::deleted_on.eq(None::<chrono::NaiveDateTime>),
                        ))
                        .execute(c)
                        .await?;
                    diesel::delete(
                        dashboard_charts::table.filter(dashboard_charts::dashboard_id.eq(id)),
                    )
                    .execute(c)
                    .await?;
                    report.updated.dashboards += 1;
                    id
                }
                None => {
                    let id: i32 = diesel::insert_into(dashboards::table)
                        .values((
                            fields,
                            dashboards::uuid.eq(&key),
                            dashboards::created_on.eq(at),
                            dashboards::created_by_fk.eq(user),
                            dashboards::tenant.eq(&tenant_s),
                        ))
                        .returning(dashboards::id)
                        .get_result(c)
                        .await?;
                    if let Some(u) = user {
                        diesel::insert_into(dashboard_owners::table)
                            .values((
                                dashboard_owners::dashboard_id.eq(id),
                                dashboard_owners::user_id.eq(u),
                            ))
                            .execute(c)
                            .await?;
                    }
                    report.created.dashboards += 1;
                    id
                }
            };
            // Every chart the position names belongs to the dashboard, drawn or not.
            let mut linked: Vec<i32> = chart_uuids(&d.position)
                .iter()
                .filter_map(|u| lookup(u))
                .collect();
            linked.sort_unstable();
            linked.dedup();
            for chart_id in linked {
                diesel::insert_into(dashboard_charts::table)
                    .values((
                        dashboard_charts::dashboard_id.eq(id),
                        dashboard_charts::chart_id.eq(chart_id),
                    ))
                    .execute(c)
                    .await?;
            }
            report.dashboard_ids.push(id);
        }
        Ok::<_, ToolError>(report)
    })?;
    Ok(report)
}
