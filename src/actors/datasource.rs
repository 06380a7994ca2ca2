//! Data-source actors: one per registered database, each owning that database's
//! connection pool ([`SourcePool`]), all on an arbiter of their own — away from the
//! metadata pool and the HTTP workers, so slow analytics cannot starve catalog tools.
//!
//! An actor connects lazily on its first message and serves any number of messages at
//! once (each is a future it spawns; the pool bounds concurrency). [`DataSources`] finds
//! or starts the actor of a database and replaces it when the database's registration
//! changes (new URL or settings).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use serde_json::json;
use tokio::sync::{OnceCell, RwLock};
use tokio_util::sync::CancellationToken;

use crate::datasources::{
    ColumnMeta, QueryOptions, ResultSet, SourceConfig, SourceError, SourcePool, TableRef,
};
use crate::db::catalog::Database;
use crate::db::secrets::Cipher;
use crate::error::{ErrorKind, ToolError};
use crate::tools::datasets::SourceSettings;

/// Seconds a caller is told to wait when a data source cannot be reached.
const RETRY_AFTER_UNREACHABLE_SECS: u64 = 5;

/// Map a connector error to the tool error a caller sees. Database messages are kept: they
/// help fix the SQL; connection details were already masked by the connector.
pub fn source_error(database: &str, e: SourceError) -> ToolError {
    match e {
        SourceError::Connect(m) => {
            tracing::warn!(database, error = %m, "data source unreachable");
            ToolError::unavailable(format!("Database '{database}' cannot be reached right now: {m}"), RETRY_AFTER_UNREACHABLE_SECS)
        }
        SourceError::NotFound(m) => {
            ToolError::new(ErrorKind::NotFound, format!("In database '{database}': {m}")).with_details(json!({"database": database}))
        }
        SourceError::Timeout => ToolError::new(ErrorKind::Timeout, format!("The query on '{database}' exceeded its time limit and was stopped."))
            .with_details(json!({"hint": "Narrow the query (filters, LIMIT) or raise `timeout` within the database's cap."})),
        SourceError::Cancelled => ToolError::cancelled(),
        SourceError::ReadOnlyViolation(m) => ToolError::new(
            ErrorKind::PermissionDenied,
            format!("Database '{database}' is read-only for this call: {m}"),
        )
        .with_details(json!({"missing": "allow_dml"})),
        SourceError::InvalidArgument(m) => ToolError::invalid(m),
        SourceError::Sql(m) => ToolError::invalid(format!("The database rejected the SQL: {m}"))
            .with_details(json!({"database": database, "database_error": m})),
        SourceError::Internal(m) => ToolError::internal(format!("data source '{database}': {m}")),
    }
}

pub struct DataSourceActor {
    name: Arc<str>,
    config: SourceConfig,
    pool: Arc<OnceCell<SourcePool>>,
    /// Operations holding a connection now (each holds exactly one).
    active: Arc<AtomicUsize>,
}

/// Counts one operation as active until dropped.
struct Active(Arc<AtomicUsize>);

impl Active {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Actor for DataSourceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Messages are dispatched at once (each becomes a spawned future), so the mailbox
        // holds only what arrived in the same tick; the tool pools bound the callers.
        ctx.set_mailbox_capacity(4096);
    }
}

impl DataSourceActor {
    /// The pool, connecting on first use (on this actor's arbiter, so the connections'
    /// background tasks live here too).
    fn pool(&self) -> impl std::future::Future<Output = Result<SourcePool, ToolError>> + 'static {
        let cell = self.pool.clone();
        let config = self.config.clone();
        let name = self.name.clone();
        async move {
            cell.get_or_try_init(|| SourcePool::connect(config))
                .await
                .cloned()
                .map_err(|e| source_error(&name, e))
        }
    }
}

/// List the tables and views of a schema (or of every exposed schema).
#[derive(Message)]
#[rtype(result = "Result<Vec<TableRef>, ToolError>")]
pub struct ListTables {
    pub schema: Option<String>,
}

/// Describe the columns of one table or view.
#[derive(Message)]
#[rtype(result = "Result<Vec<ColumnMeta>, ToolError>")]
pub struct DescribeTable {
    pub schema: Option<String>,
    pub table: String,
}

/// Describe the result columns of a statement without fetching rows.
#[derive(Message)]
#[rtype(result = "Result<Vec<ColumnMeta>, ToolError>")]
pub struct DescribeQuery {
    pub sql: String,
}

/// Run one (already checked) statement.
#[derive(Message)]
#[rtype(result = "Result<ResultSet, ToolError>")]
pub struct RunQuery {
    pub sql: String,
    pub options: QueryOptions,
    pub cancel: CancellationToken,
}

impl Handler<ListTables> for DataSourceActor {
    type Result = ResponseFuture<Result<Vec<TableRef>, ToolError>>;

    fn handle(&mut self, msg: ListTables, _ctx: &mut Self::Context) -> Self::Result {
        let (pool, name, active) = (self.pool(), self.name.clone(), Active::enter(&self.active));
        Box::pin(async move {
            let _active = active;
            pool.await?
                .list_tables(msg.schema.as_deref())
                .await
                .map_err(|e| source_error(&name, e))
        })
    }
}

impl Handler<DescribeTable> for DataSourceActor {
    type Result = ResponseFuture<Result<Vec<ColumnMeta>, ToolError>>;

    fn handle(&mut self, msg: DescribeTable, _ctx: &mut Self::Context) -> Self::Result {
        let (pool, name, active) = (self.pool(), self.name.clone(), Active::enter(&self.active));
        Box::pin(async move {
            let _active = active;
            pool.await?
                .describe_table(msg.schema.as_deref(), &msg.table)
                .await
                .map_err(|e| source_error(&name, e))
        })
    }
}

