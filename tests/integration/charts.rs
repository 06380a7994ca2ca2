//! Charts through the protocol: every chart type from config to SQL to data to every
//! picture format, on the example SQLite source and on a PostgreSQL source; saving and
//! changing charts; validation; row-level security in pictures; the explore page in a
//! real browser; a full render queue refusing cleanly.

use std::time::Duration;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use super::browser;
use super::support::*;
use crate::both_backends;

const FORMATS: [&str; 5] = ["png", "svg", "ascii", "table", "vega_lite"];

/// The PNG images of a result.
fn images(r: &CallToolResult) -> Vec<Vec<u8>> {
    r.content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Image(i) => {
                assert_eq!(i.mime_type, "image/png");
                Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(&i.data)
                        .expect("base64 image"),
                )
            }
            _ => None,
        })
        .collect()
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

/// Check one picture of `format` in a get_chart_preview result.
fn check_picture(format: &str, r: &CallToolResult, name: &str) {
    let v = ok(r);
    let p = &v["preview"];
    assert_eq!(p["format"], format, "{name}");
    match format {
        "png" => {
            let imgs = images(r);
            assert_eq!(imgs.len(), 1, "{name}: one PNG image");
            assert_eq!(png_size(&imgs[0]), (800, 600), "{name}");
            assert!(imgs[0].len() > 5_000, "{name}: a real picture, not a blank");
            assert!(p.get("content").is_none());
            assert!(v.get("__images").is_none(), "images leave the JSON");
        }
        "svg" => {
            let s = p["content"].as_str().expect("svg text");
            assert!(s.contains("<svg") && s.contains("</svg>"), "{name}");
        }
        "ascii" | "table" => {
            let s = p["content"].as_str().expect("text");
            assert!(s.lines().count() >= 3, "{name} {format}:\n{s}");
        }
        "vega_lite" => {
            let spec = &p["content"];
            assert!(
                spec["$schema"]
                    .as_str()
                    .is_some_and(|s| s.contains("vega-lite/v5")),
                "{name}: {spec}"
            );
            assert!(spec["data"]["values"].is_array(), "{name}: inline data");
        }
        _ => unreachable!(),
    }
}

async fn every_example_chart_in_every_format(app: &TestApp) {
    let r = app.tool("list_charts", json!({"page_size": 50})).await;
    let charts = ok(&r)["items"].as_array().expect("charts").clone();
    assert_eq!(charts.len(), 7);
    for c in &charts {
        let (id, name) = (
            c["id"].clone(),
            c["slice_name"].as_str().unwrap_or_default(),
        );
        let r = app.tool("get_chart_sql", json!({"identifier": id})).await;
        let sql = ok(&r)["sql"].as_str().expect("sql").to_string();
        assert!(sql.to_uppercase().contains("SELECT"), "{name}: {sql}");
        let r = app.tool("get_chart_data", json!({"identifier": id})).await;
        let data = ok(&r);
        assert!(
            !data["columns"]
                .as_array()
                .expect("columns")
                .contains(&json!("__latest")),
            "{name}: the picture's helper column stays out of the data: {}",
            data["columns"]
        );
        assert!(
            data["row_count"].as_u64().unwrap_or(0) > 0,
            "{name}: {data}"
        );
        assert!(
            !data["summary"].as_array().expect("summary").is_empty(),
            "{name}"
        );
        let r = app
            .tool(
                "get_chart_data",
                json!({"identifier": id, "format": "csv", "limit": 5}),
            )
            .await;
        let csv = ok(&r)["csv"].as_str().expect("csv").to_string();
        assert!(
            csv.lines().count() >= 2 && csv.lines().count() <= 6,
            "{name}: {csv}"
        );
        for format in FORMATS {
            let r = app
                .tool(
                    "get_chart_preview",
                    json!({"identifier": id, "format": format}),
                )
                .await;
            check_picture(format, &r, name);
        }
    }
    let r = app.tool("list_dashboards", json!({})).await;
    let dash = ok(&r)["items"][0]["id"].clone();
    let r = app
        .tool(
            "get_dashboard_screenshot",
            json!({"identifier": dash, "width": 1200}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["charts"], 7, "{v}");
    assert!(v.get("notes").is_none(), "every chart drew: {v}");
    let imgs = images(&r);
    let (w, h) = png_size(&imgs[0]);
    assert_eq!(w, 1200);
    assert!(h > 600, "the dashboard is taller than one row: {h}");
}
both_backends!(every_example_chart, every_example_chart_in_every_format);

#[actix_web::test]
async fn every_chart_type_on_a_postgres_source() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let Some(admin) = pg_admin_url() else {
        app.stop().await;
        return;
    };
    let table = format!("vz_chart_{}", uuid::Uuid::new_v4().simple());
    {
        use diesel_async::{AsyncConnection, SimpleAsyncConnection};
        let mut conn = diesel_async::AsyncPgConnection::establish(&admin)
            .await
            .expect("pg");
        conn.batch_execute(&format!(
            "CREATE TABLE {table} (sold_at timestamptz, region text, channel text, amount numeric(12,2));
             INSERT INTO {table}
             SELECT timestamptz '2025-01-01' + (m || ' months')::interval + (d || ' days')::interval,
                    (ARRAY['north','south','east'])[1 + (m + d) % 3],
                    (ARRAY['online','store'])[1 + d % 2],
                    (10 + m * 2 + d)::numeric
             FROM generate_series(0, 11) m, generate_series(0, 9) d;"
        ))
        .await
        .expect("table");
    }
    let r = app
        .tool(
            "register_database",
            json!({"database_name": "pg-charts", "url": admin}),
        )
        .await;
    let db = ok(&r)["id"].clone();
    let r = app
        .tool(
            "create_dataset",
            json!({"database_id": db, "table_name": table}),
        )
        .await;
    let ds = ok(&r)["id"].clone();
    let r = app
        .tool("get_dataset_info", json!({"identifier": ds}))
        .await;
    let info = ok(&r).to_string();
    assert!(info.contains("sold_at"), "{info}");
    let total: f64 = (0..12)
        .flat_map(|m| (0..10).map(move |d| f64::from(10 + m * 2 + d)))
        .sum();
    let amount = json!({"column": "amount", "aggregate": "SUM", "label": "amount"});
    let configs = [
        json!({"chart_type": "xy", "kind": "line", "x": "sold_at", "time_grain": "month", "metrics": [amount]}),
        json!({"chart_type": "xy", "kind": "bar", "x": "region", "metrics": [amount], "group_by": ["channel"], "stacked": true}),
        json!({"chart_type": "pie", "dimension": "region", "metric": amount}),
        json!({"chart_type": "big_number", "metric": amount, "x": "sold_at", "time_grain": "quarter", "show_trendline": true, "compare_to_previous_period": true}),
        json!({"chart_type": "table", "group_by": ["region"], "metrics": [amount], "order_by": "amount", "order_desc": true}),
        json!({"chart_type": "pivot_table", "rows": ["region"], "columns": ["channel"], "metrics": [amount], "show_totals": true}),
        json!({"chart_type": "mixed_timeseries", "x": "sold_at", "time_grain": "month", "metrics": [amount], "kind": "bar",
               "secondary_metrics": [{"sql": "COUNT(*)", "label": "sales"}], "group_by": ["channel"]}),
    ];
    for config in configs {
        let r = app
            .tool(
                "generate_chart",
                json!({"dataset_id": ds, "config": config, "preview_formats": FORMATS}),
            )
            .await;
        let v = ok(&r);
        assert_eq!(v["saved"], false);
        assert_eq!(v["previews"].as_array().map(Vec::len), Some(5));
        assert!(
            v["previews"][0]["content"].is_null(),
            "png travels as an image: {v}"
        );
        assert_eq!(images(&r).len(), 1);
        let sql = v["executed_sql"].as_str().unwrap_or_default();
        if config["time_grain"] == "month" {
            assert!(
                sql.contains("date_trunc('month'"),
                "PostgreSQL bucketing: {sql}"
            );
        }
        let r = app
            .tool(
                "get_chart_data",
                json!({"dataset_id": ds, "config": config}),
            )
            .await;
        let data = ok(&r);
        if config["chart_type"] == "pie" || config["chart_type"] == "table" {
            let sum: f64 = data["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| {
                    r[1].as_str()
                        .and_then(|s| s.parse().ok())
                        .or(r[1].as_f64())
                        .expect("number")
                })
                .sum();
            assert!((sum - total).abs() < 1e-6, "{config}: {sum} vs {total}");
        }
    }
    app.stop().await;
}

