//! Tenants (auth.tenants): two tenants on one server, each through every tool family —
//! catalog, SQL, history, charts and pictures, dashboards, admin (users, roles, RLS rules,
//! API keys, data sources, audit log) and the instance summary. Each sees and touches only
//! its own objects; the other's are "not found", never "forbidden". Tokens that name no
//! tenant are refused; a username names one user per tenant; tenants have their own rate
//! limits.

use serde_json::{Value, json};
use vizier::config::Config;

use super::auth::{V, auth_on, call_body, token};
use super::support::*;

/// The example catalog goes to `acme` (`vizier tenant adopt acme`); `globex` starts empty.
const ACME: &str = "acme";
const GLOBEX: &str = "globex";

fn tenants_on(c: &mut Config) {
    auth_on(c);
    c.auth.tenants = true;
    c.auth.auto_provision = true;
    c.auth.default_role = "admin".into();
    let examples = example_db();
    c.datasources.sqlite_dirs = vec![examples.parent().expect("dir").to_path_buf()];
}

/// A caller: the Authorization header of a token (or API key).
struct Caller(String);

impl Caller {
    fn token(user: &str, tenant: &str) -> Self {
        Self(format!(
            "Bearer {}",
            token(user, json!({"tenant_id": tenant}))
        ))
    }

    /// (HTTP status, the tool's structured result or error body).
    async fn call(&self, app: &TestApp, tool: &str, args: Value) -> (u16, Value) {
        let (status, _, text) = app
            .post_raw(call_body(tool, args), &[V, ("authorization", &self.0)])
            .await;
        let body = parse_body(&text);
        let result = body["result"]["structuredContent"].clone();
        (status, if result.is_null() { body } else { result })
    }

    /// A successful call's result.
    async fn ok(&self, app: &TestApp, tool: &str, args: Value) -> Value {
        let (status, v) = self.call(app, tool, args.clone()).await;
        assert_eq!(status, 200, "{tool} {args}: {v}");
        assert!(v.get("error_type").is_none(), "{tool} {args} failed: {v}");
        v
    }

    /// A call refused as if the object did not exist.
    async fn not_found(&self, app: &TestApp, tool: &str, args: Value) {
        let (_, v) = self.call(app, tool, args.clone()).await;
        assert_eq!(v["error_type"], "not_found", "{tool} {args}: {v}");
    }
}

