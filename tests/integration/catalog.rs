//! Catalog tools through a real MCP client, on SQLite and PostgreSQL: list semantics
//! (every operator, search, ordering, pages), identifiers, validation errors, dashboard
//! writes, soft delete and restore, transactional failure, conflicts, access by role.

use serde_json::{Value, json};

use super::support::*;
use crate::both_backends;

fn names(v: &Value, key: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i[key].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn total(app: &TestApp, tool: &str, args: Value) -> i64 {
    let r = app.tool(tool, args.clone()).await;
    ok(&r)["total_count"]
        .as_i64()
        .unwrap_or_else(|| panic!("{tool} {args}: {:?}", r.structured_content))
}

async fn every_operator(app: &TestApp) {
    let f = |col: &str, opr: &str, value: Value| json!({"filters": [{"col": col, "opr": opr, "value": value}]});
    let cases = [
        (f("slice_name", "eq", json!("Top products")), 1),
        (f("viz_type", "ne", json!("xy")), 4),
        (f("slice_name", "sw", json!("Revenue")), 2),
        (f("slice_name", "ew", json!("revenue")), 2),
        (f("slice_name", "ct", json!("REVENUE")), 4),
        (f("slice_name", "like", json!("%by%")), 3),
        (f("slice_name", "ilike", json!("top%")), 1),
        (f("slice_name", "sw", json!("%")), 0),
        (f("id", "in", json!([1, 2])), 2),
        (f("id", "nin", json!([1, 2])), 5),
        (f("id", "gt", json!(5)), 2),
        (f("id", "gte", json!(5)), 3),
        (f("id", "lt", json!(3)), 2),
        (f("id", "lte", json!("3")), 3),
        (f("viz_type", "in", json!(["pie", "table"])), 2),
        (f("viz_type", "nin", json!(["xy"])), 4),
        (
            json!({"filters": [{"col": "viz_type", "opr": "is_null"}]}),
            0,
        ),
        (
            json!({"filters": [{"col": "viz_type", "opr": "is_not_null"}]}),
            7,
        ),
        (f("changed_on", "gte", json!("2000-01-01")), 7),
        (f("changed_on", "lt", json!("2000-01-01T00:00:00Z")), 0),
        (f("datasource_id", "eq", json!(7)), 7),
    ];
    for (args, want) in cases {
        assert_eq!(
            total(app, "list_charts", args.clone()).await,
            want,
            "{args}"
        );
    }
    // Filters AND together; JSON-encoded strings are accepted for arrays.
    let both = json!({"filters": "[{\"col\":\"slice_name\",\"opr\":\"ct\",\"value\":\"revenue\"},{\"col\":\"viz_type\",\"opr\":\"eq\",\"value\":\"xy\"}]"});
    assert_eq!(total(app, "list_charts", both).await, 2);
    // Booleans, nullable text and time on dashboards.
    assert_eq!(
        total(app, "list_dashboards", f("published", "eq", json!(true))).await,
        1
    );
    assert_eq!(
        total(app, "list_dashboards", f("published", "ne", json!(true))).await,
        0
    );
    assert_eq!(
        total(
            app,
            "list_dashboards",
            f("slug", "eq", json!("retail-overview"))
        )
        .await,
        1
    );
    assert_eq!(
        total(
            app,
            "list_dashboards",
            json!({"filters": [{"col": "slug", "opr": "is_null"}]})
        )
        .await,
        0
    );
    assert_eq!(
        total(app, "list_datasets", f("kind", "eq", json!("virtual"))).await,
        1
    );
    assert_eq!(
        total(
            app,
            "list_datasets",
            f("table_name", "in", json!(["orders", "stores"]))
        )
        .await,
        2
    );
    assert_eq!(
        total(app, "list_databases", f("backend", "eq", json!("sqlite"))).await,
        1
    );
    assert_eq!(
        total(app, "list_databases", f("allow_dml", "eq", json!(false))).await,
        1
    );
}
both_backends!(operators, every_operator);

async fn search_order_and_pages(app: &TestApp) {
    assert_eq!(
        total(app, "list_charts", json!({"search": "category"})).await,
        2
    );
    assert_eq!(
        total(app, "list_charts", json!({"search": "STACKED"})).await,
        1,
        "description is searched"
    );
    assert_eq!(
        total(app, "list_charts", json!({"search": "100%_"})).await,
        0,
        "wildcards match literally"
    );
    // `_` is literal: "order_l" must not match the sales description's "order line".
    assert_eq!(
        total(app, "list_datasets", json!({"search": "order_l"})).await,
        1
    );

    let r = app
        .tool(
            "list_charts",
            json!({"order_column": "slice_name", "order_direction": "asc"}),
        )
        .await;
    assert_eq!(names(ok(&r), "slice_name")[0], "Monthly revenue");
    let r = app
        .tool(
            "list_charts",
            json!({"order_column": "slice_name", "order_direction": "desc"}),
        )
        .await;
    assert_eq!(names(ok(&r), "slice_name")[0], "Weekly orders by segment");

    let r = app
        .tool("list_charts", json!({"page_size": 3, "order_column": "id"}))
        .await;
    let v = ok(&r);
    assert_eq!(
        (
            v["count"].as_i64(),
            v["total_count"].as_i64(),
            v["total_pages"].as_i64()
        ),
        (Some(3), Some(7), Some(3))
    );
    assert_eq!(
        (v["has_next"].as_bool(), v["has_previous"].as_bool()),
        (Some(true), Some(false))
    );
    let r = app
        .tool(
            "list_charts",
            json!({"page_size": 3, "page": 3, "order_column": "id"}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["count"], 1);
    assert_eq!(v["items"][0]["id"], 7);
    assert_eq!(
        (v["has_next"].as_bool(), v["has_previous"].as_bool()),
        (Some(false), Some(true))
    );
    let r = app.tool("list_charts", json!({"page": 99})).await;
    let v = ok(&r);
    assert_eq!(
        (v["count"].as_i64(), v["total_count"].as_i64()),
        (Some(0), Some(7)),
        "past the end is empty, not an error"
    );
    for bad in [
        json!({"page_size": 0}),
        json!({"page_size": 101}),
        json!({"page": 0}),
    ] {
        let r = app.tool("list_charts", bad.clone()).await;
        assert_eq!(err(&r)["error_type"], "invalid_argument", "{bad}");
    }

    // Lean default columns; select_columns adds the config.
    let r = app.tool("list_charts", json!({"page_size": 1})).await;
    let v = ok(&r);
    assert!(v["items"][0].get("config").is_none());
    assert!(
        v["columns_available"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("config")))
    );
    let r = app
        .tool(
            "list_charts",
            json!({"page_size": 1, "select_columns": ["id", "config", "datasource_name"]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["items"][0]["datasource_name"], "sales");
    assert!(v["items"][0]["config"]["chart_type"].is_string());
    assert_eq!(
        v["columns_loaded"],
        json!(["id", "config", "datasource_name"])
    );
}
both_backends!(search_and_pages, search_order_and_pages);

async fn validation_errors(app: &TestApp) {
    let cases = [
        (
            json!({"filters": [{"col": "slice_nam", "opr": "eq", "value": "x"}]}),
            "filters.col",
            Some("slice_name"),
        ),
        (
            json!({"filters": [{"col": "slice_name", "opr": "eqq", "value": "x"}]}),
            "filters.opr",
            Some("eq"),
        ),
        (
            json!({"filters": [{"col": "config", "opr": "eq", "value": "x"}]}),
            "filters.col",
            None,
        ),
        (
            json!({"order_column": "slice_nme"}),
            "order_column",
            Some("slice_name"),
        ),
        (json!({"order_direction": "down"}), "order_direction", None),
        (
            json!({"select_columns": ["slice_nam"]}),
            "select_columns",
            Some("slice_name"),
        ),
        (
            json!({"deleted_state": "onyl"}),
            "deleted_state",
            Some("only"),
        ),
        (json!({"serach": "x"}), "serach", Some("search")),
    ];
    for (args, field, suggestion) in cases {
        let r = app.tool("list_charts", args.clone()).await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{args}");
        assert_eq!(e["details"]["field"], field, "{args}: {e}");
        if let Some(s) = suggestion {
            assert_eq!(e["details"]["suggestion"], s, "{args}: {e}");
        }
    }
    for args in [
        json!({"filters": [{"col": "id", "opr": "eq", "value": "abc"}]}),
        json!({"filters": [{"col": "id", "opr": "in", "value": 3}]}),
        json!({"filters": [{"col": "id", "opr": "eq"}]}),
        json!({"filters": [{"col": "changed_on", "opr": "gt", "value": "yesterday"}]}),
    ] {
        let r = app.tool("list_charts", args.clone()).await;
        assert_eq!(err(&r)["error_type"], "invalid_argument", "{args}");
    }
}
both_backends!(validation, validation_errors);

async fn identifiers(app: &TestApp) {
    let by_slug = app
        .tool(
            "get_dashboard_info",
            json!({"identifier": "retail-overview"}),
        )
        .await;
    let d = ok(&by_slug).clone();
    assert_eq!(d["dashboard_title"], "Retail overview");
    assert_eq!(d["chart_count"], 7);
    assert_eq!(d["owners"], json!(["admin"]));
    let by_id = app
        .tool("get_dashboard_info", json!({"identifier": d["id"]}))
        .await;
    assert_eq!(ok(&by_id)["uuid"], d["uuid"]);
    let by_uuid = app
        .tool("get_dashboard_info", json!({"identifier": d["uuid"]}))
        .await;
    assert_eq!(ok(&by_uuid)["id"], d["id"]);
    let layout = app
        .tool("get_dashboard_layout", json!({"identifier": d["id"]}))
        .await;
    let l = ok(&layout);
    assert_eq!(l["positions"].as_array().map(Vec::len), Some(7));
    assert_eq!(l["grid_columns"], 12);

    let chart = app.tool("get_chart_info", json!({"identifier": "3"})).await;
    let c = ok(&chart).clone();
    assert_eq!(c["slice_name"], "Sales channel share");
    assert!(c.get("config").is_none(), "lean by default");
    assert_eq!(c["dashboards"][0]["dashboard_title"], "Retail overview");
    let full = app
        .tool(
            "get_chart_info",
            json!({"identifier": c["uuid"], "select_columns": ["config"]}),
        )
        .await;
    assert_eq!(ok(&full)["config"]["chart_type"], "pie");

    let missing = app
        .tool("get_chart_info", json!({"identifier": 9999}))
        .await;
    assert_eq!(err(&missing)["error_type"], "not_found");
    let missing = app
        .tool("get_dashboard_info", json!({"identifier": "no-such-slug"}))
        .await;
    assert_eq!(err(&missing)["error_type"], "not_found");
    let bad = app
        .tool("get_chart_info", json!({"identifier": "not-a-uuid"}))
        .await;
    assert_eq!(err(&bad)["error_type"], "invalid_argument");

    let ds = app.tool("get_dataset_info", json!({"identifier": 7})).await;
    let v = ok(&ds);
    assert_eq!(v["table_name"], "sales");
    assert_eq!(v["kind"], "virtual");
    assert!(v["columns"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["column_name"] == "order_date" && c["is_temporal"] == true)
    }));
    assert!(
        v["metrics"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["metric_name"] == "revenue"))
    );
    let db = app
        .tool("get_database_info", json!({"identifier": 1}))
        .await;
    let v = ok(&db);
    assert_eq!(v["backend"], "sqlite");
    assert!(
        !v.to_string().contains("sqlite://"),
        "credentials never leave: {v}"
    );
}
both_backends!(identifiers_of_each_kind, identifiers);

