//! Prometheus metrics (metrics + metrics-exporter-prometheus).
//!
//! Names are prefixed (`mcp_`, `vizier_`) and labels bounded: tool names come only from the
//! registry (`unknown` otherwise), pools from a fixed set, never users, tokens or SQL.
//! The `metrics` facade has one process-wide recorder; it is installed once and every app
//! in the process (tests build several) renders from the same handle.

use std::collections::HashMap;
use std::sync::OnceLock;

use metrics::{Counter, Histogram};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::actors::audit::Audit;
use crate::actors::history::History;
use crate::actors::{DataSources, Db, PoolKind, ToolPools};
use crate::config::Config;

/// The two metrics every tool call records (`mcp_requests_total{tool,status}`,
/// `mcp_request_duration_seconds{tool}`), with each tool's handles made once: the
/// `counter!`/`histogram!` macros would build and hash a labelled key on every call.
/// Made on the first call, after the recorder is installed; failed calls (other statuses)
/// still take the macro path.
#[derive(Default)]
pub struct CallMetrics {
    handles: OnceLock<HashMap<&'static str, (Counter, Histogram)>>,
}

impl CallMetrics {
    /// Record one call of `tool`; `tools` are the registry's tool names (used once, to make
    /// the handles).
    pub fn record(
        &self,
        tools: impl Iterator<Item = &'static str>,
        tool: &'static str,
        status: &'static str,
        elapsed: std::time::Duration,
    ) {
        let handles = self.handles.get_or_init(|| {
            tools
                .map(|t| {
                    (
                        t,
                        (
                            metrics::counter!("mcp_requests_total", "tool" => t, "status" => "ok"),
                            metrics::histogram!("mcp_request_duration_seconds", "tool" => t),
                        ),
                    )
                })
                .collect()
        });
        let seconds = elapsed.as_secs_f64();
        match handles.get(tool) {
            Some((ok, duration)) => {
                if status == "ok" {
                    ok.increment(1);
                } else {
                    metrics::counter!("mcp_requests_total", "tool" => tool, "status" => status)
                        .increment(1);
                }
                duration.record(seconds);
            }
            None => {
                metrics::counter!("mcp_requests_total", "tool" => tool, "status" => status)
                    .increment(1);
                metrics::histogram!("mcp_request_duration_seconds", "tool" => tool).record(seconds);
            }
        }
    }
}

