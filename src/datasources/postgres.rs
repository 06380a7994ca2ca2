//! PostgreSQL sources.
//!
//! What belongs here: the bb8 pool of tokio-postgres clients, the catalog queries behind
//! `list_tables` / `describe_table`, the query path (a read: read-only transaction with the
//! time limit and session settings set inside it, pipelined into one round trip for a
//! statement the connection keeps prepared, two otherwise; a write: a transaction and a
//! portal that fetches at most `max_rows + 1` rows; cancel requests), and the decoding of
//! PostgreSQL's binary values into JSON.
//!
//! Values arrive in binary. Common types are decoded here (numbers, NUMERIC exactly, text,
//! dates and times, intervals in PostgreSQL's own text style, uuid, json, bytea, arrays,
//! enums, domains, composites). Any other type (ranges, inet, money, geometry, extension
//! types...) is handed back to the server, which turns the same bytes into the type's text
//! form with `SELECT format('%s', $1)` (the type's output function, as psql shows it; a
//! `::text` cast may differ: inet's adds the netmask): lossless for every type that has a
//! binary input function.
//!
//! TLS is not supported here (the client uses `NoTls`): a URL with `sslmode=require` fails
//! to connect; `sslmode=prefer` (the default) falls back to plain TCP.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use chrono::{NaiveDate, NaiveDateTime, Timelike as _};
use futures::TryStreamExt as _;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{CancelToken, Client, Config, NoTls, Row, Statement, Transaction};
use tokio_util::sync::CancellationToken;

use super::engine::{Driver, Settings, run_supervised};
use super::types::{
    ColumnMeta, QueryOptions, ResultSet, SourceConfig, SourceError, TableRef, bytes_json, clock,
    decimal_json, f32_json, f64_json, fraction, text_or_base64,
};
use super::{BACKSTOP, table_not_found};

/// A pooled client. `broken` sends it away instead of back to the pool: set while a read's
/// transaction is open and when a stopped statement did not settle, so nothing of it (an open
/// transaction, a caller's session settings) can leak into the next user's work.
pub(crate) struct PgConn {
    client: Client,
    broken: bool,
    /// When the server last answered on this connection.
    answered_at: std::time::Instant,
    /// Reads' statements kept prepared on this connection, by SQL text (at most
    /// [`KEPT_STATEMENTS`]): a repeated read skips parsing and, having no parameters, planning.
    statements: HashMap<String, Statement>,
}

/// Prepared statements a connection keeps at most (each holds a plan in the server's memory).
const KEPT_STATEMENTS: usize = 64;

/// A connection that answered this recently, and whose socket is still open, is handed out
/// without a test query: the test would cost a round trip on every checkout, and would only
/// catch a server that failed in these few seconds, which the query itself then reports.
const RECENTLY_ANSWERED: Duration = Duration::from_secs(2);

pub(crate) struct PgManager {
    config: Config,
    /// The last failed connection attempt's error, sent to every checkout waiting: bb8 keeps
    /// such errors from its waiters, which would otherwise wait out the whole deadline and
    /// report a server that is down as a slow query.
    failures: watch::Sender<String>,
}

impl bb8::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = tokio_postgres::Error;

    async fn connect(&self) -> Result<PgConn, tokio_postgres::Error> {
        let (client, connection) = match self.config.connect(NoTls).await {
            Ok(connected) => connected,
            Err(e) => {
                self.failures.send_replace(connect_message(&e));
                return Err(e);
            }
        };
        // The connection object performs the I/O; it ends when the client is dropped.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "data source connection closed");
            }
        });
        Ok(PgConn {
            client,
            broken: false,
            answered_at: std::time::Instant::now(),
            statements: HashMap::new(),
        })
    }

    async fn is_valid(&self, conn: &mut PgConn) -> Result<(), tokio_postgres::Error> {
        if conn.answered_at.elapsed() < RECENTLY_ANSWERED && !conn.client.is_closed() {
            return Ok(());
        }
        conn.client.simple_query("").await?;
        conn.answered_at = std::time::Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// A connection checked out of the pool. A type without a lifetime parameter: with
/// `PooledConnection<'static, _>` itself in the statement path, rustc cannot prove the spawned
/// query future `Send` (the `'static` is erased inside the future).
pub(crate) struct PgPooled(bb8::PooledConnection<'static, PgManager>);

impl std::ops::Deref for PgPooled {
    type Target = PgConn;

    fn deref(&self) -> &PgConn {
        &self.0
    }
}

impl std::ops::DerefMut for PgPooled {
    fn deref_mut(&mut self) -> &mut PgConn {
        &mut self.0
    }
}

#[derive(Clone)]
pub(crate) struct PgSource {
    pool: bb8::Pool<PgManager>,
    settings: Arc<Settings>,
    /// Failed connection attempts of the pool ([`PgManager::failures`]).
    failures: watch::Receiver<String>,
}

/// Built-in OIDs decoded natively (`Type` constants cannot be matched on).
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const NUMERIC: u32 = 1700;
    pub const RECORD: u32 = 2249;
    pub const VOID: u32 = 2278;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// System schemas, never listed unless exposed explicitly.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

impl PgSource {
    pub(crate) async fn connect(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let mut config: Config = cfg
            .url
            .parse()
            .map_err(|e| SourceError::Connect(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("vizier");
        }
        let (failures_tx, failures) = watch::channel(String::new());
        let manager = PgManager {
            config,
            failures: failures_tx,
        };
        // Connect once outside the pool: the pool would retry and hide the actual error.
        let first = bb8::ManageConnection::connect(&manager)
            .await
            .map_err(connect_error)?;
        first
            .client
            .simple_query("SELECT 1")
            .await
            .map_err(connect_error)?;
        let pool = bb8::Pool::builder()
            .max_size(cfg.pool_size.max(1))
            .retry_connection(false)
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(manager);
        // Keep the checked connection; failing to add it (pool full) only costs a reconnect.
        let _ = pool.add(first);
        Ok(Self {
            pool,
            settings: Arc::new(Settings::new(cfg)),
            failures,
        })
    }

    /// A pooled connection. When the pool has none idle it connects, and a connection
    /// attempt that fails meanwhile (the server is down) ends the wait with its error.
    async fn get(&self) -> Result<bb8::PooledConnection<'static, PgManager>, SourceError> {
        let mut failures = self.failures.clone();
        failures.mark_unchanged();
        tokio::select! {
            got = self.pool.get_owned() => got.map_err(|e| match e {
                bb8::RunError::User(e) => connect_error(e),
                bb8::RunError::TimedOut => {
                    SourceError::Connect("no connection available in time".into())
                }
            }),
            Ok(()) = failures.changed() => {
                Err(SourceError::Connect(failures.borrow_and_update().clone()))
            }
        }
    }

    /// Runs a catalog read under the source's time limit, cancelling it at the server when
    /// the limit passes (the limit is not set at the server: the read is not in a
    /// transaction of its own).
    async fn catalog<T, W>(&self, work: W) -> Result<T, SourceError>
    where
        W: AsyncFnOnce(&mut PgPooled) -> Result<T, SourceError>,
    {
        let deadline = Instant::now() + self.settings.timeout(Duration::ZERO);
        run_supervised(self, &CancellationToken::new(), deadline, work).await
    }

    pub(crate) async fn list_tables(
        &self,
        schema: Option<&str>,
    ) -> Result<Vec<TableRef>, SourceError> {
        let exposed = self.settings.exposed.clone();
        let sql = format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition \
               AND (CASE WHEN cardinality($1::text[]) > 0 THEN n.nspname = ANY($1) \
                         ELSE {SYSTEM_SCHEMAS} END) \
               AND ($2::text IS NULL OR n.nspname = $2) \
             ORDER BY 1, 2"
        );
        let rows = self
            .catalog(async |conn| {
                conn.client
                    .query(&sql, &[&exposed, &schema])
                    .await
                    .map_err(pg_error)
            })
            .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get(2).map_err(pg_error)?;
                Ok(TableRef {
                    schema: Some(row.try_get(0).map_err(pg_error)?),
                    name: row.try_get(1).map_err(pg_error)?,
                    kind: if matches!(kind.as_str(), "v" | "m") {
                        "view"
                    } else {
                        "table"
                    },
                })
            })
            .collect()
    }

    pub(crate) async fn describe_table(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<ColumnMeta>, SourceError> {
        // Unqualified names resolve through search_path, as in the user's SQL.
        let sql = "SELECT n.nspname::text, a.attname::text, \
                          pg_catalog.format_type(a.atttypid, a.atttypmod), \
                          CASE WHEN c.relkind IN ('v', 'm') THEN NULL ELSE NOT a.attnotnull END, \
                          COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)::int8 \
                   FROM pg_catalog.pg_class c \
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
                   JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                   WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
                     AND CASE WHEN $2::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) \
                              ELSE n.nspname = $2 END \
                     AND a.attnum > 0 AND NOT a.attisdropped \
                   ORDER BY a.attnum";
        let rows = self
            .catalog(async |conn| {
                conn.client
                    .query(sql, &[&table, &schema])
                    .await
                    .map_err(pg_error)
            })
            .await?;
        let not_found = || table_not_found(schema, table);
        let Some(first) = rows.first() else {
            return Err(not_found());
        };
        let found_in: String = first.try_get(0).map_err(pg_error)?;
        let exposed = &self.settings.exposed;
        // With no explicit list every non-system schema is exposed; the system catalogs
        // (and toast/temp schemas) never are unless named in the list.
        let system = found_in == "pg_catalog"
            || found_in == "information_schema"
            || found_in.starts_with("pg_");
        if (!exposed.is_empty() && !exposed.contains(&found_in)) || (exposed.is_empty() && system) {
            return Err(not_found());
        }
        rows.iter()
            .map(|row| {
                let base_oid: i64 = row.try_get(4).map_err(pg_error)?;
                Ok(ColumnMeta {
                    name: row.try_get(1).map_err(pg_error)?,
                    data_type: row.try_get(2).map_err(pg_error)?,
                    is_nullable: row.try_get(3).map_err(pg_error)?,
                    is_temporal: u32::try_from(base_oid).is_ok_and(is_temporal_oid),
                })
            })
            .collect()
    }

    pub(crate) async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnMeta>, SourceError> {
        // Preparing plans the statement but runs nothing.
        let statement = self
            .catalog(async |conn| conn.client.prepare(sql).await.map_err(pg_error))
            .await?;
        Ok(column_metas(&statement))
    }

    pub(crate) async fn query(
        &self,
        sql: &str,
        opts: &QueryOptions,
        cancel: &CancellationToken,
    ) -> Result<ResultSet, SourceError> {
        let read_only = self.settings.read_only(opts);
        let timeout = self.settings.timeout(opts.timeout);
        let setup = setup_sql(timeout, &opts.session_settings, opts.search_path.as_deref())?;
        let deadline = Instant::now() + timeout + BACKSTOP;
        run_supervised(self, cancel, deadline, async |conn: &mut PgPooled| {
            if read_only {
                run_read(conn, sql, &setup, opts.max_rows).await
            } else {
                run_write(&mut conn.client, sql, &setup, opts.max_rows).await
            }
        })
        .await
    }
}