async fn isolation(backend: Backend) {
    let Some(app) = TestApp::builder(backend).config(tenants_on).start().await else {
        return;
    };
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::db::models::adopt(&mut conn, ACME)
        .await
        .expect("adopt");
    drop(conn);
    let acme = Caller::token("ann", ACME);
    let globex = Caller::token("gus", GLOBEX);

    // Each tenant's admin registers what it works with; globex gets its own database on
    // the same example file.
    let url = format!("sqlite://{}", example_db().display());
    let g_db = globex
        .ok(
            &app,
            "register_database",
            json!({"database_name": "globex-retail", "url": url}),
        )
        .await["id"]
        .clone();
    let g_ds = globex
        .ok(
            &app,
            "create_dataset",
            json!({"database_id": g_db, "table_name": "orders"}),
        )
        .await["id"]
        .clone();
    let chart = json!({"chart_type": "table", "group_by": ["channel"],
        "metrics": [{"column": "order_id", "aggregate": "COUNT", "label": "orders"}]});
    let g_chart = globex
        .ok(
            &app,
            "generate_chart",
            json!({"dataset_id": g_ds, "config": chart, "save_chart": true, "name": "Globex orders", "preview_formats": ["ascii"]}),
        )
        .await["chart"]["id"]
        .clone();
    let g_dash = globex
        .ok(
            &app,
            "generate_dashboard",
            json!({"chart_ids": [g_chart], "dashboard_title": "Globex board"}),
        )
        .await["id"]
        .clone();
    let g_saved = globex
        .ok(
            &app,
            "save_sql_query",
            json!({"database_id": g_db, "label": "globex orders", "sql": "SELECT COUNT(*) FROM orders"}),
        )
        .await["id"]
        .clone();
    globex
        .ok(
            &app,
            "execute_sql",
            json!({"database_id": g_db, "sql": "SELECT 'globex-run' AS marker"}),
        )
        .await;

    // acme's objects: the example catalog.
    let a_charts = acme
        .ok(&app, "list_charts", json!({"page_size": 100}))
        .await;
    assert_eq!(a_charts["total_count"], 7, "{a_charts}");
    let a_chart = a_charts["items"][0]["id"].clone();
    let a_ds = acme.ok(&app, "list_datasets", json!({})).await["items"][0]["id"].clone();
    let a_db = acme.ok(&app, "list_databases", json!({})).await["items"][0]["id"].clone();
    let a_dash = acme.ok(&app, "list_dashboards", json!({})).await["items"][0]["id"].clone();
    acme.ok(
        &app,
        "execute_sql",
        json!({"database_id": a_db, "sql": "SELECT 'acme-run' AS marker"}),
    )
    .await;

    // Catalog lists: each sees its own only.
    for (caller, charts, dashboards, datasets, databases) in
        [(&acme, 7, 1, None, 1), (&globex, 1, 1, Some(1), 1)]
    {
        let c = caller.ok(&app, "list_charts", json!({})).await;
        assert_eq!(c["total_count"], charts, "{c}");
        let d = caller.ok(&app, "list_dashboards", json!({})).await;
        assert_eq!(d["total_count"], dashboards, "{d}");
        let s = caller.ok(&app, "list_datasets", json!({})).await;
        if let Some(n) = datasets {
            assert_eq!(s["total_count"], n, "{s}");
        }
        let b = caller.ok(&app, "list_databases", json!({})).await;
        assert_eq!(b["total_count"], databases, "{b}");
    }
    let g_list = globex.ok(&app, "list_charts", json!({})).await;
    assert_eq!(g_list["items"][0]["id"], g_chart);

    // Reads of the other tenant's objects: not found, in both directions.
    for (caller, chart, ds, db, dash) in [
        (&globex, &a_chart, &a_ds, &a_db, &a_dash),
        (&acme, &g_chart, &g_ds, &g_db, &g_dash),
    ] {
        caller
            .not_found(&app, "get_chart_info", json!({"identifier": chart}))
            .await;
        caller
            .not_found(&app, "get_dataset_info", json!({"identifier": ds}))
            .await;
        caller
            .not_found(&app, "get_database_info", json!({"identifier": db}))
            .await;
        caller
            .not_found(&app, "get_dashboard_info", json!({"identifier": dash}))
            .await;
        caller
            .not_found(
                &app,
                "execute_sql",
                json!({"database_id": db, "sql": "SELECT 1"}),
            )
            .await;
        caller
            .not_found(
                &app,
                "query_dataset",
                json!({"dataset_id": ds, "columns": ["channel"], "row_limit": 1}),
            )
            .await;
        caller
            .not_found(
                &app,
                "get_chart_preview",
                json!({"identifier": chart, "format": "png"}),
            )
            .await;
        caller
            .not_found(&app, "get_chart_data", json!({"identifier": chart}))
            .await;
        caller
            .not_found(&app, "get_chart_sql", json!({"identifier": chart}))
            .await;
        caller
            .not_found(
                &app,
                "generate_chart",
                json!({"dataset_id": ds, "config": chart_config()}),
            )
            .await;
        caller
            .not_found(
                &app,
                "get_dashboard_screenshot",
                json!({"identifier": dash}),
            )
            .await;
        caller
            .not_found(&app, "delete_chart", json!({"identifier": chart}))
            .await;
        caller
            .not_found(&app, "delete_dashboard", json!({"identifier": dash}))
            .await;
    }
    // Writes across: a chart of the other tenant cannot be put on one's own dashboard.
    globex
        .not_found(
            &app,
            "add_chart_to_existing_dashboard",
            json!({"dashboard_id": g_dash, "chart_id": a_chart}),
        )
        .await;
    globex
        .not_found(&app, "generate_dashboard", json!({"chart_ids": [a_chart]}))
        .await;
    // A slug lookup does not cross either.
    globex
        .not_found(
            &app,
            "get_dashboard_info",
            json!({"identifier": "retail-overview"}),
        )
        .await;

    // History and saved queries. History is written in batches: wait until each tenant's
    // own run shows, then check the other's never does.
    let (mut a_runs, mut g_runs) = (Value::Null, Value::Null);
    for _ in 0..100 {
        a_runs = acme
            .ok(&app, "list_queries", json!({"page_size": 100}))
            .await;
        g_runs = globex
            .ok(&app, "list_queries", json!({"page_size": 100}))
            .await;
        if a_runs.to_string().contains("acme-run") && g_runs.to_string().contains("globex-run") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(a_runs.to_string().contains("acme-run"), "{a_runs}");
    assert!(!a_runs.to_string().contains("globex-run"), "{a_runs}");
    assert!(g_runs.to_string().contains("globex-run"), "{g_runs}");
    assert!(!g_runs.to_string().contains("acme-run"), "{g_runs}");
    let g_run_id = g_runs["items"][0]["id"].clone();
    acme.not_found(&app, "get_query_info", json!({"identifier": g_run_id}))
        .await;
    let a_saved = acme.ok(&app, "list_saved_queries", json!({})).await;
    assert_eq!(a_saved["total_count"], 0, "{a_saved}");
    acme.not_found(&app, "get_saved_query_info", json!({"identifier": g_saved}))
        .await;
    acme.not_found(
        &app,
        "save_sql_query",
        json!({"database_id": g_db, "label": "x", "sql": "SELECT 1"}),
    )
    .await;

    // Admin: users, roles, RLS rules, API keys.
    globex
        .ok(
            &app,
            "create_user",
            json!({"username": "gina", "roles": ["gamma"]}),
        )
        .await;
    let g_users = globex.ok(&app, "list_users", json!({})).await;
    let names = g_users.to_string();
    assert!(names.contains("gina") && names.contains("gus"), "{names}");
    assert!(!names.contains("ann"), "{names}");
    let a_users = acme.ok(&app, "list_users", json!({})).await.to_string();
    assert!(
        !a_users.contains("gina") && !a_users.contains("gus"),
        "{a_users}"
    );
    acme.not_found(
        &app,
        "update_user",
        json!({"username": "gina", "active": false}),
    )
    .await;
    globex
        .ok(
            &app,
            "create_role",
            json!({"name": "globex_readers", "permissions": [{"permission": "dataset_access", "object_id": g_ds}]}),
        )
        .await;
    let (_, refused) = globex
        .call(
            &app,
            "create_role",
            json!({"name": "sneaky", "permissions": [{"permission": "dataset_access", "object_id": a_ds}]}),
        )
        .await;
    assert_eq!(refused["error_type"], "not_found", "{refused}");
    let a_roles = acme
        .ok(&app, "list_roles", json!({"page_size": 100}))
        .await
        .to_string();
    assert!(!a_roles.contains("globex_readers"), "{a_roles}");
    acme.not_found(
        &app,
        "update_role",
        json!({"name": "globex_readers", "description": "mine now"}),
    )
    .await;
    let (_, shared) = globex
        .call(
            &app,
            "update_role",
            json!({"name": "gamma", "description": "changed by one tenant"}),
        )
        .await;
    assert_eq!(shared["error_type"], "permission_denied", "{shared}");
    acme.not_found(
        &app,
        "update_user",
        json!({"username": "gina", "add_roles": ["globex_readers"]}),
    )
    .await;
    acme.not_found(
        &app,
        "create_rls_rule",
        json!({"name": "peek", "filter_type": "regular",
        "dataset_ids": [g_ds], "roles": ["gamma"], "clause": "1 = 1"}),
    )
    .await;
    globex
        .ok(
            &app,
            "create_rls_rule",
            json!({"name": "online only", "filter_type": "regular",
            "dataset_ids": [g_ds], "roles": ["globex_readers"], "clause": "channel = 'online'"}),
        )
        .await;
    let a_rules = acme.ok(&app, "list_rls_rules", json!({})).await;
    assert!(!a_rules.to_string().contains("online only"), "{a_rules}");
    acme.not_found(&app, "delete_rls_rule", json!({"name": "online only"}))
        .await;
    let key = globex
        .ok(
            &app,
            "create_api_key",
            json!({"username": "gina", "name": "export"}),
        )
        .await;
    acme.not_found(
        &app,
        "create_api_key",
        json!({"username": "gina", "name": "stolen"}),
    )
    .await;
    let a_keys = acme.ok(&app, "list_api_keys", json!({})).await;
    assert_eq!(a_keys["count"], 0, "{a_keys}");
    acme.not_found(&app, "revoke_api_key", json!({"id": key["id"]}))
        .await;
    // The key acts as gina, in globex: her gamma role opens nothing yet, and acme's
    // charts do not exist for her.
    let gina = Caller(format!("Bearer {}", key["api_key"].as_str().expect("key")));
    let mine = gina.ok(&app, "list_charts", json!({})).await;
    assert_eq!(mine["total_count"], 0, "{mine}");
    gina.not_found(&app, "get_chart_info", json!({"identifier": a_chart}))
        .await;

    // The instance summary counts one's own tenant.
    let info = globex.ok(&app, "get_instance_info", json!({})).await;
    assert_eq!(info["counts"]["charts"], 1, "{info}");
    assert_eq!(info["counts"]["databases"], 1, "{info}");
    assert_eq!(info["counts"]["users"], 2, "{info}");
    let recent = info["recent_activity"].to_string();
    assert!(!recent.contains("Retail overview"), "{recent}");

    // The audit log: each tenant's admin reads its own calls only.
    assert!(
        app.app
            .audit
            .drain(std::time::Duration::from_secs(10))
            .await,
        "audit drained"
    );
    let log = acme
        .ok(&app, "list_audit_log", json!({"page_size": 100}))
        .await;
    let rows = log["items"].as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty(), "{log}");
    assert!(rows.iter().all(|r| r["tenant"] == ACME), "{log}");
    assert!(!log.to_string().contains("\"gus\""), "{log}");

    // Tokens: none, or another tenant than the user's, are refused with the reason.
    let (status, _, text) = app
        .post_raw(
            call_body("list_charts", json!({})),
            &[
                V,
                (
                    "authorization",
                    &format!("Bearer {}", token("ann", json!({}))),
                ),
            ],
        )
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("tenant_id"), "{text}");
    // Usernames are unique per tenant: "ann" of globex is another user than acme's (here
    // provisioned on first sight), sees globex's objects only, and nothing tells her of acme.
    let globex_ann = Caller::token("ann", GLOBEX);
    let (status, v) = globex_ann.call(&app, "list_charts", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["total_count"], 1, "{v}");
    assert!(!v.to_string().contains("acme"), "{v}");
    app.stop().await;
}

