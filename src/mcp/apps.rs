//! MCP Apps (the `io.modelcontextprotocol/ui` extension, spec 2026-01-26): the `ui://`
//! views a host renders inline in a sandboxed iframe, and which tools point at them.
//!
//! Two views, one front end: `ui://vizier/chart.html` (a chart with hover values, legend
//! toggles and a data table) and `ui://vizier/dashboard.html` (a dashboard's charts laid out
//! on its grid, with its native filters). Both are self-contained HTML: the script and
//! styles are vizier's own files (`apps/view.js`, `apps/view.css`), inlined here; the CSP
//! metadata declares no outside domain. The view speaks the extension's postMessage
//! JSON-RPC to its host and reaches vizier only through the host's `tools/call`, so every
//! call it makes is an ordinary tool call of the user who sees it (auth, RBAC, RLS, rate
//! limits, pools, audit and metrics).
//!
//! Tools point at a view (`_meta.ui.resourceUri`) only for a client that declares the
//! extension with the view's MIME type: in its per-request capabilities (2026-07-28, or
//! `_meta` on a handshake-era request) or at `initialize` on a session (stdio). HTTP is
//! stateless, so a handshake-era HTTP client that declares it at `initialize` gets an
//! `Mcp-Session-Id` that says so ([`APPS_SESSION_PREFIX`]) and sends it back with every
//! request, as the spec asks. Others get exactly the listing they always had.

use rmcp::model::{JsonObject, MetaObject, Resource, ResourceContents, Tool};
use serde_json::{Value, json};

/// The extension's identifier in `capabilities.extensions`.
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/ui";
/// The MIME type of an MCP Apps view.
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";
pub const CHART_VIEW: &str = "ui://vizier/chart.html";
pub const DASHBOARD_VIEW: &str = "ui://vizier/dashboard.html";

/// The view script and styles shared by every view and by the explore page.
pub const VIEW_JS: &str = include_str!("apps/view.js");
pub const VIEW_CSS: &str = include_str!("apps/view.css");

/// The tools that show a chart or a dashboard, and the view each points at.
const TOOL_VIEWS: [(&str, &str); 5] = [
    ("get_chart_preview", CHART_VIEW),
    ("generate_chart", CHART_VIEW),
    ("update_chart_preview", CHART_VIEW),
    ("get_dashboard_info", DASHBOARD_VIEW),
    ("get_dashboard_screenshot", DASHBOARD_VIEW),
];

/// HTML-escape text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page of a view: `kind` is `chart` or `dashboard`; `data` (JSON) is what a page that
/// is not inside a host starts from (the explore page), else null. `fallback` (HTML, built
/// by vizier from escaped text) is what a browser without JavaScript shows instead; empty
/// for none.
pub fn page(kind: &str, title: &str, data: &Value, fallback: &str) -> String {
    // `</` inside a script would end it; JSON never needs it.
    let data = data.to_string().replace("</", "<\\/");
    let fallback = if fallback.is_empty() {
        String::new()
    } else {
        format!(
            "<noscript><style>#app{{display:none}}</style><div class=\"vz-static\">{fallback}</div></noscript>"
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{VIEW_CSS}</style></head>\
         <body data-view=\"{kind}\"><div id=\"app\"><p class=\"note\">Loading…</p></div>{fallback}\
         <script id=\"vizier-data\" type=\"application/json\">{data}</script>\
         <script>{VIEW_JS}</script></body></html>",
        title = escape(title),
    )
}

/// A chart as a browser without JavaScript sees it: vizier's SVG (drawn by vizier from
/// escaped text, with the chart's title) and a note.
pub fn static_chart(svg: &str) -> String {
    format!(
        "{svg}<p class=\"note\">A picture of the chart: turn on JavaScript for hover values, \
         legend toggles and the data table.</p>"
    )
}

/// A page's error as a browser without JavaScript sees it.
pub fn static_error(title: &str, message: &str) -> String {
    format!(
        "<div class=\"vz-error\" role=\"alert\"><strong>{}</strong><p>{}</p></div>",
        escape(title),
        escape(message)
    )
}

/// The HTML of the view at `uri`.
pub fn view_html(uri: &str) -> Option<String> {
    match uri {
        CHART_VIEW => Some(page("chart", "Chart · vizier", &Value::Null, "")),
        DASHBOARD_VIEW => Some(page("dashboard", "Dashboard · vizier", &Value::Null, "")),
        _ => None,
    }
}

/// `_meta.ui` of a view resource: no outside domain for anything, and a border.
fn resource_meta() -> MetaObject {
    let mut m = JsonObject::new();
    m.insert(
        "ui".into(),
        json!({
            "csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []},
            "prefersBorder": true,
        }),
    );
    MetaObject(m)
}

/// The views as `resources/list` shows them.
pub fn resources() -> Vec<Resource> {
    [
        (
            CHART_VIEW,
            "chart-view",
            "Chart view",
            "Interactive chart (MCP Apps view): hover values, legend toggles, data table.",
        ),
        (
            DASHBOARD_VIEW,
            "dashboard-view",
            "Dashboard view",
            "Interactive dashboard (MCP Apps view): its charts on its grid, with its native filters.",
        ),
    ]
    .into_iter()
    .map(|(uri, name, title, description)| {
        let size = view_html(uri).map_or(0, |h| h.len() as u64);
        Resource::new(uri, name)
            .with_title(title)
            .with_description(description)
            .with_mime_type(MIME_TYPE)
            .with_size(size)
            .with_meta(resource_meta())
    })
    .collect()
}

/// The contents of the view at `uri`, as `resources/read` answers it.
pub fn read(uri: &str) -> Option<ResourceContents> {
    let html = view_html(uri)?;
    Some(
        ResourceContents::text(html, uri)
            .with_mime_type(MIME_TYPE)
            .with_meta(resource_meta()),
    )
}

/// Does a client with these capabilities render MCP Apps views?
pub fn declared(capabilities: Option<&rmcp::model::ClientCapabilities>) -> bool {
    capabilities
        .and_then(|c| c.extensions.as_ref())
        .and_then(|e| e.get(EXTENSION_ID))
        .and_then(|ui| ui.get("mimeTypes"))
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == MIME_TYPE))
}

