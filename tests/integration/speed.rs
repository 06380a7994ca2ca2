//! Speed that does not depend on the response cache being warm: a miss computes once per
//! key however many callers ask at the same moment.

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use super::support::*;

/// Backends waiting on a lock `conn` holds: each call that reached the locked table.
async fn waiting_on(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    // The locker asks from inside its transaction, where PostgreSQL would keep answering
    // from the statistics snapshot of the first read (`stats_fetch_consistency = cache`).
    conn.batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .expect("a fresh statistics snapshot");
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))",
    ))
    .get_result(conn)
    .await
    .expect("count the waiting backends")
}

/// With the cache on, 16 concurrent identical calls on a cold key run the query once: while
/// `databases` is locked, one backend waits on the lock (the first call's) and the other
/// calls wait for that call, not for the store; all get the same answer once the lock is
/// gone. (`list_databases`: the chart, dashboard and dataset lists are answered from the
/// in-memory catalog index and reach the store only when it reloads.)
#[actix_web::test]
async fn concurrent_misses_on_one_key_compute_once() {
    let Some(app) = TestApp::builder(Backend::Postgres)
        .config(|c| c.cache.ttl_ms = 60_000)
        .start()
        .await
    else {
        return;
    };
    // Warm what every call resolves before the list itself (the caller, its access).
    ok(&app
        .tool("list_databases", json!({"search": "warm up"}))
        .await);
    let mut locker = app.app.db.conn().await.expect("conn");
    let vizier::db::MetaConn::Pg(pg) = &mut locker else {
        panic!("a PostgreSQL store")
    };
    let pg: &mut diesel_async::AsyncPgConnection = pg;
    pg.batch_execute("BEGIN; LOCK TABLE databases IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock databases");

    const CALLS: usize = 16;
    let args = json!({"page_size": 5});
    let calls =
        futures::future::join_all((0..CALLS).map(|_| app.call_raw("list_databases", args.clone())));
    let watch = async {
        let started = Instant::now();
        while waiting_on(pg).await == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no call reached the store"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Time for every other call to arrive (and, without single-flight, to block too).
        tokio::time::sleep(Duration::from_millis(800)).await;
        let waiting = waiting_on(pg).await;
        pg.batch_execute("COMMIT").await.expect("unlock databases");
        waiting
    };
    let (results, waiting) = tokio::join!(calls, watch);
    assert_eq!(
        waiting, 1,
        "{CALLS} identical calls on a cold key reached the store {waiting} times at once"
    );
    let first = &results[0].2["result"]["structuredContent"];
    assert!(first["count"].as_i64().is_some_and(|c| c > 0), "{first}");
    for (status, _, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            &body["result"]["structuredContent"], first,
            "one answer for all"
        );
    }
    drop(locker);
    app.stop().await;
}

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(
        x: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Chart names whose case, letters beyond ASCII and LIKE wildcards a search must treat as
/// `lower(column) LIKE '%term%'` always did.
const NAMES: &[(&str, &str, &str)] = &[
    ("Ärger REVENUE", "xy", "Umlaut upper"),
    ("ärger small", "pie", "umlaut lower"),
    ("ÉTÉ sales", "xy", "accents upper"),
    ("été sales", "table", "accents lower"),
    ("50% Margin", "xy", "percent sign"),
    ("50x Margin", "xy", "no percent sign"),
    ("a_b chart", "pie", "underscore"),
    ("axb chart", "pie", "no underscore"),
    ("MiXeD CaSe", "xy", "Described In CAPITALS"),
    ("Straße", "table", "sharp s"),
    ("STRASSE", "table", "double s"),
    ("back\\slash", "xy", "a backslash"),
];

/// Ids of `principal`'s charts matching `term` (and `chart_type`) as the list path matched
/// before search was folded per backend: `lower(name|description) LIKE '%term%'`.
async fn reference_ids(
    app: &TestApp,
    visible: &std::collections::BTreeSet<i64>,
    term: &str,
    chart_type: Option<&str>,
    name_only: bool,
) -> std::collections::BTreeSet<i64> {
    use diesel::{
        BoolExpressionMethods, EscapeExpressionMethods, ExpressionMethods,
        NullableExpressionMethods, QueryDsl, TextExpressionMethods,
    };
    use vizier::db::schema::charts;
    let pattern = format!(
        "%{}%",
        vizier::query::list::escape_like(&term.trim().to_lowercase())
    );
    let mut conn = app.app.db.conn().await.expect("conn");
    let ids: Vec<i32> = vizier::with_conn!(&mut conn, |c| {
        let mut q = charts::table
            .filter(charts::deleted_on.is_null())
            .select(charts::id)
            .into_boxed();
        let in_name = lower(charts::name.nullable())
            .like(pattern.clone())
            .escape('\\');
        q = if name_only {
            q.filter(in_name)
        } else {
            q.filter(
                in_name.or(lower(charts::description.nullable())
                    .like(pattern.clone())
                    .escape('\\')),
            )
        };
        if let Some(t) = chart_type {
            q = q.filter(charts::chart_type.eq(t.to_owned()));
        }
        q.load(c).await
    })
    .expect("reference query");
    ids.into_iter()
        .map(i64::from)
        .filter(|id| visible.contains(id))
        .collect()
}

/// The ids and total a list call answers (one page holds them all here).
async fn listed(app: &TestApp, args: serde_json::Value) -> (std::collections::BTreeSet<i64>, i64) {
    let mut args = args;
    args["page_size"] = json!(100);
    args["select_columns"] = json!(["id"]);
    let r = app.tool("list_charts", args.clone()).await;
    let v = ok(&r);
    let ids = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    (ids, v["total_count"].as_i64().expect("total"))
}

/// `search` (and `ilike`) answer exactly what `lower(column) LIKE '%term%'` matched, on a
/// catalog with mixed case, letters beyond ASCII and LIKE wildcards in its names, for the
/// admin and for a gamma user who sees one dataset's charts.
async fn search_keeps_its_semantics(backend: Backend) {
    use diesel::ExpressionMethods;
    use vizier::db::schema::charts;
    let Some(app) = TestApp::builder(backend)
        .config(|c| c.cache.ttl_ms = 0)
        .start()
        .await
    else {
        return;
    };
    {
        let mut conn = app.app.db.conn().await.expect("conn");
        let at = vizier::db::models::now();
        for (i, (name, kind, description)) in NAMES.iter().enumerate() {
            // Half on the sales dataset (7), which the gamma user may see.
            let dataset = if i % 2 == 0 { 7 } else { 5 };
            vizier::with_conn!(&mut conn, |c| {
                diesel::insert_into(charts::table)
                    .values((
                        charts::uuid.eq(vizier::db::models::new_uuid()),
                        charts::name.eq(*name),
                        charts::chart_type.eq(*kind),
                        charts::dataset_id.eq(dataset),
                        charts::config.eq("{}"),
                        charts::description.eq(*description),
                        charts::created_on.eq(at),
                        charts::changed_on.eq(at),
                    ))
                    .execute(c)
                    .await
            })
            .expect("insert chart");
        }
    }
    // Written behind vizier's back: tell this replica at once rather than wait for its poll.
    app.app.invalidate_caches();
    add_user(
        &app,
        "gus_gamma",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    let gamma = app.replica_as("gus_gamma").await;
    let terms = [
        "revenue",
        "REVENUE",
        "ärger",
        "ÄRGER",
        "été",
        "ÉTÉ",
        "50%",
        "%",
        "a_b",
        "_",
        "mixed",
        "capitals",
        "straße",
        "ss",
        "back\\slash",
        "\\",
        "  margin  ",
        "sales",
        "zzz",
    ];
    for (who, client) in [("admin", &app), ("gamma", &gamma)] {
        let (visible, _) = listed(client, json!({})).await;
        assert!(!visible.is_empty(), "{who} sees charts");
        for term in terms {
            for kind in [None, Some("xy")] {
                let mut args = json!({"search": term});
                if let Some(k) = kind {
                    args["filters"] = json!([{"col": "viz_type", "opr": "eq", "value": k}]);
                }
                let (ids, total) = listed(client, args).await;
                let want = reference_ids(&app, &visible, term, kind, false).await;
                assert_eq!(ids, want, "{who}, search {term:?}, viz_type {kind:?}");
                assert_eq!(total, want.len() as i64, "{who}, search {term:?} total");
            }
        }
        // `ilike` folds the same way.
        let args = json!({"filters": [{"col": "slice_name", "opr": "ilike", "value": "%ÄRGER%"}]});
        let (ids, _) = listed(client, args).await;
        let want = reference_ids(&app, &visible, "ärger", None, true).await;
        assert_eq!(ids, want, "{who}: ilike");
    }
    gamma.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn search_keeps_its_semantics_on_sqlite() {
    search_keeps_its_semantics(Backend::Sqlite).await;
}

#[actix_web::test]
async fn search_keeps_its_semantics_on_postgres() {
    search_keeps_its_semantics(Backend::Postgres).await;
}