/// A statement that was stopped is followed by a probe, `ROLLBACK` (outside a transaction
/// only a warning): its success proves no transaction is left open. A connection that fails
/// it is marked broken, so the pool closes it instead of handing it out.
impl Driver for PgSource {
    type Conn = PgPooled;
    type Stopper = CancelToken;

    async fn checkout(&self) -> Result<PgPooled, SourceError> {
        self.get().await.map(PgPooled)
    }

    fn stopper(&self, conn: &Self::Conn) -> CancelToken {
        conn.client.cancel_token()
    }

    async fn stop(&self, canceller: &CancelToken) {
        cancel_request(canceller).await;
    }

    async fn probe(conn: &mut Self::Conn) -> bool {
        conn.client.simple_query("ROLLBACK").await.is_ok()
    }

    async fn settle(&self, conn: &mut Self::Conn, healthy: bool) {
        conn.broken = !healthy;
    }

    fn answered(conn: &mut Self::Conn) {
        conn.answered_at = std::time::Instant::now();
    }
}

/// Asks the server to cancel whatever the connection is running (a separate connection
/// carrying the backend's secret key).
async fn cancel_request(canceller: &CancelToken) {
    if let Err(e) = canceller.cancel_query(NoTls).await {
        tracing::warn!(error = %e, "could not send a cancel request to the data source");
    }
}

/// The statements run at the start of the query's transaction: time limit, schema and custom
/// settings, as one `SELECT`. Being a query, it also takes the transaction's snapshot, after
/// which `SET TRANSACTION READ WRITE` is refused: the user's statement cannot undo read-only.
fn setup_sql(
    timeout: Duration,
    settings: &[(String, String)],
    search_path: Option<&str>,
) -> Result<String, SourceError> {
    let millis = timeout.as_millis().clamp(1, i32::MAX as u128);
    let mut sql = format!("SELECT set_config('statement_timeout', '{millis}', true)");
    if let Some(schema) = search_path {
        // One schema, as a quoted identifier: `a, b` or `$user` are names, not lists.
        let path = format!("\"{}\"", schema.replace('"', "\"\""));
        let _ = write!(
            sql,
            ", set_config('search_path', {}, true)",
            literal(&path)?
        );
    }
    for (name, value) in settings {
        if !is_custom_setting_name(name) {
            return Err(SourceError::InvalidArgument(format!(
                "session setting name {name:?} must be a dotted identifier such as \
                 app.tenant_id"
            )));
        }
        let _ = write!(sql, ", set_config('{name}', {}, true)", literal(value)?);
    }
    Ok(sql)
}

/// A string literal that reads the same whatever `standard_conforming_strings` says.
fn literal(value: &str) -> Result<String, SourceError> {
    if value.contains('\0') {
        return Err(SourceError::InvalidArgument(
            "a session setting or schema name contains a NUL character".into(),
        ));
    }
    Ok(format!(
        "E'{}'",
        value.replace('\\', "\\\\").replace('\'', "''")
    ))
}

/// `app.tenant_id`: two or more identifiers joined by dots. Built-in settings have no dot,
/// so a caller cannot reach `statement_timeout`, `role` or `transaction_read_only` this way.
fn is_custom_setting_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 2
        && name.len() <= 63
        && parts.iter().all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A read in one round trip when the connection has the statement prepared, two otherwise,
