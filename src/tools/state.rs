//! The state every call reaches ([`AppState`]): configuration, the actors' handles, the
//! tool registry, caches and limits. Built once per app by `app::build`; tests build several
//! per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use actix::Addr;
use chrono::{DateTime, Utc};

use super::Registry;
use crate::actors::{DataSources, Db, Supervisor, ToolPools};
use crate::auth::PrincipalCache;
use crate::config::Config;
use crate::db::secrets::Cipher;

/// Everything a call can reach. Built once per app; tests build several per process.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    /// Batches query history into the metadata store.
    pub history: crate::actors::history::History,
    /// Batches the audit log (every tool call) into the metadata store.
    pub audit: crate::actors::audit::Audit,
    pub datasources: DataSources,
    pub pools: ToolPools,
    /// Rate limits per principal and tool (in process, or shared through Redis).
    pub limiter: crate::limits::RateLimiter,
    /// Draws chart pictures on its own threads (bounded queue, dedup, cache).
    pub screenshots: crate::actors::screenshot::Screenshots,
    pub registry: Registry,
    /// Handles of the per-call request metrics.
    pub call_metrics: crate::observability::metrics::CallMetrics,
    pub principals: PrincipalCache,
    pub cipher: Cipher,
    /// Read-only catalog results by (tool, arguments, principal fingerprint).
    pub cache: Option<moka::sync::Cache<u64, Arc<crate::output::ToolOutput>>>,
    /// Cacheable calls running now, by the same key: a miss joins the running call of its
    /// key rather than computing it again (no stampede on a cold key).
    pub flights: Flights,
    /// Metadata lookups of the SQL path (visible database + connection, RLS rules) by
    /// (what, object, principal fingerprint); same TTL as `cache`, cleared with it.
    pub lookups: Option<moka::sync::Cache<u64, Arc<dyn std::any::Any + Send + Sync>>>,
    /// Rows of chart queries (`cache.chart_data_ttl_ms`); see [`super::chart_data::ChartDataKey`].
    pub chart_data: Option<super::chart_data::ChartDataCache>,
    /// The catalog in memory (`cache.catalog_index`): lists without a store round trip.
    pub catalog: Arc<crate::query::index::CatalogIndex>,
    /// Verifies JWT bearer tokens (auth on).
    pub jwt: Option<Arc<crate::auth::jwt::JwtVerifier>>,
    /// Cancelled when the app is dropped: background tasks (the JWKS refresh) end with it.
    pub(crate) background: tokio_util::sync::CancellationToken,
    /// API keys whose last use was recorded recently.
    pub api_key_touched: moka::sync::Cache<i32, ()>,
    pub started_at: Instant,
    pub started_wall: DateTime<Utc>,
    pub supervisor: Addr<Supervisor>,
    pub(crate) draining: AtomicBool,
    /// HTTP requests on /mcp being served now (graceful shutdown waits for them).
    pub in_flight: std::sync::atomic::AtomicUsize,
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.background.cancel();
    }
}

impl AppState {
    /// Whether the app is shutting down (readiness turns false).
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// The catalog snapshot at the current version (loaded if stale); `None` when the
    /// index is off.
    pub async fn catalog(
        &self,
    ) -> Result<Option<Arc<crate::query::index::Snapshot>>, crate::error::ToolError> {
        self.catalog.snapshot(|| self.db.conn()).await
    }

    /// A remembered lookup of type `T`, if still fresh.
    pub fn lookup<T: Send + Sync + 'static>(&self, key: u64) -> Option<Arc<T>> {
        self.lookups.as_ref()?.get(&key)?.downcast::<T>().ok()
    }

    /// Remember `value` under `key` (when lookups are on); the value, shared.
    pub fn remember<T: Send + Sync + 'static>(&self, key: u64, value: T) -> Arc<T> {
        let value = Arc::new(value);
        if let Some(c) = &self.lookups {
            c.insert(key, value.clone());
        }
        value
    }

    /// What authenticating a caller reads.
    pub fn auth(&self) -> crate::auth::resolve::AuthState<'_> {
        crate::auth::resolve::AuthState {
            config: &self.config,
            db: &self.db,
            jwt: &self.jwt,
            principals: &self.principals,
            api_key_touched: &self.api_key_touched,
        }
    }

    /// The configured public URL, or the bind address (links for stdio callers).
    pub fn public_base_url(&self) -> String {
        match &self.config.auth.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.config.server.bind),
        }
    }

    /// Forget every cached answer and lookup: something changed.
    pub fn invalidate_caches(&self) {
        self.catalog.changed();
        if let Some(c) = &self.cache {
            c.invalidate_all();
        }
        if let Some(c) = &self.lookups {
            c.invalidate_all();
        }
        if let Some(c) = &self.chart_data {
            c.invalidate_all();
        }
    }
}

/// The answer of a cacheable call, shared by every caller that joined it.
pub type FlightResult = Result<Arc<crate::output::ToolOutput>, crate::error::ToolError>;

/// A running cacheable call that later callers of the same key await.
pub type Flight = futures::future::Shared<futures::future::BoxFuture<'static, FlightResult>>;

/// Cacheable calls running now, by cache key (see [`AppState::flights`]).
#[derive(Default)]
pub struct Flights(std::sync::Mutex<std::collections::HashMap<u64, Flight>>);

impl Flights {
    /// The running call of `key`, or `start()` made the running call of `key`; and whether
    /// this caller joined one already running.
    pub fn join_or_start(&self, key: u64, start: impl FnOnce() -> Flight) -> (Flight, bool) {
        let Ok(mut flights) = self.0.lock() else {
            // A poisoned map only loses the sharing, never the call.
            return (start(), false);
        };
        if let Some(running) = flights.get(&key) {
            return (running.clone(), true);
        }
        let flight = start();
        flights.insert(key, flight.clone());
        (flight, false)
    }

    /// The call of `key` is over (its answer, if any, is in the cache by now).
    pub fn land(&self, key: u64) {
        if let Ok(mut flights) = self.0.lock() {
            flights.remove(&key);
        }
    }
}

/// An HTTP request being served (on /mcp or /explore): counted in
/// [`AppState::in_flight`] until dropped, so the shutdown drain waits for it.
pub struct InFlight(Arc<AppState>);

impl InFlight {
    pub fn enter(app: Arc<AppState>) -> Self {
        app.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(app)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The key of a remembered lookup.
pub fn lookup_key(what: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    what.hash(&mut h);
    h.finish()
}
