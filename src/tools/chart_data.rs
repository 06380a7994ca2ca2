//! The chart data cache: the rows of chart queries, kept for their dataset's
//! `cache_timeout` or `cache.chart_data_ttl_ms`, and shared by chart data, previews, screenshots and explore pages (see [`ChartDataKey`] for
//! what makes two queries' rows the same).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::datasources::ResultSet;

/// The rows of chart queries, each kept for its dataset's time (see [`CachedRows`]), and
/// the queries running now by key: a miss while the same query runs waits for it rather
/// than running it again, so a dashboard opened by many callers at once (or two charts
/// asking for the same rows) costs the source one query.
pub struct ChartDataCache {
    rows: moka::sync::Cache<ChartDataKey, CachedRows>,
    running: Mutex<HashMap<ChartDataKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// What [`ChartDataCache::lookup`] found.
pub enum Lookup<'a> {
    /// Cached rows (maybe just stored by the call this one waited for).
    Hit(Arc<ResultSet>),
    /// Nothing cached: run the query. With a [`Turn`], this caller runs it for everyone
    /// who asks meanwhile (store the rows, then drop the turn); without one, the call it
    /// waited for failed or stored nothing, and this caller runs its own.
    Miss(Option<Turn<'a>>),
}

/// The right to run a key's query while later callers of the key wait; they are let go
/// when it is dropped (after the rows are stored, or on failure or cancellation).
pub struct Turn<'a> {
    cache: &'a ChartDataCache,
    key: ChartDataKey,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.cache.running.lock() {
            running.remove(&self.key);
        }
        // `_held` is released after this: the waiters find the rows in the cache.
    }
}

impl ChartDataCache {
    /// Cached rows of `key`, if any.
    pub fn get(&self, key: &ChartDataKey) -> Option<Arc<ResultSet>> {
        self.rows.get(key).map(|v| v.rows)
    }

    /// Keep `rows` for `ttl`.
    pub fn insert(&self, key: ChartDataKey, rows: Arc<ResultSet>, ttl: Duration) {
        self.rows.insert(key, CachedRows { rows, ttl });
    }

    /// Forget every cached result (queries running now still store theirs).
    pub fn invalidate_all(&self) {
        self.rows.invalidate_all();
    }

    /// The rows of `key`: cached, or stored by the same query running now (waited for),
    /// or a miss that this caller answers (see [`Lookup`]).
    pub async fn lookup(&self, key: &ChartDataKey) -> Lookup<'_> {
        if let Some(rows) = self.get(key) {
            return Lookup::Hit(rows);
        }
        let running = {
            let Ok(mut running) = self.running.lock() else {
                // A poisoned map only loses the sharing, never the call.
                return Lookup::Miss(None);
            };
            match running.get(key) {
                Some(gate) => gate.clone(),
                None => {
                    // Stored between the first look and now (a turn stores before it
                    // leaves the map).
                    if let Some(rows) = self.get(key) {
                        return Lookup::Hit(rows);
                    }
                    let gate = Arc::new(tokio::sync::Mutex::new(()));
                    let Ok(held) = gate.clone().try_lock_owned() else {
                        return Lookup::Miss(None);
                    };
                    running.insert(key.clone(), gate);
                    return Lookup::Miss(Some(Turn {
                        cache: self,
                        key: key.clone(),
                        _held: held,
                    }));
                }
            }
        };
        drop(running.lock().await);
        metrics::counter!("vizier_chart_data_waits_total").increment(1);
        match self.get(key) {
            Some(rows) => Lookup::Hit(rows),
            None => Lookup::Miss(None),
        }
    }
}

/// A chart query's rows and how long they stay: the dataset's `cache_timeout`, else
/// `cache.chart_data_ttl_ms`.
#[derive(Clone, Debug)]
struct CachedRows {
    rows: Arc<ResultSet>,
    ttl: Duration,
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
    (cache.chart_data_ttl_ms > 0).then(|| ChartDataCache {
        rows: moka::sync::Cache::builder()
            .max_capacity(cache.chart_data_max_bytes)
            .weigher(|_, v: &CachedRows| rows_weight(&v.rows))
            .expire_after(PerEntry)
            .build(),
        running: Mutex::default(),
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
        let rows = Arc::new(ResultSet {
            columns: Vec::new(),
            rows: Vec::new(),
            truncated: false,
            rows_affected: None,
            execution_time_ms: 0.0,
        });
        for (sql, ttl) in [("short", 100), ("long", 60_000)] {
            let ttl = Duration::from_millis(ttl);
            cache.insert(key(sql), rows.clone(), ttl);
        }
        assert!(cache.get(&key("short")).is_some());
        std::thread::sleep(Duration::from_millis(300));
        assert!(cache.get(&key("short")).is_none(), "expired");
        assert!(cache.get(&key("long")).is_some(), "kept");
        // Stored again after everything was dropped: the new time counts.
        cache.invalidate_all();
        let ttl = Duration::from_millis(100);
        cache.insert(key("long"), rows, ttl);
        std::thread::sleep(Duration::from_millis(300));
        assert!(cache.get(&key("long")).is_none(), "the new time counts");
    }

    fn empty_rows() -> Arc<ResultSet> {
        Arc::new(ResultSet {
            columns: Vec::new(),
            rows: vec![vec![Value::from(1)]],
            truncated: false,
            rows_affected: None,
            execution_time_ms: 0.0,
        })
    }

    /// A second caller of a key whose query runs waits for it: when that call fails (or
    /// is cancelled) it runs its own; when it stores rows, it gets them. Other keys never
    /// wait.
    #[tokio::test]
    async fn a_miss_while_the_same_query_runs_waits_for_its_outcome() {
        let cache = chart_data_cache(&crate::config::CacheConfig::default()).expect("on");
        let q = key("q");
        for stored in [false, true] {
            let Lookup::Miss(Some(turn)) = cache.lookup(&q).await else {
                panic!("the first miss runs the query");
            };
            let waiting = cache.lookup(&q);
            tokio::pin!(waiting);
            assert!(
                futures::poll!(waiting.as_mut()).is_pending(),
                "the second caller waits"
            );
            assert!(matches!(
                cache.lookup(&key("other")).await,
                Lookup::Miss(Some(_))
            ));
            if stored {
                cache.insert(q.clone(), empty_rows(), Duration::from_secs(60));
            }
            drop(turn);
            match waiting.await {
                Lookup::Hit(_) => assert!(stored, "rows only when the first stored them"),
                Lookup::Miss(turn) => {
                    assert!(!stored && turn.is_none(), "its own query, without a turn")
                }
            }
        }
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
