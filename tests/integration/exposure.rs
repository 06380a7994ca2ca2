//! What a server exposes and how it lists it: tool search (`tools.search`), operator
//! choices (`tools.enabled`, `tools.disabled`, `tools.read_only`), and schemas every
//! client accepts.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::*;

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[actix_web::test]
async fn search_mode_lists_entry_tools_and_reaches_every_tool() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.tools.search = true)
        .start()
        .await
        .expect("app");
    for era in [Era::Handshake("2025-11-25"), Era::Stateless] {
        let client = app.client(era).await;
        let tools = client.list_all_tools().await.expect("tools/list");
        assert_eq!(
            names(&tools),
            [
                "get_instance_info",
                "search_tools",
                "call_read_tool",
                "call_write_tool"
            ]
        );
        let bytes = serde_json::to_string(&json!({ "tools": tools }))
            .expect("json")
            .len();
        assert!(bytes <= 8_000, "search-mode listing is {bytes} bytes");
        let read = &tools[2].annotations.as_ref().expect("annotations");
        assert_eq!(read.read_only_hint, Some(true));
        let write = &tools[3].annotations.as_ref().expect("annotations");
        assert_eq!(write.read_only_hint, Some(false));
        assert_eq!(write.destructive_hint, Some(true));

        // Search answers full definitions, best first, each with its call entry.
        let found = call(
            &client,
            "search_tools",
            json!({"query": "delete a dashboard"}),
        )
        .await;
        let found = ok(&found);
        let first = &found["tools"][0];
        assert_eq!(first["name"], "delete_dashboard", "{found}");
        assert_eq!(first["call_with"], "call_write_tool");
        assert_eq!(first["annotations"]["destructiveHint"], true);
        assert!(first["input_schema"]["properties"]["identifier"].is_object());
        assert!(first["output_schema"]["properties"].is_object(), "{first}");
        let sql = call(
            &client,
            "search_tools",
            json!({"query": "run a sql query", "limit": 3}),
        )
        .await;
        let sql = ok(&sql);
        assert_eq!(sql["tools"].as_array().map(Vec::len), Some(3));
        assert!(
            sql["tools"].as_array().is_some_and(|t| t
                .iter()
                // It writes where a database allows DML.
                .any(|t| t["name"] == "execute_sql" && t["call_with"] == "call_write_tool")),
            "{sql}"
        );
        let empty = call(&client, "search_tools", json!({"query": "  "})).await;
        assert_eq!(err(&empty)["error_type"], "invalid_argument");

        // A read through the read entry is the tool's own call.
        let charts = call(
            &client,
            "call_read_tool",
            json!({"name": "list_charts", "arguments": {"page_size": 2}}),
        )
        .await;
        assert_eq!(ok(&charts)["count"], 2);
        // A write is refused through the read entry, and goes through the write entry.
        let refused = call(
            &client,
            "call_read_tool",
            json!({"name": "delete_dashboard", "arguments": {"identifier": 1}}),
        )
        .await;
        let refused = err(&refused);
        assert_eq!(refused["error_type"], "invalid_argument");
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|m| m.contains("call_write_tool")),
            "{refused}"
        );
        client.cancel().await.ok();
    }
    let client = app.client(Era::Stateless).await;
    let made = call(
        &client,
        "call_write_tool",
        json!({"name": "generate_dashboard", "arguments": {"chart_ids": [1], "dashboard_title": "Via search"}}),
    )
    .await;
    assert!(ok(&made)["id"].is_i64(), "{:?}", made.structured_content);
    // A tool's own argument errors come back as from a direct call.
    let bad = call(
        &client,
        "call_read_tool",
        json!({"name": "list_charts", "arguments": {"pgae": 2}}),
    )
    .await;
    assert_eq!(err(&bad)["details"]["suggestion"], "page");
    // Direct calls of unlisted tools still work (a client may know the names).
    ok(&call(&client, "health_check", json!({})).await);

    // The audit log names the tool an entry called; an entry call refused before it
    // reached a tool is recorded under the entry, as a failure.
    assert!(app.app.audit.drain(Duration::from_secs(10)).await);
    let log = call(
        &client,
        "call_read_tool",
        json!({"name": "list_audit_log", "arguments": {"page_size": 100}}),
    )
    .await;
    let items = ok(&log)["items"].as_array().expect("items").clone();
    let outcomes = |tool: &str| -> Vec<String> {
        items
            .iter()
            .filter(|e| e["tool"] == tool)
            .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(outcomes("generate_dashboard"), ["ok"], "{items:?}");
    assert!(outcomes("list_charts").contains(&"ok".to_string()));
    assert_eq!(
        outcomes("call_read_tool"),
        ["invalid_argument", "invalid_argument"]
    );
    assert!(outcomes("call_write_tool").is_empty());
    client.cancel().await.ok();
    app.stop().await;
}

