//! Data sources through the tools: registration (admin), describing tables, creating
//! datasets — on SQLite, PostgreSQL and MariaDB sources.

use serde_json::{Value, json};

use super::support::*;

/// A SQLite source file with one table, inside the app's allowed directory.
fn sqlite_source(dir: &std::path::Path) -> String {
    let path = dir.join("events.db");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, happened_at TIMESTAMP, kind TEXT NOT NULL, amount REAL);
         INSERT INTO events VALUES (1, '2025-01-01 10:00:00', 'sale', 10.5), (2, '2025-01-02 11:00:00', 'refund', -3.0);
         CREATE VIEW sales AS SELECT * FROM events WHERE kind = 'sale';",
    )
    .expect("schema");
    format!("sqlite://{}", path.display())
}

async fn register(app: &TestApp, name: &str, url: &str) -> Value {
    let r = app
        .tool(
            "register_database",
            json!({"database_name": name, "url": url}),
        )
        .await;
    ok(&r).clone()
}

#[actix_web::test]
async fn sqlite_sources_register_describe_and_become_datasets() {
    let dir = tempfile::tempdir().expect("dir");
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| c.datasources.sqlite_dirs = vec![allowed])
        .start()
        .await
        .expect("app");
    let url = sqlite_source(dir.path());
    let db = register(&app, "events", &url).await;
    assert_eq!(db["backend"], "sqlite");
    assert_eq!(db["settings"]["allow_dml"], false);
    let id = db["id"].clone();

    let r = app.tool("get_table", json!({"database_id": id})).await;
    let tables = ok(&r)["tables"].clone();
    assert_eq!(
        tables,
        json!([{"schema": null, "name": "events", "kind": "table"}, {"schema": null, "name": "sales", "kind": "view"}])
    );
    let r = app
        .tool(
            "get_table",
            json!({"database_id": id, "table_name": "events"}),
        )
        .await;
    let cols = ok(&r)["columns"].clone();
    assert_eq!(cols[1]["name"], "happened_at");
    assert_eq!(cols[1]["is_temporal"], true);
    assert_eq!(cols[2]["is_nullable"], false);
    let r = app
        .tool(
            "get_table",
            json!({"database_id": id, "table_name": "nope"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "not_found");

    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": id, "table_name": "events", "description": "All events"}),
        )
        .await;
    let ds = ok(&r).clone();
    assert_eq!(ds["main_dttm_col"], "happened_at");
    assert_eq!(ds["columns"].as_array().map(Vec::len), Some(4));
    let r = app
        .tool("get_dataset_info", json!({"identifier": ds["id"]}))
        .await;
    let info = ok(&r);
    assert_eq!(info["database_name"], "events");
    assert_eq!(info["columns"][1]["type"], "TIMESTAMP");
    let again = app
        .tool(
            "create_dataset",
            json!({"database_id": id, "table_name": "events"}),
        )
        .await;
    assert_eq!(err(&again)["error_type"], "conflict");
    let view = app
        .tool(
            "create_dataset",
            json!({"database_id": id, "table_name": "sales"}),
        )
        .await;
    ok(&view);
    let missing = app
        .tool(
            "create_dataset",
            json!({"database_id": id, "table_name": "nope"}),
        )
        .await;
    assert_eq!(err(&missing)["error_type"], "not_found");

    // Virtual datasets: columns found by preparing the query; only queries.
    let sql =
        "SELECT kind, SUM(amount) AS total, MAX(happened_at) AS last_at FROM events GROUP BY kind";
    let r = app
        .tool(
            "create_virtual_dataset",
            json!({"database_id": id, "sql": sql, "dataset_name": "by_kind"}),
        )
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["kind"], "virtual");
    let names: Vec<&str> = v["columns"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["kind", "total", "last_at"]);
    let r = app
        .tool(
            "create_virtual_dataset",
            json!({"database_id": id, "sql": sql, "dataset_name": "by_kind"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "conflict");
    let r = app
        .tool(
            "create_virtual_dataset",
            json!({"database_id": id, "sql": "DELETE FROM events", "dataset_name": "x"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let r = app
        .tool(
            "create_virtual_dataset",
            json!({"database_id": id, "sql": "SELECT nope FROM events", "dataset_name": "x"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");

    // Saved metrics are validated against the data source.
    let r = app.tool("update_dataset_metric", json!({"dataset_id": ds["id"], "metric_name": "total", "expression": "SUM(amount)", "d3format": "$,.2f"})).await;
    assert_eq!(ok(&r)["action"], "created");
    let r = app.tool("update_dataset_metric", json!({"dataset_id": ds["id"], "metric_name": "total", "expression": "SUM(amount) - 1"})).await;
    assert_eq!(ok(&r)["action"], "updated");
    let r = app.tool("update_dataset_metric", json!({"dataset_id": ds["id"], "metric_name": "bad", "expression": "SUM(no_such_column)"})).await;
    let e = err(&r);
    assert_eq!(e["details"]["field"], "expression", "{e}");
    let r = app.tool("update_dataset_metric", json!({"dataset_id": ds["id"], "metric_name": "evil", "expression": "load_extension('x')"})).await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let r = app.tool("update_dataset_metric", json!({"dataset_id": ds["id"], "metric_name": "x", "expression": "1) FROM events; DROP TABLE events; SELECT (1"})).await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");
    let r = app
        .tool("get_dataset_info", json!({"identifier": ds["id"]}))
        .await;
    let metrics = ok(&r)["metrics"].clone();
    assert_eq!(metrics.as_array().map(Vec::len), Some(1));
    assert_eq!(metrics[0]["expression"], "SUM(amount) - 1");
    // On a virtual dataset (the example sales), the metric runs over its SQL.
    let r = app
        .tool(
            "update_dataset_metric",
            json!({"dataset_id": 7, "metric_name": "avg_line", "expression": "AVG(line_total)"}),
        )
        .await;
    assert_eq!(ok(&r)["action"], "created");

    // Registration refusals: outside the allowed directories, vizier's own store, bad scheme,
    // a duplicate name.
    let outside = tempfile::tempdir().expect("dir");
    let other = sqlite_source(outside.path());
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "x", "url": other}),
        )
        .await;
    assert!(
        err(&r)["error"]
            .as_str()
            .is_some_and(|m| m.contains("sqlite_dirs"))
    );
    let meta = app.app.config.metadata.url.expose().to_string();
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "x", "url": meta}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "x", "url": "oracle://db"}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "url");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "events", "url": url}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "conflict");
    app.stop().await;
}