/// A mixed chart: both axes from one query, every picture format drawing the right axis
/// apart, and a config missing one axis refused with the fix.
#[actix_web::test]
async fn mixed_timeseries_draws_two_axes_in_every_format() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let config = json!({"chart_type": "mixed_timeseries", "x": "order_date", "time_grain": "quarter",
        "metrics": [{"saved_metric": "revenue"}], "kind": "bar", "y_axis_format": "$,.0f",
        "secondary_metrics": [{"saved_metric": "orders"}], "secondary_y_axis_title": "Orders"});
    let r = app
        .tool("get_chart_data", json!({"dataset_id": 7, "config": config}))
        .await;
    let data = ok(&r);
    let columns = data["columns"].to_string();
    assert!(
        columns.contains("revenue") && columns.contains("orders"),
        "{columns}"
    );
    for format in FORMATS {
        let r = app
            .tool(
                "get_chart_preview",
                json!({"dataset_id": 7, "config": config, "format": format}),
            )
            .await;
        check_picture(format, &r, "mixed");
        let p = &ok(&r)["preview"];
        let text = p["content"].as_str().unwrap_or_default();
        match format {
            "svg" => assert!(
                text.contains("orders (right axis)") && text.contains(">Orders<"),
                "the right axis' legend entry and title: {text}"
            ),
            "ascii" => assert!(text.contains("Right axis:"), "{text}"),
            "vega_lite" => {
                let spec = &p["content"];
                assert_eq!(spec["layer"].as_array().map(Vec::len), Some(2), "{spec}");
                assert_eq!(spec["resolve"]["scale"]["y"], "independent", "{spec}");
            }
            _ => {}
        }
    }
    let mut one_axis = config.clone();
    one_axis["secondary_metrics"] = json!([]);
    let r = app
        .tool(
            "get_chart_preview",
            json!({"dataset_id": 7, "config": one_axis, "format": "png"}),
        )
        .await;
    let e = err(&r);
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("config.secondary_metrics"),
        "{e}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn charts_are_saved_changed_and_previewed() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let sales = {
        let r = app
            .tool(
                "list_datasets",
                json!({"filters": [{"col": "table_name", "opr": "eq", "value": "sales"}]}),
            )
            .await;
        ok(&r)["items"][0]["id"].clone()
    };
    let config = json!({"chart_type": "xy", "kind": "bar", "x": "region", "metrics": [{"saved_metric": "revenue"}]});
    // Preview only by default: nothing is saved.
    let r = app
        .tool(
            "generate_chart",
            json!({"dataset_id": sales, "config": config}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["saved"], false);
    assert_eq!(v["name"], "revenue by region");
    assert_eq!(images(&r).len(), 1, "png by default");
    async fn count(app: &TestApp) -> u64 {
        let r = app.tool("list_charts", json!({})).await;
        ok(&r)["count"].as_u64().expect("count")
    }
    assert_eq!(count(&app).await, 7);
    let r = app
        .tool(
            "generate_chart",
            json!({"dataset_id": sales, "config": config, "save_chart": true, "name": "Revenue by region", "preview_formats": []}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["saved"], true);
    assert!(images(&r).is_empty());
    let id = v["chart"]["id"].clone();
    assert_eq!(count(&app).await, 8);
    // The saved chart's url is its page.
    let url = v["chart"]["url"].as_str().expect("url");
    let path = url.strip_prefix(&app.base).expect("a url of this server");
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{url}: {body}");
    assert!(
        body.contains("Revenue by region") && body.contains("<svg"),
        "{body}"
    );
    assert!(v["chart"]["url_expires_at"].as_str().is_some(), "{v}");
    // update_chart_preview changes nothing.
    let r = app
        .tool(
            "update_chart_preview",
            json!({"identifier": id, "config": {"kind": "line"}, "preview_formats": ["vega_lite"]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["saved"], false);
    assert_eq!(v["config"]["kind"], "line");
    assert_eq!(v["previews"][0]["content"]["mark"]["type"], "line", "{v}");
    async fn saved(app: &TestApp, id: Value) -> Value {
        let r = app
            .tool(
                "get_chart_info",
                json!({"identifier": id, "select_columns": ["config"]}),
            )
            .await;
        ok(&r).clone()
    }
    let info = saved(&app, id.clone()).await;
    assert!(info["config"].to_string().contains("bar"), "{info}");
    // update_chart saves; a bad change saves nothing.
    let r = app
        .tool(
            "update_chart",
            json!({"identifier": id, "config": {"group_by": ["chanel"]}}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["suggestion"], "channel", "{e}");
    let r = app
        .tool(
            "update_chart",
            json!({"identifier": id, "config": {"kind": "line", "stacked": true}, "name": "Revenue trend by region", "preview_formats": ["ascii"]}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["saved"], true);
    assert!(
        v["previews"][0]["content"]
            .as_str()
            .is_some_and(|s| s.contains("Revenue trend by region")),
        "{v}"
    );
    let info = saved(&app, id.clone()).await;
    assert_eq!(info["slice_name"], "Revenue trend by region");
    assert!(info["config"].to_string().contains("line"), "{info}");
    // Only owners (or admins) change a chart.
    add_user(
        &app,
        "greta",
        "alpha",
        &[(
            "dataset_access",
            Some("dataset"),
            Some(sales.as_i64().unwrap_or(0) as i32),
        )],
    )
    .await;
    let greta = app.replica_as("greta").await;
    let r = greta
        .tool(
            "update_chart",
            json!({"identifier": id, "name": "mine now"}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "permission_denied");
    let r = greta
        .tool(
            "get_chart_preview",
            json!({"identifier": id, "format": "table"}),
        )
        .await;
    ok(&r);
    greta.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn chart_configs_are_validated_with_suggestions() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "sales"}]}),
        )
        .await;
    let sales = ok(&r)["items"][0]["id"].clone();
    let cases = [
        (
            json!({"chart_type": "xy", "x": "regoin", "metrics": [{"saved_metric": "revenue"}]}),
            "config.x",
            Some("region"),
        ),
        (
            json!({"chart_type": "xy", "x": "region", "metrics": [{"saved_metric": "revenu"}]}),
            "config.metrics",
            Some("revenue"),
        ),
        (
            json!({"chart_type": "xy", "x": "region", "metrics": [{"column": "quantity", "aggregate": "SUMM"}]}),
            "config.metrics.aggregate",
            Some("SUM"),
        ),
        (
            json!({"chart_type": "pie", "dimension": "region", "metric": {"saved_metric": "revenue"}, "donot": true}),
            "config.donot",
            Some("donut"),
        ),
        (
            json!({"chart_type": "bars"}),
            "config.chart_type",
            Some("xy"),
        ),
        (
            json!({"chart_type": "xy", "kind": "pie", "metrics": [{"saved_metric": "revenue"}]}),
            "config.kind",
            None,
        ),
        (
            json!({"chart_type": "xy", "x": "region", "time_grain": "month", "metrics": [{"saved_metric": "revenue"}]}),
            "config.time_grain",
            None,
        ),
    ];
    for (config, field, suggestion) in cases {
        let r = app
            .tool(
                "generate_chart",
                json!({"dataset_id": sales, "config": config}),
            )
            .await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{config}: {e}");
        assert_eq!(e["details"]["field"], field, "{config}: {e}");
        if let Some(s) = suggestion {
            assert_eq!(e["details"]["suggestion"], s, "{config}: {e}");
        }
    }
    let r = app
        .tool("get_chart_preview", json!({"identifier": 1, "width": 10}))
        .await;
    assert_eq!(err(&r)["details"]["field"], "width");
    let r = app
        .tool("get_chart_type_schema", json!({"chart_type": "pie"}))
        .await;
    let v = ok(&r);
    assert_eq!(v["schema"]["properties"]["chart_type"]["const"], "pie");
    assert!(!v["examples"].as_array().expect("examples").is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn row_level_security_shapes_what_pictures_show() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    async fn id_of(app: &TestApp, table: &str) -> i64 {
        let r = app
            .tool(
                "list_datasets",
                json!({"filters": [{"col": "table_name", "opr": "eq", "value": table}]}),
            )
            .await;
        ok(&r)["items"][0]["id"].as_i64().expect("id")
    }
    let (orders, sales) = (id_of(&app, "orders").await, id_of(&app, "sales").await);
    let r = app
        .tool("create_rls_rule", json!({"name": "online", "filter_type": "regular", "dataset_ids": [orders], "roles": ["gamma"], "clause": "channel = 'online'"}))
        .await;
    ok(&r);
    add_user(
        &app,
        "gil",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(sales as i32))],
    )
    .await;
    let gil = app.replica_as("gil").await;
    let pie =
        json!({"chart_type": "pie", "dimension": "channel", "metric": {"saved_metric": "revenue"}});
    for (who, expect) in [(&app, 3usize), (&gil, 1usize)] {
        let r = who
            .tool(
                "get_chart_preview",
                json!({"dataset_id": sales, "config": pie, "format": "vega_lite"}),
            )
            .await;
        let values = ok(&r)["preview"]["content"]["data"]["values"].clone();
        assert_eq!(values.as_array().map(Vec::len), Some(expect), "{values}");
        let r = who
            .tool("get_chart_sql", json!({"dataset_id": sales, "config": pie}))
            .await;
        assert_eq!(
            ok(&r)["rls_tables_filtered"],
            if expect == 1 { 1 } else { 0 }
        );
    }
    let r = gil
        .tool(
            "get_chart_data",
            json!({"dataset_id": sales, "config": pie}),
        )
        .await;
    let v = ok(&r);
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["rows"][0][0], "online");
    gil.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_full_render_queue_refuses_at_once_and_other_tools_carry_on() {
    // Every draw sleeps this long first: long enough that four calls reach the renderer
    // while the first still draws, even when the whole suite loads the machine.
    const DELAY: Duration = Duration::from_millis(2000);
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.screenshots.workers = 1;
            c.screenshots.queue = 1;
            c.faults.render_delay_ms = DELAY.as_millis() as u64;
        })
        .start()
        .await
        .expect("app");
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "regions"}]}),
        )
        .await;
    let regions = ok(&r)["items"][0]["id"].clone();
    // A six-row table. One preview first puts its data in the cache, so the four calls
    // below go straight to the renderer without a query of their own.
    let config = json!({"chart_type": "table", "mode": "raw", "columns": ["name"]});
    let preview = |width: u32| json!({"dataset_id": regions, "config": config, "format": "svg", "width": width});
    ok(&app.tool("get_chart_preview", preview(700)).await);
    // Four different pictures at once: one draws, one waits, two are refused.
    let (app_ref, preview_ref) = (&app, &preview);
    let calls = (0..4).map(|i| async move {
        let t = std::time::Instant::now();
        let r = app_ref
            .call_raw("get_chart_preview", preview_ref(800 + i))
            .await;
        (r, t.elapsed())
    });
    let all = futures::future::join_all(calls);
    let probe = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = std::time::Instant::now();
        let r = app.tool("list_charts", json!({})).await;
        ok(&r);
        t.elapsed()
    };
    let (results, list_took) = tokio::join!(all, probe);
    let served: Vec<_> = results.iter().filter(|((s, _, _), _)| *s == 200).collect();
    let refused: Vec<_> = results.iter().filter(|((s, _, _), _)| *s == 503).collect();
    assert_eq!((served.len(), refused.len()), (2, 2), "{results:?}");
    for ((_, headers, body), _) in &refused {
        assert!(headers.get("retry-after").is_some(), "{headers:?}");
        let e = &body["result"]["structuredContent"];
        assert_eq!(e["error_type"], "overloaded", "{body}");
        assert_eq!(e["details"]["pool"], "screenshot");
        assert!(e["details"]["retry_after_secs"].as_u64().unwrap_or(0) >= 1);
    }
    // Neither the refusals nor another tool waited for a draw: each answered before the
    // first picture could (a served picture takes at least DELAY).
    let first_served = served.iter().map(|(_, took)| *took).min().expect("served");
    assert!(first_served >= DELAY, "{first_served:?}");
    for (_, took) in &refused {
        assert!(*took < first_served, "a refusal waited {took:?}");
    }
    assert!(
        list_took < DELAY,
        "list_charts waited on renders: {list_took:?}"
    );
    app.stop().await;
}