fn chart_config() -> Value {
    json!({"chart_type": "table", "group_by": ["channel"],
        "metrics": [{"column": "order_id", "aggregate": "COUNT", "label": "n"}]})
}

#[actix_web::test]
async fn two_tenants_see_only_their_own_objects_on_sqlite() {
    isolation(Backend::Sqlite).await;
}

#[actix_web::test]
async fn two_tenants_see_only_their_own_objects_on_postgres() {
    isolation(Backend::Postgres).await;
}

#[actix_web::test]
async fn a_tenant_has_its_own_rate_limit() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            tenants_on(c);
            c.rate_limits.enabled = true;
            c.rate_limits.per_minute = 1000;
            c.rate_limits.tools.clear();
            c.rate_limits.tenants.insert("small".into(), 3);
            c.rate_limits.burst = Some(3);
        })
        .start()
        .await
        .expect("app");
    // Two users of the small tenant share its allowance of 3 calls.
    let (a, b) = (Caller::token("s1", "small"), Caller::token("s2", "small"));
    for caller in [&a, &b, &a] {
        caller.ok(&app, "health_check", json!({})).await;
    }
    let (status, v) = b.call(&app, "health_check", json!({})).await;
    assert_eq!(status, 429, "{v}");
    // Another tenant is not held back by it.
    Caller::token("o1", "other")
        .ok(&app, "health_check", json!({}))
        .await;
    app.stop().await;
}

