//! Dashboard native filters through a real MCP client, on SQLite and PostgreSQL metadata:
//! `manage_native_filters` (scope, validation, versions, ownership),
//! `apply_dashboard_filters` and `get_dashboard_data` (each chart's data under the values,
//! with row-level security and the caller's access as for `get_chart_data`).

use serde_json::{Value, json};

use super::support::*;

/// The rows of chart `id` in a dashboard data answer.
fn chart(v: &Value, id: i64) -> &Value {
    v["charts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["chart_id"] == id))
        .unwrap_or_else(|| panic!("chart {id} in {v}"))
}

fn first_column(rows: &Value) -> Vec<String> {
    let mut out: Vec<String> = rows
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| r[0].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Total of the last column over all rows.
fn total(rows: &Value) -> f64 {
    rows.as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.as_array().and_then(|c| c.last()).and_then(Value::as_f64))
                .sum()
        })
        .unwrap_or(0.0)
}

/// Take the example dashboard's own three filters off it.
async fn remove_example_filters(app: &TestApp) {
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "remove": ["NATIVE_FILTER-example-region",
                   "NATIVE_FILTER-example-channel", "NATIVE_FILTER-example-date"]}),
        )
        .await;
    assert_eq!(ok(&r)["filters"], json!([]), "removed");
}