/// The explore page is the MCP Apps chart view outside a host: the same script and styles,
/// fed inline with what `view_chart` answers; in a real browser the chart draws, hovering
/// shows a value, the legend hides a series and the data tab shows the rows.
#[actix_web::test]
async fn the_explore_page_renders_in_a_real_browser() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let link = |identifier: i64| {
        let app = &app;
        async move {
            let r = app
                .tool(
                    "generate_explore_link",
                    json!({"identifier": identifier, "expires_in_minutes": 5}),
                )
                .await;
            ok(&r)["url"].as_str().expect("url").to_string()
        }
    };
    let url = link(2).await;
    assert!(url.starts_with(&format!("{}/explore/", app.base)), "{url}");
    let path = url.strip_prefix(&app.base).expect("path").to_string();
    let resp = http_client().get(&url).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    let body = resp.text().await.expect("body");
    // Only the view's own script runs, and nothing is loaded from anywhere.
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    for outside in ["http", "*", "'self'", "unsafe-eval"] {
        assert!(!csp.contains(outside), "{csp}");
    }
    assert!(
        body.contains(vizier::mcp::apps::VIEW_JS),
        "not the view's script"
    );
    assert!(
        body.contains(vizier::mcp::apps::VIEW_CSS),
        "not the view's styles"
    );
    // Without JavaScript, the chart as vizier's SVG and a note.
    let fallback = body
        .split_once("<noscript>")
        .and_then(|(_, rest)| rest.split_once("</noscript>"))
        .map(|(inside, _)| inside)
        .expect("a noscript fallback");
    assert!(
        fallback.contains("<svg") && fallback.contains("</svg>"),
        "{fallback}"
    );
    assert!(fallback.contains("turn on JavaScript"), "{fallback}");
    // The chart and its data are inline: what view_chart answers a host's view, and a
    // note on whose rows they are.
    let inline = body
        .split_once("<script id=\"vizier-data\" type=\"application/json\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(data, _)| data.replace("<\\/", "</"))
        .expect("the page's data element");
    let mut shown: Value = serde_json::from_str(&inline).expect("inline JSON");
    assert_eq!(shown["title"], "Revenue by category");
    assert!(shown["svg"].as_str().is_some_and(|s| s.starts_with("<svg")));
    assert_eq!(shown["rows"].as_array().map(Vec::len), Some(6), "{shown}");
    let notes = shown["notes"].as_array_mut().expect("notes");
    assert_eq!(
        notes.pop(),
        Some(json!("Data as admin sees it (the link's creator)."))
    );
    let view = app
        .tool(
            "view_chart",
            json!({"chart": {"identifier": 2}, "table_rows": 500}),
        )
        .await;
    assert_eq!(&shown, ok(&view));
    // A tampered or truncated key is refused.
    let tampered = format!("{}x", &path[..path.len() - 1]);
    let (status, _) = app.get(&tampered).await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/explore/not-a-key").await;
    assert_eq!(status, 403);

    let Some(chromium) = browser::find_chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is missing in CI: .ci/run installs it"
        );
        eprintln!("NOTE: chromium is not installed: the browser half of this test was NOT run");
        app.stop().await;
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut b = browser::Browser::launch(chromium, 1100, 1000).await;
    b.goto(&url).await;
    b.wait_for("document.querySelector('svg.vz-chart')").await;
    let bars = b
        .eval("document.querySelectorAll('svg.vz-chart g[data-series] rect').length")
        .await;
    assert_eq!(bars, json!(6));
    let png = b.screenshot(&dir.path().join("explore.png")).await;
    assert_eq!(png_size(&png), (1100, 1000));
    // The bars are drawn: many pixels of the chart's first colour (an error page has none).
    let bar_pixels = pixels_of(&png, [0x4e, 0x79, 0xa7]);
    assert!(bar_pixels > 50_000, "{bar_pixels} pixels of bars");
    // Hovering a bar shows its category and value.
    b.hover("svg.vz-chart rect.vz-hit").await;
    b.wait_for("!document.querySelector('.vz-tip').hidden")
        .await;
    let tip = b.eval("document.querySelector('.vz-tip').innerText").await;
    let tip = tip.as_str().expect("tip text");
    assert!(tip.starts_with("Electronics\n"), "{tip}");
    // Revenue 10,487,603.55, written in the browser's locale without decimals.
    let value = tip.lines().nth(1).and_then(|l| l.rsplit_once(": "));
    let digits = value.map(|(_, v)| v.chars().filter(char::is_ascii_digit).collect::<String>());
    assert_eq!(digits.as_deref(), Some("10487604"), "{tip}");
    // The data tab shows every row.
    b.click(".vz-tabs button[data-tab=\"data\"]").await;
    b.wait_for("!document.querySelector('.vz-tab-data').hidden")
        .await;
    let rows = b
        .eval("Array.from(document.querySelectorAll('.vz-tab-data tbody tr')).map(r => r.cells[0].innerText)")
        .await;
    assert_eq!(rows.as_array().map(Vec::len), Some(6), "{rows}");
    assert_eq!(rows[0], "Beauty", "{rows}");
    assert_eq!(
        b.eval("document.querySelector('.vz-tab-chart').hidden")
            .await,
        json!(true)
    );

    // A chart of several series: the legend hides one, and hovering no longer names it.
    let charts = app
        .tool(
            "list_charts",
            json!({"filters": [{"col": "slice_name", "opr": "eq", "value": "Weekly orders by segment"}]}),
        )
        .await;
    let weekly = ok(&charts)["items"][0]["id"].as_i64().expect("chart id");
    b.goto(&link(weekly).await).await;
    b.wait_for("document.querySelector('svg.vz-chart')").await;
    let series = "Array.from(document.querySelectorAll('svg.vz-chart g[data-series]')).map(g => g.dataset.series)";
    assert_eq!(
        b.eval(series).await,
        json!(["Consumer", "Corporate", "Home Office"])
    );
    let png = b.screenshot(&dir.path().join("explore-series.png")).await;
    // A page with a chart has many colors; an error page or a blank one has few.
    assert!(
        png.len() > 30_000,
        "the screenshot shows the chart ({} bytes)",
        png.len()
    );
    let hit = "svg.vz-chart rect.vz-hit[data-index=\"20\"]";
    b.hover(hit).await;
    b.wait_for("/Corporate: [0-9]/.test(document.querySelector('.vz-tip').innerText)")
        .await;
    b.click(".vz-legend button[data-series=\"Corporate\"]")
        .await;
    b.wait_for("document.querySelectorAll('svg.vz-chart g[data-series]').length === 2")
        .await;
    assert_eq!(b.eval(series).await, json!(["Consumer", "Home Office"]));
    assert_eq!(
        b.eval("document.querySelector('.vz-legend button[data-series=\"Corporate\"]').getAttribute('aria-pressed')")
            .await,
        json!("false")
    );
    b.hover(hit).await;
    b.wait_for("!document.querySelector('.vz-tip').hidden")
        .await;
    let tip = b.eval("document.querySelector('.vz-tip').innerText").await;
    let tip = tip.as_str().expect("tip text");
    assert!(
        tip.contains("Consumer: ") && !tip.contains("Corporate"),
        "{tip}"
    );
    b.screenshot(&dir.path().join("explore-hidden-series.png"))
        .await;
    // Shown again on a second click.
    b.click(".vz-legend button[data-series=\"Corporate\"]")
        .await;
    b.wait_for("document.querySelectorAll('svg.vz-chart g[data-series]').length === 3")
        .await;
    // No script error, and nothing the page's policy refused.
    assert_eq!(b.problems, Vec::<String>::new());
    b.close().await;
    keep_pictures(
        dir.path(),
        &[
            "explore.png",
            "explore-series.png",
            "explore-hidden-series.png",
        ],
    );
    app.stop().await;
}