/// A call refused as a clash within the caller's tenant: `conflict` naming `field`.
async fn clash(caller: &Caller, app: &TestApp, tool: &str, args: Value, field: &str) -> Value {
    let (_, v) = caller.call(app, tool, args.clone()).await;
    assert_eq!(v["error_type"], "conflict", "{tool} {args}: {v}");
    assert_eq!(v["details"]["field"], field, "{tool} {args}: {v}");
    v
}

/// Database names, dashboard slugs, role names and RLS rule names are unique per tenant: another
/// tenant may use the same name, a clash within one tenant is a `conflict` naming the
/// field, and neither a message nor a slug suggestion tells of the other tenant's objects.
async fn names_per_tenant(backend: Backend) {
    let Some(app) = TestApp::builder(backend).config(tenants_on).start().await else {
        return;
    };
    let acme = Caller::token("ann", ACME);
    let globex = Caller::token("gus", GLOBEX);
    let url = format!("sqlite://{}", example_db().display());

    // Database names: globex registers "examples", the name of the unowned example
    // database; adopting that into globex is refused (nothing adopted), into acme it is not.
    let g_db = globex
        .ok(
            &app,
            "register_database",
            json!({"database_name": "examples", "url": url}),
        )
        .await["id"]
        .clone();
    let mut conn = app.app.db.conn().await.expect("conn");
    let refused = vizier::db::models::adopt(&mut conn, GLOBEX)
        .await
        .expect_err("a clash");
    assert_eq!(refused.error_type(), "conflict", "{refused}");
    assert!(refused.to_string().contains("a database"), "{refused}");
    vizier::db::models::adopt(&mut conn, ACME)
        .await
        .expect("adopt");
    drop(conn);
    let a_db = acme.ok(&app, "list_databases", json!({})).await["items"][0].clone();
    assert_eq!(a_db["database_name"], "examples", "{a_db}");
    assert_ne!(g_db, a_db["id"]);
    for caller in [&acme, &globex] {
        let v = clash(
            caller,
            &app,
            "register_database",
            json!({"database_name": "examples", "url": url}),
            "database_name",
        )
        .await;
        assert!(!v.to_string().contains("tenant"), "{v}");
    }
    for (caller, id) in [(&acme, &a_db["id"]), (&globex, &g_db)] {
        let dbs = caller.ok(&app, "list_databases", json!({})).await;
        assert_eq!(dbs["total_count"], 1, "{dbs}");
        assert_eq!(dbs["items"][0]["id"], *id, "{dbs}");
    }

    // Dashboard slugs: acme has "retail-overview". globex gets the same slug, asked for
    // or made from the title, and never a suggestion that shows acme's.
    let g_ds = globex
        .ok(
            &app,
            "create_dataset",
            json!({"database_id": g_db, "table_name": "orders"}),
        )
        .await["id"]
        .clone();
    let g_chart = globex
        .ok(
            &app,
            "generate_chart",
            json!({"dataset_id": g_ds, "config": chart_config(), "save_chart": true, "name": "Orders"}),
        )
        .await["chart"]["id"]
        .clone();
    let g_dash = globex
        .ok(
            &app,
            "generate_dashboard",
            json!({"chart_ids": [g_chart], "dashboard_title": "Board", "slug": "retail-overview"}),
        )
        .await;
    assert_eq!(g_dash["slug"], "retail-overview", "{g_dash}");
    let g_auto = globex
        .ok(
            &app,
            "generate_dashboard",
            json!({"chart_ids": [g_chart], "dashboard_title": "Sales board"}),
        )
        .await;
    assert_eq!(g_auto["slug"], "sales-board", "{g_auto}");
    // acme's slugs do not show through globex's suggestions, nor globex's through acme's.
    let a_dash = acme.ok(&app, "list_dashboards", json!({})).await["items"][0].clone();
    assert_eq!(a_dash["slug"], "retail-overview", "{a_dash}");
    let a_chart = acme.ok(&app, "list_charts", json!({})).await["items"][0]["id"].clone();
    let a_sales = acme
        .ok(
            &app,
            "generate_dashboard",
            json!({"chart_ids": [a_chart], "dashboard_title": "Sales board"}),
        )
        .await;
    assert_eq!(a_sales["slug"], "sales-board", "{a_sales}");
    let v = clash(
        &globex,
        &app,
        "generate_dashboard",
        json!({"chart_ids": [g_chart], "slug": "retail-overview"}),
        "slug",
    )
    .await;
    assert_eq!(v["details"]["suggestion"], "retail-overview-2", "{v}");
    clash(
        &acme,
        &app,
        "update_dashboard",
        json!({"identifier": a_sales["id"], "slug": "retail-overview"}),
        "slug",
    )
    .await;
    // A renamed slug may take a name the other tenant uses.
    globex
        .ok(
            &app,
            "update_dashboard",
            json!({"identifier": g_auto["id"], "slug": "retail-overview-2"}),
        )
        .await;
    let dup = globex
        .ok(
            &app,
            "duplicate_dashboard",
            json!({"identifier": "retail-overview", "dashboard_title": "Retail overview"}),
        )
        .await;
    assert_eq!(dup["slug"], "retail-overview-3", "{dup}");
    // A slug finds the caller's own dashboard.
    for (caller, id) in [(&acme, &a_dash["id"]), (&globex, &g_dash["id"])] {
        let d = caller
            .ok(
                &app,
                "get_dashboard_info",
                json!({"identifier": "retail-overview"}),
            )
            .await;
        assert_eq!(d["id"], *id, "{d}");
    }

    // Role names: the same custom role name in both tenants; a clash within one, or a
    // shared (built-in) role's name, is a conflict.
    for caller in [&acme, &globex] {
        let role = json!({"name": "analysts", "permissions": []});
        caller.ok(&app, "create_role", role.clone()).await;
        let v = clash(caller, &app, "create_role", role, "name").await;
        assert!(!v.to_string().contains("tenant"), "{v}");
        clash(
            caller,
            &app,
            "create_role",
            json!({"name": "gamma", "permissions": []}),
            "name",
        )
        .await;
    }
    globex
        .ok(
            &app,
            "update_role",
            json!({"name": "analysts", "description": "globex's"}),
        )
        .await;
    let a_roles = acme
        .ok(&app, "list_roles", json!({"page_size": 100}))
        .await
        .to_string();
    assert!(
        a_roles.contains("analysts") && !a_roles.contains("globex's"),
        "{a_roles}"
    );

    // RLS rule names.
    let a_sets = acme
        .ok(&app, "list_datasets", json!({"page_size": 100}))
        .await;
    let a_ds = a_sets["items"]
        .as_array()
        .and_then(|items| items.iter().find(|d| d["kind"] == "physical"))
        .map(|d| d["id"].clone())
        .unwrap_or_else(|| panic!("no physical dataset: {a_sets}"));
    for (caller, ds) in [(&acme, &a_ds), (&globex, &g_ds)] {
        let rule = json!({"name": "online only", "filter_type": "regular",
            "dataset_ids": [ds], "roles": ["gamma"], "clause": "1 = 1"});
        caller.ok(&app, "create_rls_rule", rule.clone()).await;
        let v = clash(caller, &app, "create_rls_rule", rule, "name").await;
        assert!(!v.to_string().contains("tenant"), "{v}");
    }
    for caller in [&acme, &globex] {
        let rules = caller.ok(&app, "list_rls_rules", json!({})).await;
        assert_eq!(
            rules.to_string().matches("online only").count(),
            1,
            "{rules}"
        );
    }
    globex
        .ok(&app, "delete_rls_rule", json!({"name": "online only"}))
        .await;
    let rules = acme.ok(&app, "list_rls_rules", json!({})).await;
    assert!(rules.to_string().contains("online only"), "{rules}");
    app.stop().await;
}

