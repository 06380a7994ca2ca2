//! Admin tools. Data-source registration: `register_database` checks the connection, then
//! stores the URL encrypted; it is never returned, logged, or shown in an error.

use std::path::{Path, PathBuf};

use diesel_async::RunQueryDsl;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::datasets::SourceSettings;
use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::datasources::{Engine, SourceConfig, SourcePool};
use crate::db::models::{NewDatabase, new_uuid, now};
use crate::db::schema::databases;
use crate::error::ToolError;
use crate::with_conn;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "register_database",
        "Register a data source",
        "Register a PostgreSQL, MySQL/MariaDB or SQLite database that SQL and datasets can use. The connection \
         is tested first; the URL (with its password) is stored encrypted and never shown again.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        register_database,
    ));
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterArgs {
    /// A unique name.
    pub database_name: String,
    /// postgres://user:password@host:5432/db, mysql://user:password@host:3306/db or
    /// sqlite:///absolute/path.db (inside a directory allowed by `datasources.sqlite_dirs`).
    pub url: String,
    pub description: Option<String>,
    /// Allow execute_sql to change data (INSERT/UPDATE/DELETE). Default false.
    #[serde(default)]
    pub allow_dml: bool,
    /// Most rows one query may return (default 10,000).
    pub row_limit: Option<u64>,
    /// Longest a statement may run, in ms (default 30,000).
    pub statement_timeout_ms: Option<u64>,
    /// Connections in this source's pool (default 4).
    pub pool_size: Option<u32>,
    /// Schemas callers may see; empty = all non-system schemas.
    #[serde(default)]
    pub exposed_schemas: Vec<String>,
}

// Never derive Debug on the arguments: the URL holds a password.
impl std::fmt::Debug for RegisterArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterArgs")
            .field("database_name", &self.database_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Registered {
    pub id: i32,
    pub uuid: String,
    pub database_name: String,
    pub backend: String,
    pub settings: SourceSettings,
}

/// A SQLite source must sit inside an allowed directory and must not be vizier's own store.
fn check_sqlite_path(url: &str, allowed: &[PathBuf], metadata_url: &str) -> Result<(), ToolError> {
    let raw = crate::db::sqlite_path(url);
    let path = Path::new(raw);
    let refuse = |why: String| {
        ToolError::invalid(format!("url: {why}"))
            .with_details(json!({"field": "url", "allowed_dirs": allowed}))
    };
    if !path.is_absolute() {
        return Err(refuse(
            "a SQLite source needs an absolute path, e.g. sqlite:///srv/data/sales.db.".into(),
        ));
    }
    let real = path
        .canonicalize()
        .map_err(|_| refuse(format!("no SQLite file at {}.", path.display())))?;
    let inside = allowed
        .iter()
        .filter_map(|d| std::path::absolute(d).ok()?.canonicalize().ok())
        .any(|d| real.starts_with(d));
    if !inside {
        return Err(refuse(
            "the file is outside the directories allowed by datasources.sqlite_dirs.".into(),
        ));
    }
    let meta = Path::new(crate::db::sqlite_path(metadata_url));
    if meta.canonicalize().is_ok_and(|m| m == real) {
        return Err(refuse("that is vizier's own metadata store.".into()));
    }
    Ok(())
}

async fn register_database(ctx: ToolCtx, args: RegisterArgs) -> Result<Registered, ToolError> {
    let name = args.database_name.trim().to_string();
    if name.is_empty() || name.len() > 255 {
        return Err(ToolError::invalid("database_name: 1 to 255 characters.")
            .with_details(json!({"field": "database_name"})));
    }
    let engine = Engine::from_url(&args.url).map_err(|e| {
        ToolError::invalid(format!("url: {e}")).with_details(json!({"field": "url"}))
    })?;
    let config = &ctx.app.config;
    if engine == Engine::Sqlite {
        check_sqlite_path(
            &args.url,
            &config.datasources.sqlite_dirs,
            config.metadata.url.expose(),
        )?;
    }
    let settings = SourceSettings {
        allow_dml: args.allow_dml,
        row_limit: args.row_limit.unwrap_or(10_000).clamp(1, 1_000_000),
        statement_timeout_ms: args
            .statement_timeout_ms
            .unwrap_or(30_000)
            .clamp(100, 3_600_000),
        pool_size: args.pool_size.unwrap_or(4).clamp(1, 64),
        exposed_schemas: args.exposed_schemas.clone(),
    };
    let pool = SourcePool::connect(SourceConfig {
        url: args.url.clone(),
        pool_size: 1,
        statement_timeout_ms: settings.statement_timeout_ms,
        allow_dml: settings.allow_dml,
        exposed_schemas: settings.exposed_schemas.clone(),
    })
    .await
    .map_err(|e| crate::actors::datasource::source_error(&name, e))?;
    drop(pool);
    let encrypted = ctx
        .app
        .cipher
        .encrypt(&args.url)
        .map_err(ToolError::internal)?;
    let mut conn = ctx.app.db.conn().await?;
    let (user, at, uuid) = (ctx.principal.user_id, now(), new_uuid());
    let settings_json = serde_json::to_string(&settings).map_err(ToolError::internal)?;
    let id: i32 = with_conn!(&mut conn, |c| {
        diesel::insert_into(databases::table)
            .values(NewDatabase {
                uuid: uuid.clone(),
                name: &name,
                engine: engine.as_str(),
                connection_encrypted: encrypted.clone(),
                settings: settings_json.clone(),
                description: args.description.as_deref().unwrap_or(""),
                created_on: at,
                changed_on: at,
                created_by_fk: Some(user),
                changed_by_fk: Some(user),
            })
            .returning(databases::id)
            .get_result(c)
            .await
    })
    .map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ToolError::conflict(format!("A database named '{name}' exists already."))
            .with_details(json!({"field": "database_name"})),
        other => ToolError::from(other),
    })?;
    Ok(Registered {
        id,
        uuid,
        database_name: name,
        backend: engine.as_str().into(),
        settings,
    })
}
