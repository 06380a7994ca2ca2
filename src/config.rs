//! Configuration: every key, its default, and how it is validated.
//!
//! `config/default.toml` is the documented reference for every key below. Values come from,
//! in order (later wins): the built-in defaults here, the file given by `--config` or
//! `VIZIER_CONFIG`, and environment variables `VIZIER_<SECTION>__<KEY>` (for example
//! `VIZIER_SERVER__BIND=0.0.0.0:8080`, `VIZIER_METADATA__URL=postgres://…`).
//!
//! Secrets are wrapped in [`Secret`] so they never print in logs, errors or `Debug` output.
//! An invalid value stops the process at start with the key, the value and what is allowed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// A value that never prints. `Debug` and `Display` show `***`.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself: only for the code that uses it (connecting, decrypting).
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub metadata: MetadataConfig,
    pub auth: AuthConfig,
    pub pools: PoolsConfig,
    pub examples: ExamplesConfig,
    pub secrets: SecretsConfig,
    pub datasources: DataSourcesConfig,
    pub cache: CacheConfig,
    pub screenshots: ScreenshotsConfig,
    pub rate_limits: crate::limits::RateLimitConfig,
    pub limits: LimitsConfig,
    pub logging: LoggingConfig,
    pub metrics: MetricsConfig,
    pub faults: FaultsConfig,
    pub audit: AuditConfig,
    pub spool: SpoolConfig,
    pub tools: ToolsConfig,
    pub superset: SupersetConfig,
}

/// Superset interoperability (`[superset]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupersetConfig {
    /// Directories `import_superset_bundle` may read a bundle from by `path` (a file inside
    /// one, after resolving links); empty: bundles come base64-encoded only.
    pub bundle_dirs: Vec<PathBuf>,
}

/// Which tools the server exposes, and how it lists them (`[tools]`). Names are tool names
/// or the groups `catalog`, `sql`, `charts` and `admin`; they are checked against the
/// registry at start, and an unknown one refuses to start with the closest valid name.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Tool search: `tools/list` holds a few entry tools (`search_tools`, `call_read_tool`,
    /// `call_write_tool`, `get_instance_info`) instead of every tool, for small contexts.
    pub search: bool,
    /// Only these tools and groups are exposed; empty: all. A list, or one string with
    /// names separated by commas or spaces (`VIZIER_TOOLS__ENABLED="catalog,execute_sql"`).
    #[serde(deserialize_with = "names")]
    pub enabled: Vec<String>,
    /// These tools and groups are never exposed (applied after `enabled`).
    #[serde(deserialize_with = "names")]
    pub disabled: Vec<String>,
    /// No tool that writes is listed, found or callable.
    pub read_only: bool,
}

/// Whether `real` (a path with its links resolved) lies inside one of `dirs`: the allowed
/// directories of `datasources.sqlite_dirs` and `superset.bundle_dirs` (a relative one is
/// taken from the working directory; its links are resolved too).
pub fn within_dirs(real: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter()
        .filter_map(|d| std::path::absolute(d).ok()?.canonicalize().ok())
        .any(|d| real.starts_with(d))
}

