//! SQLite sources: a database file on this machine.
//!
//! What belongs here: the fixed-size sets of rusqlite connections (read-only ones always,
//! read-write ones only when the source allows DML), the blocking work run on
//! `spawn_blocking` threads, time limits and cancellation by `sqlite3_interrupt`, and the
//! conversion of SQLite values (by storage class) into JSON.
//!
//! SQLite does a statement's work in this process, on the thread that steps it. A
//! [`StatementPriority::Background`] statement (the chart tools') runs on a thread of its
//! own at the lowered priority ([`run_lowered`]), and holds at most half of the
//! connections, so a starved background statement never holds them all.
//!
//! Read-only is the connection's own mode (`SQLITE_OPEN_READ_ONLY`, plus `query_only` so
//! that not even TEMP tables can be written). No connection may `ATTACH` another file: that
//! would let SQL read any SQLite file this process can open. So `main` is the only schema.
//!
//! The URL is `sqlite://PATH` (`sqlite:///abs/path.db` or `sqlite://relative.db`); the path
//! is taken literally and the file must exist: it is never created.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::types::{
    ColumnMeta, QueryOptions, ResultSet, SourceConfig, SourceError, StatementPriority, TableRef,
    bytes_json, f64_json, is_temporal_name, text_or_base64,
};
use super::{Supervised, acquire, effective_timeout, supervise, table_not_found};
use crate::priority::run_lowered;

/// How often an interrupt is repeated until the statement stops: an interrupt only hits a
/// statement already running, and the blocking thread may not have started it yet.
const INTERRUPT_EVERY: Duration = Duration::from_millis(20);

#[derive(Clone)]
pub(crate) struct LiteSource {
    read_only: Arc<Slots>,
    read_write: Option<Arc<Slots>>,
    statement_timeout_ms: u64,
    exposed: Arc<[String]>,
}

/// A fixed set of connections of one mode, opened on first use.
struct Slots {
    path: PathBuf,
    writable: bool,
    permits: Arc<Semaphore>,
    /// Taken before `permits` by background statements: half of the connections, at least 1.
    background: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

/// A connection taken from its set; dropping the lease gives it back.
struct Lease {
    conn: Option<Connection>,
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
    _background: Option<OwnedSemaphorePermit>,
}

impl Lease {
    fn conn(&self) -> Result<&Connection, SourceError> {
        self.conn
            .as_ref()
            .ok_or_else(|| SourceError::Internal("connection already returned".into()))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.slots.idle.lock()) {
            idle.push(conn);
        }
    }
}

impl Slots {
    fn new(path: PathBuf, writable: bool, size: u32) -> Arc<Self> {
        let size = usize::try_from(size.max(1)).unwrap_or(1);
        Arc::new(Self {
            path,
            writable,
            permits: Arc::new(Semaphore::new(size)),
            background: Arc::new(Semaphore::new(size.div_ceil(2))),
            idle: Mutex::new(Vec::new()),
        })
    }

    async fn lease(self: &Arc<Self>, priority: StatementPriority) -> Result<Lease, SourceError> {
        let closed = |_| SourceError::Internal("connection set closed".into());
        let background = match priority {
            StatementPriority::Interactive => None,
            StatementPriority::Background(_) => Some(
                Arc::clone(&self.background)
                    .acquire_owned()
                    .await
                    .map_err(closed)?,
            ),
        };
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(closed)?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let slots = Arc::clone(self);
                tokio::task::spawn_blocking(move || slots.open())
                    .await
                    .map_err(|e| SourceError::Internal(format!("open task failed: {e}")))??
            }
        };
        Ok(Lease {
            conn: Some(conn),
            slots: Arc::clone(self),
            _permit: permit,
            _background: background,
        })
    }

    fn open(&self) -> Result<Connection, SourceError> {
        // Never SQLITE_OPEN_CREATE: a mistyped path must fail, not create an empty database.
        let mode = if self.writable {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        };
        let conn = Connection::open_with_flags(&self.path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| SourceError::Connect(format!("cannot open the database file: {e}")))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(lite_error)?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)
            .map_err(lite_error)?;
        if !self.writable {
            conn.pragma_update(None, "query_only", true)
                .map_err(lite_error)?;
        }
        Ok(conn)
    }
}

