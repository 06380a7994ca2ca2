//! The data-source connector layer: the code that talks to the databases users register
//! (where their SQL runs), as opposed to vizier's own metadata store in `crate::db`.
//!
//! What belongs in each file:
//! - `mod.rs` (this file): [`SourcePool`], the one handle the rest of vizier uses, which
//!   dispatches to the engine modules; the supervision shared by all engines (time limits,
//!   cancellation, running each query on a task of its own); masking of secrets in errors.
//! - `engine.rs`: what the server engines share around one statement (checkout, stop
//!   requests, the probe that decides whether a connection goes back to its pool), behind
//!   the `Driver` trait each of them implements.
//! - [`types`]: the public vocabulary ([`Engine`], [`SourceConfig`], [`QueryOptions`],
//!   [`ResultSet`], [`ColumnMeta`], [`TableRef`], [`SourceError`]) and the value conversions
//!   shared by the engines (exact decimals, floats, base64, ISO-8601 pieces).
//! - [`settings`]: [`settings::SourceSettings`], how a registered source is used (limits,
//!   DML, templating), as stored with it.
//! - `postgres.rs`: PostgreSQL through tokio-postgres and a bb8 pool; binary values decoded
//!   natively, exotic types converted to text by the server itself.
//! - `mysql.rs`: MySQL and MariaDB through mysql_async's pool (binary protocol).
//! - `sqlite.rs`: SQLite files through rusqlite on blocking threads, with separate read-only
//!   and read-write connections.
//! - `conformance.rs` (tests only): the cases every engine must pass, run against each of
//!   them, and the test fixtures the engines' own tests share.
//!
//! Guarantees common to all engines: read-only is enforced by the database itself (a
//! read-only transaction or a read-only connection), time limits are enforced by the
//! database (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`, MySQL
//! `max_execution_time`, SQLite interrupt) with a client-side deadline as a backstop, and a
//! cancelled or abandoned query is stopped at the database before its connection goes back
//! to the pool.

#[cfg(test)]
mod conformance;
mod engine;
mod mysql;
mod postgres;
pub mod settings;
mod sqlite;
pub mod types;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use types::{
    ColumnMeta, Engine, QueryOptions, ResultSet, SourceConfig, SourceError, StatementPriority,
    TableRef,
};

/// The time limit when neither the source nor the query sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long after the database's own time limit the client gives up on its own: the
/// database normally answers first; this only catches a server that does not.
pub(crate) const BACKSTOP: Duration = Duration::from_secs(2);

/// How long a stopped statement may take to acknowledge the stop before its connection is
/// thrown away instead of going back to the pool.
pub(crate) const SETTLE: Duration = Duration::from_secs(5);

/// A pool of connections to one registered data source. Cheap to clone: clones share the
/// connections.
#[derive(Clone)]
pub struct SourcePool {
    backend: Backend,
    /// The URL and password, masked in every error message.
    secrets: Arc<[String]>,
}

#[derive(Clone)]
enum Backend {
    Postgres(postgres::PgSource),
    MySql(mysql::MySource),
    Sqlite(sqlite::LiteSource),
}

