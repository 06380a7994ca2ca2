//! MCP Apps over the wire, in both protocol eras: the `ui://` views are listed and
//! readable; tools point at them only for clients that declare the extension; the app-only
//! `view_chart` is never listed yet callable, under the caller's access.

use rmcp::RoleClient;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ExtensionCapabilities, Implementation, JsonObject,
    ProtocolVersion, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;

use super::support::{Backend, ERAS, Era, TestApp, add_user, call, err, ok, parse_body};

const UI: &str = "io.modelcontextprotocol/ui";
const MIME: &str = "text/html;profile=mcp-app";
const VIEW_TOOLS: [(&str, &str); 5] = [
    ("get_chart_preview", "ui://vizier/chart.html"),
    ("generate_chart", "ui://vizier/chart.html"),
    ("update_chart_preview", "ui://vizier/chart.html"),
    ("get_dashboard_info", "ui://vizier/dashboard.html"),
    ("get_dashboard_screenshot", "ui://vizier/dashboard.html"),
];

/// A stateless-era (2026-07-28) client that declares the extension: its capabilities
/// travel in every request's `_meta`.
async fn declaring_client(app: &TestApp) -> RunningService<RoleClient, ClientConfig> {
    super::support::init_crypto();
    let mut ui = JsonObject::new();
    ui.insert("mimeTypes".into(), json!([MIME]));
    let mut extensions = ExtensionCapabilities::new();
    extensions.insert(UI.into(), ui);
    let caps = ClientCapabilities::builder()
        .enable_extensions_with(extensions)
        .build();
    ClientConfig::new(caps, Implementation::new("vizier-apps-tests", "1"))
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_uri(app.url.clone()),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discover")
}

fn ui_uri(tool: &rmcp::model::Tool) -> Option<&str> {
    tool.meta
        .as_ref()?
        .0
        .get("ui")?
        .get("resourceUri")?
        .as_str()
}

#[actix_web::test]
async fn views_are_listed_and_readable_in_both_eras() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    for era in ERAS {
        let client = app.client(era).await;
        let resources = client.list_all_resources().await.expect("resources/list");
        for uri in ["ui://vizier/chart.html", "ui://vizier/dashboard.html"] {
            let listed = resources.iter().find(|r| r.uri == uri).expect("listed");
            assert_eq!(listed.mime_type.as_deref(), Some(MIME), "{era:?}");
            let read = client
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
                .expect("resources/read");
            let ResourceContents::TextResourceContents {
                text,
                mime_type,
                meta,
                ..
            } = &read.contents[0]
            else {
                panic!("expected text contents")
            };
            assert_eq!(mime_type.as_deref(), Some(MIME));
            assert!(text.starts_with("<!doctype html>") && text.contains("<script>"));
            let csp = &meta.as_ref().expect("_meta").0["ui"]["csp"];
            for key in ["connectDomains", "resourceDomains", "frameDomains"] {
                assert_eq!(csp[key], json!([]), "{uri} {key}");
            }
            assert_eq!(listed.size, Some(text.len() as u64));
        }
        client.cancel().await.ok();
    }
    app.stop().await;
}

#[actix_web::test]
async fn tools_point_at_views_only_for_declaring_clients() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    // Clients that do not declare the extension: today's listing, no _meta.ui anywhere.
    for era in ERAS {
        let client = app.client(era).await;
        let tools = client.list_all_tools().await.expect("tools/list");
        assert!(tools.iter().all(|t| t.meta.is_none()), "{era:?}");
        assert!(tools.iter().all(|t| t.name != "view_chart"));
        client.cancel().await.ok();
    }
    // 2026-07-28, declared in the per-request capabilities.
    let client = declaring_client(&app).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for (name, uri) in VIEW_TOOLS {
        let t = tools.iter().find(|t| t.name == name).expect(name);
        assert_eq!(ui_uri(t), Some(uri), "{name}");
    }
    let pointing = tools.iter().filter(|t| ui_uri(t).is_some()).count();
    assert_eq!(pointing, VIEW_TOOLS.len());
    assert!(tools.iter().all(|t| t.name != "view_chart"));
    client.cancel().await.ok();
    // The handshake era over stateless HTTP: declared in the request's _meta.
    let caps = json!({"extensions": {UI: {"mimeTypes": [MIME]}}});
    for (params, declared) in [
        (
            json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": caps}}),
            true,
        ),
        (json!({}), false),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params});
        let (status, _, text) = app
            .post_raw(body.to_string(), &[("mcp-protocol-version", "2025-11-25")])
            .await;
        assert_eq!(status, 200, "{text}");
        let v = parse_body(&text);
        let tools = v["result"]["tools"].as_array().expect("tools");
        let preview = tools
            .iter()
            .find(|t| t["name"] == "get_chart_preview")
            .expect("get_chart_preview");
        let uri = preview.pointer("/_meta/ui/resourceUri");
        assert_eq!(
            uri,
            declared.then(|| json!("ui://vizier/chart.html")).as_ref()
        );
    }
    app.stop().await;
}

