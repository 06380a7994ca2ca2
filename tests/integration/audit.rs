//! The audit log: every tool call (successes, tool errors, refusals, unknown tools) is
//! recorded with its caller, redacted arguments, outcome, duration and error id; admins read
//! it with `list_audit_log`; retention deletes expired rows.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::*;
use crate::both_backends;

/// Long enough for any batch the tests leave behind to be written.
const DRAIN: Duration = Duration::from_secs(10);

async fn audit(app: &TestApp, args: Value) -> Value {
    assert!(app.app.audit.drain(DRAIN).await, "audit drained");
    let r = app.tool("list_audit_log", args).await;
    ok(&r).clone()
}

fn entries<'a>(page: &'a Value, tool: &str) -> Vec<&'a Value> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["tool"] == tool)
        .collect()
}

async fn calls_are_recorded_with_secrets_redacted(app: &TestApp) {
    const DB_PASSWORD: &str = "S3cret-Pa55word-db";
    const EXTRA_PASSWORD: &str = "hunter2-extra-secret";
    const UNKNOWN_TOKEN: &str = "tok-unknown-tool-secret";
    ok(&app.tool("list_charts", json!({"page_size": 2})).await);
    let missing = app
        .tool("get_chart_info", json!({"identifier": 987_654}))
        .await;
    let missing_error_id = err(&missing)["error_id"].clone();
    let long_sql = format!(
        "SELECT COUNT(*) AS n FROM regions /* {} */",
        "z".repeat(3000)
    );
    app.tool("execute_sql", json!({"database_id": 1, "sql": long_sql}))
        .await;
    let refused = app
        .tool(
            "register_database",
            json!({"database_name": "leaky", "url": format!("postgres://vizier:{DB_PASSWORD}@127.0.0.1:1/nope")}),
        )
        .await;
    err(&refused);
    let bad = app
        .tool(
            "register_database",
            json!({"database_name": "leaky2", "url": "sqlite:///nowhere.db", "password": EXTRA_PASSWORD}),
        )
        .await;
    assert_eq!(err(&bad)["error_type"], "invalid_argument");
    let key = app
        .tool(
            "create_api_key",
            json!({"username": "admin", "name": "audit test"}),
        )
        .await;
    let api_key = ok(&key)["api_key"].as_str().expect("key").to_string();
    // An unknown tool is a protocol error, with its own request id.
    let (status, _, body) = app
        .post_raw(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "no_such_tool", "arguments": {"token": UNKNOWN_TOKEN}}})
            .to_string(),
            &[
                ("mcp-protocol-version", "2025-11-25"),
                ("x-request-id", "audit-req-unknown"),
            ],
        )
        .await;
    assert!(
        status == 200 && body.contains("Unknown tool"),
        "{status} {body}"
    );

    let page = audit(app, json!({"page_size": 100})).await;
    let text = page.to_string();
    for secret in [DB_PASSWORD, EXTRA_PASSWORD, UNKNOWN_TOKEN, api_key.as_str()] {
        assert!(
            !text.contains(secret),
            "{secret} is in the audit log: {text}"
        );
    }
    let items = page["items"].as_array().expect("items");
    assert!(items.len() >= 7, "{text}");
    for e in items {
        assert!(e["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
        assert!(
            e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
        assert_eq!(e["username"], "admin", "{e}");
        assert!(e["user_id"].is_i64(), "{e}");
        assert_eq!(e["tenant"], Value::Null);
        assert!(e["arguments"].is_object(), "parsed arguments: {e}");
        // Tool errors carry an error id; successes and unknown tools have none.
        let has_id = e["outcome"] != "ok" && e["outcome"] != "protocol_error";
        assert_eq!(e["error_id"].is_string(), has_id, "{e}");
    }
    let times: Vec<&str> = items
        .iter()
        .map(|e| e["created_on"].as_str().expect("time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    let charts = entries(&page, "list_charts");
    assert_eq!(charts[0]["outcome"], "ok");
    assert_eq!(charts[0]["arguments"], json!({"page_size": 2}));
    let info = entries(&page, "get_chart_info");
    assert_eq!(info[0]["outcome"], "not_found");
    assert_eq!(info[0]["error_id"], missing_error_id);
    let sql = entries(&page, "execute_sql");
    let recorded = sql[0]["arguments"]["sql"].as_str().expect("sql");
    assert!(
        recorded.starts_with("SELECT COUNT(*) AS n FROM regions")
            && recorded.ends_with(" chars]")
            && recorded.contains("…[truncated"),
        "{recorded}"
    );
    let registered = entries(&page, "register_database");
    assert_eq!(registered.len(), 2);
    assert_eq!(registered[0]["outcome"], "invalid_argument");
    assert_eq!(registered[0]["arguments"]["password"], "***");
    assert_ne!(registered[1]["outcome"], "ok");
    assert_eq!(registered[1]["arguments"]["url"], "***");
    assert_eq!(registered[1]["arguments"]["database_name"], "leaky");
    let keys = entries(&page, "create_api_key");
    assert_eq!(
        (
            keys[0]["outcome"].as_str(),
            keys[0]["arguments"]["name"].as_str()
        ),
        (Some("ok"), Some("audit test"))
    );
    let unknown = entries(&page, "no_such_tool");
    assert_eq!(unknown[0]["outcome"], "protocol_error");
    assert_eq!(unknown[0]["request_id"], "audit-req-unknown");
    assert_eq!(unknown[0]["arguments"]["token"], "***");

    // Filters.
    let by_tool = audit(app, json!({"tool": "register_database"})).await;
    assert_eq!(by_tool["total_count"], 2, "{by_tool}");
    let by_outcome = audit(app, json!({"outcome": "not_found"})).await;
    assert_eq!(by_outcome["total_count"], 1, "{by_outcome}");
    let by_request = audit(app, json!({"request_id": "audit-req-unknown"})).await;
    assert_eq!(
        by_request["items"][0]["tool"], "no_such_tool",
        "{by_request}"
    );
    assert_eq!(by_request["total_count"], 1);
    let nobody = audit(app, json!({"user": "nobody"})).await;
    assert_eq!(nobody["total_count"], 0);
    let window = audit(
        app,
        json!({"since": times[times.len() - 1], "until": "2999-01-01", "page_size": 2, "page": 2}),
    )
    .await;
    assert_eq!(
        (window["page"].as_i64(), window["count"].as_i64()),
        (Some(2), Some(2))
    );
    assert!(window["total_count"].as_i64() >= Some(7), "{window}");
    assert_eq!(window["has_previous"], true);
    let future = audit(app, json!({"since": "2999-01-01"})).await;
    assert_eq!(future["total_count"], 0);
    // The reads themselves are recorded, and never answered from the response cache.
    let reads = audit(app, json!({"tool": "list_audit_log"})).await;
    let again = audit(app, json!({"tool": "list_audit_log"})).await;
    assert_eq!(
        again["total_count"].as_i64(),
        reads["total_count"].as_i64().map(|n| n + 1),
        "{again}"
    );

    // Bad filters name their field.
    let r = app
        .tool("list_audit_log", json!({"since": "last tuesday"}))
        .await;
    let e = err(&r);
    assert_eq!(
        (e["error_type"].as_str(), e["details"]["field"].as_str()),
        (Some("invalid_argument"), Some("since"))
    );
    let r = app.tool("list_audit_log", json!({"page_size": 500})).await;
    assert_eq!(err(&r)["details"]["field"], "page_size");
    let r = app
        .tool("list_audit_log", json!({"outcome": "permision_denied"}))
        .await;
    assert_eq!(err(&r)["details"]["suggestion"], "permission_denied");
}

both_backends!(
    calls_are_recorded_with_secrets_redacted_and_listed,
    calls_are_recorded_with_secrets_redacted
);

async fn only_admins_read_the_audit_log(app: &TestApp) {
    add_user(app, "gail", "gamma", &[]).await;
    let gail = app.replica_as("gail").await;
    let r = gail.tool("list_audit_log", json!({})).await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let client = gail.client(Era::Stateless).await;
    let tools = client.list_all_tools().await.expect("tools");
    assert!(tools.iter().all(|t| t.name != "list_audit_log"));
    client.cancel().await.ok();
    // The refusal is on record, written by the replica that refused it.
    assert!(gail.app.audit.drain(DRAIN).await);
    let page = audit(app, json!({"user": "gail"})).await;
    assert_eq!(page["total_count"], 1, "{page}");
    assert_eq!(page["items"][0]["tool"], "list_audit_log");
    assert_eq!(page["items"][0]["outcome"], "permission_denied");
    gail.stop().await;
}

both_backends!(only_admins_read_it, only_admins_read_the_audit_log);

/// Put a row straight into the table, `age_days` old.
async fn insert_row(app: &TestApp, tool: &str, age_days: i64) {
    use diesel_async::RunQueryDsl;
    use vizier::db::models::{NewAuditEntry, now};
    use vizier::db::schema::audit_log;
    let row = NewAuditEntry {
        created_on: now() - chrono::Duration::days(age_days),
        request_id: format!("seeded-{tool}"),
        user_id: None,
        username: "seed".into(),
        tenant: None,
        tool: tool.into(),
        arguments: "{}".into(),
        outcome: "ok".into(),
        error_id: None,
        duration_ms: 1.0,
    };
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::with_conn!(&mut conn, |c| {
        diesel::insert_into(audit_log::table)
            .values(&row)
            .execute(c)
            .await
            .expect("insert")
    });
}

async fn retention(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .config(|c| c.audit.retention_days = 30)
        .start()
        .await
    else {
        return;
    };
    insert_row(&app, "expired_call", 31).await;
    insert_row(&app, "kept_call", 29).await;
    let deleted = app.app.audit.sweep().await.expect("sweep");
    assert_eq!(deleted, 1);
    let page = audit(&app, json!({"user": "seed"})).await;
    let tools: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["tool"].as_str())
        .collect();
    assert_eq!(tools, ["kept_call"]);
    assert_eq!(app.app.audit.sweep().await, Ok(0), "nothing left to expire");
    app.stop().await;
}

#[actix_web::test]
async fn retention_deletes_expired_rows_sqlite() {
    retention(Backend::Sqlite).await;
}

#[actix_web::test]
async fn retention_deletes_expired_rows_postgres() {
    retention(Backend::Postgres).await;
}

#[actix_web::test]
async fn retention_zero_keeps_everything_and_disabled_records_nothing() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.audit.retention_days = 0)
        .start()
        .await
        .expect("app");
    insert_row(&app, "ancient_call", 5000).await;
    assert_eq!(app.app.audit.sweep().await, Ok(0));
    let page = audit(&app, json!({"tool": "ancient_call"})).await;
    assert_eq!(page["total_count"], 1);
    app.stop().await;

    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.audit.enabled = false)
        .start()
        .await
        .expect("app");
    ok(&app.tool("list_charts", json!({})).await);
    let page = audit(&app, json!({})).await;
    assert_eq!(page["total_count"], 0, "{page}");
    app.stop().await;
}
