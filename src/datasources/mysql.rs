//! MySQL and MariaDB sources.
//!
//! What belongs here: mysql_async's pool, the `information_schema` reads behind
//! `list_tables` / `describe_table`, the query path, `KILL QUERY` from a side connection, and
//! the conversion of MySQL values into JSON.
//!
//! Statements run through the binary protocol (prepared statements): one statement per
//! call, and typed values (integers, floats, dates) rather than text to re-parse. DECIMAL
//! arrives as text and stays exact.
//!
//! Read-only: `SET SESSION TRANSACTION READ ONLY` plus `START TRANSACTION READ ONLY`. The
//! session setting matters: DDL commits the open transaction implicitly and would then run
//! outside it. Time limit: MariaDB `max_statement_time` (every statement), MySQL
//! `max_execution_time` (SELECT only; other statements rely on the client-side backstop,
//! which sends `KILL QUERY`). Row limit: `sql_select_limit = max_rows + 1`, so the server
//! stops a SELECT without its own LIMIT early; rows past the limit are read and dropped.
//!
//! Limitations: no TLS (plain TCP); MariaDB's JSON type is LONGTEXT on the wire and comes
//! back as a string; TIMESTAMP values are in the session time zone and carry no offset.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::engine::{Driver, Settings, run_supervised};
use super::types::{
    ColumnMeta, QueryOptions, ResultSet, SourceConfig, SourceError, TableRef, bytes_json,
    decimal_json, f32_json, f64_json, fraction, is_temporal_name, text_or_base64,
};
use super::{BACKSTOP, table_not_found};

/// Databases that belong to the server, never listed unless exposed explicitly.
const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

/// Which server: the variable that bounds a statement's time differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MariaDb,
    MySql,
}

#[derive(Clone)]
pub(crate) struct MySource {
    pool: Pool,
    /// For the side connections that send `KILL QUERY`.
    opts: Opts,
    flavor: Flavor,
    settings: Arc<Settings>,
}

/// The schemas a listing covers.
enum Scope {
    These(Vec<String>),
    NonSystem,
}