/// The chart view in a real browser for the chart types drawn as text or by the view: a
/// pie answers hover with its slice's value and share and hides a slice from the legend
/// (the rest fill the pie); a pivot is an HTML table with its column and row headers; a
/// big number is text that fits a narrow frame; a bar chart of many categories in a 320 px
/// frame labels its x axis without overlaps (first and last label shown, hover names
/// every bar); and without JavaScript the page shows vizier's SVG under the same policy.
#[actix_web::test]
async fn the_chart_view_draws_pies_pivots_big_numbers_and_narrow_charts() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let charts = app
        .tool(
            "list_charts",
            json!({"page_size": 50, "select_columns": ["id", "slice_name"]}),
        )
        .await;
    let id_of = |name: &str| {
        ok(&charts)["items"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["slice_name"] == name))
            .and_then(|c| c["id"].as_i64())
            .unwrap_or_else(|| panic!("no chart {name}"))
    };
    let link = |args: Value| {
        let app = &app;
        async move {
            let r = app.tool("generate_explore_link", args).await;
            ok(&r)["url"].as_str().expect("url").to_string()
        }
    };
    let pie = link(json!({"identifier": id_of("Sales channel share")})).await;
    let pivot = link(json!({"identifier": id_of("Revenue by region and category")})).await;
    let big = link(json!({"identifier": id_of("This month's revenue")})).await;
    let dataset = ok(&app
        .tool("view_chart", json!({"chart": {"identifier": 2}}))
        .await)["dataset_id"]
        .as_i64()
        .expect("dataset id");
    let bars = link(
        json!({"dataset_id": dataset, "config": {"chart_type": "xy", "kind": "bar",
        "x": "subcategory", "metrics": [{"saved_metric": "revenue"}], "order_desc": true}}),
    )
    .await;
    // What view_chart answers a big number and a pivot: their text.
    let view = app
        .tool(
            "view_chart",
            json!({"chart": {"identifier": id_of("Revenue by region and category")}}),
        )
        .await;
    let p = &ok(&view)["pivot"];
    assert_eq!(p["index_columns"], 1, "{p}");
    assert_eq!(
        p["columns"].as_array().and_then(|c| c.last()),
        Some(&json!("Total")),
        "{p}"
    );
    let view = app
        .tool(
            "view_chart",
            json!({"chart": {"identifier": id_of("This month's revenue")}}),
        )
        .await;
    let b = &ok(&view)["big_number"];
    assert!(
        b["value"].as_str().is_some_and(|v| v.starts_with('$')),
        "{b}"
    );
    assert!(b["change"].as_str().is_some_and(|c| c.contains('%')), "{b}");
    assert!(b["trend"].as_array().is_some_and(|t| t.len() > 2), "{b}");
    // The page's source carries the picture for browsers without JavaScript.
    let (status, body) = app.get(pie.strip_prefix(&app.base).expect("path")).await;
    assert_eq!(status, 200);
    let noscript = body.split_once("<noscript>").map(|(_, r)| r).unwrap_or("");
    assert!(
        noscript
            .split_once("</noscript>")
            .is_some_and(|(inside, _)| inside.contains("<svg")),
        "no noscript SVG"
    );

    let Some(chromium) = browser::find_chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is missing in CI: .ci/run installs it"
        );
        eprintln!("NOTE: chromium is not installed: the browser half of this test was NOT run");
        app.stop().await;
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut b = browser::Browser::launch(chromium, 1000, 800).await;

    // A pie: slices, hover, legend.
    b.goto(&pie).await;
    b.wait_for("document.querySelector('svg.vz-chart g[data-series] path')")
        .await;
    let slices = "Array.from(document.querySelectorAll('svg.vz-chart g[data-series]')).map(g => [g.dataset.series, g.querySelector('path').getAttribute('d')])";
    let before = b.eval(slices).await;
    let before = before.as_array().expect("slices").clone();
    assert!(before.len() >= 3, "{before:?}");
    let first = before[0][0].as_str().expect("name").to_string();
    // The share printed on the first slice: a point on it (its box's centre may be the hole).
    b.hover("svg.vz-chart g[data-series] .vz-share").await;
    b.wait_for("!document.querySelector('.vz-tip').hidden")
        .await;
    let tip = b.eval("document.querySelector('.vz-tip').innerText").await;
    let tip = tip.as_str().expect("tip");
    assert!(tip.starts_with(&format!("{first}\n")), "{tip}");
    assert!(
        tip.contains('%')
            && tip
                .lines()
                .nth(1)
                .is_some_and(|l| l.chars().any(|c| c.is_ascii_digit())),
        "{tip}"
    );
    b.screenshot(&dir.path().join("explore-pie.png")).await;
    b.click(&format!(".vz-legend button[data-series={}]", json!(first)))
        .await;
    b.wait_for(&format!(
        "document.querySelectorAll('svg.vz-chart g[data-series]').length === {}",
        before.len() - 1
    ))
    .await;
    let after = b.eval(slices).await;
    let after = after.as_array().expect("slices").clone();
    assert!(after.iter().all(|s| s[0] != json!(first)), "{after:?}");
    for s in &after {
        let was = before
            .iter()
            .find(|t| t[0] == s[0])
            .expect("a slice of before");
        assert_ne!(was[1], s[1], "slice {} kept its shape", s[0]);
    }
    b.screenshot(&dir.path().join("explore-pie-hidden.png"))
        .await;
    b.click(&format!(".vz-legend button[data-series={}]", json!(first)))
        .await;
    b.wait_for(&format!(
        "document.querySelectorAll('svg.vz-chart g[data-series]').length === {}",
        before.len()
    ))
    .await;
    assert_eq!(b.eval(slices).await, json!(before));
    b.click(".vz-tabs button[data-tab=\"data\"]").await;
    b.wait_for("document.querySelectorAll('.vz-tab-data tbody tr').length > 0")
        .await;

    // A pivot: a table with its headers, not a picture.
    b.goto(&pivot).await;
    b.wait_for("document.querySelector('.vz-plot table')").await;
    assert_eq!(
        b.eval("document.querySelectorAll('.vz-plot svg').length")
            .await,
        json!(0)
    );
    let heads = b
        .eval("Array.from(document.querySelectorAll('.vz-plot thead th')).map(t => t.innerText)")
        .await;
    let heads: Vec<&str> = heads
        .as_array()
        .expect("heads")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        heads.contains(&"Electronics") && heads.last() == Some(&"Total"),
        "{heads:?}"
    );
    let rows = b
        .eval("Array.from(document.querySelectorAll('.vz-plot tbody tr')).map(r => [r.cells[0].tagName, r.cells[0].getAttribute('scope'), r.cells[0].innerText, r.cells.length])")
        .await;
    let rows = rows.as_array().expect("rows");
    assert!(rows.len() >= 3, "{rows:?}");
    for r in rows {
        assert_eq!(
            (&r[0], &r[1], &r[3]),
            (&json!("TH"), &json!("row"), &json!(heads.len())),
            "{r}"
        );
    }
    assert_eq!(rows.last().map(|r| &r[2]), Some(&json!("Total")));
    b.screenshot(&dir.path().join("explore-pivot.png")).await;

    // A big number: its value as text.
    b.goto(&big).await;
    b.wait_for("document.querySelector('.vz-big-value')").await;
    let value = b
        .eval("document.querySelector('.vz-big-value').innerText")
        .await;
    assert!(
        value
            .as_str()
            .is_some_and(|v| v.starts_with('$') && v.len() > 3),
        "{value}"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('.vz-big .note strong, .vz-big svg.vz-spark').length")
            .await,
        json!(2)
    );
    b.screenshot(&dir.path().join("explore-big-number.png"))
        .await;
    assert_eq!(b.problems, Vec::<String>::new());
    b.close().await;

    // A 320 px frame.
    let mut b = browser::Browser::launch(chromium, 320, 640).await;
    b.goto(&bars).await;
    // Drawn again at the frame's width (not a wider drawing scaled down).
    b.wait_for("document.querySelector('svg.vz-chart text.vz-x') && Number(document.querySelector('svg.vz-chart').getAttribute('width')) <= 300").await;
    let labels = b
        .eval("(() => { const s = document.querySelector('svg.vz-chart').getBoundingClientRect(); \
               return Array.from(document.querySelectorAll('svg.vz-chart text.vz-x')).map(t => { \
               const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right, s.left, s.right]; }); })()")
        .await;
    let labels = labels.as_array().expect("labels").clone();
    let categories = b
        .eval("Array.from(document.querySelectorAll('svg.vz-chart rect.vz-hit')).length")
        .await;
    let categories = categories.as_u64().expect("bars") as usize;
    assert!(categories >= 20, "{categories} bars");
    assert!(labels.len() >= 2 && labels.len() < categories, "{labels:?}");
    let f = |v: &Value| v.as_f64().expect("a number");
    for l in &labels {
        assert!(
            f(&l[1]) >= f(&l[3]) - 0.5 && f(&l[2]) <= f(&l[4]) + 0.5,
            "outside the chart: {l}"
        );
    }
    for pair in labels.windows(2) {
        assert!(
            f(&pair[0][2]) <= f(&pair[1][1]),
            "x labels overlap: {} and {}",
            pair[0],
            pair[1]
        );
    }
    let hovered = |i: usize| format!("svg.vz-chart rect.vz-hit[data-index=\"{i}\"]");
    // The categories in the chart's order, from the page's data.
    let names = b
        .eval("JSON.parse(document.getElementById('vizier-data').textContent).vega_lite.data.values.map(v => v.x)")
        .await;
    // Long names are cut with an ellipsis.
    for (label, name) in [
        (&labels[0][0], &names[0]),
        (&labels[labels.len() - 1][0], &names[categories - 1]),
    ] {
        let (label, name) = (label.as_str().expect("label"), name.as_str().expect("name"));
        assert!(
            name.starts_with(label.trim_end_matches('…')),
            "{label} is not {name}"
        );
    }
    b.screenshot(&dir.path().join("explore-narrow-bar.png"))
        .await;
    b.hover(&hovered(1)).await;
    b.wait_for(&format!(
        "document.querySelector('.vz-tip').innerText.startsWith({})",
        names[1]
    ))
    .await;
    // The big number fits the frame.
    b.goto(&big).await;
    b.wait_for("document.querySelector('.vz-big-value')").await;
    let fits = b
        .eval("(() => { const e = document.querySelector('.vz-big-value'); const r = e.getBoundingClientRect(); \
               return e.scrollWidth <= e.clientWidth && r.left >= 0 && r.right <= 320 && r.height >= 20; })()")
        .await;
    assert_eq!(fits, json!(true));
    b.screenshot(&dir.path().join("explore-narrow-big-number.png"))
        .await;
    assert_eq!(b.problems, Vec::<String>::new());
    b.close().await;

    // No JavaScript: the noscript picture, under the page's policy.
    let mut b = browser::Browser::launch(chromium, 1000, 800).await;
    b.disable_scripts().await;
    b.goto(&link(json!({"identifier": 2})).await).await;
    let picture = b
        .eval("(() => { const s = document.querySelector('.vz-static svg'); const r = s && s.getBoundingClientRect(); \
               return r ? [r.width, r.height, document.getElementById('app').offsetHeight] : null; })()")
        .await;
    assert!(
        f(&picture[0]) > 500.0 && f(&picture[1]) > 250.0,
        "{picture}"
    );
    assert_eq!(picture[2], json!(0), "the loading note is hidden");
    let png = b.screenshot(&dir.path().join("explore-noscript.png")).await;
    let bar_pixels = pixels_of(&png, [0x4e, 0x79, 0xa7]);
    assert!(bar_pixels > 20_000, "{bar_pixels} pixels of bars");
    assert_eq!(b.problems, Vec::<String>::new());
    b.close().await;
    keep_pictures(
        dir.path(),
        &[
            "explore-pie.png",
            "explore-pie-hidden.png",
            "explore-pivot.png",
            "explore-big-number.png",
            "explore-narrow-bar.png",
            "explore-narrow-big-number.png",
            "explore-noscript.png",
        ],
    );
    app.stop().await;
}

