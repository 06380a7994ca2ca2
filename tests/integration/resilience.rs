//! Panics, overload, cancellation and progress, through the real interface. Faults are
//! injected with the `[faults]` config section (loopback only).

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;

#[actix_web::test]
async fn a_panicking_tool_fails_alone_and_its_worker_restarts() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.faults.panic_tools = vec!["health_check".into()];
            c.pools.catalog.workers = 1;
        })
        .start()
        .await
        .expect("app");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    for _ in 0..3 {
        let r = call(&client, "health_check", json!({})).await;
        let e = err(&r);
        assert_eq!(e["error_type"], "internal");
        assert!(
            e["error_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("err_"))
        );
        assert!(
            !e.to_string().contains("fault injection"),
            "panic text must not leak: {e}"
        );
        // The one catalog worker was restarted: the next call on it is served.
        let info = call(&client, "get_instance_info", json!({})).await;
        assert_eq!(ok(&info)["counts"]["dashboards"], 1);
    }
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("vizier_tool_panics_total{pool=\"catalog\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("vizier_actor_restarts_total{actor=\"catalog\"}"));
    client.cancel().await.ok();
    app.stop().await;
}

#[actix_web::test]
async fn a_full_pool_refuses_at_once_with_503_and_retry_after() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.pools.catalog.workers = 1;
            c.pools.catalog.queue = 1;
            c.pools.retry_after_secs = 3;
            c.faults.delay_ms.insert("get_instance_info".into(), 1500);
        })
        .start()
        .await
        .expect("app");
    // The metrics recorder is one per process and tests run in parallel: count the change.
    async fn catalog_refusals(app: &TestApp) -> u64 {
        let (_, metrics) = app.get("/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("vizier_pool_refusals_total{pool=\"catalog\"} "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
    let before = catalog_refusals(&app).await;
    let started = Instant::now();
    let calls = (0..4).map(|_| app.call_raw("get_instance_info", json!({})));
    let results = futures::future::join_all(calls).await;
    let refused: Vec<_> = results.iter().filter(|(s, _, _)| *s == 503).collect();
    let served: Vec<_> = results.iter().filter(|(s, _, _)| *s == 200).collect();
    assert_eq!(served.len(), 2, "one running + one queued: {results:?}");
    assert_eq!(refused.len(), 2, "{results:?}");
    for (_, headers, body) in &refused {
        assert_eq!(
            headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("3")
        );
        let e = &body["result"]["structuredContent"];
        assert_eq!(e["error_type"], "overloaded", "{body}");
        assert_eq!(e["details"]["pool"], "catalog");
    }
    // Other pools are not affected, and the queue did not hold the refused calls.
    assert!(started.elapsed() < Duration::from_secs(5));
    let after = catalog_refusals(&app).await;
    assert!(after >= before + 2, "refusals counted: {before} → {after}");
    app.stop().await;
}

#[actix_web::test]
async fn a_client_that_goes_away_cancels_its_call_and_frees_the_worker() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.pools.catalog.workers = 1;
            c.pools.catalog.queue = 0;
            c.faults.delay_ms.insert("get_instance_info".into(), 20_000);
        })
        .start()
        .await
        .expect("app");
    let body =
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_instance_info"}});
    let slow = http_client()
        .post(&app.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .timeout(Duration::from_millis(500))
        .body(body.to_string())
        .send()
        .await;
    assert!(slow.is_err(), "the client gave up first");
    // The abandoned call must release the only worker promptly.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = app.call_raw("health_check", json!({})).await;
        if status == 200 {
            assert_eq!(body["result"]["structuredContent"]["status"], "healthy");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "worker still busy with a cancelled call: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[actix_web::test]
async fn long_calls_send_progress_notifications() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.server.progress_interval_ms = 200;
            c.faults.delay_ms.insert("get_instance_info".into(), 1100);
        })
        .start()
        .await
        .expect("app");
    let body = json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
        "params":{"name":"get_instance_info","_meta":{"progressToken":"tok-1"}}});
    let (status, headers, text) = app
        .post_raw(body.to_string(), &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    let messages = sse_messages(&text);
    let progress: Vec<_> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert!(progress.len() >= 3, "expected heartbeats, got {messages:?}");
    assert!(
        progress
            .iter()
            .all(|p| p["params"]["progressToken"] == "tok-1")
    );
    let values: Vec<f64> = progress
        .iter()
        .filter_map(|p| p["params"]["progress"].as_f64())
        .collect();
    assert!(
        values.windows(2).all(|w| w[1] > w[0]),
        "progress must increase: {values:?}"
    );
    let last = messages.last().expect("a result");
    assert_eq!(last["id"], 7);
    assert_eq!(
        last["result"]["structuredContent"]["counts"]["dashboards"],
        1
    );
    app.stop().await;
}

#[actix_web::test]
async fn slow_catalog_calls_do_not_block_other_pools_or_health() {
    // Saturate the catalog pool; /health and /ready keep answering.
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.pools.catalog.workers = 2;
            c.pools.catalog.queue = 4;
            c.faults.delay_ms.insert("get_instance_info".into(), 1500);
        })
        .start()
        .await
        .expect("app");
    let slow =
        futures::future::join_all((0..6).map(|_| app.call_raw("get_instance_info", json!({}))));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let (status, _) = app.get("/ready").await;
        (status, t.elapsed())
    };
    let (_, (status, took)) = futures::join!(slow, probe);
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_millis(1000),
        "readiness waited on tool calls: {took:?}"
    );
    app.stop().await;
}