/// Histogram buckets of call durations: 1 ms to 60 s.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How often buffered histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's Prometheus handle, installing the recorder on first use.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("mcp_request_duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full("vizier_screenshot_render_seconds".into()),
                    DURATION_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            describe();
            // Histogram samples wait in buffers until they are folded into the buckets: at a
            // scrape, or here. Without this, a server nobody scrapes would keep every sample.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("could not install the metrics recorder: {e}"))
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    crate::actors::screenshot::describe_metrics();
    crate::limits::describe_metrics();
    describe_counter!(
        "mcp_requests_total",
        "Tool calls by tool and outcome status"
    );
    describe_histogram!(
        "mcp_request_duration_seconds",
        metrics::Unit::Seconds,
        "Tool call duration by tool"
    );
    describe_gauge!(
        "mcp_database_connections_active",
        "Metadata pool connections in use"
    );
    describe_gauge!(
        "mcp_database_connections_idle",
        "Metadata pool connections idle"
    );
    describe_gauge!(
        "mcp_memory_usage_bytes",
        metrics::Unit::Bytes,
        "Resident memory of the process"
    );
    describe_gauge!(
        "vizier_pool_in_flight",
        "Calls running or waiting per tool pool"
    );
    describe_counter!(
        "vizier_pool_refusals_total",
        "Calls refused as overloaded per tool pool (queue full, or an expected wait past \
         the call's deadline)"
    );
    describe_counter!("vizier_actor_restarts_total", "Actor restarts by actor");
    describe_counter!("vizier_tool_panics_total", "Tool panics caught per pool");
    describe_gauge!("vizier_build_info", "Build information (always 1)");
    describe_gauge!(
        "vizier_metadata_store_up",
        "1 while the metadata store gives connections, 0 while it is known down"
    );
    describe_gauge!(
        "vizier_spool_bytes",
        "Bytes of records waiting in the local spool for the metadata store, per log"
    );
    describe_gauge!(
        "vizier_spool_records",
        "Records waiting in the local spool for the metadata store, per log"
    );
    describe_gauge!(
        "vizier_spool_max_bytes",
        "Bytes the local spool holds at most, per log (spool.max_bytes)"
    );
    describe_counter!(
        "vizier_audit_spooled_total",
        "Audit records written to the local spool while the metadata store could not take them"
    );
    describe_counter!(
        "vizier_history_spooled_total",
        "Query history records written to the local spool while the metadata store could not take them"
    );
    describe_gauge!(
        "vizier_pool_queue_depth",
        "Calls waiting for a worker (mailbox depth) per tool pool"
    );
    describe_counter!(
        "vizier_cache_hits_total",
        "Tool results served from the response cache"
    );
    describe_counter!(
        "vizier_cache_misses_total",
        "Cacheable tool calls that missed the response cache and computed the answer"
    );
    describe_counter!(
        "vizier_cache_coalesced_total",
        "Cacheable tool calls that missed the response cache and waited for the same call already running"
    );
    describe_counter!(
        "vizier_chart_data_waits_total",
        "Chart queries that missed the chart data cache while the same query ran for another call, and waited for its rows"
    );
    describe_counter!(
        "vizier_catalog_index_calls_total",
        "Catalog calls (list_charts, list_dashboards, list_datasets, get_chart_info) by where they were answered: the in-memory catalog index or the store"
    );
    describe_histogram!(
        "vizier_catalog_index_load_seconds",
        metrics::Unit::Seconds,
        "Time to load the in-memory catalog index from the store (at the first call and after each catalog change)"
    );
    describe_gauge!(
        "vizier_catalog_index_rows",
        "Charts, dashboards and datasets (deleted ones too) in the in-memory catalog index"
    );
    describe_counter!(
        "vizier_history_written_total",
        "Query history records written"
    );
    describe_counter!(
        "vizier_history_dropped_total",
        "Query history records dropped because the buffer was full"
    );
    describe_counter!(
        "vizier_audit_written_total",
        "Audit log records (tool calls) written"
    );
    describe_counter!(
        "vizier_audit_dropped_total",
        "Audit log records dropped, by reason (buffer_full, write_failed, stopped)"
    );
    describe_counter!(
        "vizier_audit_deleted_total",
        "Audit log rows deleted by retention"
    );
    describe_counter!(
        "vizier_auth_failures_total",
        "Requests refused by authentication, by reason"
    );
    describe_counter!(
        "vizier_auth_jwt_verifications_total",
        "JWT verifications by result (ok or the refusal reason)"
    );
    describe_counter!(
        "vizier_auth_jwt_cache_hits_total",
        "JWTs accepted from the verified-token cache"
    );
    describe_counter!("vizier_auth_jwks_fetches_total", "JWKS fetches by result");
    describe_gauge!("vizier_auth_jwks_keys", "Keys in the current JWKS key set");
    describe_counter!(
        "vizier_http_refusals_total",
        "HTTP requests refused before they ran, by reason (body_timeout, connections)"
    );
    describe_counter!(
        "vizier_http_client_errors_total",
        "Client connections the HTTP server gave up on (malformed request heads, broken \
         connections), logged at debug level"
    );
}

/// Gauges sampled at scrape time.
pub async fn refresh_gauges(
    config: &Config,
    db: &Db,
    audit: &Audit,
    history: &History,
    datasources: &DataSources,
    pools: &ToolPools,
) {
    if let Some((connections, idle)) = db.pool_state().await {
        metrics::gauge!("mcp_database_connections_active", "pool" => "metadata")
            .set(f64::from(connections - idle));
        metrics::gauge!("mcp_database_connections_idle", "pool" => "metadata").set(f64::from(idle));
    }
    metrics::gauge!("vizier_metadata_store_up").set(if db.is_down() { 0.0 } else { 1.0 });
    for spool in [audit.spool(), history.spool()].into_iter().flatten() {
        spool.publish_gauges();
    }
    for (id, active, size) in datasources.states().await {
        let label = id.to_string();
        metrics::gauge!("mcp_database_connections_active", "pool" => "datasource", "database_id" => label.clone()).set(active as f64);
        metrics::gauge!("mcp_database_connections_idle", "pool" => "datasource", "database_id" => label)
            .set(f64::from(size).max(active as f64) - active as f64);
    }
    for kind in PoolKind::ALL {
        let pc = kind.config(config);
        let in_flight = pools.get(kind).in_flight();
        metrics::gauge!("vizier_pool_in_flight", "pool" => kind.as_str()).set(in_flight as f64);
        metrics::gauge!("vizier_pool_queue_depth", "pool" => kind.as_str())
            .set(in_flight.saturating_sub(pc.workers) as f64);
    }
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!("mcp_memory_usage_bytes").set(rss as f64);
    }
    metrics::gauge!("vizier_build_info", "version" => crate::VERSION).set(1.0);
}

/// Resident set size from /proc (Linux); None elsewhere.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