impl Handler<DescribeQuery> for DataSourceActor {
    type Result = ResponseFuture<Result<Vec<ColumnMeta>, ToolError>>;

    fn handle(&mut self, msg: DescribeQuery, _ctx: &mut Self::Context) -> Self::Result {
        let (pool, name, active) = (self.pool(), self.name.clone(), Active::enter(&self.active));
        Box::pin(async move {
            let _active = active;
            pool.await?
                .describe_query(&msg.sql)
                .await
                .map_err(|e| source_error(&name, e))
        })
    }
}

impl Handler<RunQuery> for DataSourceActor {
    type Result = ResponseFuture<Result<ResultSet, ToolError>>;

    fn handle(&mut self, msg: RunQuery, _ctx: &mut Self::Context) -> Self::Result {
        let (pool, name, active) = (self.pool(), self.name.clone(), Active::enter(&self.active));
        Box::pin(async move {
            let _active = active;
            pool.await?
                .query(&msg.sql, msg.options, msg.cancel)
                .await
                .map_err(|e| source_error(&name, e))
        })
    }
}

/// The registry of data-source actors, by database id.
pub struct DataSources {
    arbiter: ArbiterHandle,
    actors: RwLock<HashMap<i32, Entry>>,
}

struct Entry {
    version: chrono::NaiveDateTime,
    addr: Addr<DataSourceActor>,
    active: Arc<AtomicUsize>,
    pool_size: u32,
}

/// What tools hold on to for one database: its actor and its settings.
#[derive(Clone)]
pub struct Source {
    pub addr: Addr<DataSourceActor>,
    pub name: Arc<str>,
    pub engine: crate::datasources::Engine,
    pub settings: SourceSettings,
}

impl Source {
    fn unreachable(&self) -> ToolError {
        ToolError::unavailable(
            format!(
                "The actor of database '{}' is restarting; retry.",
                self.name
            ),
            1,
        )
    }

    pub async fn list_tables(&self, schema: Option<String>) -> Result<Vec<TableRef>, ToolError> {
        self.addr
            .send(ListTables { schema })
            .await
            .map_err(|_| self.unreachable())?
    }

    pub async fn describe_table(
        &self,
        schema: Option<String>,
        table: String,
    ) -> Result<Vec<ColumnMeta>, ToolError> {
        self.addr
            .send(DescribeTable { schema, table })
            .await
            .map_err(|_| self.unreachable())?
    }

    pub async fn describe_query(&self, sql: String) -> Result<Vec<ColumnMeta>, ToolError> {
        self.addr
            .send(DescribeQuery { sql })
            .await
            .map_err(|_| self.unreachable())?
    }

    pub async fn query(
        &self,
        sql: String,
        options: QueryOptions,
        cancel: CancellationToken,
    ) -> Result<ResultSet, ToolError> {
        self.addr
            .send(RunQuery {
                sql,
                options,
                cancel,
            })
            .await
            .map_err(|_| self.unreachable())?
    }
}

impl DataSources {
    pub fn new(arbiter: ArbiterHandle) -> Self {
        Self {
            arbiter,
            actors: RwLock::new(HashMap::new()),
        }
    }

    /// The source of `db`, starting its actor when needed (or when its registration
    /// changed since the actor started).
    pub async fn get(
        &self,
        db: &Database,
        connection_encrypted: &str,
        cipher: &Cipher,
    ) -> Result<Source, ToolError> {
        let settings = SourceSettings::parse(&db.settings);
        let engine = crate::datasources::Engine::from_url(&format!("{}://", db.engine))
            .map_err(|e| source_error(&db.name, e))?;
        let source = |addr| Source {
            addr,
            name: Arc::from(db.name.as_str()),
            engine,
            settings: settings.clone(),
        };
        if let Some(e) = self.actors.read().await.get(&db.id)
            && e.version == db.changed_on
            && e.addr.connected()
        {
            return Ok(source(e.addr.clone()));
        }
        let url = cipher.decrypt(connection_encrypted).map_err(|e| {
            ToolError::internal(format!(
                "database {}: stored connection cannot be decrypted: {e}",
                db.id
            ))
        })?;
        let config = SourceConfig {
            url,
            pool_size: settings.pool_size,
            statement_timeout_ms: settings.statement_timeout_ms,
            allow_dml: settings.allow_dml,
            exposed_schemas: settings.exposed_schemas.clone(),
        };
        let active = Arc::new(AtomicUsize::new(0));
        let pool_size = config.pool_size;
        let actor = DataSourceActor {
            name: Arc::from(db.name.as_str()),
            config,
            pool: Arc::new(OnceCell::new()),
            active: active.clone(),
        };
        let addr = DataSourceActor::start_in_arbiter(&self.arbiter, move |_| actor);
        let mut actors = self.actors.write().await;
        // Another call may have started one meanwhile: the newest registration wins, and a
        // live actor of the same registration is kept (the new one stops when dropped).
        let keep = actors
            .get(&db.id)
            .is_some_and(|e| e.version == db.changed_on && e.addr.connected());
        if !keep {
            actors.insert(
                db.id,
                Entry {
                    version: db.changed_on,
                    addr,
                    active,
                    pool_size,
                },
            );
        }
        let addr = actors
            .get(&db.id)
            .map(|e| e.addr.clone())
            .ok_or_else(|| ToolError::internal("data source registry lost an entry"))?;
        Ok(source(addr))
    }

    /// (database id, connections in use, pool size) of every started source, for metrics.
    pub async fn states(&self) -> Vec<(i32, usize, u32)> {
        self.actors
            .read()
            .await
            .iter()
            .map(|(id, e)| (*id, e.active.load(Ordering::Acquire), e.pool_size))
            .collect()
    }
}
