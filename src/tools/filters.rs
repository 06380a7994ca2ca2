//! Dashboard native filters: `manage_native_filters` (add, change, remove; stored in the
//! dashboard's metadata, versioned like every dashboard write), `apply_dashboard_filters`
//! and `get_dashboard_data` (each chart's data under filter values, or at the filters'
//! defaults).
//!
//! Values are settled and scoped by `charts::native_filters::InForce` (which
//! `get_dashboard_screenshot` uses too): a value becomes chart filters added to each chart
//! in the filter's scope; the chart then runs through the one chart query path
//! (`visualize::resolve`, `visualize::run_query`), so row-level security and the caller's
//! access apply exactly as for `get_chart_data`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use super::visualize::{ChartRef, draw, drawable, resolve, run_query};
use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::charts::config::MAX_ROW_LIMIT;
use crate::charts::native_filters::{
    self as nf, FilterState, FilterTarget, FilterValue, InForce, KINDS, NativeFilter,
    is_numeric_type, stored_type,
};
use crate::charts::picture::PreviewFormat;
use crate::datasources::StatementPriority;
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::Dashboard;
use crate::db::datasets::{Dataset, DatasetColumn};
use crate::db::models::new_uuid;
use crate::error::{ErrorKind, ToolError};
use crate::output::{Image, WithImages};
use crate::query::builder::QueryFilter;
use crate::query::catalog::Access;
use crate::query::list::{DeletedState, Ident};

pub fn register(r: &mut Registry) {
    r.add(tool(
        "manage_native_filters",
        "Dashboard filters",
        "Add, update or remove a dashboard's native filters (select, time_range, numeric_range on a column), scoped to charts whose datasets have it.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints {
            read_only: false,
            destructive: false,
            idempotent: false,
        },
        manage_native_filters,
    ));
    r.add(tool(
        "apply_dashboard_filters",
        "Filtered dashboard data",
        "Each chart's data of a dashboard under native filter values (the rest at defaults), with your access and RLS; pictures adds PNGs.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        apply_dashboard_filters,
    ));
    r.add(tool(
        "get_dashboard_data",
        "Dashboard data",
        "Each chart's data of a dashboard at its filter defaults.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        get_dashboard_data,
    ));
}

/// Present (even as `null`) → `Some`; absent → `None` (with `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// For update.
    pub id: Option<String>,
    pub name: Option<String>,
    /// select (default), time_range, numeric_range.
    pub kind: Option<String>,
    /// time_range default: main time column.
    pub column: Option<String>,
    /// select: several values (default true).
    pub multiple: Option<bool>,
    /// select: value or list; time_range: {start, end}; numeric_range: [min, max].
    #[serde(default, deserialize_with = "present")]
    pub default_value: Option<Value>,
    /// Narrow the scope.
    pub chart_ids: Option<Vec<i32>>,
    /// Narrow the scope.
    pub dataset_ids: Option<Vec<i32>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManageArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    #[serde(default)]
    pub add: Vec<FilterSpec>,
    /// Given fields replace.
    #[serde(default)]
    pub update: Vec<FilterSpec>,
    /// Filter ids.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Refuse unless at this version.
    pub expected_version: Option<i32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Managed {
    pub dashboard_id: i32,
    pub version: i32,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// The dashboard's filters now.
    pub filters: Vec<Value>,
}

/// What a dashboard offers filters: its charts the caller sees, their datasets and columns.
struct Scope {
    charts: Vec<Chart>,
    datasets: BTreeMap<i32, Dataset>,
    columns: HashMap<i32, Vec<DatasetColumn>>,
}