/// Horizontal bars and a mixed chart's two axes are drawn by the view, not shown as
/// vizier's SVG: hover names a value, the legend hides a series and shows it again, the
/// names down a horizontal chart never overlap, and a mixed chart ticks both its axes.
#[actix_web::test]
async fn the_chart_view_draws_horizontal_bars_and_both_axes_of_a_mixed_chart() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let link = |args: Value| {
        let app = &app;
        async move {
            let r = app.tool("generate_explore_link", args).await;
            ok(&r)["url"].as_str().expect("url").to_string()
        }
    };
    let across = link(
        json!({"dataset_id": 7, "config": {"chart_type": "xy", "kind": "bar",
        "orientation": "horizontal", "x": "subcategory", "group_by": ["channel"],
        "metrics": [{"saved_metric": "revenue"}], "order_desc": true}}),
    )
    .await;
    let mixed = link(
        json!({"dataset_id": 7, "config": {"chart_type": "mixed_timeseries",
        "x": "order_date", "time_grain": "month", "metrics": [{"saved_metric": "revenue"}],
        "kind": "bar", "y_axis_format": "$,.0f", "y_axis_title": "Revenue",
        "secondary_metrics": [{"saved_metric": "orders"}], "secondary_kind": "line",
        "secondary_y_axis_title": "Orders"}}),
    )
    .await;
    let Some(chromium) = browser::find_chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is missing in CI: .ci/run installs it"
        );
        eprintln!("NOTE: chromium is not installed: this test was NOT run");
        app.stop().await;
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut b = browser::Browser::launch(chromium, 1000, 800).await;
    let series = "Array.from(document.querySelectorAll('svg.vz-chart g[data-series]')).map(g => g.dataset.series)";
    let f = |v: &Value| v.as_f64().expect("a number");

    // Bars across: drawn marks, wider than tall, names down the left without overlaps.
    b.goto(&across).await;
    b.wait_for("document.querySelector('svg.vz-chart g[data-series] rect')")
        .await;
    assert_eq!(
        b.eval("document.querySelectorAll('.vz-svg').length").await,
        json!(0),
        "the static picture instead of the drawn chart"
    );
    let shape = b
        .eval("Array.from(document.querySelectorAll('svg.vz-chart g[data-series] rect')).map(r => [Number(r.getAttribute('width')), Number(r.getAttribute('height'))])")
        .await;
    let shape = shape.as_array().expect("bars").clone();
    let longest = shape.iter().map(|s| f(&s[0])).fold(0.0, f64::max);
    assert!(
        longest > 300.0 && shape.iter().all(|s| f(&s[1]) < 30.0),
        "bars do not grow to the right: {shape:?}"
    );
    let names = b
        .eval("Array.from(document.querySelectorAll('svg.vz-chart text.vz-x')).map(t => { const r = t.getBoundingClientRect(); return [t.textContent, r.top, r.bottom, r.left]; })")
        .await;
    let names = names.as_array().expect("names").clone();
    let rows = b
        .eval("document.querySelectorAll('svg.vz-chart rect.vz-hit').length")
        .await;
    assert!(rows.as_u64().expect("rows") >= 20, "{rows} categories");
    assert!(names.len() >= 2, "{names:?}");
    for pair in names.windows(2) {
        assert!(
            f(&pair[0][2]) <= f(&pair[1][1]) && f(&pair[0][1]) < f(&pair[1][1]),
            "names overlap: {} and {}",
            pair[0],
            pair[1]
        );
    }
    let first = b
        .eval("JSON.parse(document.getElementById('vizier-data').textContent).vega_lite.data.values[0].x")
        .await;
    assert_eq!(names[0][0], first, "the first category on top");
    // The value labels along the bottom sit side by side without touching.
    let values = b
        .eval("Array.from(document.querySelectorAll('svg.vz-chart text.vz-v')).map(t => { const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right]; })")
        .await;
    let values = values.as_array().expect("value labels").clone();
    assert!(values.len() >= 2, "{values:?}");
    for pair in values.windows(2) {
        assert!(
            f(&pair[0][2]) <= f(&pair[1][1]),
            "value labels overlap: {} and {}",
            pair[0],
            pair[1]
        );
    }
    assert!(f(&names[0][3]) >= 0.0, "{names:?}");
    b.hover("svg.vz-chart rect.vz-hit[data-index=\"0\"]").await;
    b.wait_for("!document.querySelector('.vz-tip').hidden")
        .await;
    let tip = b.eval("document.querySelector('.vz-tip').innerText").await;
    let tip = tip.as_str().expect("tip").to_string();
    assert!(
        tip.starts_with(&format!("{}\n", first.as_str().expect("name")))
            && tip
                .lines()
                .skip(1)
                .any(|l| l.contains(": ") && l.chars().any(|c| c.is_ascii_digit())),
        "{tip}"
    );
    b.screenshot(&dir.path().join("explore-horizontal-bar.png"))
        .await;
    let all = b.eval(series).await;
    let all = all.as_array().expect("series").clone();
    assert!(all.len() >= 2, "{all:?}");
    let hide = format!(".vz-legend button[data-series={}]", all[0]);
    b.click(&hide).await;
    b.wait_for(&format!(
        "document.querySelectorAll('svg.vz-chart g[data-series]').length === {}",
        all.len() - 1
    ))
    .await;
    assert!(
        b.eval(series)
            .await
            .as_array()
            .expect("series")
            .iter()
            .all(|s| *s != all[0]),
        "{} is still drawn",
        all[0]
    );
    b.click(&hide).await;
    b.wait_for(&format!(
        "document.querySelectorAll('svg.vz-chart g[data-series]').length === {}",
        all.len()
    ))
    .await;
    assert_eq!(b.eval(series).await, json!(all));

    // A mixed chart: revenue bars on the left in dollars, order lines on the right.
    b.goto(&mixed).await;
    b.wait_for("document.querySelector('svg.vz-chart g[data-series] circle')")
        .await;
    assert_eq!(
        b.eval("document.querySelectorAll('.vz-svg').length").await,
        json!(0),
        "the static picture instead of the drawn chart"
    );
    let axis = |a: u8| {
        format!(
            "Array.from(document.querySelectorAll('svg.vz-chart text.vz-y{a}')).map(t => [t.textContent, t.getBoundingClientRect().left])"
        )
    };
    let left = b.eval(&axis(0)).await;
    let right = b.eval(&axis(1)).await;
    let (left, right) = (
        left.as_array().expect("left"),
        right.as_array().expect("right"),
    );
    assert!(left.len() >= 3 && right.len() >= 3, "{left:?} {right:?}");
    assert!(
        left.iter()
            .all(|t| t[0].as_str().is_some_and(|s| s.starts_with('$'))),
        "{left:?}"
    );
    assert!(
        right
            .iter()
            .all(|t| !t[0].as_str().unwrap_or("$").contains('$')
                && f(&t[1]) > f(&left[0][1]) + 500.0),
        "{right:?}"
    );
    let titles = b
        .eval("Array.from(document.querySelectorAll('svg.vz-chart text.vz-title')).map(t => t.textContent)")
        .await;
    assert_eq!(titles, json!(["Revenue", "Orders"]));
    let legend = b
        .eval("Array.from(document.querySelectorAll('.vz-legend button')).map(b => b.innerText)")
        .await;
    assert_eq!(legend, json!(["revenue", "orders (right axis)"]));
    b.hover("svg.vz-chart rect.vz-hit[data-index=\"2\"]").await;
    b.wait_for("!document.querySelector('.vz-tip').hidden")
        .await;
    let tip = b.eval("document.querySelector('.vz-tip').innerText").await;
    let tip = tip.as_str().expect("tip").to_string();
    let lines: Vec<&str> = tip.lines().collect();
    assert!(
        lines.len() == 3
            && lines[1].starts_with("revenue: ")
            && lines[2].starts_with("orders (right axis): ")
            && lines[2].chars().any(|c| c.is_ascii_digit()),
        "{tip}"
    );
    b.screenshot(&dir.path().join("explore-mixed.png")).await;
    let hide = ".vz-legend button[data-series=\"orders (right axis)\"]";
    b.click(hide).await;
    b.wait_for("document.querySelectorAll('svg.vz-chart g[data-series]').length === 1 && !document.querySelector('svg.vz-chart text.vz-y1')")
        .await;
    assert_eq!(b.eval(series).await, json!(["revenue"]));
    b.click(hide).await;
    b.wait_for("document.querySelectorAll('svg.vz-chart text.vz-y1').length > 2")
        .await;
    assert_eq!(
        b.eval(series).await,
        json!(["revenue", "orders (right axis)"])
    );
    assert_eq!(b.problems, Vec::<String>::new());
    b.close().await;
    keep_pictures(
        dir.path(),
        &["explore-horizontal-bar.png", "explore-mixed.png"],
    );
    app.stop().await;
}