impl SourcePool {
    /// Opens the pool and checks one connection (login, database exists, a trivial query).
    pub async fn connect(cfg: SourceConfig) -> Result<Self, SourceError> {
        let secrets: Arc<[String]> = secrets_of(&cfg.url).into();
        let backend = match Engine::from_url(&cfg.url)? {
            Engine::Postgres => postgres::PgSource::connect(&cfg)
                .await
                .map(Backend::Postgres),
            Engine::MySql => mysql::MySource::connect(&cfg).await.map(Backend::MySql),
            Engine::Sqlite => sqlite::LiteSource::connect(&cfg).await.map(Backend::Sqlite),
        }
        .map_err(|e| e.redacted(&secrets))?;
        Ok(Self { backend, secrets })
    }

    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Postgres(_) => Engine::Postgres,
            Backend::MySql(_) => Engine::MySql,
            Backend::Sqlite(_) => Engine::Sqlite,
        }
    }

    /// Tables and views, sorted by schema then name: those of `schema` when given, else of
    /// every exposed schema. A schema that is not exposed yields an empty list.
    pub async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>, SourceError> {
        match &self.backend {
            Backend::Postgres(s) => s.list_tables(schema).await,
            Backend::MySql(s) => s.list_tables(schema).await,
            Backend::Sqlite(s) => s.list_tables(schema).await,
        }
        .map_err(|e| e.redacted(&self.secrets))
    }

    /// The columns of a table or view, in order. `NotFound` when it does not exist or its
    /// schema is not exposed. Without `schema`, the name is resolved as unqualified SQL
    /// would (PostgreSQL `search_path`, MySQL current database, SQLite `main`).
    pub async fn describe_table(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<ColumnMeta>, SourceError> {
        match &self.backend {
            Backend::Postgres(s) => s.describe_table(schema, table).await,
            Backend::MySql(s) => s.describe_table(schema, table).await,
            Backend::Sqlite(s) => s.describe_table(schema, table).await,
        }
        .map_err(|e| e.redacted(&self.secrets))
    }

    /// The result columns of a statement without fetching its rows (PostgreSQL and MySQL
    /// prepare it; SQLite prepares it and, only when a column has no declared type, reads
    /// one row on a read-only connection to see its storage class).
    pub async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnMeta>, SourceError> {
        match &self.backend {
            Backend::Postgres(s) => s.describe_query(sql).await,
            Backend::MySql(s) => s.describe_query(sql).await,
            Backend::Sqlite(s) => s.describe_query(sql).await,
        }
        .map_err(|e| e.redacted(&self.secrets))
    }

    /// Runs one statement and returns at most `opts.max_rows` rows.
    ///
    /// The statement runs on a task of its own: when `cancel` fires, or when the caller
    /// drops this future, the task stops the statement at the database, waits for the
    /// connection to be clean and only then gives it back to the pool.
    pub async fn query(
        &self,
        sql: &str,
        opts: QueryOptions,
        cancel: CancellationToken,
    ) -> Result<ResultSet, SourceError> {
        let token = cancel.child_token();
        // Dropping this future drops the guard, which cancels the task's token.
        let _abandon = token.clone().drop_guard();
        let this = self.clone();
        let sql = sql.to_owned();
        let task = tokio::spawn(async move {
            match &this.backend {
                Backend::Postgres(s) => s.query(&sql, &opts, &token).await,
                Backend::MySql(s) => s.query(&sql, &opts, &token).await,
                Backend::Sqlite(s) => s.query(&sql, &opts, &token).await,
            }
        });
        match task.await {
            Ok(result) => result.map_err(|e| e.redacted(&self.secrets)),
            Err(e) => Err(SourceError::Internal(format!("query task failed: {e}"))),
        }
    }
}

/// The time limit of one statement: the smaller of the source's and the query's when both
/// are set, whichever is set otherwise, [`DEFAULT_TIMEOUT`] when neither is.
pub(crate) fn effective_timeout(source_ms: u64, requested: Duration) -> Duration {
    let source = Duration::from_millis(source_ms);
    match (source.is_zero(), requested.is_zero()) {
        (true, true) => DEFAULT_TIMEOUT,
        (true, false) => requested,
        (false, true) => source,
        (false, false) => source.min(requested),
    }
}

/// The error for a table or view that does not exist or is not exposed.
pub(crate) fn table_not_found(schema: Option<&str>, table: &str) -> SourceError {
    SourceError::NotFound(match schema {
        Some(s) => format!("table {s}.{table}"),
        None => format!("table {table}"),
    })
}

/// Why a statement was stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Cancelled,
    TimedOut,
}

impl From<Stop> for SourceError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Cancelled => Self::Cancelled,
            Stop::TimedOut => Self::Timeout,
        }
    }
}

/// The end of a supervised statement.
pub(crate) enum Supervised<T> {
    /// It ended on its own (successfully or with the database's error).
    Finished(T),
    /// It was stopped; `settled` tells whether it then ended within [`SETTLE`] (its
    /// connection is in a known state) or was abandoned (the connection must not be reused).
    Stopped { why: Stop, settled: bool },
}