async fn native_filters(app: &TestApp) {
    // The example dashboard (id 1) comes with three filters on `sales`, none set; with no
    // values given, every chart draws unfiltered. This test starts from none.
    let r = app
        .tool("get_dashboard_info", json!({"identifier": 1}))
        .await;
    let info = ok(&r).clone();
    let example: Vec<(String, String)> = info["filters"]
        .as_array()
        .expect("filters")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("filter_type"))
        })
        .collect();
    assert_eq!(
        example,
        [
            ("Region".into(), "filter_select".into()),
            ("Sales channel".into(), "filter_select".into()),
            ("Order date".into(), "filter_time".into())
        ],
        "{info}"
    );
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": []}),
        )
        .await;
    let applied = ok(&r).to_string();
    assert!(!applied.contains("\"is_error\":true"), "{applied}");
    remove_example_filters(app).await;
    // Seven charts on `sales` (dataset 7); add one on `orders` (dataset 5), which has a
    // channel and a time column but no region.
    let r = app
        .tool(
            "generate_chart",
            json!({"dataset_id": 5, "save_chart": true, "name": "Orders by channel",
                   "config": {"chart_type": "pie", "dimension": "channel",
                              "metric": {"column": "order_id", "aggregate": "COUNT"}}}),
        )
        .await;
    let orders_chart = ok(&r)["chart"]["id"].as_i64().expect("chart id");
    let r = app
        .tool(
            "add_chart_to_existing_dashboard",
            json!({"dashboard_id": 1, "chart_id": orders_chart}),
        )
        .await;
    let version = ok(&r)["version"].as_i64().expect("version");

    // Add: a multi-select on channel (both datasets), a single select on region (sales
    // only), a time range on each dataset's main time column.
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "expected_version": version, "add": [
                {"column": "channel", "default_value": ["online"]},
                {"column": "region", "multiple": false, "name": "Region"},
                {"kind": "time_range"}
            ]}),
        )
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["version"], version + 1, "{v}");
    let ids: Vec<String> = v["added"]
        .as_array()
        .expect("added")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 3, "{v}");
    let (channel, region, time) = (&ids[0], &ids[1], &ids[2]);
    let filters = v["filters"].as_array().expect("filters");
    let scope = |i: usize| filters[i]["chart_ids"].as_array().map(Vec::len);
    assert_eq!(scope(0), Some(8), "channel covers both datasets: {v}");
    assert_eq!(scope(1), Some(7), "region covers sales only: {v}");
    assert_eq!(scope(2), Some(8), "{v}");
    assert_eq!(filters[0]["filter_type"], "filter_select");
    assert_eq!(filters[2]["filter_type"], "filter_time");
    assert_eq!(filters[2]["targets"][0]["column"], "order_date", "{v}");
    let r = app
        .tool("get_dashboard_info", json!({"identifier": 1}))
        .await;
    assert_eq!(ok(&r)["filters"].as_array().map(Vec::len), Some(3));

    // Bad input names the problem and the fix; nothing is stored.
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"column": "regoin"}]}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["suggestion"], "region", "{e}");
    assert!(e["error"].as_str().unwrap_or("").contains("regoin"), "{e}");
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"column": "category", "dataset_ids": [3]}]}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["dataset_id"], 3, "{e}");
    assert!(
        e["error"].as_str().unwrap_or("").contains("dataset 3"),
        "{e}"
    );
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"column": "region", "chart_ids": [orders_chart]}]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"kind": "numeric_range", "column": "region"}]}),
        )
        .await;
    assert!(
        err(&r)["error"]
            .as_str()
            .unwrap_or("")
            .contains("not a number")
    );
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"column": "region", "multiple": false, "default_value": ["West", "Midwest"]}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "add[0].default_value");
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "remove": ["NATIVE_FILTER-nope"]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "remove[0]");
    // A stale version is refused.
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "expected_version": version, "remove": [time]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "conflict");
    let r = app
        .tool("get_dashboard_info", json!({"identifier": 1}))
        .await;
    assert_eq!(ok(&r)["version"], version + 1, "bad calls stored nothing");

    // Update and remove in one versioned write; a narrowed scope.
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "update": [{"id": time, "chart_ids": [orders_chart]}],
                   "add": [{"kind": "numeric_range", "column": "quantity"}]}),
        )
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["version"], version + 2, "{v}");
    assert_eq!(v["filters"][2]["chart_ids"], json!([orders_chart]), "{v}");
    let numeric = v["added"][0].as_str().expect("id").to_string();
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "remove": [numeric], "update": [{"id": time, "chart_ids": null}]}),
        )
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["filters"].as_array().map(Vec::len), Some(3), "{v}");

    // Writers must own the dashboard.
    add_user(app, "ali_alpha", "alpha", &[]).await;
    let alpha = app.replica_as("ali_alpha").await;
    let r = alpha
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "remove": [time]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    alpha.stop().await;

    // The data at the defaults: the channel filter keeps online only, on both datasets.
    let pie = 3;
    let r = app
        .tool("get_dashboard_data", json!({"identifier": 1}))
        .await;
    let v = ok(&r).clone();
    assert_eq!(v["charts"].as_array().map(Vec::len), Some(8), "{v}");
    assert_eq!(first_column(&chart(&v, pie)["rows"]), ["online"], "{v}");
    assert_eq!(
        first_column(&chart(&v, orders_chart)["rows"]),
        ["online"],
        "{v}"
    );
    let state: Vec<&str> = v["filters"]
        .as_array()
        .expect("filters")
        .iter()
        .filter_map(|f| f["source"].as_str())
        .collect();
    assert_eq!(state, ["default", "none", "none"], "{v}");
    // The same chart alone, through get_chart_data with the same filter, agrees.
    let r = app
        .tool(
            "get_chart_data",
            json!({"identifier": pie, "config": {"filters": [{"col": "channel", "opr": "eq", "value": "online"}]}}),
        )
        .await;
    assert_eq!(ok(&r)["rows"], chart(&v, pie)["rows"]);

    // Values by column and by id: a region narrows sales charts only; null clears channel.
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [
                {"column": "region", "value": "Midwest"},
                {"id": channel, "value": null},
                {"id": time, "value": {"start": "2024-01-01", "end": "2025-01-01"}}
            ]}),
        )
        .await;
    let f = ok(&r).clone();
    assert_eq!(first_column(&chart(&f, pie)["rows"]).len(), 3, "{f}");
    let by_category = 2;
    let all = app
        .tool("get_chart_data", json!({"identifier": by_category}))
        .await;
    let whole = total(&ok(&all)["rows"]);
    let part = total(&chart(&f, by_category)["rows"]);
    assert!(part > 0.0 && part < whole / 2.0, "{part} of {whole}");
    let orders = chart(&f, orders_chart);
    assert_eq!(
        orders["filters"],
        json!([{"col": "order_date", "opr": "gte", "value": "2024-01-01"},
               {"col": "order_date", "opr": "lt", "value": "2025-01-01"}]),
        "no region on orders: {orders}"
    );
    assert!(
        chart(&f, pie)["executed_sql"]
            .as_str()
            .unwrap_or("")
            .contains("Midwest"),
        "{f}"
    );

    // Bad values: unknown filter, a list for a single select, a bad range.
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [{"column": "regoin", "value": "x"}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["suggestion"], "region");
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [{"id": region, "value": ["West", "Midwest"]}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "filters[0].value");
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [{"id": time, "value": {"start": "yesterday"}}]}),
        )
        .await;
    assert!(
        err(&r)["error"]
            .as_str()
            .unwrap_or("")
            .contains("yesterday")
    );

    // Pictures on request: one PNG per chart drawn.
    let r = app
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "pictures": true, "filters": [{"column": "region", "value": "Midwest"}]}),
        )
        .await;
    let v = ok(&r).clone();
    let pngs = r
        .content
        .iter()
        .filter(|c| c.as_image().is_some_and(|i| i.mime_type == "image/png"))
        .count();
    assert_eq!(pngs, 8, "{v}");
    assert_eq!(chart(&v, pie)["image"].as_u64().map(|i| i < 8), Some(true));

    // Access and row-level security as for a chart alone: a gamma user with access to
    // sales only, under a rule that shows online orders only.
    let r = app
        .tool("create_rls_rule", json!({"name": "online", "filter_type": "regular", "dataset_ids": [5], "roles": ["gamma"], "clause": "channel = 'online'"}))
        .await;
    ok(&r);
    add_user(
        app,
        "gil_sales",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    let gil = app.replica_as("gil_sales").await;
    let r = gil
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [{"id": channel, "value": null}]}),
        )
        .await;
    let v = ok(&r).clone();
    let hidden = chart(&v, orders_chart);
    assert_eq!(hidden["status"], "no_access", "{v}");
    assert!(
        hidden.get("name").is_none() && hidden.get("rows").is_none(),
        "{hidden}"
    );
    assert_eq!(
        first_column(&chart(&v, pie)["rows"]),
        ["online"],
        "RLS: {v}"
    );
    let alone = gil.tool("get_chart_data", json!({"identifier": pie})).await;
    assert_eq!(ok(&alone)["rows"], chart(&v, pie)["rows"]);
    let r = gil
        .tool(
            "apply_dashboard_filters",
            json!({"identifier": 1, "filters": [{"id": channel, "value": ["store", "phone"]}]}),
        )
        .await;
    assert_eq!(
        chart(ok(&r), pie)["rows"],
        json!([]),
        "RLS and the filter both hold"
    );
    let r = gil
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "remove": [channel]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    gil.stop().await;
    add_user(app, "nina_nodata", "gamma", &[]).await;
    let nobody = app.replica_as("nina_nodata").await;
    let r = nobody
        .tool("get_dashboard_data", json!({"identifier": 1}))
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    nobody.stop().await;

    // A copy with its own charts: its filters scope the copied charts, not the originals.
    let r = app
        .tool(
            "duplicate_dashboard",
            json!({"identifier": 1, "duplicate_charts": true}),
        )
        .await;
    let copy = ok(&r).clone();
    let copied: Vec<i64> = copy["chart_ids"]
        .as_array()
        .expect("chart ids")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    let r = app
        .tool("get_dashboard_info", json!({"identifier": copy["id"]}))
        .await;
    let info = ok(&r).clone();
    let filters = info["filters"].as_array().expect("filters");
    assert_eq!(filters.len(), 3, "{info}");
    for f in filters {
        let scope: Vec<i64> = f["chart_ids"]
            .as_array()
            .expect("scope")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert!(!scope.is_empty(), "{f}");
        assert!(
            scope.iter().all(|c| copied.contains(c)),
            "{f} vs {copied:?}"
        );
    }
    let r = app
        .tool("get_dashboard_data", json!({"identifier": copy["id"]}))
        .await;
    assert_eq!(
        ok(&r)["charts"].as_array().map(Vec::len),
        Some(copied.len()),
        "every copied chart answers"
    );
}

