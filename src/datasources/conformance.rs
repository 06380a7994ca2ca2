//! The engine-conformance suite: what every engine promises, written once and run against
//! each of them — PostgreSQL from `TEST_DATABASE_URL`, MariaDB from `TEST_MYSQL_URL` and
//! SQLite in a temporary file. Each case is one test per engine
//! (`conformance::postgres::CASE`, `conformance::mariadb::CASE`, `conformance::sqlite::CASE`).
//!
//! What belongs here: the cases (time limits, cancellation, truncation, read-only enforced by
//! the database, secrets kept out of connection errors), the [`TestEngine`] trait that tells
//! a case how to reach an engine and what differs between engines (a statement that sleeps,
//! one that returns a series of rows, the words of a read-only refusal), and the helpers the
//! engines' own tests share. What only one engine does (its value mapping, its catalog, its
//! extra guarantees) is tested beside its driver.
//!
//! A server whose URL is unset is not tested outside CI (said on stderr); in CI a missing URL
//! fails the test.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{QueryOptions, ResultSet, SourceConfig, SourceError, SourcePool, test_suffix};

/// How a case reaches an engine, and what differs between engines.
pub(crate) trait TestEngine: Sized {
    /// The engine under test, or None when its server is not configured (outside CI).
    fn source() -> Option<Self>;

    fn url(&self) -> String;

    /// The engine's words for a pool that fails to open: what must be running.
    const REACHABLE: &'static str;

    /// A statement that runs for `secs` seconds (SQLite, which cannot sleep: forever).
    fn sleep(secs: u32) -> String;

    /// A statement returning the rows 1..=`n` of one integer column, in order.
    fn series(n: u64) -> String;

    /// A name for a new table, qualified as the engine needs, unique to this run.
    fn table(prefix: &str) -> String;

    /// What the engine's refusal of a write in a read-only statement says.
    const READ_ONLY_WORDS: &'static str;

    /// Statements beyond INSERT, DROP TABLE and CREATE TABLE that a read-only source must
    /// refuse, given the test's table.
    fn more_writes(_table: &str) -> Vec<String> {
        Vec::new()
    }

    /// How soon after an abandoned statement the one-connection pool serves again.
    const RECOVERS_WITHIN: Duration;

    /// Sources that cannot be opened; the server ones carry the password `SuperSecret99`.
    fn unreachable(&self) -> Vec<String>;

    /// A pool on this engine. Every test pool bounds statements at 10 s.
    async fn pool(&self, pool_size: u32, allow_dml: bool, exposed: Vec<String>) -> SourcePool {
        SourcePool::connect(SourceConfig {
            url: self.url(),
            pool_size,
            statement_timeout_ms: 10_000,
            allow_dml,
            exposed_schemas: exposed,
        })
        .await
        .expect(Self::REACHABLE)
    }
}

/// The URL of a test server from `var`; None (test not run, said on stderr) when unset
/// outside CI. In CI a missing URL fails the test.
fn server_url(var: &str, engine: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(std::env::var("CI").is_err(), "{var} must be set in CI");
            eprintln!("NOTE: {var} is not set: this {engine} test was NOT run");
            None
        }
    }
}

pub(crate) struct Postgres {
    url: String,
}

