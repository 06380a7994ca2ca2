//! Row-level security that views cannot bypass: for a caller with rules, a view (nested, in
//! another schema or database, materialized) over a protected table, and a user-defined
//! function, are refused on SQLite, PostgreSQL and MariaDB sources — through execute_sql,
//! query_dataset and chart data — while views over other tables, and callers without rules,
//! keep working. And PostgreSQL native RLS (the README's example) keeps views safe there.

use serde_json::{Value, json};

use super::support::*;

/// Rows of `sales`: two of four are in EU, the region the rule lets the caller see.
const SALES_ROWS: &str = "(1, 'EU', 10), (2, 'EU', 20), (3, 'US', 30), (4, 'APAC', 40)";

async fn count(app: &TestApp, db: &Value, text: &str) -> i64 {
    let r = app
        .tool("execute_sql", json!({"database_id": db, "sql": text}))
        .await;
    ok(&r)["rows"][0][0]
        .as_i64()
        .unwrap_or_else(|| panic!("{text}: {:?}", r.structured_content))
}

/// The refusal of `text` for `app`'s caller: permission denied, naming the view and `sales`.
async fn refused(app: &TestApp, db: &Value, text: &str, names: &[&str]) -> String {
    let r = app
        .tool("execute_sql", json!({"database_id": db, "sql": text}))
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "permission_denied", "{text}: {e}");
    let message = e["error"].as_str().unwrap_or_default().to_string();
    for name in names {
        assert!(message.contains(name), "{text}: {message} lacks {name}");
    }
    message
}

/// Registers `url`, puts a rule on `sales` for gamma (region EU) and returns the database id
/// and a replica running as a gamma user with SQL on it.
async fn protect_sales(app: &TestApp, name: &str, url: &str) -> (Value, TestApp) {
    let r = app
        .tool(
            "register_database",
            json!({"database_name": name, "url": url}),
        )
        .await;
    let db = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": db, "table_name": "sales"}),
        )
        .await;
    let sales = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_rls_rule",
            json!({"name": format!("{name} EU"), "filter_type": "regular",
            "dataset_ids": [sales], "roles": ["gamma"], "clause": "region = 'EU'"}),
        )
        .await;
    ok(&r);
    let user = format!("gwen_{name}");
    let db_id = i32::try_from(db.as_i64().expect("id")).expect("id");
    add_user(
        app,
        &user,
        "gamma",
        &[
            ("sql.execute", None, None),
            ("database_access", Some("database"), Some(db_id)),
        ],
    )
    .await;
    (db, app.replica_as(&user).await)
}