/// Native filters change only through manage_native_filters: a json_metadata patch that
/// would set or drop them is refused, names the tool to use, and changes nothing.
#[actix_web::test]
async fn update_dashboard_leaves_native_filters_to_their_tool() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [{"column": "region", "name": "Region"}]}),
        )
        .await;
    let added = ok(&r).clone();
    let before = ok(&app
        .tool("get_dashboard_info", json!({"identifier": 1}))
        .await)
    .clone();
    for patch in [
        json!({"native_filters": [{"name": "Unchecked", "column": "no_such_column"}]}),
        json!({"native_filters": null}),
    ] {
        let r = app
            .tool(
                "update_dashboard",
                json!({"identifier": 1, "json_metadata": patch}),
            )
            .await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{e}");
        assert_eq!(e["details"]["field"], "json_metadata.native_filters", "{e}");
        assert!(
            e["error"]
                .as_str()
                .is_some_and(|m| m.contains("manage_native_filters")),
            "{e}"
        );
    }
    let after = ok(&app
        .tool("get_dashboard_info", json!({"identifier": 1}))
        .await)
    .clone();
    assert_eq!(
        before, after,
        "a refused patch changes nothing (filter added: {added})"
    );
    app.stop().await;
}

/// An app as a default server runs it: the filter tools are listed and callable.
async fn app_with_filters(backend: Backend) -> Option<TestApp> {
    TestApp::start(backend).await
}

