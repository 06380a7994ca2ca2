//! Hostile and broken input at the protocol level: each gets a clear error, none a panic
//! or a hang (every request has a client timeout).

use serde_json::{Value, json};

use super::support::*;

const V: (&str, &str) = ("mcp-protocol-version", "2025-11-25");

fn error_of(text: &str) -> Value {
    parse_body(text)["error"].clone()
}

#[actix_web::test]
async fn malformed_json_and_wrong_shapes() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    // Not JSON: HTTP 400 with a JSON-RPC parse error (rmcp alone answers a plain-text 415).
    for body in ["{not json", ""] {
        let (status, headers, text) = app.post_raw(body, &[V]).await;
        assert_eq!(status, 400, "{body:?}: {text}");
        assert_eq!(headers["content-type"], "application/json", "{text}");
        assert_eq!(error_of(&text)["code"], -32700, "{text}");
        assert!(
            error_of(&text)["message"]
                .as_str()
                .is_some_and(|m| m.contains("not valid JSON")),
            "{text}"
        );
    }

    // JSON, but no JSON-RPC message: an invalid request, with the id when there is one.
    for (body, id) in [
        (json!({"id": 1, "method": "tools/list"}), json!(1)), // no jsonrpc
        (
            json!({"jsonrpc": "1.0", "id": 1, "method": "tools/list"}),
            json!(1),
        ), // wrong version
        (
            json!({"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/list"}),
            json!(null),
        ), // id must be string/number
        (json!([1, 2, 3]), json!(null)),
        (
            json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": "nope"}),
            json!("c"),
        ),
    ] {
        let (status, headers, text) = app.post_raw(body.to_string(), &[V]).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert_eq!(headers["content-type"], "application/json", "{text}");
        let v = parse_body(&text);
        assert_eq!(v["error"]["code"], -32600, "{body}: {text}");
        assert_eq!(v["id"], id, "{body}: {text}");
    }
    // A wrong Content-Type is still the transport's 415.
    let resp = http_client()
        .post(&app.url)
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 415);
    // The server is still fine.
    let (status, _, body) = app.call_raw("health_check", json!({})).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[actix_web::test]
async fn unknown_tools_and_methods() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let (_, _, body) = app.call_raw("helth_check", json!({})).await;
    let e = &body["error"];
    assert_eq!(e["code"], -32602, "{body}");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("Unknown tool 'helth_check'") && m.contains("health_check")));

    let (_, _, text) = app
        .post_raw(
            json!({"jsonrpc":"2.0","id":1,"method":"tools/explode","params":{}}).to_string(),
            &[V],
        )
        .await;
    assert_eq!(error_of(&text)["code"], -32601, "{text}");

    // Completions are no declared capability: the method does not exist (rmcp's default
    // would answer an empty list), in both eras.
    let complete = json!({"ref": {"type": "ref/prompt", "name": "quickstart"},
        "argument": {"name": "x", "value": "q"}});
    let (_, _, text) = app
        .post_raw(
            json!({"jsonrpc":"2.0","id":1,"method":"completion/complete","params": complete})
                .to_string(),
            &[V],
        )
        .await;
    assert_eq!(error_of(&text)["code"], -32601, "{text}");
    let mut params = complete.clone();
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    let (_, _, text) = app
        .post_raw(
            json!({"jsonrpc":"2.0","id":1,"method":"completion/complete","params": params})
                .to_string(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "completion/complete"),
            ],
        )
        .await;
    assert_eq!(error_of(&text)["code"], -32601, "{text}");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    assert!(
        client
            .peer_info()
            .is_some_and(|i| i.capabilities.completions.is_none()),
        "completions are not declared"
    );
    client.cancel().await.ok();

    let (_, _, text) = app
        .post_raw(
            json!({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"nope"}})
                .to_string(),
            &[V],
        )
        .await;
    assert!(
        error_of(&text)["message"]
            .as_str()
            .is_some_and(|m| m.contains("quickstart")),
        "{text}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.server.max_body_bytes = 4096)
        .start()
        .await
        .expect("app");
    let big = "x".repeat(10_000);
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_schema","arguments":{"model": big}}});
    let (status, _, text) = app.post_raw(body.to_string(), &[V]).await;
    assert_eq!(status, 413, "{text}");
    app.stop().await;
}

