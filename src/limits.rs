//! Rate limits per principal, per tool and per tenant, kept in process or shared through Redis.
//!
//! What belongs here: the `[rate_limits]` config section, the [`RateLimiter`] that decides
//! whether one tool call may run, and the metrics it emits. Turning a refusal into an HTTP 429
//! with `Retry-After`, or into a tool error on stdio, is the transport's job: [`Decision`]
//! carries the text naming the limit and the time to wait.
//!
//! # Limits
//!
//! Every call of a principal is counted against up to three limits, one unit each:
//! - the principal's overall limit (`per_minute`, every tool together; scope `principal`);
//! - the principal's limit for that tool, when `tools` names it (scope `tool`);
//! - the tenant's limit, shared by all principals of the tenant, when the caller passes a
//!   tenant that `tenants` names (scope `tenant`).
//!
//! A call runs only if every applicable limit allows it, and then it is counted against all
//! of them; a refused call is counted against none, so hammering `execute_sql` past its limit
//! does not eat the principal's allowance for other tools, and a busy tenant does not spend
//! its principals' own allowances. When several limits refuse, the one with the longest wait
//! is named.
//!
//! # Algorithm
//!
//! GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp per key): a
//! limit of `n` per minute has the emission interval `T = 60 s / n` and the capacity
//! `burst × T`. Each key stores its theoretical arrival time `TAT`. A call at `now` is allowed
//! when `max(TAT, now) + T - capacity <= now`, and then `TAT` becomes `max(TAT, now) + T`;
//! otherwise the caller waits the difference. A key whose `TAT` has passed is the same as an
//! absent key, so state can be dropped once it is stale.
//!
//! `burst` (unset by default) is the largest number of calls that may come back to back under
//! any one limit: each limit's burst is `min(burst, its per-minute figure)`. Unset means a
//! limit's whole per-minute allowance may come at once (the 11th `execute_sql` call within a
//! minute is the first refused), after which calls are let through at the steady rate; over
//! any one minute a principal then makes at most about twice its per-minute figure. Set
//! `burst` lower to smooth traffic.
//!
//! # In process or in Redis
//!
//! With `redis_url` empty the state lives in this process: a map from key to `TAT` behind one
//! mutex, so checking and committing several limits is one atomic step. Stale entries are
//! dropped every [`SWEEP_EVERY_CHECKS`] checks, so memory is bounded by the keys used within
//! the last minute (plus at most three keys per check since the last sweep); no background
//! task is needed. (governor's keyed limiters were the first choice, but they count a call the
//! moment one limit allows it and have no way to look without counting, so a call refused by
//! its second or third limit would still spend the first.)
//!
//! With `redis_url` set, the same algorithm runs in one Lua script ([`GCRA_SCRIPT`], sent with
//! EVALSHA) that reads, checks and writes every key of the call atomically, so replicas share
//! the limits exactly. The script takes the time from the Redis server (`TIME`), so replicas
//! with skewed clocks agree, and sets each key to expire when its `TAT` passes. Keys are
//! `vizier:rl:p:<principal>`, `vizier:rl:t:<tool>:<principal>` and `vizier:rl:n:<tenant>`;
//! the keys of one call must live on one server (a single Redis or a primary with replicas,
//! not Redis Cluster). All replicas must be given the same limits.
//!
//! # When Redis is down
//!
//! Start never fails because Redis is unreachable: [`RateLimiter::new`] connects lazily
//! through a redis `ConnectionManager` (which keeps reconnecting in the background) and only
//! logs a warning if a first probe fails. Each call is decided on its own: a Redis call that
//! errors or takes longer than `redis_timeout_ms` applies `redis_failure`:
//! - `open` (default): the call is allowed, `vizier_rate_limit_redis_errors_total{outcome=
//!   "failed_open"}` counts it, and a warning is logged at most every [`WARN_EVERY`];
//! - `closed`: the call is refused as [`Decision::Unavailable`] (the server's fault, not the
//!   caller's: HTTP 503 with `Retry-After`, an `unavailable` tool error on stdio) with a
//!   retry after one second, counted with `outcome="failed_closed"`.
//!
//! `rediss://` URLs pass validation but need one of the redis crate's TLS features; without
//! it [`RateLimiter::new`] fails with a message naming the URL.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use metrics::{counter, describe_counter};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

/// Prefix of every key this module writes in Redis.
pub const REDIS_KEY_PREFIX: &str = "vizier:rl:";
/// What is unavailable when Redis is unreachable and `redis_failure = "closed"`.
pub const STORE_UNAVAILABLE: &str = "rate-limit store unavailable";
/// How long a caller refused by fail-closed should wait before trying again.
pub const STORE_UNAVAILABLE_RETRY: Duration = Duration::from_secs(1);
/// The in-process store drops stale keys once per this many checks.
pub const SWEEP_EVERY_CHECKS: u32 = 1024;
/// At most one "Redis unreachable" warning per this interval; the others are counted in the
/// next warning's `suppressed` field (and always in the metric).
pub const WARN_EVERY: Duration = Duration::from_millis(WARN_EVERY_MS);
const WARN_EVERY_MS: u64 = 10_000;
/// How long the start-up probe of Redis may take before start goes on without it.
const STARTUP_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Time limit of one connection attempt to Redis (TCP connect and handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest pause between reconnection attempts, so a recovered Redis is used again quickly.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);
/// The largest per-minute figure (and `burst`) accepted; the smallest is 1.
const PER_MINUTE_MAX: u32 = 1_000_000;
/// The largest `redis_timeout_ms` accepted; the smallest is 1.
const TIMEOUT_MS_MAX: u64 = 60_000;
const MINUTE_NS: u64 = 60_000_000_000;