/// Copy the named pictures from `dir` to the directory `VIZIER_SAVE_SCREENSHOT` names, if
/// set, to look at them after the run.
fn keep_pictures(dir: &std::path::Path, names: &[&str]) {
    if let Ok(to) = std::env::var("VIZIER_SAVE_SCREENSHOT") {
        for name in names {
            std::fs::copy(dir.join(name), std::path::Path::new(&to).join(name)).ok();
        }
    }
}

/// How many pixels of an RGB(A) PNG have exactly this colour.
fn pixels_of(png: &[u8], rgb: [u8; 3]) -> usize {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let step = info.color_type.samples();
    assert!(step >= 3, "{:?}", info.color_type);
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| p[..3] == rgb)
        .count()
}

/// The explore page is a call like any other: run through the charts pool as the link's
/// creator, audited, and held to the creator's rate limit.
#[actix_web::test]
async fn the_explore_page_is_audited_and_rate_limited() {
    let page_of = |r: &rmcp::model::CallToolResult| {
        let url = ok(r)["url"].as_str().expect("url").to_string();
        url[url.find("/explore/").expect("path")..].to_string()
    };
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let link = app
        .tool("generate_explore_link", json!({"identifier": 2}))
        .await;
    let (status, body) = app.get(&page_of(&link)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        app.app
            .audit
            .drain(std::time::Duration::from_secs(10))
            .await
    );
    let log = app
        .tool("list_audit_log", json!({"tool": "explore_page"}))
        .await;
    let items = ok(&log)["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{log:?}");
    assert_eq!(items[0]["outcome"], "ok", "{log:?}");
    assert_eq!(items[0]["username"], "admin", "{log:?}");
    app.stop().await;

    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.rate_limits.enabled = true;
            c.rate_limits.per_minute = 2;
            c.rate_limits.burst = Some(2);
            c.rate_limits.tools.clear();
        })
        .start()
        .await
        .expect("app");
    let link = app
        .tool("generate_explore_link", json!({"identifier": 2}))
        .await;
    let page = page_of(&link);
    let (status, body) = app.get(&page).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get(&page).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Rate limit"), "{body}");
    app.stop().await;
}

