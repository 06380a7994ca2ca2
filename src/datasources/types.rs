//! The engine-neutral vocabulary of the connector layer, and the value conversions every
//! engine shares.
//!
//! What belongs here: the public types ([`Engine`], [`SourceConfig`], [`QueryOptions`],
//! [`ResultSet`], [`ColumnMeta`], [`TableRef`], [`SourceError`]) and the small pure functions
//! that turn database values into JSON the same way for all engines (exact decimals, floats
//! with NaN/infinity, bytes as base64, ISO-8601 fragments). Nothing here talks to a database.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Number, Value};

/// The database engine behind a source, chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://` or `mariadb://` (MySQL and MariaDB speak the same protocol).
    MySql,
    /// `sqlite://PATH` (a file on this machine).
    Sqlite,
}

impl Engine {
    /// The engine named by `url`'s scheme. The error never repeats the URL: it may hold a
    /// password.
    pub fn from_url(url: &str) -> Result<Self, SourceError> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(SourceError::InvalidArgument(
                "unsupported data source URL: expected postgres://, postgresql://, mysql://, \
                 mariadb:// or sqlite://"
                    .into(),
            )),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
            Self::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach a data source and what it may do.
#[derive(Clone)]
pub struct SourceConfig {
    /// Connection URL; may hold a password, so it is never logged nor shown (see `Debug`).
    pub url: String,
    /// Most connections open at once (0 is taken as 1). For SQLite: most concurrent
    /// read-only connections, and as many read-write ones when `allow_dml`.
    pub pool_size: u32,
    /// Default and upper bound of a statement's run time, in milliseconds (0: no bound of
    /// its own; then [`QueryOptions::timeout`] alone applies, or 30 s for catalog reads).
    pub statement_timeout_ms: u64,
    /// Whether statements that write may ever run (still only when a query asks for
    /// `read_only: false`).
    pub allow_dml: bool,
    /// Schemas (MySQL: databases; SQLite: attached database names) that callers may see.
    /// Empty: every non-system schema (MySQL: the URL's database when it names one).
    pub exposed_schemas: Vec<String>,
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only the engine.
        f.debug_struct("SourceConfig")
            .field(
                "engine",
                &Engine::from_url(&self.url).map_or("unknown", Engine::as_str),
            )
            .field("pool_size", &self.pool_size)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("allow_dml", &self.allow_dml)
            .field("exposed_schemas", &self.exposed_schemas)
            .finish()
    }
}

/// A table or view of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRef {
    /// PostgreSQL schema, MySQL database, SQLite attached database (`None` for `main`).
    pub schema: Option<String>,
    pub name: String,
    /// `"table"` or `"view"` (materialized views and foreign tables are reported as the
    /// closest of the two).
    pub kind: &'static str,
}

/// One column of a table or of a query result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ColumnMeta {
    pub name: String,
    /// The type as the database names it (PostgreSQL `numeric(38,10)` in table descriptions,
    /// `numeric` in query results; MySQL `decimal(38,10)` / `decimal`; SQLite the declared
    /// type, or the storage class of the first non-NULL value when nothing was declared).
    pub data_type: String,
    /// `None` when the database cannot tell (most query result columns).
    pub is_nullable: Option<bool>,
    /// A date, time or timestamp: usable as a time axis.
    pub is_temporal: bool,
}

/// How one query runs.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Rows returned at most; one more is fetched to tell whether the result was truncated.
    pub max_rows: usize,
    /// Time limit of the statement (zero: the source's `statement_timeout_ms`); the smaller
    /// of the two applies when both are set.
    pub timeout: Duration,
    /// Run in a read-only transaction (always the case when the source has `allow_dml` off).
    pub read_only: bool,
    /// PostgreSQL only: custom settings (dotted names such as `app.tenant_id`) set with
    /// `set_config(name, value, true)` inside the query's transaction. Ignored by the other
    /// engines.
    pub session_settings: Vec<(String, String)>,
    /// PostgreSQL only: the schema unqualified names resolve in (`search_path`, set inside
    /// the query's transaction). Ignored by the other engines.
    pub search_path: Option<String>,
    /// Whose CPU time the statement's work on this machine takes.
    pub priority: StatementPriority,
}