impl TestEngine for Postgres {
    fn source() -> Option<Self> {
        server_url("TEST_DATABASE_URL", "PostgreSQL").map(|url| Self { url })
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    const REACHABLE: &'static str = "PostgreSQL at 127.0.0.1:5432 must be reachable";

    fn sleep(secs: u32) -> String {
        format!("SELECT pg_sleep({secs})")
    }

    fn series(n: u64) -> String {
        format!("SELECT g FROM generate_series(1, {n}) g")
    }

    fn table(prefix: &str) -> String {
        format!("public.{prefix}_{}", test_suffix())
    }

    const READ_ONLY_WORDS: &'static str = "read-only transaction";

    const RECOVERS_WITHIN: Duration = Duration::from_secs(2);

    fn unreachable(&self) -> Vec<String> {
        vec!["postgres://postgres:SuperSecret99@127.0.0.1:1/test".into()]
    }
}

pub(crate) struct MariaDb {
    url: String,
}

impl TestEngine for MariaDb {
    fn source() -> Option<Self> {
        server_url("TEST_MYSQL_URL", "MariaDB").map(|url| Self { url })
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    const REACHABLE: &'static str = "MariaDB/MySQL at 127.0.0.1:3306 must be reachable";

    fn sleep(secs: u32) -> String {
        format!("SELECT SLEEP({secs})")
    }

    fn series(n: u64) -> String {
        format!("SELECT seq FROM seq_1_to_{n}")
    }

    fn table(prefix: &str) -> String {
        format!("{prefix}_{}", test_suffix())
    }

    const READ_ONLY_WORDS: &'static str = "READ ONLY";

    /// DDL would commit a read-only transaction implicitly and run outside it: the session
    /// access mode must refuse it too.
    fn more_writes(table: &str) -> Vec<String> {
        vec![format!("TRUNCATE TABLE {table}")]
    }

    const RECOVERS_WITHIN: Duration = Duration::from_secs(2);

    fn unreachable(&self) -> Vec<String> {
        vec![
            "mysql://root:SuperSecret99@127.0.0.1:1/test".into(),
            "mariadb://nobody_vz:SuperSecret99@127.0.0.1:3306/test".into(),
        ]
    }
}

/// An empty database file in a directory of its own, removed with it.
pub(crate) struct Sqlite {
    dir: tempfile::TempDir,
    url: String,
}

/// A statement SQLite never finishes: only an interrupt ends it.
pub(crate) const FOREVER: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

impl TestEngine for Sqlite {
    fn source() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.db");
        rusqlite::Connection::open(&path).unwrap();
        let url = format!("sqlite://{}", path.display());
        Some(Self { dir, url })
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    const REACHABLE: &'static str = "the SQLite test file must open";

    fn sleep(_secs: u32) -> String {
        FOREVER.into()
    }

    fn series(n: u64) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
             SELECT x FROM c"
        )
    }

    fn table(prefix: &str) -> String {
        format!("{prefix}_{}", test_suffix())
    }

    const READ_ONLY_WORDS: &'static str = "readonly";

    /// Not even TEMP tables may be written.
    fn more_writes(_table: &str) -> Vec<String> {
        vec!["CREATE TEMP TABLE scratch (x)".into()]
    }

    /// The interrupted statement gives its connection back as soon as it stops.
    const RECOVERS_WITHIN: Duration = Duration::from_secs(1);

    /// SQLite has no password: a file that is not there.
    fn unreachable(&self) -> Vec<String> {
        vec![format!(
            "sqlite://{}",
            self.dir.path().join("absent.db").display()
        )]
    }
}

/// Runs a statement that may write.
pub(crate) async fn run(pool: &SourcePool, sql: &str) -> Result<ResultSet, SourceError> {
    pool.query(
        sql,
        QueryOptions {
            read_only: false,
            ..QueryOptions::default()
        },
        CancellationToken::new(),
    )
    .await
}

/// Runs a read-only statement that must succeed.
pub(crate) async fn select(pool: &SourcePool, sql: &str) -> ResultSet {
    pool.query(sql, QueryOptions::default(), CancellationToken::new())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// The cases

async fn statement_timeout_is_enforced<E: TestEngine>(engine: &E) {
    let pool = engine.pool(1, false, vec![]).await;
    let started = std::time::Instant::now();
    let err = pool
        .query(
            &E::sleep(5),
            QueryOptions {
                timeout: Duration::from_millis(300),
                ..QueryOptions::default()
            },
            CancellationToken::new(),
        )
        .await;
    assert_eq!(err, Err(SourceError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(select(&pool, "SELECT 1").await.rows, vec![vec![json!(1)]]);
}

async fn cancellation_stops_the_statement_and_keeps_the_pool_usable<E: TestEngine>(engine: &E) {
    let pool = engine.pool(1, false, vec![]).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = std::time::Instant::now();
    let err = pool
        .query(&E::sleep(10), QueryOptions::default(), cancel)
        .await;
    assert_eq!(err, Err(SourceError::Cancelled));
    assert!(started.elapsed() < Duration::from_secs(2));

    let started = std::time::Instant::now();
    assert_eq!(select(&pool, "SELECT 1").await.rows, vec![vec![json!(1)]]);
    assert!(started.elapsed() < Duration::from_secs(1));

    // A caller that gives up (drops the future) stops the statement just the same.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        pool.query(
            &E::sleep(10),
            QueryOptions::default(),
            CancellationToken::new(),
        ),
    )
    .await;
    assert!(abandoned.is_err());
    let started = std::time::Instant::now();
    assert_eq!(select(&pool, "SELECT 2").await.rows, vec![vec![json!(2)]]);
    assert!(started.elapsed() < E::RECOVERS_WITHIN);
}

async fn truncates_at_max_rows<E: TestEngine>(engine: &E) {
    let pool = engine.pool(1, false, vec![]).await;
    let opts = |max_rows| QueryOptions {
        max_rows,
        ..QueryOptions::default()
    };
    let rs = pool
        .query(&E::series(100_000), opts(10), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated), (10, true));
    assert_eq!(rs.rows[9], vec![json!(10)]);
    let rs = pool
        .query(&E::series(10), opts(10), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated), (10, false));
}

