//! `update_dataset` through a real MCP client, on SQLite and PostgreSQL: what it changes is
//! what the other tools then see and do — verbose names and flags in the dataset's details
//! and the semantic layer, calculated columns in chart data, owners in who may change it,
//! the cache timeout in whether chart data is read again — and a refused change writes
//! nothing.

use serde_json::{Value, json};

use super::support::*;
use crate::both_backends;

/// The example's `regions` dataset: six rows (name, country, …).
async fn regions(app: &TestApp) -> Value {
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "regions"}]}),
        )
        .await;
    ok(&r)["items"][0]["id"].clone()
}

fn column<'a>(info: &'a Value, name: &str) -> &'a Value {
    info["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["column_name"] == name))
        .unwrap_or_else(|| panic!("no column {name} in {info}"))
}

async fn info(app: &TestApp, id: &Value) -> Value {
    ok(&app
        .tool("get_dataset_info", json!({"identifier": id}))
        .await)
    .clone()
}

async fn update_dataset(app: &TestApp) {
    // Dataset 7 (sales): verbose names, descriptions, flags.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": 7, "description": "Order lines, one row each.",
                   "cache_timeout": 120,
                   "columns": [
                       {"column_name": "region", "verbose_name": "Sales region",
                        "description": "Where the store is."},
                       {"column_name": "channel", "filterable": false, "groupby": false}]}),
        )
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["description"], "Order lines, one row each.", "{v}");
    assert_eq!(v["cache_timeout"], 120, "{v}");
    assert_eq!(column(&v, "region")["verbose_name"], "Sales region", "{v}");
    assert_eq!(column(&v, "region")["description"], "Where the store is.");
    assert_eq!(column(&v, "channel")["is_filterable"], false);
    assert_eq!(column(&v, "channel")["is_groupable"], false);
    let again = info(app, &json!(7)).await;
    assert_eq!(again["columns"], v["columns"], "get_dataset_info agrees");
    // The semantic layer follows the flags.
    let r = app
        .tool(
            "get_compatible_dimensions",
            json!({"dataset_id": 7, "metrics": ["revenue"]}),
        )
        .await;
    let dims = ok(&r).to_string();
    assert!(dims.contains("\"region\""), "{dims}");
    assert!(
        !dims.contains("\"channel\""),
        "channel is hidden now: {dims}"
    );
    // A verbose name of "" removes it; null cache_timeout returns to the default.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": 7, "cache_timeout": null,
                   "columns": [{"column_name": "region", "verbose_name": ""}]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["cache_timeout"], Value::Null, "{v}");
    assert_eq!(column(v, "region")["verbose_name"], Value::Null, "{v}");

    // A calculated column: checked, typed, and usable in chart data as group and filter.
    let regions = regions(app).await;
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": regions, "columns": [
                {"column_name": "name_length", "expression": "LENGTH(name)",
                 "verbose_name": "Name length"}]}),
        )
        .await;
    let v = ok(&r).clone();
    let calc = column(&v, "name_length");
    assert_eq!(calc["expression"], "LENGTH(name)", "{v}");
    assert_eq!(calc["verbose_name"], "Name length", "{v}");
    assert!(!calc["type"].as_str().unwrap_or("").is_empty(), "{v}");
    let config = json!({"chart_type": "table", "mode": "raw", "columns": ["name", "name_length"],
                        "filters": [{"col": "name_length", "opr": "gt", "value": 4}]});
    let r = app
        .tool(
            "get_chart_data",
            json!({"dataset_id": regions, "config": config}),
        )
        .await;
    let data = ok(&r).clone();
    let rows = data["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "{data}");
    for row in rows {
        let name = row[0].as_str().expect("name");
        let len = row[1].as_i64().expect("length");
        assert_eq!(len, name.chars().count() as i64, "{data}");
        assert!(len > 4, "{data}");
    }

    // Refused, and nothing written: the second column fails, so the first column's new
    // description and the dataset's description stay as they were.
    let before = info(app, &regions).await;
    for (columns, field, says) in [
        (
            json!([{"column_name": "name", "description": "changed"},
                   {"column_name": "bad", "expression": "no_such_column + 1"}]),
            "columns.expression",
            "database",
        ),
        (
            json!([{"column_name": "name", "description": "changed"},
                   {"column_name": "sneaky", "expression": "1); DELETE FROM regions; --"}]),
            "columns.expression",
            "",
        ),
        (
            json!([{"column_name": "total", "expression": "COUNT(*)"}]),
            "columns.expression",
            "",
        ),
        (
            json!([{"column_name": "name", "expression": "UPPER(name)"}]),
            "columns.expression",
            "calculated column",
        ),
        (
            json!([{"column_name": "name", "remove": true}]),
            "columns.remove",
            "only calculated",
        ),
        (
            json!([{"column_name": "nmae", "description": "x"}]),
            "columns.column_name",
            "not a column",
        ),
    ] {
        let r = app
            .tool(
                "update_dataset",
                json!({"dataset_id": regions, "description": "changed", "columns": columns}),
            )
            .await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{columns}: {e}");
        assert_eq!(e["details"]["field"], field, "{columns}: {e}");
        assert!(
            e["error"].as_str().unwrap_or("").contains(says),
            "{columns}: {e}"
        );
    }
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": regions, "cache_timeout": -5}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "cache_timeout");
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": regions, "owners": ["nobody_by_that_name"]}),
        )
        .await;
    assert_eq!(
        err(&r)["details"]["unknown"],
        json!(["nobody_by_that_name"])
    );
    assert_eq!(
        info(app, &regions).await,
        before,
        "a refused change wrote nothing"
    );

    // Removing the calculated column.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": regions,
                   "columns": [{"column_name": "name_length", "remove": true}]}),
        )
        .await;
    let v = ok(&r);
    assert!(
        !v["columns"].to_string().contains("name_length"),
        "removed: {v}"
    );

    // Owners: an alpha user with access may change the dataset only once listed as owner.
    add_user(
        app,
        "olga_owner",
        "alpha",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    let olga = app.replica_as("olga_owner").await;
    let change = json!({"dataset_id": 7, "description": "by olga"});
    let r = olga.tool("update_dataset", change.clone()).await;
    let e = err(&r);
    assert_eq!(e["error_type"], "permission_denied", "{e}");
    assert_eq!(e["details"]["missing"], "ownership", "{e}");
    let r = olga
        .tool(
            "update_dataset_metric",
            json!({"dataset_id": 7, "metric_name": "olga", "expression": "COUNT(*)"}),
        )
        .await;
    assert_eq!(err(&r)["details"]["missing"], "ownership");
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": 7, "owners": ["olga_owner"]}),
        )
        .await;
    let owners = ok(&r)["owners"].clone();
    assert!(owners.to_string().contains("olga_owner"), "{owners}");
    let r = olga.tool("update_dataset", change).await;
    assert_eq!(ok(&r)["description"], "by olga");
    let r = olga
        .tool(
            "update_dataset_metric",
            json!({"dataset_id": 7, "metric_name": "olga", "expression": "COUNT(*)"}),
        )
        .await;
    ok(&r);
    // Taken off the list again, she may not.
    let r = app
        .tool("update_dataset", json!({"dataset_id": 7, "owners": []}))
        .await;
    assert!(!ok(&r)["owners"].to_string().contains("olga_owner"));
    let r = olga
        .tool(
            "update_dataset",
            json!({"dataset_id": 7, "description": "x"}),
        )
        .await;
    assert_eq!(err(&r)["details"]["missing"], "ownership");
    olga.stop().await;
}

