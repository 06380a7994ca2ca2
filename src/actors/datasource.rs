//! Data-source actors: each registered database has one actor per data-source arbiter, each
//! owning its share of that database's connections ([`SourcePool`]). The data-source
//! arbiters are threads of their own — away from the metadata pool, the catalog workers and
//! the HTTP workers, so slow analytics cannot starve catalog tools — and the SQL tool
//! workers run on them too.
//!
//! Why one actor per arbiter rather than one per database: a call that crosses to another
//! thread and back pays two wake-ups, and on a virtual machine a wake-up of an idle CPU costs
//! tens of microseconds (measured: issue 4's note). A SQL worker sends to the actor of its
//! own thread, so a query crosses no thread it does not have to: PostgreSQL and MariaDB
//! connections' I/O tasks live on the same thread, and a SQLite statement makes one trip to a
//! blocking thread and back. Callers on other threads (catalog and chart workers) go to the
//! actor with the fewest operations running. The configured pool size is the database's
//! total: it is split over the actors (a pool of 1 has one actor).
//!
//! An actor connects lazily on its first message and serves any number of messages at
//! once (each is a future it spawns; the pool bounds concurrency). [`DataSources`] finds
//! or starts the actors of a database and replaces them when the database's registration
//! changes (new URL or settings).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use serde_json::json;
use tokio::sync::{OnceCell, RwLock};
use tokio_util::sync::CancellationToken;

use crate::datasources::settings::SourceSettings;
use crate::datasources::{
    ColumnMeta, QueryOptions, ResultSet, SourceConfig, SourceError, SourcePool, TableRef,
};
use crate::db::databases::Database;
use crate::db::secrets::Cipher;
use crate::error::{ErrorKind, ToolError};
use crate::outage::Outage;

/// Seconds a caller is told to wait when a data source cannot be reached.
const RETRY_AFTER_UNREACHABLE_SECS: u64 = 5;