impl LiteSource {
    pub(crate) async fn connect(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let path = parse_path(&cfg.url)?;
        let source = Self {
            read_only: Slots::new(path.clone(), false, cfg.pool_size),
            read_write: cfg.allow_dml.then(|| Slots::new(path, true, cfg.pool_size)),
            statement_timeout_ms: cfg.statement_timeout_ms,
            exposed: cfg.exposed_schemas.clone().into(),
        };
        // Opening is lazy in SQLite: reading the schema proves the file is a database.
        source
            .inspect(|conn| {
                conn.query_row("SELECT count(*) FROM main.sqlite_schema", [], |_| Ok(()))
                    .map_err(|e| SourceError::Connect(format!("not a usable database: {e}")))
            })
            .await?;
        Ok(source)
    }

    /// A catalog read (the schema, a table's or a query's columns): read-only, interactive,
    /// under the source's own time limit, not cancellable.
    async fn inspect<T, W>(&self, work: W) -> Result<T, SourceError>
    where
        T: Send + 'static,
        W: FnOnce(&Connection) -> Result<T, SourceError> + Send + 'static,
    {
        let cancel = CancellationToken::new();
        self.run(StatementPriority::Interactive, false, None, &cancel, work)
            .await
    }

    /// Runs `work` on a leased connection on a blocking thread at `priority`, interrupting it
    /// on cancel or when the time limit passes (SQLite has no time limit of its own).
    async fn run<T, W>(
        &self,
        priority: StatementPriority,
        writable: bool,
        requested: Option<Duration>,
        cancel: &CancellationToken,
        work: W,
    ) -> Result<T, SourceError>
    where
        T: Send + 'static,
        W: FnOnce(&Connection) -> Result<T, SourceError> + Send + 'static,
    {
        let (slots, writable) = match (&self.read_write, writable) {
            (Some(rw), true) => (rw, true),
            _ => (&self.read_only, false),
        };
        let timeout = effective_timeout(self.statement_timeout_ms, requested.unwrap_or_default());
        let deadline = Instant::now() + timeout;
        let lease = acquire(slots.lease(priority), cancel, deadline).await?;
        let interrupt = lease.conn()?.get_interrupt_handle();
        // The lease travels with the work and comes back with its result, so the connection
        // returns to its set only once the statement is over.
        let job = move || {
            let result = lease.conn().and_then(|conn| {
                if !writable {
                    ensure_query_only(conn)?;
                }
                work(conn)
            });
            (lease, result)
        };
        // A background statement runs on a thread lowered for it alone (no thread to be had:
        // the statement fails, and its connection goes back with the dropped job).
        let task = match priority {
            StatementPriority::Interactive => tokio::task::spawn_blocking(move || Ok(job())),
            StatementPriority::Background(lowered) => {
                tokio::task::spawn_blocking(move || run_lowered(lowered, job))
            }
        };
        let outcome = supervise(task, cancel, deadline, Some(INTERRUPT_EVERY), || {
            interrupt.interrupt();
            std::future::ready(())
        })
        .await;
        match outcome {
            Supervised::Finished(Ok(Ok((_lease, result)))) => result,
            Supervised::Finished(Ok(Err(e))) => Err(SourceError::Internal(format!(
                "cannot start a background SQLite thread: {e}"
            ))),
            Supervised::Finished(Err(e)) => {
                Err(SourceError::Internal(format!("query task failed: {e}")))
            }
            Supervised::Stopped { why, .. } => Err(why.into()),
        }
    }

    /// Only `main` exists (ATTACH is disabled); it is visible unless the exposed list
    /// leaves it out.
    fn main_visible(&self, schema: Option<&str>) -> bool {
        schema.is_none_or(|s| s.eq_ignore_ascii_case("main"))
            && (self.exposed.is_empty() || self.exposed.iter().any(|e| e == "main"))
    }