impl Scope {
    async fn load(conn: &mut MetaConn, access: &Access, d: &Dashboard) -> Result<Self, ToolError> {
        let charts: Vec<Chart> = super::dashboards::charts_of(conn, d.id)
            .await?
            .into_iter()
            .filter(|c| access.sees_dataset(c.dataset_id))
            .collect();
        let mut ids: Vec<i32> = charts.iter().map(|c| c.dataset_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = Dataset::live_among(conn, ids.clone()).await?;
        let (columns, _) = super::datasets::columns_and_metrics(conn, ids).await?;
        Ok(Self {
            charts,
            datasets: rows.into_iter().map(|d| (d.id, d)).collect(),
            columns,
        })
    }

    fn column(&self, dataset: i32, name: &str) -> Option<&DatasetColumn> {
        self.columns
            .get(&dataset)
            .and_then(|cs| cs.iter().find(|c| c.column_name == name))
    }

    fn filterable(&self, dataset_ids: &[i32]) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for id in dataset_ids {
            for c in self.columns.get(id).into_iter().flatten() {
                if c.is_filterable && !out.contains(&c.column_name.as_str()) {
                    out.push(&c.column_name);
                }
            }
        }
        out
    }
}

fn invalid(field: &str, message: String) -> ToolError {
    ToolError::invalid(format!("{field}: {message}")).with_details(json!({"field": field}))
}

/// Check a filter spec against the dashboard and make the stored filter.
fn build_filter(
    scope: &Scope,
    dashboard_id: i32,
    id: String,
    spec: &FilterSpec,
    field: &str,
) -> Result<NativeFilter, ToolError> {
    let kind = spec.kind.as_deref().unwrap_or("select");
    if !KINDS.contains(&kind) {
        return Err(ToolError::invalid_field(
            &format!("{field}.kind"),
            format!("'{kind}' is not a filter kind."),
            KINDS,
            Some(kind),
        ));
    }
    let on_dashboard: Vec<i32> = scope.datasets.keys().copied().collect();
    if let Some(ids) = &spec.dataset_ids
        && let Some(stray) = ids.iter().find(|i| !scope.datasets.contains_key(i))
    {
        return Err(ToolError::invalid(format!(
            "{field}.dataset_ids: dataset {stray} is not behind any chart of dashboard {dashboard_id} that you can see; its datasets: {on_dashboard:?}."
        ))
        .with_details(json!({"field": format!("{field}.dataset_ids"), "dataset_id": stray, "allowed": on_dashboard})));
    }
    let chart_ids: Vec<i32> = scope.charts.iter().map(|c| c.id).collect();
    if let Some(ids) = &spec.chart_ids
        && let Some(stray) = ids.iter().find(|i| !chart_ids.contains(i))
    {
        return Err(ToolError::invalid(format!(
            "{field}.chart_ids: chart {stray} is not on dashboard {dashboard_id} (or not visible to you); its charts: {chart_ids:?}."
        ))
        .with_details(json!({"field": format!("{field}.chart_ids"), "chart_id": stray, "allowed": chart_ids})));
    }
    // The charts and datasets the filter may cover.
    let charts: Vec<&Chart> = scope
        .charts
        .iter()
        .filter(|c| {
            spec.chart_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.id))
        })
        .filter(|c| {
            spec.dataset_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.dataset_id))
        })
        .collect();
    let mut candidates: Vec<i32> = charts.iter().map(|c| c.dataset_id).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let named = spec.dataset_ids.is_some() || spec.chart_ids.is_some();
    let column_field = format!("{field}.column");
    let mut targets: Vec<FilterTarget> = Vec::new();
    match spec.column.as_deref().map(str::trim) {
        Some(col) => {
            if col.is_empty() {
                return Err(invalid(&column_field, "give a column name.".into()));
            }
            for ds in &candidates {
                match scope.column(*ds, col) {
                    Some(c) => {
                        if !c.is_filterable {
                            return Err(invalid(
                                &column_field,
                                format!("'{col}' of dataset {ds} is not filterable."),
                            ));
                        }
                        if kind == "time_range" && !c.is_temporal {
                            return Err(invalid(
                                &column_field,
                                format!(
                                    "'{col}' of dataset {ds} is not a time column; a time_range filter needs one."
                                ),
                            ));
                        }
                        if kind == "numeric_range" && !is_numeric_type(&c.data_type) {
                            return Err(invalid(
                                &column_field,
                                format!(
                                    "'{col}' of dataset {ds} is {}, not a number; a numeric_range filter needs one.",
                                    c.data_type
                                ),
                            ));
                        }
                        targets.push(FilterTarget {
                            dataset_id: Some(*ds),
                            column: Some(col.to_string()),
                        });
                    }
                    None if named => {
                        let allowed = scope.filterable(&[*ds]);
                        return Err(ToolError::invalid_field(
                            &column_field,
                            format!(
                                "'{col}' is not a column of dataset {ds}, which the filter is scoped to."
                            ),
                            &allowed,
                            Some(col),
                        ));
                    }
                    None => {}
                }
            }
            if targets.is_empty() {
                let allowed = scope.filterable(&candidates);
                return Err(ToolError::invalid_field(
                    &column_field,
                    format!("'{col}' is not a column of any dataset on dashboard {dashboard_id}."),
                    &allowed,
                    Some(col),
                ));
            }
        }
        None if kind == "time_range" => {
            for ds in &candidates {
                match scope.datasets.get(ds).and_then(|d| d.main_dttm_col.clone()) {
                    Some(c) => targets.push(FilterTarget {
                        dataset_id: Some(*ds),
                        column: Some(c),
                    }),
                    None if named => {
                        return Err(invalid(
                            &column_field,
                            format!("dataset {ds} has no main time column; name the column."),
                        ));
                    }
                    None => {}
                }
            }
            if targets.is_empty() {
                return Err(invalid(
                    &column_field,
                    "no dataset on the dashboard has a main time column; name the column.".into(),
                ));
            }
        }
        None => {
            return Err(invalid(
                &column_field,
                format!("a {kind} filter needs a column."),
            ));
        }
    }
    let covered: Vec<i32> = charts
        .iter()
        .filter(|c| targets.iter().any(|t| t.dataset_id == Some(c.dataset_id)))
        .map(|c| c.id)
        .collect();
    if let Some(ids) = &spec.chart_ids
        && let Some(miss) = ids.iter().find(|i| !covered.contains(i))
    {
        return Err(invalid(
            &format!("{field}.chart_ids"),
            format!("chart {miss}'s dataset has no such column."),
        ));
    }
    let multiple = (kind == "select").then(|| spec.multiple.unwrap_or(true));
    let default_value = spec.default_value.clone().filter(|v| !v.is_null());
    if let Some(v) = &default_value {
        nf::check_value(
            kind,
            multiple.unwrap_or(false),
            v,
            &format!("{field}.default_value"),
        )?;
    }
    let name = match spec.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => match (&spec.column, kind) {
            (Some(c), _) => c.trim().to_string(),
            (None, _) => "Time range".into(),
        },
    };
    Ok(NativeFilter {
        id,
        name,
        filter_type: stored_type(kind).into(),
        targets,
        multiple,
        default_value,
        chart_ids: Some(covered),
    })
}