/// Map a connector error to the tool error a caller sees. Database messages are kept: they
/// help fix the SQL; connection details were already masked by the connector. An
/// unreachable database is not logged here, per call, but once per outage (`Outage`).
pub fn source_error(database: &str, e: SourceError) -> ToolError {
    match e {
        SourceError::Connect(m) => {
            ToolError::unavailable(format!("Database '{database}' cannot be reached right now: {m}"), RETRY_AFTER_UNREACHABLE_SECS)
                .with_details(json!({"database": database, "cause": m, "retry_after_secs": RETRY_AFTER_UNREACHABLE_SECS}))
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
    /// Whether the database is reachable; shared by the database's actors, so an outage is
    /// logged once, not once per actor or per call.
    outage: Arc<Outage>,
}

/// Note in `outage` what `result` says of the database's reachability: a connection error
/// marks it down, any answer from the server (rows, or the server's own error) up.
fn observe<T>(outage: &Outage, result: Result<T, SourceError>) -> Result<T, SourceError> {
    match &result {
        Err(SourceError::Connect(cause)) => outage.failed(cause),
        Ok(_) | Err(SourceError::Sql(_) | SourceError::NotFound(_)) => outage.answered(),
        Err(_) => {}
    }
    result
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
    fn pool(&self) -> impl std::future::Future<Output = Result<SourcePool, SourceError>> + 'static {
        let cell = self.pool.clone();
        let config = self.config.clone();
        async move {
            cell.get_or_try_init(|| SourcePool::connect(config))
                .await
                .cloned()
        }
    }

    /// Run `work` on the pool (connecting first if needed), noting reachability and mapping
    /// the error for the caller.
    fn run<T, W, F>(&self, work: W) -> ResponseFuture<Result<T, ToolError>>
    where
        T: 'static,
        W: FnOnce(SourcePool) -> F + 'static,
        F: std::future::Future<Output = Result<T, SourceError>> + 'static,
    {
        let (pool, name, active) = (self.pool(), self.name.clone(), Active::enter(&self.active));
        let outage = self.outage.clone();
        Box::pin(async move {
            let _active = active;
            let result = match pool.await {
                Ok(pool) => work(pool).await,
                Err(e) => Err(e),
            };
            observe(&outage, result).map_err(|e| source_error(&name, e))
        })
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
        self.run(async move |pool| pool.list_tables(msg.schema.as_deref()).await)
    }
}

impl Handler<DescribeTable> for DataSourceActor {
    type Result = ResponseFuture<Result<Vec<ColumnMeta>, ToolError>>;

    fn handle(&mut self, msg: DescribeTable, _ctx: &mut Self::Context) -> Self::Result {
        self.run(async move |pool| pool.describe_table(msg.schema.as_deref(), &msg.table).await)
    }
}

impl Handler<DescribeQuery> for DataSourceActor {
    type Result = ResponseFuture<Result<Vec<ColumnMeta>, ToolError>>;

    fn handle(&mut self, msg: DescribeQuery, _ctx: &mut Self::Context) -> Self::Result {
        self.run(async move |pool| pool.describe_query(&msg.sql).await)
    }
}

impl Handler<RunQuery> for DataSourceActor {
    type Result = ResponseFuture<Result<ResultSet, ToolError>>;

    fn handle(&mut self, msg: RunQuery, _ctx: &mut Self::Context) -> Self::Result {
        self.run(async move |pool| pool.query(&msg.sql, msg.options, msg.cancel).await)
    }
}

thread_local! {
    /// The index of the data-source arbiter this thread is, if it is one.
    static ARBITER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Mark the calling thread as data-source arbiter `index` (run once on each of them).
pub fn mark_arbiter(index: usize) {
    ARBITER.with(|a| a.set(Some(index)));
}

/// The connections each of `arbiters` gets of a pool of `pool_size`: the total is the pool
/// size, spread as evenly as it goes, the first arbiters first.
fn shares(pool_size: u32, arbiters: usize) -> impl Iterator<Item = (usize, u32)> {
    let size = pool_size.max(1);
    let n = u32::try_from(arbiters.max(1)).unwrap_or(u32::MAX);
    (0..n)
        .map(move |k| (k as usize, size / n + u32::from(k < size % n)))
        .filter(|(_, share)| *share > 0)
}

/// The registry of data-source actors, by database id.
pub struct DataSources {
    arbiters: Vec<ArbiterHandle>,
    actors: RwLock<HashMap<i32, Entry>>,
}

struct Entry {
    version: chrono::NaiveDateTime,
    shards: Arc<[Shard]>,
    catalog_facts: Arc<CatalogFactsSlot>,
}

/// A source's catalog facts (views, functions) for row-level security, with when they were
/// read; filled and refreshed by the SQL tools (`crate::sql::depends::FACTS_TTL`).
pub type CatalogFactsSlot =
    tokio::sync::Mutex<Option<(std::time::Instant, Arc<crate::sql::CatalogFacts>)>>;

/// One actor of a database: the arbiter it runs on and its share of the connections.
struct Shard {
    arbiter: usize,
    addr: Addr<DataSourceActor>,
    active: Arc<AtomicUsize>,
    pool_size: u32,
}

/// What tools hold on to for one database: its actors and its settings.
#[derive(Clone)]
pub struct Source {
    shards: Arc<[Shard]>,
    pub name: Arc<str>,
    pub engine: crate::datasources::Engine,
    pub settings: SourceSettings,
    /// Shared by every call on this registration of the database.
    pub catalog_facts: Arc<CatalogFactsSlot>,
}

impl Source {
    /// The actor to send to: the one on the caller's own thread, else the least busy.
    fn addr(&self) -> Result<&Addr<DataSourceActor>, ToolError> {
        let here = ARBITER.with(Cell::get);
        here.and_then(|i| self.shards.iter().find(|s| s.arbiter == i))
            .or_else(|| {
                self.shards
                    .iter()
                    .min_by_key(|s| s.active.load(Ordering::Acquire))
            })
            .map(|s| &s.addr)
            .ok_or_else(|| self.unreachable())
    }

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
        self.addr()?
            .send(ListTables { schema })
            .await
            .map_err(|_| self.unreachable())?
    }

    pub async fn describe_table(
        &self,
        schema: Option<String>,
        table: String,
    ) -> Result<Vec<ColumnMeta>, ToolError> {
        self.addr()?
            .send(DescribeTable { schema, table })
            .await
            .map_err(|_| self.unreachable())?
    }

    pub async fn describe_query(&self, sql: String) -> Result<Vec<ColumnMeta>, ToolError> {
        self.addr()?
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
        self.addr()?
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
    /// A registry whose actors run on `arbiters` (marked with [`mark_arbiter`]).
    pub fn new(arbiters: Vec<ArbiterHandle>) -> Self {
        Self {
            arbiters,
            actors: RwLock::new(HashMap::new()),
        }
    }

    /// The source of `db`, starting its actors when needed (or when its registration
    /// changed since they started).
    pub async fn get(
        &self,
        db: &Database,
        connection_encrypted: &str,
        cipher: &Cipher,
    ) -> Result<Source, ToolError> {
        let settings = SourceSettings::parse(&db.settings);
        let engine = crate::datasources::Engine::from_url(&format!("{}://", db.engine))
            .map_err(|e| source_error(&db.name, e))?;
        let source = |e: &Entry| Source {
            shards: e.shards.clone(),
            name: Arc::from(db.name.as_str()),
            engine,
            settings: settings.clone(),
            catalog_facts: e.catalog_facts.clone(),
        };
        let live =
            |e: &Entry| e.version == db.changed_on && e.shards.iter().all(|s| s.addr.connected());
        if let Some(e) = self.actors.read().await.get(&db.id)
            && live(e)
        {
            return Ok(source(e));
        }
        let url = cipher.decrypt(connection_encrypted).map_err(|e| {
            // An operator's fix, not a bug: say which settings choose the key.
            let err = ToolError::new(
                ErrorKind::Unavailable,
                format!(
                    "Database '{}' cannot be used: its stored connection cannot be decrypted with this \
                     server's encryption key. The operator must set secrets.key_file (env VIZIER_SECRETS__KEY_FILE) \
                     to the key file it was stored with, or secrets.encryption_key (env VIZIER_SECRETS__ENCRYPTION_KEY) \
                     to that key, or register the database again.",
                    db.name
                ),
            )
            .with_details(json!({"database_id": db.id, "settings": ["secrets.key_file", "secrets.encryption_key"]}));
            tracing::error!(error_id = %err.error_id, database_id = db.id, cause = %e, "stored connection cannot be decrypted");
            err
        })?;
        let outage = Arc::new(Outage::new(format!("database '{}'", db.name)));
        let shards: Arc<[Shard]> = shares(settings.pool_size, self.arbiters.len())
            .filter_map(|(arbiter, pool_size)| {
                let handle = self.arbiters.get(arbiter)?;
                let active = Arc::new(AtomicUsize::new(0));
                let actor = DataSourceActor {
                    name: Arc::from(db.name.as_str()),
                    config: SourceConfig {
                        url: url.clone(),
                        pool_size,
                        statement_timeout_ms: settings.statement_timeout_ms,
                        allow_dml: settings.allow_dml,
                        exposed_schemas: settings.exposed_schemas.clone(),
                    },
                    pool: Arc::new(OnceCell::new()),
                    active: active.clone(),
                    outage: outage.clone(),
                };
                let addr = DataSourceActor::start_in_arbiter(handle, move |_| actor);
                Some(Shard {
                    arbiter,
                    addr,
                    active,
                    pool_size,
                })
            })
            .collect();
        let mut actors = self.actors.write().await;
        // Another call may have started them meanwhile: the newest registration wins, and
        // live actors of the same registration are kept (the new ones stop when dropped).
        if !actors.get(&db.id).is_some_and(live) {
            actors.insert(
                db.id,
                Entry {
                    version: db.changed_on,
                    shards,
                    catalog_facts: Default::default(),
                },
            );
        }
        actors
            .get(&db.id)
            .filter(|e| !e.shards.is_empty())
            .map(source)
            .ok_or_else(|| ToolError::internal("data source registry lost an entry"))
    }

    /// (database id, connections in use, pool size) of every started source, for metrics.
    pub async fn states(&self) -> Vec<(i32, usize, u32)> {
        self.actors
            .read()
            .await
            .iter()
            .map(|(id, e)| {
                e.shards.iter().fold((*id, 0, 0), |(id, active, size), s| {
                    (
                        id,
                        active + s.active.load(Ordering::Acquire),
                        size + s.pool_size,
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::shares;

    #[test]
    fn a_pool_is_split_over_the_arbiters_to_its_size() {
        let split = |size, n| shares(size, n).collect::<Vec<_>>();
        assert_eq!(split(4, 2), vec![(0, 2), (1, 2)]);
        assert_eq!(split(5, 2), vec![(0, 3), (1, 2)]);
        assert_eq!(split(1, 4), vec![(0, 1)]);
        assert_eq!(split(3, 4), vec![(0, 1), (1, 1), (2, 1)]);
        // A pool size of 0 still gets one connection; no arbiters means one share.
        assert_eq!(split(0, 2), vec![(0, 1)]);
        assert_eq!(split(4, 0), vec![(0, 4)]);
        for size in 0..20 {
            for n in 1..6 {
                assert_eq!(shares(size, n).map(|(_, s)| s).sum::<u32>(), size.max(1));
            }
        }
    }
}