/// GCRA over every key of one call, atomically.
///
/// KEYS: the call's keys. ARGV: for each key, its emission interval and its capacity
/// (`burst × interval`), in microseconds. Returns `{0, 0}` when the call is allowed (and every
/// key was advanced), else `{i, wait_us}` naming the 1-based key with the longest wait (and
/// nothing was written). Numbers are microseconds since the epoch, below 2^53, so exact in
/// Lua's doubles; they are written with `%.0f` because Lua's default conversion would round.
pub const GCRA_SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local next_tats = {}
local worst, worst_wait = 0, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local capacity = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local next_tat = tat + interval
  local wait = next_tat - capacity - now
  if wait > worst_wait then worst, worst_wait = i, wait end
  next_tats[i] = next_tat
end
if worst > 0 then return {worst, worst_wait} end
for i = 1, #KEYS do
  local ttl_ms = math.max(1, math.ceil((next_tats[i] - now) / 1000))
  redis.call('SET', KEYS[i], string.format('%.0f', next_tats[i]), 'PX', ttl_ms)
end
return {0, 0}
";

/// Config section `[rate_limits]`.
///
/// | key | default | environment variable |
/// |---|---|---|
/// | `enabled` | `true` | `VIZIER_RATE_LIMITS__ENABLED` |
/// | `per_minute` | `100` | `VIZIER_RATE_LIMITS__PER_MINUTE` |
/// | `burst` | unset | `VIZIER_RATE_LIMITS__BURST` |
/// | `tools` | `{ execute_sql = 10 }` | `VIZIER_RATE_LIMITS__TOOLS__<TOOL>` |
/// | `tenants` | `{}` | `VIZIER_RATE_LIMITS__TENANTS__<TENANT>` |
/// | `redis_url` | `""` | `VIZIER_RATE_LIMITS__REDIS_URL` |
/// | `redis_failure` | `"open"` | `VIZIER_RATE_LIMITS__REDIS_FAILURE` |
/// | `redis_timeout_ms` | `50` | `VIZIER_RATE_LIMITS__REDIS_TIMEOUT_MS` |
///
/// `Debug` hides the password of `redis_url`.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Off: every call is allowed and nothing is counted.
    pub enabled: bool,
    /// Calls per minute of one principal, all tools together.
    pub per_minute: u32,
    /// Most calls that may come back to back under any one limit; unset = each limit's own
    /// per-minute figure (a whole minute's allowance at once). See the module doc.
    pub burst: Option<u32>,
    /// Calls per minute of one principal to one tool, by tool name.
    pub tools: BTreeMap<String, u32>,
    /// Calls per minute of all principals of one tenant together, by tenant name.
    pub tenants: BTreeMap<String, u32>,
    /// `redis://…` or `rediss://…` to share the limits between replicas; empty = in process.
    pub redis_url: String,
    /// What a call gets when Redis errors or is slow.
    pub redis_failure: RedisFailure,
    /// A Redis call slower than this counts as Redis being down.
    pub redis_timeout_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_minute: 100,
            burst: None,
            tools: BTreeMap::from([("execute_sql".to_owned(), 10)]),
            tenants: BTreeMap::new(),
            redis_url: String::new(),
            redis_failure: RedisFailure::Open,
            redis_timeout_ms: 50,
        }
    }
}

impl fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitConfig")
            .field("enabled", &self.enabled)
            .field("per_minute", &self.per_minute)
            .field("burst", &self.burst)
            .field("tools", &self.tools)
            .field("tenants", &self.tenants)
            .field("redis_url", &redact_url(&self.redis_url))
            .field("redis_failure", &self.redis_failure)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .finish()
    }
}

impl RateLimitConfig {
    /// Checks every value; the message names the key, the value and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        per_minute_in_range("rate_limits.per_minute", self.per_minute)?;
        if let Some(burst) = self.burst {
            per_minute_in_range("rate_limits.burst", burst)?;
        }
        for (tool, &limit) in &self.tools {
            if tool.is_empty() {
                return Err("rate_limits.tools: a tool name is empty".to_owned());
            }
            // Tool names are part of Redis keys (`t:<tool>:<principal>`): no separator in them.
            if !tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(format!(
                    "rate_limits.tools.{tool}: not a tool name (letters, digits, _ - . only)"
                ));
            }
            per_minute_in_range(&format!("rate_limits.tools.{tool}"), limit)?;
        }
        for (tenant, &limit) in &self.tenants {
            if tenant.is_empty() {
                return Err("rate_limits.tenants: a tenant name is empty".to_owned());
            }
            per_minute_in_range(&format!("rate_limits.tenants.{tenant}"), limit)?;
        }
        if !self.redis_url.is_empty()
            && !self.redis_url.starts_with("redis://")
            && !self.redis_url.starts_with("rediss://")
        {
            return Err(format!(
                "rate_limits.redis_url = {}: must start with redis:// or rediss:// (or be empty for limits in process)",
                redact_url(&self.redis_url)
            ));
        }
        if !(1..=TIMEOUT_MS_MAX).contains(&self.redis_timeout_ms) {
            return Err(format!(
                "rate_limits.redis_timeout_ms: {} is out of range 1..={TIMEOUT_MS_MAX}",
                self.redis_timeout_ms
            ));
        }
        Ok(())
    }
}

fn per_minute_in_range(key: &str, value: u32) -> Result<(), String> {
    if (1..=PER_MINUTE_MAX).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{key}: {value} is out of range 1..={PER_MINUTE_MAX}"
        ))
    }
}

/// What a call gets while Redis is unreachable or slower than `redis_timeout_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisFailure {
    /// Allow the call; count it and log a warning.
    #[default]
    Open,
    /// Refuse the call as [`Decision::Unavailable`] ([`STORE_UNAVAILABLE`]).
    Closed,
}

impl RedisFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// Whether one call may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The call runs; it was counted against every applicable limit.
    Allowed,
    /// The call must not run; it was counted against no limit.
    Limited {
        /// The limit that refused, for the caller: `"execute_sql: 10 per minute"`,
        /// `"all tools: 100 per minute"` or `"tenant acme: 500 per minute"`.
        limit: String,
        /// When the same call would be allowed (always more than zero).
        retry_after: Duration,
    },
    /// The call must not run because the limits cannot be checked ([`STORE_UNAVAILABLE`],
    /// `redis_failure = "closed"`): the server's fault, not the caller's.
    Unavailable {
        /// When to try again.
        retry_after: Duration,
    },
}