impl MySource {
    pub(crate) async fn connect(cfg: &SourceConfig) -> Result<Self, SourceError> {
        // mysql_async knows only the mysql:// scheme; MariaDB speaks the same protocol.
        let url = match cfg.url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
                format!("mysql://{rest}")
            }
            _ => cfg.url.clone(),
        };
        let parsed = Opts::from_url(&url)
            .map_err(|e| SourceError::Connect(format!("invalid MySQL URL: {e}")))?;
        let size = usize::try_from(cfg.pool_size.max(1)).unwrap_or(1);
        let constraints = PoolConstraints::new(0, size)
            .ok_or_else(|| SourceError::Internal("invalid pool size".into()))?;
        let opts: Opts = OptsBuilder::from_opts(parsed)
            // Stay on the address given: switching to the server's Unix socket would make
            // behaviour depend on where vizier runs.
            .prefer_socket(false)
            .pool_opts(PoolOpts::default().with_constraints(constraints))
            .into();
        // Check one connection outside the pool: the pool would hide the server's error.
        let mut conn = tokio::time::timeout(Duration::from_secs(10), Conn::new(opts.clone()))
            .await
            .map_err(|_| SourceError::Connect("timed out connecting".into()))?
            .map_err(connect_error)?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(connect_error)?;
        let flavor = if version.is_some_and(|v| v.contains("MariaDB")) {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        let _ = conn.disconnect().await;
        Ok(Self {
            pool: Pool::new(opts.clone()),
            opts,
            flavor,
            settings: Arc::new(Settings::new(cfg)),
        })
    }

    async fn get(&self) -> Result<Conn, SourceError> {
        self.pool.get_conn().await.map_err(connect_error)
    }

    /// The session variables every statement sets for itself: pooled connections carry
    /// whatever the previous user left.
    fn session_sql(&self, read_only: bool, timeout: Duration, select_limit: Option<u64>) -> String {
        let access = if read_only { "READ ONLY" } else { "READ WRITE" };
        let limit = select_limit.map_or_else(|| "DEFAULT".to_owned(), |n| n.to_string());
        let millis = timeout.as_millis().clamp(1, u128::from(u32::MAX));
        let time_limit = match self.flavor {
            Flavor::MariaDb => {
                format!(
                    "max_statement_time = {}.{:03}",
                    millis / 1000,
                    millis % 1000
                )
            }
            Flavor::MySql => format!("max_execution_time = {millis}"),
        };
        format!(
            "SET SESSION TRANSACTION {access}; \
             SET SESSION {time_limit}, SESSION sql_select_limit = {limit}"
        )
    }

    /// Stops what connection `id` is running, from a connection of its own (the pooled
    /// one is busy). `what` is `QUERY` or `CONNECTION`.
    async fn kill(&self, id: u32, what: &str) {
        let attempt = async {
            let mut side = Conn::new(self.opts.clone()).await?;
            side.query_drop(format!("KILL {what} {id}")).await?;
            side.disconnect().await
        };
        if let Err(e) = attempt.await {
            tracing::warn!(error = %e, "could not stop a statement on the data source");
        }
    }

    /// Runs a catalog read under the source's time limit.
    async fn catalog<T, W>(&self, work: W) -> Result<T, SourceError>
    where
        W: AsyncFnOnce(&mut Conn, String) -> Result<T, SourceError>,
    {
        let timeout = self.settings.timeout(Duration::ZERO);
        let deadline = Instant::now() + timeout + BACKSTOP;
        let setup = self.session_sql(true, timeout, None);
        run_supervised(
            self,
            &CancellationToken::new(),
            deadline,
            async |conn: &mut Conn| work(conn, setup).await,
        )
        .await
    }

    fn scope(&self, schema: Option<&str>) -> Option<Scope> {
        let exposed = &self.settings.exposed;
        match schema {
            Some(s) if exposed.is_empty() || exposed.iter().any(|e| e == s) => {
                Some(Scope::These(vec![s.to_owned()]))
            }
            Some(_) => None,
            None if !exposed.is_empty() => Some(Scope::These(exposed.clone())),
            None => Some(match self.opts.db_name() {
                Some(db) => Scope::These(vec![db.to_owned()]),
                None => Scope::NonSystem,
            }),
        }
    }

    pub(crate) async fn list_tables(
        &self,
        schema: Option<&str>,
    ) -> Result<Vec<TableRef>, SourceError> {
        let Some(scope) = self.scope(schema) else {
            return Ok(Vec::new());
        };
        let (filter, params) = match scope {
            Scope::These(names) => (format!("IN ({})", vec!["?"; names.len()].join(", ")), names),
            Scope::NonSystem => (
                format!("NOT IN ('{}')", SYSTEM_SCHEMAS.join("', '")),
                Vec::new(),
            ),
        };
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA {filter} \
               AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW', 'SYSTEM VIEW') \
             ORDER BY TABLE_SCHEMA, TABLE_NAME"
        );
        let rows: Vec<(String, String, String)> = self
            .catalog(async |conn, setup| {
                conn.query_drop(setup).await.map_err(my_error)?;
                conn.exec(sql, params).await.map_err(my_error)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(schema, name, kind)| TableRef {
                schema: Some(schema),
                name,
                kind: if kind.contains("VIEW") {
                    "view"
                } else {
                    "table"
                },
            })
            .collect())
    }

    pub(crate) async fn describe_table(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<ColumnMeta>, SourceError> {
        let not_found = || table_not_found(schema, table);
        // Unqualified names resolve in the URL's database, as in the user's SQL.
        let Some(db) = schema.or(self.opts.db_name()).map(str::to_owned) else {
            return Err(not_found());
        };
        let exposed = &self.settings.exposed;
        // System databases hold accounts and server internals: never exposed unless named.
        let system = SYSTEM_SCHEMAS.iter().any(|s| db.eq_ignore_ascii_case(s));
        if (!exposed.is_empty() && !exposed.contains(&db)) || (exposed.is_empty() && system) {
            return Err(not_found());
        }
        let table = table.to_owned();
        let rows: Vec<(String, String, String, String)> = self
            .catalog(async |conn, setup| {
                conn.query_drop(setup).await.map_err(my_error)?;
                conn.exec(
                    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, DATA_TYPE \
                     FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                    (db, table),
                )
                .await
                .map_err(my_error)
            })
            .await?;
        if rows.is_empty() {
            return Err(not_found());
        }
        Ok(rows
            .into_iter()
            .map(|(name, column_type, nullable, data_type)| ColumnMeta {
                name,
                data_type: column_type,
                is_nullable: Some(nullable == "YES"),
                is_temporal: is_temporal_name(&data_type),
            })
            .collect())
    }

    pub(crate) async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnMeta>, SourceError> {
        // Preparing returns the result columns without running the statement.
        self.catalog(async |conn, _| {
            let statement = conn.prep(sql).await.map_err(my_error)?;
            let columns = statement.columns().iter().map(column_meta).collect();
            conn.close(statement).await.map_err(my_error)?;
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
        let read_only = self.settings.read_only(opts);
        let timeout = self.settings.timeout(opts.timeout);
        let limit = u64::try_from(opts.max_rows).unwrap_or(u64::MAX - 1) + 1;
        let setup = format!(
            "{}; START TRANSACTION {}",
            self.session_sql(read_only, timeout, Some(limit)),
            if read_only { "READ ONLY" } else { "READ WRITE" }
        );
        let deadline = Instant::now() + timeout + BACKSTOP;
        run_supervised(self, cancel, deadline, async |conn: &mut Conn| {
            run_query(conn, sql, &setup, read_only, opts.max_rows).await
        })
        .await
    }
}

/// A statement is stopped with `KILL QUERY` from a side connection. One that was stopped is
/// followed by a probe (`DO 0`), which also absorbs a `KILL QUERY` that arrived late; a
/// connection that fails it is killed, which makes the pool discard it.
impl Driver for MySource {
    type Conn = Conn;
    /// The connection id.
    type Stopper = u32;

    async fn checkout(&self) -> Result<Conn, SourceError> {
        self.get().await
    }

    fn stopper(&self, conn: &Conn) -> u32 {
        conn.id()
    }

    async fn stop(&self, id: &u32) {
        self.kill(*id, "QUERY").await;
    }

    async fn probe(conn: &mut Conn) -> bool {
        conn.query_drop("DO 0").await.is_ok()
    }

    async fn settle(&self, conn: &mut Conn, healthy: bool) {
        if !healthy {
            // Killing the connection makes the pool discard it.
            let id = conn.id();
            let _ = tokio::time::timeout(Duration::from_secs(5), self.kill(id, "CONNECTION")).await;
        }
    }
}

async fn run_query(
    conn: &mut Conn,
    sql: &str,
    setup: &str,
    read_only: bool,
    max_rows: usize,
) -> Result<ResultSet, SourceError> {
    let started = std::time::Instant::now();
    conn.query_drop(setup).await.map_err(my_error)?;
    let fetched = fetch(conn, sql, max_rows).await;
    let execution_time_ms = started.elapsed().as_secs_f64() * 1000.0;
    // End the transaction whatever happened: the connection goes back to the pool clean.
    let end = if read_only || fetched.is_err() {
        "ROLLBACK"
    } else {
        "COMMIT"
    };
    let ended = conn.query_drop(end).await.map_err(my_error);
    let (columns, mut rows, affected) = fetched?;
    ended?;
    let truncated = rows.len() > max_rows;
    rows.truncate(max_rows);
    let values = rows
        .into_iter()
        .map(|mut row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let value = row.take(i).unwrap_or(mysql_async::Value::NULL);
                    value_json(column, value)
                })
                .collect()
        })
        .collect();
    Ok(ResultSet {
        columns: columns.iter().map(column_meta).collect(),
        rows: values,
        truncated,
        rows_affected: (!read_only).then_some(affected),
        execution_time_ms,
    })
}

