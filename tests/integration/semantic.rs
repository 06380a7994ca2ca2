//! The semantic layer and a dashboard's datasets through a real MCP client, on SQLite and
//! PostgreSQL: `list_metrics`, `get_dashboard_datasets`, `get_compatible_dimensions`,
//! `get_compatible_metrics` — answers, bad input naming the fix, and access by role.

use serde_json::{Value, json};

use super::support::*;
use crate::both_backends;

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i[key].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Put dataset `id` in the trash, or take it out, as a delete would (no tool deletes datasets).
async fn set_dataset_deleted(app: &TestApp, id: i32, deleted: bool) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use vizier::db::schema::datasets;
    let at = deleted.then(|| chrono::Utc::now().naive_utc());
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::with_conn!(&mut conn, |c| {
        diesel::update(datasets::table.filter(datasets::id.eq(id)))
            .set(datasets::deleted_on.eq(at))
            .execute(c)
            .await
            .expect("update")
    });
    // Written behind vizier's back: tell this replica at once rather than wait for its poll.
    app.app.invalidate_caches();
}

async fn semantic_layer(app: &TestApp) {
    // The example dashboard (id 1): every chart is on the sales dataset (id 7).
    let r = app
        .tool("get_dashboard_datasets", json!({"identifier": 1}))
        .await;
    let v = ok(&r);
    assert_eq!(v["dashboard_id"], 1, "{v}");
    assert_eq!(v["charts_without_access"], 0, "{v}");
    let ds = &v["datasets"][0];
    assert_eq!(v["datasets"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(ds["id"], 7, "{v}");
    assert_eq!(ds["kind"], "virtual", "{v}");
    assert!(
        !ds["chart_ids"].as_array().expect("charts").is_empty(),
        "{v}"
    );
    assert!(
        names(&ds["columns"], "column_name").contains(&"region".to_string()),
        "{v}"
    );
    assert!(
        names(&ds["metrics"], "metric_name").contains(&"revenue".to_string()),
        "{v}"
    );

    // Dimensions for metrics.
    let r = app
        .tool(
            "get_compatible_dimensions",
            json!({"dataset_id": 7, "metrics": ["revenue", "orders"]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(
        names(&v["metrics"], "metric_name"),
        ["revenue", "orders"],
        "{v}"
    );
    assert!(
        names(&v["group_by"], "column_name").contains(&"region".to_string()),
        "{v}"
    );
    assert!(
        names(&v["filter_by"], "column_name").contains(&"channel".to_string()),
        "{v}"
    );
    assert!(
        v["time_columns"]
            .as_array()
            .expect("time")
            .contains(&json!("order_date")),
        "{v}"
    );
    // A metric name that is not saved: the error names the closest one.
    let r = app
        .tool(
            "get_compatible_dimensions",
            json!({"dataset_id": 7, "metrics": ["revenu"]}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "invalid_argument", "{e}");
    assert_eq!(e["details"]["suggestion"], "revenue", "{e}");

    // Metrics for dimensions: on one dataset, and across every visible one.
    let r = app
        .tool(
            "get_compatible_metrics",
            json!({"dimensions": ["region", "channel"], "dataset_id": 7}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["datasets"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(
        names(&v["datasets"][0]["metrics"], "metric_name").contains(&"revenue".to_string()),
        "{v}"
    );
    let r = app
        .tool(
            "get_compatible_metrics",
            json!({"dimensions": ["region", "channel"]}),
        )
        .await;
    let v = ok(&r);
    let ids: Vec<i64> = v["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .filter_map(|d| d["dataset_id"].as_i64())
        .collect();
    assert!(ids.contains(&7), "{v}");
    let r = app
        .tool(
            "get_compatible_metrics",
            json!({"dimensions": ["no_such_column"]}),
        )
        .await;
    assert_eq!(ok(&r)["datasets"], json!([]), "no dataset has it");
    // Bad input: a column the dataset lacks, and no dimensions at all.
    let r = app
        .tool(
            "get_compatible_metrics",
            json!({"dimensions": ["regoin"], "dataset_id": 7}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["suggestion"], "region", "{e}");
    let r = app
        .tool("get_compatible_metrics", json!({"dimensions": []}))
        .await;
    let e = err(&r);
    assert!(
        e["error"].as_str().unwrap_or("").contains("dimensions"),
        "{e}"
    );

    // list_metrics: the saved metrics with the list semantics (search, filters, order,
    // select_columns, pages).
    let r = app.tool("list_metrics", json!({"page_size": 100})).await;
    let v = ok(&r);
    assert_eq!(
        names(&v["items"], "metric_name"),
        [
            "avg_order_value",
            "gross_margin",
            "orders",
            "revenue",
            "units"
        ],
        "every saved metric, by name: {v}"
    );
    assert_eq!(v["total_count"], 5, "{v}");
    assert_eq!(v["items"][0]["dataset_name"], "sales", "{v}");
    assert!(v["items"][0]["expression"].is_string(), "{v}");
    let r = app
        .tool(
            "list_metrics",
            json!({"search": "REVENUE", "select_columns": ["metric_name", "expression", "d3format"]}),
        )
        .await;
    let v = ok(&r);
    assert!(
        names(&v["items"], "metric_name").contains(&"revenue".to_string()),
        "search is case-blind over names and expressions: {v}"
    );
    assert_eq!(
        v["columns_loaded"],
        json!(["metric_name", "expression", "d3format"]),
        "{v}"
    );
    let r = app
        .tool(
            "list_metrics",
            json!({"filters": [{"col": "dataset_id", "opr": "eq", "value": 5}]}),
        )
        .await;
    assert_eq!(ok(&r)["total_count"], 0, "orders has no saved metric");
    let r = app
        .tool(
            "list_metrics",
            json!({"order_column": "metric_name", "order_direction": "desc", "page_size": 2, "page": 2}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(
        names(&v["items"], "metric_name"),
        ["orders", "gross_margin"],
        "{v}"
    );
    assert_eq!(v["has_next"], true, "{v}");
    let r = app
        .tool(
            "list_metrics",
            json!({"filters": [{"col": "expresion", "opr": "eq", "value": "x"}]}),
        )
        .await;
    let e = err(&r);
    assert!(
        e["error"].as_str().unwrap_or("").contains("expression"),
        "an unknown column names the closest: {e}"
    );
    let r = app
        .tool("list_metrics", json!({"deleted_state": "only"}))
        .await;
    assert_eq!(
        err(&r)["error_type"],
        "invalid_argument",
        "metrics have no trash"
    );
    let r = app.tool("get_schema", json!({"model": "metric"})).await;
    assert_eq!(ok(&r)["models"][0]["list_tool"], "list_metrics");

    // Access: a gamma user without dataset access sees no dataset, and is refused by id.
    add_user(app, "nina_nodata", "gamma", &[]).await;
    let nobody = app.replica_as("nina_nodata").await;
    let r = nobody.tool("list_metrics", json!({})).await;
    assert_eq!(ok(&r)["total_count"], 0, "no dataset, no metric");
    let r = nobody
        .tool("get_compatible_dimensions", json!({"dataset_id": 7}))
        .await;
    assert_eq!(
        err(&r)["error_type"],
        "permission_denied",
        "{:?}",
        r.structured_content
    );
    let r = nobody
        .tool("get_compatible_metrics", json!({"dimensions": ["region"]}))
        .await;
    assert_eq!(ok(&r)["datasets"], json!([]), "nothing visible");
    let r = nobody
        .tool("get_dashboard_datasets", json!({"identifier": 1}))
        .await;
    assert_eq!(
        err(&r)["error_type"],
        "permission_denied",
        "{:?}",
        r.structured_content
    );
    // With a grant on the sales dataset, the same calls answer.
    add_user(
        app,
        "gil_sales",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    let granted = app.replica_as("gil_sales").await;
    let r = granted
        .tool("get_compatible_metrics", json!({"dimensions": ["region"]}))
        .await;
    let v = ok(&r);
    let ids: Vec<i64> = v["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .filter_map(|d| d["dataset_id"].as_i64())
        .collect();
    assert_eq!(ids, [7], "only the granted dataset: {v}");
    let r = granted
        .tool("get_dashboard_datasets", json!({"identifier": 1}))
        .await;
    assert_eq!(ok(&r)["datasets"][0]["id"], 7);
    let r = granted.tool("list_metrics", json!({})).await;
    assert_eq!(ok(&r)["total_count"], 5, "the granted dataset's metrics");
    // A dataset in the trash takes its metrics out of the list.
    set_dataset_deleted(app, 7, true).await;
    let r = app.tool("list_metrics", json!({})).await;
    assert_eq!(
        ok(&r)["total_count"],
        0,
        "the sales dataset is in the trash"
    );
    set_dataset_deleted(app, 7, false).await;
    nobody.stop().await;
    granted.stop().await;
}

both_backends!(semantic_layer_and_dashboard_datasets, semantic_layer);