impl Decision {
    /// Whether the call may run.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// The wait in whole seconds, rounded up (at least 1), for `Retry-After` and
    /// `retry_after_secs`; `None` when allowed.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Allowed => None,
            Self::Limited { retry_after, .. } | Self::Unavailable { retry_after } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
        }
    }
}

/// Why a [`RateLimiter`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// A value of `[rate_limits]` is out of range; the message names the key.
    #[error("{0}")]
    Config(String),
    /// The redis crate does not accept `redis_url` (malformed, or TLS not built in).
    #[error("rate_limits.redis_url = {url} cannot be used")]
    RedisUrl {
        /// The URL without its password.
        url: String,
        #[source]
        source: redis::RedisError,
    },
}

/// Decides whether a call may run. Cheap to clone; clones share their state.
#[derive(Clone)]
pub struct RateLimiter {
    /// `None` when rate limits are off.
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.inner.as_deref().map(|inner| &inner.store) {
            None => "disabled",
            Some(Store::Local(_)) => "in process",
            Some(Store::Redis(_)) => "redis",
        };
        f.debug_struct("RateLimiter")
            .field("backend", &backend)
            .finish()
    }
}

struct Inner {
    overall: Limit,
    tools: HashMap<String, Limit>,
    tenants: HashMap<String, Limit>,
    store: Store,
}

/// One configured limit, in the units both stores use.
struct Limit {
    scope: Scope,
    /// What a refused caller is told, e.g. "execute_sql: 10 per minute".
    label: String,
    interval: Duration,
    capacity: Duration,
}

impl Limit {
    fn new(scope: Scope, label: String, per_minute: u32, burst: Option<u32>) -> Self {
        let interval_ns = MINUTE_NS / u64::from(per_minute.max(1));
        let burst = burst.map_or(per_minute, |b| b.min(per_minute)).max(1);
        Self {
            scope,
            label,
            interval: Duration::from_nanos(interval_ns),
            capacity: Duration::from_nanos(interval_ns * u64::from(burst)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Principal,
    Tool,
    Tenant,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Tool => "tool",
            Self::Tenant => "tenant",
        }
    }
}

enum Store {
    Local(LocalStore),
    Redis(RedisStore),
}

/// A call's verdict from a store: `None` = allowed and counted, else the index of the limit
/// with the longest wait and that wait.
type Verdict = Option<(usize, Duration)>;

impl RateLimiter {
    /// Builds the limiter. Fails only on invalid config or a `redis_url` the redis crate
    /// cannot use, never because Redis is unreachable: then a warning is logged and every call
    /// applies `redis_failure` until Redis answers (the connection is retried in the
    /// background).
    pub async fn new(config: &RateLimitConfig) -> Result<Self, LimitError> {
        config.validate().map_err(LimitError::Config)?;
        if !config.enabled {
            return Ok(Self { inner: None });
        }
        let overall = Limit::new(
            Scope::Principal,
            format!("all tools: {} per minute", config.per_minute),
            config.per_minute,
            config.burst,
        );
        let tools = config
            .tools
            .iter()
            .map(|(tool, &n)| {
                let label = format!("{tool}: {n} per minute");
                (
                    tool.clone(),
                    Limit::new(Scope::Tool, label, n, config.burst),
                )
            })
            .collect();
        let tenants = config
            .tenants
            .iter()
            .map(|(tenant, &n)| {
                let label = format!("tenant {tenant}: {n} per minute");
                (
                    tenant.clone(),
                    Limit::new(Scope::Tenant, label, n, config.burst),
                )
            })
            .collect();
        let store = if config.redis_url.is_empty() {
            Store::Local(LocalStore::new())
        } else {
            Store::Redis(RedisStore::connect(config).await?)
        };
        Ok(Self {
            inner: Some(Arc::new(Inner {
                overall,
                tools,
                tenants,
                store,
            })),
        })
    }