/// Executes the statement and reads at most `max_rows + 1` rows; the rest is drained so
/// that the connection can be used again.
async fn fetch(
    conn: &mut Conn,
    sql: &str,
    max_rows: usize,
) -> Result<(Arc<[Column]>, Vec<Row>, u64), SourceError> {
    let mut result = conn.exec_iter(sql, ()).await.map_err(my_error)?;
    let columns = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let mut rows = Vec::new();
    while rows.len() <= max_rows {
        match result.next().await.map_err(my_error)? {
            Some(row) => rows.push(row),
            None => break,
        }
    }
    let affected = result.affected_rows();
    result.drop_result().await.map_err(my_error)?;
    Ok((columns, rows, affected))
}

fn column_meta(column: &Column) -> ColumnMeta {
    let data_type = type_name(column);
    ColumnMeta {
        name: column.name_str().into_owned(),
        is_temporal: is_temporal_name(&data_type),
        data_type,
        // Only a column read from a table has a known nullability.
        is_nullable: (!column.org_table_ref().is_empty())
            .then(|| !column.flags().contains(ColumnFlags::NOT_NULL_FLAG)),
    }
}

/// Binary strings (BINARY, VARBINARY, BLOB) carry the `binary` character set.
fn is_binary(column: &Column) -> bool {
    column.character_set() == 63
}

