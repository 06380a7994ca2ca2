//! The test harness: start the real app (the same `app::build` + `app::http_server` as
//! `vizier serve`) on a free port with an isolated metadata store, and talk to it through
//! rmcp's client or plain HTTP.
//!
//! Isolation: SQLite tests get their own temporary directory; PostgreSQL tests get their own
//! database, created from the admin URL in `TEST_DATABASE_URL` and dropped by `stop()`.
//! The example data file is generated once per test process and shared read-only.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use vizier::config::{Config, Secret};
use vizier::tools::state::AppState;

pub const PG_ENV: &str = "TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A protocol era: the initialize handshake at a given version, or stateless 2026-07-28.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Handshake(&'static str),
    Stateless,
}

pub const ERAS: [Era; 4] = [
    Era::Handshake("2025-03-26"),
    Era::Handshake("2025-06-18"),
    Era::Handshake("2025-11-25"),
    Era::Stateless,
];

/// The admin URL of the test PostgreSQL server, or None when not configured. In CI a
/// missing URL is a failure, never a silent skip.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "{PG_ENV} is not set in CI: the PostgreSQL half of the suite must run there"
            );
            eprintln!("NOTE: {PG_ENV} is not set: the PostgreSQL half of this test was NOT run");
            None
        }
    }
}

/// The example data file, generated once per test process.
pub fn example_db() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vizier-examples.db");
        if vizier::example::data::stats(&path)
            .map(|s| s.order_lines)
            .unwrap_or(0)
            == 0
        {
            vizier::example::data::generate(&path).expect("generate example data");
        }
        path
    })
    .clone()
}

pub struct TestApp {
    pub url: String,
    pub base: String,
    pub app: Arc<AppState>,
    pub backend: Backend,
    handle: actix_web::dev::ServerHandle,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

pub struct Builder {
    backend: Backend,
    config: Config,
    /// Rewrites the PostgreSQL metadata URL (e.g. to go through a proxy a test can cut).
    metadata_url: Option<Box<dyn FnOnce(String) -> String>>,
}

impl Builder {
    pub fn config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// Reach the PostgreSQL metadata store through `f(url)` instead of `url`.
    pub fn metadata_url(mut self, f: impl FnOnce(String) -> String + 'static) -> Self {
        self.metadata_url = Some(Box::new(f));
        self
    }

    /// Start the app, or None for PostgreSQL when no test server is configured.
    pub async fn start(self) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = self.config;
        config.server.bind = "127.0.0.1:0".into();
        config.examples.enabled = Some(true);
        config.examples.path = example_db();
        config.secrets.key_file = Some(dir.path().join("secret.key"));
        config.logging.level = "warn".into();
        // Spool files of their own: parallel tests must never replay each other's records.
        if config.spool.dir.is_none() {
            config.spool.dir = Some(dir.path().join("spool"));
        }
        let mut pg = None;
        match self.backend {
            Backend::Sqlite => {
                config.metadata.url =
                    Secret::new(format!("sqlite://{}", dir.path().join("meta.db").display()));
            }
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                let name = format!("vizier_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = AsyncPgConnection::establish(&admin)
                    .await
                    .expect("connect to test PostgreSQL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let url = replace_db(&admin, &name);
                let url = match self.metadata_url {
                    Some(f) => f(url),
                    None => url,
                };
                config.metadata.url = Secret::new(url);
                config.metadata.auto_migrate = Some(true);
                config.secrets.encryption_key =
                    Some(Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
                pg = Some((admin, name));
            }
        }
        let app = vizier::app::build(config).await.expect("app builds");
        let running = vizier::app::http_server(app.clone()).expect("server binds");
        let base = format!("http://{}", running.addr);
        let handle = running.handle.clone();
        actix_web::rt::spawn(running.server);
        Some(TestApp {
            url: format!("{base}/mcp"),
            base,
            app,
            backend: self.backend,
            handle,
            pg,
            _dir: dir,
        })
    }
}

fn replace_db(url: &str, db: &str) -> String {
    let (head, tail) = url
        .split_once('?')
        .map_or((url, None), |(h, t)| (h, Some(t)));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    match tail {
        Some(t) => format!("{base}/{db}?{t}"),
        None => format!("{base}/{db}"),
    }
}

impl TestApp {
    pub fn builder(backend: Backend) -> Builder {
        let mut config = Config::default();
        // Tests call tools far faster than any person; the rate-limit tests turn limits on.
        config.rate_limits.enabled = false;
        // Render threads run at a low OS priority; on a busy test machine (tests run in
        // parallel) a debug-build picture may wait well past the production limit.
        config.screenshots.time_limit_ms = 120_000;
        // The default ("idle") draws only on CPU time nothing else wants; parallel tests
        // keep the CPU busy, and the tests are about pictures, not about that priority.
        config.screenshots.priority = vizier::priority::RenderPriority::Low;
        Builder {
            backend,
            config,
            metadata_url: None,
        }
    }

    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::builder(backend).start().await
    }

