//! Superset bundles through the tools, on the fixture bundle the harness in tests/superset
//! made with a real Superset 6.1.0: import (report, unsupported charts, re-import in place,
//! nothing written by a bad bundle), chart data on the imported charts, export and read back.

use base64::Engine as _;
use serde_json::{Value, json};

use super::support::*;

const FIXTURE: &[u8] = include_bytes!("../fixtures/superset-shop.zip");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The harness's shop data (same columns), inside the app's allowed directory.
fn shop_source(dir: &std::path::Path) -> String {
    let path = dir.join("shop.db");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE orders (day TEXT, region TEXT, category TEXT, amount REAL, qty INTEGER);
         INSERT INTO orders VALUES ('2024-01-01', 'North', 'Books', 10.0, 1),
           ('2024-01-15', 'South', 'Games', 150.0, 2), ('2024-02-03', 'West', 'Tools', 120.5, 3),
           ('2025-01-01', 'East', 'Books', 5.0, 4);",
    )
    .expect("schema");
    format!("sqlite://{}", path.display())
}

async fn counts(app: &TestApp) -> Value {
    let r = app.tool("get_instance_info", json!({})).await;
    ok(&r)["counts"].clone()
}

#[actix_web::test]
async fn a_superset_bundle_imports_round_trips_and_reimports_in_place() {
    let dir = tempfile::tempdir().expect("dir");
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| c.datasources.sqlite_dirs = vec![allowed])
        .start()
        .await
        .expect("app");
    let url = shop_source(dir.path());
    let before = counts(&app).await;

    // Bad bundles are refused, naming the problem, and write nothing.
    let r = app
        .tool(
            "import_superset_bundle",
            json!({"bundle": b64(b"not a zip")}),
        )
        .await;
    assert!(
        err(&r)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not a readable ZIP"),
        "{:?}",
        r.structured_content
    );
    // The fixture's SQLite path is the harness's temporary one: without a URL it is refused
    // with how to give one, and nothing is written.
    let r = app
        .tool("import_superset_bundle", json!({"bundle": b64(FIXTURE)}))
        .await;
    let e = err(&r)["error"].as_str().unwrap_or_default().to_string();
    assert!(
        e.contains("database_urls") || e.contains("--database-url"),
        "{e}"
    );
    assert_eq!(counts(&app).await, before);

    let args = json!({"bundle": b64(FIXTURE), "database_urls": {"shop": url}});
    let r = app.tool("import_superset_bundle", args.clone()).await;
    let report = ok(&r).clone();
    assert_eq!(report["created"]["datasets"], 2, "{report}");
    assert_eq!(report["created"]["charts"], 15, "{report}");
    assert_eq!(report["created"]["dashboards"], 1, "{report}");
    let unsupported: Vec<&Value> = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["status"] == "unsupported")
        .collect();
    assert_eq!(unsupported.len(), 1, "{report}");
    assert!(
        unsupported[0]["reasons"][0]
            .as_str()
            .unwrap_or_default()
            .contains("word_cloud")
    );
    let dashboard = report["dashboard_ids"][0].clone();

    // The dashboard keeps its tabs and native filter; charts answer data.
    let r = app
        .tool("get_dashboard_info", json!({"identifier": "shop"}))
        .await;
    let info = ok(&r).clone();
    assert_eq!(
        info["layout_summary"]["tabs"],
        json!(["Trends", "Details"]),
        "{info}"
    );
    assert_eq!(info["filters"][0]["name"], "Region", "{info}");
    // Superset's header, markdown and divider are cells of the layout.
    let text: Vec<&Value> = info["layout_summary"]["text_cells"]
        .as_array()
        .expect("text cells")
        .iter()
        .collect();
    assert_eq!(text.len(), 3, "{info}");
    assert_eq!(
        (text[0]["header"].as_str(), text[0]["size"].as_str()),
        (Some("Monthly trends"), Some("large")),
        "{info}"
    );
    assert_eq!(text[1]["divider"], true, "{info}");
    assert!(
        text[2]["markdown"]
            .as_str()
            .is_some_and(|m| m.starts_with("# Shop")),
        "{info}"
    );
    let r = app.tool("list_charts", json!({"page_size": 100})).await;
    let charts = ok(&r)["items"].as_array().expect("charts").clone();
    for c in &charts {
        let r = app
            .tool("get_chart_data", json!({"identifier": c["id"]}))
            .await;
        if c["viz_type"] == "unsupported" {
            let e = err(&r)["error"].as_str().unwrap_or_default().to_string();
            assert!(e.contains("word_cloud"), "{e}");
        } else {
            ok(&r);
        }
    }
    let r = app
        .tool(
            "get_chart_data",
            json!({"identifier": charts.iter().find(|c| c["slice_name"] == "Total revenue").expect("chart")["id"]}),
        )
        .await;
    // 2024-01-15 and 2024-02-03 and 2025-01-01 and 2024-01-01: the whole table.
    assert_eq!(
        ok(&r)["rows"][0][0],
        json!(285.5),
        "{:?}",
        r.structured_content
    );

    // Percent metrics and a SIMPLE HAVING filter are taken in and computed.
    let chart_named = |name: &str| {
        charts
            .iter()
            .find(|c| c["slice_name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["id"]
            .clone()
    };
    let r = app
        .tool(
            "get_chart_data",
            json!({"identifier": chart_named("Revenue share by category")}),
        )
        .await;
    let d = ok(&r).clone();
    assert_eq!(
        d["columns"],
        json!(["category", "revenue", "units", "%revenue", "%units"]),
        "{d}"
    );
    let shares: f64 = d["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[3].as_f64().unwrap_or(0.0))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "{d}");
    let r = app
        .tool(
            "get_chart_data",
            json!({"identifier": chart_named("Regions with revenue over 15000")}),
        )
        .await;
    let d = ok(&r).clone();
    assert!(
        d["executed_sql"]
            .as_str()
            .is_some_and(|s| s.contains("HAVING") && s.contains("SUM(amount) > 15000")),
        "{d}"
    );
    assert_eq!(
        d["rows"],
        json!([]),
        "no region of the small table reaches 15000"
    );

    // Re-import: same objects, updated in place.
    let r = app.tool("import_superset_bundle", args).await;
    let again = ok(&r).clone();
    assert_eq!(again["created"]["charts"], 0, "{again}");
    assert_eq!(again["updated"]["charts"], 15, "{again}");
    assert_eq!(again["dashboard_ids"][0], dashboard);

    // Export and read back: a bundle vizier's own reader accepts, with every chart.
    let r = app
        .tool("export_dashboard", json!({"identifier": "shop"}))
        .await;
    let out = ok(&r).clone();
    assert_eq!(out["exported"]["charts"], 15, "{out}");
    let zip = base64::engine::general_purpose::STANDARD
        .decode(out["bundle"].as_str().expect("bundle"))
        .expect("base64");
    let bundle = vizier::superset::bundle::Bundle::read(&zip, &Default::default()).expect("reads");
    assert_eq!(bundle.charts.len(), 15);
    assert!(
        bundle.databases[0]
            .1
            .sqlalchemy_uri
            .starts_with("sqlite:////")
    );
    let r = app
        .tool("export_charts", json!({"identifiers": [charts[0]["id"]]}))
        .await;
    assert_eq!(ok(&r)["exported"]["charts"], 1);
    app.stop().await;
}

/// A bundle by `path`: off until superset.bundle_dirs names a directory; then a ZIP inside
/// one imports like the base64 form, and a file outside (directly or through a link), a
/// relative path, a directory, or both forms at once are refused, writing nothing.
#[actix_web::test]
async fn a_bundle_imports_by_path_only_from_an_allowed_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let bundles = dir.path().join("bundles");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&bundles).expect("bundles dir");
    std::fs::create_dir_all(&elsewhere).expect("other dir");
    std::fs::write(bundles.join("shop.zip"), FIXTURE).expect("bundle");
    std::fs::write(elsewhere.join("shop.zip"), FIXTURE).expect("bundle elsewhere");
    std::os::unix::fs::symlink(elsewhere.join("shop.zip"), bundles.join("link.zip")).expect("link");
    let url = shop_source(dir.path());
    let inside = bundles.join("shop.zip").display().to_string();

    // Off by default.
    let allowed = dir.path().to_path_buf();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| c.datasources.sqlite_dirs = vec![allowed])
        .start()
        .await
        .expect("app");
    let r = app
        .tool(
            "import_superset_bundle",
            json!({"path": inside, "database_urls": {"shop": url}}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["field"], "path", "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("superset.bundle_dirs"),
        "{e}"
    );
    app.stop().await;

    let (allowed, bundle_dir) = (dir.path().to_path_buf(), bundles.clone());
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| {
            c.datasources.sqlite_dirs = vec![allowed];
            c.superset.bundle_dirs = vec![bundle_dir];
        })
        .start()
        .await
        .expect("app");
    let before = counts(&app).await;
    let refused = [
        json!({"path": elsewhere.join("shop.zip").display().to_string()}),
        json!({"path": bundles.join("link.zip").display().to_string()}),
        json!({"path": bundles.join("..").join("elsewhere").join("shop.zip").display().to_string()}),
        json!({"path": "bundles/shop.zip"}),
        json!({"path": bundles.display().to_string()}),
        json!({"path": bundles.join("missing.zip").display().to_string()}),
        json!({"path": inside, "bundle": b64(FIXTURE)}),
        json!({}),
    ];
    for mut args in refused {
        args["database_urls"] = json!({"shop": url});
        let r = app.tool("import_superset_bundle", args.clone()).await;
        let e = err(&r);
        assert_eq!(e["error_type"], "invalid_argument", "{args}: {e}");
        assert!(
            e["details"]["field"] == "path" || e["details"]["field"] == "bundle",
            "{args}: {e}"
        );
    }
    assert_eq!(counts(&app).await, before);
    let r = app
        .tool(
            "import_superset_bundle",
            json!({"path": inside, "database_urls": {"shop": url}}),
        )
        .await;
    let report = ok(&r).clone();
    assert_eq!(report["created"]["charts"], 15, "{report}");
    assert_eq!(report["created"]["dashboards"], 1, "{report}");
    app.stop().await;
}