both_backends!(update_dataset_changes_what_other_tools_see, update_dataset);

/// A dataset's cache_timeout decides whether chart data is read again: 0 never caches it,
/// a lifetime keeps it (the server default is on in both runs).
#[actix_web::test]
async fn a_datasets_cache_timeout_governs_its_chart_data() {
    let dir = tempfile::tempdir().expect("dir");
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| {
            c.datasources.sqlite_dirs = vec![allowed];
            c.cache.chart_data_ttl_ms = 600_000;
        })
        .start()
        .await
        .expect("app");
    let (ds, args, conn) = tills(&app, dir.path()).await;
    let total = tills_total;
    // Never cached: a change behind vizier's back shows at once.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": ds, "cache_timeout": 0}),
        )
        .await;
    assert_eq!(ok(&r)["cache_timeout"], 0);
    assert_eq!(total(&app.tool("get_chart_data", args.clone()).await), 3.0);
    conn.execute("UPDATE tills SET amount = amount * 10", [])
        .expect("update");
    assert_eq!(total(&app.tool("get_chart_data", args.clone()).await), 30.0);
    // An hour: the next change does not show while the rows are kept.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": ds, "cache_timeout": 3600}),
        )
        .await;
    ok(&r);
    assert_eq!(total(&app.tool("get_chart_data", args.clone()).await), 30.0);
    conn.execute("UPDATE tills SET amount = amount * 10", [])
        .expect("update");
    assert_eq!(total(&app.tool("get_chart_data", args.clone()).await), 30.0);
    // One second: after it, the rows are read again.
    let r = app
        .tool(
            "update_dataset",
            json!({"dataset_id": ds, "cache_timeout": 1}),
        )
        .await;
    ok(&r);
    assert_eq!(
        total(&app.tool("get_chart_data", args.clone()).await),
        300.0
    );
    conn.execute("UPDATE tills SET amount = amount * 10", [])
        .expect("update");
    assert_eq!(
        total(&app.tool("get_chart_data", args.clone()).await),
        300.0
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        total(&app.tool("get_chart_data", args.clone()).await),
        3000.0
    );
    app.stop().await;
}
