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

/// What a raw connection got from the server.
struct Answer {
    text: String,
    /// When the first byte came, from the start of the read.
    first_byte: Option<std::time::Duration>,
    /// Whether the server closed the connection within the time given.
    closed: bool,
}

/// Read from `stream` until the server closes it (or `within` passes).
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> Answer {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut first_byte = None;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => {
                first_byte.get_or_insert(started.elapsed());
                got.extend_from_slice(&buf[..n]);
            }
            Err(_) => break false,
        }
    };
    Answer {
        text: String::from_utf8_lossy(&got).into_owned(),
        first_byte,
        closed,
    }
}

/// The head of a POST to /mcp announcing `length` bytes of body.
fn post_head(length: u64) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

#[actix_web::test]
async fn a_body_that_never_arrives_is_cut_off_in_time() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.server.request_body_timeout_ms = 1000)
        .start()
        .await
        .expect("app");
    let addr = app.base.trim_start_matches("http://").to_string();
    // 1,000 bytes announced, 20 sent: 408 after the body timeout, and the connection closes.
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let started = std::time::Instant::now();
    stream
        .write_all(format!("{}{{\"jsonrpc\":\"2.0\",\"id\"", post_head(1000)).as_bytes())
        .await
        .expect("write");
    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(5)).await;
    let took = started.elapsed();
    let text = &answer.text;
    assert!(answer.closed, "the connection is held open: {text:?}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert!(text.contains("request_body_timeout_ms"), "{text:?}");
    let first = answer.first_byte.expect("an answer");
    assert!(
        first >= std::time::Duration::from_millis(900)
            && first < std::time::Duration::from_millis(2000),
        "answered after {first:?}"
    );
    // actix lingers up to a second for the client to close before it does.
    assert!(
        took < std::time::Duration::from_millis(3500),
        "closed after {took:?}"
    );
    // 100 MB announced: refused at once, unread.
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream
        .write_all(format!("{}{{\"jsonrpc\":\"2.0\",\"id\"", post_head(104_857_600)).as_bytes())
        .await
        .expect("write");
    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(5)).await;
    assert!(
        answer.closed && answer.text.starts_with("HTTP/1.1 413"),
        "{:?}",
        answer.text
    );
    assert!(
        answer
            .first_byte
            .is_some_and(|t| t < std::time::Duration::from_millis(500)),
        "{:?}",
        answer.first_byte
    );
    // The server is still fine.
    let (status, _, body) = app.call_raw("health_check", json!({})).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[actix_web::test]
async fn one_client_address_holds_a_bounded_number_of_connections() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.server.max_connections_per_client = 4)
        .start()
        .await
        .expect("app");
    // Each client keeps its one connection open after its request (keep-alive).
    let client = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("client")
    };
    let url = format!("{}/health", app.base);
    let mut held = Vec::new();
    for i in 0..4 {
        let c = client();
        let status = c.get(&url).send().await.expect("sent").status().as_u16();
        assert_eq!(status, 200, "connection {i}");
        held.push(c);
    }
    // A fifth connection from 127.0.0.1: refused, with a retry hint, and closed.
    let extra = client();
    let resp = extra.get(&url).send().await.expect("sent");
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        resp.headers()
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
    drop(resp);
    drop(extra);
    // Once one of the four closes, a new connection is served.
    drop(held.pop());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = client()
            .get(&url)
            .send()
            .await
            .expect("sent")
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still refused: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}