/// What every engine shares: the table filtered, views over it refused (directly, nested,
/// through a virtual dataset in query_dataset and chart data), views over other tables and
/// callers without rules unaffected.
async fn views_over_sales(app: &TestApp, gwen: &TestApp, db: &Value) {
    assert_eq!(count(gwen, db, "SELECT count(*) FROM sales").await, 2);
    refused(gwen, db, "SELECT * FROM sales_v", &["sales_v", "sales"]).await;
    let m = refused(gwen, db, "SELECT count(*) FROM sales_vv", &["sales_vv"]).await;
    assert!(m.contains("sales_v"), "{m}");
    refused(
        gwen,
        db,
        "SELECT s.id FROM stores JOIN (SELECT * FROM sales_vv) s ON true",
        &["sales_vv"],
    )
    .await;
    // A dry run is refused as well: the SQL shown would leak when run.
    let r = gwen
        .tool(
            "execute_sql",
            json!({"database_id": db, "sql": "SELECT * FROM sales_v", "dry_run": true}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    // No false refusals: a view over tables without rules, and the admin (no rules) on the
    // protected view.
    assert_eq!(count(gwen, db, "SELECT count(*) FROM stores_v").await, 2);
    assert_eq!(
        count(gwen, db, "SELECT count(*) FROM stores_v JOIN sales ON true").await,
        4
    );
    assert_eq!(count(app, db, "SELECT count(*) FROM sales_vv").await, 4);

    // Virtual datasets over the view: query_dataset and chart data.
    let r = app
        .tool("create_virtual_dataset", json!({"database_id": db, "sql": "SELECT * FROM sales_v", "dataset_name": "sales_by_view"}))
        .await;
    let virtual_sales = ok(&r)["id"].clone();
    let r = app
        .tool("create_virtual_dataset", json!({"database_id": db, "sql": "SELECT * FROM stores_v", "dataset_name": "stores_by_view"}))
        .await;
    let virtual_stores = ok(&r)["id"].clone();
    let n = json!([{"sql": "COUNT(*)", "label": "n"}]);
    let r = gwen
        .tool(
            "query_dataset",
            json!({"dataset_id": virtual_sales, "metrics": n}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "permission_denied", "{e}");
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("sales_v")),
        "{e}"
    );
    let r = app
        .tool(
            "query_dataset",
            json!({"dataset_id": virtual_sales, "metrics": n}),
        )
        .await;
    assert_eq!(ok(&r)["rows"][0][0], 4);
    let r = gwen
        .tool(
            "query_dataset",
            json!({"dataset_id": virtual_stores, "metrics": n}),
        )
        .await;
    assert_eq!(ok(&r)["rows"][0][0], 2);
    let table = json!({"chart_type": "table", "mode": "raw", "columns": ["region"]});
    let r = gwen
        .tool(
            "get_chart_data",
            json!({"dataset_id": virtual_sales, "config": table}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let r = app
        .tool(
            "get_chart_data",
            json!({"dataset_id": virtual_sales, "config": table}),
        )
        .await;
    assert_eq!(ok(&r)["rows"].as_array().map(Vec::len), Some(4));
}

#[actix_web::test]
async fn sqlite_views_cannot_bypass_row_level_security() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("shop.db");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(&format!(
            "CREATE TABLE sales (id INTEGER, region TEXT, amount INTEGER);
             INSERT INTO sales VALUES {SALES_ROWS};
             CREATE TABLE stores (id INTEGER, name TEXT);
             INSERT INTO stores VALUES (1, 'a'), (2, 'b');
             CREATE VIEW sales_v AS SELECT * FROM sales;
             CREATE VIEW sales_vv AS SELECT id, region FROM (SELECT * FROM sales_v) WHERE id > 0;
             CREATE VIEW stores_v AS SELECT * FROM stores;"
        ))
        .expect("setup");
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| c.datasources.sqlite_dirs = vec![allowed])
        .start()
        .await
        .expect("app");
    let url = format!("sqlite://{}", path.display());
    let (db, gwen) = protect_sales(&app, "lite", &url).await;
    views_over_sales(&app, &gwen, &db).await;
    // A view made after the facts were read is found once they expire (30 s) or on another
    // replica; a new replica reads the catalog afresh.
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch("CREATE VIEW late_v AS SELECT * FROM sales")
        .expect("late view");
    let fresh = app.replica_as("gwen_lite").await;
    refused(&fresh, &db, "SELECT * FROM late_v", &["late_v", "sales"]).await;
    fresh.stop().await;
    gwen.stop().await;
    app.stop().await;
}

/// A fresh PostgreSQL database on the test server: its name and URL (see [`pg_drop`]).
async fn pg_database(admin: &str, tag: &str) -> (String, String) {
    let name = format!("vz_{tag}_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("pg");
    actix_web::rt::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (head, tail) = admin
        .split_once('?')
        .map_or((admin, None), |(h, t)| (h, Some(t)));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    let url = match tail {
        Some(t) => format!("{base}/{name}?{t}"),
        None => format!("{base}/{name}"),
    };
    (name, url)
}

async fn pg_run(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("pg");
    actix_web::rt::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
}

async fn pg_drop(admin: &str, name: &str) {
    pg_run(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
}

#[actix_web::test]
async fn postgres_views_matviews_and_functions_cannot_bypass_row_level_security() {
    let Some(admin) = pg_admin_url() else {
        return;
    };
    let (name, url) = pg_database(&admin, "rlsv").await;
    pg_run(
        &url,
        &format!(
            "CREATE TABLE sales (id int, region text, amount int);
             INSERT INTO sales VALUES {SALES_ROWS};
             CREATE TABLE stores (id int, name text);
             INSERT INTO stores VALUES (1, 'a'), (2, 'b');
             CREATE VIEW sales_v AS SELECT * FROM sales;
             CREATE VIEW sales_vv AS SELECT id, region FROM sales_v WHERE id > 0;
             CREATE VIEW stores_v AS SELECT * FROM stores;
             CREATE SCHEMA reports;
             CREATE VIEW reports.sales_r AS SELECT * FROM public.sales_vv;
             CREATE MATERIALIZED VIEW sales_m AS SELECT * FROM sales;
             CREATE FUNCTION sales_total() RETURNS bigint LANGUAGE sql STABLE
               AS 'SELECT count(*) FROM sales';
             CREATE FUNCTION all_sales() RETURNS SETOF sales LANGUAGE plpgsql STABLE
               AS $$ BEGIN RETURN QUERY SELECT * FROM sales; END $$;
             CREATE VIEW calls_v AS SELECT sales_total() AS n;
             CREATE TABLE sales_archive () INHERITS (sales);
             CREATE TABLE ledger (id int, region text) PARTITION BY LIST (region);
             CREATE TABLE ledger_eu PARTITION OF ledger FOR VALUES IN ('EU');"
        ),
    )
    .await;
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let (db, gwen) = protect_sales(&app, "pg", &url).await;
    views_over_sales(&app, &gwen, &db).await;
    // A view in another schema, through nested views.
    let m = refused(
        &gwen,
        &db,
        "SELECT count(*) FROM reports.sales_r",
        &["reports.sales_r", "public.sales"],
    )
    .await;
    assert!(m.contains("public.sales_vv"), "{m}");
    refused(&gwen, &db, "SELECT * FROM sales_r", &["reports.sales_r"]).await;
    // A materialized view.
    refused(
        &gwen,
        &db,
        "SELECT count(*) FROM sales_m",
        &["materialized view public.sales_m", "public.sales"],
    )
    .await;
    // User-defined functions, called directly, as a table, or inside a view.
    refused(&gwen, &db, "SELECT sales_total()", &["sales_total"]).await;
    refused(
        &gwen,
        &db,
        "SELECT count(*) FROM all_sales()",
        &["all_sales"],
    )
    .await;
    refused(
        &gwen,
        &db,
        "SELECT * FROM calls_v",
        &["calls_v", "sales_total"],
    )
    .await;
    // An inheritance child's rows are rows of the protected table.
    refused(
        &gwen,
        &db,
        "SELECT * FROM sales_archive",
        &["sales_archive", "rows of public.sales"],
    )
    .await;
    // Partitions of tables without rules are fine.
    assert_eq!(count(&gwen, &db, "SELECT count(*) FROM ledger_eu").await, 0);
    // Built-in functions are fine.
    assert_eq!(
        count(
            &gwen,
            &db,
            "SELECT count(DISTINCT lower(region)) FROM sales WHERE pg_catalog.length(region) > 0"
        )
        .await,
        1
    );
    // Callers without rules: everything.
    assert_eq!(
        count(&app, &db, "SELECT count(*) FROM reports.sales_r").await,
        4
    );
    assert_eq!(count(&app, &db, "SELECT sales_total()").await, 4);
    assert_eq!(count(&app, &db, "SELECT count(*) FROM sales_m").await, 4);
    gwen.stop().await;
    app.stop().await;
    pg_drop(&admin, &name).await;
}

#[actix_web::test]
async fn mariadb_views_across_databases_cannot_bypass_row_level_security() {
    let Some(base) = mysql_url() else {
        return;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (main, other) = (
        format!("vz_rlsv_{}", &tag[..12]),
        format!("vz_rlso_{}", &tag[..12]),
    );
    let pool = mysql_async::Pool::new(base.as_str());
    let mut conn = pool.get_conn().await.expect("mysql");
    use mysql_async::prelude::Queryable;
    let setup = format!(
        "CREATE DATABASE {main}; CREATE DATABASE {other};
         CREATE TABLE {main}.sales (id int, region varchar(10), amount int);
         INSERT INTO {main}.sales VALUES {SALES_ROWS};
         CREATE TABLE {main}.stores (id int, name varchar(10));
         INSERT INTO {main}.stores VALUES (1, 'a'), (2, 'b');
         CREATE VIEW {main}.sales_v AS SELECT * FROM {main}.sales;
         CREATE VIEW {main}.sales_vv AS SELECT v.id, v.region FROM {main}.sales_v v WHERE v.id > 0;
         CREATE VIEW {main}.stores_v AS SELECT * FROM {main}.stores;
         CREATE VIEW {other}.sales_r AS SELECT s.id FROM {main}.sales_vv s JOIN {main}.stores t ON (1 = 1)"
    );
    for statement in setup.split(';') {
        conn.query_drop(statement).await.expect(statement);
    }
    let (head, _) = base.rsplit_once('/').expect("mysql url has a database");
    let url = format!("{head}/{main}");
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let (db, gwen) = protect_sales(&app, "maria", &url).await;
    views_over_sales(&app, &gwen, &db).await;
    let m = refused(
        &gwen,
        &db,
        &format!("SELECT count(*) FROM {other}.sales_r"),
        &[&format!("{other}.sales_r"), &format!("{main}.sales")],
    )
    .await;
    assert!(m.contains(&format!("{main}.sales_vv")), "{m}");
    assert_eq!(
        count(&app, &db, &format!("SELECT count(*) FROM {other}.sales_r")).await,
        8
    );
    // An account that cannot read view definitions (no SHOW VIEW): every view is refused to
    // a caller with rules (fails closed), while the table itself still answers.
    let reader = format!("vz_ro_{}", &tag[..12]);
    for host in ["%", "localhost"] {
        for statement in [
            format!("CREATE USER '{reader}'@'{host}'"),
            format!("GRANT SELECT ON {main}.* TO '{reader}'@'{host}'"),
        ] {
            conn.query_drop(&statement).await.expect("reader");
        }
    }
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let reader_url = format!("{scheme}://{reader}@{host_and_db}");
    let (ro_db, ro_gwen) = protect_sales(&app, "maria_ro", &reader_url).await;
    assert_eq!(
        count(&ro_gwen, &ro_db, "SELECT count(*) FROM sales").await,
        2
    );
    refused(
        &ro_gwen,
        &ro_db,
        "SELECT count(*) FROM stores_v",
        &["stores_v", "cannot be read"],
    )
    .await;
    assert_eq!(
        count(&app, &ro_db, "SELECT count(*) FROM stores_v").await,
        2
    );
    ro_gwen.stop().await;
    for host in ["%", "localhost"] {
        conn.query_drop(format!("DROP USER '{reader}'@'{host}'"))
            .await
            .expect("drop user");
    }
    gwen.stop().await;
    app.stop().await;
    for database in [&main, &other] {
        conn.query_drop(format!("DROP DATABASE {database}"))
            .await
            .expect("drop");
    }
    drop(conn);
    pool.disconnect().await.ok();
}

/// The README's example of PostgreSQL native row-level security: a policy reads the user
/// vizier sets per call (`session_settings`), and a `security_invoker` view is filtered by
/// it, where a plain view (run as its owner) is not.
#[actix_web::test]
async fn postgres_native_policies_keep_invoker_views_safe() {
    let Some(admin) = pg_admin_url() else {
        return;
    };
    let (name, url) = pg_database(&admin, "native").await;
    let reader = format!("{name}_reader");
    pg_run(
        &url,
        &format!(
            "CREATE TABLE sales (id int, region text, amount int);
             INSERT INTO sales VALUES {SALES_ROWS};
             CREATE TABLE user_regions (username text, region text);
             INSERT INTO user_regions VALUES ('nina', 'EU');
             ALTER TABLE sales ENABLE ROW LEVEL SECURITY;
             CREATE POLICY sales_by_region ON sales FOR SELECT
               USING (region IN (SELECT region FROM user_regions
                                 WHERE username = current_setting('app.user', true)));
             CREATE VIEW sales_v WITH (security_invoker = true) AS SELECT * FROM sales;
             CREATE VIEW sales_owner_v AS SELECT * FROM sales;
             CREATE ROLE {reader} LOGIN;
             GRANT SELECT ON sales, sales_v, sales_owner_v, user_regions TO {reader};"
        ),
    )
    .await;
    let reader_url = url.replacen("postgres@", &format!("{reader}@"), 1);
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "native", "url": reader_url,
            "session_settings": {"app.user": "{username}"}}),
        )
        .await;
    let db = ok(&r)["id"].clone();
    let db_id = i32::try_from(db.as_i64().expect("id")).expect("id");
    add_user(
        &app,
        "nina",
        "gamma",
        &[
            ("sql.execute", None, None),
            ("database_access", Some("database"), Some(db_id)),
        ],
    )
    .await;
    let nina = app.replica_as("nina").await;
    assert_eq!(count(&nina, &db, "SELECT count(*) FROM sales").await, 2);
    assert_eq!(count(&nina, &db, "SELECT count(*) FROM sales_v").await, 2);
    // The admin maps to no region: nothing.
    assert_eq!(count(&app, &db, "SELECT count(*) FROM sales_v").await, 0);
    // Without security_invoker the view runs as its owner, whom the policy does not bind.
    assert_eq!(
        count(&nina, &db, "SELECT count(*) FROM sales_owner_v").await,
        4
    );
    nina.stop().await;
    app.stop().await;
    pg_drop(&admin, &name).await;
    pg_run(&admin, &format!("DROP ROLE IF EXISTS {reader}")).await;
}