/// A relative time range resolves to the same rows as its explicit bounds and as the same
/// bound written as a SQL condition; a having condition keeps exactly the groups it names;
/// conditions that are not one SQL expression, and ranges vizier cannot read, are refused.
#[actix_web::test]
async fn relative_ranges_and_sql_conditions_in_charts() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "sales"}]}),
        )
        .await;
    let sales = ok(&r)["items"][0]["id"].clone();
    // The example orders run to 2025-12-31: "Last N days" from today reaching back to
    // 2025-01-01 holds exactly the orders of 2025.
    let today = chrono::Utc::now().date_naive();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
    let days = (today - start).num_days();
    let rows = |config: Value| {
        let app = &app;
        let sales = sales.clone();
        async move {
            let r = app
                .tool(
                    "get_chart_data",
                    json!({"dataset_id": sales, "config": config}),
                )
                .await;
            let mut rows: Vec<(String, f64)> = ok(&r)["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| {
                    let n = r[1]
                        .as_f64()
                        .or_else(|| r[1].as_str().and_then(|s| s.parse().ok()))
                        .expect("a number");
                    (r[0].as_str().expect("region").to_owned(), n)
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows
        }
    };
    let table = |filters: Value, range: Value| {
        json!({"chart_type": "table", "group_by": ["region"],
               "metrics": [{"column": "quantity", "aggregate": "SUM", "label": "units"}],
               "filters": filters, "time_range": range})
    };
    let not_north = json!({"opr": "sql", "value": "region <> 'North'"});
    let relative = rows(table(
        json!([not_north]),
        json!({"relative": format!("Last {days} days")}),
    ))
    .await;
    let explicit = rows(table(
        json!([not_north]),
        json!({"start": "2025-01-01", "end": today.to_string()}),
    ))
    .await;
    let as_sql = rows(table(
        json!([not_north, {"opr": "sql", "value": "order_date >= '2025-01-01'"}]),
        Value::Null,
    ))
    .await;
    let everything = rows(table(json!([not_north]), Value::Null)).await;
    assert!(relative.len() >= 2, "{relative:?}");
    assert!(relative.iter().all(|(r, _)| r != "North"), "{relative:?}");
    assert_eq!(relative, explicit);
    assert_eq!(relative, as_sql);
    assert_ne!(relative, everything, "the range must cut 2024 out");
    // HAVING keeps the groups above the middle value, and only those.
    let mut values: Vec<f64> = relative.iter().map(|(_, v)| *v).collect();
    values.sort_by(f64::total_cmp);
    let middle = values[values.len() / 2];
    let kept = rows(table(
        json!([not_north, {"opr": "having", "value": format!("SUM(quantity) >= {middle}")}]),
        json!({"relative": format!("Last {days} days")}),
    ))
    .await;
    let want: Vec<(String, f64)> = relative
        .iter()
        .filter(|(_, v)| *v >= middle)
        .cloned()
        .collect();
    assert_eq!(kept, want);
    assert!(kept.len() < relative.len());
    // Refused with the field named: a condition that closes its parentheses, a second
    // statement, a having without metrics, a range vizier cannot read.
    let bad = [
        (
            table(
                json!([{"opr": "sql", "value": "1 = 1) OR (1 = 1"}]),
                Value::Null,
            ),
            "filters.value",
        ),
        (
            table(
                json!([{"opr": "sql", "value": "1 = 1; DELETE FROM orders"}]),
                Value::Null,
            ),
            "filters.value",
        ),
        (
            json!({"chart_type": "table", "mode": "raw", "columns": ["region"],
                   "filters": [{"opr": "having", "value": "COUNT(*) > 1"}]}),
            "filters.opr",
        ),
        (
            table(json!([]), json!({"relative": "Last fortnight"})),
            "config.time_range",
        ),
        (
            table(json!([{"opr": "sql", "value": 3}]), Value::Null),
            "config.filters.value",
        ),
    ];
    for (config, field) in bad {
        let r = app
            .tool(
                "get_chart_data",
                json!({"dataset_id": sales, "config": config}),
            )
            .await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{config}: {e}");
        assert_eq!(e["details"]["field"], field, "{config}: {e}");
    }
    app.stop().await;
}

