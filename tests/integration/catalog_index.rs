//! The in-memory catalog index answers exactly what the store answers: on a seeded catalog
//! (names with case, letters beyond ASCII and LIKE wildcards, NULL slugs and schemas, ties
//! in the sort keys, the trash, owners, published and draft dashboards, a tenant's
//! database), two replicas of one store, one with the index and one without, are asked the
//! same lists by an admin, a gamma user with one dataset, an alpha user with one database
//! and a tenant's user; every answer must be the same, byte for byte.
//! Writes show at once through the replica that made them, and within the refresh
//! interval through another.

use std::time::{Duration, Instant};

use diesel_async::SimpleAsyncConnection;
use serde_json::{Value, json};

use super::support::*;

const NAMES: &[&str] = &[
    "Revenue by region",
    "REVENUE by month",
    "Ärger revenue",
    "ärger small",
    "ÉTÉ sales",
    "été sales",
    "50% Margin",
    "50x Margin",
    "a_b chart",
    "axb chart",
    "back\\slash",
    "Straße",
    "STRASSE",
    "Orders",
    "orders",
];
const TYPES: &[&str] = &["xy", "pie", "table", "big_number"];

/// Rows beyond the example's: datasets on the example database and on a tenant's one,
/// charts over all of them, dashboards with owners and charts.
fn seed_sql(gamma: i32, alpha: i32) -> String {
    let mut s = String::new();
    s.push_str(
        "INSERT INTO databases (uuid, name, engine, connection_encrypted, settings, description, created_on, changed_on, tenant) \
         VALUES ('idx-db-t1', 'tenant sales', 'sqlite', 'x', '{}', 'Tenant one', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 't1');\n",
    );
    for i in 0..12 {
        let db = if i % 4 == 3 {
            "(SELECT id FROM databases WHERE uuid = 'idx-db-t1')".to_string()
        } else {
            "1".to_string()
        };
        let schema = match i % 3 {
            0 => "NULL",
            1 => "'main'",
            _ => "'Other'",
        };
        let sql = if i % 5 == 0 {
            "'SELECT 1 AS x'"
        } else {
            "NULL"
        };
        let deleted = if i == 7 {
            "'2026-03-01 00:00:00'"
        } else {
            "NULL"
        };
        s.push_str(&format!(
            "INSERT INTO datasets (uuid, database_id, schema_name, table_name, sql, description, extra, created_on, changed_on, created_by_fk, changed_by_fk, deleted_on) \
             VALUES ('idx-ds-{i}', {db}, {schema}, '{name}', {sql}, 'Dataset {i} of Sales', '{{}}', '2026-01-0{d} 00:00:00', '2026-02-0{d} 00:00:00', {by}, {by}, {deleted});\n",
            name = if i % 2 == 0 { format!("sales_{i}") } else { format!("Orders_{i}") },
            d = 1 + i % 4,
            by = if i % 2 == 0 { alpha.to_string() } else { "NULL".into() },
        ));
    }
    for i in 0..150 {
        let name = format!("{} #{}", NAMES[i % NAMES.len()], i / 3);
        let deleted = if i % 23 == 5 {
            "'2026-04-01 00:00:00'"
        } else {
            "NULL"
        };
        let by = match i % 3 {
            0 => gamma.to_string(),
            1 => alpha.to_string(),
            _ => "NULL".into(),
        };
        let description = match i % 4 {
            0 => "Described in CAPITALS".to_string(),
            1 => format!("chart {i}"),
            2 => "Umlaut Ä and 100%".to_string(),
            _ => String::new(),
        };
        // Several charts share a change time, so the id decides among them.
        s.push_str(&format!(
            "INSERT INTO charts (uuid, name, chart_type, dataset_id, config, description, created_on, changed_on, created_by_fk, changed_by_fk, deleted_on) \
             VALUES ('idx-ch-{i}', '{name}', '{ty}', (SELECT id FROM datasets WHERE uuid = 'idx-ds-{ds}'), '{{}}', '{description}', '2026-01-01 00:00:{sec:02}', '2026-05-0{day} 10:00:00', {by}, {by}, {deleted});\n",
            name = name.replace('\'', "''"),
            ty = TYPES[i % TYPES.len()],
            ds = i % 12,
            sec = i % 60,
            day = 1 + i % 7,
        ));
    }
    for i in 0..30 {
        let slug = if i % 4 == 0 {
            "NULL".to_string()
        } else {
            format!("'idx-board-{i}'")
        };
        let tenant = if i % 5 == 0 { "'t1'" } else { "NULL" };
        let deleted = if i == 13 {
            "'2026-04-01 00:00:00'"
        } else {
            "NULL"
        };
        s.push_str(&format!(
            "INSERT INTO dashboards (uuid, title, slug, description, published, layout, json_metadata, version, created_on, changed_on, created_by_fk, changed_by_fk, deleted_on, tenant) \
             VALUES ('idx-db-{i}', '{title} {i}', {slug}, 'Board {i} of revenue', {published}, '{{}}', '{{}}', 1, '2026-01-01 00:00:00', '2026-06-0{day} 00:00:00', {alpha}, {alpha}, {deleted}, {tenant});\n",
            title = if i % 2 == 0 { "Sales board" } else { "ÄRGER Übersicht" },
            published = if i % 3 == 0 { "FALSE" } else { "TRUE" },
            day = 1 + i % 3,
        ));
        if i % 4 == 1 {
            s.push_str(&format!(
                "INSERT INTO dashboard_owners (dashboard_id, user_id) VALUES ((SELECT id FROM dashboards WHERE uuid = 'idx-db-{i}'), {gamma});\n"
            ));
        }
        for k in 0..(i % 6) {
            let c = (i * 5 + k * 7) % 150;
            s.push_str(&format!(
                "INSERT INTO dashboard_charts (dashboard_id, chart_id) VALUES ((SELECT id FROM dashboards WHERE uuid = 'idx-db-{i}'), (SELECT id FROM charts WHERE uuid = 'idx-ch-{c}'));\n"
            ));
        }
    }
    s
}