/// A handshake-era HTTP client that declares the extension at `initialize` only: the
/// session id it is given says so, and its later requests carrying it see the views
/// without repeating capabilities. A client that does not declare it gets no session id.
#[actix_web::test]
async fn a_handshake_client_declares_the_extension_once_at_initialize() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let initialize = |caps: serde_json::Value| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": caps,
            "clientInfo": {"name": "apps-handshake", "version": "1"}}})
        .to_string()
    };
    let preview_uri = |text: &str| {
        let v = parse_body(text);
        let tools = v["result"]["tools"].as_array().expect("tools").clone();
        let t = tools
            .iter()
            .find(|t| t["name"] == "get_chart_preview")
            .expect("listed");
        t.pointer("/_meta/ui/resourceUri").cloned()
    };
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}).to_string();
    let era = ("mcp-protocol-version", "2025-06-18");

    let (status, headers, text) = app
        .post_raw(
            initialize(json!({"extensions": {UI: {"mimeTypes": [MIME]}}})),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("a session id for the declaring client")
        .to_string();
    assert!(
        session.starts_with("vz-apps-") && session.len() > 20,
        "{session}"
    );
    let (status, _, text) = app
        .post_raw(list.clone(), &[era, ("mcp-session-id", &session)])
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(preview_uri(&text), Some(json!("ui://vizier/chart.html")));
    // The same request without the session id: today's listing.
    let (_, _, text) = app.post_raw(list.clone(), &[era]).await;
    assert_eq!(preview_uri(&text), None);

    // Declaring something else (another MIME type, or nothing): no session id, no _meta.ui.
    for caps in [
        json!({"extensions": {UI: {"mimeTypes": ["text/html"]}}}),
        json!({}),
    ] {
        let (status, headers, text) = app.post_raw(initialize(caps), &[]).await;
        assert_eq!(status, 200, "{text}");
        assert!(headers.get("mcp-session-id").is_none(), "{headers:?}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_app_only_tool_is_callable_under_the_callers_access() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    for era in ERAS {
        let client = app.client(era).await;
        let r = call(
            &client,
            "view_chart",
            json!({"chart": {"identifier": 1}, "table_rows": 5}),
        )
        .await;
        let v = ok(&r);
        assert!(v["svg"].as_str().is_some_and(|s| s.starts_with("<svg")));
        assert!(
            v["vega_lite"]["data"]["values"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
        assert_eq!(v["rows"].as_array().map(Vec::len), Some(5));
        client.cancel().await.ok();
    }
    let client = app.client(Era::Stateless).await;
    // A dashboard filter narrows the chart's query.
    let all = call(&client, "view_chart", json!({"chart": {"identifier": 2}})).await;
    let all = ok(&all).clone();
    let region = call(
        &client,
        "view_chart",
        json!({"chart": {"identifier": 2}, "filters": [{"col": "region", "opr": "in", "value": ["West"]}]}),
    )
    .await;
    let region = ok(&region).clone();
    assert_ne!(all["rows"], region["rows"], "the filter changed nothing");
    // A filter on a column the dataset lacks: a clear refusal naming it.
    let bad = call(
        &client,
        "view_chart",
        json!({"chart": {"identifier": 2}, "filters": [{"col": "regoin", "opr": "eq", "value": "West"}]}),
    )
    .await;
    let e = err(&bad);
    assert_eq!(e["error_type"], "invalid_argument", "{e}");
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("regoin")),
        "{e}"
    );
    client.cancel().await.ok();
    // A caller without access to the dataset: refused like any tool call, and audited.
    add_user(&app, "apps_gamma", "gamma", &[]).await;
    let gamma = app.replica_as("apps_gamma").await;
    let r = gamma
        .tool("view_chart", json!({"chart": {"identifier": 1}}))
        .await;
    let e = err(&r);
    assert!(
        matches!(
            e["error_type"].as_str(),
            Some("not_found" | "permission_denied")
        ),
        "{e}"
    );
    gamma.stop().await;
    app.stop().await;
}