#[actix_web::test]
async fn server_sources_keep_their_credentials_secret() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    if let Some(admin) = pg_admin_url() {
        // Trust authentication ignores the password, which lets the test look for it.
        let url = admin.replacen("postgres://postgres@", "postgres://postgres:Hunter2-pg@", 1);
        let db = register(&app, "warehouse", &url).await;
        assert!(!db.to_string().contains("Hunter2"));
        let info = app
            .tool("get_database_info", json!({"identifier": db["id"]}))
            .await;
        assert!(!ok(&info).to_string().contains("Hunter2"));
        let r = app
            .tool(
                "get_table",
                json!({"database_id": db["id"], "schema": "pg_catalog", "table_name": "pg_class"}),
            )
            .await;
        let e = err(&r);
        assert_eq!(
            e["error_type"], "not_found",
            "system schemas are not exposed: {e}"
        );
        let unreachable = app
            .tool(
                "register_database",
                json!({"database_name": "down", "url": "postgres://u:Hunter3@127.0.0.1:1/x"}),
            )
            .await;
        let e = err(&unreachable);
        assert_eq!(e["error_type"], "unavailable");
        assert!(!e.to_string().contains("Hunter3"), "{e}");
    }
    if let Some(url) = mysql_url() {
        let db = register(&app, "shop", &url).await;
        assert_eq!(db["backend"], "mysql");
        let r = app
            .tool("get_table", json!({"database_id": db["id"]}))
            .await;
        ok(&r);
    }
    // Only admins register data sources.
    add_user(&app, "ada_alpha", "alpha", &[]).await;
    let alpha = app.replica_as("ada_alpha").await;
    let r = alpha
        .tool(
            "register_database",
            json!({"database_name": "x", "url": "sqlite:///tmp/x.db"}),
        )
        .await;
    assert_eq!(err(&r)["details"]["missing_permission"], "admin");
    alpha.stop().await;
    app.stop().await;
}