mod native_filters_scope_values_and_access {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let app = app_with_filters(Backend::Sqlite).await.expect("sqlite app");
        native_filters(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        let Some(app) = app_with_filters(Backend::Postgres).await else {
            return;
        };
        native_filters(&app).await;
        app.stop().await;
    }
}

#[actix_web::test]
async fn filter_tools_are_listed_by_default() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    let listed: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for tool in [
        "manage_native_filters",
        "apply_dashboard_filters",
        "get_dashboard_data",
    ] {
        assert!(listed.contains(&tool.to_string()), "{tool} is not listed");
    }
    client.cancel().await.ok();
    app.stop().await;
}

/// The one PNG of a screenshot answer, decoded.
fn picture(r: &rmcp::model::CallToolResult) -> resvg::tiny_skia::Pixmap {
    use base64::Engine as _;
    let pngs: Vec<Vec<u8>> = r
        .content
        .iter()
        .filter_map(|c| c.as_image())
        .map(|i| {
            base64::engine::general_purpose::STANDARD
                .decode(&i.data)
                .expect("base64 image")
        })
        .collect();
    assert_eq!(pngs.len(), 1, "one picture");
    resvg::tiny_skia::Pixmap::decode_png(&pngs[0]).expect("a PNG")
}

/// Pixels of rows `from..` of a picture.
fn rows_from(p: &resvg::tiny_skia::Pixmap, from: u32) -> &[u8] {
    &p.data()[(from * p.width() * 4) as usize..]
}