    /// Stop the server and actors; drop the PostgreSQL test database.
    pub async fn stop(self) {
        self.handle.stop(false).await;
        self.app
            .supervisor
            .do_send(vizier::actors::supervisor::Shutdown);
        if let Some((admin, name)) = &self.pg {
            // Connections of the app's pool may still be closing.
            drop(self.app);
            if let Ok(mut conn) = AsyncPgConnection::establish(admin).await {
                let _ = conn
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        }
    }

    /// An rmcp client connected in `era`.
    pub async fn client(&self, era: Era) -> RunningService<RoleClient, ClientConfig> {
        init_crypto();
        let transport = StreamableHttpClientTransport::from_uri(self.url.clone());
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("vizier-tests", "1"),
        );
        match era {
            Era::Handshake(v) => {
                let version = match v {
                    "2025-03-26" => ProtocolVersion::V_2025_03_26,
                    "2025-06-18" => ProtocolVersion::V_2025_06_18,
                    _ => ProtocolVersion::V_2025_11_25,
                };
                info.with_protocol_version(version)
                    .serve(transport)
                    .await
                    .expect("initialize")
            }
            Era::Stateless => info
                .serve_with_lifecycle(
                    transport,
                    ClientLifecycleMode::Discover {
                        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                    },
                )
                .await
                .expect("discover"),
        }
    }

    /// POST a raw JSON-RPC body (handshake-era headers) and return status, headers, body.
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = http_client()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.body(body).send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        (status, headers, text)
    }

    /// Call a tool through plain HTTP (handshake era, stateless server: no session needed).
    pub async fn call_raw(
        &self,
        tool: &str,
        args: Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}});
        let (status, headers, text) = self
            .post_raw(body.to_string(), &[("mcp-protocol-version", "2025-11-25")])
            .await;
        (status, headers, parse_body(&text))
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = http_client()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }
}

/// reqwest is built with a pluggable TLS provider (vizier's JWKS client uses ring): HTTP
/// clients in tests need one installed before they are built.
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        init_crypto();
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    })
}

/// The last JSON-RPC message of a JSON or SSE body.
pub fn parse_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    sse_messages(text).pop().unwrap_or(Value::Null)
}

/// Every JSON message in an SSE body.
pub fn sse_messages(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// Call a tool through an rmcp client.
pub async fn call<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("calling {tool}: {e}"))
}

/// The structured content of a successful result.
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool failed: {:?}",
        result.structured_content
    );
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

/// The error body of a failed result.
pub fn err(result: &CallToolResult) -> &Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error, got {:?}",
        result.structured_content
    );
    let body = result
        .structured_content
        .as_ref()
        .expect("structured error");
    for key in ["error", "error_type", "details", "timestamp", "error_id"] {
        assert!(body.get(key).is_some(), "error lacks {key}: {body}");
    }
    body
}

/// Define one test per backend from `async fn body(app: &TestApp)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let app = TestApp::start(Backend::Sqlite).await.expect("sqlite app");
                $body(&app).await;
                app.stop().await;
            }
            #[actix_web::test]
            async fn postgres() {
                let Some(app) = TestApp::start(Backend::Postgres).await else {
                    return;
                };
                $body(&app).await;
                app.stop().await;
            }
        }
    };
}

