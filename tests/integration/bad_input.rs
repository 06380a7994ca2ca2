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
    let (status, _, text) = app.post_raw("{not json", &[V]).await;
    // rmcp answers an undecodable body with a 4xx naming the decode error.
    assert!(
        (400..500).contains(&status) || error_of(&text)["code"] == -32700,
        "{status} {text}"
    );
    assert!(
        text.contains("deserialize") || text.contains("parse"),
        "{text}"
    );

    for body in [
        json!({"id": 1, "method": "tools/list"}), // no jsonrpc
        json!({"jsonrpc": "1.0", "id": 1, "method": "tools/list"}), // wrong version
        json!({"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/list"}), // id must be string/number
        json!([1, 2, 3]),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "nope"}),
    ] {
        let (status, _, text) = app.post_raw(body.to_string(), &[V]).await;
        assert!(
            (400..500).contains(&status) || !error_of(&text).is_null(),
            "{body}: {status} {text}"
        );
    }
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

    // A request naming an unknown version in its header is refused.
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();
    let (status, _, text) = app
        .post_raw(list, &[("mcp-protocol-version", "1999-01-01")])
        .await;
    assert_eq!(status, 400, "{text}");

    // Stateless era with a version the server does not know.
    let meta = json!({"io.modelcontextprotocol/protocolVersion":"2099-01-01",
        "io.modelcontextprotocol/clientCapabilities":{}});
    let list =
        json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta": meta}}).to_string();
    let (status, _, text) = app
        .post_raw(
            list,
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert!(
        status >= 400 || !error_of(&text).is_null(),
        "{status} {text}"
    );
    app.stop().await;
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