/// The spec of a stored filter, so an update changes only the fields it gives.
fn merged(old: &NativeFilter, new: &FilterSpec, field: &str) -> Result<FilterSpec, ToolError> {
    let old_kind = old.kind();
    let kind = match (&new.kind, old_kind) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k.to_string(),
        (None, None) => {
            return Err(invalid(
                &format!("{field}.kind"),
                format!(
                    "filter {} is a Superset '{}' filter vizier does not apply; give kind to turn it into one.",
                    old.id, old.filter_type
                ),
            ));
        }
    };
    let old_column = <[&str]>::first(&old.columns()).map(|c| c.to_string());
    let same_target = Some(kind.as_str()) == old_kind
        && (new.column.is_none() || new.column == old_column)
        && new.dataset_ids.is_none();
    Ok(FilterSpec {
        id: None,
        name: new.name.clone().or_else(|| Some(old.name.clone())),
        column: new.column.clone().or(old_column),
        multiple: new.multiple.or(old.multiple),
        default_value: match &new.default_value {
            Some(v) => Some(v.clone()),
            None if same_target => old.default_value.clone(),
            None => None,
        },
        chart_ids: match &new.chart_ids {
            Some(ids) => Some(ids.clone()),
            None if same_target => old.chart_ids.clone(),
            None => None,
        },
        dataset_ids: new.dataset_ids.clone(),
        kind: Some(kind),
    })
}