/// where a plain transaction takes six. The client sends requests in the order they are first
/// polled and the server answers them in that order, so the steps are pipelined: `BEGIN READ
/// ONLY` with the setup query, the statement's Bind/Execute, and the `ROLLBACK` go out
/// together ([`read_kept`]); a statement not yet prepared has its Parse/Describe sent with
/// the `BEGIN` and its Bind/Execute with the `ROLLBACK` ([`read_fresh`]).
///
/// From `BEGIN` until the `ROLLBACK` is answered the connection counts as broken, so a read
/// that ends any other way (a panic, a future dropped half-way) closes the connection instead
/// of handing an open transaction, with this caller's session settings, to the next user of
/// the pool.
///
/// Rows are fetched up to `max_rows + 1` (the extra one tells that the result was truncated);
/// rows beyond it are discarded as they arrive. Every query reaching here is already capped
/// by a `LIMIT` (`sql::limit`), so the server does not produce many more.
async fn run_read(
    conn: &mut PgConn,
    sql: &str,
    setup: &str,
    max_rows: usize,
) -> Result<ResultSet, SourceError> {
    let started = std::time::Instant::now();
    let begin = format!("BEGIN READ ONLY; {setup}");
    let (statement, rows, truncated) = match conn.statements.get(sql).cloned() {
        Some(kept) => match read_kept(conn, &begin, &kept, max_rows).await {
            Err(e) if kept_statement_invalid(&e) => {
                // The tables changed shape since it was prepared (or it was deallocated):
                // prepare it afresh.
                conn.statements.remove(sql);
                read_fresh(conn, &begin, sql, max_rows).await?
            }
            fetched => {
                let (rows, truncated) = fetched.map_err(pg_error)?;
                (kept, rows, truncated)
            }
        },
        None => read_fresh(conn, &begin, sql, max_rows).await?,
    };
    let execution_time_ms = started.elapsed().as_secs_f64() * 1000.0;
    let values = decode_rows(&statement, &rows, async |missing| {
        // The rare values only the server can turn into text: in a read-only transaction
        // of their own, the query's being closed.
        let txn = conn
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .ok()?;
        server_texts(&txn, missing).await
    })
    .await?;
    Ok(ResultSet {
        columns: column_metas(&statement),
        rows: values,
        truncated,
        rows_affected: None,
        execution_time_ms,
    })
}

/// A read of a statement the connection has prepared: one round trip.
async fn read_kept(
    conn: &mut PgConn,
    begin: &str,
    statement: &Statement,
    max_rows: usize,
) -> Result<(Vec<Row>, bool), tokio_postgres::Error> {
    conn.broken = true;
    let client = &conn.client;
    let (begun, fetched, ended) = tokio::join!(
        client.batch_execute(begin),
        fetch(client, statement, max_rows),
        client.batch_execute("ROLLBACK")
    );
    ended?;
    conn.broken = false;
    // A failed setup aborts the transaction and with it the statement: report the cause.
    begun.and(fetched)
}

/// A read that prepares its statement (two round trips) and keeps it for the next time.
async fn read_fresh(
    conn: &mut PgConn,
    begin: &str,
    sql: &str,
    max_rows: usize,
) -> Result<(Statement, Vec<Row>, bool), SourceError> {
    conn.broken = true;
    let client = &conn.client;
    let (begun, prepared) = tokio::join!(client.batch_execute(begin), client.prepare(sql));
    let statement = match begun.and(prepared) {
        Ok(statement) => statement,
        Err(e) => {
            let ended = client.batch_execute("ROLLBACK").await;
            conn.broken = ended.is_err();
            return Err(pg_error(e));
        }
    };
    let (fetched, ended) = tokio::join!(
        fetch(client, &statement, max_rows),
        client.batch_execute("ROLLBACK")
    );
    ended.map_err(pg_error)?;
    conn.broken = false;
    let (rows, truncated) = fetched.map_err(pg_error)?;
    if conn.statements.len() >= KEPT_STATEMENTS
        && let Some(evicted) = conn.statements.keys().next().cloned()
    {
        // Any one: dropping a Statement closes it at the server.
        conn.statements.remove(&evicted);
    }
    conn.statements.insert(sql.to_owned(), statement.clone());
    Ok((statement, rows, truncated))
}

/// The server no longer runs a kept statement as prepared: its result columns would change
/// (a table altered since), or it is gone (`DEALLOCATE`).
fn kept_statement_invalid(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        (*code == SqlState::FEATURE_NOT_SUPPORTED
            && e.as_db_error()
                .is_some_and(|db| db.message().contains("cached plan")))
            || *code == SqlState::INVALID_SQL_STATEMENT_NAME
    })
}

/// At most `max_rows` rows of a prepared statement, and whether more followed.
async fn fetch(
    client: &Client,
    statement: &Statement,
    max_rows: usize,
) -> Result<(Vec<Row>, bool), tokio_postgres::Error> {
    let no_params: [&(dyn ToSql + Sync); 0] = [];
    let stream = client.query_raw(statement, no_params).await?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        if rows.len() == max_rows {
            return Ok((rows, true));
        }
        rows.push(row);
    }
    Ok((rows, false))
}

/// A statement that may write, in a transaction committed at the end.
async fn run_write(
    client: &mut Client,
    sql: &str,
    setup: &str,
    max_rows: usize,
) -> Result<ResultSet, SourceError> {
    let started = std::time::Instant::now();
    let mut txn = client.transaction().await.map_err(pg_error)?;
    txn.batch_execute(setup).await.map_err(pg_error)?;
    let statement = txn.prepare(sql).await.map_err(pg_error)?;
    // A portal executes only as far as the rows asked for: the server stops producing rows
    // after max_rows + 1 (the extra one tells that the result was truncated).
    let portal = txn.bind(&statement, &[]).await.map_err(pg_error)?;
    let limit = i32::try_from(max_rows.saturating_add(1)).unwrap_or(i32::MAX);
    let stream = txn
        .query_portal_raw(&portal, limit)
        .await
        .map_err(pg_error)?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await.map_err(pg_error)? {
        rows.push(row);
    }
    let rows_affected = stream.rows_affected();
    let truncated = rows.len() > max_rows;
    rows.truncate(max_rows);
    let execution_time_ms = started.elapsed().as_secs_f64() * 1000.0;
    let values = decode_rows(&statement, &rows, async |missing| {
        // Inside a savepoint, so that a failure leaves the statement's transaction, about to
        // commit, intact.
        let savepoint = txn.savepoint("vizier_text").await.ok()?;
        let texts = server_texts(&savepoint, missing).await;
        let _ = if texts.is_some() {
            savepoint.commit().await
        } else {
            savepoint.rollback().await
        };
        texts
    })
    .await?;
    drop(portal);
    txn.commit().await.map_err(pg_error)?;
    // A committed SET would outlive the query on this pooled connection.
    client.batch_execute("RESET ALL").await.map_err(pg_error)?;
    Ok(ResultSet {
        columns: column_metas(&statement),
        rows: values,
        truncated,
        rows_affected,
        execution_time_ms,
    })
}

