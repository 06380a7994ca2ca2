//! The chart data cache: the rows of chart queries, kept for `cache.chart_data_ttl_ms` and
//! shared by chart data, previews, screenshots and explore pages (see [`ChartDataKey`] for
//! what makes two queries' rows the same).

use std::time::Duration;

use serde_json::Value;

use crate::datasources::ResultSet;

/// The rows of chart queries, for `cache.chart_data_ttl_ms`.
pub type ChartDataCache = moka::sync::Cache<ChartDataKey, std::sync::Arc<ResultSet>>;

/// What makes a chart query's rows the same for two calls: the database and schema, the
/// statement as executed (RLS-rewritten for the caller, row-capped), the caller's RLS rules
/// on the database and the session settings sent with it (per-user settings for native
/// RLS). Two callers share rows only when all of these are equal, so rows never cross
/// callers whose row-level security differs.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ChartDataKey {
    pub(crate) database_id: i32,
    pub(crate) schema: Option<String>,
    pub(crate) executed_sql: String,
    pub(crate) cap: u64,
    /// Hash of the caller's rules (already part of `executed_sql`; kept apart so that a
    /// rule that rewrites nothing in this statement still separates callers).
    pub(crate) rules: u64,
    pub(crate) session_settings: Vec<(String, String)>,
}

/// The chart data cache `cache` configures, or none when its TTL is 0.
pub fn chart_data_cache(cache: &crate::config::CacheConfig) -> Option<ChartDataCache> {
    (cache.chart_data_ttl_ms > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(cache.chart_data_max_bytes)
            .weigher(|_, rs: &std::sync::Arc<ResultSet>| rows_weight(rs))
            .time_to_live(Duration::from_millis(cache.chart_data_ttl_ms))
            .build()
    })
}

/// Rough bytes of a result's values, for the cache's bound.
fn rows_weight(rs: &ResultSet) -> u32 {
    let values: usize = rs
        .rows
        .iter()
        .flatten()
        .map(|v| match v {
            Value::String(s) => 24 + s.len(),
            other => {
                16 + if other.is_object() || other.is_array() {
                    other.to_string().len()
                } else {
                    0
                }
            }
        })
        .sum();
    u32::try_from(values + 64 * rs.columns.len()).unwrap_or(u32::MAX)
}