/// Whose CPU time a statement's work on this machine takes. Only SQLite does a statement's
/// work in this process; PostgreSQL and MariaDB do it in their own, so for them this is
/// ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatementPriority {
    /// The tool calls' own: the data source's blocking threads.
    #[default]
    Interactive,
    /// Threads at this lowered priority, as the chart tools' own (`screenshots.priority`),
    /// so that a flood of picture calls does not take their queries' CPU time from the
    /// query tools. Such statements hold at most half of a source's connections (at least
    /// one): a background statement starved of CPU must never hold every connection.
    Background(crate::priority::RenderPriority),
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            timeout: Duration::ZERO,
            read_only: true,
            session_settings: Vec::new(),
            search_path: None,
            priority: StatementPriority::Interactive,
        }
    }
}

/// The rows of a query, converted to JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultSet {
    pub columns: Vec<ColumnMeta>,
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than `max_rows`.
    pub truncated: bool,
    /// Only for a statement run read-write (`None` otherwise): the rows it changed, as the
    /// engine counts them (PostgreSQL's command tag, which for a SELECT is the rows it
    /// returned and is absent when truncated; MySQL's affected rows; SQLite's changes).
    pub rows_affected: Option<u64>,
    /// From the start of the statement (connection in hand) to the last row read.
    pub execution_time_ms: f64,
}

/// What went wrong talking to a data source. `Display` never includes the URL nor the
/// password; database messages are kept because they help users fix their SQL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source cannot be reached or refused the login.
    #[error("cannot connect to the data source: {0}")]
    Connect(String),
    /// The table, view or schema does not exist or is not exposed.
    #[error("not found: {0}")]
    NotFound(String),
    /// The statement ran longer than its time limit and was stopped by the database.
    #[error("the query exceeded its time limit and was stopped")]
    Timeout,
    /// The caller cancelled the query; it was stopped at the database.
    #[error("the query was cancelled")]
    Cancelled,
    /// A write was attempted where only reads are allowed; the database's message.
    #[error("the data source is read-only here: {0}")]
    ReadOnlyViolation(String),
    /// An argument of the call is malformed (URL scheme, setting name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The database rejected the statement; its message, safe to show.
    #[error("{0}")]
    Sql(String),
    /// A bug or an unexpected failure in the connector.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SourceError {
    /// The same error with every occurrence of the `secrets` (URL, password) masked: driver
    /// messages sometimes echo what they were given.
    pub(crate) fn redacted(self, secrets: &[String]) -> Self {
        let scrub = |msg: String| {
            secrets
                .iter()
                .filter(|secret| !secret.is_empty())
                .fold(msg, |msg, secret| msg.replace(secret.as_str(), "***"))
        };
        match self {
            Self::Connect(m) => Self::Connect(scrub(m)),
            Self::NotFound(m) => Self::NotFound(scrub(m)),
            Self::ReadOnlyViolation(m) => Self::ReadOnlyViolation(scrub(m)),
            Self::InvalidArgument(m) => Self::InvalidArgument(scrub(m)),
            Self::Sql(m) => Self::Sql(scrub(m)),
            Self::Internal(m) => Self::Internal(scrub(m)),
            other @ (Self::Timeout | Self::Cancelled) => other,
        }
    }
}

/// A decimal in its text form (`-123.4500`) as JSON: a number when the number is exactly the
/// same after a trip through `f64` (at most 15 significant digits, within `f64`'s normal
/// range), else the string, so that no digit is ever lost. `NaN`, `Infinity` and anything
/// that is not a plain decimal stay strings.
pub(crate) fn decimal_json(text: &str) -> Value {
    let s = text.trim();
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = !(int_part.is_empty() && frac_part.is_empty())
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        return Value::String(text.to_owned());
    }
    let digits: String = format!("{int_part}{frac_part}");
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return Value::from(0);
    }
    if significant.len() > 15 {
        return Value::String(text.to_owned());
    }
    // An integer keeps an integer form (`42`, not `42.0`) when i64 holds it.
    if frac_part.bytes().all(|b| b == b'0')
        && let Ok(i) =
            format!("{}{int_part}", if s.starts_with('-') { "-" } else { "" }).parse::<i64>()
    {
        return Value::from(i);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.abs() >= f64::MIN_POSITIVE => {
            Number::from_f64(f).map_or_else(|| Value::String(text.to_owned()), Value::Number)
        }
        _ => Value::String(text.to_owned()),
    }
}

