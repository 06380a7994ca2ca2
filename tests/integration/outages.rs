//! Outages of what vizier depends on, cut with a TCP proxy the test controls (loopback only;
//! the shared PostgreSQL server itself is never stopped): a data source that goes down is
//! reported as `unavailable` naming it, at once; a metadata store that goes down makes calls
//! and `/ready` fail fast until it is back; audit and query history written meanwhile wait
//! in the spool and reach the store once it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::support::*;

/// A TCP proxy to `target`. While cut, open connections are closed and new ones are
/// accepted and closed at once (a client sees its connection fail, as with a stopped server).
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Cancelled to close the connections open now; replaced on each cut.
    links: std::sync::Mutex<CancellationToken>,
    stop: CancellationToken,
}

impl Proxy {
    async fn start(target: String) -> Arc<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Arc::new(Proxy {
            port: listener.local_addr().expect("addr").port(),
            up: Arc::new(AtomicBool::new(true)),
            links: std::sync::Mutex::new(CancellationToken::new()),
            stop: CancellationToken::new(),
        });
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = tokio::select! {
                    () = p.stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                };
                if !p.up.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let link = p.links.lock().expect("links").clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        () = link.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        proxy
    }

    fn cut(&self) {
        self.up.store(false, Ordering::Release);
        let mut links = self.links.lock().expect("links");
        links.cancel();
        *links = CancellationToken::new();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.links.lock().map(|l| l.cancel()).ok();
    }
}

/// host:port of a postgres:// URL, and the URL with them replaced by `port` on loopback.
fn via_proxy(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hostport = &rest[..end];
    let target = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:5432")
    };
    let at = if userinfo.is_empty() { "" } else { "@" };
    let proxied = format!("{scheme}://{userinfo}{at}127.0.0.1:{port}{}", &rest[end..]);
    (target, proxied)
}

fn error_of(body: &Value) -> Value {
    let text = body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("{}");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[actix_web::test]
async fn a_data_source_that_goes_down_is_unavailable_at_once_naming_it() {
    let Some(admin) = pg_admin_url() else { return };
    let (target, _) = via_proxy(&admin, 0);
    let proxy = Proxy::start(target).await;
    let (_, url) = via_proxy(&admin, proxy.port);
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "warehouse_behind_proxy", "url": url}),
        )
        .await;
    let id = ok(&r)["id"].clone();
    let sql = json!({"database_id": id, "sql": "SELECT 1 AS one"});
    ok(&app.tool("execute_sql", sql.clone()).await);

    proxy.cut();
    for round in 0..3 {
        let started = Instant::now();
        let r = app.tool("execute_sql", sql.clone()).await;
        let elapsed = started.elapsed();
        let e = err(&r);
        assert!(
            elapsed < Duration::from_secs(3),
            "round {round}: answered after {elapsed:?}, not at once: {e}"
        );
        assert_eq!(e["error_type"], "unavailable", "round {round}: {e}");
        let message = e["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("warehouse_behind_proxy"),
            "names the source: {e}"
        );
        assert_eq!(e["details"]["database"], "warehouse_behind_proxy", "{e}");
        assert!(e["details"]["cause"].is_string(), "names the cause: {e}");
    }

    proxy.restore();
    let r = app.tool("execute_sql", sql.clone()).await;
    assert_eq!(ok(&r)["rows"][0][0], 1, "works again once it is back");
    app.stop().await;
}

/// Audit rows of `tool` with outcome `outcome`, read straight from the store.
async fn audit_rows(app: &TestApp, tool: &str, outcome: &str) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use vizier::db::schema::audit_log::dsl;
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::with_conn!(&mut conn, |c| {
        dsl::audit_log
            .filter(dsl::tool.eq(tool))
            .filter(dsl::outcome.eq(outcome))
            .count()
            .get_result::<i64>(c)
            .await
    })
    .expect("count")
}

async fn history_rows(app: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use vizier::db::schema::query_history::dsl;
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::with_conn!(&mut conn, |c| {
        dsl::query_history
            .filter(dsl::sql.eq(sql))
            .count()
            .get_result::<i64>(c)
            .await
    })
    .expect("count")
}

