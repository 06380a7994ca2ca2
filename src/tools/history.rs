//! Query history (`list_queries`, `get_query_info`) and saved queries
//! (`save_sql_query`, `list_saved_queries`, `get_saved_query_info`).
//!
//! Access: a user sees their own history and saved queries; admins see everyone's. History
//! is written in batches by the `HistoryWriter` actor, so a run shows up within a few
//! hundred milliseconds of returning.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::datasets::find_database;
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::datasources::ResultSet;
use crate::db::MetaConn;
use crate::db::history::NewSaved;
use crate::db::models::{NewQueryRecord, QueryRecord, SavedQuery, new_uuid, now};
use crate::error::{ErrorKind, ToolError};
use crate::query::catalog::{self, Access};
use crate::query::list::{Ident, ListArgs, Page};
use crate::query::spec::ModelSpec;

/// SQL longer than this is stored cut, with a marker: history is for finding a query again.
const MAX_STORED_SQL: usize = 16 * 1024;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_queries",
        "Query history",
        "Your execute_sql runs (admins: everyone's): SQL, status, rows, duration. List semantics as list_charts; see get_schema(model=query).",
        PoolKind::Catalog,
        Permission::SqlExecute,
        Hints::READ,
        list_queries,
    ).without_trash());
    r.add(tool(
        "get_query_info",
        "One query run",
        "One run from the query history by id or uuid, with the SQL as sent and as executed.",
        PoolKind::Catalog,
        Permission::SqlExecute,
        Hints::READ,
        get_query_info,
    ));
    r.add(tool(
        "save_sql_query",
        "Save a query",
        "Save SQL under a label for later; it is checked like execute_sql would check it, but not run.",
        PoolKind::Catalog,
        Permission::SqlExecute,
        Hints::WRITE,
        save_sql_query,
    ));
    r.add(
        tool(
            "list_saved_queries",
            "List saved queries",
            "Your saved queries (admins: everyone's), with filters, search, ordering and pages.",
            PoolKind::Catalog,
            Permission::SqlExecute,
            Hints::READ,
            list_saved_queries,
        )
        .without_trash(),
    );
    r.add(tool(
        "get_saved_query_info",
        "One saved query",
        "One saved query by id or uuid: its label, database, schema and SQL.",
        PoolKind::Catalog,
        Permission::SqlExecute,
        Hints::READ,
        get_saved_query_info,
    ));
}

fn clip(sql: &str) -> String {
    if sql.len() <= MAX_STORED_SQL {
        return sql.to_string();
    }
    let mut end = MAX_STORED_SQL;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &sql[..end], sql.len() - end)
}

/// Hand one run to the history writer; never blocks the call.
pub fn record(
    ctx: &ToolCtx,
    database_id: i32,
    schema: Option<&str>,
    sql: &str,
    executed_sql: &str,
    outcome: &Result<ResultSet, ToolError>,
    elapsed: std::time::Duration,
) {
    let finished = now();
    let started = finished - chrono::Duration::milliseconds(elapsed.as_millis() as i64);
    let (status, error, rows) = match outcome {
        Ok(rs) => ("success", None, Some(rs.rows.len() as i64)),
        Err(e) if e.kind == ErrorKind::Timeout => ("timeout", Some(e.message.clone()), None),
        Err(e) if e.kind == ErrorKind::Cancelled => ("cancelled", Some(e.message.clone()), None),
        Err(e) => ("error", Some(e.message.clone()), None),
    };
    let rec = NewQueryRecord {
        uuid: new_uuid(),
        user_id: Some(ctx.principal.user_id),
        database_id,
        schema_name: schema.map(str::to_owned),
        sql: clip(sql),
        executed_sql: Some(clip(executed_sql)),
        status: status.into(),
        error_message: error,
        row_count: rows,
        duration_ms: Some(elapsed.as_millis() as i64),
        started_on: started,
        finished_on: Some(finished),
    };
    ctx.app.history.record(rec);
}

fn spec(model: &str) -> &'static ModelSpec {
    ModelSpec::find(model).unwrap_or(&crate::query::spec::MODELS[0])
}

/// Everyone sees their own; admins see all.
/// Whose runs the caller sees: their own (admins: everyone's), on their tenant's databases.
async fn scope(ctx: &ToolCtx, conn: &mut MetaConn) -> Result<catalog::RunScope, ToolError> {
    let user = (!ctx.principal.has(Permission::Admin)).then_some(ctx.principal.user_id);
    let databases = match ctx.principal.tenant {
        Some(_) => Some(Access::load(conn, &ctx.principal).await?.databases),
        None => None,
    };
    Ok(catalog::RunScope { user, databases })
}

fn render_query(
    q: &QueryRecord,
    cols: &[&str],
    users: &std::collections::HashMap<i32, String>,
) -> Map<String, Value> {
    let mut m = Map::new();
    for col in cols {
        let v = match *col {
            "id" => json!(q.id),
            "uuid" => json!(q.uuid),
            "database_id" => json!(q.database_id),
            "schema" => json!(q.schema_name),
            "sql" => json!(q.sql),
            "executed_sql" => json!(q.executed_sql),
            "status" => json!(q.status),
            "error_message" => json!(q.error_message),
            "row_count" => json!(q.row_count),
            "duration_ms" => json!(q.duration_ms),
            "username" => json!(q.user_id.and_then(|u| users.get(&u))),
            "started_on" => json!(fmt_time(q.started_on)),
            _ => continue,
        };
        m.insert(col.to_string(), v);
    }
    m
}