    /// Counts one call of `principal` (an opaque stable key such as `user:42`) to `tool`
    /// (a name from the tool registry) against every applicable limit, or refuses it.
    /// `tenant` is the principal's tenant, if it has one.
    pub async fn check(&self, principal: &str, tenant: Option<&str>, tool: &str) -> Decision {
        let Some(inner) = &self.inner else {
            return Decision::Allowed;
        };
        let mut limits: Vec<(String, &Limit)> = Vec::with_capacity(3);
        if let Some(limit) = inner.tools.get(tool) {
            limits.push((format!("t:{tool}:{principal}"), limit));
        }
        limits.push((format!("p:{principal}"), &inner.overall));
        if let Some((tenant, limit)) = tenant.and_then(|t| inner.tenants.get_key_value(t)) {
            limits.push((format!("n:{tenant}"), limit));
        }
        let verdict = match &inner.store {
            Store::Local(local) => local.check(&limits),
            Store::Redis(redis) => match redis.check(&limits).await {
                Ok(verdict) => verdict,
                Err(error) => return redis.unavailable(&error),
            },
        };
        match verdict {
            None => Decision::Allowed,
            Some((index, retry_after)) => {
                let limit = limits[index].1;
                counter!(
                    "vizier_rate_limited_total",
                    "tool" => tool.to_owned(),
                    "scope" => limit.scope.as_str(),
                )
                .increment(1);
                Decision::Limited {
                    limit: limit.label.clone(),
                    retry_after,
                }
            }
        }
    }
}

/// Describes every metric this module emits (call once, next to the other descriptions).
pub fn describe_metrics() {
    describe_counter!(
        "vizier_rate_limited_total",
        "Calls refused by a rate limit, by tool and by the scope of the limit that refused \
         (principal, tool, tenant)"
    );
    describe_counter!(
        "vizier_rate_limit_redis_errors_total",
        "Rate-limit checks that found Redis unreachable or slow, by what the call got \
         (failed_open: allowed, failed_closed: refused)"
    );
}

/// GCRA state in this process: key → theoretical arrival time, in nanoseconds since `epoch`.
struct LocalStore {
    epoch: Instant,
    state: Mutex<LocalState>,
}

struct LocalState {
    tats: HashMap<String, u64>,
    checks_since_sweep: u32,
}

impl LocalStore {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            state: Mutex::new(LocalState {
                tats: HashMap::new(),
                checks_since_sweep: 0,
            }),
        }
    }

    fn check(&self, limits: &[(String, &Limit)]) -> Verdict {
        // A panic while holding the lock cannot leave a half-written decision worth
        // refusing every later call for: the map holds plain timestamps.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = duration_ns(self.epoch.elapsed());
        state.checks_since_sweep += 1;
        if state.checks_since_sweep >= SWEEP_EVERY_CHECKS {
            state.checks_since_sweep = 0;
            state.tats.retain(|_, tat| *tat > now);
        }
        let mut next_tats = [0u64; 3];
        let mut worst: Verdict = None;
        for (i, (key, limit)) in limits.iter().enumerate() {
            let tat = state.tats.get(key).copied().unwrap_or(now).max(now);
            let next_tat = tat.saturating_add(duration_ns(limit.interval));
            let allowed_at = next_tat.saturating_sub(duration_ns(limit.capacity));
            if allowed_at > now {
                let wait = Duration::from_nanos(allowed_at - now);
                if worst.is_none_or(|(_, longest)| wait > longest) {
                    worst = Some((i, wait));
                }
            }
            if let Some(slot) = next_tats.get_mut(i) {
                *slot = next_tat;
            }
        }
        if worst.is_none() {
            for ((key, _), next_tat) in limits.iter().zip(next_tats) {
                state.tats.insert(key.clone(), next_tat);
            }
        }
        worst
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// GCRA state in Redis, shared by every replica.
struct RedisStore {
    manager: ConnectionManager,
    script: redis::Script,
    timeout: Duration,
    failure: RedisFailure,
    /// The URL without its password, for logs.
    url: String,
    epoch: Instant,
    /// Milliseconds since `epoch` before which no further warning is logged.
    next_warn_ms: AtomicU64,
    /// Failures since the last warning.
    suppressed: AtomicU64,
    /// Whether the last call failed, to log once when Redis answers again.
    degraded: AtomicBool,
}

#[derive(Debug)]
enum StoreError {
    Redis(redis::RedisError),
    Timeout,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(e) => write!(f, "{e}"),
            Self::Timeout => f.write_str("no answer within rate_limits.redis_timeout_ms"),
        }
    }
}

impl RedisStore {
    async fn connect(config: &RateLimitConfig) -> Result<Self, LimitError> {
        let url = redact_url(&config.redis_url);
        let url_error = |source| LimitError::RedisUrl {
            url: url.clone(),
            source,
        };
        let client = redis::Client::open(config.redis_url.as_str()).map_err(url_error)?;
        let timeout = Duration::from_millis(config.redis_timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout))
            .set_max_delay(RECONNECT_MAX_DELAY);
        let manager =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(url_error)?;
        let store = Self {
            manager,
            script: redis::Script::new(GCRA_SCRIPT),
            timeout,
            failure: config.redis_failure,
            url,
            epoch: Instant::now(),
            next_warn_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
        };
        // Loading the script proves Redis answers and saves the first EVALSHA a round trip.
        let mut conn = store.manager.clone();
        match tokio::time::timeout(STARTUP_PROBE_TIMEOUT, store.script.load_async(&mut conn)).await
        {
            Ok(Ok(_)) => tracing::info!(redis = %store.url, "rate limits are kept in Redis"),
            Ok(Err(error)) => store.warn_at_start(&StoreError::Redis(error)),
            Err(_) => store.warn_at_start(&StoreError::Timeout),
        }
        Ok(store)
    }

    fn warn_at_start(&self, error: &StoreError) {
        self.degraded.store(true, Ordering::Relaxed);
        // This warning covers the first calls' failures too.
        self.next_warn_ms.store(WARN_EVERY_MS, Ordering::Relaxed);
        tracing::warn!(
            redis = %self.url,
            %error,
            redis_failure = self.failure.as_str(),
            "rate-limit store unreachable at start; calls fail {} until it answers",
            self.failure.as_str()
        );
    }

    async fn check(&self, limits: &[(String, &Limit)]) -> Result<Verdict, StoreError> {
        let mut invocation = self.script.prepare_invoke();
        for (key, limit) in limits {
            invocation
                .key(format!("{REDIS_KEY_PREFIX}{key}"))
                .arg(duration_us(limit.interval))
                .arg(duration_us(limit.capacity));
        }
        let mut conn = self.manager.clone();
        let (index, wait_us): (i64, i64) =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| StoreError::Timeout)?
                .map_err(StoreError::Redis)?;
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = %self.url, "rate-limit store answers again");
        }
        // The script returns a 1-based index, 0 when allowed.
        let index = usize::try_from(index).unwrap_or(0);
        Ok(match index.checked_sub(1) {
            Some(i) if i < limits.len() => {
                let wait = Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
                Some((i, wait.max(Duration::from_micros(1))))
            }
            _ => None,
        })
    }

    /// The decision for a call that found Redis unreachable or slow.
    fn unavailable(&self, error: &StoreError) -> Decision {
        self.degraded.store(true, Ordering::Relaxed);
        let outcome = match self.failure {
            RedisFailure::Open => "failed_open",
            RedisFailure::Closed => "failed_closed",
        };
        counter!("vizier_rate_limit_redis_errors_total", "outcome" => outcome).increment(1);
        let now_ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_warn_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_warn_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(WARN_EVERY_MS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            tracing::warn!(
                redis = %self.url,
                %error,
                outcome,
                suppressed = self.suppressed.swap(0, Ordering::Relaxed),
                "rate-limit store unavailable"
            );
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        match self.failure {
            RedisFailure::Open => Decision::Allowed,
            RedisFailure::Closed => Decision::Unavailable {
                retry_after: STORE_UNAVAILABLE_RETRY,
            },
        }
    }
}