async fn manage_native_filters(ctx: ToolCtx, args: ManageArgs) -> Result<Managed, ToolError> {
    if args.add.is_empty() && args.update.is_empty() && args.remove.is_empty() {
        return Err(ToolError::invalid(
            "Give add, update or remove; get_dashboard_info lists the filters.",
        )
        .with_details(json!({"field": "add"})));
    }
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = super::dashboards::to_change(&mut conn, &access, &ident, args.expected_version).await?;
    let scope = Scope::load(&mut conn, &access, &d).await?;
    let mut meta: Map<String, Value> = serde_json::from_str(&d.json_metadata).unwrap_or_default();
    let mut entries = nf::stored(&meta);
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    let ids_now = |entries: &[Value]| -> Vec<String> { entries.iter().filter_map(id_of).collect() };
    let unknown = |field: &str, id: &str, entries: &[Value]| {
        let ids = ids_now(entries);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        ToolError::invalid_field(
            field,
            format!("dashboard {} has no filter '{id}'.", d.id),
            &refs,
            Some(id),
        )
    };
    let mut removed = Vec::new();
    for (i, id) in args.remove.iter().enumerate() {
        let Some(at) = entries.iter().position(|e| id_of(e).as_deref() == Some(id)) else {
            return Err(unknown(&format!("remove[{i}]"), id, &entries));
        };
        entries.remove(at);
        removed.push(id.clone());
    }
    let mut updated = Vec::new();
    for (i, spec) in args.update.iter().enumerate() {
        let field = format!("update[{i}]");
        let Some(id) = spec.id.clone() else {
            return Err(invalid(
                &format!("{field}.id"),
                "name the filter to change.".into(),
            ));
        };
        let Some(at) = entries
            .iter()
            .position(|e| id_of(e).as_deref() == Some(&id))
        else {
            return Err(unknown(&format!("{field}.id"), &id, &entries));
        };
        let old: NativeFilter = serde_json::from_value(entries[at].clone()).map_err(|e| {
            invalid(
                &format!("{field}.id"),
                format!("filter {id} is not readable ({e}); remove it and add it again."),
            )
        })?;
        let spec = merged(&old, spec, &field)?;
        let f = build_filter(&scope, d.id, id.clone(), &spec, &field)?;
        entries[at] = serde_json::to_value(&f).map_err(ToolError::internal)?;
        updated.push(id);
    }
    let mut added = Vec::new();
    for (i, spec) in args.add.iter().enumerate() {
        let field = format!("add[{i}]");
        if spec.id.is_some() {
            return Err(invalid(
                &format!("{field}.id"),
                "new filters get their id; use update to change one.".into(),
            ));
        }
        let id = format!("NATIVE_FILTER-{}", &new_uuid()[..12]);
        let f = build_filter(&scope, d.id, id.clone(), spec, &field)?;
        entries.push(serde_json::to_value(&f).map_err(ToolError::internal)?);
        added.push(id);
    }
    meta.insert(nf::KEY.into(), Value::Array(entries.clone()));
    let meta_json = Value::Object(meta).to_string();
    let version = super::dashboards::save_versioned(
        &mut conn,
        &d,
        &d.title,
        &d.description,
        d.slug.as_deref(),
        d.published,
        &d.layout,
        &meta_json,
        ctx.principal.user_id,
    )
    .await?;
    Ok(Managed {
        dashboard_id: d.id,
        version,
        added,
        updated,
        removed,
        filters: entries,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    #[serde(default)]
    pub filters: Vec<FilterValue>,
    #[serde(default)]
    pub pictures: bool,
    /// Rows per chart.
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    /// Rows per chart.
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartData {
    pub chart_id: i32,
    /// ok, no_access or error.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Conditions the dashboard's filters added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<QueryFilter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<Vec<Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<usize>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_sql: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Index of this chart's picture among the images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
}

impl ChartData {
    fn bare(chart_id: i32, status: &str) -> Self {
        Self {
            chart_id,
            status: status.into(),
            name: None,
            filters: vec![],
            columns: vec![],
            rows: None,
            row_count: None,
            truncated: false,
            executed_sql: None,
            error: None,
            image: None,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardData {
    pub dashboard_id: i32,
    pub dashboard_title: String,
    pub filters: Vec<FilterState>,
    pub charts: Vec<ChartData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Every chart of the dashboard under `values` (the rest at their defaults).
async fn dashboard_data(
    ctx: &ToolCtx,
    identifier: &Value,
    values: &[FilterValue],
    pictures: bool,
    limit: Option<u64>,
) -> Result<WithImages<DashboardData>, ToolError> {
    if let Some(l) = limit
        && !(1..=MAX_ROW_LIMIT).contains(&l)
    {
        return Err(invalid("limit", format!("{l} is out of range 1..=10000.")));
    }
    let ident = Ident::parse(identifier, true)?;
    let (d, charts, access) = {
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let d = super::dashboards::find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
        let charts = super::dashboards::charts_of(&mut conn, d.id).await?;
        (d, charts, access)
    };
    let meta: Map<String, Value> = serde_json::from_str(&d.json_metadata).unwrap_or_default();
    let filters = nf::parsed(&nf::stored(&meta));
    let in_force = InForce::new(&filters, values, "filters")?;
    let mut notes = in_force.notes.clone();
    let mut out = Vec::new();
    let mut images: Vec<Image> = Vec::new();
    for chart in &charts {
        if !access.sees_dataset(chart.dataset_id) {
            out.push(ChartData::bare(chart.id, "no_access"));
            continue;
        }
        let mut item = ChartData::bare(chart.id, "ok");
        let result: Result<(), ToolError> = async {
            let mut t = resolve(
                ctx,
                &ChartRef {
                    identifier: Some(json!(chart.id)),
                    ..Default::default()
                },
            )
            .await?;
            item.name = Some(t.name.clone());
            item.filters = in_force.conditions_for(
                chart.id,
                chart.dataset_id,
                |col| t.columns.iter().any(|c| c.column_name == col),
                &mut notes,
            )?;
            t.config.filters_mut().extend(item.filters.iter().cloned());
            if pictures {
                let dr = drawable(ctx, &t, 800, 600).await?;
                let png = draw(ctx, PreviewFormat::Png, &dr.spec, &Arc::new(dr.data)).await?;
                item.image = Some(images.len());
                images.push(Image {
                    data: B64.encode(&png.bytes),
                    mime_type: "image/png".into(),
                });
                let mut rows: Vec<Vec<Value>> = match limit {
                    Some(l) => dr.rows.into_iter().take(l as usize).collect(),
                    None => dr.rows,
                };
                let mut columns = dr.columns;
                crate::charts::query::without_helper_columns(&mut columns, &mut rows);
                item.row_count = Some(rows.len());
                item.truncated = dr.truncated;
                item.columns = columns;
                item.rows = Some(rows);
                item.executed_sql = Some(dr.executed_sql);
            } else {
                let mut q =
                    run_query(ctx, &t, false, limit, true, StatementPriority::Interactive).await?;
                let mut columns: Vec<String> =
                    q.result.columns.iter().map(|c| c.name.clone()).collect();
                crate::charts::query::without_helper_columns(&mut columns, &mut q.result.rows);
                item.columns = columns;
                item.row_count = Some(q.result.row_count);
                item.truncated = q.result.truncated;
                item.rows = Some(q.result.rows);
                item.executed_sql = Some(q.result.executed_sql);
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            if e.kind == ErrorKind::PermissionDenied {
                out.push(ChartData::bare(chart.id, "no_access"));
                continue;
            }
            item.status = "error".into();
            item.error = Some(e.message);
        }
        out.push(item);
    }
    Ok(WithImages {
        result: DashboardData {
            dashboard_id: d.id,
            dashboard_title: d.title,
            filters: in_force.states,
            charts: out,
            notes,
        },
        images,
    })
}

async fn apply_dashboard_filters(
    ctx: ToolCtx,
    args: ApplyArgs,
) -> Result<WithImages<DashboardData>, ToolError> {
    dashboard_data(
        &ctx,
        &args.identifier,
        &args.filters,
        args.pictures,
        args.limit,
    )
    .await
}

async fn get_dashboard_data(
    ctx: ToolCtx,
    args: DataArgs,
) -> Result<WithImages<DashboardData>, ToolError> {
    dashboard_data(&ctx, &args.identifier, &[], false, args.limit).await
}