/// A list of names, or one string of names separated by commas or white space (what an
/// environment variable or a Helm value naturally holds).
fn names<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Names {
        List(Vec<String>),
        One(String),
    }
    let list = match Names::deserialize(de)? {
        Names::List(list) => list,
        Names::One(one) => vec![one],
    };
    Ok(list
        .iter()
        .flat_map(|s| s.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// On SIGTERM: the whole exit fits in this long. Readiness turns false and new calls are
    /// refused at once; in-flight calls get the grace minus a stop reserve (a quarter, at most
    /// 5 s, for closing connections and writing the audit log's last records); waiting calls
    /// that cannot finish by then are refused (503 + Retry-After).
    pub shutdown_grace_ms: u64,
    /// How long a client may take to send a request's head (line and headers) once it
    /// connects or starts a request on a kept-alive connection; then 408 and the connection
    /// is closed.
    pub request_head_timeout_ms: u64,
    /// How long a client may take to send a request's body on /mcp, from the end of its
    /// head; then 408 and the connection is closed.
    pub request_body_timeout_ms: u64,
    /// Open connections one client address may hold; requests on more get 503 with
    /// `Retry-After` and the connection is closed. 0: no limit. Behind a proxy or an ingress,
    /// every client has the proxy's address: raise it (or 0) there.
    pub max_connections_per_client: usize,
    /// Address the HTTP server listens on. Port 0 picks a free port (tests).
    pub bind: String,
    /// Host header values accepted on /mcp (DNS-rebinding protection). Loopback by default.
    pub allowed_hosts: Vec<String>,
    /// Browser Origin values accepted on /mcp (`:*` matches any port); requests without an
    /// Origin header (non-browser clients) pass. An empty list refuses every Origin.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body on /mcp, in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per CPU core.
    pub http_workers: usize,
    /// Page size of tools/list, resources/list and prompts/list (MCP cursor pagination).
    pub list_page_size: usize,
    /// Interval of progress notifications for calls that carry a progress token.
    pub progress_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// `sqlite://PATH` (embedded default) or `postgres://user:pass@host/db`.
    pub url: Secret,
    /// Connections in the metadata pool.
    pub pool_size: u32,
    /// How long a tool waits for a metadata connection before `unavailable`.
    pub connect_timeout_ms: u64,
    /// Apply pending migrations at `serve` start. Default: on for SQLite, off for
    /// PostgreSQL (run `vizier migrate`, a Helm hook Job in Kubernetes).
    pub auto_migrate: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Token authentication (JWT bearer tokens and API keys). Off: every call runs as the
    /// dev user, and only loopback binds are allowed.
    pub enabled: bool,
    /// The user calls run as while auth is off ("admin" when unset; created at start).
    /// Setting it together with `enabled = true` refuses to start.
    pub dev_user: Option<String>,
    /// How JWT bearer tokens are verified (`[auth.jwt]`).
    pub jwt: JwtConfig,
    /// Create unknown token users on first call, with `default_role` (off: refused, 403).
    pub auto_provision: bool,
    /// The role of auto-provisioned users.
    pub default_role: String,
    /// Token `roles`/`groups` values mapped to vizier roles, granted for the call on top of
    /// the user's own roles, e.g. { "bi-editors" = "alpha" }.
    pub role_mapping: BTreeMap<String, String>,
    /// Authorization servers announced in the OAuth protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// This server's public base URL (e.g. https://vizier.example.com), for the metadata and
    /// `WWW-Authenticate`; unset: derived from the request's Host.
    pub public_url: Option<String>,
    /// Tenants: every call carries a tenant (a token's `tenant_id`/`tid` claim, or an API
    /// key's user's tenant) and sees and touches only that tenant's objects. Needs auth.
    pub tenants: bool,
}

/// `[auth.jwt]`: how bearer tokens are verified.
///
/// Exactly one key source: `hs_secret` (HMAC, `HS*` algorithms), `public_key_pem` (one RSA or
/// EC public key) or `jwks_uri` (the identity provider's key set, refreshed in the background).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Accepted JWS algorithms (allow-list). `none` is never accepted; every entry must fit
    /// the key source (`HS*` for `hs_secret`; `RS*`/`PS*`/`ES256`/`ES384` otherwise).
    #[serde(deserialize_with = "one_or_many")]
    pub algorithms: Vec<String>,
    /// Accepted `iss` values (exact match). One string or a list. Required.
    #[serde(deserialize_with = "one_or_many")]
    pub issuers: Vec<String>,
    /// The `aud` value tokens must carry (alone or in an array). Required.
    pub audience: String,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds (at most 300).
    pub leeway_secs: u64,
    /// HMAC secret: the bytes of the string as given, or, written as `base64:<value>`, the
    /// decoded value (standard or URL-safe alphabet, padding optional). At least as many
    /// bytes as the largest hash in `algorithms` (32 for HS256, 48 HS384, 64 HS512).
    pub hs_secret: Option<Secret>,
    /// One public key: PEM text (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`), or, when
    /// the value does not contain `-----BEGIN`, the path of a file holding it.
    pub public_key_pem: Option<String>,
    /// JSON Web Key Set URL (https; plain http only for loopback or with `jwks_allow_http`).
    pub jwks_uri: Option<String>,
    /// Background refresh interval of the key set, in seconds.
    pub jwks_refresh_secs: u64,
    /// A token with an unknown `kid` refetches the key set at most once per this many seconds.
    pub jwks_min_refetch_secs: u64,
    /// Time limit of one key-set fetch, in seconds.
    pub jwks_timeout_secs: u64,
    /// Allow a plain-http `jwks_uri` on a non-loopback host (for example a cluster-internal
    /// identity provider). Anyone on that path could substitute keys.
    pub jwks_allow_http: bool,
    /// Scopes every token must carry (all of them). One string or a list.
    #[serde(deserialize_with = "one_or_many")]
    pub required_scopes: Vec<String>,
    /// Longer tokens are refused before parsing.
    pub max_token_bytes: usize,
    /// Verified tokens remembered until their `exp` (0 disables the cache).
    pub cache_entries: usize,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            algorithms: vec!["RS256".into(), "ES256".into()],
            issuers: Vec::new(),
            audience: String::new(),
            leeway_secs: 30,
            hs_secret: None,
            public_key_pem: None,
            jwks_uri: None,
            jwks_refresh_secs: 300,
            jwks_min_refetch_secs: 10,
            jwks_timeout_secs: 5,
            jwks_allow_http: false,
            required_scopes: Vec::new(),
            max_token_bytes: 8192,
            cache_entries: 10_000,
        }
    }
}