#[actix_web::test]
async fn a_metadata_outage_fails_fast_and_loses_no_audit_or_history() {
    let Some(admin) = pg_admin_url() else { return };
    let (target, _) = via_proxy(&admin, 0);
    let proxy = Proxy::start(target).await;
    let port = proxy.port;
    let app = TestApp::builder(Backend::Postgres)
        .metadata_url(move |url| via_proxy(&url, port).1)
        .config(|c| c.cache.ttl_ms = 0)
        .start()
        .await
        .expect("app");
    ok(&app.tool("get_instance_info", json!({})).await);
    let (status, _) = app.get("/ready").await;
    assert_eq!(status, 200);
    let database_id = {
        let r = app.tool("list_databases", json!({})).await;
        ok(&r)["items"][0]["id"].as_i64().expect("example database") as i32
    };

    proxy.cut();
    // Every call fails fast, as `unavailable` with Retry-After (HTTP 503), not after the
    // 5 s connect timeout.
    const CALLS: usize = 12;
    for i in 0..CALLS {
        let started = Instant::now();
        let (status, headers, body) = app.call_raw("list_charts", json!({})).await;
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(1500),
            "call {i} took {elapsed:?}: {body}"
        );
        assert_eq!(status, 503, "call {i}: {body}");
        assert!(
            headers.get("retry-after").is_some(),
            "call {i}: Retry-After"
        );
        assert_eq!(error_of(&body)["error_type"], "unavailable", "{body}");
        let started = Instant::now();
        let (status, ready) = app.get("/ready").await;
        assert_eq!(status, 503, "{ready}");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "/ready is immediate"
        );
        // Query history handed over during the outage (execute_sql itself needs the store).
        app.app.history.record(vizier::db::models::NewQueryRecord {
            uuid: uuid::Uuid::new_v4().to_string(),
            user_id: None,
            database_id,
            schema_name: None,
            sql: "SELECT 'spooled during the outage'".into(),
            executed_sql: None,
            status: "success".into(),
            error_message: None,
            row_count: Some(1),
            duration_ms: Some(1),
            started_on: chrono::Utc::now().naive_utc(),
            finished_on: None,
        });
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    // Past the old give-up point (~10 s) the records wait in the spool.
    let spooled = std::fs::read_to_string(
        app.app
            .config
            .spool
            .dir
            .clone()
            .expect("test spool dir")
            .join("audit.jsonl"),
    )
    .unwrap_or_default();
    assert!(
        spooled.lines().count() >= CALLS,
        "audit records spooled: {}",
        spooled.lines().count()
    );

    proxy.restore();
    let started = Instant::now();
    loop {
        if app.get("/ready").await.0 == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ready again within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // All of it reaches the store once it is back.
    let started = Instant::now();
    loop {
        let audited = audit_rows(&app, "list_charts", "unavailable").await;
        let history = history_rows(&app, "SELECT 'spooled during the outage'").await;
        if audited == CALLS as i64 && history == CALLS as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "audit {audited}/{CALLS}, history {history}/{CALLS} after recovery"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ok(&app.tool("list_charts", json!({})).await);
    app.stop().await;
}

/// `health_check` answers from the store check the DbActor makes every second (calls in a
/// burst report the same check, not one each), and still tells the truth: degraded within
/// seconds of the store going down, healthy again once it is back.
#[actix_web::test]
async fn health_check_reads_the_kept_liveness_and_tells_the_truth_in_an_outage() {
    let Some(admin) = pg_admin_url() else { return };
    let (target, _) = via_proxy(&admin, 0);
    let proxy = Proxy::start(target).await;
    let port = proxy.port;
    let app = TestApp::builder(Backend::Postgres)
        .metadata_url(move |url| via_proxy(&url, port).1)
        .start()
        .await
        .expect("app");
    let health = || async {
        let (status, _, body) = app.call_raw("health_check", json!({})).await;
        assert_eq!(status, 200, "{body}");
        body["result"]["structuredContent"].clone()
    };
    let h = health().await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["metadata_store"]["status"], "ok", "{h}");
    assert!(h["metadata_store"]["checked_ms_ago"].is_u64(), "{h}");

    // A burst: every call reports one of at most a few checks (the kept one, and the next
    // when a tick falls inside the burst), never one check per call.
    let mut checks = std::collections::BTreeSet::new();
    let started = Instant::now();
    for _ in 0..20 {
        let h = health().await;
        assert_eq!(h["status"], "healthy", "{h}");
        let ago = h["metadata_store"]["checked_ms_ago"].as_u64().expect("age");
        assert!(ago <= 3000, "the kept check is fresh: {h}");
        checks.insert(
            h["metadata_store"]["checked_at"]
                .as_str()
                .expect("when")
                .to_owned(),
        );
    }
    let burst = started.elapsed();
    assert!(
        checks.len() <= 2 + burst.as_secs() as usize,
        "{} store checks for 20 calls in {burst:?}: {checks:?}",
        checks.len()
    );

    proxy.cut();
    let started = Instant::now();
    loop {
        let h = health().await;
        if h["status"] == "degraded" {
            assert_eq!(h["metadata_store"]["status"], "error", "{h}");
            assert!(h["metadata_store"]["error"].is_string(), "{h}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "degraded within 5 s of the outage: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    proxy.restore();
    let started = Instant::now();
    loop {
        let h = health().await;
        if h["status"] == "healthy" {
            assert_eq!(h["metadata_store"]["migrations_current"], true, "{h}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "healthy within 10 s of the store's return: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