/// get_dashboard_screenshot draws the native filter bar with the values in force and
/// draws the charts under the values it is given, checked as apply_dashboard_filters
/// checks them.
#[actix_web::test]
async fn dashboard_screenshot_draws_the_filter_bar_and_takes_values() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let shot = |args: Value| app.tool("get_dashboard_screenshot", args);
    // The example dashboard's own filters: a bar of three, none set.
    let r = shot(json!({"identifier": 1, "width": 800})).await;
    let example = ok(&r).clone();
    let names: Vec<(&str, &str)> = example["filters"]
        .as_array()
        .expect("the example's bar")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("?"),
                f["source"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Region", "none"),
            ("Sales channel", "none"),
            ("Order date", "none")
        ],
        "{example}"
    );
    let example_h = picture(&r).height();
    remove_example_filters(&app).await;
    let r = shot(json!({"identifier": 1, "width": 800})).await;
    let plain = ok(&r).clone();
    assert!(
        plain.get("filters").is_none(),
        "no filters, no bar: {plain}"
    );
    let plain_h = picture(&r).height();
    assert!(example_h > plain_h, "{example_h} vs {plain_h}");

    let r = app
        .tool(
            "manage_native_filters",
            json!({"identifier": 1, "add": [
                {"column": "region", "name": "Region", "multiple": false, "default_value": "West"},
                {"column": "channel", "name": "Sales channel"}
            ]}),
        )
        .await;
    let added = ok(&r)["added"].clone();
    let (region, channel) = (
        added[0].as_str().expect("id"),
        added[1].as_str().expect("id"),
    );

    // At the defaults: the bar lists both filters with the values in force.
    let r = shot(json!({"identifier": 1, "width": 800})).await;
    let v = ok(&r).clone();
    assert!(v.get("notes").is_none(), "every chart drew: {v}");
    let bar: Vec<(&str, &Value, &str)> = v["filters"]
        .as_array()
        .expect("the bar's filters")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("?"),
                &f["value"],
                f["source"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        bar,
        [
            ("Region", &json!("West"), "default"),
            ("Sales channel", &Value::Null, "none")
        ],
        "{v}"
    );
    let defaults = picture(&r);
    assert_eq!(defaults.width(), 800);
    assert!(
        defaults.height() > plain_h,
        "the bar takes room above the charts: {} vs {plain_h}",
        defaults.height()
    );

    // Given values replace the defaults and change the charts' data: the same grid, drawn
    // differently below the bar.
    let r = shot(json!({"identifier": 1, "width": 800, "filters": [
        {"column": "region", "value": "Midwest"},
        {"id": channel, "value": ["online", "store"]}
    ]}))
    .await;
    let v = ok(&r).clone();
    assert_eq!(v["filters"][0]["value"], "Midwest", "{v}");
    assert_eq!(v["filters"][0]["source"], "given", "{v}");
    assert_eq!(v["filters"][1]["value"], json!(["online", "store"]), "{v}");
    let given = picture(&r);
    assert_eq!(given.height(), defaults.height(), "same bar, same grid");
    let charts_top = defaults.height() / 3;
    assert_ne!(
        rows_from(&given, charts_top),
        rows_from(&defaults, charts_top),
        "the charts show other data"
    );
    // null clears a default: all regions again.
    let r =
        shot(json!({"identifier": 1, "width": 800, "filters": [{"id": region, "value": null}]}))
            .await;
    assert_eq!(ok(&r)["filters"][0]["source"], "given");
    assert_eq!(ok(&r)["filters"][0]["value"], Value::Null);
    let cleared = picture(&r);
    assert_eq!(cleared.height(), defaults.height());
    assert_ne!(
        rows_from(&cleared, charts_top),
        rows_from(&defaults, charts_top)
    );

    // Bad values are refused as apply_dashboard_filters refuses them, naming the fix.
    let r = shot(json!({"identifier": 1, "filters": [{"id": "NATIVE_FILTER-nope", "value": "x"}]}))
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "invalid_argument", "{e}");
    assert_eq!(e["details"]["field"], "filters[0].id", "{e}");
    assert_eq!(e["details"]["allowed"], json!([region, channel]), "{e}");
    let r = shot(json!({"identifier": 1, "filters": [{"column": "regoin", "value": "x"}]})).await;
    assert_eq!(err(&r)["details"]["suggestion"], "region");
    let r =
        shot(json!({"identifier": 1, "filters": [{"id": region, "value": ["West", "Midwest"]}]}))
            .await;
    let e = err(&r);
    assert_eq!(e["details"]["field"], "filters[0].value", "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap_or("")
            .contains("make it multiple or give one"),
        "{e}"
    );
    let r =
        shot(json!({"identifier": 1, "filters": [{"column": "channel", "value": {"a": 1}}]})).await;
    assert_eq!(err(&r)["details"]["field"], "filters[0].value");
    app.stop().await;
}