/// Accept `"a"` as well as `["a", "b"]`: convenient in environment variables.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl AuthConfig {
    /// The user calls run as while auth is off.
    pub fn dev_user(&self) -> &str {
        self.dev_user.as_deref().unwrap_or("admin")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Worker actors; each runs one call at a time.
    pub workers: usize,
    /// Calls that may wait for a worker; beyond this calls are refused as overloaded.
    pub queue: usize,
    /// Time limit of one call in this pool.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolsConfig {
    pub catalog: PoolConfig,
    pub sql: PoolConfig,
    pub charts: PoolConfig,
    pub admin: PoolConfig,
    /// Arbiter threads the tool workers are spread over; 0 means one per CPU core.
    pub arbiters: usize,
    /// Seconds a refused caller is told to wait (Retry-After).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExamplesConfig {
    /// Generate and register the example retail data source on first start.
    /// Default: on for the embedded SQLite metadata store, off for PostgreSQL.
    pub enabled: Option<bool>,
    /// Where the example SQLite data file lives.
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Base64 of 32 random bytes: encrypts data-source credentials at rest. Required with
    /// PostgreSQL metadata; the embedded default creates `key_file` on first start.
    pub encryption_key: Option<Secret>,
    /// Key file used when `encryption_key` is unset (embedded default only). Unset:
    /// `secret.key` beside the SQLite metadata file, so the store and its key stay together
    /// whatever the working directory (see `db::secrets::key_file`).
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// How long a read-only catalog result (lists, details, instance info) may be served
    /// again to the same principal with the same arguments; 0 turns the cache off. Any
    /// write through this replica clears it at once; other replicas' writes show after
    /// at most this long.
    pub ttl_ms: u64,
    /// Most cached results.
    pub max_entries: u64,
    /// How long a chart query's rows (chart data, previews, screenshots, explore pages) are
    /// served again; 0 turns it off. Keyed by the database, the SQL as executed (after RLS
    /// rewriting and the row cap), the schema, and the caller's RLS rules and session
    /// settings there: callers whose RLS differs never share rows. Cleared like `ttl_ms`.
    pub chart_data_ttl_ms: u64,
    /// Most bytes (roughly, of the rows' values) kept in that cache.
    pub chart_data_max_bytes: u64,
    /// Answer list_charts, list_dashboards, list_datasets and get_chart_info from an
    /// in-memory index of the catalog (exactly what the store would answer); off: every
    /// call asks the store.
    pub catalog_index: bool,
    /// How often the index asks the store whether another replica or process changed the
    /// catalog (writes through this replica show at once). Until a read succeeds, and after
    /// one fails, calls go to the store.
    pub catalog_refresh_ms: u64,
}

/// The screenshot actor: render threads and their queue (see `actors::screenshot`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenshotsConfig {
    /// Render threads; 0 means one per CPU core.
    pub workers: usize,
    /// Renders that may wait beyond those running; more are refused at once (retry hint).
    pub queue: usize,
    /// How long a rendered picture is served again for the same chart, data and size.
    pub cache_ttl_ms: u64,
    /// Most pictures kept.
    pub cache_entries: usize,
    /// How long a caller waits for one picture.
    pub time_limit_ms: u64,
    /// How render threads yield the CPU to tool calls: "idle" (the default; Linux
    /// SCHED_IDLE: only CPU time nothing else wants) or "low" (nice 10).
    pub priority: crate::priority::RenderPriority,
}