fn type_name(column: &Column) -> String {
    use ColumnType::*;
    let flags = column.flags();
    let binary = is_binary(column);
    let name = match column.column_type() {
        MYSQL_TYPE_TINY => "tinyint",
        MYSQL_TYPE_SHORT => "smallint",
        MYSQL_TYPE_INT24 => "mediumint",
        MYSQL_TYPE_LONG => "int",
        MYSQL_TYPE_LONGLONG => "bigint",
        MYSQL_TYPE_FLOAT => "float",
        MYSQL_TYPE_DOUBLE => "double",
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => "decimal",
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "date",
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "datetime",
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "timestamp",
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "time",
        MYSQL_TYPE_YEAR => "year",
        MYSQL_TYPE_BIT => "bit",
        MYSQL_TYPE_JSON => "json",
        MYSQL_TYPE_GEOMETRY => "geometry",
        MYSQL_TYPE_NULL => "null",
        MYSQL_TYPE_ENUM => "enum",
        MYSQL_TYPE_SET => "set",
        MYSQL_TYPE_STRING if flags.contains(ColumnFlags::ENUM_FLAG) => "enum",
        MYSQL_TYPE_STRING if flags.contains(ColumnFlags::SET_FLAG) => "set",
        MYSQL_TYPE_STRING if binary => "binary",
        MYSQL_TYPE_STRING => "char",
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR if binary => "varbinary",
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR => "varchar",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB
            if binary =>
        {
            "blob"
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB => {
            "text"
        }
        other => return format!("{other:?}").to_ascii_lowercase(),
    };
    let integer = matches!(
        column.column_type(),
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
    );
    if integer && flags.contains(ColumnFlags::UNSIGNED_FLAG) {
        format!("{name} unsigned")
    } else {
        name.to_owned()
    }
}

fn value_json(column: &Column, value: mysql_async::Value) -> Value {
    use ColumnType::*;
    use mysql_async::Value as My;
    let ty = column.column_type();
    match value {
        My::NULL => Value::Null,
        My::Int(i) => Value::from(i),
        My::UInt(u) => Value::from(u),
        My::Float(f) => f32_json(f),
        My::Double(f) => f64_json(f),
        My::Date(y, mo, d, h, mi, s, us) => {
            if matches!(ty, MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE) {
                Value::String(format!("{y:04}-{mo:02}-{d:02}"))
            } else {
                Value::String(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}",
                    fraction(us)
                ))
            }
        }
        My::Time(negative, days, h, mi, s, us) => Value::String(format!(
            "{}{:02}:{mi:02}:{s:02}{}",
            if negative { "-" } else { "" },
            u64::from(days) * 24 + u64::from(h),
            fraction(us)
        )),
        My::Bytes(bytes) => match ty {
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
                std::str::from_utf8(&bytes).map_or_else(|_| bytes_json(&bytes), decimal_json)
            }
            // BIT(n) arrives as big-endian bytes; at most 64 bits.
            MYSQL_TYPE_BIT if bytes.len() <= 8 => {
                Value::from(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
            }
            MYSQL_TYPE_JSON => {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| text_or_base64(&bytes))
            }
            MYSQL_TYPE_GEOMETRY => bytes_json(&bytes),
            _ if is_binary(column) && !matches!(ty, MYSQL_TYPE_ENUM | MYSQL_TYPE_SET) => {
                bytes_json(&bytes)
            }
            _ => text_or_base64(&bytes),
        },
    }
}