fn column_metas(statement: &Statement) -> Vec<ColumnMeta> {
    statement
        .columns()
        .iter()
        .map(|column| ColumnMeta {
            name: column.name().to_owned(),
            data_type: type_label(column.type_()),
            is_nullable: None,
            is_temporal: is_temporal_type(column.type_()),
        })
        .collect()
}

fn type_label(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(member) => format!("{}[]", member.name()),
        _ => ty.name().to_owned(),
    }
}

fn is_temporal_oid(oid: u32) -> bool {
    matches!(
        oid,
        oid::DATE | oid::TIME | oid::TIMETZ | oid::TIMESTAMP | oid::TIMESTAMPTZ
    )
}

fn is_temporal_type(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(base) => is_temporal_type(base),
        _ => is_temporal_oid(ty.oid()),
    }
}

/// A database message for users: the message, the SQLSTATE, and detail and hint when the
/// server gave them.
fn pg_error(e: tokio_postgres::Error) -> SourceError {
    let Some(db) = e.as_db_error() else {
        if e.is_closed() {
            return SourceError::Connect("the connection to the database was lost".into());
        }
        return SourceError::Sql(e.to_string());
    };
    let mut message = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    if let Some(detail) = db.detail() {
        let _ = write!(message, "; detail: {detail}");
    }
    if let Some(hint) = db.hint() {
        let _ = write!(message, "; hint: {hint}");
    }
    match db.code() {
        c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => SourceError::ReadOnlyViolation(message),
        c if *c == SqlState::QUERY_CANCELED => {
            if db.message().contains("statement timeout") {
                SourceError::Timeout
            } else {
                SourceError::Cancelled
            }
        }
        _ => SourceError::Sql(message),
    }
}

fn connect_error(e: tokio_postgres::Error) -> SourceError {
    SourceError::Connect(connect_message(&e))
}

fn connect_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Any value's raw binary form (`None` for NULL).
struct RawValue<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Self(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Self(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A parameter sent as given, in the binary form of whatever type the statement declares.
#[derive(Debug)]
struct RawParam<'a>(&'a [u8]);

impl ToSql for RawParam<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Decodes all rows; when some values have types not decoded here, asks `server_texts` for
/// their text form (None when it could not: those values are kept as base64) and decodes
/// again with the answers.
async fn decode_rows(
    statement: &Statement,
    rows: &[Row],
    server_texts: impl AsyncFnOnce(&[(Type, Vec<u8>)]) -> Option<Vec<Option<String>>>,
) -> Result<Vec<Vec<Value>>, SourceError> {
    let mut decoder = Decoder::default();
    let first = decoder.rows(statement, rows)?;
    if decoder.missing.is_empty() {
        return Ok(first);
    }
    let missing = std::mem::take(&mut decoder.missing);
    let texts = server_texts(&missing).await;
    decoder.absorb(missing, texts);
    decoder.rows(statement, rows)
}

#[derive(Default)]
struct Decoder {
    /// Text forms obtained from the server, by (type OID, binary value).
    resolved: HashMap<(u32, Vec<u8>), Value>,
    /// Values still to convert, without duplicates.
    missing: Vec<(Type, Vec<u8>)>,
    pending: HashSet<(u32, Vec<u8>)>,
}

impl Decoder {
    fn rows(
        &mut self,
        statement: &Statement,
        rows: &[Row],
    ) -> Result<Vec<Vec<Value>>, SourceError> {
        let columns = statement.columns();
        rows.iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, column)| {
                        let raw: RawValue<'_> = row.try_get(i).map_err(pg_error)?;
                        Ok(self.value(column.type_(), raw.0))
                    })
                    .collect()
            })
            .collect()
    }

    fn value(&mut self, ty: &Type, raw: Option<&[u8]>) -> Value {
        let Some(raw) = raw else {
            return Value::Null;
        };
        match self.native(ty, raw) {
            Some(value) => value,
            None => self.server_text(ty, raw),
        }
    }

    /// The value decoded here, or `None` for a type (or an out-of-range value) left to the
    /// server.
    fn native(&mut self, ty: &Type, raw: &[u8]) -> Option<Value> {
        match ty.kind() {
            Kind::Enum(_) => return Some(text_or_base64(raw)),
            Kind::Domain(base) => return self.native(base, raw),
            Kind::Array(member) => return self.array(member, raw),
            Kind::Composite(fields) => {
                let fields: Vec<(String, Type)> = fields
                    .iter()
                    .map(|f| (f.name().to_owned(), f.type_().clone()))
                    .collect();
                return self.composite(Some(&fields), raw);
            }
            Kind::Range(_) | Kind::Multirange(_) => return None,
            _ => {}
        }
        let mut r = Reader(raw);
        let value = match ty.oid() {
            oid::BOOL => Value::Bool(r.take(1)?.first() != Some(&0)),
            oid::INT2 => Value::from(i16::from_be_bytes(r.array()?)),
            oid::INT4 => Value::from(i32::from_be_bytes(r.array()?)),
            oid::INT8 => Value::from(i64::from_be_bytes(r.array()?)),
            oid::OID => Value::from(u32::from_be_bytes(r.array()?)),
            oid::FLOAT4 => f32_json(f32::from_be_bytes(r.array()?)),
            oid::FLOAT8 => f64_json(f64::from_be_bytes(r.array()?)),
            oid::NUMERIC => decimal_json(&numeric_text(raw)?),
            oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::NAME
            | oid::UNKNOWN
            | oid::XML
            | oid::CHAR => text_or_base64(raw),
            oid::BYTEA => bytes_json(raw),
            oid::UUID => Value::String(uuid::Uuid::from_slice(raw).ok()?.to_string()),
            oid::JSON => serde_json::from_slice(raw).ok()?,
            oid::JSONB => match raw.split_first() {
                Some((1, json)) => serde_json::from_slice(json).ok()?,
                _ => return None,
            },
            oid::DATE => Value::String(date_text(i32::from_be_bytes(r.array()?))?),
            oid::TIMESTAMP => Value::String(timestamp_text(i64::from_be_bytes(r.array()?), "")?),
            oid::TIMESTAMPTZ => Value::String(timestamp_text(i64::from_be_bytes(r.array()?), "Z")?),
            oid::TIME => Value::String(clock(u64::try_from(i64::from_be_bytes(r.array()?)).ok()?)),
            oid::TIMETZ => {
                let micros = u64::try_from(i64::from_be_bytes(r.array()?)).ok()?;
                // Stored as seconds west of UTC; ISO-8601 writes the offset east.
                let west = i32::from_be_bytes(r.array()?);
                Value::String(format!("{}{}", clock(micros), offset_text(-west)))
            }
            oid::INTERVAL => {
                let micros = i64::from_be_bytes(r.array()?);
                let days = i32::from_be_bytes(r.array()?);
                let months = i32::from_be_bytes(r.array()?);
                Value::String(interval_text(micros, days, months))
            }
            oid::RECORD => return self.composite(None, raw),
            oid::VOID => Value::Null,
            _ => return None,
        };
        Some(value)
    }

    /// Arrays as nested JSON arrays (lower bounds other than 1 are not kept).
    fn array(&mut self, member: &Type, raw: &[u8]) -> Option<Value> {
        let mut r = Reader(raw);
        let ndim = usize::try_from(i32::from_be_bytes(r.array()?)).ok()?;
        let _has_nulls = r.array::<4>()?;
        let _member_oid = r.array::<4>()?;
        if ndim == 0 {
            return Some(Value::Array(Vec::new()));
        }
        let mut dims = Vec::with_capacity(ndim.min(6));
        for _ in 0..ndim {
            dims.push(usize::try_from(i32::from_be_bytes(r.array()?)).ok()?);
            let _lower_bound = r.array::<4>()?;
        }
        let total = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
        // Each element takes at least its 4-byte length: a larger count is corrupt.
        if total > raw.len() / 4 {
            return None;
        }
        let mut level = Vec::with_capacity(total);
        for _ in 0..total {
            let element = r.element()?;
            level.push(self.value(member, element));
        }
        for &d in dims.iter().skip(1).rev() {
            let mut items = level.into_iter();
            let mut grouped = Vec::new();
            loop {
                let chunk: Vec<Value> = items.by_ref().take(d).collect();
                if chunk.is_empty() {
                    break;
                }
                grouped.push(Value::Array(chunk));
            }
            level = grouped;
        }
        Some(Value::Array(level))
    }

    /// A named composite as a JSON object; an anonymous record (`ROW(...)`) as an array.
    fn composite(&mut self, fields: Option<&[(String, Type)]>, raw: &[u8]) -> Option<Value> {
        let mut r = Reader(raw);
        let count = usize::try_from(i32::from_be_bytes(r.array()?)).ok()?;
        let mut object = Map::new();
        let mut items = Vec::new();
        for i in 0..count {
            let field_oid = u32::from_be_bytes(r.array()?);
            let element = r.element()?;
            match fields {
                Some(fields) => {
                    let (name, ty) = fields.get(i)?;
                    object.insert(name.clone(), self.value(ty, element));
                }
                None => {
                    let ty = Type::from_oid(field_oid).unwrap_or_else(|| {
                        Type::new(
                            format!("oid{field_oid}"),
                            field_oid,
                            Kind::Simple,
                            String::new(),
                        )
                    });
                    items.push(self.value(&ty, element));
                }
            }
        }
        Some(match fields {
            Some(_) => Value::Object(object),
            None => Value::Array(items),
        })
    }

    /// The server's text form if already fetched; else the value is queued for
    /// the server (see [`decode_rows`]) and NULL stands in until the second pass.
    fn server_text(&mut self, ty: &Type, raw: &[u8]) -> Value {
        let key = (ty.oid(), raw.to_vec());
        if let Some(value) = self.resolved.get(&key) {
            return value.clone();
        }
        if self.pending.insert(key) {
            self.missing.push((ty.clone(), raw.to_vec()));
        }
        Value::Null
    }

    /// Takes the server's text forms of the queued values (by position; the bytes as base64
    /// where there is none).
    fn absorb(&mut self, missing: Vec<(Type, Vec<u8>)>, texts: Option<Vec<Option<String>>>) {
        for (i, (ty, raw)) in missing.into_iter().enumerate() {
            let value = match texts.as_ref().and_then(|t| t.get(i)) {
                Some(Some(text)) => Value::String(text.clone()),
                Some(None) => Value::Null,
                None => bytes_json(&raw),
            };
            self.resolved.insert((ty.oid(), raw), value);
        }
    }
}

