//! Dataset and database catalog tools: `list_datasets`, `get_dataset_info`,
//! `list_databases`, `get_database_info`. (Tools that read a data source itself —
//! creating datasets, validating metrics, describing tables — need the data-source
//! connectors.)

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::list::{DeletedState, Ident, ListArgs, ListResponse};
use super::list_spec::ModelSpec;
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::MetaConn;
use crate::db::catalog::{self, Access, Database, Dataset, DatasetColumn, DatasetMetric};
use crate::db::schema::{databases, dataset_columns, dataset_metrics, datasets};
use crate::error::{ErrorKind, ToolError};
use crate::with_conn;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_datasets",
        "List datasets",
        "List datasets you can access, with filters, search, select_columns (add `columns` and `metrics`), \
         ordering and pages. See get_schema(model=dataset).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_datasets,
    ));
    r.add(tool(
        "get_dataset_info",
        "Dataset details",
        "One dataset by id or uuid: its columns with types and temporal flags, its saved metrics, its SQL when \
         virtual, and its database.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_dataset_info,
    ));
    r.add(tool(
        "list_databases",
        "List databases",
        "List the data sources you can access (never their credentials). See get_schema(model=database).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_databases,
    ));
    r.add(tool(
        "get_database_info",
        "Database details",
        "One data source by id or uuid: engine, settings (row limit, timeouts, DML), dataset count. Credentials \
         are never returned.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_database_info,
    ));
}

fn dataset_spec() -> &'static ModelSpec {
    ModelSpec::find("dataset").unwrap_or(&super::list_spec::MODELS[2])
}

fn database_spec() -> &'static ModelSpec {
    ModelSpec::find("database").unwrap_or(&super::list_spec::MODELS[3])
}

pub fn kind(d: &Dataset) -> &'static str {
    if d.sql.is_some() {
        "virtual"
    } else {
        "physical"
    }
}

async fn columns_and_metrics(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> Result<
    (
        HashMap<i32, Vec<DatasetColumn>>,
        HashMap<i32, Vec<DatasetMetric>>,
    ),
    ToolError,
> {
    let ids2 = ids.clone();
    let cols: Vec<DatasetColumn> = with_conn!(conn, |c| {
        dataset_columns::table
            .filter(dataset_columns::dataset_id.eq_any(ids))
            .order(dataset_columns::id)
            .select(DatasetColumn::as_select())
            .load(c)
            .await
    })?;
    let mets: Vec<DatasetMetric> = with_conn!(conn, |c| {
        dataset_metrics::table
            .filter(dataset_metrics::dataset_id.eq_any(ids2))
            .order(dataset_metrics::id)
            .select(DatasetMetric::as_select())
            .load(c)
            .await
    })?;
    let mut cm: HashMap<i32, Vec<DatasetColumn>> = HashMap::new();
    for c in cols {
        cm.entry(c.dataset_id).or_default().push(c);
    }
    let mut mm: HashMap<i32, Vec<DatasetMetric>> = HashMap::new();
    for m in mets {
        mm.entry(m.dataset_id).or_default().push(m);
    }
    Ok((cm, mm))
}

fn column_json(c: &DatasetColumn) -> Value {
    json!({
        "column_name": c.column_name, "type": c.data_type, "is_temporal": c.is_temporal,
        "is_groupable": c.is_groupable, "is_filterable": c.is_filterable,
        "expression": c.expression, "description": c.description,
    })
}

fn metric_json(m: &DatasetMetric) -> Value {
    json!({
        "metric_name": m.metric_name, "expression": m.expression, "verbose_name": m.verbose_name,
        "description": m.description, "d3format": m.d3format,
    })
}

async fn render_datasets(
    conn: &mut MetaConn,
    rows: &[Dataset],
    cols: &[&str],
) -> Result<Vec<Map<String, Value>>, ToolError> {
    let ids: Vec<i32> = rows.iter().map(|d| d.id).collect();
    let needs_nested = cols.contains(&"columns") || cols.contains(&"metrics");
    let (cm, mm) = if needs_nested {
        columns_and_metrics(conn, ids).await?
    } else {
        Default::default()
    };
    let dbs = if cols.contains(&"database_name") {
        catalog::database_names(conn, rows.iter().map(|d| d.database_id).collect()).await?
    } else {
        HashMap::new()
    };
    Ok(rows
        .iter()
        .map(|d| {
            let mut m = Map::new();
            for col in cols {
                let v = match *col {
                    "id" => json!(d.id),
                    "uuid" => json!(d.uuid),
                    "table_name" => json!(d.table_name),
                    "schema" => json!(d.schema_name),
                    "database_id" => json!(d.database_id),
                    "database_name" => json!(dbs.get(&d.database_id)),
                    "kind" => json!(kind(d)),
                    "description" => json!(d.description),
                    "sql" => json!(d.sql),
                    "main_dttm_col" => json!(d.main_dttm_col),
                    "columns" => Value::Array(
                        cm.get(&d.id)
                            .map(|v| v.iter().map(column_json).collect())
                            .unwrap_or_default(),
                    ),
                    "metrics" => Value::Array(
                        mm.get(&d.id)
                            .map(|v| v.iter().map(metric_json).collect())
                            .unwrap_or_default(),
                    ),
                    "created_on" => json!(fmt_time(d.created_on)),
                    "changed_on" => json!(fmt_time(d.changed_on)),
                    _ => continue,
                };
                m.insert(col.to_string(), v);
            }
            m
        })
        .collect())
}

async fn list_datasets(ctx: ToolCtx, args: ListArgs) -> Result<ListResponse, ToolError> {
    let plan = args.plan(dataset_spec(), ctx.principal.user_id)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (rows, total) = catalog::list_datasets(&mut conn, &plan, &access).await?;
    let items = render_datasets(&mut conn, &rows, &plan.columns).await?;
    Ok(ListResponse::new(
        dataset_spec(),
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}

/// Find a dataset the caller may access.
pub async fn find_dataset(
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
) -> Result<Dataset, ToolError> {
    let row: Option<Dataset> = with_conn!(conn, |c| {
        let q = datasets::table
            .select(Dataset::as_select())
            .filter(datasets::deleted_on.is_null());
        match ident {
            Ident::Id(i) => q.filter(datasets::id.eq(*i)).first(c).await.optional(),
            Ident::Uuid(u) => q.filter(datasets::uuid.eq(u)).first(c).await.optional(),
            Ident::Slug(_) => Ok(None),
        }
    })?;
    let d = row.ok_or_else(|| ToolError::not_found("dataset", ident))?;
    if !access.sees_dataset(d.id) {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("You have no access to dataset {ident}. Ask an admin for dataset or database access."),
        )
        .with_details(json!({"missing": "dataset_access", "dataset_id": d.id})));
    }
    Ok(d)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentArgs {
    /// Id or uuid.
    pub identifier: Value,
}

async fn get_dataset_info(ctx: ToolCtx, args: IdentArgs) -> Result<Map<String, Value>, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find_dataset(&mut conn, &access, &ident).await?;
    let cols: Vec<&str> = dataset_spec().columns.iter().map(|c| c.name).collect();
    let mut item = render_datasets(&mut conn, std::slice::from_ref(&d), &cols)
        .await?
        .pop()
        .unwrap_or_default();
    let users = catalog::usernames(
        &mut conn,
        [d.created_by_fk, d.changed_by_fk]
            .into_iter()
            .flatten()
            .collect(),
    )
    .await?;
    item.insert(
        "created_by".into(),
        json!(d.created_by_fk.and_then(|u| users.get(&u))),
    );
    item.insert(
        "changed_by".into(),
        json!(d.changed_by_fk.and_then(|u| users.get(&u))),
    );
    Ok(item)
}

/// Settings of a data source as stored (JSON). Never holds credentials: those live only
/// in the encrypted connection column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct SourceSettings {
    #[serde(default)]
    pub allow_dml: bool,
    #[serde(default = "default_row_limit")]
    pub row_limit: u64,
    #[serde(default = "default_timeout")]
    pub statement_timeout_ms: u64,
    #[serde(default = "default_pool")]
    pub pool_size: u32,
    #[serde(default)]
    pub exposed_schemas: Vec<String>,
}