async fn dashboard_lifecycle(app: &TestApp) {
    let r = app
        .tool("generate_dashboard", json!({"chart_ids": [1, 2, 3]}))
        .await;
    let created = ok(&r).clone();
    assert!(
        created["dashboard_title"]
            .as_str()
            .is_some_and(|t| t.contains("Monthly revenue"))
    );
    assert_eq!(created["positions"].as_array().map(Vec::len), Some(3));
    assert_eq!(created["positions"][2]["row"], 1, "two per row");
    let id = created["id"].clone();
    let again = app
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [1], "dashboard_title": created["dashboard_title"]}),
        )
        .await;
    assert_ne!(ok(&again)["slug"], created["slug"], "slugs are unique");
    let taken = app
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [1], "slug": "retail-overview"}),
        )
        .await;
    assert_eq!(err(&taken)["error_type"], "conflict");
    let bad = app
        .tool("generate_dashboard", json!({"chart_ids": [1, 999]}))
        .await;
    assert_eq!(err(&bad)["error_type"], "not_found");

    let r = app
        .tool(
            "update_dashboard",
            json!({"identifier": id, "dashboard_title": "Q4 review", "published": true,
        "json_metadata": {"refresh_frequency": 60}}),
        )
        .await;
    let u = ok(&r);
    assert_eq!(
        u["changed_fields"],
        json!(["dashboard_title", "published", "json_metadata"])
    );
    let r = app
        .tool(
            "update_dashboard",
            json!({"identifier": id, "dashboard_title": "Q4 review"}),
        )
        .await;
    assert_eq!(ok(&r)["changed_fields"], json!([]));
    let stale = app
        .tool(
            "update_dashboard",
            json!({"identifier": id, "description": "x", "expected_version": 1}),
        )
        .await;
    assert_eq!(err(&stale)["error_type"], "conflict");

    let r = app
        .tool(
            "add_chart_to_existing_dashboard",
            json!({"dashboard_id": id, "chart_id": 4}),
        )
        .await;
    let p = ok(&r);
    // Rows: [1, 2] and [3] (a lone chart spans the grid), so the new chart opens row 2.
    assert_eq!(
        (p["position"]["row"].as_i64(), p["position"]["x"].as_i64()),
        (Some(2), Some(0))
    );
    let dup = app
        .tool(
            "add_chart_to_existing_dashboard",
            json!({"dashboard_id": id, "chart_id": 4}),
        )
        .await;
    assert_eq!(err(&dup)["error_type"], "conflict");
    let r = app
        .tool(
            "remove_chart_from_dashboard",
            json!({"dashboard_id": id, "chart_id": 1}),
        )
        .await;
    ok(&r);
    let info = app
        .tool("get_dashboard_info", json!({"identifier": id}))
        .await;
    let charts: Vec<i64> = ok(&info)["charts"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(charts, vec![2, 3, 4]);

    let before = total(app, "list_charts", json!({})).await;
    let r = app
        .tool(
            "duplicate_dashboard",
            json!({"identifier": id, "duplicate_charts": true}),
        )
        .await;
    let copy = ok(&r).clone();
    assert_eq!(copy["dashboard_title"], "Q4 review (copy)");
    assert_eq!(total(app, "list_charts", json!({})).await, before + 3);
    let layout = app
        .tool("get_dashboard_layout", json!({"identifier": copy["id"]}))
        .await;
    let placed: Vec<i64> = ok(&layout)["positions"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["chart_id"].as_i64()).collect())
        .unwrap_or_default();
    assert!(
        placed.iter().all(|c| *c > 7),
        "the copy's layout points at the copied charts: {placed:?}"
    );
    let r = app
        .tool("duplicate_dashboard", json!({"identifier": id}))
        .await;
    assert_eq!(ok(&r)["chart_ids"], json!([2, 3, 4]));

    // Soft delete, the trash, restore.
    let r = app
        .tool("delete_dashboard", json!({"identifier": id}))
        .await;
    ok(&r);
    assert_eq!(
        total(
            app,
            "list_dashboards",
            json!({"filters": [{"col": "id", "opr": "eq", "value": id}]})
        )
        .await,
        0
    );
    assert_eq!(
        total(app, "list_dashboards", json!({"deleted_state": "only"})).await,
        1
    );
    let gone = app
        .tool("get_dashboard_info", json!({"identifier": id}))
        .await;
    assert!(
        err(&gone)["details"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("restore_deleted"))
    );
    let r = app
        .tool(
            "restore_deleted",
            json!({"object_type": "dashboard", "identifier": id}),
        )
        .await;
    ok(&r);
    assert_eq!(
        total(app, "list_dashboards", json!({"deleted_state": "only"})).await,
        0
    );
    let r = app.tool("delete_chart", json!({"identifier": 2})).await;
    ok(&r);
    let info = app
        .tool("get_dashboard_info", json!({"identifier": id}))
        .await;
    assert_eq!(
        ok(&info)["chart_count"],
        2,
        "deleted charts leave dashboards"
    );
    assert_eq!(
        total(app, "list_charts", json!({"deleted_state": "include"})).await,
        before + 3
    );
    let r = app
        .tool(
            "restore_deleted",
            json!({"object_type": "chart", "identifier": 2}),
        )
        .await;
    ok(&r);
    let info = app
        .tool("get_dashboard_info", json!({"identifier": id}))
        .await;
    assert_eq!(ok(&info)["chart_count"], 3);
}
both_backends!(dashboards, dashboard_lifecycle);

