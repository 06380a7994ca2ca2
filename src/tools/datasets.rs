//! Dataset and database catalog tools: `list_datasets`, `get_dataset_info`,
//! `list_databases`, `get_database_info`. (Tools that read a data source itself —
//! creating datasets, validating metrics, describing tables — need the data-source
//! connectors.)

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::actors::db::LazyConn;
use crate::auth::Permission;
use crate::datasources::settings::SourceSettings;
use crate::db::MetaConn;
use crate::db::databases::Database;
use crate::db::datasets::{Dataset, DatasetColumn, DatasetMetric, MetricValues, Saved};
use crate::error::{ErrorKind, ToolError};
use crate::query::builder::dataset_source;
use crate::query::catalog::{self, Access};
use crate::query::index;
use crate::query::list::{DeletedState, Ident, ListArgs, Page};
use crate::query::spec::ModelSpec;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_datasets",
        "List datasets",
        "Datasets you can access (select_columns adds `columns`, `metrics`); see get_schema(model=dataset).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_datasets,
    ));
    r.add(tool(
        "get_dataset_info",
        "Dataset details",
        "One dataset by id or uuid: columns (types, temporal flags), saved metrics, SQL when virtual, database.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_dataset_info,
    ));
    r.add(tool(
        "get_table",
        "Describe a table",
        "A table's or view's columns (name, type, nullable, temporal); without table_name, the schema's tables and views.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_table,
    ));
    r.add(tool(
        "create_dataset",
        "Create a dataset from a table",
        "Register a table or view as a dataset; columns and types come from the source, the first temporal one is the main time column.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::WRITE,
        create_dataset,
    ));
    r.add(tool(
        "create_virtual_dataset",
        "Create a dataset from SQL",
        "Register a read-only query as a virtual dataset; its columns are found by preparing the query on the \
         data source (no rows are read).",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::WRITE,
        create_virtual_dataset,
    ));
    r.add(tool(
        "update_dataset_metric",
        "Add or change a saved metric",
        "Add or change (by name) a saved metric of a dataset; the expression is checked and prepared on the data source first.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints { read_only: false, destructive: false, idempotent: true },
        update_dataset_metric,
    ));
    r.add(tool(
        "update_dataset",
        "Change a dataset",
        "Change a dataset's description, owners, cache timeout and columns; a new column_name with \
         an expression adds a calculated column.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints {
            read_only: false,
            destructive: false,
            idempotent: true,
        },
        update_dataset,
    ));
    r.add(tool(
        "list_databases",
        "List databases",
        "Data sources you can access (never their credentials); see get_schema(model=database).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_databases,
    ).without_trash());
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
    ModelSpec::find("dataset").unwrap_or(&crate::query::spec::MODELS[2])
}

fn database_spec() -> &'static ModelSpec {
    ModelSpec::find("database").unwrap_or(&crate::query::spec::MODELS[3])
}

pub fn kind(d: &Dataset) -> &'static str {
    if d.sql.is_some() {
        "virtual"
    } else {
        "physical"
    }
}

