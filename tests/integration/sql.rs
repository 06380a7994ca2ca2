//! execute_sql through the protocol: results, limits, refusals, row-level security,
//! templating, history and saved queries — on the example SQLite source and on registered
//! PostgreSQL and MariaDB sources.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::*;

async fn dataset_id(app: &TestApp, table: &str) -> i64 {
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": table}]}),
        )
        .await;
    ok(&r)["items"][0]["id"].as_i64().expect("dataset id")
}

async fn sql(app: &TestApp, db: Value, text: &str) -> rmcp::model::CallToolResult {
    app.tool("execute_sql", json!({"database_id": db, "sql": text}))
        .await
}

#[actix_web::test]
async fn queries_limits_and_refusals_on_sqlite() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = sql(
        &app,
        json!(1),
        "SELECT name, country FROM regions ORDER BY region_id",
    )
    .await;
    let v = ok(&r);
    assert_eq!(v["columns"][0]["name"], "name");
    assert_eq!(v["row_count"], 6);
    assert_eq!(v["truncated"], false);
    assert!(
        v["executed_sql"]
            .as_str()
            .is_some_and(|s| s.contains("LIMIT 1001")),
        "one extra row tells of truncation: {v}"
    );

    let r = app
        .tool(
            "execute_sql",
            json!({"database_id": 1, "sql": "SELECT order_id FROM orders", "limit": 5}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(
        (v["row_count"].as_i64(), v["truncated"].as_bool()),
        (Some(5), Some(true))
    );
    assert!(
        v["truncation_reason"]
            .as_str()
            .is_some_and(|s| s.starts_with("row_limit"))
    );
    let r = app.tool("execute_sql", json!({"database_id": 1, "sql": "SELECT order_id FROM orders LIMIT 100000", "limit": 3})).await;
    assert_eq!(ok(&r)["row_count"], 3, "the limit caps a LIMIT in the SQL");

    let r = app
        .tool(
            "execute_sql",
            json!({"database_id": 1, "sql": "SELECT * FROM orders", "dry_run": true}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["rows"], json!([]));
    assert!(
        v["executed_sql"]
            .as_str()
            .is_some_and(|s| s.ends_with("LIMIT 1001"))
    );
    // SQLite's plan: EXPLAIN QUERY PLAN rows.
    assert!(
        v["plan"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("orders")),
        "{v}"
    );

    for (text, kind) in [
        ("DROP TABLE orders", "permission_denied"),
        ("DELETE FROM orders", "permission_denied"),
        ("SELECT 1; DROP TABLE orders", "invalid_argument"),
        ("SELECT load_extension('/tmp/x')", "permission_denied"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "permission_denied"),
        (
            "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
            "permission_denied",
        ),
        ("SELEC * FROM orders", "invalid_argument"),
        ("", "invalid_argument"),
        ("SELECT * FROM orders /* ; DROP TABLE orders */", "ok"),
        ("SELECT 'DROP TABLE orders; --' AS s", "ok"),
    ] {
        let r = sql(&app, json!(1), text).await;
        if kind == "ok" {
            ok(&r);
        } else {
            let e = err(&r);
            assert_eq!(e["error_type"], kind, "{text}: {e}");
            assert_eq!(e["details"]["field"], "sql", "{text}: {e}");
        }
    }
    // The database enforces read-only too: nothing was dropped or deleted.
    let r = sql(&app, json!(1), "SELECT count(*) AS n FROM orders").await;
    assert!(ok(&r)["rows"][0][0].as_i64().is_some_and(|n| n > 70_000));

    let r = app
        .tool(
            "execute_sql",
            json!({"database_id": 1, "sql": "SELECT 1", "limit": 0}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "limit");
    let r = app.tool("execute_sql", json!({"database_id": 1, "sql": "SELECT {{ current_user_id }}", "template_params": {"x": 1}})).await;
    assert_eq!(err(&r)["details"]["field"], "template_params");
    let slow =
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT max(i) FROM c";
    let r = app
        .tool(
            "execute_sql",
            json!({"database_id": 1, "sql": slow, "timeout": 1}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "timeout");
    app.stop().await;
}

#[actix_web::test]
async fn row_level_security_filters_every_query_shape() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let orders = dataset_id(&app, "orders").await;
    let r = app
        .tool(
            "create_rls_rule",
            json!({"name": "online only", "filter_type": "regular", "dataset_ids": [orders], "roles": ["gamma"],
                   "clause": "channel = 'online'"}),
        )
        .await;
    ok(&r);
    let bad = app
        .tool(
            "create_rls_rule",
            json!({"name": "sneaky", "filter_type": "regular", "dataset_ids": [orders], "roles": ["gamma"],
                   "clause": "1=1) OR (1=1"}),
        )
        .await;
    assert_eq!(err(&bad)["details"]["field"], "sql");

    add_user(
        &app,
        "gwen",
        "gamma",
        &[
            ("sql.execute", None, None),
            ("database_access", Some("database"), Some(1)),
        ],
    )
    .await;
    let gwen = app.replica_as("gwen").await;
    async fn count(app: &TestApp, text: &str) -> i64 {
        let r = sql(app, json!(1), text).await;
        ok(&r)["rows"][0][0]
            .as_i64()
            .unwrap_or_else(|| panic!("{text}: {:?}", r.structured_content))
    }
    let all = count(&app, "SELECT count(*) FROM orders").await;
    let online = count(&app, "SELECT count(*) FROM orders WHERE channel = 'online'").await;
    assert!(online > 0 && online < all);
    for text in [
        "SELECT count(*) FROM orders",
        "SELECT count(*) FROM main.orders",
        "SELECT count(*) FROM \"ORDERS\" o",
        "SELECT count(*) FROM customers c JOIN orders o ON o.customer_id = c.customer_id",
        "SELECT count(*) FROM (SELECT * FROM orders) x",
        "WITH o AS (SELECT * FROM orders) SELECT count(*) FROM o",
        "SELECT count(*) FROM (SELECT order_id FROM orders UNION ALL SELECT order_id FROM orders WHERE 1=0) u",
        "SELECT (SELECT count(*) FROM orders)",
    ] {
        assert_eq!(count(&gwen, text).await, online, "{text}");
    }
    let r = sql(&gwen, json!(1), "SELECT count(*) FROM orders").await;
    assert_eq!(ok(&r)["rls_tables_filtered"], 1);
    // Admins are not in the rule's role: unfiltered.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM orders o JOIN stores s ON s.store_id = o.store_id"
        )
        .await,
        all
    );
    gwen.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn history_and_saved_queries() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = sql(&app, json!(1), "SELECT 42 AS answer").await;
    ok(&r);
    let r = sql(&app, json!(1), "SELECT nope FROM nowhere").await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");
    // History is written in batches: wait for it.
    let mut items = Value::Null;
    for _ in 0..50 {
        let r = app
            .tool(
                "list_queries",
                json!({"order_column": "id", "order_direction": "asc"}),
            )
            .await;
        items = ok(&r)["items"].clone();
        if items.as_array().is_some_and(|a| a.len() >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(items[0]["status"], "success", "{items}");
    assert_eq!(items[0]["row_count"], 1);
    assert_eq!(items[1]["status"], "error");
    let r = app
        .tool("get_query_info", json!({"identifier": items[0]["id"]}))
        .await;
    assert!(
        ok(&r)["executed_sql"]
            .as_str()
            .is_some_and(|s| s.contains("LIMIT"))
    );
    let r = app
        .tool(
            "list_queries",
            json!({"filters": [{"col": "status", "opr": "eq", "value": "error"}]}),
        )
        .await;
    assert_eq!(ok(&r)["total_count"], 1);

    let r = app
        .tool(
            "save_sql_query",
            json!({"database_id": 1, "label": "Top regions", "sql": "SELECT * FROM regions"}),
        )
        .await;
    let saved = ok(&r).clone();
    let r = app
        .tool("list_saved_queries", json!({"search": "regions"}))
        .await;
    assert_eq!(ok(&r)["total_count"], 1);
    let r = app
        .tool("get_saved_query_info", json!({"identifier": saved["uuid"]}))
        .await;
    assert_eq!(ok(&r)["sql"], "SELECT * FROM regions");
    let r = app
        .tool(
            "save_sql_query",
            json!({"database_id": 1, "label": "bad", "sql": "DROP TABLE regions"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");

    add_user(
        &app,
        "sid",
        "sql_lab",
        &[("database_access", Some("database"), Some(1))],
    )
    .await;
    let sid = app.replica_as("sid").await;
    let r = sid.tool("list_queries", json!({})).await;
    assert_eq!(ok(&r)["total_count"], 0, "others' history is private");
    let r = sid
        .tool("get_query_info", json!({"identifier": items[0]["id"]}))
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let r = sid
        .tool("get_saved_query_info", json!({"identifier": saved["id"]}))
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    sid.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn postgres_and_mariadb_sources() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    if let Some(admin) = pg_admin_url() {
        let table = format!("vz_sql_{}", uuid::Uuid::new_v4().simple());
        let setup = json!({"database_name": "pg-dml", "url": admin, "allow_dml": true});
        let r = app.tool("register_database", setup).await;
        let rw = ok(&r)["id"].clone();
        let r = app
            .tool(
                "register_database",
                json!({"database_name": "pg-ro", "url": admin}),
            )
            .await;
        let ro = ok(&r)["id"].clone();
        let r = sql(
            &app,
            rw.clone(),
            &format!("CREATE TABLE {table} (id int, amount numeric(38,10), at timestamptz)"),
        )
        .await;
        assert_eq!(
            err(&r)["error_type"],
            "permission_denied",
            "DDL is never allowed"
        );
        // Set the table up out of band, as a DBA would.
        let mut conn = {
            use diesel_async::AsyncConnection;
            diesel_async::AsyncPgConnection::establish(&admin)
                .await
                .expect("pg")
        };
        {
            use diesel_async::SimpleAsyncConnection;
            conn.batch_execute(&format!(
                "CREATE TABLE {table} (id int, amount numeric(38,10), at timestamptz)"
            ))
            .await
            .expect("create");
        }
        let r = sql(&app, rw.clone(), &format!("INSERT INTO {table} VALUES (1, 12345678901234567890.0123456789, '2025-01-02T03:04:05Z')")).await;
        assert_eq!(ok(&r)["rows_affected"], 1);
        let r = sql(
            &app,
            ro.clone(),
            &format!("INSERT INTO {table} VALUES (2, 1, now())"),
        )
        .await;
        assert_eq!(
            err(&r)["error_type"],
            "permission_denied",
            "read-only source"
        );
        let r = sql(
            &app,
            ro.clone(),
            &format!("SELECT id, amount, at FROM {table}"),
        )
        .await;
        let v = ok(&r);
        assert_eq!(
            v["rows"][0],
            json!([1, "12345678901234567890.0123456789", "2025-01-02T03:04:05Z"])
        );
        // `schema` decides where unqualified names resolve.
        {
            use diesel_async::SimpleAsyncConnection;
            conn.batch_execute(&format!(
                "CREATE SCHEMA {table}_s; CREATE TABLE {table}_s.{table} AS SELECT 7 AS id"
            ))
            .await
            .expect("schema");
        }
        for (schema, id) in [(json!(format!("{table}_s")), 7), (json!(null), 1)] {
            let r = app
                .tool(
                    "execute_sql",
                    json!({"database_id": ro, "schema": schema, "sql": format!("SELECT id FROM {table}")}),
                )
                .await;
            assert_eq!(ok(&r)["rows"], json!([[id]]), "schema {schema}");
        }
        // dry_run answers PostgreSQL's plan and runs nothing, a DELETE included.
        let r = app
            .tool(
                "execute_sql",
                json!({"database_id": rw, "sql": format!("DELETE FROM {table}"), "dry_run": true}),
            )
            .await;
        let v = ok(&r);
        assert_eq!(v["plan"][0]["Plan"]["Node Type"], "ModifyTable", "{v}");
        let r = sql(
            &app,
            ro.clone(),
            &format!("SELECT count(*) AS n FROM {table}"),
        )
        .await;
        assert_eq!(ok(&r)["rows"], json!([[1]]), "nothing deleted");
        let r = sql(&app, rw, "SELECT pg_read_file('/etc/passwd')").await;
        assert_eq!(err(&r)["error_type"], "permission_denied");
        use diesel_async::SimpleAsyncConnection;
        conn.batch_execute(&format!(
            "DROP TABLE {table}; DROP SCHEMA {table}_s CASCADE"
        ))
        .await
        .expect("drop");
    }
    if let Some(url) = mysql_url() {
        let r = app
            .tool(
                "register_database",
                json!({"database_name": "maria", "url": url}),
            )
            .await;
        let id = ok(&r)["id"].clone();
        let r = sql(
            &app,
            id.clone(),
            "SELECT 1 + 1 AS two, CAST('2025-01-02' AS DATE) AS d",
        )
        .await;
        assert_eq!(ok(&r)["rows"][0], json!([2, "2025-01-02"]));
        // dry_run answers MariaDB's EXPLAIN FORMAT=JSON.
        let r = app
            .tool(
                "execute_sql",
                json!({"database_id": id.clone(), "sql": "SELECT 1 + 1 AS two", "dry_run": true}),
            )
            .await;
        let v = ok(&r);
        assert!(v["plan"]["query_block"].is_object(), "{v}");
        let r = sql(&app, id, "SELECT LOAD_FILE('/etc/passwd')").await;
        assert_eq!(err(&r)["error_type"], "permission_denied");
    }
    app.stop().await;
}

/// A database's pool size is the most connections vizier opens to it, whichever of the
/// data-source threads its calls run on; under load every one of them is used.
#[actix_web::test]
async fn a_pool_size_bounds_the_connections_to_a_database() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    if let Some(admin) = pg_admin_url() {
        let tag = format!("vz_pool_{}", uuid::Uuid::new_v4().simple());
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}application_name={tag}");
        let r = app
            .tool(
                "register_database",
                json!({"database_name": "pg-pool", "url": url, "pool_size": 3}),
            )
            .await;
        let id = ok(&r)["id"].clone();
        ok(&sql(&app, id.clone(), "SELECT 1").await);
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("pg");
        actix_web::rt::spawn(connection);
        let count = async || -> i64 {
            client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE application_name = $1 AND backend_type = 'client backend'",
                    &[&tag],
                )
                .await
                .expect("count")
                .get(0)
        };
        // The registration's own connection check is gone before the load starts.
        for _ in 0..50 {
            if count().await <= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let calls = futures::future::join_all(
            // About a quarter of a second each (pg_sleep is refused by the guard).
            (0..8).map(|_| {
                sql(
                    &app,
                    id.clone(),
                    "SELECT count(*) FROM generate_series(1, 3000000) g",
                )
            }),
        );
        let watch = async {
            let mut most = 0;
            for _ in 0..50 {
                most = most.max(count().await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            most
        };
        let (results, most) = futures::join!(calls, watch);
        for r in &results {
            ok(r);
        }
        assert_eq!(most, 3, "connections open to a source with pool_size 3");
    }
    app.stop().await;
}

#[actix_web::test]
async fn templating_when_the_database_enables_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.db");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(
            "CREATE TABLE t (owner TEXT, v INT); INSERT INTO t VALUES ('admin', 1), ('bob', 2);",
        )
        .expect("setup");
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| c.datasources.sqlite_dirs = vec![allowed])
        .start()
        .await
        .expect("app");
    let r = app
        .tool("register_database", json!({"database_name": "tmpl", "url": format!("sqlite://{}", path.display()), "templating": true}))
        .await;
    let id = ok(&r)["id"].clone();
    let r = app
        .tool("execute_sql", json!({"database_id": id, "sql": "SELECT v FROM t WHERE owner = {{ current_username | sql_quote }} AND v >= {{ min_v }}",
            "template_params": {"min_v": 1}}))
        .await;
    assert_eq!(ok(&r)["rows"], json!([[1]]));
    for escape in [
        "SELECT {{ ''.__class__ }}",
        "SELECT {{ current_username }}",
        "{% include 'x' %}",
        "SELECT {{ range(999999999) }}",
    ] {
        let r = app
            .tool("execute_sql", json!({"database_id": id, "sql": escape}))
            .await;
        assert_eq!(err(&r)["error_type"], "invalid_argument", "{escape}");
    }
    // A templated RLS clause sees who the caller is, never the caller's template_params:
    // the person a rule filters cannot steer it.
    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": id, "table_name": "t"}),
        )
        .await;
    let ds = ok(&r)["id"].clone();
    let r = app
        .tool("create_rls_rule", json!({"name": "steerable?", "filter_type": "base", "dataset_ids": [ds], "roles": ["gamma"],
            "clause": "v = {{ steer | default(1) }}"}))
        .await;
    ok(&r);
    for params in [json!({}), json!({"steer": 2})] {
        let r = app
            .tool(
                "execute_sql",
                json!({"database_id": id, "sql": "SELECT v FROM t", "template_params": params}),
            )
            .await;
        assert_eq!(ok(&r)["rows"], json!([[1]]), "{params}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn query_dataset_builds_metrics_groups_filters_and_time_grains() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let sales = dataset_id(&app, "sales").await;
    let r = app
        .tool("query_dataset", json!({"dataset_id": sales, "metrics": [{"saved_metric": "revenue"}, {"column": "order_id", "aggregate": "count_distinct", "label": "orders"}],
            "columns": ["region"], "order_by": "revenue", "order_desc": true}))
        .await;
    let v = ok(&r);
    assert_eq!(v["row_count"], 6, "{v}");
    let names: Vec<&str> = v["columns"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["region", "revenue", "orders"]);
    let revenues: Vec<f64> = v["rows"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r[1].as_f64()).collect())
        .unwrap_or_default();
    assert!(
        revenues.windows(2).all(|w| w[0] >= w[1]),
        "ordered by revenue desc"
    );

    let r = app
        .tool("query_dataset", json!({"dataset_id": sales, "metrics": [{"saved_metric": "orders"}], "time_grain": "month",
            "time_range": {"start": "2025-01-01", "end": "2026-01-01"}, "filters": [{"col": "channel", "opr": "eq", "value": "online"}]}))
        .await;
    let v = ok(&r);
    assert_eq!(v["row_count"], 12, "one row per month of 2025: {v}");
    assert_eq!(v["rows"][0][0], "2025-01-01");
    let r = app
        .tool("query_dataset", json!({"dataset_id": sales, "metrics": [{"sql": "SUM(line_total) / COUNT(DISTINCT order_id)", "label": "aov"}],
            "columns": ["channel"], "filters": [{"col": "category", "opr": "in", "value": ["Electronics", "Home"]}, {"col": "product", "opr": "ct", "value": "o'"}], "dry_run": true}))
        .await;
    let v = ok(&r);
    let sql_text = v["executed_sql"].as_str().unwrap_or_default();
    assert!(
        sql_text.contains("'%o''%'") && sql_text.contains("IN ('Electronics', 'Home')"),
        "values are quoted literals: {sql_text}"
    );

    for (args, field) in [
        (
            json!({"dataset_id": sales, "metrics": [{"saved_metric": "revenu"}]}),
            "metrics",
        ),
        (
            json!({"dataset_id": sales, "columns": ["regoin"]}),
            "columns",
        ),
        (
            json!({"dataset_id": sales, "metrics": [{"column": "quantity", "aggregate": "median"}]}),
            "metrics.aggregate",
        ),
        (
            json!({"dataset_id": sales, "metrics": [{"saved_metric": "revenue"}], "time_grain": "fortnight"}),
            "time_grain",
        ),
        (
            json!({"dataset_id": sales, "columns": ["region"], "filters": [{"col": "region", "opr": "between", "value": 1}]}),
            "filters.opr",
        ),
    ] {
        let r = app.tool("query_dataset", args.clone()).await;
        let e = err(&r);
        assert_eq!(e["details"]["field"], field, "{args}: {e}");
    }
    let r = app
        .tool(
            "query_dataset",
            json!({"dataset_id": sales, "metrics": [{"sql": "load_extension('x')", "label": "x"}]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");

    // Row-level security reaches through the virtual dataset's SQL to the orders table.
    let orders = dataset_id(&app, "orders").await;
    let r = app
        .tool("create_rls_rule", json!({"name": "online", "filter_type": "regular", "dataset_ids": [orders], "roles": ["gamma"], "clause": "channel = 'online'"}))
        .await;
    ok(&r);
    add_user(
        &app,
        "gail",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(sales as i32))],
    )
    .await;
    let gail = app.replica_as("gail").await;
    let r = gail.tool("query_dataset", json!({"dataset_id": sales, "metrics": [{"saved_metric": "orders"}], "columns": ["channel"]})).await;
    let v = ok(&r);
    assert_eq!(v["row_count"], 1, "only online orders are visible: {v}");
    assert_eq!(v["rows"][0][0], "online");
    assert_eq!(v["rls_tables_filtered"], 1);
    gail.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_connection_the_key_cannot_open_names_the_key_settings() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use vizier::db::schema::databases;
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    // A row sealed with another key (a store moved without its key, or a corrupt row).
    let other =
        vizier::db::secrets::Cipher::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .expect("key");
    let sealed = other.encrypt("sqlite:///nowhere.db").expect("seal");
    let mut conn = app.app.db.conn().await.expect("conn");
    let at = vizier::db::models::now();
    let changed: usize = vizier::with_conn!(&mut conn, |c| {
        diesel::update(databases::table.filter(databases::id.eq(1)))
            .set((
                databases::connection_encrypted.eq(&sealed),
                databases::changed_on.eq(at),
            ))
            .execute(c)
            .await
    })
    .expect("update");
    assert_eq!(changed, 1);
    drop(conn);
    app.app.invalidate_caches();
    let r = sql(&app, json!(1), "SELECT 1").await;
    let e = err(&r);
    assert_eq!(e["error_type"], "unavailable", "{e}");
    let message = e["error"].as_str().unwrap_or_default();
    for setting in [
        "secrets.key_file",
        "VIZIER_SECRETS__KEY_FILE",
        "secrets.encryption_key",
    ] {
        assert!(message.contains(setting), "{message}");
    }
    app.stop().await;
}

/// PostgreSQL's `TABLE sales` is the read `SELECT * FROM sales`: accepted, and row-level
/// security filters it exactly as it filters the SELECT.
#[actix_web::test]
async fn the_table_command_is_a_read_filtered_by_row_level_security() {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    let Some(admin) = pg_admin_url() else {
        return;
    };
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let schema = format!("vz_table_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel_async::AsyncPgConnection::establish(&admin)
        .await
        .expect("pg");
    conn.batch_execute(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.sales (id int, region text);
         INSERT INTO {schema}.sales VALUES (1, 'east'), (2, 'west'), (3, 'east'), (4, 'north');"
    ))
    .await
    .expect("setup");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "pg-sales", "url": admin, "exposed_schemas": [schema]}),
        )
        .await;
    let db = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": db, "table_name": "sales", "schema": schema}),
        )
        .await;
    let ds = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_rls_rule",
            json!({"name": "east only", "filter_type": "regular", "dataset_ids": [ds],
                   "roles": ["gamma"], "clause": "region = 'east'"}),
        )
        .await;
    ok(&r);
    add_user(
        &app,
        "tess",
        "gamma",
        &[
            ("sql.execute", None, None),
            (
                "database_access",
                Some("database"),
                db.as_i64().map(|d| d as i32),
            ),
        ],
    )
    .await;
    let tess = app.replica_as("tess").await;
    let rows = |r: &rmcp::model::CallToolResult| ok(r)["rows"].clone();

    let select = sql(
        &tess,
        db.clone(),
        &format!("SELECT * FROM {schema}.sales ORDER BY id"),
    )
    .await;
    let table = sql(
        &tess,
        db.clone(),
        &format!("TABLE {schema}.sales ORDER BY id"),
    )
    .await;
    assert_eq!(
        rows(&select),
        json!([[1, "east"], [3, "east"]]),
        "{:?}",
        select.structured_content
    );
    assert_eq!(
        rows(&table),
        rows(&select),
        "{:?}",
        table.structured_content
    );
    assert_eq!(ok(&table)["rls_tables_filtered"], 1);
    // Unfiltered for an admin, whom the rule does not name.
    let r = sql(&app, db.clone(), &format!("TABLE {schema}.sales")).await;
    assert_eq!(ok(&r)["rows"].as_array().map(Vec::len), Some(4));
    // Nested, it is rewritten too; and still checked like any table reference.
    let r = sql(
        &tess,
        db.clone(),
        &format!("SELECT count(*) FROM (TABLE {schema}.sales) s"),
    )
    .await;
    assert_eq!(ok(&r)["rows"], json!([[2]]));
    let r = sql(&tess, db.clone(), "TABLE pg_catalog.pg_authid").await;
    assert_eq!(err(&r)["error_type"], "permission_denied");

    tess.stop().await;
    app.stop().await;
    conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("cleanup");
}