    pub(crate) async fn list_tables(
        &self,
        schema: Option<&str>,
    ) -> Result<Vec<TableRef>, SourceError> {
        if !self.main_visible(schema) {
            return Ok(Vec::new());
        }
        self.inspect(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT name, type FROM main.sqlite_schema \
                     WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                     ORDER BY name",
                )
                .map_err(lite_error)?;
            let rows = stmt
                .query_map([], |row| {
                    let kind: String = row.get(1)?;
                    Ok(TableRef {
                        schema: None,
                        name: row.get(0)?,
                        kind: if kind == "view" { "view" } else { "table" },
                    })
                })
                .map_err(lite_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(lite_error)
        })
        .await
    }

    pub(crate) async fn describe_table(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<ColumnMeta>, SourceError> {
        let not_found = table_not_found(schema, table);
        if !self.main_visible(schema) {
            return Err(not_found);
        }
        let table = table.to_owned();
        self.inspect(move |conn| {
            let kind: Option<String> = conn
                .query_row(
                    "SELECT type FROM main.sqlite_schema \
                     WHERE name = ?1 COLLATE NOCASE AND type IN ('table', 'view')",
                    [&table],
                    |row| row.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(lite_error(other)),
                })?;
            let Some(kind) = kind else {
                return Err(not_found);
            };
            let mut stmt = conn
                .prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1, 'main')")
                .map_err(lite_error)?;
            let rows = stmt
                .query_map([&table], |row| {
                    let data_type: String = row.get(1)?;
                    let not_null: bool = row.get(2)?;
                    Ok(ColumnMeta {
                        name: row.get(0)?,
                        is_temporal: is_temporal_name(&data_type),
                        data_type,
                        // A view's columns carry no constraint: nullability is unknown.
                        is_nullable: (kind == "table").then_some(!not_null),
                    })
                })
                .map_err(lite_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(lite_error)
        })
        .await
    }

    pub(crate) async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnMeta>, SourceError> {
        let sql = sql.to_owned();
        self.inspect(move |conn| {
            let mut stmt = conn.prepare(&sql).map_err(lite_error)?;
            let mut columns = declared_columns(&stmt);
            // Expressions have no declared type: one row (on a read-only connection) shows
            // their storage class. A writing statement (RETURNING) is not stepped: it would
            // only be refused.
            if stmt.readonly() && columns.iter().any(|c| c.data_type.is_empty()) {
                let mut rows = stmt.raw_query();
                if let Some(row) = rows.next().map_err(lite_error)? {
                    for (i, column) in columns.iter_mut().enumerate() {
                        if column.data_type.is_empty() {
                            let value = row.get_ref(i).map_err(lite_error)?;
                            column.data_type = storage_class(value).to_owned();
                        }
                    }
                }
            }
            Ok(columns)
        })
        .await
    }

    pub(crate) async fn query(
        &self,
        sql: &str,
        opts: &QueryOptions,
        cancel: &CancellationToken,
    ) -> Result<ResultSet, SourceError> {
        let writable = !opts.read_only && self.read_write.is_some();
        let sql = sql.to_owned();
        let max_rows = opts.max_rows;
        self.run(
            opts.priority,
            writable,
            Some(opts.timeout),
            cancel,
            move |conn| run_query(conn, &sql, max_rows),
        )
        .await
    }
}