/// The URL with any user name and password replaced by `***`, for logs and errors.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicUsize;

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    /// A metrics recorder for one test thread: counters by name and sorted labels.
    #[derive(Default)]
    struct TestRecorder {
        counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
        described: Mutex<Vec<String>>,
    }

    impl TestRecorder {
        fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
            let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let id = format!("{name}{{{}}}", labels.join(","));
            self.counters
                .lock()
                .unwrap()
                .get(&id)
                .map_or(0, |c| c.load(Ordering::Relaxed))
        }
    }

    impl Recorder for TestRecorder {
        fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.described.lock().unwrap().push(key.as_str().to_owned());
        }
        fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.described.lock().unwrap().push(key.as_str().to_owned());
        }
        fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.described.lock().unwrap().push(key.as_str().to_owned());
        }
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let id = format!("{}{{{}}}", key.name(), labels.join(","));
            let counter = self.counters.lock().unwrap().entry(id).or_default().clone();
            Counter::from_arc(counter)
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    /// Names no other test or earlier run uses, so Redis keys left by a run (they live up to
    /// a minute) never meet another test.
    fn unique(name: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("test-{}-{nanos}-{n}:{name}", std::process::id())
    }

    /// The test Redis: `TEST_REDIS_URL`, else the standard local port. These tests fail, not
    /// skip, when it does not answer.
    fn test_redis_url() -> String {
        std::env::var("TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
    }

    async fn assert_redis_answers(url: &str) {
        let client = redis::Client::open(url).unwrap();
        let ping = async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        let result = tokio::time::timeout(Duration::from_secs(2), ping).await;
        assert!(
            matches!(result, Ok(Ok(_))),
            "Redis at {url} must answer for these tests (start it: redis-server --daemonize yes --save ''): {result:?}"
        );
    }

    fn config(per_minute: u32, tools: &[(&str, u32)], tenants: &[(&str, u32)]) -> RateLimitConfig {
        RateLimitConfig {
            per_minute,
            tools: tools.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            tenants: tenants.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            ..RateLimitConfig::default()
        }
    }

    /// The same config kept in the test Redis; fail-closed, so a Redis that does not answer
    /// fails the test instead of letting every call through.
    async fn in_redis(mut config: RateLimitConfig) -> RateLimitConfig {
        let url = test_redis_url();
        assert_redis_answers(&url).await;
        config.redis_url = url;
        config.redis_failure = RedisFailure::Closed;
        // Generous: a slow CI machine must not turn into refusals.
        config.redis_timeout_ms = 2_000;
        config
    }

    fn limited_by(decision: &Decision) -> &str {
        match decision {
            Decision::Limited { limit, .. } => limit,
            Decision::Unavailable { .. } => STORE_UNAVAILABLE,
            Decision::Allowed => panic!("expected a refusal, the call was allowed"),
        }
    }

    fn retry_after(decision: &Decision) -> Duration {
        match decision {
            Decision::Limited { retry_after, .. } | Decision::Unavailable { retry_after } => {
                *retry_after
            }
            Decision::Allowed => panic!("expected a refusal, the call was allowed"),
        }
    }

    // Scenarios, each run against the in-process store and against Redis.

    async fn eleventh_execute_sql_call_is_limited(config: RateLimitConfig) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        let user = unique("user");
        for i in 1..=10 {
            let decision = limiter.check(&user, None, "execute_sql").await;
            assert_eq!(decision, Decision::Allowed, "call {i}");
        }
        let refused = limiter.check(&user, None, "execute_sql").await;
        assert_eq!(limited_by(&refused), "execute_sql: 10 per minute");
        // 10 per minute: the next unit comes 6 s after the first call.
        let wait = retry_after(&refused);
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(6),
            "{wait:?}"
        );
        assert_eq!(refused.retry_after_secs(), Some(6));
        // Other tools still run: the overall limit is 100.
        assert!(limiter.check(&user, None, "list_charts").await.is_allowed());
    }

    async fn overall_limit_spans_tools(config: RateLimitConfig) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        let user = unique("user");
        for tool in [
            "list_charts",
            "get_chart",
            "list_dashboards",
            "execute_sql",
            "get_chart",
        ] {
            assert!(
                limiter.check(&user, None, tool).await.is_allowed(),
                "{tool}"
            );
        }
        let refused = limiter.check(&user, None, "list_datasets").await;
        assert_eq!(limited_by(&refused), "all tools: 5 per minute");
        // 5 per minute: one unit every 12 s.
        let wait = retry_after(&refused);
        assert!(
            wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
    }

    async fn principals_are_independent(config: RateLimitConfig) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        let (alice, bob) = (unique("alice"), unique("bob"));
        for _ in 0..2 {
            assert!(
                limiter
                    .check(&alice, None, "execute_sql")
                    .await
                    .is_allowed()
            );
        }
        assert!(
            !limiter
                .check(&alice, None, "execute_sql")
                .await
                .is_allowed()
        );
        for _ in 0..2 {
            assert!(limiter.check(&bob, None, "execute_sql").await.is_allowed());
        }
        assert!(!limiter.check(&bob, None, "execute_sql").await.is_allowed());
    }

    async fn tenant_limit_is_shared(config: RateLimitConfig, tenant: &str) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        let (alice, bob, carol) = (unique("alice"), unique("bob"), unique("carol"));
        let other_tenant = unique("other-tenant");
        assert!(
            limiter
                .check(&alice, Some(tenant), "get_chart")
                .await
                .is_allowed()
        );
        assert!(
            limiter
                .check(&alice, Some(tenant), "get_chart")
                .await
                .is_allowed()
        );
        assert!(
            limiter
                .check(&bob, Some(tenant), "get_chart")
                .await
                .is_allowed()
        );
        let refused = limiter.check(&bob, Some(tenant), "get_chart").await;
        assert_eq!(
            limited_by(&refused),
            format!("tenant {tenant}: 3 per minute")
        );
        // A tenant without a configured limit, or no tenant, has only principal limits.
        for _ in 0..5 {
            assert!(
                limiter
                    .check(&carol, Some(&other_tenant), "get_chart")
                    .await
                    .is_allowed()
            );
        }
        assert!(limiter.check(&carol, None, "get_chart").await.is_allowed());
    }

    async fn refused_calls_consume_nothing(config: RateLimitConfig, tenant: &str) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        // Refused by the tool limit: the overall allowance (6) is untouched.
        let alice = unique("alice");
        for _ in 0..2 {
            assert!(
                limiter
                    .check(&alice, None, "execute_sql")
                    .await
                    .is_allowed()
            );
        }
        for _ in 0..20 {
            let refused = limiter.check(&alice, None, "execute_sql").await;
            assert_eq!(limited_by(&refused), "execute_sql: 2 per minute");
        }
        for i in 0..4 {
            assert!(
                limiter.check(&alice, None, "get_chart").await.is_allowed(),
                "call {i}"
            );
        }
        let refused = limiter.check(&alice, None, "get_chart").await;
        assert_eq!(limited_by(&refused), "all tools: 6 per minute");

        // Refused by the tenant limit (3): bob's own allowance (6) and tool allowance are
        // untouched, so without the tenant he still has 3 calls, 2 of them execute_sql.
        let bob = unique("bob");
        for _ in 0..3 {
            assert!(
                limiter
                    .check(&bob, Some(tenant), "get_chart")
                    .await
                    .is_allowed()
            );
        }
        for _ in 0..10 {
            let refused = limiter.check(&bob, Some(tenant), "execute_sql").await;
            assert_eq!(
                limited_by(&refused),
                format!("tenant {tenant}: 3 per minute")
            );
        }
        assert!(limiter.check(&bob, None, "execute_sql").await.is_allowed());
        assert!(limiter.check(&bob, None, "execute_sql").await.is_allowed());
        assert!(limiter.check(&bob, None, "get_chart").await.is_allowed());
        let refused = limiter.check(&bob, None, "get_chart").await;
        assert_eq!(limited_by(&refused), "all tools: 6 per minute");
    }

    async fn longest_wait_is_named(config: RateLimitConfig, tenant: &str) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        // execute_sql 1/min (next unit in 60 s) and overall 3/min (next unit in 20 s): both
        // are exhausted, the tool limit waits longer.
        let alice = unique("alice");
        assert!(
            limiter
                .check(&alice, None, "execute_sql")
                .await
                .is_allowed()
        );
        assert!(limiter.check(&alice, None, "get_chart").await.is_allowed());
        assert!(limiter.check(&alice, None, "get_chart").await.is_allowed());
        let refused = limiter.check(&alice, None, "execute_sql").await;
        assert_eq!(limited_by(&refused), "execute_sql: 1 per minute");
        assert!(
            retry_after(&refused) > Duration::from_secs(55),
            "{refused:?}"
        );
        let refused = limiter.check(&alice, None, "get_chart").await;
        assert_eq!(limited_by(&refused), "all tools: 3 per minute");
        assert!(
            retry_after(&refused) <= Duration::from_secs(20),
            "{refused:?}"
        );

        // The tenant (1/min, spent by bob) waits longer than carol's exhausted overall limit,
        // although the overall limit is checked first.
        let (bob, carol) = (unique("bob"), unique("carol"));
        assert!(
            limiter
                .check(&bob, Some(tenant), "get_chart")
                .await
                .is_allowed()
        );
        for _ in 0..3 {
            assert!(limiter.check(&carol, None, "get_chart").await.is_allowed());
        }
        let refused = limiter.check(&carol, Some(tenant), "get_chart").await;
        assert_eq!(
            limited_by(&refused),
            format!("tenant {tenant}: 1 per minute")
        );
        assert!(
            retry_after(&refused) > Duration::from_secs(55),
            "{refused:?}"
        );
    }

    async fn allowance_refills_at_the_steady_rate(config: RateLimitConfig) {
        let limiter = RateLimiter::new(&config).await.unwrap();
        let user = unique("user");
        // 600 per minute with a burst of 1: one call every 100 ms.
        assert!(limiter.check(&user, None, "get_chart").await.is_allowed());
        let refused = limiter.check(&user, None, "get_chart").await;
        let wait = retry_after(&refused);
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
        assert!(limiter.check(&user, None, "get_chart").await.is_allowed());
    }

    fn refill_config() -> RateLimitConfig {
        RateLimitConfig {
            burst: Some(1),
            ..config(600, &[], &[])
        }
    }

    #[tokio::test]
    async fn local_eleventh_execute_sql_call_is_limited_and_counted() {
        let recorder = TestRecorder::default();
        let _guard = metrics::set_default_local_recorder(&recorder);
        eleventh_execute_sql_call_is_limited(RateLimitConfig::default()).await;
        let labels = [("tool", "execute_sql"), ("scope", "tool")];
        assert_eq!(recorder.counter("vizier_rate_limited_total", &labels), 1);
    }

    #[tokio::test]
    async fn local_overall_limit_spans_tools() {
        overall_limit_spans_tools(config(5, &[], &[])).await;
    }

    #[tokio::test]
    async fn local_principals_are_independent() {
        principals_are_independent(config(100, &[("execute_sql", 2)], &[])).await;
    }

    #[tokio::test]
    async fn local_tenant_limit_is_shared() {
        tenant_limit_is_shared(config(100, &[], &[("acme", 3)]), "acme").await;
    }

    #[tokio::test]
    async fn local_refused_calls_consume_nothing() {
        let config = config(6, &[("execute_sql", 2)], &[("acme", 3)]);
        refused_calls_consume_nothing(config, "acme").await;
    }

    #[tokio::test]
    async fn local_longest_wait_is_named() {
        longest_wait_is_named(config(3, &[("execute_sql", 1)], &[("acme", 1)]), "acme").await;
    }

    #[tokio::test]
    async fn local_allowance_refills_at_the_steady_rate() {
        allowance_refills_at_the_steady_rate(refill_config()).await;
    }

    #[tokio::test]
    async fn local_stale_keys_are_swept() {
        let limiter = RateLimiter::new(&refill_config()).await.unwrap();
        for i in 0..10 {
            assert!(
                limiter
                    .check(&format!("user:{i}"), None, "get_chart")
                    .await
                    .is_allowed()
            );
        }
        // Every key's TAT is at most 100 ms ahead; after that the next sweep drops them.
        tokio::time::sleep(Duration::from_millis(150)).await;
        for _ in 0..SWEEP_EVERY_CHECKS {
            let _ = limiter.check("user:busy", None, "get_chart").await;
        }
        let Some(Store::Local(local)) = limiter.inner.as_deref().map(|i| &i.store) else {
            panic!("expected the in-process store");
        };
        let keys: Vec<String> = local.state.lock().unwrap().tats.keys().cloned().collect();
        assert_eq!(keys, ["p:user:busy"]);
    }

    #[tokio::test]
    async fn disabled_always_allows() {
        let recorder = TestRecorder::default();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let config = RateLimitConfig {
            enabled: false,
            // Even with a Redis that does not exist: disabled never connects.
            redis_url: "redis://127.0.0.1:1".to_owned(),
            redis_failure: RedisFailure::Closed,
            ..config(1, &[("execute_sql", 1)], &[("acme", 1)])
        };
        let limiter = RateLimiter::new(&config).await.unwrap();
        for _ in 0..1000 {
            let decision = limiter.check("user:1", Some("acme"), "execute_sql").await;
            assert_eq!(decision, Decision::Allowed);
        }
        assert!(recorder.counters.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn redis_eleventh_execute_sql_call_is_limited() {
        eleventh_execute_sql_call_is_limited(in_redis(RateLimitConfig::default()).await).await;
    }

    #[tokio::test]
    async fn redis_overall_limit_spans_tools() {
        overall_limit_spans_tools(in_redis(config(5, &[], &[])).await).await;
    }

    #[tokio::test]
    async fn redis_principals_are_independent() {
        principals_are_independent(in_redis(config(100, &[("execute_sql", 2)], &[])).await).await;
    }

    #[tokio::test]
    async fn redis_tenant_limit_is_shared() {
        let tenant = unique("acme");
        let config = in_redis(config(100, &[], &[(&tenant, 3)])).await;
        tenant_limit_is_shared(config, &tenant).await;
    }

    #[tokio::test]
    async fn redis_refused_calls_consume_nothing() {
        let tenant = unique("acme");
        let config = in_redis(config(6, &[("execute_sql", 2)], &[(&tenant, 3)])).await;
        refused_calls_consume_nothing(config, &tenant).await;
    }

    #[tokio::test]
    async fn redis_longest_wait_is_named() {
        let tenant = unique("acme");
        let config = in_redis(config(3, &[("execute_sql", 1)], &[(&tenant, 1)])).await;
        longest_wait_is_named(config, &tenant).await;
    }

    #[tokio::test]
    async fn redis_allowance_refills_at_the_steady_rate() {
        allowance_refills_at_the_steady_rate(in_redis(refill_config()).await).await;
    }

    #[tokio::test]
    async fn redis_two_replicas_share_one_limit() {
        let config = in_redis(RateLimitConfig::default()).await;
        let replica_a = RateLimiter::new(&config).await.unwrap();
        let replica_b = RateLimiter::new(&config).await.unwrap();
        let user = unique("user");
        for i in 0..10 {
            let replica = if i % 2 == 0 { &replica_a } else { &replica_b };
            let decision = replica.check(&user, None, "execute_sql").await;
            assert_eq!(decision, Decision::Allowed, "call {i}");
        }
        for replica in [&replica_a, &replica_b] {
            let refused = replica.check(&user, None, "execute_sql").await;
            assert_eq!(limited_by(&refused), "execute_sql: 10 per minute");
            assert!(retry_after(&refused) > Duration::ZERO);
        }
        // The key expires when its TAT passes (here about a minute ahead).
        let client = redis::Client::open(config.redis_url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = format!("{REDIS_KEY_PREFIX}t:execute_sql:{user}");
        let ttl_ms: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((50_000..=60_000).contains(&ttl_ms), "{key}: PTTL {ttl_ms}");
    }

    async fn unreachable(failure: RedisFailure, url: &str) -> RateLimiter {
        let config = RateLimitConfig {
            redis_url: url.to_owned(),
            redis_failure: failure,
            ..RateLimitConfig::default()
        };
        // Start does not fail because Redis does not answer.
        RateLimiter::new(&config).await.unwrap()
    }

    #[tokio::test]
    async fn redis_down_fails_open_and_counts() {
        let recorder = TestRecorder::default();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let limiter = unreachable(RedisFailure::Open, "redis://127.0.0.1:1").await;
        for _ in 0..12 {
            let decision = limiter.check("user:1", None, "execute_sql").await;
            assert_eq!(decision, Decision::Allowed);
        }
        let labels = [("outcome", "failed_open")];
        assert_eq!(
            recorder.counter("vizier_rate_limit_redis_errors_total", &labels),
            12
        );
        assert_eq!(
            recorder.counter(
                "vizier_rate_limit_redis_errors_total",
                &[("outcome", "failed_closed")]
            ),
            0
        );
    }

    #[tokio::test]
    async fn redis_down_fails_closed_and_counts() {
        let recorder = TestRecorder::default();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let limiter = unreachable(RedisFailure::Closed, "redis://127.0.0.1:1").await;
        let decision = limiter.check("user:1", None, "get_chart").await;
        assert_eq!(
            decision,
            Decision::Unavailable {
                retry_after: STORE_UNAVAILABLE_RETRY,
            }
        );
        let labels = [("outcome", "failed_closed")];
        assert_eq!(
            recorder.counter("vizier_rate_limit_redis_errors_total", &labels),
            1
        );
        // Not a rate-limit refusal: that counter stays for limits.
        let labels = [("tool", "get_chart"), ("scope", "principal")];
        assert_eq!(recorder.counter("vizier_rate_limited_total", &labels), 0);
    }

    #[tokio::test]
    async fn silent_redis_counts_as_down_after_the_timeout() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let mut held = Vec::new();
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let limiter = unreachable(RedisFailure::Closed, &url).await;
        let started = Instant::now();
        let decision = limiter.check("user:1", None, "get_chart").await;
        let elapsed = started.elapsed();
        assert_eq!(limited_by(&decision), STORE_UNAVAILABLE);
        // redis_timeout_ms is 50 by default.
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
        accept.abort();
    }

    #[tokio::test]
    async fn rediss_without_tls_fails_start_naming_the_url() {
        let config = RateLimitConfig {
            redis_url: "rediss://vizier:hunter2@redis.internal:6380".to_owned(),
            ..RateLimitConfig::default()
        };
        let error = RateLimiter::new(&config).await.unwrap_err();
        let message = error.to_string();
        assert_eq!(
            message,
            "rate_limits.redis_url = rediss://***@redis.internal:6380 cannot be used"
        );
        assert!(!format!("{error:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let config = RateLimitConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert!(config.enabled);
        assert_eq!(config.per_minute, 100);
        assert_eq!(config.burst, None);
        assert_eq!(config.tools.get("execute_sql"), Some(&10));
        assert!(config.tenants.is_empty());
        assert_eq!(config.redis_url, "");
        assert_eq!(config.redis_failure, RedisFailure::Open);
        assert_eq!(config.redis_timeout_ms, 50);
    }

    #[test]
    fn validation_names_the_key() {
        let check = |config: RateLimitConfig| config.validate().unwrap_err();
        assert_eq!(
            check(config(100, &[("execute_sql", 0)], &[])),
            "rate_limits.tools.execute_sql: 0 is out of range 1..=1000000"
        );
        assert_eq!(
            check(config(0, &[], &[])),
            "rate_limits.per_minute: 0 is out of range 1..=1000000"
        );
        assert_eq!(
            check(config(100, &[], &[("acme", 1_000_001)])),
            "rate_limits.tenants.acme: 1000001 is out of range 1..=1000000"
        );
        assert_eq!(
            check(config(100, &[("", 5)], &[])),
            "rate_limits.tools: a tool name is empty"
        );
        assert!(check(config(100, &[("a:b", 5)], &[])).starts_with("rate_limits.tools.a:b:"));
        assert_eq!(
            check(RateLimitConfig {
                burst: Some(0),
                ..RateLimitConfig::default()
            }),
            "rate_limits.burst: 0 is out of range 1..=1000000"
        );
        let bad_url = check(RateLimitConfig {
            redis_url: "http://user:secret@localhost:6379".to_owned(),
            ..RateLimitConfig::default()
        });
        assert!(
            bad_url.starts_with(
                "rate_limits.redis_url = http://***@localhost:6379: must start with redis://"
            ),
            "{bad_url}"
        );
        assert_eq!(
            check(RateLimitConfig {
                redis_timeout_ms: 0,
                ..RateLimitConfig::default()
            }),
            "rate_limits.redis_timeout_ms: 0 is out of range 1..=60000"
        );
    }

    #[tokio::test]
    async fn invalid_config_fails_start() {
        let error = RateLimiter::new(&config(0, &[], &[])).await.unwrap_err();
        assert!(matches!(error, LimitError::Config(_)), "{error:?}");
    }

    #[test]
    fn config_reads_from_serde() {
        let config: RateLimitConfig = serde_json::from_value(serde_json::json!({
            "per_minute": 50,
            "tools": { "execute_sql": 5, "render_chart": 20 },
            "tenants": { "acme": 500 },
            "redis_failure": "closed",
        }))
        .unwrap();
        assert_eq!(config.per_minute, 50);
        assert_eq!(config.tools.len(), 2);
        assert_eq!(config.tenants.get("acme"), Some(&500));
        assert_eq!(config.redis_failure, RedisFailure::Closed);
        assert_eq!(config.redis_timeout_ms, 50);
        let unknown =
            serde_json::from_value::<RateLimitConfig>(serde_json::json!({ "per_hour": 5 }));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `per_hour`")
        );
        let bad = serde_json::from_value::<RateLimitConfig>(
            serde_json::json!({ "redis_failure": "maybe" }),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn debug_hides_the_redis_password() {
        let config = RateLimitConfig {
            redis_url: "redis://:hunter2@redis.internal:6379/0".to_owned(),
            ..RateLimitConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(
            printed.contains("redis://***@redis.internal:6379/0"),
            "{printed}"
        );
        assert!(!printed.contains("hunter2"));
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limited = |ms| Decision::Limited {
            limit: String::new(),
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(limited(1).retry_after_secs(), Some(1));
        assert_eq!(limited(6_000).retry_after_secs(), Some(6));
        assert_eq!(limited(6_001).retry_after_secs(), Some(7));
        assert_eq!(Decision::Allowed.retry_after_secs(), None);
    }

    #[test]
    fn every_emitted_metric_is_described() {
        let recorder = TestRecorder::default();
        metrics::with_local_recorder(&recorder, describe_metrics);
        let described = recorder.described.lock().unwrap().clone();
        assert_eq!(
            described,
            [
                "vizier_rate_limited_total",
                "vizier_rate_limit_redis_errors_total"
            ]
        );
    }
}