#[actix_web::test]
async fn wrong_host_or_origin_is_forbidden() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();
    let (status, _, _) = app
        .post_raw(list.clone(), &[V, ("host", "evil.example.com")])
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = app
        .post_raw(list.clone(), &[V, ("origin", "https://evil.example.com")])
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = app.post_raw(list, &[V]).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[actix_web::test]
async fn unsupported_protocol_versions() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    // Handshake era: the server answers with a version it supports (the client may leave).
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"old","version":"0"}}});
    let (status, _, text) = app.post_raw(init.to_string(), &[]).await;
    assert_eq!(status, 200, "{text}");
    let v = parse_body(&text)["result"]["protocolVersion"]
        .as_str()
        .map(str::to_owned);
    assert!(
        matches!(
            v.as_deref(),
            Some("2025-03-26" | "2025-06-18" | "2025-11-25")
        ),
        "{text}"
    );

    // Also when the header names that version: initialize is where versions are agreed.
    for version in ["2024-11-05", "2099-01-01"] {
        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion": version,"capabilities":{},"clientInfo":{"name":"old","version":"0"}}});
        let (status, _, text) = app
            .post_raw(init.to_string(), &[("mcp-protocol-version", version)])
            .await;
        assert_eq!(status, 200, "{version}: {text}");
        let agreed = parse_body(&text)["result"]["protocolVersion"].clone();
        assert!(SUPPORTED.iter().any(|v| agreed == *v), "{version}: {text}");
    }

    // Any other request naming a version vizier does not serve in its header is refused:
    // HTTP 400, a JSON-RPC error naming the supported versions. 2024-11-05 is a version
    // rmcp knows but vizier does not serve (it is not in PROTOCOL_VERSIONS).
    for version in ["2024-11-05", "1999-01-01", "2099-01-01", "latest"] {
        let list = json!({"jsonrpc":"2.0","id":7,"method":"tools/list"}).to_string();
        let (status, headers, text) = app
            .post_raw(list, &[("mcp-protocol-version", version)])
            .await;
        // A served list would be long: the start says enough.
        let short: String = text.chars().take(300).collect();
        assert_eq!(status, 400, "{version}: {short}");
        assert_eq!(headers["content-type"], "application/json", "{text}");
        let v = parse_body(&text);
        assert_eq!(v["id"], 7, "{text}");
        assert_eq!(v["error"]["code"], -32022, "{text}");
        assert_eq!(v["error"]["data"]["requested"], version, "{text}");
        assert_eq!(v["error"]["data"]["supported"], json!(SUPPORTED), "{text}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(SUPPORTED.iter().all(|s| message.contains(s)), "{message}");
    }
    // The versions it serves pass.
    for version in SUPPORTED {
        let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();
        let (status, _, text) = if version == "2026-07-28" {
            let meta = json!({"io.modelcontextprotocol/protocolVersion": version,
                "io.modelcontextprotocol/clientCapabilities":{}});
            let list =
                json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta": meta}});
            app.post_raw(
                list.to_string(),
                &[
                    ("mcp-protocol-version", version),
                    ("mcp-method", "tools/list"),
                ],
            )
            .await
        } else {
            app.post_raw(list, &[("mcp-protocol-version", version)])
                .await
        };
        assert_eq!(status, 200, "{version}: {text}");
        assert!(parse_body(&text)["result"]["tools"].is_array(), "{text}");
    }

    // Stateless era with a version the server does not know.
    let meta = json!({"io.modelcontextprotocol/protocolVersion":"2099-01-01",
        "io.modelcontextprotocol/clientCapabilities":{}});
    let list =
        json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta": meta}}).to_string();
    let (status, headers, text) = app
        .post_raw(
            list,
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(headers["content-type"], "application/json", "{text}");
    assert_eq!(error_of(&text)["code"], -32022, "{text}");
    app.stop().await;
}

/// Every protocol version vizier serves (`vizier::mcp::PROTOCOL_VERSIONS`).
const SUPPORTED: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

#[test]
fn supported_matches_the_server() {
    let served: Vec<&str> = vizier::mcp::PROTOCOL_VERSIONS
        .iter()
        .map(|v| v.as_str())
        .collect();
    assert_eq!(served, SUPPORTED);
}

/// A corpus of broken requests and argument values, sent to every tool: each answer is a
/// 4xx or a JSON-RPC/tool error, never a 5xx, and the server keeps serving.
#[actix_web::test]
async fn garbage_corpus_never_breaks_the_server() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let bodies = [
        String::new(),
        "null".into(),
        "{}".into(),
        "[]".into(),
        "\"just a string\"".into(),
        "{\"jsonrpc\":\"2.0\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":null}}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"tools/list\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1.5e308,\"method\":\"tools/list\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"\\u0000\"}}".into(),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{}}}", "[".repeat(200)),
        "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}".into(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":12}}".into(),
    ];
    for body in bodies {
        let (status, _, text) = app.post_raw(body.clone(), &[V]).await;
        assert!(status < 500, "{body:?} → {status} {text}");
    }
    let values = [
        json!(null),
        json!(1),
        json!("x"),
        json!([]),
        json!({"model": null}),
        json!({"model": ""}),
        json!({"model": "\u{0}"}),
        json!({"model": "chart".repeat(1000)}),
        json!({"model": ["chart"]}),
        json!({"model": {"$ne": 1}}),
        json!({"model": "chart' OR 1=1 --"}),
        json!({"": 1}),
        json!({"extra": true}),
    ];
    for tool in ["health_check", "get_instance_info", "get_schema"] {
        for args in &values {
            let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name": tool, "arguments": args}});
            let (status, _, text) = app.post_raw(body.to_string(), &[V]).await;
            assert!(status < 500, "{tool} {args} → {status} {text}");
            let v = parse_body(&text);
            let refused = !v["error"].is_null() || v["result"]["isError"] == true;
            // Only "no arguments" (and get_schema's explicit null model) are valid here.
            let valid = args.is_null() || (tool == "get_schema" && args == &json!({"model": null}));
            assert_eq!(refused, !valid, "{tool} {args}: {text}");
        }
    }
    let (status, _, _) = app.call_raw("health_check", json!({})).await;
    assert_eq!(status, 200);
    app.stop().await;
}