impl Default for ScreenshotsConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 32,
            cache_ttl_ms: 60_000,
            cache_entries: 500,
            time_limit_ms: 10_000,
            priority: Default::default(),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl_ms: 1000,
            max_entries: 10_000,
            chart_data_ttl_ms: 60_000,
            chart_data_max_bytes: 64 << 20,
            catalog_index: true,
            catalog_refresh_ms: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSourcesConfig {
    /// Directories SQLite data sources may live in; a registration elsewhere is refused,
    /// so a caller cannot point vizier at arbitrary files (or its own metadata store).
    pub sqlite_dirs: Vec<PathBuf>,
}

impl Default for DataSourcesConfig {
    fn default() -> Self {
        Self {
            sqlite_dirs: vec![PathBuf::from("data")],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Byte budget of one tool response (structured content); lists are cut to fit.
    pub response_bytes: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A tracing filter, e.g. `info` or `vizier=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
    /// `auto` (JSON when stderr is not a terminal), `json` or `text`.
    pub format: String,
    /// Calls slower than this are logged at warn level with their duration; 0 = never.
    pub slow_call_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics at /metrics.
    pub enabled: bool,
    /// Serve /metrics on this address instead of the main one (e.g. "0.0.0.0:9090" so
    /// Prometheus scrapes a port clients never see). Unset: on the main address.
    pub bind: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Record every tool call (caller, tool, redacted arguments, outcome, duration) in the
    /// `audit_log` table, written in batches off the call path.
    pub enabled: bool,
    /// Rows older than this many days are deleted (hourly, and once shortly after start);
    /// 0 keeps them forever.
    pub retention_days: u32,
    /// Records waiting to be written at most; beyond this new ones are dropped and counted
    /// (`vizier_audit_dropped_total`), never slowing a call.
    pub buffer: usize,
}

/// Where audit records and query history wait while the metadata store is down (`[spool]`):
/// append-only JSON-lines files, fsync'd per batch, written to the store in order once it is
/// back and read again at start (see `actors::spool`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// The directory of the spool files (`audit.jsonl`, `history.jsonl`); created if
    /// missing. A relative path is taken from the working directory. Unset: `spool` beside
    /// the SQLite metadata file (`data/spool` by default), or `data/spool` with PostgreSQL.
    pub dir: Option<PathBuf>,
    /// Bytes each spool file holds at most; beyond this records are dropped and counted.
    /// 0 turns spooling off (records the store cannot take are dropped, as before).
    pub max_bytes: u64,
}

impl SpoolConfig {
    /// The spool directory: `dir`, or the default for `config`'s metadata store.
    pub fn dir_for(&self, config: &Config) -> PathBuf {
        if let Some(dir) = &self.dir {
            return dir.clone();
        }
        match config.metadata_backend() {
            MetadataBackend::Sqlite => {
                let file = Path::new(sqlite_path(config.metadata.url.expose()));
                file.parent().unwrap_or(Path::new("")).join("spool")
            }
            MetadataBackend::Postgres => PathBuf::from("data/spool"),
        }
    }
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            dir: None,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retention_days: 90,
            buffer: 10_000,
        }
    }
}

/// Fault injection for chaos and resilience tests. Empty (off) by default; refused on a
/// non-loopback bind so it can never be switched on in a deployment by accident.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// Tools that panic inside their worker when called.
    pub panic_tools: Vec<String>,
    /// Tools that sleep this many milliseconds before running.
    pub delay_ms: BTreeMap<String, u64>,
    /// Named points inside multi-step writes that fail when reached (e.g.
    /// `generate_dashboard.after_dashboard`), to prove the write rolls back whole.
    pub fail_points: Vec<String>,
    /// Every chart picture takes at least this long to draw (fills the render queue).
    pub render_delay_ms: u64,
}

impl FaultsConfig {
    pub fn is_active(&self) -> bool {
        !self.panic_tools.is_empty()
            || !self.delay_ms.is_empty()
            || !self.fail_points.is_empty()
            || self.render_delay_ms > 0
    }

    /// Fail here if the point is armed.
    pub fn check(&self, point: &str) -> Result<(), crate::error::ToolError> {
        if self.fail_points.iter().any(|p| p == point) {
            return Err(crate::error::ToolError::internal(format!(
                "fault injection at {point}"
            )));
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            shutdown_grace_ms: 30_000,
            request_head_timeout_ms: 5_000,
            request_body_timeout_ms: 10_000,
            max_connections_per_client: 256,
            bind: "127.0.0.1:8080".into(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "http://[::1]:*".into(),
            ],
            max_body_bytes: 1024 * 1024,
            http_workers: 0,
            list_page_size: 100,
            progress_interval_ms: 1000,
        }
    }
}

impl Default for MetadataConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://data/vizier.db"),
            pool_size: 8,
            connect_timeout_ms: 5000,
            auto_migrate: None,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dev_user: None,
            jwt: JwtConfig::default(),
            auto_provision: false,
            default_role: "gamma".into(),
            role_mapping: BTreeMap::new(),
            authorization_servers: Vec::new(),
            public_url: None,
            tenants: false,
        }
    }
}

impl PoolConfig {
    fn with(workers: usize, queue: usize, timeout_ms: u64) -> Self {
        Self {
            workers,
            queue,
            timeout_ms,
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self::with(8, 256, 60_000)
    }
}

impl Default for PoolsConfig {
    fn default() -> Self {
        Self {
            catalog: PoolConfig::with(16, 1024, 30_000),
            sql: PoolConfig::with(8, 256, 310_000),
            charts: PoolConfig::with(8, 256, 60_000),
            admin: PoolConfig::with(2, 64, 30_000),
            arbiters: 0,
            retry_after_secs: 1,
        }
    }
}

impl Default for ExamplesConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            path: PathBuf::from("data/examples.db"),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            response_bytes: 50_000,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "auto".into(),
            slow_call_ms: 1000,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: None,
        }
    }
}

/// Which store the metadata URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataBackend {
    Postgres,
    Sqlite,
}

impl MetadataBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgresql",
            Self::Sqlite => "sqlite",
        }
    }
}

impl Config {
    /// Load defaults, then the file (if any), then `VIZIER_…` environment variables, and
    /// validate the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with(file, |_| Ok(()))
    }

    /// [`Config::load`], with command-line options (`serve --bind/--port`) applied by
    /// `adjust` after the file and the environment and before validation, so they win over
    /// both and pass the same checks (a non-loopback bind without auth is still refused).
    pub fn load_with(
        file: Option<&Path>,
        adjust: impl FnOnce(&mut Config) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("VIZIER_")
                .split("__")
                // Variables of the CLI itself, not config keys.
                .ignore(&["config", "api_key", "source_url"]),
        );
        let mut config: Config = figment.extract().map_err(|e| {
            // figment names the key and the expected type; never echo secret values.
            anyhow::anyhow!("invalid configuration: {e}")
        })?;
        adjust(&mut config)?;
        config.validate()?;
        Ok(config)
    }

    pub fn metadata_backend(&self) -> MetadataBackend {
        if self.metadata.url.expose().starts_with("postgres") {
            MetadataBackend::Postgres
        } else {
            MetadataBackend::Sqlite
        }
    }

    pub fn auto_migrate(&self) -> bool {
        self.metadata
            .auto_migrate
            .unwrap_or(self.metadata_backend() == MetadataBackend::Sqlite)
    }

    pub fn examples_enabled(&self) -> bool {
        self.examples
            .enabled
            .unwrap_or(self.metadata_backend() == MetadataBackend::Sqlite)
    }

    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server.bind.parse().with_context(|| {
            format!(
                "config key server.bind = {:?}: expected an address such as 127.0.0.1:8080",
                self.server.bind
            )
        })
    }

    /// `serve --bind ADDR` and `--port N`: ADDR is `IP:PORT`, or an IP alone (keeping the
    /// configured port); N replaces the port of whichever address results.
    pub fn override_bind(&mut self, bind: Option<&str>, port: Option<u16>) -> anyhow::Result<()> {
        if let Some(bind) = bind {
            self.server.bind = if let Ok(ip) = bind.parse::<std::net::IpAddr>() {
                SocketAddr::new(ip, self.bind_addr()?.port()).to_string()
            } else if bind.parse::<SocketAddr>().is_ok() {
                bind.to_owned()
            } else {
                bail!("--bind {bind:?}: expected IP:PORT (e.g. 127.0.0.1:8080) or an IP address");
            };
        }
        if let Some(port) = port {
            let mut addr = self.bind_addr()?;
            addr.set_port(port);
            self.server.bind = addr.to_string();
        }
        Ok(())
    }

    /// Check every value that has a range or a shape; the error names key, value and rule.
    pub fn validate(&self) -> anyhow::Result<()> {
        let bind = self.bind_addr()?;
        let url = self.metadata.url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bail!(
                "config key metadata.url: the scheme is not supported; allowed: sqlite://PATH, postgres://… or postgresql://…"
            );
        }
        range("metadata.pool_size", self.metadata.pool_size as u64, 1, 512)?;
        self.rate_limits
            .validate()
            .map_err(|e| anyhow::anyhow!("config key {e}"))?;
        range(
            "screenshots.queue",
            self.screenshots.queue as u64,
            0,
            10_000,
        )?;
        range(
            "screenshots.workers",
            self.screenshots.workers as u64,
            0,
            256,
        )?;
        range(
            "screenshots.time_limit_ms",
            self.screenshots.time_limit_ms,
            100,
            600_000,
        )?;
        range(
            "metadata.connect_timeout_ms",
            self.metadata.connect_timeout_ms,
            10,
            600_000,
        )?;
        range(
            "server.max_body_bytes",
            self.server.max_body_bytes as u64,
            1024,
            64 << 20,
        )?;
        range(
            "server.list_page_size",
            self.server.list_page_size as u64,
            1,
            1000,
        )?;
        range(
            "server.progress_interval_ms",
            self.server.progress_interval_ms,
            50,
            60_000,
        )?;
        range(
            "server.http_workers",
            self.server.http_workers as u64,
            0,
            256,
        )?;
        range(
            "server.shutdown_grace_ms",
            self.server.shutdown_grace_ms,
            1_000,
            3_600_000,
        )?;
        range(
            "server.request_head_timeout_ms",
            self.server.request_head_timeout_ms,
            100,
            600_000,
        )?;
        range(
            "server.request_body_timeout_ms",
            self.server.request_body_timeout_ms,
            100,
            3_600_000,
        )?;
        range(
            "server.max_connections_per_client",
            self.server.max_connections_per_client as u64,
            0,
            1_000_000,
        )?;
        for (name, pool) in self.pools.named() {
            range(
                &format!("pools.{name}.workers"),
                pool.workers as u64,
                1,
                1024,
            )?;
            range(
                &format!("pools.{name}.queue"),
                pool.queue as u64,
                0,
                1 << 20,
            )?;
            range(
                &format!("pools.{name}.timeout_ms"),
                pool.timeout_ms,
                100,
                3_600_000,
            )?;
        }
        range("pools.arbiters", self.pools.arbiters as u64, 0, 64)?;
        range(
            "pools.retry_after_secs",
            self.pools.retry_after_secs,
            1,
            3600,
        )?;
        range(
            "limits.response_bytes",
            self.limits.response_bytes as u64,
            1024,
            64 << 20,
        )?;
        range(
            "audit.retention_days",
            u64::from(self.audit.retention_days),
            0,
            36_500,
        )?;
        range("audit.buffer", self.audit.buffer as u64, 1, 1_000_000)?;
        if !["auto", "json", "text"].contains(&self.logging.format.as_str()) {
            bail!(
                "config key logging.format = {:?}: allowed values are auto, json, text",
                self.logging.format
            );
        }
        if self.auth.dev_user().trim().is_empty() {
            bail!(
                "config key auth.dev_user is empty: name the user calls run as while auth is off"
            );
        }
        if let Some(key) = &self.secrets.encryption_key {
            decode_encryption_key(key.expose()).context("config key secrets.encryption_key")?;
        }
        if self.auth.enabled {
            if self.auth.dev_user.is_some() {
                bail!(
                    "config key auth.dev_user is set while auth.enabled = true: a dev user would bypass authentication. \
                     Remove auth.dev_user."
                );
            }
            // The key source and algorithms of `[auth.jwt]` are checked by
            // `auth::jwt::validate_config`, which knows keys and algorithms.
        } else if !bind.ip().is_loopback() {
            bail!(
                "server.bind = {bind} is not a loopback address and auth is off: anyone who can reach it would act as \
                 '{}'. Bind to 127.0.0.1, or enable authentication (auth.enabled = true with [auth.jwt] audience, \
                 issuers and a key source).",
                self.auth.dev_user()
            );
        }
        if self.auth.tenants && !self.auth.enabled {
            bail!(
                "config key auth.tenants = true while auth is off: a call's tenant comes from its token or API key. \
                 Enable authentication (auth.enabled = true) or turn tenants off."
            );
        }
        if self.faults.is_active() && !bind.ip().is_loopback() {
            bail!("config section faults is for tests on loopback only; remove it");
        }
        Ok(())
    }
}

impl PoolsConfig {
    pub fn named(&self) -> [(&'static str, &PoolConfig); 4] {
        [
            ("catalog", &self.catalog),
            ("sql", &self.sql),
            ("charts", &self.charts),
            ("admin", &self.admin),
        ]
    }
}

fn range(key: &str, value: u64, min: u64, max: u64) -> anyhow::Result<()> {
    if value < min || value > max {
        bail!("config key {key} = {value}: allowed range is {min}..={max}");
    }
    Ok(())
}

/// The filesystem path of a `sqlite://PATH` or `sqlite:PATH` URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The 32 bytes of a data-source encryption key written as base64
/// (`secrets.encryption_key` or the key file).
pub fn decode_encryption_key(key_b64: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key_b64.trim())
        .map_err(|_| anyhow::anyhow!("the encryption key is not valid base64"))?;
    if bytes.len() != 32 {
        bail!(
            "the encryption key must be 32 bytes (base64 of 32 random bytes), got {}",
            bytes.len()
        );
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::default();
        c.validate().expect("defaults validate");
        assert_eq!(c.metadata_backend(), MetadataBackend::Sqlite);
        assert!(c.auto_migrate());
        assert!(c.examples_enabled());
    }

    #[test]
    fn tenants_need_auth() {
        let mut c = Config::default();
        c.auth.tenants = true;
        let e = c.validate().expect_err("must fail").to_string();
        assert!(e.contains("auth.tenants"), "{e}");
    }

    #[test]
    fn render_priority_is_low_or_idle() {
        use crate::priority::RenderPriority;
        let parse = |v: &str| {
            Figment::from(Toml::string(&format!("[screenshots]\npriority = \"{v}\"")))
                .extract::<Config>()
        };
        assert_eq!(
            parse("low").expect("low").screenshots.priority,
            RenderPriority::Low
        );
        assert_eq!(Config::default().screenshots.priority, RenderPriority::Idle);
        let e = parse("realtime").expect_err("unknown").to_string();
        assert!(e.contains("low") && e.contains("idle"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.metadata.url = Secret::new("postgres://u:hunter2@h/db");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn out_of_range_names_key_value_and_rule() {
        let mut c = Config::default();
        c.pools.sql.workers = 0;
        let e = c.validate().expect_err("must fail").to_string();
        assert!(e.contains("pools.sql.workers = 0"), "{e}");
        assert!(e.contains("1..=1024"), "{e}");
    }

    #[test]
    fn non_loopback_without_auth_refuses() {
        let mut c = Config::default();
        c.server.bind = "0.0.0.0:8080".into();
        let e = c.validate().expect_err("must fail").to_string();
        assert!(e.contains("not a loopback address"), "{e}");
        assert!(e.contains("enable authentication"), "{e}");
    }

    #[test]
    fn bind_and_port_options_override_the_address() {
        let mut c = Config::default();
        c.override_bind(None, Some(5008)).expect("port");
        assert_eq!(c.server.bind, "127.0.0.1:5008");
        c.override_bind(Some("::1"), None).expect("ip alone");
        assert_eq!(c.server.bind, "[::1]:5008");
        c.override_bind(Some("127.0.0.2:9000"), Some(9001))
            .expect("both");
        assert_eq!(c.server.bind, "127.0.0.2:9001");
        let e = c
            .override_bind(Some("example.com"), None)
            .expect_err("not an address")
            .to_string();
        assert!(e.contains("--bind"), "{e}");
        c.override_bind(Some("0.0.0.0"), None).expect("parses");
        let e = c.validate().expect_err("still refused").to_string();
        assert!(e.contains("not a loopback address"), "{e}");
    }

    #[test]
    fn the_reference_file_parses_and_matches_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let from_file: Config = Figment::from(Toml::file(&path))
            .extract()
            .expect("config/default.toml parses");
        let a = serde_json::to_value(&from_file).expect("serialize");
        let b = serde_json::to_value(Config::default()).expect("serialize");
        assert_eq!(
            a, b,
            "config/default.toml must document exactly the built-in defaults"
        );
    }
}