/// A server message for users, with its error code; timeouts, kills and read-only refusals
/// get their own kinds.
fn my_error(e: mysql_async::Error) -> SourceError {
    match e {
        mysql_async::Error::Server(server) => {
            let message = format!(
                "{} (error {}, SQLSTATE {})",
                server.message, server.code, server.state
            );
            match server.code {
                // Read-only transaction; server started --read-only; MariaDB read-only mode.
                1792 | 1290 | 1836 => SourceError::ReadOnlyViolation(message),
                // MariaDB max_statement_time; MySQL max_execution_time.
                1969 | 3024 => SourceError::Timeout,
                // KILL QUERY.
                1317 => SourceError::Cancelled,
                _ => SourceError::Sql(message),
            }
        }
        mysql_async::Error::Io(io) => {
            SourceError::Connect(format!("the connection to the database failed: {io}"))
        }
        mysql_async::Error::Url(url) => SourceError::Connect(url.to_string()),
        mysql_async::Error::Driver(driver) => SourceError::Sql(driver.to_string()),
        other => SourceError::Internal(other.to_string()),
    }
}

fn connect_error(e: mysql_async::Error) -> SourceError {
    match my_error(e) {
        SourceError::Sql(m) | SourceError::Internal(m) | SourceError::ReadOnlyViolation(m) => {
            SourceError::Connect(m)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance::{MariaDb, TestEngine, run, select};
    use super::super::{QueryOptions, SourceError, SourcePool, test_suffix};
    use super::*;
    use serde_json::json;

    /// A pool on the test server; None when it is not configured (outside CI).
    async fn pool(pool_size: u32, allow_dml: bool, exposed: Vec<String>) -> Option<SourcePool> {
        Some(MariaDb::source()?.pool(pool_size, allow_dml, exposed).await)
    }

    #[tokio::test]
    async fn maps_every_common_type() {
        let Some(pool) = pool(2, true, vec![]).await else {
            return;
        };
        let t = format!("vz_types_{}", test_suffix());
        run(
            &pool,
            &format!(
                "CREATE TABLE {t} (id INT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, \
                 i INT, bi BIGINT, ubi BIGINT UNSIGNED, f FLOAT, d DOUBLE, \
                 dec38 DECIMAL(38,10), dec2 DECIMAL(10,2), b BOOLEAN, bit8 BIT(8), bit1 BIT(1), \
                 ch CHAR(3), vc VARCHAR(20), tx TEXT, bl BLOB, vb VARBINARY(8), bn BINARY(4), \
                 dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL, tm TIME(1), yr YEAR, js JSON, \
                 en ENUM('a','b'), st SET('x','y'))"
            ),
        )
        .await
        .unwrap();
        let rs = run(
            &pool,
            &format!(
                "INSERT INTO {t} VALUES \
                 (1, -128, 32767, 8388607, -2147483648, 9223372036854775807, \
                  18446744073709551615, 0.1, 1.5, 1234567890123456789012345678.0123456789, \
                  123.45, TRUE, b'10100101', b'1', 'ab', 'héllo', 'long text', X'00FF10', \
                  X'0102', 'abcd', '2024-01-02', '2024-01-02 03:04:05.123456', \
                  '2024-01-02 03:04:05', '-838:59:59', 2024, '{{\"k\": [1, 2.5, null]}}', 'b', \
                  'x,y'), \
                 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                  NULL, NULL), \
                 (3, 0, 0, 0, 0, -9223372036854775808, 0, -1e-3, 1e300, \
                  -0.0000000001, -99999999.99, FALSE, b'0', b'0', '', '', '', '', '', X'00', \
                  '1000-01-01', '9999-12-31 23:59:59.5', '1970-01-02 00:00:00', \
                  '12:00:00.5', 1901, '[]', 'a', '')"
            ),
        )
        .await
        .unwrap();
        assert_eq!(rs.rows_affected, Some(3));

        let rs = select(&pool, &format!("SELECT * FROM {t} ORDER BY id")).await;
        assert_eq!(
            rs.rows[0],
            vec![
                json!(1),
                json!(-128),
                json!(32767),
                json!(8388607),
                json!(-2147483648_i64),
                json!(9223372036854775807_i64),
                json!(18446744073709551615_u64),
                json!(0.1),
                json!(1.5),
                json!("1234567890123456789012345678.0123456789"),
                json!(123.45),
                json!(1),
                json!(165),
                json!(1),
                json!("ab"),
                json!("héllo"),
                json!("long text"),
                json!("AP8Q"),
                json!("AQI="),
                json!("YWJjZA=="),
                json!("2024-01-02"),
                json!("2024-01-02T03:04:05.123456"),
                json!("2024-01-02T03:04:05"),
                json!("-838:59:59"),
                json!(2024),
                // MariaDB sends JSON as LONGTEXT: the text comes back as it was stored.
                json!("{\"k\": [1, 2.5, null]}"),
                json!("b"),
                json!("x,y"),
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
                json!(0),
                json!(0),
                json!(0),
                json!(-9223372036854775808_i64),
                json!(0),
                json!(-0.001),
                json!(1e300),
                json!(-0.0000000001),
                json!(-99999999.99),
                json!(0),
                json!(0),
                json!(0),
                json!(""),
                json!(""),
                json!(""),
                json!(""),
                json!(""),
                json!("AAAAAA=="),
                json!("1000-01-01"),
                json!("9999-12-31T23:59:59.5"),
                json!("1970-01-02T00:00:00"),
                json!("12:00:00.5"),
                json!(1901),
                json!("[]"),
                json!("a"),
                json!(""),
            ]
        );
        let types: Vec<(&str, &str, bool)> = rs
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str(), c.is_temporal))
            .collect();
        assert_eq!(types[6], ("ubi", "bigint unsigned", false));
        assert_eq!(types[9], ("dec38", "decimal", false));
        assert_eq!(types[17], ("bl", "blob", false));
        assert_eq!(types[21], ("dtm", "datetime", true));
        assert_eq!(types[26], ("en", "enum", false));
        assert_eq!(rs.columns[1].is_nullable, Some(true));
        assert_eq!(rs.columns[0].is_nullable, Some(false));

        let rs = select(
            &pool,
            "SELECT 1/3 AS third, CAST('2024-02-29' AS DATE) - INTERVAL 1 DAY AS d, \
                    CAST(123.456 AS DECIMAL(40,20)) AS short, \
                    CAST('12345678901234567890.123' AS DECIMAL(40,20)) AS wide, \
                    NULL AS nothing, 'x' AS s",
        )
        .await;
        assert_eq!(
            rs.rows[0],
            vec![
                json!(0.3333),
                json!("2024-02-28"),
                json!(123.456),
                json!("12345678901234567890.12300000000000000000"),
                json!(null),
                json!("x"),
            ]
        );
        run(&pool, &format!("DROP TABLE {t}")).await.unwrap();
    }

    #[tokio::test]
    async fn lists_and_describes_tables_and_views() {
        let t = format!("vz_meta_{}", test_suffix());
        let Some(dml) = pool(1, true, vec![]).await else {
            return;
        };
        run(
            &dml,
            &format!(
                "CREATE TABLE {t}_orders (id BIGINT NOT NULL, placed_at DATETIME, \
                 amount DECIMAL(12,2), note VARCHAR(40))"
            ),
        )
        .await
        .unwrap();
        run(
            &dml,
            &format!("CREATE VIEW {t}_big AS SELECT id, amount FROM {t}_orders WHERE amount > 100"),
        )
        .await
        .unwrap();

        let Some(exposed) = pool(1, false, vec!["test".into()]).await else {
            return;
        };
        let tables: Vec<TableRef> = exposed
            .list_tables(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|t2| t2.name.starts_with(&t))
            .collect();
        assert_eq!(
            tables,
            vec![
                TableRef {
                    schema: Some("test".into()),
                    name: format!("{t}_big"),
                    kind: "view"
                },
                TableRef {
                    schema: Some("test".into()),
                    name: format!("{t}_orders"),
                    kind: "table"
                },
            ]
        );
        assert!(exposed.list_tables(Some("mysql")).await.unwrap().is_empty());

        let columns = exposed
            .describe_table(None, &format!("{t}_orders"))
            .await
            .unwrap();
        let summary: Vec<(&str, &str, Option<bool>, bool)> = columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.is_nullable,
                    c.is_temporal,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("id", "bigint(20)", Some(false), false),
                ("placed_at", "datetime", Some(true), true),
                ("amount", "decimal(12,2)", Some(true), false),
                ("note", "varchar(40)", Some(true), false),
            ]
        );
        assert_eq!(
            exposed
                .describe_table(Some("test"), &format!("{t}_big"))
                .await
                .unwrap()
                .len(),
            2
        );
        for missing in [
            exposed.describe_table(None, "vz_nope").await,
            exposed.describe_table(Some("mysql"), "user").await,
        ] {
            assert!(
                matches!(missing, Err(SourceError::NotFound(_))),
                "{missing:?}"
            );
        }

        let described = exposed
            .describe_query(&format!(
                "SELECT id, DATE(placed_at) AS day, amount * 2 AS twice FROM {t}_orders"
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
                ("id", "bigint", false),
                ("day", "date", true),
                ("twice", "decimal", false)
            ]
        );
        let bad = exposed.describe_query("SELECT nope FROM vz_nowhere").await;
        assert!(
            matches!(&bad, Err(SourceError::Sql(m)) if m.contains("vz_nowhere")),
            "{bad:?}"
        );
        run(&dml, &format!("DROP VIEW {t}_big")).await.unwrap();
        run(&dml, &format!("DROP TABLE {t}_orders")).await.unwrap();
    }

    /// Beyond the conformance suite's truncation: an explicit LIMIT, and the row limit of one
    /// statement not staying on its pooled connection.
    #[tokio::test]
    async fn the_row_limit_yields_to_limit_and_does_not_stay() {
        let Some(pool) = pool(1, false, vec![]).await else {
            return;
        };
        let opts = |max_rows| QueryOptions {
            max_rows,
            ..QueryOptions::default()
        };
        // An explicit LIMIT beats sql_select_limit: the extra rows are read and dropped.
        let rs = pool
            .query(
                "SELECT seq FROM seq_1_to_100000 LIMIT 50",
                opts(10),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!((rs.rows.len(), rs.truncated), (10, true));
        // The limit does not stay on the pooled connection.
        let rs = select(
            &pool,
            "SELECT COUNT(*) FROM (SELECT seq FROM seq_1_to_5000) s",
        )
        .await;
        assert_eq!(rs.rows, vec![vec![json!(5000)]]);
    }
}
