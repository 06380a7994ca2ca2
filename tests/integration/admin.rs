//! Admin tools for users, roles and permissions, driven the way an admin would: grants made
//! with create_role/update_user reach the user's calls and revoking them takes them away;
//! non-admins are refused; built-in roles and self-lockout are protected; names are checked
//! with suggestions. Also: every tool needs a permission, and a role without it is refused.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use vizier::auth::Permission;

use super::auth::{V, auth_on, call_body, token};
use super::support::*;
use crate::both_backends;

fn total(r: &CallToolResult) -> i64 {
    ok(r)["total_count"]
        .as_i64()
        .unwrap_or_else(|| panic!("no total_count: {:?}", r.structured_content))
}

/// Call `tool` on `app` until `done` holds for its result; fail after the principal cache
/// TTL (the longest another replica may keep old grants) plus slack.
async fn eventually(
    app: &TestApp,
    tool: &str,
    args: Value,
    what: &str,
    done: impl Fn(&CallToolResult) -> bool,
) -> CallToolResult {
    let limit = app.app.principals.ttl() + Duration::from_secs(3);
    let started = Instant::now();
    loop {
        let r = app.tool(tool, args.clone()).await;
        if done(&r) {
            return r;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; last {tool}: {:?}",
            r.structured_content
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The id of one example dataset.
async fn a_dataset(app: &TestApp) -> i64 {
    let r = app.tool("list_datasets", json!({"page_size": 1})).await;
    ok(&r)["items"][0]["id"].as_i64().expect("a dataset id")
}

async fn grants_reach_the_user_and_revoking_takes_them_away(app: &TestApp) {
    let r = app
        .tool(
            "create_user",
            json!({"username": "gwen", "roles": ["gamma"], "email": "gwen@example.com"}),
        )
        .await;
    let gwen_user = ok(&r);
    assert_eq!(gwen_user["roles"], json!(["gamma"]));
    assert_eq!(gwen_user["active"], true);
    assert_eq!(gwen_user["email"], "gwen@example.com");

    let gwen = app.replica_as("gwen").await;
    assert_eq!(total(&gwen.tool("list_datasets", json!({})).await), 0);

    let ds = a_dataset(app).await;
    let r = app
        .tool(
            "create_role",
            json!({"name": "sales_readers", "description": "Sales data",
                   "permissions": [{"permission": "dataset_access", "object_id": ds}]}),
        )
        .await;
    let role = ok(&r);
    assert_eq!(role["builtin"], false);
    assert_eq!(role["permissions"][0]["object_type"], "dataset");
    assert!(role["permissions"][0]["object_name"].is_string(), "{role}");
    let r = app
        .tool(
            "update_user",
            json!({"username": "gwen", "add_roles": ["sales_readers"]}),
        )
        .await;
    assert_eq!(ok(&r)["roles"], json!(["gamma", "sales_readers"]));
    assert!(
        ok(&r)["note"]
            .as_str()
            .is_some_and(|n| n.contains("replicas"))
    );

    // gwen's replica cached her principal on the first call: the grant arrives within the TTL.
    eventually(&gwen, "list_datasets", json!({}), "grant visible", |r| {
        total(r) == 1
    })
    .await;

    let r = app
        .tool("list_users", json!({"role": "sales_readers"}))
        .await;
    assert_eq!(total(&r), 1);
    assert_eq!(ok(&r)["items"][0]["username"], "gwen");
    let r = app.tool("list_users", json!({"search": "GWEN@"})).await;
    assert_eq!(total(&r), 1, "search is case-insensitive and covers email");
    let r = app.tool("list_roles", json!({"search": "sales"})).await;
    assert_eq!(ok(&r)["items"][0]["user_count"], 1);

    let r = app
        .tool(
            "update_role",
            json!({"name": "sales_readers",
                   "revoke": [{"permission": "dataset_access", "object_type": "dataset", "object_id": ds}]}),
        )
        .await;
    assert_eq!(ok(&r)["permissions"], json!([]));
    eventually(&gwen, "list_datasets", json!({}), "revoke visible", |r| {
        total(r) == 0
    })
    .await;

    // A role users hold is deleted only with force, which takes it from them.
    let r = app
        .tool("delete_role", json!({"name": "sales_readers"}))
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "conflict");
    assert_eq!(e["details"]["field"], "force");
    assert_eq!(e["details"]["users"], json!(["gwen"]));
    let r = app
        .tool(
            "delete_role",
            json!({"name": "sales_readers", "force": true}),
        )
        .await;
    assert_eq!(ok(&r)["users_unlinked"], json!(["gwen"]));
    let r = app.tool("list_users", json!({"search": "gwen"})).await;
    assert_eq!(ok(&r)["items"][0]["roles"], json!(["gamma"]));

    // Deactivation refuses every call of the user.
    let r = app
        .tool("update_user", json!({"username": "gwen", "active": false}))
        .await;
    assert_eq!(ok(&r)["active"], false);
    let r = app.tool("list_users", json!({"active": false})).await;
    assert_eq!(total(&r), 1);
    eventually(&gwen, "list_charts", json!({}), "deactivation", |r| {
        r.is_error == Some(true)
    })
    .await;
    gwen.stop().await;
}
both_backends!(
    grants_reach_the_user,
    grants_reach_the_user_and_revoking_takes_them_away
);

/// A tool call with a bearer token: (HTTP status, structured content).
async fn call_as(app: &TestApp, bearer: &str, tool: &str, args: Value) -> (u16, Value) {
    let auth = format!("Bearer {bearer}");
    let (status, _, text) = app
        .post_raw(call_body(tool, args), &[V, ("authorization", &auth)])
        .await;
    (
        status,
        parse_body(&text)["result"]["structuredContent"].clone(),
    )
}

#[actix_web::test]
async fn changes_apply_on_the_next_call_on_the_same_server() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(auth_on)
        .start()
        .await
        .expect("app");
    add_user(&app, "alice", "admin", &[]).await;
    let (alice, bob) = (token("alice", json!({})), token("bob", json!({})));
    let (status, body) = call_as(
        &app,
        &alice,
        "create_user",
        json!({"username": "bob", "roles": ["gamma"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = call_as(&app, &bob, "list_datasets", json!({})).await;
    assert_eq!(body["total_count"], 0, "{body}");

    let (_, body) = call_as(&app, &alice, "list_datasets", json!({"page_size": 1})).await;
    let ds = body["items"][0]["id"].clone();
    let (_, body) = call_as(
        &app,
        &alice,
        "create_role",
        json!({"name": "one_dataset", "permissions": [{"permission": "dataset_access", "object_type": "dataset", "object_id": ds}]}),
    )
    .await;
    assert_eq!(body["name"], "one_dataset", "{body}");
    call_as(
        &app,
        &alice,
        "update_user",
        json!({"username": "bob", "add_roles": ["one_dataset"]}),
    )
    .await;
    // No waiting: the change dropped bob's cached principal on this server.
    let (_, body) = call_as(&app, &bob, "list_datasets", json!({})).await;
    assert_eq!(body["total_count"], 1, "{body}");

    call_as(
        &app,
        &alice,
        "update_user",
        json!({"username": "bob", "remove_roles": ["one_dataset"]}),
    )
    .await;
    let (_, body) = call_as(&app, &bob, "list_datasets", json!({})).await;
    assert_eq!(body["total_count"], 0, "{body}");

    // Granting through the role (not the user) applies at once too.
    call_as(
        &app,
        &alice,
        "update_user",
        json!({"username": "bob", "roles": ["gamma", "one_dataset"]}),
    )
    .await;
    let (_, body) = call_as(
        &app,
        &alice,
        "update_role",
        json!({"name": "one_dataset", "revoke": [{"permission": "dataset_access", "object_id": ds}]}),
    )
    .await;
    assert_eq!(body["permissions"], json!([]), "{body}");
    let (_, body) = call_as(&app, &bob, "list_datasets", json!({})).await;
    assert_eq!(body["total_count"], 0, "{body}");

    let (_, body) = call_as(
        &app,
        &alice,
        "update_user",
        json!({"username": "bob", "active": false}),
    )
    .await;
    assert_eq!(body["active"], false, "{body}");
    let (status, _) = call_as(&app, &bob, "list_charts", json!({})).await;
    assert_eq!(status, 403, "a deactivated user is refused at once");
    app.stop().await;
}

const ADMIN_TOOLS: [&str; 10] = [
    "list_users",
    "create_user",
    "update_user",
    "list_roles",
    "create_role",
    "update_role",
    "delete_role",
    "list_permissions",
    "list_rls_rules",
    "delete_rls_rule",
];

async fn non_admins_are_refused(app: &TestApp) {
    add_user(app, "nina", "gamma", &[]).await;
    let nina = app.replica_as("nina").await;
    let client = nina.client(Era::Handshake("2025-11-25")).await;
    let visible: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for name in ADMIN_TOOLS {
        let spec = app.app.registry.get(name).expect("registered");
        assert_eq!(spec.permission, Permission::Admin, "{name}");
        assert!(!visible.iter().any(|v| v == name), "{name} is listed");
        let r = call(
            &client,
            name,
            json!({"username": "nina", "name": "x", "roles": ["admin"], "active": true}),
        )
        .await;
        let e = err(&r);
        assert_eq!(e["error_type"], "permission_denied", "{name}: {e}");
        assert_eq!(e["details"]["missing_permission"], "admin", "{name}");
    }
    client.cancel().await.ok();
    // Nothing changed: nina is still only gamma (and her own test role).
    let r = app.tool("list_users", json!({"search": "nina"})).await;
    assert_eq!(ok(&r)["items"][0]["roles"], json!(["gamma", "nina_grants"]));
    nina.stop().await;
}
both_backends!(
    non_admins_are_refused_every_admin_tool,
    non_admins_are_refused
);

async fn builtins_and_self_lockout(app: &TestApp) {
    let reason = |r: &CallToolResult| err(r)["details"]["reason"].clone();
    // Built-in roles: grants fixed, not deletable; descriptions may change.
    let r = app
        .tool(
            "update_role",
            json!({"name": "gamma", "grant": [{"permission": "catalog.write"}]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "invalid_argument");
    assert_eq!(reason(&r), "builtin_role");
    assert!(
        err(&r)["error"]
            .as_str()
            .is_some_and(|m| m.contains("built-in") && m.contains("create_role"))
    );
    let r = app
        .tool(
            "update_role",
            json!({"name": "admin", "revoke": [{"permission": "admin"}]}),
        )
        .await;
    assert_eq!(reason(&r), "builtin_role");
    let r = app.tool("delete_role", json!({"name": "alpha"})).await;
    assert_eq!(reason(&r), "builtin_role");
    let r = app.tool("list_roles", json!({"page_size": 100})).await;
    let roles = ok(&r)["items"].as_array().expect("items").clone();
    let gamma = roles.iter().find(|x| x["name"] == "gamma").expect("gamma");
    assert_eq!(gamma["builtin"], true);
    assert_eq!(
        gamma["permissions"].as_array().map(Vec::len),
        Some(2),
        "unchanged: {gamma}"
    );

    // The caller (the dev user, admin) cannot lock themselves out, by any path.
    let r = app
        .tool("update_user", json!({"username": "admin", "active": false}))
        .await;
    assert_eq!(reason(&r), "self_lockout");
    assert_eq!(err(&r)["details"]["field"], "active");
    let r = app
        .tool(
            "update_user",
            json!({"username": "admin", "roles": ["gamma"]}),
        )
        .await;
    assert_eq!(reason(&r), "self_lockout");
    assert_eq!(err(&r)["details"]["field"], "roles");
    let r = app
        .tool(
            "update_user",
            json!({"username": "admin", "remove_roles": ["admin"], "email": "a@example.com"}),
        )
        .await;
    assert_eq!(reason(&r), "self_lockout");
    // Nothing of the refused change was written.
    let r = app.tool("list_users", json!({"search": "admin"})).await;
    let me = &ok(&r)["items"][0];
    assert_eq!(me["roles"], json!(["admin"]), "{me}");
    assert_eq!(me["email"], Value::Null, "{me}");
    assert_eq!(me["active"], true);

    // Holding admin through another role makes dropping the built-in one safe ...
    let r = app
        .tool(
            "create_role",
            json!({"name": "ops", "permissions": [{"permission": "admin"}, {"permission": "system.read"}]}),
        )
        .await;
    ok(&r);
    let r = app
        .tool(
            "update_user",
            json!({"username": "admin", "add_roles": ["ops"]}),
        )
        .await;
    ok(&r);
    let r = app
        .tool(
            "update_user",
            json!({"username": "admin", "remove_roles": ["admin"]}),
        )
        .await;
    assert_eq!(ok(&r)["roles"], json!(["ops"]));
    // ... but then neither revoking admin from that role nor deleting it is allowed.
    let r = app
        .tool(
            "update_role",
            json!({"name": "ops", "revoke": [{"permission": "admin"}]}),
        )
        .await;
    assert_eq!(reason(&r), "self_lockout");
    assert_eq!(err(&r)["details"]["field"], "revoke");
    let r = app
        .tool("delete_role", json!({"name": "ops", "force": true}))
        .await;
    assert_eq!(reason(&r), "self_lockout");
    let r = app.tool("list_roles", json!({"search": "ops"})).await;
    assert_eq!(ok(&r)["items"][0]["permissions"][0]["permission"], "admin");
    // Revoking something else is fine.
    let r = app
        .tool(
            "update_role",
            json!({"name": "ops", "revoke": [{"permission": "system.read"}], "description": "Operators"}),
        )
        .await;
    assert_eq!(ok(&r)["description"], "Operators");
    let r = app
        .tool(
            "update_user",
            json!({"username": "admin", "roles": ["admin"]}),
        )
        .await;
    assert_eq!(ok(&r)["roles"], json!(["admin"]));
    let r = app.tool("delete_role", json!({"name": "ops"})).await;
    assert_eq!(ok(&r)["deleted"], true);
}
both_backends!(
    builtin_roles_and_self_lockout_are_refused,
    builtins_and_self_lockout
);

async fn names_are_checked(app: &TestApp) {
    let r = app
        .tool(
            "create_user",
            json!({"username": "hugo", "roles": ["gama"]}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["error_type"], "invalid_argument");
    assert_eq!(e["details"]["field"], "roles");
    assert_eq!(e["details"]["suggestion"], "gamma");
    let r = app.tool("list_users", json!({"search": "hugo"})).await;
    assert_eq!(total(&r), 0, "a refused create writes nothing");

    let r = app
        .tool(
            "create_user",
            json!({"username": "hugo", "roles": ["gamma"]}),
        )
        .await;
    ok(&r);
    let r = app
        .tool("create_user", json!({"username": "hugo", "roles": []}))
        .await;
    assert_eq!(err(&r)["error_type"], "conflict");
    assert_eq!(err(&r)["details"]["field"], "username");
    let r = app
        .tool("create_user", json!({"username": "two words", "roles": []}))
        .await;
    assert_eq!(err(&r)["details"]["field"], "username");

    let r = app
        .tool(
            "update_user",
            json!({"username": "hugo", "add_roles": ["sql_labb"]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "add_roles");
    assert_eq!(err(&r)["details"]["suggestion"], "sql_lab");
    let r = app
        .tool("update_user", json!({"username": "hugoo", "active": true}))
        .await;
    assert_eq!(err(&r)["error_type"], "not_found");
    let r = app
        .tool(
            "update_user",
            json!({"username": "hugo", "roles": ["gamma"], "add_roles": ["alpha"]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "roles");
    let r = app.tool("update_user", json!({"username": "hugo"})).await;
    assert!(
        err(&r)["error"]
            .as_str()
            .is_some_and(|m| m.contains("Nothing to change"))
    );

    let r = app
        .tool(
            "create_role",
            json!({"name": "r1", "permissions": [{"permission": "catalog.raed"}]}),
        )
        .await;
    let e = err(&r);
    assert_eq!(e["details"]["field"], "permissions[0].permission");
    assert_eq!(e["details"]["suggestion"], "catalog.read");
    let r = app
        .tool(
            "create_role",
            json!({"name": "r1", "permissions": [{"permission": "catalog.read"}, {"permission": "dataset_acess", "object_id": 1}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["suggestion"], "dataset_access");
    assert_eq!(err(&r)["details"]["field"], "permissions[1].permission");
    let r = app
        .tool(
            "create_role",
            json!({"name": "r1", "permissions": [{"permission": "dataset_access", "object_type": "chart", "object_id": 1}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "permissions[0].object_type");
    let r = app
        .tool(
            "create_role",
            json!({"name": "r1", "permissions": [{"permission": "dataset_access", "object_id": 99999}]}),
        )
        .await;
    assert_eq!(err(&r)["error_type"], "not_found");
    assert_eq!(err(&r)["details"]["field"], "permissions[0].object_id");
    let r = app
        .tool(
            "create_role",
            json!({"name": "r1", "permissions": [{"permission": "catalog.read", "object_type": "dataset", "object_id": 1}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "permissions[0].object_id");
    let r = app.tool("list_roles", json!({"search": "r1"})).await;
    assert_eq!(total(&r), 0, "no refused create_role wrote anything");
    let r = app
        .tool("create_role", json!({"name": "gamma", "permissions": []}))
        .await;
    assert_eq!(err(&r)["error_type"], "conflict");
    let r = app
        .tool("update_role", json!({"name": "gamam", "description": "x"}))
        .await;
    assert_eq!(err(&r)["error_type"], "not_found");
    assert_eq!(err(&r)["details"]["suggestion"], "gamma");
    let r = app
        .tool(
            "create_role",
            json!({"name": "r2", "permissions": [{"permission": "catalog.read"}]}),
        )
        .await;
    ok(&r);
    let r = app
        .tool(
            "update_role",
            json!({"name": "r2", "revoke": [{"permission": "sql.execute"}]}),
        )
        .await;
    assert_eq!(err(&r)["details"]["field"], "revoke[0]");
    let r = app.tool("list_users", json!({"role": "gamna"})).await;
    assert_eq!(err(&r)["details"]["suggestion"], "gamma");
    let r = app.tool("list_users", json!({"page_size": 101})).await;
    assert_eq!(err(&r)["details"]["field"], "page_size");

    // Every grant name is described, with its scope.
    let r = app.tool("list_permissions", json!({})).await;
    let items = ok(&r)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), Permission::ALL.len() + 3);
    for p in Permission::ALL {
        let item = items
            .iter()
            .find(|i| i["name"] == p.as_str())
            .expect("listed");
        assert_eq!(item["scope"], p.scope());
        assert!(item["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let admin = items.iter().find(|i| i["name"] == "admin").expect("admin");
    assert!(
        admin["tools"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("update_role")))
    );
}
both_backends!(unknown_names_get_suggestions, names_are_checked);

async fn rls_rules_are_listed_and_deleted(app: &TestApp) {
    let r = app
        .tool(
            "list_datasets",
            json!({"filters": [{"col": "table_name", "opr": "eq", "value": "orders"}]}),
        )
        .await;
    let orders = ok(&r)["items"][0]["id"].clone();
    let r = app
        .tool(
            "create_rls_rule",
            json!({"name": "west_only", "filter_type": "regular", "dataset_ids": [orders],
                   "roles": ["gamma"], "clause": "channel = 'online'"}),
        )
        .await;
    let id = ok(&r)["id"].clone();
    let r = app.tool("list_rls_rules", json!({"role": "gamma"})).await;
    let listed = ok(&r);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["items"][0]["roles"], json!(["gamma"]));
    assert_eq!(listed["items"][0]["datasets"][0]["id"], orders);
    assert_eq!(listed["items"][0]["clause"], "channel = 'online'");
    let r = app.tool("list_rls_rules", json!({"role": "alpha"})).await;
    assert_eq!(ok(&r)["count"], 0);
    let r = app
        .tool("delete_rls_rule", json!({"name": "west_onyl"}))
        .await;
    assert_eq!(err(&r)["error_type"], "not_found");
    let r = app.tool("delete_rls_rule", json!({"id": id})).await;
    assert_eq!(ok(&r)["name"], "west_only");
    let r = app.tool("list_rls_rules", json!({})).await;
    assert_eq!(ok(&r)["count"], 0);
}
both_backends!(rls_rules_list_and_delete, rls_rules_are_listed_and_deleted);

/// The tools a replica shows in tools/list.
async fn listed(app: &TestApp) -> BTreeSet<String> {
    let client = app.client(Era::Stateless).await;
    let tools = client
        .list_all_tools()
        .await
        .expect("tools")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    client.cancel().await.ok();
    tools
}

/// Call each of `tools` on `app` and check it is refused for lacking its permission.
async fn all_refused(app: &TestApp, tools: &[(&'static str, Permission)]) {
    let client = app.client(Era::Handshake("2025-11-25")).await;
    for (name, permission) in tools {
        let r = call(&client, name, json!({})).await;
        let e = err(&r);
        assert_eq!(e["error_type"], "permission_denied", "{name}: {e}");
        assert_eq!(
            e["details"]["missing_permission"],
            permission.as_str(),
            "{name}"
        );
    }
    client.cancel().await.ok();
}

#[actix_web::test]
async fn every_tool_is_refused_to_a_role_without_its_permission() {
    let app = TestApp::start(Backend::Sqlite).await.expect("app");
    let registry = &app.app.registry;
    let tools: Vec<(&'static str, Permission)> = registry
        .names()
        .map(|n| (n, registry.get(n).expect("registered").permission))
        .collect();
    assert!(tools.len() > 40, "{}", tools.len());

    // list_permissions accounts for every tool exactly once: each needs a permission.
    let r = app.tool("list_permissions", json!({})).await;
    let mut from_permissions: Vec<String> = ok(&r)["items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|i| i["tools"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    from_permissions.sort();
    let mut names: Vec<String> = tools.iter().map(|t| t.0.to_string()).collect();
    names.sort();
    assert_eq!(from_permissions, names);

    // No roles: nothing listed, everything refused.
    ok(&app
        .tool("create_user", json!({"username": "nobody", "roles": []}))
        .await);
    let nobody = app.replica_as("nobody").await;
    assert_eq!(listed(&nobody).await, BTreeSet::new());
    all_refused(&nobody, &tools).await;
    nobody.stop().await;

    // A role with every permission but one: exactly that permission's tools are hidden
    // and refused.
    for missing in Permission::ALL {
        let role = format!("all_but_{}", missing.as_str());
        let mut grants: Vec<Value> = Permission::ALL
            .iter()
            .filter(|p| **p != missing)
            .map(|p| json!({"permission": p.as_str()}))
            .collect();
        grants.push(json!({"permission": "all_datasource_access"}));
        ok(&app
            .tool("create_role", json!({"name": role, "permissions": grants}))
            .await);
        let user = format!("no_{}", missing.as_str());
        ok(&app
            .tool("create_user", json!({"username": user, "roles": [role]}))
            .await);
        let replica = app.replica_as(&user).await;
        let expected: BTreeSet<String> = tools
            .iter()
            .filter(|t| t.1 != missing)
            .map(|t| t.0.to_string())
            .collect();
        assert_eq!(listed(&replica).await, expected, "without {missing:?}");
        let refused: Vec<(&'static str, Permission)> =
            tools.iter().filter(|t| t.1 == missing).copied().collect();
        assert!(!refused.is_empty(), "no tool needs {missing:?}");
        all_refused(&replica, &refused).await;
        replica.stop().await;
    }
    app.stop().await;
}
