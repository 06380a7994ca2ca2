//! Panics, overload, cancellation and progress, through the real interface. Faults are
//! injected with the `[faults]` config section (loopback only).

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;

#[actix_web::test]
async fn a_panicking_tool_fails_alone_and_its_worker_restarts() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.faults.panic_tools = vec!["get_schema".into()];
            c.pools.catalog.workers = 1;
        })
        .start()
        .await
        .expect("app");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    for _ in 0..3 {
        let r = call(&client, "get_schema", json!({})).await;
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
            // With the cache on, the identical calls would be one computation (a miss
            // joins the running call of its key) and never fill the pool.
            c.cache.ttl_ms = 0;
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
    // While the pool is full, health_check (no worker needed) still answers, and tells.
    let health = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.call_raw("health_check", json!({})).await
    };
    let (results, (status, _, body)) = tokio::join!(futures::future::join_all(calls), health);
    assert_eq!(status, 200, "{body}");
    let h = &body["result"]["structuredContent"];
    assert_eq!(h["status"], "healthy", "{h}");
    let catalog = h["pools"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["pool"] == "catalog"))
        .expect("the catalog pool reported");
    assert_eq!(catalog["in_flight"], 2, "one running + one queued: {h}");
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
    // The abandoned call must release the only worker promptly (get_schema needs it;
    // health_check would answer without a worker).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = app.call_raw("get_schema", json!({})).await;
        if status == 200 {
            assert!(
                body["result"]["structuredContent"]["models"].is_array(),
                "{body}"
            );
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

/// Arguments of a quick get_chart_data call: the six example regions as a table.
async fn quick_chart(app: &TestApp) -> serde_json::Value {
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "regions"}]}),
        )
        .await;
    let regions = ok(&r)["items"][0]["id"].clone();
    json!({"dataset_id": regions, "config": {"chart_type": "table", "mode": "raw", "columns": ["name"]}})
}

/// Status, error type (if any) and when it ended, of each result: short enough to print.
fn outcomes(results: &[(u16, serde_json::Value, Duration)]) -> Vec<(u16, String, u128)> {
    results
        .iter()
        .map(|(s, b, t)| {
            let e = b["result"]["structuredContent"]["error_type"]
                .as_str()
                .unwrap_or("ok")
                .to_owned();
            (*s, e, t.as_millis())
        })
        .collect()
}

#[actix_web::test]
async fn one_deadline_covers_a_calls_wait_for_a_worker_and_its_run() {
    // One chart worker, calls of about 1 s, a deadline of 1.8 s: the first call is served;
    // the second would wait 1 s and run 1 s, the third wait 2 s: both end by the deadline
    // (when the worker reaches them it knows they cannot make it, and does not run them).
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.pools.charts.workers = 1;
            c.pools.charts.queue = 8;
            c.pools.charts.timeout_ms = 1800;
            c.faults.delay_ms.insert("get_chart_data".into(), 1000);
        })
        .start()
        .await
        .expect("app");
    let args = quick_chart(&app).await;
    let started = Instant::now();
    let calls = (0..3).map(|_| async {
        let (status, _, body) = app.call_raw("get_chart_data", args.clone()).await;
        (status, body, started.elapsed())
    });
    let results = futures::future::join_all(calls).await;
    let served = results
        .iter()
        .filter(|(s, b, _)| *s == 200 && b["result"]["isError"] != true)
        .count();
    assert_eq!(served, 1, "{:?}", outcomes(&results));
    let timed_out: Vec<_> = results
        .iter()
        .filter(|(_, b, _)| b["result"]["structuredContent"]["error_type"] == "timeout")
        .collect();
    assert_eq!(timed_out.len(), 2, "{:?}", outcomes(&results));
    for (_, body, took) in timed_out {
        let e = &body["result"]["structuredContent"];
        assert_eq!(e["details"]["pool"], "charts", "{e}");
        assert_eq!(e["details"]["limit_ms"], 1800, "{e}");
        let message = e["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("charts pool") && message.contains("1800 ms"),
            "{message}"
        );
        assert!(
            *took >= Duration::from_millis(900) && *took < Duration::from_millis(2900),
            "ended by the deadline, not later: {took:?}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_call_that_would_wait_past_its_deadline_is_refused_at_once() {
    // One chart worker, calls of a little over 1 s, a deadline of 3 s: with one call running,
    // a second fits (waits 1 s, runs 1 s); a third would end after over 3 s and is refused
    // at once with 503 + Retry-After, though the queue has room.
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.pools.charts.workers = 1;
            c.pools.charts.queue = 16;
            c.pools.charts.timeout_ms = 3000;
            c.faults.delay_ms.insert("get_chart_data".into(), 1000);
        })
        .start()
        .await
        .expect("app");
    let args = quick_chart(&app).await;
    // One call teaches the pool its run time.
    let (status, _, body) = app.call_raw("get_chart_data", args.clone()).await;
    assert_eq!(status, 200, "{body}");
    let calls = (0..5).map(|i| {
        let args = args.clone();
        let app = &app;
        async move {
            // In order: the first two are admitted before the others arrive.
            tokio::time::sleep(Duration::from_millis(100 * i)).await;
            let t = Instant::now();
            let (status, headers, body) = app.call_raw("get_chart_data", args).await;
            (status, headers, body, t.elapsed())
        }
    });
    let results = futures::future::join_all(calls).await;
    let served = results.iter().filter(|(s, _, _, _)| *s == 200).count();
    let refused: Vec<_> = results.iter().filter(|(s, _, _, _)| *s == 503).collect();
    let brief: Vec<_> = results
        .iter()
        .map(|(s, _, b, t)| {
            (
                *s,
                b["result"]["structuredContent"]["error"].clone(),
                t.as_millis(),
            )
        })
        .collect();
    assert_eq!((served, refused.len()), (2, 3), "{brief:?}");
    for (_, headers, body, took) in refused {
        assert!(
            headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|s| s >= 1),
            "{headers:?}"
        );
        let e = &body["result"]["structuredContent"];
        assert_eq!(e["error_type"], "overloaded", "{e}");
        assert_eq!(e["details"]["pool"], "charts", "{e}");
        assert!(e["details"]["expected_wait_ms"].as_u64().is_some(), "{e}");
        assert!(
            *took < Duration::from_millis(500),
            "refused at once: {took:?}"
        );
    }
    for (status, _, body, _) in &results {
        if *status == 200 {
            assert_ne!(body["result"]["isError"], true, "{body}");
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn fail_closed_rate_limits_with_redis_down_are_503_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    // The port was free a moment ago and nothing listens on it now: Redis is "down".
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.rate_limits.enabled = true;
            c.rate_limits.redis_url = format!("redis://127.0.0.1:{port}");
            c.rate_limits.redis_failure = vizier::limits::RedisFailure::Closed;
        })
        .start()
        .await
        .expect("app");
    let (status, headers, body) = app.call_raw("health_check", json!({})).await;
    assert_eq!(status, 503, "the server's fault, not the caller's: {body}");
    assert!(
        headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "{headers:?}"
    );
    let e = &body["result"]["structuredContent"];
    assert_eq!(e["error_type"], "unavailable", "{e}");
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains("rate-limit store unavailable")),
        "{e}"
    );
    app.stop().await;
}