/// Drives `work` until it ends, `cancel` fires or `deadline` passes. On cancel or deadline,
/// `stop` asks the database to stop the statement (again every `repeat`, when given: a
/// SQLite interrupt only hits a statement already running), and `work` is driven on so that
/// it sees the database's error and leaves its connection clean.
pub(crate) async fn supervise<W, S, F>(
    work: W,
    cancel: &CancellationToken,
    deadline: Instant,
    repeat: Option<Duration>,
    mut stop: S,
) -> Supervised<W::Output>
where
    W: Future,
    S: FnMut() -> F,
    F: Future<Output = ()>,
{
    let mut work = std::pin::pin!(work);
    let why = tokio::select! {
        biased;
        out = &mut work => return Supervised::Finished(out),
        () = cancel.cancelled() => Stop::Cancelled,
        () = tokio::time::sleep_until(deadline) => Stop::TimedOut,
    };
    let give_up = Instant::now() + SETTLE;
    loop {
        // The stop request is itself bounded: a database that does not answer it must not
        // hold the caller past `give_up`.
        let _ = tokio::time::timeout_at(give_up, stop()).await;
        let next = repeat.map_or(give_up, |every| (Instant::now() + every).min(give_up));
        tokio::select! {
            biased;
            _ = &mut work => return Supervised::Stopped { why, settled: true },
            () = tokio::time::sleep_until(next) => {
                if Instant::now() >= give_up {
                    return Supervised::Stopped { why, settled: false };
                }
            }
        }
    }
}

/// Waits for a pooled connection, giving up on cancel or at the deadline.
pub(crate) async fn acquire<T, F>(
    get: F,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<T, SourceError>
where
    F: Future<Output = Result<T, SourceError>>,
{
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(SourceError::Cancelled),
        got = tokio::time::timeout_at(deadline, get) => got.unwrap_or(Err(SourceError::Timeout)),
    }
}

/// What must never appear in an error: the URL itself and its password, raw and
/// percent-decoded (from the user-info part and from a `password=` parameter).
fn secrets_of(url: &str) -> Vec<String> {
    let mut secrets = vec![url.to_owned()];
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some((userinfo, _)) = before_query.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
    {
        secrets.push(password.to_owned());
    }
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=')
            && matches!(key, "password" | "pass")
        {
            secrets.push(value.to_owned());
        }
    }
    let decoded: Vec<String> = secrets[1..].iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    // Masking a one-character password would mangle every message; such a password is
    // not worth hiding at that cost.
    secrets.retain(|s| s.len() >= 3);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A unique suffix for test object names, so that concurrent runs do not collide.
#[cfg(test)]
pub(crate) fn test_suffix() -> String {
    format!("{}_{}", std::process::id(), rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_cover_raw_and_decoded_passwords() {
        let s = secrets_of("postgres://bob:p%40ss%3Aword@db.example:5432/x?sslmode=disable");
        assert!(s.contains(&"p%40ss%3Aword".to_owned()));
        assert!(s.contains(&"p@ss:word".to_owned()));
        let s = secrets_of("mysql://bob@h/db?password=topsecret");
        assert!(s.contains(&"topsecret".to_owned()));
        let e = SourceError::Connect("login failed for p@ss:word".into())
            .redacted(&secrets_of("postgres://bob:p%40ss%3Aword@h/x"));
        assert_eq!(
            e.to_string(),
            "cannot connect to the data source: login failed for ***"
        );
    }

    #[test]
    fn timeouts_combine() {
        assert_eq!(effective_timeout(0, Duration::ZERO), DEFAULT_TIMEOUT);
        assert_eq!(
            effective_timeout(500, Duration::ZERO),
            Duration::from_millis(500)
        );
        assert_eq!(
            effective_timeout(500, Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(
            effective_timeout(0, Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused_without_echoing_the_url() {
        let err = SourcePool::connect(SourceConfig {
            url: "oracle://scott:tiger123@h/db".into(),
            pool_size: 1,
            statement_timeout_ms: 0,
            allow_dml: false,
            exposed_schemas: vec![],
        })
        .await
        .err()
        .expect("refused");
        assert!(!err.to_string().contains("tiger123"), "{err}");
    }
}

#[cfg(test)]
mod send_check {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Callers hold these futures across threads (actix, tokio tasks): they must be Send.
    #[allow(dead_code)]
    fn futures_are_send(pool: &SourcePool) {
        assert_send(&pool.list_tables(None));
        assert_send(&pool.describe_table(None, "t"));
        assert_send(&pool.describe_query("SELECT 1"));
        assert_send(&pool.query(
            "SELECT 1",
            QueryOptions::default(),
            CancellationToken::new(),
        ));
        assert_send(&SourcePool::connect(SourceConfig {
            url: String::new(),
            pool_size: 1,
            statement_timeout_ms: 0,
            allow_dml: false,
            exposed_schemas: vec![],
        }));
    }
}