#[actix_web::test]
async fn read_only_and_disabled_tools_are_neither_listed_nor_callable() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.tools.read_only = true;
            c.tools.disabled = vec!["admin".into(), "get_chart_sql".into()];
        })
        .start()
        .await
        .expect("app");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for t in &tools {
        let a = t.annotations.as_ref().expect("annotations");
        assert_eq!(a.read_only_hint, Some(true), "{} is listed", t.name);
    }
    let listed = names(&tools);
    assert!(listed.contains(&"execute_sql".to_string()));
    for gone in [
        "generate_dashboard",
        "get_chart_sql",
        "list_users",
        "list_audit_log",
    ] {
        assert!(!listed.contains(&gone.to_string()), "{gone} is listed");
    }
    for (tool, reason) in [
        ("delete_chart", "tools.read_only"),
        ("get_chart_sql", "tools.disabled"),
        ("list_users", "tools.disabled"),
    ] {
        let mut params = rmcp::model::CallToolRequestParams::new(tool);
        params = params.with_arguments(serde_json::Map::from_iter([(
            "identifier".to_string(),
            json!(1),
        )]));
        let e = client.call_tool(params).await.expect_err("refused");
        assert!(e.to_string().contains(reason), "{tool}: {e}");
    }
    // execute_sql stays, listed as a read, and reads only even where a database allows DML.
    let sql = tools
        .iter()
        .find(|t| t.name == "execute_sql")
        .expect("listed");
    assert_eq!(
        sql.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(true)
    );
    ok(&call(
        &client,
        "execute_sql",
        json!({"database_id": 1, "sql": "SELECT 1 AS one"}),
    )
    .await);
    client.cancel().await.ok();
    app.stop().await;
}

#[actix_web::test]
async fn enabled_groups_narrow_the_listing() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.tools.enabled = vec!["sql".into(), "health_check".into()])
        .start()
        .await
        .expect("app");
    let client = app.client(Era::Stateless).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let listed = names(&tools);
    assert!(listed.contains(&"health_check".to_string()));
    assert!(listed.contains(&"execute_sql".to_string()));
    assert!(!listed.contains(&"list_charts".to_string()), "{listed:?}");
    client.cancel().await.ok();
    app.stop().await;
}

#[test]
fn unknown_tool_names_in_the_config_refuse_to_start() {
    let config = vizier::config::ToolsConfig {
        disabled: vec!["delete_chrat".into()],
        ..Default::default()
    };
    let e = vizier::tools::Registry::configured(&config)
        .err()
        .expect("refused");
    let message = e.to_string();
    assert!(message.contains("tools.disabled"), "{message}");
    assert!(message.contains("delete_chart"), "{message}");
}

/// The listing as a strict client reads it: no bare booleans where a schema belongs, no
/// non-standard formats, at every depth of every tool (the unit test walks the registry;
/// this walks what goes over the wire).
#[actix_web::test]
async fn listed_schemas_are_portable_over_the_wire() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let client = app.client(Era::Handshake("2025-11-25")).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut problems = Vec::new();
    for t in &tools {
        let input = Value::Object(t.input_schema.as_ref().clone());
        problems.extend(
            vizier::tools::schema::problems(&input)
                .into_iter()
                .map(|p| format!("{} {p}", t.name)),
        );
        if let Some(out) = &t.output_schema {
            let out = Value::Object(out.as_ref().clone());
            problems.extend(
                vizier::tools::schema::problems(&out)
                    .into_iter()
                    .map(|p| format!("{} {p}", t.name)),
            );
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let bytes = serde_json::to_string(&json!({ "tools": tools }))
        .expect("json")
        .len();
    assert!(bytes <= 45_000, "default listing is {bytes} bytes");
    client.cancel().await.ok();
    app.stop().await;
}