fn parse_path(url: &str) -> Result<PathBuf, SourceError> {
    let rest = url
        .get(..9)
        .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite://"))
        .and_then(|_| url.get(9..))
        .or_else(|| {
            url.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite:"))
                .and_then(|_| url.get(7..))
        })
        .unwrap_or_default();
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    if path.is_empty() {
        return Err(SourceError::InvalidArgument(
            "a SQLite URL needs a file path: sqlite:///path/to/file.db".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// Makes sure a read-only connection refuses writes: a previous statement on it may have run
/// `PRAGMA query_only = 0`. The flag is read (a cached statement) and set only when it is
/// off, because setting it expires every compiled statement of the connection, and the
/// statement cache would then recompile each query every time.
fn ensure_query_only(conn: &Connection) -> Result<(), SourceError> {
    let on: bool = conn
        .prepare_cached("PRAGMA query_only")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(lite_error)?;
    if !on {
        conn.pragma_update(None, "query_only", true)
            .map_err(lite_error)?;
    }
    Ok(())
}

fn run_query(conn: &Connection, sql: &str, max_rows: usize) -> Result<ResultSet, SourceError> {
    let started = std::time::Instant::now();
    // Dashboards and charts send the same SQL again and again: each connection keeps its
    // recent statements compiled (SQLite re-prepares one itself if the schema changed).
    let mut stmt = conn.prepare_cached(sql).map_err(lite_error)?;
    let mut columns = declared_columns(&stmt);
    let writes = !stmt.readonly();
    let mut values: Vec<Vec<Value>> = Vec::new();
    {
        let mut rows = stmt.raw_query();
        // Stepping stops after max_rows + 1 rows: the rest is never computed.
        while values.len() <= max_rows {
            let Some(row) = rows.next().map_err(lite_error)? else {
                break;
            };
            let mut out = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter_mut().enumerate() {
                let value = row.get_ref(i).map_err(lite_error)?;
                if column.data_type.is_empty() {
                    column.data_type = storage_class(value).to_owned();
                }
                out.push(value_json(value));
            }
            values.push(out);
        }
    }
    let truncated = values.len() > max_rows;
    values.truncate(max_rows);
    Ok(ResultSet {
        columns,
        rows: values,
        truncated,
        rows_affected: writes.then(|| conn.changes()),
        execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Columns with their declared types (empty when the column is an expression).
fn declared_columns(stmt: &rusqlite::Statement<'_>) -> Vec<ColumnMeta> {
    stmt.columns()
        .iter()
        .map(|column| {
            let declared = column.decl_type().unwrap_or_default().to_owned();
            ColumnMeta {
                name: column.name().to_owned(),
                is_temporal: is_temporal_name(&declared),
                data_type: declared,
                is_nullable: None,
            }
        })
        .collect()
}

/// The storage class of a value, as a type name; empty for NULL (it tells nothing).
fn storage_class(value: ValueRef<'_>) -> &'static str {
    match value {
        ValueRef::Null => "",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

fn value_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => f64_json(f),
        ValueRef::Text(text) => text_or_base64(text),
        ValueRef::Blob(blob) => bytes_json(blob),
    }
}

fn lite_error(e: rusqlite::Error) -> SourceError {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.unwrap_or_else(|| failure.to_string());
            match failure.code {
                ErrorCode::ReadOnly => SourceError::ReadOnlyViolation(message),
                // Only this module interrupts, and it reports why itself.
                ErrorCode::OperationInterrupted => SourceError::Cancelled,
                ErrorCode::CannotOpen | ErrorCode::NotADatabase => SourceError::Connect(message),
                _ => SourceError::Sql(message),
            }
        }
        rusqlite::Error::MultipleStatement => {
            SourceError::Sql("only one statement may run at a time".into())
        }
        other => SourceError::Sql(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance::{FOREVER, select};
    use super::super::{QueryOptions, SourceConfig, SourceError, SourcePool};
    use super::*;
    use crate::priority::RenderPriority;
    use serde_json::json;

    /// A database file with a table of every storage class and declared type, and a view.
    fn fixture() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER NOT NULL, r REAL, s TEXT, \
               b BLOB, n NUMERIC, d DATE, dt DATETIME, ts TIMESTAMP, bo BOOLEAN, \
               v VARCHAR(10), untyped);
             INSERT INTO t VALUES (1, 9223372036854775807, 1.5, 'héllo', X'00FF10', 12.5, \
               '2024-01-02', '2024-01-02 03:04:05', 1700000000, 1, 'v', 'x');
             INSERT INTO t VALUES (2, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
               NULL);
             INSERT INTO t VALUES (3, -9223372036854775808, 9e999, '', X'', 'abc', \
               '2024-13-45', 0.5, -1e-300, 0, '', 42);
             CREATE VIEW big AS SELECT id, r FROM t WHERE r > 1;",
        )
        .unwrap();
        let url = format!("sqlite://{}", path.display());
        (dir, url)
    }

    #[test]
    fn query_only_is_restored_and_compiled_statements_survive_the_check() {
        let (_dir, url) = fixture();
        let conn = Connection::open(parse_path(&url).unwrap()).unwrap();
        let query_only = |c: &Connection| -> bool {
            c.query_row("PRAGMA query_only", [], |r| r.get(0)).unwrap()
        };
        ensure_query_only(&conn).unwrap();
        assert!(query_only(&conn));
        // Checking again does not expire compiled statements (setting the flag does).
        let reprepares = |c: &Connection| {
            let mut stmt = c.prepare_cached("SELECT id FROM t").unwrap();
            stmt.raw_query().next().unwrap();
            stmt.get_status(rusqlite::StatementStatus::RePrepare)
        };
        assert_eq!(reprepares(&conn), 0);
        ensure_query_only(&conn).unwrap();
        assert_eq!(reprepares(&conn), 0);
        conn.pragma_update(None, "query_only", true).unwrap();
        assert_eq!(reprepares(&conn), 1, "setting the flag expires statements");
        conn.pragma_update(None, "query_only", false).unwrap();
        ensure_query_only(&conn).unwrap();
        assert!(query_only(&conn));
        assert!(conn.execute("DELETE FROM t", []).is_err());
    }

    async fn pool(url: &str, pool_size: u32, allow_dml: bool) -> SourcePool {
        SourcePool::connect(SourceConfig {
            url: url.into(),
            pool_size,
            statement_timeout_ms: 10_000,
            allow_dml,
            exposed_schemas: vec![],
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn maps_storage_classes_and_declared_types() {
        let (_dir, url) = fixture();
        let pool = pool(&url, 2, false).await;
        let rs = select(&pool, "SELECT * FROM t ORDER BY id").await;
        assert_eq!(
            rs.rows,
            vec![
                vec![
                    json!(1),
                    json!(9223372036854775807_i64),
                    json!(1.5),
                    json!("héllo"),
                    json!("AP8Q"),
                    json!(12.5),
                    json!("2024-01-02"),
                    json!("2024-01-02 03:04:05"),
                    json!(1700000000),
                    json!(1),
                    json!("v"),
                    json!("x"),
                ],
                vec![
                    json!(2),
                    json!(0),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                    json!(null),
                ],
                vec![
                    json!(3),
                    json!(-9223372036854775808_i64),
                    json!("Infinity"),
                    json!(""),
                    json!(""),
                    json!("abc"),
                    json!("2024-13-45"),
                    json!(0.5),
                    json!(-1e-300),
                    json!(0),
                    json!(""),
                    json!(42),
                ],
            ]
        );
        let types: Vec<(&str, &str, bool)> = rs
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str(), c.is_temporal))
            .collect();
        assert_eq!(
            types,
            vec![
                ("id", "INTEGER", false),
                ("i", "INTEGER", false),
                ("r", "REAL", false),
                ("s", "TEXT", false),
                ("b", "BLOB", false),
                ("n", "NUMERIC", false),
                ("d", "DATE", true),
                ("dt", "DATETIME", true),
                ("ts", "TIMESTAMP", true),
                ("bo", "BOOLEAN", false),
                ("v", "VARCHAR(10)", false),
                // Nothing declared: the storage class of the first value.
                ("untyped", "TEXT", false),
            ]
        );
        let described = pool
            .describe_query("SELECT id, 1 + 1 AS two, 'a' AS s, NULL AS z, d FROM t")
            .await
            .unwrap();
        let types: Vec<(&str, &str)> = described
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("id", "INTEGER"),
                ("two", "INTEGER"),
                ("s", "TEXT"),
                ("z", ""),
                ("d", "DATE")
            ]
        );
    }

    #[tokio::test]
    async fn lists_and_describes_tables_and_views() {
        let (_dir, url) = fixture();
        let pool = pool(&url, 1, false).await;
        assert_eq!(
            pool.list_tables(None).await.unwrap(),
            vec![
                TableRef {
                    schema: None,
                    name: "big".into(),
                    kind: "view"
                },
                TableRef {
                    schema: None,
                    name: "t".into(),
                    kind: "table"
                },
            ]
        );
        assert_eq!(pool.list_tables(Some("main")).await.unwrap().len(), 2);
        assert!(pool.list_tables(Some("other")).await.unwrap().is_empty());
        let columns = pool.describe_table(None, "t").await.unwrap();
        assert_eq!(columns.len(), 12);
        assert_eq!(
            columns[1],
            ColumnMeta {
                name: "i".into(),
                data_type: "INTEGER".into(),
                is_nullable: Some(false),
                is_temporal: false
            }
        );
        assert_eq!(
            columns[7],
            ColumnMeta {
                name: "dt".into(),
                data_type: "DATETIME".into(),
                is_nullable: Some(true),
                is_temporal: true
            }
        );
        let view = pool.describe_table(Some("main"), "big").await.unwrap();
        assert_eq!(view.len(), 2);
        assert_eq!(view[1].is_nullable, None);
        for missing in [
            pool.describe_table(None, "nope").await,
            pool.describe_table(Some("aux"), "t").await,
        ] {
            assert!(
                matches!(missing, Err(SourceError::NotFound(_))),
                "{missing:?}"
            );
        }
        let bad = pool.describe_query("SELECT nope FROM nowhere").await;
        assert!(
            matches!(&bad, Err(SourceError::Sql(m)) if m.contains("nowhere")),
            "{bad:?}"
        );
    }

    /// Beyond the conformance suite's truncation: stepping stops after `max_rows + 1` rows.
    #[tokio::test]
    async fn truncation_stops_stepping() {
        let (_dir, url) = fixture();
        let pool = pool(&url, 1, false).await;
        let opts = |max_rows| QueryOptions {
            max_rows,
            ..QueryOptions::default()
        };
        // An endless sequence: only stepping no further than max_rows + 1 can end it.
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                       SELECT x FROM c";
        let rs = pool
            .query(endless, opts(10), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!((rs.rows.len(), rs.truncated), (10, true));
        assert_eq!(rs.rows[9], vec![json!(10)]);
        let rs = pool
            .query("SELECT id FROM t", opts(3), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!((rs.rows.len(), rs.truncated), (3, false));
    }

    /// Beyond the conformance suite's read-only cases: no ATTACH, `query_only` restored
    /// before every statement, one statement at a time.
    #[tokio::test]
    async fn read_only_connections_refuse_writes() {
        let (_dir, url) = fixture();
        let write = QueryOptions {
            read_only: false,
            ..QueryOptions::default()
        };
        let ro = pool(&url, 1, false).await;
        let err = select_err(&ro, "ATTACH DATABASE '/etc/hostname' AS other").await;
        assert!(
            matches!(&err, SourceError::Sql(m) if m.contains("attached")),
            "{err:?}"
        );
        // query_only comes back before every statement, whatever the previous one did.
        select(&ro, "PRAGMA query_only = 0").await;
        let err = select_err(&ro, "CREATE TEMP TABLE scratch (x)").await;
        assert!(matches!(err, SourceError::ReadOnlyViolation(_)), "{err:?}");
        let err = select_err(&ro, "SELECT 1; SELECT 2").await;
        assert!(matches!(err, SourceError::Sql(_)), "{err:?}");

        let rw = pool(&url, 1, true).await;
        // Read-only asked on a source that allows writes: still refused.
        let err = select_err(&rw, "DELETE FROM t").await;
        assert!(matches!(err, SourceError::ReadOnlyViolation(_)), "{err:?}");
        let rs = rw
            .query(
                "INSERT INTO t (id, i) VALUES (10, 1), (11, 2)",
                write,
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!(rs.rows_affected, Some(2));
        assert_eq!(
            select(&ro, "SELECT count(*) FROM t").await.rows,
            vec![vec![json!(5)]]
        );
    }

    async fn select_err(pool: &SourcePool, sql: &str) -> SourceError {
        pool.query(sql, QueryOptions::default(), CancellationToken::new())
            .await
            .err()
            .unwrap()
    }

    fn background() -> QueryOptions {
        QueryOptions {
            priority: StatementPriority::Background(RenderPriority::Idle),
            ..QueryOptions::default()
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn background_statements_run_on_threads_at_the_lowered_priority() {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let (_dir, url) = fixture();
        let source = LiteSource::connect(&SourceConfig {
            url,
            pool_size: 2,
            statement_timeout_ms: 10_000,
            allow_dml: false,
            exposed_schemas: vec![],
        })
        .await
        .unwrap();
        let cancel = CancellationToken::new();
        let policy_at = |priority| {
            source.run(priority, false, None, &cancel, |_| {
                thread_schedule_policy().map_err(|e| SourceError::Internal(format!("{e:?}")))
            })
        };
        let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let lowered = StatementPriority::Background(RenderPriority::Idle);
        assert_eq!(policy_at(lowered).await.unwrap(), idle);
        // The interactive threads are never lowered, before or after.
        assert_eq!(
            policy_at(StatementPriority::Interactive).await.unwrap(),
            normal
        );
        assert_eq!(policy_at(lowered).await.unwrap(), idle);
        assert_eq!(
            policy_at(StatementPriority::Interactive).await.unwrap(),
            normal
        );
        // And the query path answers the same at either priority.
        let rows = source
            .query("SELECT count(*) FROM t", &background(), &cancel)
            .await
            .unwrap()
            .rows;
        assert_eq!(rows, vec![vec![json!(3)]]);
    }

    #[tokio::test]
    async fn background_statements_hold_at_most_half_the_connections() {
        let (_dir, url) = fixture();
        let pool = pool(&url, 2, false).await;
        let long = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let opts = QueryOptions {
                    timeout: Duration::from_millis(1_500),
                    ..background()
                };
                pool.query(FOREVER, opts, CancellationToken::new()).await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The one background connection (of two) is taken: another background statement
        // waits for it and meets its time limit ...
        let waited = pool
            .query(
                "SELECT 1",
                QueryOptions {
                    timeout: Duration::from_millis(300),
                    ..background()
                },
                CancellationToken::new(),
            )
            .await;
        // ... while an interactive one gets the other connection at once.
        let started = std::time::Instant::now();
        let interactive = select(&pool, "SELECT 2").await.rows;
        let interactive_took = started.elapsed();
        // Asserted only once the endless statement was interrupted: a failing assertion
        // must not leave it running on a blocking thread the runtime waits for.
        let long = long.await.unwrap();
        assert_eq!(waited, Err(SourceError::Timeout));
        assert_eq!(interactive, vec![vec![json!(2)]]);
        assert!(interactive_took < Duration::from_millis(500));
        assert_eq!(long, Err(SourceError::Timeout));
        let freed = pool
            .query("SELECT 3", background(), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(freed.rows, vec![vec![json!(3)]]);
    }

    #[tokio::test]
    async fn missing_files_are_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let err = SourcePool::connect(SourceConfig {
            url: format!("sqlite://{}", path.display()),
            pool_size: 1,
            statement_timeout_ms: 0,
            allow_dml: true,
            exposed_schemas: vec![],
        })
        .await
        .err()
        .unwrap();
        assert!(matches!(err, SourceError::Connect(_)), "{err:?}");
        assert!(!path.exists());
        assert!(parse_path("sqlite://").is_err());
        assert_eq!(
            parse_path("sqlite:///a/b.db?mode=ro").unwrap(),
            PathBuf::from("/a/b.db")
        );
    }
}