/// Another replica on `app`'s store acting as `username`, with the index on or off and no
/// response cache.
async fn replica(app: &TestApp, username: &str, index: bool) -> TestApp {
    app.replica_with(username, |c| {
        c.cache.ttl_ms = 0;
        c.cache.catalog_index = index;
    })
    .await
}

/// The structured answer of a call (or its error text).
async fn answer(app: &TestApp, tool: &str, args: &Value) -> Value {
    let (status, _, body) = app.call_raw(tool, args.clone()).await;
    assert_eq!(status, 200, "{tool} {args}: {body}");
    let r = &body["result"];
    if r["isError"] == json!(true) {
        // The error itself, without what differs per call (its time and id).
        let text = r["content"][0]["text"].as_str().unwrap_or_default();
        let mut e: Value = serde_json::from_str(text).unwrap_or(json!(text));
        if let Some(o) = e.as_object_mut() {
            o.remove("timestamp");
            o.remove("error_id");
        }
        return json!({"error": e});
    }
    r["structuredContent"].clone()
}

fn filter(col: &str, opr: &str, value: Value) -> Value {
    json!({"filters": [{"col": col, "opr": opr, "value": value}]})
}

/// The calls compared: every filter operator on every kind of column, searches, every
/// sortable column both ways, pages, the trash, the caller's own, selected columns.
fn cases() -> Vec<(&'static str, Value)> {
    let mut out: Vec<(&str, Value)> = Vec::new();
    let terms = [
        "revenue",
        "REVENUE",
        "ärger",
        "ÄRGER",
        "été",
        "ÉTÉ",
        "50%",
        "%",
        "a_b",
        "_",
        "ss",
        "straße",
        "back\\slash",
        "\\",
        "capitals",
        "sales",
        "board",
        "zzz",
        "re",
        "Or",
        "rev",
    ];
    for t in terms {
        out.push(("list_charts", json!({"search": t, "page_size": 100})));
        out.push(("list_dashboards", json!({"search": t, "page_size": 100})));
        out.push(("list_datasets", json!({"search": t, "page_size": 100})));
    }
    for (col, opr, v) in [
        ("viz_type", "eq", json!("xy")),
        ("viz_type", "ne", json!("xy")),
        ("viz_type", "in", json!(["pie", "table"])),
        ("viz_type", "nin", json!(["pie", "table"])),
        ("slice_name", "like", json!("%Rev%")),
        ("slice_name", "like", json!("rev%")),
        ("slice_name", "ilike", json!("%ärger%")),
        ("slice_name", "ilike", json!("%ÄRGER%")),
        ("slice_name", "sw", json!("Re")),
        ("slice_name", "ew", json!("#3")),
        ("slice_name", "ct", json!("_")),
        ("slice_name", "eq", json!("Orders #4")),
        ("slice_name", "gt", json!("M")),
        ("description", "is_null", Value::Null),
        ("description", "is_not_null", Value::Null),
        ("description", "eq", json!("")),
        ("datasource_id", "eq", json!(1)),
        ("datasource_id", "gt", json!(3)),
        ("datasource_id", "in", json!([1, 2, 3])),
        ("datasource_id", "nin", json!([1, 2, 3])),
        ("id", "lte", json!(40)),
        ("id", "gte", json!(100)),
        ("changed_on", "gte", json!("2026-05-04T00:00:00")),
        ("changed_on", "lt", json!("2026-05-03 10:00:00")),
        ("created_on", "eq", json!("2026-01-01T00:00:07")),
        ("uuid", "eq", json!("idx-ch-9")),
    ] {
        let mut args = filter(col, opr, v);
        args["page_size"] = json!(100);
        out.push(("list_charts", args.clone()));
        args["search"] = json!("e");
        out.push(("list_charts", args));
    }
    for (col, opr, v) in [
        ("published", "eq", json!(true)),
        ("published", "ne", json!(true)),
        ("slug", "is_null", Value::Null),
        ("slug", "like", json!("idx-board-1%")),
        ("slug", "ne", json!("idx-board-2")),
        ("dashboard_title", "ilike", json!("%über%")),
        (
            "dashboard_title",
            "in",
            json!(["Sales board 2", "Sales board 4"]),
        ),
        ("id", "gt", json!(3)),
    ] {
        let mut args = filter(col, opr, v);
        args["page_size"] = json!(100);
        out.push(("list_dashboards", args));
    }
    for (col, opr, v) in [
        ("database_id", "eq", json!(1)),
        ("database_id", "ne", json!(1)),
        ("schema", "is_null", Value::Null),
        ("schema", "eq", json!("main")),
        ("schema", "nin", json!(["main"])),
        ("kind", "eq", json!("virtual")),
        ("kind", "eq", json!("physical")),
        ("kind", "ne", json!("virtual")),
        ("table_name", "sw", json!("sales")),
        ("table_name", "ilike", json!("ORDERS%")),
    ] {
        let mut args = filter(col, opr, v);
        args["page_size"] = json!(100);
        out.push(("list_datasets", args));
    }
    for (tool, cols) in [
        (
            "list_charts",
            &[
                "id",
                "slice_name",
                "viz_type",
                "datasource_id",
                "created_on",
                "changed_on",
            ][..],
        ),
        (
            "list_dashboards",
            &[
                "id",
                "dashboard_title",
                "slug",
                "published",
                "created_on",
                "changed_on",
            ][..],
        ),
        (
            "list_datasets",
            &[
                "id",
                "table_name",
                "schema",
                "database_id",
                "kind",
                "created_on",
                "changed_on",
            ][..],
        ),
    ] {
        for col in cols {
            for dir in ["asc", "desc"] {
                for page in [1, 3] {
                    out.push((
                        tool,
                        json!({"order_column": col, "order_direction": dir, "page": page, "page_size": 7}),
                    ));
                }
            }
        }
        for deleted in ["only", "include"] {
            out.push((tool, json!({"deleted_state": deleted, "page_size": 100})));
        }
        out.push((tool, json!({"created_by_me": true, "page_size": 100})));
        out.push((
            tool,
            json!({"changed_by_me": true, "search": "a", "page_size": 100}),
        ));
        out.push((tool, json!({"page": 40, "page_size": 100})));
    }
    out.push((
        "list_charts",
        json!({"select_columns": ["id", "uuid", "slice_name", "description", "datasource_name", "created_by", "changed_by"], "page_size": 100}),
    ));
    out.push((
        "list_dashboards",
        json!({"select_columns": ["id", "uuid", "chart_count", "created_by", "changed_by", "description"], "page_size": 100}),
    ));
    out.push((
        "list_datasets",
        json!({"select_columns": ["id", "uuid", "database_name", "sql", "main_dttm_col", "description"], "page_size": 100}),
    ));
    for id in [1, 5, 9, 40, 77, 1000] {
        out.push(("get_chart_info", json!({"identifier": id})));
        out.push((
            "get_chart_info",
            json!({"identifier": id, "select_columns": ["created_by", "datasource_name"]}),
        ));
    }
    out.push(("get_chart_info", json!({"identifier": "idx-ch-12"})));
    out
}