/// The `Mcp-Session-Id` prefix given to a handshake-era HTTP client that declared the
/// extension at `initialize`. Nothing is kept on the server: the id itself says the client
/// renders views (it grants nothing; a forged one only adds `_meta.ui` to a listing).
pub const APPS_SESSION_PREFIX: &str = "vz-apps-";

/// A fresh session id for a client that declared the extension at `initialize`.
pub fn session_id() -> String {
    format!("{APPS_SESSION_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// Does this `initialize` request (JSON-RPC) declare the extension in the handshake era?
/// (2026-07-28 clients declare it per request.)
pub fn initialize_declares(message: &Value) -> bool {
    if message.get("method").and_then(Value::as_str) != Some("initialize") {
        return false;
    }
    let params = &message["params"];
    let handshake = params["protocolVersion"]
        .as_str()
        .is_some_and(|v| v < "2026-07-28");
    let caps =
        serde_json::from_value::<rmcp::model::ClientCapabilities>(params["capabilities"].clone())
            .ok();
    handshake && declared(caps.as_ref())
}

/// `tools` as a client that renders views sees them: the tools that show a chart or a
/// dashboard point at their view.
pub fn point_at_views(tools: &mut [Tool]) {
    for tool in tools {
        if let Some((_, uri)) = TOOL_VIEWS.iter().find(|(name, _)| *name == tool.name) {
            let meta = tool
                .meta
                .get_or_insert_with(|| MetaObject(JsonObject::new()));
            meta.0.insert("ui".into(), json!({ "resourceUri": uri }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_needs_the_mime_type() {
        let caps = |v: Value| serde_json::from_value::<rmcp::model::ClientCapabilities>(v).ok();
        let yes = caps(json!({"extensions": {EXTENSION_ID: {"mimeTypes": [MIME_TYPE]}}}));
        assert!(declared(yes.as_ref()));
        let other = caps(json!({"extensions": {EXTENSION_ID: {"mimeTypes": ["text/html"]}}}));
        assert!(!declared(other.as_ref()));
        assert!(!declared(caps(json!({})).as_ref()));
        assert!(!declared(None));
    }

    #[test]
    fn only_a_handshake_era_initialize_that_declares_the_view_type_counts() {
        let ui = json!({"extensions": {EXTENSION_ID: {"mimeTypes": [MIME_TYPE]}}});
        let msg = |method: &str, version: &str, caps: &Value| {
            json!({"jsonrpc": "2.0", "id": 1, "method": method,
                   "params": {"protocolVersion": version, "capabilities": caps}})
        };
        assert!(initialize_declares(&msg("initialize", "2025-06-18", &ui)));
        assert!(initialize_declares(&msg("initialize", "2025-03-26", &ui)));
        assert!(!initialize_declares(&msg("initialize", "2026-07-28", &ui)));
        assert!(!initialize_declares(&msg(
            "initialize",
            "2025-06-18",
            &json!({})
        )));
        assert!(!initialize_declares(&msg("tools/list", "2025-06-18", &ui)));
        assert!(!initialize_declares(&json!([msg(
            "initialize",
            "2025-06-18",
            &ui
        )])));
        assert!(session_id().starts_with(APPS_SESSION_PREFIX));
        assert_ne!(session_id(), session_id());
    }

    #[test]
    fn pages_are_self_contained() {
        for uri in [CHART_VIEW, DASHBOARD_VIEW] {
            // The SVG namespace is a name, not a place the view loads from.
            let html = view_html(uri)
                .expect("view")
                .replace("http://www.w3.org/2000/svg", "");
            for outside in ["http://", "https://", "src=\"", "href=\"", "@import"] {
                assert!(!html.contains(outside), "{uri} refers outside: {outside}");
            }
        }
        let html = page("chart", "x", &json!({"s": "</script><b>"}), "");
        assert!(!html.contains("</script><b>"));
        assert!(!html.contains("<noscript>"));
        let html = page("chart", "x", &Value::Null, &static_error("<b>", "a & b"));
        assert!(html.contains("<noscript><style>#app{display:none}</style>"));
        assert!(html.contains("<strong>&lt;b&gt;</strong><p>a &amp; b</p>"));
    }

    #[test]
    fn escape_covers_html_metacharacters() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
