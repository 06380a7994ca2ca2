//! The chart data cache: the rows of chart queries, kept for their dataset's
//! `cache_timeout` or `cache.chart_data_ttl_ms`, and shared by chart data, previews, screenshots and explore pages (see [`ChartDataKey`] for
//! what makes two queries' rows the same).

use std::time::Duration;

use serde_json::Value;

use crate::datasources::ResultSet;

/// The rows of chart queries, each kept for its dataset's time (see [`CachedRows`]).
pub type ChartDataCache = moka::sync::Cache<ChartDataKey, CachedRows>;

/// A chart query's rows and how long they stay: the dataset's `cache_timeout`, else
/// `cache.chart_data_ttl_ms`.
#[derive(Clone, Debug)]
pub struct CachedRows {
    pub rows: std::sync::Arc<ResultSet>,
    pub ttl: Duration,
}

/// Each entry expires its own `ttl` after it was stored.
struct PerEntry;

impl moka::Expiry<ChartDataKey, CachedRows> for PerEntry {
    fn expire_after_create(
        &self,
        _key: &ChartDataKey,
        value: &CachedRows,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    /// Rows stored again under a key (after `invalidate_all`, which only marks entries)
    /// take their own time, not what was left of the old entry's.
    fn expire_after_update(
        &self,
        _key: &ChartDataKey,
        value: &CachedRows,
        _updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// How long rows of a query over a dataset with `cache_timeout` (seconds) stay cached:
/// `None` not at all (no cache, or a timeout of 0), else the dataset's time or the
/// server's default.
pub fn rows_ttl(
    cache: &crate::config::CacheConfig,
    cache_timeout: Option<i32>,
) -> Option<Duration> {
    if cache.chart_data_ttl_ms == 0 {
        return None;
    }
    match cache_timeout {
        None => Some(Duration::from_millis(cache.chart_data_ttl_ms)),
        Some(s) if s > 0 => Some(Duration::from_secs(s.unsigned_abs().into())),
        Some(_) => None,
    }
}

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
            .weigher(|_, v: &CachedRows| rows_weight(&v.rows))
            .expire_after(PerEntry)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sql: &str) -> ChartDataKey {
        ChartDataKey {
            database_id: 1,
            schema: None,
            executed_sql: sql.into(),
            cap: 10,
            rules: 0,
            session_settings: Vec::new(),
        }
    }

    #[test]
    fn each_entry_expires_after_its_own_time() {
        let config = crate::config::CacheConfig::default();
        let cache = chart_data_cache(&config).expect("on by default");
        let rows = std::sync::Arc::new(ResultSet {
            columns: Vec::new(),
            rows: Vec::new(),
            truncated: false,
            rows_affected: None,
            execution_time_ms: 0.0,
        });
        for (sql, ttl) in [("short", 100), ("long", 60_000)] {
            let ttl = Duration::from_millis(ttl);
            let rows = rows.clone();
            cache.insert(key(sql), CachedRows { rows, ttl });
        }
        assert!(cache.get(&key("short")).is_some());
        std::thread::sleep(Duration::from_millis(300));
        assert!(cache.get(&key("short")).is_none(), "expired");
        assert!(cache.get(&key("long")).is_some(), "kept");
        // Stored again after everything was dropped: the new time counts.
        cache.invalidate_all();
        let ttl = Duration::from_millis(100);
        cache.insert(key("long"), CachedRows { rows, ttl });
        std::thread::sleep(Duration::from_millis(300));
        assert!(cache.get(&key("long")).is_none(), "the new time counts");
    }

    #[test]
    fn a_datasets_timeout_replaces_the_default() {
        let mut config = crate::config::CacheConfig::default();
        let default = Duration::from_millis(config.chart_data_ttl_ms);
        assert_eq!(rows_ttl(&config, None), Some(default));
        assert_eq!(rows_ttl(&config, Some(0)), None);
        assert_eq!(rows_ttl(&config, Some(5)), Some(Duration::from_secs(5)));
        config.chart_data_ttl_ms = 0;
        assert_eq!(rows_ttl(&config, Some(5)), None, "the cache is off");
    }
}