async fn concurrent_updates_lose_nothing(app: &TestApp) {
    let client = app.client(Era::Handshake("2025-11-25")).await;
    let calls = (0..8).map(|i| {
        call(
            &client,
            "update_dashboard",
            json!({"identifier": 1, "json_metadata": {format!("k{i}"): i}}),
        )
    });
    let results = futures::future::join_all(calls).await;
    let mut applied = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if r.is_error == Some(true) {
            assert_eq!(err(r)["error_type"], "conflict", "only conflicts may fail");
        } else {
            applied.push(i);
        }
    }
    assert!(!applied.is_empty());
    let info = call(&client, "get_dashboard_info", json!({"identifier": 1})).await;
    let meta = &ok(&info)["json_metadata"];
    for i in applied {
        assert_eq!(
            meta[format!("k{i}")],
            i,
            "an acknowledged update was lost: {meta}"
        );
    }
    client.cancel().await.ok();
}
both_backends!(concurrency, concurrent_updates_lose_nothing);

async fn failed_writes_leave_nothing(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .config(|c| {
            c.faults.fail_points = vec![
                "generate_dashboard.after_dashboard".into(),
                "duplicate_dashboard.after_chart".into(),
            ]
        })
        .start()
        .await
    else {
        return;
    };
    let dashboards = total(&app, "list_dashboards", json!({"deleted_state": "include"})).await;
    let charts = total(&app, "list_charts", json!({"deleted_state": "include"})).await;
    let r = app
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [1, 2], "dashboard_title": "Never"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "internal");
    let r = app
        .tool(
            "duplicate_dashboard",
            json!({"identifier": 1, "duplicate_charts": true}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "internal");
    assert_eq!(
        total(&app, "list_dashboards", json!({"deleted_state": "include"})).await,
        dashboards
    );
    assert_eq!(
        total(&app, "list_charts", json!({"deleted_state": "include"})).await,
        charts
    );
    assert_eq!(
        total(&app, "list_dashboards", json!({"search": "Never"})).await,
        0
    );
    app.stop().await;
}