/// A tool's structured result, called over HTTP as `user` (a JWT of the auth tests).
async fn as_user(app: &TestApp, user: &str, tool: &str, args: Value) -> Value {
    let token = super::auth::token(user, json!({}));
    let bearer = format!("Bearer {token}");
    let (status, _, text) = app
        .post_raw(
            super::auth::call_body(tool, args),
            &[super::auth::V, ("authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let body = parse_body(&text);
    assert_ne!(body["result"]["isError"], true, "{user}: {body}");
    body["result"]["structuredContent"].clone()
}

#[actix_web::test]
async fn cached_chart_data_never_crosses_row_level_security() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            super::auth::auth_on(c);
            c.cache.chart_data_ttl_ms = 600_000;
        })
        .start()
        .await
        .expect("app");
    add_user(&app, "ada", "admin", &[]).await;
    let id_of = |table: &'static str| {
        let app = &app;
        async move {
            let v = as_user(
                app,
                "ada",
                "list_datasets",
                json!({"filters": [{"col": "table_name", "opr": "eq", "value": table}]}),
            )
            .await;
            v["items"][0]["id"].as_i64().expect("id")
        }
    };
    let (orders, sales) = (id_of("orders").await, id_of("sales").await);
    for user in ["gil", "gus"] {
        add_user(
            &app,
            user,
            "gamma",
            &[("dataset_access", Some("dataset"), Some(sales as i32))],
        )
        .await;
    }
    for (role, channel) in [("gil_grants", "online"), ("gus_grants", "store")] {
        as_user(
            &app,
            "ada",
            "create_rls_rule",
            json!({"name": channel, "filter_type": "regular", "dataset_ids": [orders],
                   "roles": [role], "clause": format!("channel = '{channel}'")}),
        )
        .await;
    }
    // The same chart for three callers in a row, twice: each sees only its rows, the second
    // time (from the cache) as the first.
    let pie =
        json!({"chart_type": "pie", "dimension": "channel", "metric": {"saved_metric": "revenue"}});
    let args = json!({"dataset_id": sales, "config": pie});
    let channels = |v: &Value| -> Vec<String> {
        let rows = v["rows"].as_array().cloned().unwrap_or_default();
        let mut c: Vec<String> = rows
            .iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_string())
            .collect();
        c.sort();
        c
    };
    for _ in 0..2 {
        for (user, expect) in [
            ("ada", vec!["online", "phone", "store"]),
            ("gil", vec!["online"]),
            ("gus", vec!["store"]),
        ] {
            let v = as_user(&app, user, "get_chart_data", args.clone()).await;
            assert_eq!(channels(&v), expect, "{user}: {v}");
            // A picture of the same chart reads the same cache.
            let v = as_user(
                &app,
                user,
                "get_chart_preview",
                json!({"dataset_id": sales, "config": pie, "format": "table"}),
            )
            .await;
            assert_eq!(v["row_count"], expect.len(), "{user}: {v}");
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn chart_data_is_cached_for_its_ttl_and_a_ttl_of_0_turns_it_off() {
    for ttl_ms in [600_000u64, 0] {
        let dir = tempfile::tempdir().expect("dir");
        let allowed = dir.path().to_path_buf();
        let app = TestApp::builder(Backend::Sqlite)
            .config(move |c| {
                c.datasources.sqlite_dirs = vec![allowed];
                c.cache.chart_data_ttl_ms = ttl_ms;
            })
            .start()
            .await
            .expect("app");
        let (_, args, conn) = tills(&app, dir.path()).await;
        let total = tills_total;
        let r = app.tool("get_chart_data", args.clone()).await;
        assert_eq!(total(&r), 3.0);
        // The data changes behind vizier's back.
        conn.execute("UPDATE tills SET amount = amount * 10", [])
            .expect("update");
        let r = app.tool("get_chart_data", args.clone()).await;
        let expect = if ttl_ms > 0 { 3.0 } else { 30.0 };
        assert_eq!(total(&r), expect, "chart_data_ttl_ms = {ttl_ms}");
        app.stop().await;
    }
}

#[actix_web::test]
async fn dashboards_hold_markdown_headers_and_dividers() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let layout = json!({"rows": [
        {"charts": [{"header": "Overview", "size": "large"}]},
        {"charts": [{"chart_id": 1, "width": 6},
                    {"markdown": "# Notes\nRevenue is **net**.\n\n- one\n- two", "width": 6, "height": 40}]},
        {"charts": [{"divider": true}]},
        {"charts": [{"chart_id": 2, "width": 12}]}
    ]});
    let r = app
        .tool(
            "generate_dashboard",
            json!({"chart_ids": [1, 2], "dashboard_title": "Notes", "layout": layout}),
        )
        .await;
    let created = ok(&r).clone();
    let id = created["id"].clone();
    let p = created["positions"].as_array().expect("positions").clone();
    assert_eq!(p.len(), 5, "{created}");
    assert_eq!(
        (p[0]["header"].as_str(), p[0]["size"].as_str()),
        (Some("Overview"), Some("large"))
    );
    assert_eq!(
        (p[2]["x"].as_u64(), p[2]["height"].as_u64()),
        (Some(6), Some(40))
    );
    assert!(
        p[2]["markdown"]
            .as_str()
            .is_some_and(|m| m.starts_with("# Notes"))
    );
    assert_eq!(p[3]["divider"], true);

    let r = app
        .tool("get_dashboard_info", json!({"identifier": id}))
        .await;
    let info = ok(&r).clone();
    assert_eq!(info["layout_summary"]["positioned_charts"], 2, "{info}");
    assert_eq!(
        info["layout_summary"]["text_cells"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{info}"
    );

    // Adding a chart never lands in a header's row; the text cells stay.
    let r = app
        .tool(
            "add_chart_to_existing_dashboard",
            json!({"dashboard_id": id, "chart_id": 3}),
        )
        .await;
    assert_eq!(ok(&r)["position"]["row"], 4, "{:?}", r.structured_content);
    let r = app
        .tool("get_dashboard_layout", json!({"identifier": id}))
        .await;
    let positions = ok(&r)["positions"].as_array().expect("positions").clone();
    assert_eq!(
        positions
            .iter()
            .filter(|p| p.get("chart_id").is_none())
            .count(),
        3
    );

    let r = app
        .tool(
            "get_dashboard_screenshot",
            json!({"identifier": id, "width": 1200}),
        )
        .await;
    let v = ok(&r).clone();
    assert!(v.get("notes").is_none(), "{v}");
    let imgs = images(&r);
    let (w, _) = png_size(&imgs[0]);
    assert_eq!(w, 1200);
    if let Some(dir) = std::env::var_os("VIZIER_KEEP_PICTURES") {
        std::fs::write(
            std::path::Path::new(&dir).join("dashboard_text_cells.png"),
            &imgs[0],
        )
        .expect("write");
    }

    // Bad cells: an unknown kind, two kinds in one cell, a header beside a chart, too long.
    for (layout, says) in [
        (
            json!({"rows": [{"charts": [{"image": "x.png"}]}]}),
            "unknown field `image`",
        ),
        (
            json!({"rows": [{"charts": [{"chart_id": 1, "markdown": "x"}]}]}),
            "exactly one of",
        ),
        (
            json!({"rows": [{"charts": [{"chart_id": 1}, {"header": "H"}]}]}),
            "row of its own",
        ),
        (
            json!({"rows": [{"charts": [{"markdown": "x".repeat(20_001)}]}]}),
            "20000",
        ),
    ] {
        let r = app
            .tool(
                "update_dashboard",
                json!({"identifier": id, "layout": layout}),
            )
            .await;
        let e = err(&r)["error"].as_str().unwrap_or_default().to_string();
        assert!(e.contains(says), "{says}: {e}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn table_percent_metrics_are_shares_of_the_column_total() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "sales"}]}),
        )
        .await;
    let sales = ok(&r)["items"][0]["id"].clone();
    let config = json!({"chart_type": "table", "group_by": ["region"],
        "metrics": [{"column": "quantity", "aggregate": "SUM", "label": "units"}],
        "percent_metrics": [{"column": "quantity", "aggregate": "SUM", "label": "units"},
                            {"column": "quantity", "aggregate": "COUNT", "label": "n"}]});
    let r = app
        .tool(
            "get_chart_data",
            json!({"dataset_id": sales, "config": config}),
        )
        .await;
    let d = ok(&r).clone();
    let cols: Vec<&str> = d["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(cols, ["region", "units", "n", "%units", "%n"], "{d}");
    let rows = d["rows"].as_array().expect("rows");
    let total: f64 = rows.iter().map(|r| r[1].as_f64().unwrap_or(0.0)).sum();
    let shares: f64 = rows.iter().map(|r| r[3].as_f64().unwrap_or(0.0)).sum();
    assert!((shares - 1.0).abs() < 1e-9, "{d}");
    assert!(
        (rows[0][3].as_f64().unwrap_or(0.0) - rows[0][1].as_f64().unwrap_or(0.0) / total).abs()
            < 1e-12
    );
    let r = app
        .tool(
            "get_chart_preview",
            json!({"dataset_id": sales, "config": config, "format": "table"}),
        )
        .await;
    let text = ok(&r).to_string();
    assert!(text.contains("%units") && text.contains('%'), "{text}");
    app.stop().await;
}

/// Callers asking for the same chart rows at once cost the source one query: eight calls
/// of one chart's data on a cold cache run it once (the others wait for its rows), and a
/// big number and a line of the same metric and grain run one query between them.
#[actix_web::test]
async fn callers_of_one_chart_query_share_one_run() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    // The example's weekly orders (7): a query long enough for the eight calls to overlap.
    let (app_ref, calls) = (&app, 8);
    let all = (0..calls).map(|_| async move {
        app_ref
            .tool("get_chart_data", json!({"identifier": 7}))
            .await
    });
    let answers = futures::future::join_all(all).await;
    let first = ok(&answers[0])["rows"].clone();
    assert!(first.as_array().is_some_and(|r| !r.is_empty()), "{first}");
    for r in &answers {
        assert_eq!(ok(r)["rows"], first, "every caller gets the same rows");
    }
    // The monthly revenue line (1) and this month's revenue (4).
    ok(&app.tool("get_chart_data", json!({"identifier": 1})).await);
    ok(&app.tool("get_chart_data", json!({"identifier": 4})).await);
    // History is written in batches: wait for both runs, then a while longer for any
    // further one.
    let runs = || async {
        let r = app.tool("list_queries", json!({"page_size": 50})).await;
        ok(&r)["total_count"].as_u64().unwrap_or(0)
    };
    for _ in 0..50 {
        if runs().await >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let r = app.tool("list_queries", json!({"page_size": 50})).await;
    let items = ok(&r)["items"].clone();
    assert_eq!(ok(&r)["total_count"], 2, "two queries ran: {items}");
    app.stop().await;
}