async fn list_queries(ctx: ToolCtx, args: ListArgs) -> Result<Page<Map<String, Value>>, ToolError> {
    let spec = spec("query");
    let plan = args.plan(spec, ctx.principal.user_id)?;
    let mut conn = ctx.app.db.conn().await?;
    let scope = scope(&ctx, &mut conn).await?;
    let (rows, total) = catalog::list_queries(&mut conn, &plan, &scope).await?;
    let users = if plan.columns.contains(&"username") {
        catalog::usernames(&mut conn, rows.iter().filter_map(|r| r.user_id).collect()).await?
    } else {
        Default::default()
    };
    let items = rows
        .iter()
        .map(|q| render_query(q, &plan.columns, &users))
        .collect();
    Ok(Page::of_plan(
        spec,
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentArgs {
    /// Id or uuid.
    pub identifier: Value,
}

async fn get_query_info(ctx: ToolCtx, args: IdentArgs) -> Result<Map<String, Value>, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let row: Option<QueryRecord> = match &ident {
        Ident::Id(i) => QueryRecord::by_id(&mut conn, *i).await?,
        Ident::Uuid(u) => QueryRecord::by_uuid(&mut conn, u).await?,
        Ident::Slug(_) => None,
    };
    let q = row.ok_or_else(|| ToolError::not_found("query", &ident))?;
    let scope = scope(&ctx, &mut conn).await?;
    if !scope.covers_database(q.database_id) {
        return Err(ToolError::not_found("query", &ident));
    }
    if let Some(me) = scope.user
        && q.user_id != Some(me)
    {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("Query {ident} was run by someone else; only admins see others' queries."),
        )
        .with_details(json!({"missing": "admin"})));
    }
    let users = catalog::usernames(&mut conn, q.user_id.into_iter().collect()).await?;
    let cols: Vec<&str> = spec("query").columns.iter().map(|c| c.name).collect();
    let mut m = render_query(&q, &cols, &users);
    m.insert("finished_on".into(), json!(q.finished_on.map(fmt_time)));
    Ok(m)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveArgs {
    /// Id or uuid.
    pub database_id: Value,
    pub label: String,
    pub sql: String,
    pub schema: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Saved {
    pub id: i32,
    pub uuid: String,
    pub label: String,
    pub database_id: i32,
}

async fn save_sql_query(ctx: ToolCtx, args: SaveArgs) -> Result<Saved, ToolError> {
    let label = args.label.trim().to_string();
    if label.is_empty() || label.len() > 255 {
        return Err(ToolError::invalid("label: 1 to 255 characters.")
            .with_details(json!({"field": "label"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let db = find_database(&mut conn, &access, &Ident::parse(&args.database_id, false)?).await?;
    let encrypted = catalog::connection_of(&mut conn, db.id).await?;
    let source = ctx
        .app
        .datasources
        .get(&db, &encrypted, &ctx.app.cipher)
        .await?;
    // Saved SQL is checked now, so what is saved could run; templated SQL is checked when run.
    if !source.settings.templating || !args.sql.contains("{{") {
        let policy = crate::sql::GuardPolicy {
            allow_dml: source.settings.allow_dml,
        };
        crate::sql::check(super::shared::dialect(source.engine), &args.sql, &policy)
            .map_err(super::shared::sql_error)?;
    }
    let (id, uuid) = SavedQuery::create(
        &mut conn,
        NewSaved {
            database_id: db.id,
            schema: args.schema.as_deref(),
            label: &label,
            description: args.description.as_deref().unwrap_or(""),
            sql: &args.sql,
            user_id: ctx.principal.user_id,
        },
    )
    .await?;
    Ok(Saved {
        id,
        uuid,
        label,
        database_id: db.id,
    })
}

fn render_saved(s: &SavedQuery, cols: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for col in cols {
        let v = match *col {
            "id" => json!(s.id),
            "uuid" => json!(s.uuid),
            "label" => json!(s.label),
            "description" => json!(s.description),
            "database_id" => json!(s.database_id),
            "schema" => json!(s.schema_name),
            "sql" => json!(s.sql),
            "created_on" => json!(fmt_time(s.created_on)),
            "changed_on" => json!(fmt_time(s.changed_on)),
            _ => continue,
        };
        m.insert(col.to_string(), v);
    }
    m
}

async fn list_saved_queries(
    ctx: ToolCtx,
    args: ListArgs,
) -> Result<Page<Map<String, Value>>, ToolError> {
    let spec = spec("saved_query");
    let plan = args.plan(spec, ctx.principal.user_id)?;
    let mut conn = ctx.app.db.conn().await?;
    let scope = scope(&ctx, &mut conn).await?;
    let (rows, total) = catalog::list_saved_queries(&mut conn, &plan, &scope).await?;
    let items = rows
        .iter()
        .map(|s| render_saved(s, &plan.columns))
        .collect();
    Ok(Page::of_plan(
        spec,
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}

async fn get_saved_query_info(
    ctx: ToolCtx,
    args: IdentArgs,
) -> Result<Map<String, Value>, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let row: Option<SavedQuery> = match &ident {
        Ident::Id(i) => SavedQuery::by_id(&mut conn, *i).await?,
        Ident::Uuid(u) => SavedQuery::by_uuid(&mut conn, u).await?,
        Ident::Slug(_) => None,
    };
    let s = row.ok_or_else(|| ToolError::not_found("saved query", &ident))?;
    let scope = scope(&ctx, &mut conn).await?;
    if !scope.covers_database(s.database_id) {
        return Err(ToolError::not_found("saved query", &ident));
    }
    if let Some(me) = scope.user
        && s.created_by_fk != Some(me)
    {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("Saved query {ident} belongs to someone else."),
        )
        .with_details(json!({"missing": "ownership"})));
    }
    let cols: Vec<&str> = spec("saved_query").columns.iter().map(|c| c.name).collect();
    Ok(render_saved(&s, &cols))
}