/// A double as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has none).
pub(crate) fn f64_json(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// A single-precision float as JSON, through its shortest decimal form so that a stored
/// `0.1` reads `0.1` and not `0.10000000149011612`.
pub(crate) fn f32_json(f: f32) -> Value {
    if !f.is_finite() {
        return f64_json(f64::from(f));
    }
    f.to_string()
        .parse::<f64>()
        .map_or_else(|_| f64_json(f64::from(f)), f64_json)
}

/// Binary data as a standard base64 string.
pub(crate) fn bytes_json(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Text that should be UTF-8; base64 when it is not (binary stored in a text column).
pub(crate) fn text_or_base64(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => bytes_json(bytes),
    }
}

/// `.ffffff` with trailing zeros removed, or nothing for a whole second, as PostgreSQL
/// prints fractional seconds.
pub(crate) fn fraction(micros: u32) -> String {
    if micros == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// `HH:MM:SS[.ffffff]` from a count of microseconds (hours may exceed 24: durations).
pub(crate) fn clock(total_micros: u64) -> String {
    let micros = total_micros % 1_000_000;
    let secs = total_micros / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}{}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        // Below one million: fits.
        fraction(u32::try_from(micros).unwrap_or(0))
    )
}

/// Whether a type name (SQLite declared type, MySQL data type) denotes a date or a time.
pub(crate) fn is_temporal_name(type_name: &str) -> bool {
    let t = type_name.to_ascii_uppercase();
    t.contains("DATE") || t.contains("TIME") || t == "YEAR"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_json("123.4500"), json!(123.45));
        assert_eq!(decimal_json("-0.1"), json!(-0.1));
        assert_eq!(decimal_json("42.000"), json!(42));
        assert_eq!(decimal_json("-7"), json!(-7));
        assert_eq!(decimal_json("0.0000"), json!(0));
        assert_eq!(
            decimal_json("123456789012345"),
            json!(123_456_789_012_345_i64)
        );
        assert_eq!(decimal_json("1234567890123456"), json!("1234567890123456"));
        assert_eq!(
            decimal_json("0.1234567890123456"),
            json!("0.1234567890123456")
        );
        assert_eq!(decimal_json("99999999999.99"), json!(99_999_999_999.99));
        assert_eq!(decimal_json("NaN"), json!("NaN"));
        assert_eq!(decimal_json("1e5"), json!("1e5"));
        assert_eq!(decimal_json("."), json!("."));
        assert_eq!(
            decimal_json("1234567890123456789012345678.0123456789"),
            json!("1234567890123456789012345678.0123456789")
        );
    }

    #[test]
    fn floats_and_times() {
        assert_eq!(f32_json(0.1), json!(0.1));
        assert_eq!(f64_json(f64::NAN), json!("NaN"));
        assert_eq!(f64_json(f64::NEG_INFINITY), json!("-Infinity"));
        assert_eq!(fraction(120_000), ".12");
        assert_eq!(clock(100 * 3_600_000_000 + 5_000_001), "100:00:05.000001");
        assert_eq!(
            Engine::from_url("PostgreSQL://x").ok(),
            Some(Engine::Postgres)
        );
        assert_eq!(Engine::from_url("mariadb://x").ok(), Some(Engine::MySql));
        assert!(Engine::from_url("oracle://u:secret@h").is_err());
        let cfg = SourceConfig {
            url: "postgres://u:hunter2@h/db".into(),
            pool_size: 1,
            statement_timeout_ms: 0,
            allow_dml: false,
            exposed_schemas: vec![],
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