#[actix_web::test]
async fn names_are_unique_per_tenant_on_sqlite() {
    names_per_tenant(Backend::Sqlite).await;
}

#[actix_web::test]
async fn names_are_unique_per_tenant_on_postgres() {
    names_per_tenant(Backend::Postgres).await;
}

/// Usernames are unique per tenant: "ann" of acme and "ann" of globex are two users with
/// their own roles, status, API keys and explore links, whichever was made first; a clash
/// within one tenant is a `conflict`, and nothing tells one tenant of the other's users.
async fn usernames_per_tenant(backend: Backend) {
    let Some(app) = TestApp::builder(backend).config(tenants_on).start().await else {
        return;
    };
    let mut conn = app.app.db.conn().await.expect("conn");
    vizier::db::models::adopt(&mut conn, ACME)
        .await
        .expect("adopt");
    drop(conn);
    // globex's ann first: a lookup that ignored the tenant would find her for acme too.
    let g_ann = Caller::token("ann", GLOBEX);
    let a_ann = Caller::token("ann", ACME);
    let ann_of = |v: &Value| -> (i64, usize) {
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let ann: Vec<&Value> = items.iter().filter(|u| u["username"] == "ann").collect();
        (
            ann.first().map_or(-1, |u| u["id"].as_i64().expect("id")),
            ann.len(),
        )
    };
    let (g_id, n) = ann_of(
        &g_ann
            .ok(&app, "list_users", json!({"page_size": 100}))
            .await,
    );
    assert_eq!(n, 1);
    let a_users = a_ann
        .ok(&app, "list_users", json!({"page_size": 100}))
        .await;
    let (a_id, n) = ann_of(&a_users);
    assert_eq!(n, 1, "{a_users}");
    assert_ne!(a_id, g_id, "one user for two tenants");
    assert!(!a_users.to_string().contains(GLOBEX), "{a_users}");
    // Each ann sees her own tenant's catalog.
    let a_charts = a_ann.ok(&app, "list_charts", json!({})).await;
    assert!(
        a_charts["total_count"].as_i64().expect("count") > 0,
        "{a_charts}"
    );
    let g_charts = g_ann.ok(&app, "list_charts", json!({})).await;
    assert_eq!(g_charts["total_count"], 0, "{g_charts}");

    // The same new username in both tenants; a second one in the same tenant clashes
    // without naming the other tenant.
    let bob = json!({"username": "bob", "roles": ["admin"]});
    a_ann.ok(&app, "create_user", bob.clone()).await;
    g_ann.ok(&app, "create_user", bob.clone()).await;
    let v = clash(&g_ann, &app, "create_user", bob, "username").await;
    assert!(!v.to_string().contains(ACME), "{v}");
    // Deactivating globex's bob leaves acme's alone.
    g_ann
        .ok(
            &app,
            "update_user",
            json!({"username": "bob", "active": false}),
        )
        .await;
    let a_bob = a_ann.ok(&app, "list_users", json!({"search": "bob"})).await;
    assert_eq!(a_bob["items"][0]["active"], true, "{a_bob}");

    // An API key acts as its own user: acme's bob, although globex's bob has the same name.
    let key = a_ann
        .ok(
            &app,
            "create_api_key",
            json!({"username": "bob", "name": "nightly"}),
        )
        .await;
    let a_key = Caller(format!("Bearer {}", key["api_key"].as_str().expect("key")));
    let via_key = a_key.ok(&app, "list_charts", json!({})).await;
    assert_eq!(via_key["total_count"], a_charts["total_count"], "{via_key}");
    let (status, v) = Caller::token("bob", GLOBEX)
        .call(&app, "list_charts", json!({}))
        .await;
    assert_eq!(status, 403, "globex's bob is deactivated: {v}");

    // An explore link runs as its maker, in the maker's tenant.
    let chart = a_charts["items"][0]["id"].clone();
    let link = a_ann
        .ok(&app, "generate_explore_link", json!({"identifier": chart}))
        .await;
    let url = link["url"].as_str().expect("url");
    let path = &url[url.find("/explore/").expect("path")..];
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[actix_web::test]
async fn usernames_are_unique_per_tenant_on_sqlite() {
    usernames_per_tenant(Backend::Sqlite).await;
}

#[actix_web::test]
async fn usernames_are_unique_per_tenant_on_postgres() {
    usernames_per_tenant(Backend::Postgres).await;
}

/// Rows of a store made before names were per tenant, with every kind of reference to the
/// four rebuilt (SQLite) or re-indexed (PostgreSQL) tables; the second database is
/// deleted so that the id counter runs ahead of the rows.
const OLD_STORE: &str = "
INSERT INTO users (uuid, username, created_on, changed_on)
    VALUES ('u1', 'owner', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO roles (uuid, name, created_on, changed_on)
    VALUES ('r1', 'readers', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO user_roles (user_id, role_id) VALUES (1, 1);
INSERT INTO databases (uuid, name, engine, connection_encrypted, created_on, changed_on, created_by_fk, tenant)
    VALUES ('d1', 'sales', 'sqlite', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 't1'),
           ('d2', 'gone', 'sqlite', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, NULL);
DELETE FROM databases WHERE uuid = 'd2';
INSERT INTO datasets (uuid, database_id, table_name, created_on, changed_on)
    VALUES ('s1', 1, 'orders', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO charts (uuid, name, chart_type, dataset_id, created_on, changed_on)
    VALUES ('c1', 'Orders', 'table', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO dashboards (uuid, title, slug, created_on, changed_on, tenant)
    VALUES ('b1', 'Board', 'board', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 't1'),
           ('b2', 'No slug', NULL, '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL);
INSERT INTO dashboard_charts (dashboard_id, chart_id) VALUES (1, 1);
INSERT INTO dashboard_owners (dashboard_id, user_id) VALUES (1, 1);
INSERT INTO rls_rules (uuid, name, filter_type, clause, created_on, changed_on, tenant)
    VALUES ('l1', 'rule', 'regular', '1 = 1', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 't1');
INSERT INTO rls_rule_roles (rls_rule_id, role_id) VALUES (1, 1);
INSERT INTO rls_rule_datasets (rls_rule_id, dataset_id) VALUES (1, 1);
INSERT INTO saved_queries (uuid, database_id, label, sql, created_on, changed_on)
    VALUES ('q1', 1, 'all', 'SELECT 1', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO query_history (uuid, database_id, sql, status, started_on)
    VALUES ('h1', 1, 'SELECT 1', 'success', '2026-01-01 00:00:00');
";

/// Tables of `OLD_STORE` and how many rows each keeps.
const OLD_ROWS: &[(&str, i64)] = &[
    ("users", 1),
    ("roles", 1),
    ("user_roles", 1),
    ("databases", 1),
    ("datasets", 1),
    ("charts", 1),
    ("dashboards", 2),
    ("dashboard_charts", 1),
    ("dashboard_owners", 1),
    ("rls_rules", 1),
    ("rls_rule_roles", 1),
    ("rls_rule_datasets", 1),
    ("saved_queries", 1),
    ("query_history", 1),
];

/// Upgrade a store of `OLD_STORE` on `$conn` (a synchronous diesel connection) from the
/// tenants migration to the newest, then check that every row and reference is kept, that
/// new ids continue after the old counter, and that the names are unique per tenant.
macro_rules! upgrade_keeps_rows {
    ($conn:expr, $conn_ty:ty, $migrations:expr, $fk_check:expr) => {{
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        use diesel_migrations::MigrationHarness;
        let conn = $conn;
        let count = |conn: &mut $conn_ty, q: &str| -> i64 {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("({q})")))
                .get_result(conn)
                .expect(q)
        };
        let pending = conn.pending_migrations($migrations).expect("pending");
        let tenants = "20261121150000";
        for m in pending
            .iter()
            .filter(|m| m.name().version().to_string().replace('-', "").as_str() <= tenants)
        {
            conn.run_migration(&**m).expect("an old migration");
        }
        SimpleConnection::batch_execute(conn, OLD_STORE).expect("old rows");
        let applied = conn.run_pending_migrations($migrations).expect("upgrade");
        assert!(!applied.is_empty(), "the upgrade applied nothing");
        for (table, n) in OLD_ROWS {
            assert_eq!(
                count(conn, &format!("SELECT COUNT(*) FROM {table}")),
                *n,
                "{table}"
            );
        }
        assert_eq!(count(conn, $fk_check), 0, "dangling references");
        // The id counter is kept: a new database does not reuse the deleted one's id.
        SimpleConnection::batch_execute(conn,
            "INSERT INTO databases (uuid, name, engine, connection_encrypted, created_on, changed_on, tenant)
                 VALUES ('d3', 'sales', 'sqlite', 'x', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2')",
        )
        .expect("the same name in another tenant");
        assert_eq!(count(conn, "SELECT COUNT(*) FROM databases WHERE id = 3"), 1);
        for clash in [
            "INSERT INTO databases (uuid, name, engine, connection_encrypted, created_on, changed_on, tenant)
                 VALUES ('d4', 'sales', 'sqlite', 'x', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2')",
            "INSERT INTO dashboards (uuid, title, slug, created_on, changed_on, tenant)
                 VALUES ('b3', 'Board', 'board', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't1')",
            "INSERT INTO rls_rules (uuid, name, filter_type, clause, created_on, changed_on, tenant)
                 VALUES ('l2', 'rule', 'base', '1 = 1', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't1')",
            "INSERT INTO roles (uuid, name, created_on, changed_on)
                 VALUES ('r2', 'readers', '2026-01-02 00:00:00', '2026-01-02 00:00:00')",
            "INSERT INTO users (uuid, username, created_on, changed_on)
                 VALUES ('u2', 'owner', '2026-01-02 00:00:00', '2026-01-02 00:00:00')",
        ] {
            assert!(SimpleConnection::batch_execute(conn, clash).is_err(), "{clash}");
        }
        SimpleConnection::batch_execute(conn,
            "INSERT INTO dashboards (uuid, title, slug, created_on, changed_on, tenant)
                 VALUES ('b4', 'Board', 'board', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2');
             INSERT INTO dashboards (uuid, title, slug, created_on, changed_on, tenant)
                 VALUES ('b5', 'Board', 'board', '2026-01-02 00:00:00', '2026-01-02 00:00:00', NULL);
             INSERT INTO dashboards (uuid, title, slug, created_on, changed_on, tenant)
                 VALUES ('b6', 'Two without', NULL, '2026-01-02 00:00:00', '2026-01-02 00:00:00', NULL);
             INSERT INTO rls_rules (uuid, name, filter_type, clause, created_on, changed_on, tenant)
                 VALUES ('l3', 'rule', 'base', '1 = 1', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2');
             INSERT INTO roles (uuid, name, created_on, changed_on, tenant)
                 VALUES ('r3', 'readers', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2');
             INSERT INTO users (uuid, username, created_on, changed_on, tenant)
                 VALUES ('u3', 'owner', '2026-01-02 00:00:00', '2026-01-02 00:00:00', 't2');",
        )
        .expect("the same names in other tenants");
    }};
}

#[test]
fn upgrading_a_sqlite_store_keeps_every_row_and_reference() {
    use diesel::Connection;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.db");
    let mut conn = diesel::SqliteConnection::establish(path.to_str().expect("path")).expect("open");
    upgrade_keeps_rows!(
        &mut conn,
        diesel::SqliteConnection,
        vizier::db::SQLITE_MIGRATIONS,
        "SELECT COUNT(*) FROM pragma_foreign_key_check"
    );
}

#[actix_web::test]
async fn upgrading_a_postgres_store_keeps_every_row_and_reference() {
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let Some(admin) = pg_admin_url() else {
        return;
    };
    let name = format!("vizier_test_{}", uuid::Uuid::new_v4().simple());
    let mut root = AsyncPgConnection::establish(&admin).await.expect("connect");
    root.batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("{admin}: no database in the URL"),
    };
    let upgraded = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .expect("connect");
        // PostgreSQL enforces references on every write; nothing can dangle.
        upgrade_keeps_rows!(
            &mut conn,
            AsyncConnectionWrapper<AsyncPgConnection>,
            vizier::db::PG_MIGRATIONS,
            "SELECT 0::bigint"
        );
    })
    .await;
    root.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    upgraded.expect("upgrade");
}

/// A token's mapped role is looked up in the token's tenant: two tenants' roles of the same
/// name keep their own grants.
#[actix_web::test]
async fn a_mapped_role_is_the_tenants_own() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            tenants_on(c);
            c.auth.default_role = "gamma".into();
            c.auth.role_mapping.insert("admins".into(), "admin".into());
            c.auth.role_mapping.insert("bi".into(), "writers".into());
        })
        .start()
        .await
        .expect("app");
    let admin = |user: &str, tenant: &str| {
        Caller(format!(
            "Bearer {}",
            token(user, json!({"tenant_id": tenant, "groups": ["admins"]}))
        ))
    };
    admin("ann", ACME)
        .ok(
            &app,
            "create_role",
            json!({"name": "writers", "permissions": []}),
        )
        .await;
    admin("gus", GLOBEX)
        .ok(
            &app,
            "create_role",
            json!({"name": "writers", "permissions": [{"permission": "catalog.write"}]}),
        )
        .await;
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    for (user, tenant, writes) in [("gil", GLOBEX, true), ("amy", ACME, false)] {
        let bi = token(user, json!({"tenant_id": tenant, "groups": ["bi"]}));
        let (status, _, text) = app
            .post_raw(list, &[V, ("authorization", &format!("Bearer {bi}"))])
            .await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            text.contains("generate_dashboard"),
            writes,
            "{user} of {tenant}: {text}"
        );
    }
    app.stop().await;
}