pub async fn columns_and_metrics(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> Result<
    (
        HashMap<i32, Vec<DatasetColumn>>,
        HashMap<i32, Vec<DatasetMetric>>,
    ),
    ToolError,
> {
    let cols = DatasetColumn::of(conn, ids.clone()).await?;
    let mets = DatasetMetric::of(conn, ids).await?;
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

fn column_json(c: &DatasetColumn, verbose: &Map<String, Value>) -> Value {
    json!({
        "column_name": c.column_name, "verbose_name": verbose.get(&c.column_name),
        "type": c.data_type, "is_temporal": c.is_temporal,
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
    Ok(render_datasets_with(rows, cols, &cm, &mm, &dbs))
}

fn render_datasets_with(
    rows: &[Dataset],
    cols: &[&str],
    cm: &HashMap<i32, Vec<DatasetColumn>>,
    mm: &HashMap<i32, Vec<DatasetMetric>>,
    dbs: &HashMap<i32, String>,
) -> Vec<Map<String, Value>> {
    rows.iter()
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
                            .map(|v| {
                                let verbose = verbose_names(&d.extra);
                                v.iter().map(|c| column_json(c, &verbose)).collect()
                            })
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
        .collect()
}

async fn list_datasets(
    ctx: ToolCtx,
    args: ListArgs,
) -> Result<Page<Map<String, Value>>, ToolError> {
    let plan = args.plan(dataset_spec(), ctx.principal.user_id)?;
    // Columns and metrics live in the store only.
    let (items, total) = if !plan.columns.contains(&"columns")
        && !plan.columns.contains(&"metrics")
        && let Some(snap) = ctx.app.catalog().await?
        && let Some((rows, total)) = snap.list_datasets(&plan, &snap.access(&ctx.principal))
    {
        index::answered("list_datasets", true);
        let dbs = if plan.columns.contains(&"database_name") {
            snap.database_names(rows.iter().map(|d| d.database_id))
        } else {
            HashMap::new()
        };
        let (none_c, none_m) = (HashMap::new(), HashMap::new());
        let items = render_datasets_with(&rows, &plan.columns, &none_c, &none_m, &dbs);
        (items, total)
    } else {
        index::answered("list_datasets", false);
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let (rows, total) = catalog::list_datasets(&mut conn, &plan, &access).await?;
        (
            render_datasets(&mut conn, &rows, &plan.columns).await?,
            total,
        )
    };
    Ok(Page::of_plan(
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
    let row = match ident {
        Ident::Id(i) => Dataset::live_by_id(conn, *i).await?,
        Ident::Uuid(u) => Dataset::live_by_uuid(conn, u).await?,
        Ident::Slug(_) => None,
    };
    let d = row.ok_or_else(|| ToolError::not_found("dataset", ident))?;
    if !access.sees_dataset(d.id) {
        return Err(access.refuse(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("You have no access to dataset {ident}. Ask an admin for dataset or database access."),
        )
        .with_details(json!({"missing": "dataset_access", "dataset_id": d.id})), "dataset", ident));
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
    dataset_info(&mut conn, &d).await
}

/// Everything get_dataset_info says of dataset `d`.
async fn dataset_info(conn: &mut MetaConn, d: &Dataset) -> Result<Map<String, Value>, ToolError> {
    let cols: Vec<&str> = dataset_spec().columns.iter().map(|c| c.name).collect();
    let mut item = render_datasets(conn, std::slice::from_ref(d), &cols)
        .await?
        .pop()
        .unwrap_or_default();
    let users = catalog::usernames(
        conn,
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
    let mut owners: Vec<String> = d
        .created_by_fk
        .and_then(|u| users.get(&u).cloned())
        .into_iter()
        .collect();
    for (_, name) in Dataset::listed_owners(conn, d.id).await? {
        if !owners.contains(&name) {
            owners.push(name);
        }
    }
    item.insert("owners".into(), json!(owners));
    item.insert("cache_timeout".into(), json!(d.cache_timeout));
    Ok(item)
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

async fn list_databases(
    ctx: ToolCtx,
    args: ListArgs,
) -> Result<Page<Map<String, Value>>, ToolError> {
    let plan = args.plan(database_spec(), ctx.principal.user_id)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (rows, total) = catalog::list_databases(&mut conn, &plan, &access).await?;
    let items = rows
        .iter()
        .map(|d| render_database(d, &plan.columns))
        .collect();
    Ok(Page::of_plan(
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
    let row = match ident {
        Ident::Id(i) => Database::by_id(conn, *i).await?,
        Ident::Uuid(u) => Database::by_uuid(conn, u).await?,
        Ident::Slug(_) => None,
    };
    let d = row.ok_or_else(|| ToolError::not_found("database", ident))?;
    let (_, visible) = catalog::list_databases(
        conn,
        &super::dashboards::probe_plan(d.id, DeletedState::Include),
        access,
    )
    .await?;
    if visible == 0 {
        return Err(access.refuse(
            ToolError::new(
                ErrorKind::PermissionDenied,
                format!("You have no access to database {ident}."),
            )
            .with_details(json!({"missing": "database_access", "database_id": d.id})),
            "database",
            ident,
        ));
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
    let count = Database::dataset_count(&mut conn, d.id).await?;
    item.insert("dataset_count".into(), json!(count));
    item.insert("settings".into(), json!(SourceSettings::parse(&d.settings)));
    Ok(item)
}

/// A database the caller may access and its data-source actor.
pub async fn source_for(
    ctx: &ToolCtx,
    conn: &mut MetaConn,
    access: &Access,
    database: &Value,
) -> Result<(Database, crate::actors::datasource::Source), ToolError> {
    let ident = Ident::parse(database, false)?;
    let found = match remembered_source(ctx, &ident) {
        Some(hit) => hit,
        None => look_up_source(ctx, conn, access, &ident).await?,
    };
    start_source(ctx, found).await
}

/// [`source_for`] for a call that has loaded neither its access nor a connection: a
/// remembered lookup needs neither (it was checked for this same principal).
pub async fn source_for_lazy(
    ctx: &ToolCtx,
    conn: &mut LazyConn,
    database: &Value,
) -> Result<(Database, crate::actors::datasource::Source), ToolError> {
    let ident = Ident::parse(database, false)?;
    let found = match remembered_source(ctx, &ident) {
        Some(hit) => hit,
        None => {
            let conn = conn.get().await?;
            let access = Access::load(conn, &ctx.principal).await?;
            look_up_source(ctx, conn, &access, &ident).await?
        }
    };
    start_source(ctx, found).await
}

/// The lookup (visibility check + encrypted connection) is remembered briefly per
/// principal: SQL tools would otherwise pay two metadata queries per call.
fn source_key(ctx: &ToolCtx, ident: &Ident) -> u64 {
    super::state::lookup_key(&("source", ident.to_string(), ctx.principal.fingerprint()))
}

fn remembered_source(ctx: &ToolCtx, ident: &Ident) -> Option<(Database, String)> {
    ctx.app
        .lookup::<(Database, String)>(source_key(ctx, ident))
        .map(|hit| (*hit).clone())
}

async fn look_up_source(
    ctx: &ToolCtx,
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
) -> Result<(Database, String), ToolError> {
    let db = find_database(conn, access, ident).await?;
    let encrypted = catalog::connection_of(conn, db.id).await?;
    ctx.app
        .remember(source_key(ctx, ident), (db.clone(), encrypted.clone()));
    Ok((db, encrypted))
}

/// The data-source actor of a looked-up database (started on first use).
async fn start_source(
    ctx: &ToolCtx,
    (db, encrypted): (Database, String),
) -> Result<(Database, crate::actors::datasource::Source), ToolError> {
    let source = ctx
        .app
        .datasources
        .get(&db, &encrypted, &ctx.app.cipher)
        .await?;
    Ok((db, source))
}

fn check_name(field: &str, value: &str) -> Result<(), ToolError> {
    if value.trim().is_empty() || value.len() > 255 || value.contains('\0') {
        return Err(
            ToolError::invalid(format!("{field}: give a name of 1 to 255 characters."))
                .with_details(json!({"field": field})),
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTableArgs {
    /// Id or uuid.
    pub database_id: Value,
    /// Table or view name; omit to list the tables and views.
    pub table_name: Option<String>,
    /// Schema (PostgreSQL schema, MySQL database); default as the database resolves names.
    pub schema: Option<String>,
}

async fn get_table(ctx: ToolCtx, args: GetTableArgs) -> Result<Map<String, Value>, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (db, source) = source_for(&ctx, &mut conn, &access, &args.database_id).await?;
    drop(conn);
    let mut out = Map::new();
    out.insert("database_id".into(), json!(db.id));
    out.insert("database_name".into(), json!(db.name));
    out.insert("schema".into(), json!(args.schema));
    match args.table_name {
        None => {
            let tables = source.list_tables(args.schema.clone()).await?;
            out.insert("tables".into(), json!(tables));
        }
        Some(table) => {
            check_name("table_name", &table)?;
            let columns = source
                .describe_table(args.schema.clone(), table.clone())
                .await?;
            out.insert("table_name".into(), json!(table));
            out.insert("columns".into(), json!(columns));
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDatasetArgs {
    /// Id or uuid.
    pub database_id: Value,
    /// The table or view to register.
    pub table_name: String,
    /// Its schema, when not the default one.
    pub schema: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DatasetCreated {
    pub id: i32,
    pub uuid: String,
    pub table_name: String,
    pub schema: Option<String>,
    pub database_id: i32,
    pub kind: String,
    pub main_dttm_col: Option<String>,
    pub columns: Vec<crate::datasources::ColumnMeta>,
}

/// Store a dataset and its columns in one transaction; the caller becomes its owner.
#[allow(clippy::too_many_arguments)]
pub async fn insert_dataset(
    conn: &mut MetaConn,
    database_id: i32,
    schema: Option<&str>,
    table_name: &str,
    sql: Option<&str>,
    description: &str,
    columns: &[crate::datasources::ColumnMeta],
    user: i32,
) -> Result<(i32, String, Option<String>), ToolError> {
    use crate::db::models::{NewDataset, new_uuid, now};
    let dttm = columns
        .iter()
        .find(|c| c.is_temporal)
        .map(|c| c.name.clone());
    let at = now();
    let uuid = new_uuid();
    let new = NewDataset {
        uuid: uuid.clone(),
        database_id,
        schema_name: schema,
        table_name,
        sql,
        description,
        main_dttm_col: dttm.as_deref(),
        created_on: at,
        changed_on: at,
        created_by_fk: Some(user),
        changed_by_fk: Some(user),
    };
    let id = Dataset::create(conn, &new, columns).await?;
    Ok((id, uuid, dttm))
}

async fn create_dataset(
    ctx: ToolCtx,
    args: CreateDatasetArgs,
) -> Result<DatasetCreated, ToolError> {
    check_name("table_name", &args.table_name)?;
    if let Some(s) = &args.schema {
        check_name("schema", s)?;
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (db, source) = source_for(&ctx, &mut conn, &access, &args.database_id).await?;
    let existing =
        Dataset::count_physical(&mut conn, db.id, args.schema.as_deref(), &args.table_name).await?;
    if existing > 0 {
        return Err(ToolError::conflict(format!(
            "Table '{}' of database '{}' is a dataset already: find it with list_datasets.",
            args.table_name, db.name
        )));
    }
    let columns = source
        .describe_table(args.schema.clone(), args.table_name.clone())
        .await?;
    let description = args.description.unwrap_or_default();
    let (id, uuid, dttm) = insert_dataset(
        &mut conn,
        db.id,
        args.schema.as_deref(),
        &args.table_name,
        None,
        &description,
        &columns,
        ctx.principal.user_id,
    )
    .await?;
    Ok(DatasetCreated {
        id,
        uuid,
        table_name: args.table_name,
        schema: args.schema,
        database_id: db.id,
        kind: "physical".into(),
        main_dttm_col: dttm,
        columns,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVirtualArgs {
    /// Id or uuid.
    pub database_id: Value,
    /// A read-only query (SELECT/WITH); its result columns become the dataset's columns.
    pub sql: String,
    /// The dataset's name.
    pub dataset_name: String,
    pub schema: Option<String>,
    pub description: Option<String>,
}

async fn create_virtual_dataset(
    ctx: ToolCtx,
    args: CreateVirtualArgs,
) -> Result<DatasetCreated, ToolError> {
    check_name("dataset_name", &args.dataset_name)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (db, source) = source_for(&ctx, &mut conn, &access, &args.database_id).await?;
    let dialect = super::shared::dialect(source.engine);
    // A dataset's SQL is only ever read: it is checked as a query whatever the database allows.
    let checked = crate::sql::check(
        dialect,
        &args.sql,
        &crate::sql::GuardPolicy { allow_dml: false },
    )
    .map_err(super::shared::sql_error)?;
    if checked.kind != crate::sql::StatementKind::Query {
        return Err(ToolError::invalid(
            "sql: a virtual dataset is a query (SELECT or WITH … SELECT).",
        )
        .with_details(json!({"field": "sql"})));
    }
    let sql_text = crate::sql::to_sql(&checked.statement);
    let existing = Dataset::count_named(&mut conn, db.id, &args.dataset_name).await?;
    if existing > 0 {
        return Err(ToolError::conflict(format!(
            "Database '{}' has a dataset named '{}' already.",
            db.name, args.dataset_name
        ))
        .with_details(json!({"field": "dataset_name"})));
    }
    let columns = source.describe_query(sql_text.clone()).await?;
    if columns.is_empty() {
        return Err(ToolError::invalid("sql: the query returns no columns.")
            .with_details(json!({"field": "sql"})));
    }
    let description = args.description.unwrap_or_default();
    let (id, uuid, dttm) = insert_dataset(
        &mut conn,
        db.id,
        args.schema.as_deref(),
        &args.dataset_name,
        Some(&sql_text),
        &description,
        &columns,
        ctx.principal.user_id,
    )
    .await?;
    Ok(DatasetCreated {
        id,
        uuid,
        table_name: args.dataset_name,
        schema: args.schema,
        database_id: db.id,
        kind: "virtual".into(),
        main_dttm_col: dttm,
        columns,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricArgs {
    /// Id or uuid.
    pub dataset_id: Value,
    /// The metric's name (an existing one is changed).
    pub metric_name: String,
    /// An aggregate SQL expression over the dataset's columns, e.g. SUM(line_total).
    pub expression: String,
    pub verbose_name: Option<String>,
    pub description: Option<String>,
    /// A d3 format such as "$,.2f".
    pub d3format: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MetricSaved {
    pub dataset_id: i32,
    pub metric_name: String,
    pub expression: String,
    /// created or updated
    pub action: String,
    /// The type the data source gives the expression.
    pub result_type: String,
}

async fn update_dataset_metric(ctx: ToolCtx, args: MetricArgs) -> Result<MetricSaved, ToolError> {
    use crate::db::models::now;
    check_name("metric_name", &args.metric_name)?;
    if args.expression.trim().is_empty() || args.expression.len() > 10_000 {
        return Err(ToolError::invalid(
            "expression: give an SQL expression (at most 10,000 characters).",
        )
        .with_details(json!({"field": "expression"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find_dataset(&mut conn, &access, &Ident::parse(&args.dataset_id, false)?).await?;
    check_owner(&mut conn, &access, &d).await?;
    let (db, source) = source_for(&ctx, &mut conn, &access, &json!(d.database_id)).await?;
    let result_type = check_expression(&db, &source, &d, &args.expression, false, "expression")
        .await?
        .data_type;
    let dataset_id = d.id;
    let values = MetricValues {
        expression: &args.expression,
        verbose_name: args.verbose_name.as_deref(),
        description: args.description.as_deref().unwrap_or(""),
        d3format: args.d3format.as_deref(),
    };
    let saved = DatasetMetric::save(
        &mut conn,
        dataset_id,
        &args.metric_name,
        &values,
        ctx.principal.user_id,
        now(),
    )
    .await?;
    let action = match saved {
        Saved::Created => "created",
        Saved::Updated => "updated",
    };
    Ok(MetricSaved {
        dataset_id,
        metric_name: args.metric_name,
        expression: args.expression,
        action: action.into(),
        result_type,
    })
}

/// Refuse unless the caller owns dataset `d` (its creator or a listed owner) or is an admin.
async fn check_owner(conn: &mut MetaConn, access: &Access, d: &Dataset) -> Result<(), ToolError> {
    if access.admin || Dataset::is_owned_by(conn, d, access.user_id).await? {
        return Ok(());
    }
    Err(ToolError::new(
        ErrorKind::PermissionDenied,
        format!(
            "Only the owners of dataset {} (or an admin) may change it or its metrics.",
            d.id
        ),
    )
    .with_details(json!({"missing": "ownership", "dataset_id": d.id})))
}

/// Check `expr` in place over dataset `d`: as a query the SQL guard accepts, which the
/// database can prepare against the dataset's columns (no rows are read). `per_row`: it
/// must be a row-level expression (a calculated column), so the probe also groups by it.
/// The type the database gives it, or an error naming `field`.
async fn check_expression(
    db: &Database,
    source: &crate::actors::datasource::Source,
    d: &Dataset,
    expr: &str,
    per_row: bool,
    field: &str,
) -> Result<crate::datasources::ColumnMeta, ToolError> {
    let dialect = super::shared::dialect(source.engine);
    let mut probe = format!(
        "SELECT {expr} AS vizier_probe FROM {}",
        dataset_source(dialect, d)
    );
    if per_row {
        probe.push_str(&format!(" GROUP BY {expr}"));
    }
    let checked = crate::sql::check(
        dialect,
        &probe,
        &crate::sql::GuardPolicy { allow_dml: false },
    )
    .map_err(|e| {
        let mut err = super::shared::sql_error(e);
        err.message = format!("{field}: {}", err.message);
        err.details["field"] = json!(field);
        err
    })?;
    let columns = source
        .describe_query(crate::sql::to_sql(&checked.statement))
        .await
        .map_err(|e| {
            let mut err = ToolError {
                message: format!("{field}: {} (database '{}')", e.message, db.name),
                ..e
            };
            if !err.details.is_object() {
                err.details = json!({});
            }
            err.details["field"] = json!(field);
            err
        })?;
    columns.into_iter().next().ok_or_else(|| {
        ToolError::invalid(format!("{field}: the expression gives no column."))
            .with_details(json!({"field": field}))
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDatasetArgs {
    /// Id or uuid.
    pub dataset_id: Value,
    pub description: Option<String>,
    /// User ids or usernames, replacing the owners (the creator stays).
    pub owners: Option<Vec<Value>>,
    /// Seconds; 0: never cached; null: the server default.
    #[serde(default, deserialize_with = "some_or_null")]
    pub cache_timeout: Option<Option<i32>>,
    pub columns: Option<Vec<ColumnUpdate>>,
}

/// A present field, `null` included: `Some(None)` for null, `None` when absent.
fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnUpdate {
    pub column_name: String,
    /// "" removes it.
    pub verbose_name: Option<String>,
    pub description: Option<String>,
    pub is_dttm: Option<bool>,
    pub filterable: Option<bool>,
    pub groupby: Option<bool>,
    /// Row-level SQL; calculated columns only.
    pub expression: Option<String>,
    /// Removes a calculated column.
    pub remove: Option<bool>,
}

/// The verbose names kept in a dataset's `extra`, by column.
fn verbose_names(extra: &str) -> Map<String, Value> {
    serde_json::from_str::<Value>(extra)
        .ok()
        .and_then(|v| v.get("verbose_names").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

const MAX_CACHE_TIMEOUT: i32 = 31_536_000;

async fn update_dataset(
    ctx: ToolCtx,
    args: UpdateDatasetArgs,
) -> Result<Map<String, Value>, ToolError> {
    use crate::db::datasets::{ColumnChange, ColumnFields, DatasetChanges, DatasetFields};
    use crate::db::models::User;
    if let Some(d) = &args.description
        && d.len() > 10_000
    {
        return Err(
            ToolError::invalid("description: at most 10,000 characters.")
                .with_details(json!({"field": "description"})),
        );
    }
    if let Some(Some(t)) = args.cache_timeout
        && !(0..=MAX_CACHE_TIMEOUT).contains(&t)
    {
        return Err(ToolError::invalid(format!(
            "cache_timeout: {t} is out of range; give seconds from 0 (never cached) to \
             {MAX_CACHE_TIMEOUT}, or null for the server's default."
        ))
        .with_details(json!({"field": "cache_timeout"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find_dataset(&mut conn, &access, &Ident::parse(&args.dataset_id, false)?).await?;
    check_owner(&mut conn, &access, &d).await?;
    let mut changes = DatasetChanges {
        fields: DatasetFields {
            description: args.description,
            cache_timeout: args.cache_timeout,
            extra: None,
        },
        ..Default::default()
    };
    if let Some(owners) = &args.owners {
        let mut ids = Vec::new();
        let mut names = Vec::new();
        for o in owners {
            match o {
                Value::Number(n) => {
                    ids.push(n.as_i64().and_then(|i| i32::try_from(i).ok()).unwrap_or(0))
                }
                Value::String(s) => names.push(s.clone()),
                _ => {
                    return Err(ToolError::invalid(
                        "owners: give user ids (numbers) or usernames (strings).",
                    )
                    .with_details(json!({"field": "owners"})));
                }
            }
        }
        let found: Vec<User> = User::among(&mut conn, ids.clone(), names.clone())
            .await?
            .into_iter()
            .filter(|u| u.active && u.tenant == access.tenant)
            .collect();
        let missing: Vec<String> = ids
            .iter()
            .filter(|i| !found.iter().any(|u| u.id == **i))
            .map(i32::to_string)
            .chain(
                names
                    .iter()
                    .filter(|n| !found.iter().any(|u| &u.username == *n))
                    .cloned(),
            )
            .collect();
        if !missing.is_empty() {
            return Err(ToolError::invalid(format!(
                "owners: no active user {}; see list_users.",
                missing.join(", ")
            ))
            .with_details(json!({"field": "owners", "unknown": missing})));
        }
        let mut owners: Vec<i32> = found
            .iter()
            .map(|u| u.id)
            .filter(|id| Some(*id) != d.created_by_fk)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        changes.owners = Some(owners);
    }
    let updates = args.columns.unwrap_or_default();
    if !updates.is_empty() {
        let (columns, _) = columns_and_metrics_of(&mut conn, d.id).await?;
        let mut verbose = verbose_names(&d.extra);
        let mut seen: Vec<&str> = Vec::new();
        let mut probe = None;
        for u in &updates {
            let name = u.column_name.as_str();
            let field = |f: &str| format!("columns.{f}");
            if seen.contains(&name) {
                return Err(ToolError::invalid(format!(
                    "columns: '{name}' is given twice; give each column once."
                ))
                .with_details(json!({"field": "columns.column_name"})));
            }
            seen.push(name);
            let existing = columns.iter().find(|c| c.column_name == name);
            let main_time = d.main_dttm_col.as_deref() == Some(name);
            let removing = u.remove == Some(true);
            if main_time && (removing || u.is_dttm == Some(false)) {
                return Err(ToolError::invalid(format!(
                    "columns: '{name}' is the dataset's main time column; it stays temporal \
                     and cannot be removed."
                ))
                .with_details(json!({"field": field("is_dttm")})));
            }
            if let Some(v) = &u.verbose_name {
                if v.len() > 255 {
                    return Err(ToolError::invalid(
                        "columns.verbose_name: at most 255 characters.",
                    )
                    .with_details(json!({"field": field("verbose_name")})));
                }
                if v.is_empty() || removing {
                    verbose.remove(name);
                } else {
                    verbose.insert(name.to_string(), json!(v));
                }
            } else if removing {
                verbose.remove(name);
            }
            let expression = match u.expression.as_deref().map(str::trim) {
                Some("") => {
                    return Err(ToolError::invalid(
                        "columns.expression: give an SQL expression, or remove: true to remove \
                         a calculated column.",
                    )
                    .with_details(json!({"field": field("expression")})));
                }
                Some(e) if e.len() > 10_000 => {
                    return Err(ToolError::invalid(
                        "columns.expression: at most 10,000 characters.",
                    )
                    .with_details(json!({"field": field("expression")})));
                }
                other => other,
            };
            let mut fields = ColumnFields {
                description: u.description.clone(),
                is_temporal: u.is_dttm,
                is_filterable: u.filterable,
                is_groupable: u.groupby,
                expression: expression.map(str::to_string),
                data_type: None,
            };
            if let Some(e) = expression {
                if existing.is_some_and(|c| !c.is_calculated()) {
                    return Err(ToolError::invalid(format!(
                        "columns: '{name}' is a column of the table or query; an expression \
                         makes a calculated column under a new column_name."
                    ))
                    .with_details(json!({"field": field("expression")})));
                }
                // The data source, started once for all the columns' expressions.
                let found = match probe.take() {
                    Some(found) => found,
                    None => source_for(&ctx, &mut conn, &access, &json!(d.database_id)).await?,
                };
                let (db, source) = &*probe.insert(found);
                let meta = check_expression(db, source, &d, e, true, &field("expression")).await?;
                fields.is_temporal = fields.is_temporal.or(Some(meta.is_temporal));
                fields.data_type = Some(meta.data_type);
            }
            let change = match (existing, removing) {
                (Some(c), true) if c.is_calculated() => ColumnChange::Remove { id: c.id },
                (Some(_), true) => {
                    return Err(ToolError::invalid(format!(
                        "columns: '{name}' is a column of the table or query; only calculated \
                         columns can be removed (set filterable and groupby to false to hide it)."
                    ))
                    .with_details(json!({"field": field("remove")})));
                }
                (Some(c), false) => ColumnChange::Update { id: c.id, fields },
                (None, false) if fields.expression.is_some() => {
                    check_name("columns.column_name", name)?;
                    ColumnChange::Add {
                        column_name: name.to_string(),
                        fields,
                    }
                }
                (None, _) => {
                    let names: Vec<&str> = columns.iter().map(|c| c.column_name.as_str()).collect();
                    return Err(ToolError::invalid_field(
                        "columns.column_name",
                        format!(
                            "'{name}' is not a column of the dataset (give an expression to add \
                             a calculated column); columns: {}.",
                            names.join(", ")
                        ),
                        &names,
                        Some(name),
                    ));
                }
            };
            changes.columns.push(change);
        }
        let mut extra = serde_json::from_str::<Value>(&d.extra)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        extra["verbose_names"] = Value::Object(verbose);
        changes.fields.extra = Some(extra.to_string());
    }
    Dataset::update(
        &mut conn,
        d.id,
        changes,
        ctx.principal.user_id,
        crate::db::models::now(),
    )
    .await?;
    let d = find_dataset(&mut conn, &access, &Ident::Id(d.id)).await?;
    dataset_info(&mut conn, &d).await
}

/// The columns and saved metrics of one dataset.
pub async fn columns_and_metrics_of(
    conn: &mut MetaConn,
    id: i32,
) -> Result<(Vec<DatasetColumn>, Vec<DatasetMetric>), ToolError> {
    let (mut c, mut m) = columns_and_metrics(conn, vec![id]).await?;
    Ok((
        c.remove(&id).unwrap_or_default(),
        m.remove(&id).unwrap_or_default(),
    ))
}