fn default_row_limit() -> u64 {
    10_000
}
fn default_timeout() -> u64 {
    30_000
}
fn default_pool() -> u32 {
    4
}

impl SourceSettings {
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

fn render_database(d: &Database, cols: &[&str]) -> Map<String, Value> {
    let settings = SourceSettings::parse(&d.settings);
    let mut m = Map::new();
    for col in cols {
        let v = match *col {
            "id" => json!(d.id),
            "uuid" => json!(d.uuid),
            "database_name" => json!(d.name),
            "backend" => json!(d.engine),
            "allow_dml" => json!(settings.allow_dml),
            "description" => json!(d.description),
            "created_on" => json!(fmt_time(d.created_on)),
            "changed_on" => json!(fmt_time(d.changed_on)),
            _ => continue,
        };
        m.insert(col.to_string(), v);
    }
    m
}

async fn list_databases(ctx: ToolCtx, args: ListArgs) -> Result<ListResponse, ToolError> {
    let plan = args.plan(database_spec(), ctx.principal.user_id)?;
    if plan.deleted != DeletedState::Exclude {
        return Err(
            ToolError::invalid("deleted_state: databases have no trash.")
                .with_details(json!({"field": "deleted_state"})),
        );
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (rows, total) = catalog::list_databases(&mut conn, &plan, &access).await?;
    let items = rows
        .iter()
        .map(|d| render_database(d, &plan.columns))
        .collect();
    Ok(ListResponse::new(
        database_spec(),
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}

/// Find a database the caller may access (directly or through one of its datasets).
pub async fn find_database(
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
) -> Result<Database, ToolError> {
    let row: Option<Database> = with_conn!(conn, |c| {
        let q = databases::table.select(Database::as_select());
        match ident {
            Ident::Id(i) => q.filter(databases::id.eq(*i)).first(c).await.optional(),
            Ident::Uuid(u) => q.filter(databases::uuid.eq(u)).first(c).await.optional(),
            Ident::Slug(_) => Ok(None),
        }
    })?;
    let d = row.ok_or_else(|| ToolError::not_found("database", ident))?;
    let (_, visible) = catalog::list_databases(
        conn,
        &super::dashboards::probe_plan(d.id, DeletedState::Include),
        access,
    )
    .await?;
    if visible == 0 {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("You have no access to database {ident}."),
        )
        .with_details(json!({"missing": "database_access", "database_id": d.id})));
    }
    Ok(d)
}

async fn get_database_info(ctx: ToolCtx, args: IdentArgs) -> Result<Map<String, Value>, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find_database(&mut conn, &access, &ident).await?;
    let cols: Vec<&str> = database_spec().columns.iter().map(|c| c.name).collect();
    let mut item = render_database(&d, &cols);
    let id = d.id;
    let count: i64 = with_conn!(&mut conn, |c| {
        datasets::table
            .filter(datasets::database_id.eq(id))
            .filter(datasets::deleted_on.is_null())
            .count()
            .get_result(c)
            .await
    })?;
    item.insert("dataset_count".into(), json!(count));
    item.insert("settings".into(), json!(SourceSettings::parse(&d.settings)));
    Ok(item)
}