/// Converts values with `SELECT format('%s', $1)`, sending each back in its own binary form.
async fn server_texts(
    txn: &Transaction<'_>,
    values: &[(Type, Vec<u8>)],
) -> Option<Vec<Option<String>>> {
    let mut statements: HashMap<u32, Statement> = HashMap::new();
    for (ty, _) in values {
        if let std::collections::hash_map::Entry::Vacant(slot) = statements.entry(ty.oid()) {
            let statement = txn
                .prepare_typed("SELECT format('%s', $1)", std::slice::from_ref(ty))
                .await
                .ok()?;
            slot.insert(statement);
        }
    }
    // Issued together: the client pipelines them in one round trip.
    let queries = values.iter().map(|(ty, raw)| {
        let statement = statements.get(&ty.oid());
        async move {
            let statement = statement.ok_or(())?;
            let row = txn
                .query_one(statement, &[&RawParam(raw)])
                .await
                .map_err(|_| ())?;
            row.try_get::<_, Option<String>>(0).map_err(|_| ())
        }
    });
    futures::future::try_join_all(queries).await.ok()
}

/// A cursor over a binary value.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A length-prefixed element of an array or composite (length -1: NULL).
    fn element(&mut self) -> Option<Option<&'a [u8]>> {
        let len = i32::from_be_bytes(self.array()?);
        if len < 0 {
            return Some(None);
        }
        self.take(usize::try_from(len).ok()?).map(Some)
    }
}

/// NUMERIC's text form from its binary one (base-10000 digits, weight, sign, display
/// scale), exactly as PostgreSQL prints it, whatever the precision.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let ndigits = usize::from(u16::from_be_bytes(r.array()?));
    let weight = i64::from(i16::from_be_bytes(r.array()?));
    let sign = u16::from_be_bytes(r.array()?);
    let dscale = usize::from(u16::from_be_bytes(r.array()?));
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return None,
    }
    let mut digits = Vec::with_capacity(ndigits);
    for _ in 0..ndigits {
        let d = u16::from_be_bytes(r.array()?);
        if d >= 10_000 {
            return None;
        }
        digits.push(d);
    }
    // Digit i is worth digits[i] * 10000^(weight - i).
    let digit = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                let _ = write!(out, "{}", digit(i));
            } else {
                let _ = write!(out, "{:04}", digit(i));
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit(i));
            i += 1;
        }
        frac.truncate(dscale);
        out.push('.');
        out.push_str(&frac);
    }
    Some(out)
}

fn epoch_2000() -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)
}

/// Dates outside years 1-9999 are left to the server (`None`), which writes them its way
/// (`0044-03-15 BC`).
fn date_text(days: i32) -> Option<String> {
    match days {
        i32::MAX => return Some("infinity".into()),
        i32::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let date = epoch_2000()?
        .date()
        .checked_add_signed(chrono::Duration::days(i64::from(days)))?;
    in_common_era(date).then(|| {
        let mut out = String::with_capacity(10);
        write_date(&mut out, date);
        out
    })
}

/// `YYYY-MM-DD` for a year in 1..=9999, written directly: chrono's `format` parses its pattern
/// on every call, which showed in profiles of results with many timestamps.
fn write_date(out: &mut String, date: NaiveDate) {
    use chrono::Datelike as _;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    );
}

fn timestamp_text(micros: i64, zone: &str) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let at = epoch_2000()?.checked_add_signed(chrono::Duration::microseconds(micros))?;
    in_common_era(at.date()).then(|| {
        let mut out = String::with_capacity(32);
        write_date(&mut out, at.date());
        let _ = write!(
            out,
            "T{:02}:{:02}:{:02}{}{zone}",
            at.hour(),
            at.minute(),
            at.second(),
            fraction(at.nanosecond() / 1000)
        );
        out
    })
}

fn in_common_era(date: NaiveDate) -> bool {
    use chrono::Datelike as _;
    (1..=9999).contains(&date.year())
}

