//! The semantic layer: the saved metrics there are, which metrics and dimensions go
//! together, and the datasets behind a dashboard. `list_metrics`, `get_dashboard_datasets`,
//! `get_compatible_dimensions`, `get_compatible_metrics`. A dataset is one table (or one query), so every saved metric
//! of a dataset can be grouped by each of its groupable columns and filtered by each of its
//! filterable ones; metrics and columns of different datasets never combine.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::datasets::{columns_and_metrics, find_dataset};
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::datasets::{Dataset, DatasetColumn, DatasetMetric};
use crate::error::ToolError;
use crate::query::catalog::{self, Access};
use crate::query::list::{DeletedState, Ident, ListArgs, Page};
use crate::query::spec::ModelSpec;

pub fn register(r: &mut Registry) {
    r.add(
        tool(
            "list_metrics",
            "List saved metrics",
            "Saved metrics of the datasets you can access; see get_schema(model=metric).",
            PoolKind::Catalog,
            Permission::CatalogRead,
            Hints::READ,
            list_metrics,
        )
        .without_trash(),
    );
    r.add(tool(
        "get_dashboard_datasets",
        "Datasets of a dashboard",
        "The datasets of a dashboard's charts (those you can access): columns, saved metrics, charts using each.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_dashboard_datasets,
    ));
    r.add(tool(
        "get_compatible_dimensions",
        "Dimensions for metrics",
        "Given saved metrics of a dataset, the columns they can be grouped by and filtered by.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_compatible_dimensions,
    ));
    r.add(tool(
        "get_compatible_metrics",
        "Metrics for dimensions",
        "Given columns to group by, the saved metrics computable with them, of one dataset or of each you can access that has them all.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_compatible_metrics,
    ));
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ColumnOut {
    pub column_name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub is_temporal: bool,
    pub is_groupable: bool,
    pub is_filterable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl From<&DatasetColumn> for ColumnOut {
    fn from(c: &DatasetColumn) -> Self {
        Self {
            column_name: c.column_name.clone(),
            data_type: c.data_type.clone(),
            is_temporal: c.is_temporal,
            is_groupable: c.is_groupable,
            is_filterable: c.is_filterable,
            expression: c.expression.clone(),
            description: c.description.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MetricOut {
    pub metric_name: String,
    pub expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbose_name: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d3format: Option<String>,
}

impl From<&DatasetMetric> for MetricOut {
    fn from(m: &DatasetMetric) -> Self {
        Self {
            metric_name: m.metric_name.clone(),
            expression: m.expression.clone(),
            verbose_name: m.verbose_name.clone(),
            description: m.description.clone(),
            d3format: m.d3format.clone(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardDataset {
    pub id: i32,
    pub uuid: String,
    pub table_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub database_id: i32,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_dttm_col: Option<String>,
    /// The dashboard's charts built on this dataset.
    pub chart_ids: Vec<i32>,
    pub columns: Vec<ColumnOut>,
    pub metrics: Vec<MetricOut>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardDatasets {
    pub dashboard_id: i32,
    pub datasets: Vec<DashboardDataset>,
    /// Charts of the dashboard on datasets you cannot access (left out above).
    pub charts_without_access: usize,
}

async fn get_dashboard_datasets(
    ctx: ToolCtx,
    args: DashboardArgs,
) -> Result<DashboardDatasets, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = super::dashboards::find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    let charts = super::dashboards::charts_of(&mut conn, d.id).await?;
    let mut by_dataset: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut hidden = 0;
    for c in &charts {
        if access.sees_dataset(c.dataset_id) {
            by_dataset.entry(c.dataset_id).or_default().push(c.id);
        } else {
            hidden += 1;
        }
    }
    let ids: Vec<i32> = by_dataset.keys().copied().collect();
    let rows = Dataset::all_live(&mut conn, Some(ids.clone())).await?;
    let (cm, mm) = columns_and_metrics(&mut conn, ids).await?;
    Ok(DashboardDatasets {
        dashboard_id: d.id,
        datasets: rows
            .into_iter()
            .map(|ds| DashboardDataset {
                chart_ids: by_dataset.remove(&ds.id).unwrap_or_default(),
                columns: cm
                    .get(&ds.id)
                    .map(|v| v.iter().map(ColumnOut::from).collect())
                    .unwrap_or_default(),
                metrics: mm
                    .get(&ds.id)
                    .map(|v| v.iter().map(MetricOut::from).collect())
                    .unwrap_or_default(),
                kind: if ds.sql.is_some() {
                    "virtual"
                } else {
                    "physical"
                }
                .into(),
                id: ds.id,
                uuid: ds.uuid,
                table_name: ds.table_name,
                schema: ds.schema_name,
                database_id: ds.database_id,
                main_dttm_col: ds.main_dttm_col,
            })
            .collect(),
        charts_without_access: hidden,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionsArgs {
    /// Id or uuid.
    pub dataset_id: Value,
    /// Saved metric names.
    #[serde(default)]
    pub metrics: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompatibleDimensions {
    pub dataset_id: i32,
    pub metrics: Vec<MetricOut>,
    /// Columns to group by (query_dataset `columns`, chart dimensions).
    pub group_by: Vec<ColumnOut>,
    /// Columns to filter on (query_dataset `filters`, dashboard native filters).
    pub filter_by: Vec<ColumnOut>,
    /// Temporal columns, for a time range and grain.
    pub time_columns: Vec<String>,
}

async fn get_compatible_dimensions(
    ctx: ToolCtx,
    args: DimensionsArgs,
) -> Result<CompatibleDimensions, ToolError> {
    let ident = Ident::parse(&args.dataset_id, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let ds = find_dataset(&mut conn, &access, &ident).await?;
    let (mut cm, mut mm) = columns_and_metrics(&mut conn, vec![ds.id]).await?;
    let columns = cm.remove(&ds.id).unwrap_or_default();
    let saved = mm.remove(&ds.id).unwrap_or_default();
    let names: Vec<&str> = saved.iter().map(|m| m.metric_name.as_str()).collect();
    let mut metrics = Vec::new();
    for wanted in &args.metrics {
        let m = saved
            .iter()
            .find(|m| &m.metric_name == wanted)
            .ok_or_else(|| {
                ToolError::invalid_field(
                    "metrics",
                    format!(
                        "'{wanted}' is not a saved metric of dataset {}; its metrics: {}.",
                        ds.id,
                        if names.is_empty() {
                            "none (add one with update_dataset_metric)".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                    &names,
                    Some(wanted),
                )
            })?;
        metrics.push(MetricOut::from(m));
    }
    Ok(CompatibleDimensions {
        dataset_id: ds.id,
        metrics,
        group_by: columns
            .iter()
            .filter(|c| c.is_groupable)
            .map(ColumnOut::from)
            .collect(),
        filter_by: columns
            .iter()
            .filter(|c| c.is_filterable)
            .map(ColumnOut::from)
            .collect(),
        time_columns: columns
            .iter()
            .filter(|c| c.is_temporal)
            .map(|c| c.column_name.clone())
            .collect(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsArgs {
    /// Columns to group by together.
    pub dimensions: Vec<String>,
    /// Dataset id or uuid; omit for all you can access.
    pub dataset_id: Option<Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DatasetMetrics {
    pub dataset_id: i32,
    pub table_name: String,
    pub metrics: Vec<MetricOut>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompatibleMetrics {
    pub dimensions: Vec<String>,
    /// Datasets with every dimension as a groupable column, and their saved metrics.
    pub datasets: Vec<DatasetMetrics>,
}

async fn get_compatible_metrics(
    ctx: ToolCtx,
    args: MetricsArgs,
) -> Result<CompatibleMetrics, ToolError> {
    let dims: Vec<String> = args
        .dimensions
        .iter()
        .map(|d| d.trim().to_string())
        .collect();
    if dims.is_empty() || dims.iter().any(String::is_empty) {
        return Err(ToolError::invalid(
            "dimensions: give at least one column name, e.g. [\"region\"].",
        )
        .with_details(serde_json::json!({"field": "dimensions"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let candidates: Vec<Dataset> = match &args.dataset_id {
        Some(id) => {
            let ident = Ident::parse(id, false)?;
            vec![find_dataset(&mut conn, &access, &ident).await?]
        }
        None => {
            let visible = (!access.all_datasources).then(|| access.datasets.clone());
            Dataset::all_live(&mut conn, visible).await?
        }
    };
    let ids: Vec<i32> = candidates.iter().map(|d| d.id).collect();
    let (cm, mm) = columns_and_metrics(&mut conn, ids).await?;
    let groupable = |id: i32| -> Vec<&str> {
        cm.get(&id)
            .map(|v| {
                v.iter()
                    .filter(|c| c.is_groupable)
                    .map(|c| c.column_name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    };
    if let (Some(_), Some(ds)) = (&args.dataset_id, <[Dataset]>::first(&candidates)) {
        let cols = groupable(ds.id);
        if let Some(missing) = dims.iter().find(|d| !cols.contains(&d.as_str())) {
            return Err(ToolError::invalid_field(
                "dimensions",
                format!(
                    "'{missing}' is not a groupable column of dataset {}; its groupable columns: {}.",
                    ds.id,
                    cols.join(", ")
                ),
                &cols,
                Some(missing),
            ));
        }
    }
    let datasets = candidates
        .iter()
        .filter(|ds| {
            let cols = groupable(ds.id);
            dims.iter().all(|d| cols.contains(&d.as_str()))
        })
        .map(|ds| DatasetMetrics {
            dataset_id: ds.id,
            table_name: ds.table_name.clone(),
            metrics: mm
                .get(&ds.id)
                .map(|v| v.iter().map(MetricOut::from).collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(CompatibleMetrics {
        dimensions: dims,
        datasets,
    })
}

fn metric_spec() -> &'static ModelSpec {
    ModelSpec::find("metric").unwrap_or(&crate::query::spec::MODELS[0])
}

async fn list_metrics(ctx: ToolCtx, args: ListArgs) -> Result<Page<Map<String, Value>>, ToolError> {
    let plan = args.plan(metric_spec(), ctx.principal.user_id)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (rows, total) = catalog::list_metrics(&mut conn, &plan, &access).await?;
    let cols = &plan.columns;
    let users = catalog::editor_names(
        &mut conn,
        rows.iter().map(|m| [m.created_by_fk, m.changed_by_fk]),
        cols,
    )
    .await?;
    let names = if cols.contains(&"dataset_name") {
        catalog::dataset_names(&mut conn, rows.iter().map(|m| m.dataset_id).collect()).await?
    } else {
        HashMap::new()
    };
    let items = rows
        .iter()
        .map(|m| {
            let mut out = Map::new();
            for col in cols {
                let v = match *col {
                    "id" => json!(m.id),
                    "uuid" => json!(m.uuid),
                    "metric_name" => json!(m.metric_name),
                    "verbose_name" => json!(m.verbose_name),
                    "expression" => json!(m.expression),
                    "description" => json!(m.description),
                    "d3format" => json!(m.d3format),
                    "dataset_id" => json!(m.dataset_id),
                    "dataset_name" => json!(names.get(&m.dataset_id)),
                    "created_by" => json!(m.created_by_fk.and_then(|u| users.get(&u))),
                    "changed_by" => json!(m.changed_by_fk.and_then(|u| users.get(&u))),
                    "created_on" => json!(fmt_time(m.created_on)),
                    "changed_on" => json!(fmt_time(m.changed_on)),
                    _ => continue,
                };
                out.insert(col.to_string(), v);
            }
            out
        })
        .collect();
    Ok(Page::of_plan(
        metric_spec(),
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}