async fn read_only_is_enforced_by_the_database<E: TestEngine>(engine: &E) {
    let t = E::table("vz_ro");
    let dml = engine.pool(1, true, vec![]).await;
    run(&dml, &format!("CREATE TABLE {t} (x INT)"))
        .await
        .unwrap();
    let insert = format!("INSERT INTO {t} VALUES (1)");

    // Read-only requested on a source that allows writes.
    let err = dml
        .query(&insert, QueryOptions::default(), CancellationToken::new())
        .await;
    assert!(
        matches!(&err, Err(SourceError::ReadOnlyViolation(m)) if m.contains(E::READ_ONLY_WORDS)),
        "{err:?}"
    );
    // Writes requested on a source that does not allow them.
    let ro = engine.pool(1, false, vec![]).await;
    let mut writes = vec![
        insert.clone(),
        format!("DROP TABLE {t}"),
        format!("CREATE TABLE {t}_never (x INT)"),
    ];
    writes.extend(E::more_writes(&t));
    for sql in writes {
        let err = run(&ro, &sql).await;
        assert!(
            matches!(&err, Err(SourceError::ReadOnlyViolation(m)) if m.contains(E::READ_ONLY_WORDS)),
            "{sql}: {err:?}"
        );
    }
    let rs = run(&dml, &insert).await.unwrap();
    assert_eq!(rs.rows_affected, Some(1));
    let count = select(&dml, &format!("SELECT COUNT(*) FROM {t}")).await;
    assert_eq!(count.rows, vec![vec![json!(1)]]);
    run(&dml, &format!("DROP TABLE {t}")).await.unwrap();
}

async fn connection_errors_hide_the_password<E: TestEngine>(engine: &E) {
    for url in engine.unreachable() {
        let err = SourcePool::connect(SourceConfig {
            url,
            pool_size: 1,
            statement_timeout_ms: 1000,
            allow_dml: false,
            exposed_schemas: vec![],
        })
        .await
        .err()
        .unwrap();
        assert!(matches!(err, SourceError::Connect(_)), "{err:?}");
        assert!(!err.to_string().contains("SuperSecret99"), "{err}");
    }
}

/// The cases, as one test each in module `$module` for engine `$engine`.
macro_rules! engine_tests {
    ($module:ident, $engine:ident, [$($case:ident),+]) => {
        mod $module {
            use super::TestEngine as _;
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(engine) = super::$engine::source() {
                        super::$case(&engine).await;
                    }
                }
            )+
        }
    };
}

/// Every case against every engine.
macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        engine_tests!(postgres, Postgres, [$($case),+]);
        engine_tests!(mariadb, MariaDb, [$($case),+]);
        engine_tests!(sqlite, Sqlite, [$($case),+]);
    };
}

conformance!(
    statement_timeout_is_enforced,
    cancellation_stops_the_statement_and_keeps_the_pool_usable,
    truncates_at_max_rows,
    read_only_is_enforced_by_the_database,
    connection_errors_hide_the_password,
);