/// `+02:00`, `-05:30`, `+05:30:15` from seconds east of UTC.
fn offset_text(east: i32) -> String {
    let sign = if east < 0 { '-' } else { '+' };
    let s = east.unsigned_abs();
    let mut out = format!("{sign}{:02}:{:02}", s / 3600, s / 60 % 60);
    if !s.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", s % 60);
    }
    out
}

/// An interval in PostgreSQL's default output style (`1 year 2 mons 3 days 04:05:06.5`,
/// `-1 days +02:00:00`), as the server would print it.
fn interval_text(micros: i64, days: i32, months: i32) -> String {
    let mut out = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        let _ = write!(
            out,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(i64::from(months / 12), "year");
    part(i64::from(months % 12), "mon");
    part(i64::from(days), "day");
    if is_zero || micros != 0 {
        let minus = micros < 0;
        let abs = micros.unsigned_abs();
        let _ = write!(
            out,
            "{}{}{}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            clock(abs)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::conformance::{Postgres, TestEngine, run, select};
    use super::super::{QueryOptions, SourceConfig, SourceError, SourcePool, test_suffix};
    use super::*;
    use serde_json::json;

    /// A pool on the test server; None when it is not configured (outside CI).
    async fn pool(pool_size: u32, allow_dml: bool, exposed: Vec<String>) -> Option<SourcePool> {
        Some(
            Postgres::source()?
                .pool(pool_size, allow_dml, exposed)
                .await,
        )
    }

    #[test]
    fn dates_and_timestamps_read_as_chrono_prints_them() {
        let epoch = epoch_2000().unwrap();
        let day = 86_400_000_000_i64;
        // From 0001-01-01 to 9999-12-31, with and without fractions.
        for micros in [
            0,
            1,
            -1,
            1_500_000,
            123_456_789_012,
            -730_119 * day,
            -730_119 * day - 1,
            2_921_939 * day + day - 1,
            2_921_940 * day,
            7 * day + 3_600_000_000 * 13 + 250_000,
        ] {
            let expected = epoch
                .checked_add_signed(chrono::Duration::microseconds(micros))
                .filter(|at| in_common_era(at.date()))
                .map(|at| {
                    format!(
                        "{}{}Z",
                        at.format("%Y-%m-%dT%H:%M:%S"),
                        fraction(at.nanosecond() / 1000)
                    )
                });
            assert_eq!(timestamp_text(micros, "Z"), expected, "{micros}");
            let days = i32::try_from(micros.div_euclid(day)).unwrap();
            let expected = epoch
                .date()
                .checked_add_signed(chrono::Duration::days(i64::from(days)))
                .filter(|d| in_common_era(*d))
                .map(|d| d.format("%Y-%m-%d").to_string());
            assert_eq!(date_text(days), expected, "{days}");
        }
        assert_eq!(
            timestamp_text(0, "").as_deref(),
            Some("2000-01-01T00:00:00")
        );
        assert_eq!(date_text(-730_119).as_deref(), Some("0001-01-01"));
    }

    #[test]
    fn binary_formats() {
        // 1234567890123456789012345678.0123456789: weight 6 (seven integer groups), ten
        // base-10000 digits, dscale 10.
        let mut raw = vec![];
        for v in [10u16, 6, 0, 10] {
            raw.extend(v.to_be_bytes());
        }
        for d in [1234u16, 5678, 9012, 3456, 7890, 1234, 5678, 123, 4567, 8900] {
            raw.extend(d.to_be_bytes());
        }
        assert_eq!(
            numeric_text(&raw).unwrap(),
            "1234567890123456789012345678.0123456789"
        );
        // 0.000012 with dscale 6: weight -2, digits [1200].
        let mut raw = vec![];
        for v in [1u16, 0xFFFE, 0x4000, 6, 1200] {
            raw.extend(v.to_be_bytes());
        }
        assert_eq!(numeric_text(&raw).unwrap(), "-0.000012");
        assert_eq!(interval_text(-3_600_000_000, 1, 0), "1 day -01:00:00");
        assert_eq!(interval_text(0, 3, -14), "-1 years -2 mons +3 days");
        assert_eq!(interval_text(-1, 0, 0), "-00:00:00.000001");
        assert_eq!(interval_text(0, 0, 0), "00:00:00");
        assert_eq!(offset_text(-19_800), "-05:30");
        assert!(is_custom_setting_name("app.tenant_id"));
        assert!(!is_custom_setting_name("statement_timeout"));
        assert!(!is_custom_setting_name("app.x'; drop"));
    }

    #[tokio::test]
    async fn maps_every_common_type() {
        let Some(pool) = pool(2, true, vec![]).await else {
            return;
        };
        let s = format!("vz_types_{}", test_suffix());
        run(
            &pool,
            &format!(
                "DO $$ BEGIN \
                 CREATE SCHEMA {s}; \
                 CREATE TYPE {s}.mood AS ENUM ('sad', 'happy'); \
                 CREATE DOMAIN {s}.posint AS integer CHECK (VALUE > 0); \
                 CREATE TYPE {s}.pair AS (a int, b text); \
                 CREATE TABLE {s}.t ( \
                   id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, f4 real, \
                   f8 double precision, n numeric(38,10), nf numeric, b boolean, t text, \
                   vc varchar(20), ch char(3), d date, tm time, ttz timetz, ts timestamp, \
                   tstz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea, \
                   ai int[], at text[][], m {s}.mood, p {s}.posint, c {s}.pair, \
                   inet inet, r int4range, mo money, bits bit(4)); \
                 END $$"
            ),
        )
        .await
        .unwrap();
        run(
            &pool,
            &format!(
                "INSERT INTO {s}.t VALUES \
                 (1, -32768, 2147483647, 9223372036854775807, 0.1, 1.5, \
                  1234567890123456789012345678.0123456789, 123.4500, true, 'héllo', 'v', 'ab', \
                  '2024-01-02', '03:04:05.5', '03:04:05+05:30', '2024-01-02 03:04:05', \
                  '2024-01-02 03:04:05.123+02', '1 year 2 mons 3 days 04:05:06.5', \
                  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{\"k\": [1, 2.5, null]}}', \
                  '{{\"b\": true}}', '\\x00ff10', '{{1,NULL,3}}', '{{{{a,b}},{{c,d}}}}', 'happy', \
                  7, ROW(1, 'x'), '192.168.0.1/24', '[1,5)', 12.34, B'1010'), \
                 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                  NULL, NULL, NULL, NULL, NULL), \
                 (3, 0, -1, -9223372036854775808, 'NaN', '-Infinity', -0.0000000001, 'NaN', \
                  false, '', '', '', 'infinity', '24:00:00', '00:00:00-01', '-infinity', \
                  '1999-12-31 23:59:59.999999+00', '-1 days', \
                  '00000000-0000-0000-0000-000000000000', '[]', 'null', '', '{{}}', '{{}}', \
                  'sad', 1, ROW(NULL, NULL), '::1', 'empty', 0, B'0000')"
            ),
        )
        .await
        .unwrap();

        let rs = select(&pool, &format!("SELECT * FROM {s}.t ORDER BY id")).await;
        assert_eq!(
            rs.rows[0],
            vec![
                json!(1),
                json!(-32768),
                json!(2147483647),
                json!(9223372036854775807_i64),
                json!(0.1),
                json!(1.5),
                json!("1234567890123456789012345678.0123456789"),
                json!(123.45),
                json!(true),
                json!("héllo"),
                json!("v"),
                json!("ab "),
                json!("2024-01-02"),
                json!("03:04:05.5"),
                json!("03:04:05+05:30"),
                json!("2024-01-02T03:04:05"),
                json!("2024-01-02T01:04:05.123Z"),
                json!("1 year 2 mons 3 days 04:05:06.5"),
                json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                json!({"k": [1, 2.5, null]}),
                json!({"b": true}),
                json!("AP8Q"),
                json!([1, null, 3]),
                json!([["a", "b"], ["c", "d"]]),
                json!("happy"),
                json!(7),
                json!({"a": 1, "b": "x"}),
                json!("192.168.0.1/24"),
                json!("[1,5)"),
                json!("$12.34"),
                json!("1010"),
            ]
        );
        assert_eq!(rs.rows[1][0], json!(2));
        assert!(
            rs.rows[1][1..].iter().all(Value::is_null),
            "{:?}",
            rs.rows[1]
        );
        assert_eq!(
            rs.rows[2],
            vec![
                json!(3),
                json!(0),
                json!(-1),
                json!(-9223372036854775808_i64),
                json!("NaN"),
                json!("-Infinity"),
                json!(-0.0000000001),
                json!("NaN"),
                json!(false),
                json!(""),
                json!(""),
                json!("   "),
                json!("infinity"),
                json!("24:00:00"),
                json!("00:00:00-01:00"),
                json!("-infinity"),
                json!("1999-12-31T23:59:59.999999Z"),
                json!("-1 days"),
                json!("00000000-0000-0000-0000-000000000000"),
                json!([]),
                json!(null),
                json!(""),
                json!([]),
                json!([]),
                json!("sad"),
                json!(1),
                json!({"a": null, "b": null}),
                json!("::1"),
                json!("empty"),
                json!("$0.00"),
                json!("0000"),
            ]
        );
        let types: Vec<(&str, &str, bool)> = rs
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str(), c.is_temporal))
            .collect();
        assert_eq!(types[6], ("n", "numeric", false));
        assert_eq!(types[16], ("tstz", "timestamptz", true));
        assert_eq!(types[22], ("ai", "int4[]", false));
        assert_eq!(types[24], ("m", "mood", false));

        // Values computed by the query, and values the server converts to text.
        let rs = select(
            &pool,
            "SELECT 1::numeric / 3 AS third, interval '-1 day 2 hours' AS iv, \
                    '2020-02-29'::date - 1 AS d, ROW(1, 'a') AS rec, \
                    ARRAY['1 day'::interval] AS ivs, '0044-03-15 BC'::date AS bc, \
                    'x'::\"char\" AS c, pg_sleep(0) AS v",
        )
        .await;
        assert_eq!(
            rs.rows[0],
            vec![
                json!("0.33333333333333333333"),
                json!("-1 days +02:00:00"),
                json!("2020-02-28"),
                json!([1, "a"]),
                json!(["1 day"]),
                json!("0044-03-15 BC"),
                json!("x"),
                json!(null),
            ]
        );
        run(&pool, &format!("DROP SCHEMA {s} CASCADE"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn lists_and_describes_tables_and_views() {
        let s = format!("vz_meta_{}", test_suffix());
        let Some(dml) = pool(1, true, vec![]).await else {
            return;
        };
        run(
            &dml,
            &format!(
                "DO $$ BEGIN CREATE SCHEMA {s}; \
                 CREATE TABLE {s}.orders (id bigint NOT NULL, placed_at timestamptz, \
                   amount numeric(12,2), note varchar(40)); \
                 CREATE VIEW {s}.big_orders AS SELECT id, amount FROM {s}.orders \
                   WHERE amount > 100; END $$"
            ),
        )
        .await
        .unwrap();

        let Some(exposed) = pool(1, false, vec![s.clone()]).await else {
            return;
        };
        let tables = exposed.list_tables(None).await.unwrap();
        assert_eq!(
            tables,
            vec![
                TableRef {
                    schema: Some(s.clone()),
                    name: "big_orders".into(),
                    kind: "view"
                },
                TableRef {
                    schema: Some(s.clone()),
                    name: "orders".into(),
                    kind: "table"
                },
            ]
        );
        assert!(
            exposed
                .list_tables(Some("public"))
                .await
                .unwrap()
                .is_empty()
        );
        let all = dml.list_tables(Some(&s)).await.unwrap();
        assert_eq!(all.len(), 2);

        let columns = exposed.describe_table(Some(&s), "orders").await.unwrap();
        assert_eq!(
            columns,
            vec![
                ColumnMeta {
                    name: "id".into(),
                    data_type: "bigint".into(),
                    is_nullable: Some(false),
                    is_temporal: false
                },
                ColumnMeta {
                    name: "placed_at".into(),
                    data_type: "timestamp with time zone".into(),
                    is_nullable: Some(true),
                    is_temporal: true
                },
                ColumnMeta {
                    name: "amount".into(),
                    data_type: "numeric(12,2)".into(),
                    is_nullable: Some(true),
                    is_temporal: false
                },
                ColumnMeta {
                    name: "note".into(),
                    data_type: "character varying(40)".into(),
                    is_nullable: Some(true),
                    is_temporal: false
                },
            ]
        );
        let view = exposed
            .describe_table(Some(&s), "big_orders")
            .await
            .unwrap();
        assert_eq!(view.len(), 2);
        assert_eq!(view[1].is_nullable, None);

        for missing in [
            exposed.describe_table(Some(&s), "nope").await,
            exposed.describe_table(None, "orders").await,
            exposed.describe_table(Some("pg_catalog"), "pg_class").await,
        ] {
            assert!(
                matches!(missing, Err(SourceError::NotFound(_))),
                "{missing:?}"
            );
        }

        let described = exposed
            .describe_query(&format!(
                "SELECT id, placed_at::date AS day, amount * 2 AS twice FROM {s}.orders"
            ))
            .await
            .unwrap();
        let names: Vec<(&str, &str, bool)> = described
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str(), c.is_temporal))
            .collect();
        assert_eq!(
            names,
            vec![
                ("id", "int8", false),
                ("day", "date", true),
                ("twice", "numeric", false)
            ]
        );
        let bad = exposed.describe_query("SELECT nope FROM nowhere").await;
        assert!(
            matches!(&bad, Err(SourceError::Sql(m)) if m.contains("nowhere") && m.contains("42P01")),
            "{bad:?}"
        );
        run(&dml, &format!("DROP SCHEMA {s} CASCADE"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn session_settings_apply_to_the_query_only() {
        let Some(pool) = pool(1, false, vec![]).await else {
            return;
        };
        let opts = QueryOptions {
            session_settings: vec![("app.tenant_id".into(), "o'brien\\42".into())],
            ..QueryOptions::default()
        };
        let sql = "SELECT current_setting('app.tenant_id', true) AS t";
        let rs = pool
            .query(sql, opts, CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(rs.rows, vec![vec![json!("o'brien\\42")]]);
        // Not left behind on the pooled connection.
        let rs = select(&pool, sql).await;
        assert!(matches!(rs.rows[0][0], Value::Null) || rs.rows[0][0] == json!(""));
        let bad = QueryOptions {
            session_settings: vec![("statement_timeout".into(), "0".into())],
            ..QueryOptions::default()
        };
        let err = pool.query(sql, bad, CancellationToken::new()).await;
        assert!(
            matches!(err, Err(SourceError::InvalidArgument(_))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_read_leaves_no_transaction_behind() {
        let Some(pool) = pool(1, false, vec![]).await else {
            return;
        };
        let opts = QueryOptions {
            session_settings: vec![("app.tenant_id".into(), "acme".into())],
            ..QueryOptions::default()
        };
        // Refused at Parse (first round trip), then at execution (second round trip).
        for (sql, expected) in [
            ("SELEC 1", "syntax error"),
            (
                "SELECT 1 / (current_setting('app.tenant_id') = 'x')::int",
                "division by zero",
            ),
        ] {
            let err = pool
                .query(sql, opts.clone(), CancellationToken::new())
                .await;
            assert!(
                matches!(&err, Err(SourceError::Sql(m)) if m.contains(expected)),
                "{sql}: {err:?}"
            );
            // The one pooled connection is out of that transaction: a leftover one would
            // still carry the caller's setting.
            let rs = select(&pool, "SELECT current_setting('app.tenant_id', true)").await;
            assert!(
                rs.rows[0][0].is_null() || rs.rows[0][0] == json!(""),
                "{:?}",
                rs.rows
            );
        }
    }

    /// A writing and a read-only pool of one connection each, and a new table `public.NAME`
    /// holding one row (`x` = 1), NAME being returned.
    async fn one_row_table(prefix: &str) -> Option<(SourcePool, SourcePool, String)> {
        let (dml, ro) = (pool(1, true, vec![]).await?, pool(1, false, vec![]).await?);
        let name = format!("{prefix}_{}", test_suffix());
        run(
            &dml,
            &format!("CREATE TABLE public.{name} AS SELECT 1 AS x"),
        )
        .await
        .unwrap();
        Some((dml, ro, name))
    }

    #[tokio::test]
    async fn kept_statements_are_reused_and_follow_table_changes() {
        let Some((dml, ro, s)) = one_row_table("vz_kept").await else {
            return;
        };
        let sql = format!("SELECT * FROM public.{s}");
        for _ in 0..2 {
            assert_eq!(select(&ro, &sql).await.rows, vec![vec![json!(1)]]);
        }
        // Prepared once on the pool's one connection and kept.
        let kept = select(
            &ro,
            &format!("SELECT count(*) FROM pg_prepared_statements WHERE statement = '{sql}'"),
        )
        .await;
        assert_eq!(kept.rows, vec![vec![json!(1)]]);
        // `*` now means two columns: the kept statement is prepared again, not an error.
        run(
            &dml,
            &format!("ALTER TABLE public.{s} ADD COLUMN y text DEFAULT 'a'"),
        )
        .await
        .unwrap();
        let rs = select(&ro, &sql).await;
        assert_eq!(rs.rows, vec![vec![json!(1), json!("a")]]);
        assert_eq!(rs.columns.len(), 2);
        // Dropped and made again, with another type, under the same name.
        run(&dml, &format!("DROP TABLE public.{s}")).await.unwrap();
        run(
            &dml,
            &format!("CREATE TABLE public.{s} AS SELECT 'b'::text AS z"),
        )
        .await
        .unwrap();
        let rs = select(&ro, &sql).await;
        assert_eq!(rs.rows, vec![vec![json!("b")]]);
        assert_eq!(rs.columns[0].name, "z");
        run(&dml, &format!("DROP TABLE public.{s}")).await.unwrap();
    }

    #[tokio::test]
    async fn schema_sets_the_search_path_of_one_query() {
        let Some((dml, ro, s)) = one_row_table("vz_sp").await else {
            return;
        };
        run(&dml, &format!("CREATE SCHEMA \"{s} q\""))
            .await
            .unwrap();
        run(
            &dml,
            &format!("CREATE TABLE \"{s} q\".{s} AS SELECT 2 AS x"),
        )
        .await
        .unwrap();
        let sql = format!("SELECT x FROM {s}");
        let in_schema = |schema: Option<String>| QueryOptions {
            search_path: schema,
            ..QueryOptions::default()
        };
        // The same text, so the same kept statement, resolves in each query's schema.
        for (schema, x) in [
            (Some(format!("{s} q")), 2),
            (None, 1),
            (Some(format!("{s} q")), 2),
        ] {
            let rs = ro
                .query(&sql, in_schema(schema), CancellationToken::new())
                .await
                .unwrap();
            assert_eq!(rs.rows, vec![vec![json!(x)]]);
        }
        // A schema is a name, never a list or SQL.
        for schema in ["public, pg_catalog", "x'); SELECT 1; --", "a\"b"] {
            let err = ro
                .query(
                    &sql,
                    in_schema(Some(schema.into())),
                    CancellationToken::new(),
                )
                .await;
            assert!(
                matches!(&err, Err(SourceError::Sql(m)) if m.contains("does not exist")),
                "{schema}: {err:?}"
            );
        }
        run(&dml, &format!("DROP SCHEMA \"{s} q\" CASCADE"))
            .await
            .unwrap();
        run(&dml, &format!("DROP TABLE public.{s}")).await.unwrap();
    }

    /// Beyond the conformance suite's truncation: the server computes no row past
    /// `max_rows + 1`, and listings leave the system schemas out.
    #[tokio::test]
    async fn rows_past_the_limit_are_not_computed() {
        let Some(pool) = pool(1, false, vec![]).await else {
            return;
        };
        let opts = |max_rows| QueryOptions {
            max_rows,
            ..QueryOptions::default()
        };
        // The server computes no row past max_rows + 1: row 12 would divide by zero.
        let rs = pool
            .query(
                "SELECT g, 1 / (g - 12) FROM generate_series(1, 20) g",
                opts(10),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!((rs.rows.len(), rs.truncated), (10, true));
        // Without a schema filter, system schemas stay out of the listing.
        let tables = pool.list_tables(None).await.unwrap();
        assert!(tables.iter().all(|t| {
            let schema = t.schema.as_deref().unwrap_or_default();
            schema != "pg_catalog" && schema != "information_schema"
        }));
    }

    #[tokio::test]
    async fn a_read_only_statement_cannot_switch_to_read_write() {
        let Some(ro) = pool(1, false, vec![]).await else {
            return;
        };
        // The setup query took the snapshot: the statement cannot switch to read-write.
        let err = run(&ro, "SET TRANSACTION READ WRITE").await;
        assert!(
            matches!(&err, Err(SourceError::Sql(m)) if m.contains("before any query")),
            "{err:?}"
        );
    }

    /// The conformance suite checks that the password stays hidden; this, that the server's
    /// own reason comes through.
    #[tokio::test]
    async fn a_missing_database_is_named_in_the_error() {
        let err = SourcePool::connect(SourceConfig {
            url: "postgres://postgres@127.0.0.1:5432/vz_no_such_db".into(),
            pool_size: 1,
            statement_timeout_ms: 1000,
            allow_dml: false,
            exposed_schemas: vec![],
        })
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("vz_no_such_db"), "{err}");
    }
}