#[actix_web::test]
async fn failed_writes_roll_back_sqlite() {
    failed_writes_leave_nothing(Backend::Sqlite).await;
}

#[actix_web::test]
async fn failed_writes_roll_back_postgres() {
    failed_writes_leave_nothing(Backend::Postgres).await;
}

async fn access_by_role(app: &TestApp) {
    // sales dataset is id 7; orders table dataset id 5.
    add_user(app, "ann_alpha", "alpha", &[]).await;
    add_user(
        app,
        "gus_gamma",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    add_user(app, "nora_gamma", "gamma", &[]).await;
    add_user(app, "sam_sql", "sql_lab", &[]).await;
    let alpha = app.replica_as("ann_alpha").await;
    let gamma = app.replica_as("gus_gamma").await;
    let nobody = app.replica_as("nora_gamma").await;
    let sql_only = app.replica_as("sam_sql").await;

    // A draft by the admin: visible to the admin and alpha, not to gamma.
    let r = app
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [1], "dashboard_title": "Admin draft"}),
        )
        .await;
    let draft = ok(&r)["id"].clone();

    assert_eq!(total(app, "list_dashboards", json!({})).await, 2);
    assert_eq!(total(&alpha, "list_dashboards", json!({})).await, 2);
    assert_eq!(
        total(&gamma, "list_dashboards", json!({})).await,
        1,
        "gamma sees published only"
    );
    assert_eq!(total(&gamma, "list_charts", json!({})).await, 7);
    assert_eq!(total(&gamma, "list_datasets", json!({})).await, 1);
    assert_eq!(
        total(&gamma, "list_databases", json!({})).await,
        1,
        "via its dataset"
    );
    assert_eq!(total(&nobody, "list_charts", json!({})).await, 0);
    assert_eq!(total(&nobody, "list_dashboards", json!({})).await, 0);

    let hidden = gamma
        .tool("get_dashboard_info", json!({"identifier": draft}))
        .await;
    let e = err(&hidden);
    assert_eq!(e["error_type"], "permission_denied");
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("draft")),
        "{e}"
    );
    let hidden = nobody
        .tool("get_chart_info", json!({"identifier": 1}))
        .await;
    let e = err(&hidden);
    assert_eq!(e["error_type"], "permission_denied");
    assert_eq!(e["details"]["missing"], "dataset_access");
    let hidden = gamma
        .tool("get_dataset_info", json!({"identifier": 5}))
        .await;
    assert_eq!(err(&hidden)["error_type"], "permission_denied");

    // Tools the role lacks are hidden from tools/list and refused by name.
    let client = gamma.client(Era::Stateless).await;
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(tools.contains(&"list_charts".to_string()));
    assert!(!tools.contains(&"generate_dashboard".to_string()));
    let r = call(&client, "generate_dashboard", json!({"chart_ids": [1]})).await;
    let e = err(&r);
    assert_eq!(e["error_type"], "permission_denied");
    assert_eq!(e["details"]["missing_permission"], "catalog.write");
    client.cancel().await.ok();
    let r = sql_only.tool("list_charts", json!({})).await;
    assert_eq!(err(&r)["details"]["missing_permission"], "catalog.read");

    // Writers need ownership of what they change.
    let r = alpha
        .tool(
            "update_dashboard",
            json!({"identifier": draft, "dashboard_title": "Mine now"}),
        )
        .await;
    assert_eq!(err(&r)["details"]["missing"], "ownership");
    let r = alpha
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [2], "dashboard_title": "Alpha's"}),
        )
        .await;
    let mine = ok(&r)["id"].clone();
    let r = alpha
        .tool(
            "update_dashboard",
            json!({"identifier": mine, "description": "ok"}),
        )
        .await;
    ok(&r);
    let r = app
        .tool("delete_dashboard", json!({"identifier": mine}))
        .await;
    ok(&r);

    for replica in [alpha, gamma, nobody, sql_only] {
        replica.stop().await;
    }
}
both_backends!(access, access_by_role);

#[actix_web::test]
async fn the_byte_budget_cuts_lists_and_says_so() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.limits.response_bytes = 1200)
        .start()
        .await
        .expect("app");
    let r = app
        .tool(
            "list_charts",
            json!({"select_columns": ["id", "slice_name", "config", "description"]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["truncated"], true);
    assert!(
        v["count"].as_i64().is_some_and(|c| (1..7).contains(&c)),
        "{v}"
    );
    assert_eq!(v["total_count"], 7);
    assert!(
        v["truncation_hint"]
            .as_str()
            .is_some_and(|h| h.contains("page_size"))
    );
    let r = app.tool("list_charts", json!({"page_size": 2})).await;
    assert_eq!(ok(&r)["truncated"], false);
    app.stop().await;
}