/// A user with a role of its own holding `grants` ((permission, object_type, object_id)),
/// plus the built-in role `builtin` — created straight in the metadata store, the way an
/// admin would set it up.
pub async fn add_user(
    app: &TestApp,
    username: &str,
    builtin: &str,
    grants: &[(&str, Option<&str>, Option<i32>)],
) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use vizier::db::schema::{role_permissions, roles, user_roles};
    let mut conn = app.app.db.conn().await.expect("conn");
    let uid = vizier::auth::roles::ensure_user(&mut conn, username, builtin, None)
        .await
        .expect("user");
    let role_name = format!("{username}_grants");
    let at = vizier::db::models::now();
    vizier::with_conn!(&mut conn, |c| {
        let rid: i32 = diesel::insert_into(roles::table)
            .values(vizier::db::models::NewRole {
                uuid: vizier::db::models::new_uuid(),
                name: &role_name,
                description: "test grants",
                created_on: at,
                changed_on: at,
                tenant: None,
            })
            .returning(roles::id)
            .get_result(c)
            .await
            .expect("role");
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(uid), user_roles::role_id.eq(rid)))
            .execute(c)
            .await
            .expect("link");
        for (permission, object_type, object_id) in grants {
            diesel::insert_into(role_permissions::table)
                .values(vizier::db::models::NewRolePermission {
                    role_id: rid,
                    permission,
                    object_type: *object_type,
                    object_id: *object_id,
                    created_on: at,
                })
                .execute(c)
                .await
                .expect("grant");
        }
    });
}

impl TestApp {
    /// Another replica on the same metadata store, whose calls run as `username`.
    pub async fn replica_as(&self, username: &str) -> TestApp {
        self.replica_with(username, |_| {}).await
    }

    /// [`Self::replica_as`] with its configuration changed by `f`.
    pub async fn replica_with(&self, username: &str, f: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = (*self.app.config).clone();
        f(&mut config);
        config.auth.dev_user = Some(username.into());
        config.server.bind = "127.0.0.1:0".into();
        // A spool of its own: two writers must never share one spool file.
        let dir = tempfile::tempdir().expect("tempdir");
        config.spool.dir = Some(dir.path().join("spool"));
        let app = vizier::app::build(config).await.expect("replica builds");
        let running = vizier::app::http_server(app.clone()).expect("replica binds");
        let base = format!("http://{}", running.addr);
        let handle = running.handle.clone();
        actix_web::rt::spawn(running.server);
        TestApp {
            url: format!("{base}/mcp"),
            base,
            app,
            backend: self.backend,
            handle,
            pg: None,
            _dir: dir,
        }
    }

    /// Call a tool through a fresh handshake-era client and return the result.
    pub async fn tool(&self, tool: &str, args: Value) -> CallToolResult {
        let client = self.client(Era::Handshake("2025-11-25")).await;
        let r = call(&client, tool, args).await;
        client.cancel().await.ok();
        r
    }
}

pub const MYSQL_ENV: &str = "TEST_MYSQL_URL";

/// The MariaDB/MySQL test server URL, or None when not configured (a failure in CI).
pub fn mysql_url() -> Option<String> {
    match std::env::var(MYSQL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "{MYSQL_ENV} is not set in CI: the MariaDB tests must run there"
            );
            eprintln!("NOTE: {MYSQL_ENV} is not set: the MariaDB part of this test was NOT run");
            None
        }
    }
}

/// A SQLite database of tills ('a' 1.0, 'b' 2.0) in `dir`, registered with `app` (whose
/// `datasources.sqlite_dirs` allows `dir`) with a dataset on its table; its dataset id, the
/// arguments of a pie of the amount by till for get_chart_data, and a connection to change
/// the rows behind vizier's back.
pub async fn tills(app: &TestApp, dir: &std::path::Path) -> (Value, Value, rusqlite::Connection) {
    let path = dir.join("tills.db");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE tills (till TEXT NOT NULL, amount REAL NOT NULL);
         INSERT INTO tills VALUES ('a', 1.0), ('b', 2.0);",
    )
    .expect("schema");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "tills", "url": format!("sqlite://{}", path.display())}),
        )
        .await;
    let db = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": db, "table_name": "tills"}),
        )
        .await;
    let ds = ok(&r)["id"].clone();
    let config = json!({"chart_type": "pie", "dimension": "till",
        "metric": {"column": "amount", "aggregate": "SUM", "label": "amount"}});
    let args = json!({"dataset_id": ds, "config": config});
    (ds, args, conn)
}

/// The sum of the amounts in a tills pie's rows (see [`tills`]).
pub fn tills_total(r: &CallToolResult) -> f64 {
    ok(r)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row[1].as_f64().expect("amount"))
        .sum()
}