async fn index_answers_as_the_store_does(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .config(|c| c.cache.ttl_ms = 0)
        .start()
        .await
    else {
        return;
    };
    add_user(
        &app,
        "gil_gamma",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    add_user(
        &app,
        "alf_alpha",
        "alpha",
        &[("database_access", Some("database"), Some(1))],
    )
    .await;
    let (gamma, alpha) = {
        let mut conn = app.app.db.conn().await.expect("conn");
        let gamma = vizier::auth::roles::ensure_user(&mut conn, "gil_gamma", "gamma", None)
            .await
            .expect("gamma");
        let alpha = vizier::auth::roles::ensure_user(&mut conn, "alf_alpha", "alpha", None)
            .await
            .expect("alpha");
        vizier::auth::roles::ensure_user(&mut conn, "tess_tenant", "alpha", Some("t1"))
            .await
            .expect("tenant user");
        vizier::with_conn!(&mut conn, |c| c
            .batch_execute(&seed_sql(gamma, alpha))
            .await)
        .expect("seed the catalog");
        (gamma, alpha)
    };
    let _ = (gamma, alpha);
    let users = ["admin", "gil_gamma", "alf_alpha", "tess_tenant"];
    let cases = cases();
    let (mut compared, mut nonempty) = (0, 0);
    for user in users {
        let with = replica(&app, user, true).await;
        let without = replica(&app, user, false).await;
        for (tool, args) in &cases {
            let a = answer(&with, tool, args).await;
            let b = answer(&without, tool, args).await;
            assert_eq!(a, b, "{user}: {tool} {args}");
            compared += 1;
            if a["total_count"].as_i64().is_some_and(|n| n > 0) || a["id"].is_number() {
                nonempty += 1;
            }
        }
        // The index held what these calls need: its text folding was proven equal to the
        // store's (else searches would have gone to the store, proving nothing here).
        let snap = with
            .app
            .catalog()
            .await
            .expect("snapshot")
            .expect("index on");
        assert!(snap.semantics.fold.is_some(), "{:?}", snap.semantics);
        eprintln!("{backend:?}: {:?}", snap.semantics);
        with.stop().await;
        without.stop().await;
    }
    assert!(compared >= 960, "{compared} calls compared");
    // Most answers hold something (a comparison of empty answers would prove little).
    assert!(
        nonempty * 3 > compared * 2,
        "{nonempty} of {compared} answers hold rows"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_catalog_index_answers_as_the_store_on_sqlite() {
    index_answers_as_the_store_does(Backend::Sqlite).await;
}

#[actix_web::test]
async fn the_catalog_index_answers_as_the_store_on_postgres() {
    index_answers_as_the_store_does(Backend::Postgres).await;
}

/// Ids of the charts a list answers.
async fn chart_ids(app: &TestApp, search: &str) -> Vec<i64> {
    let v = answer(
        app,
        "list_charts",
        &json!({"search": search, "page_size": 100}),
    )
    .await;
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {v}"))
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

/// A chart made through one replica is listed by it at once, and by another replica on the
/// same store within the refresh interval (the store's change counter); a write that does
/// not go through vizier at all (a script) shows the same way.
async fn writes_show_everywhere(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .config(|c| {
            c.cache.ttl_ms = 0;
            c.cache.catalog_refresh_ms = 100;
        })
        .start()
        .await
    else {
        return;
    };
    let other = replica(&app, "admin", true).await;
    assert!(chart_ids(&app, "zebra").await.is_empty());
    assert!(chart_ids(&other, "zebra").await.is_empty());
    let made = answer(
        &app,
        "generate_chart",
        &json!({"dataset_id": 7, "config": {"chart_type": "table", "group_by": ["region"], "metrics": [{"sql": "COUNT(*)", "label": "n"}]}, "save_chart": true, "name": "Zebra table", "preview_formats": []}),
    )
    .await;
    let id = made["chart"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("saved chart: {made}"));
    assert_eq!(
        chart_ids(&app, "zebra").await,
        vec![id],
        "the writer's replica"
    );
    let started = Instant::now();
    while chart_ids(&other, "zebra").await != vec![id] {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "another replica did not see the new chart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // `other` has an index now: a change elsewhere is reloaded by its watcher, between
    // calls, without a call asking for it.
    let loads = other.app.catalog.loads();
    {
        let mut conn = app.app.db.conn().await.expect("conn");
        vizier::with_conn!(&mut conn, |c| c
            .batch_execute(&format!(
                "UPDATE charts SET name = 'Okapi table' WHERE id = {id}"
            ))
            .await)
        .expect("rename behind vizier's back");
    }
    let started = Instant::now();
    while !chart_ids(&app, "zebra").await.is_empty() || chart_ids(&app, "okapi").await != vec![id] {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a write outside vizier did not show"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    while other.app.catalog.loads() == loads {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other replica's index was not reloaded between calls"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(chart_ids(&other, "okapi").await, vec![id]);
    other.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn catalog_writes_show_on_every_replica_on_sqlite() {
    writes_show_everywhere(Backend::Sqlite).await;
}

#[actix_web::test]
async fn catalog_writes_show_on_every_replica_on_postgres() {
    writes_show_everywhere(Backend::Postgres).await;
}
