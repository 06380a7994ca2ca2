//! App assembly shared by `main` and the tests: build the state (config, metadata store,
//! actors, bootstrap data), then serve it over HTTP or stdio; and the one-off commands of
//! the command line that reach the tools' code (API keys, databases, users).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use anyhow::{Context, bail};
use chrono::Utc;

use crate::actors::Supervisor;
use crate::auth::PrincipalCache;
use crate::config::Config;
use crate::db::secrets::KeySource;
use crate::db::{MetaPool, migrations_current, run_migrations};
use crate::query::index::CatalogIndex;
use crate::tools::Registry;
use crate::tools::state::AppState;

/// How long a loaded principal is reused before its roles are read again.
const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

/// Build the app: migrate when configured, connect, start the actors, make sure the
/// built-in roles, the dev user and (embedded default) the example data exist.
/// Must run inside an actix System.
pub async fn build(config: Config) -> anyhow::Result<Arc<AppState>> {
    let started_at = Instant::now();
    let config = Arc::new(config);
    let keys = KeySource::from_config(&config)?;
    auto_migrate(&config).await?;
    let pool = MetaPool::connect(&config).await?;
    let cipher = {
        let mut conn = pool.get().await.context("metadata store: no connection")?;
        if !migrations_current(&mut conn).await.unwrap_or(false) {
            bail!(
                "the metadata store is missing migrations: run `vizier migrate` (or set metadata.auto_migrate = true)"
            );
        }
        let cipher = keys.open(&config, &mut conn).await?;
        crate::auth::roles::ensure_builtin_roles(&mut conn)
            .await
            .context("could not create the built-in roles")?;
        if !config.auth.enabled {
            crate::auth::roles::ensure_user(&mut conn, config.auth.dev_user(), "admin", None)
                .await
                .context("could not create the dev user")?;
        }
        if config.examples_enabled() {
            crate::example::ensure(&mut conn, &config, &cipher, config.auth.dev_user()).await?;
        }
        cipher
    };
    // Stops the JWKS background refresh when the app is dropped.
    let background = tokio_util::sync::CancellationToken::new();
    let jwt = if config.auth.enabled {
        let verifier = Arc::new(
            crate::auth::jwt::JwtVerifier::new(&config.auth.jwt)
                .map_err(|e| anyhow::anyhow!("config key auth.jwt: {e}"))?,
        );
        verifier.start(background.clone());
        Some(verifier)
    } else {
        None
    };
    let limiter = crate::limits::RateLimiter::new(&config.rate_limits)
        .await
        .map_err(|e| anyhow::anyhow!("config key rate_limits: {e}"))?;
    let registry = Registry::configured(&config.tools)?;
    let topology = Supervisor::launch(&config, pool);
    let cache_config = config.cache.clone();
    let catalog = Arc::new(CatalogIndex::new(cache_config.catalog_index));
    if catalog.enabled() {
        watch_catalog(
            catalog.clone(),
            topology.db.clone(),
            Duration::from_millis(cache_config.catalog_refresh_ms.max(10)),
            background.clone(),
        );
    }
    let app = Arc::new(AppState {
        config,
        db: topology.db,
        history: topology.history,
        audit: topology.audit,
        datasources: topology.datasources,
        pools: topology.pools,
        screenshots: topology.screenshots,
        limiter,
        registry,
        call_metrics: Default::default(),
        principals: PrincipalCache::new(PRINCIPAL_TTL),
        cipher,
        cache: (cache_config.ttl_ms > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(cache_config.max_entries)
                .time_to_live(Duration::from_millis(cache_config.ttl_ms))
                .build()
        }),
        flights: Default::default(),
        lookups: (cache_config.ttl_ms > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(cache_config.max_entries)
                .time_to_live(Duration::from_millis(cache_config.ttl_ms))
                .build()
        }),
        chart_data: crate::tools::chart_data::chart_data_cache(&cache_config),
        catalog,
        jwt,
        background,
        api_key_touched: crate::auth::resolve::touched_cache(),
        started_at,
        started_wall: Utc::now(),
        supervisor: topology.supervisor,
        draining: AtomicBool::new(false),
        in_flight: std::sync::atomic::AtomicUsize::new(0),
    });
    tracing::info!(
        metadata = app.db.backend().as_str(),
        ready_ms = started_at.elapsed().as_millis() as u64,
        "vizier state ready"
    );
    Ok(app)
}

/// Poll the store's catalog change counter every `every` while the app lives: a move made
/// by another replica or process marks the in-memory catalog index stale; a failed read
/// (the store down) leaves it unverified, so calls go to the store (and report the outage)
/// until a read succeeds again. After each good read a stale snapshot is reloaded in the
/// background.
fn watch_catalog(
    index: Arc<CatalogIndex>,
    db: crate::actors::Db,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    actix_web::rt::spawn(async move {
        let mut last = None;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let counter = match db.conn().await {
                Ok(mut conn) => CatalogIndex::store_counter(&mut conn)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.message),
            };
            if let Err(e) = &counter {
                tracing::debug!(error = %e, "catalog change counter not read");
            }
            index.saw_counter(&mut last, counter.ok());
            // Reload a stale snapshot here, between calls, so that a call rarely waits for
            // a load after a write here or elsewhere.
            if let Err(e) = index.refresh(|| db.conn()).await {
                tracing::debug!(error = %e.message, "catalog index not loaded");
            }
        }
    });
}

/// A running HTTP server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub app: Arc<AppState>,
    pub server: actix_web::dev::Server,
}

/// Bind the HTTP server. The returned `server` future must be awaited (or spawned).
pub fn http_server(app: Arc<AppState>) -> anyhow::Result<RunningServer> {
    let bind = app.config.bind_addr()?;
    // /metrics on the main address unless it has an address of its own.
    let metrics = if app.config.metrics.enabled && app.config.metrics.bind.is_none() {
        Some(crate::observability::metrics::install()?)
    } else {
        None
    };
    let workers = match app.config.server.http_workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = app.clone();
    let clients =
        crate::mcp::http::ClientConnections::new(app.config.server.max_connections_per_client);
    let on_connect = clients.clone();
    let server = HttpServer::new(move || {
        let state = state.clone();
        let metrics = metrics.clone();
        App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::mcp::http::connection_limit,
            ))
            .configure(move |cfg| crate::mcp::http::configure(cfg, state, metrics))
    })
    // Counts each client address's open connections (see `server.max_connections_per_client`).
    .on_connect(move |conn, ext| on_connect.opened(conn, ext))
    .client_request_timeout(Duration::from_millis(
        app.config.server.request_head_timeout_ms,
    ))
    .workers(workers)
    // A client that closes its side is gone (MCP clients never half-close on purpose):
    // end the connection so the in-flight call is dropped and its cancellation reaches
    // the worker, instead of finishing work no one will read.
    .h1_allow_half_closed(false)
    // Responses are small and latency-bound; Nagle's algorithm would hold SSE events back
    // behind delayed ACKs (~40 ms per call on keep-alive connections).
    .tcp_nodelay(true)
    // SIGTERM is handled by `serve` (drain first, then stop), not by actix's own handler.
    .disable_signals()
    // actix's own stop gets the stop reserve, not the whole grace again: calls had theirs.
    .shutdown_timeout(
        stop_reserve(Duration::from_millis(app.config.server.shutdown_grace_ms))
            .as_secs()
            .max(1),
    )
    .bind(bind)
    .with_context(|| format!("could not listen on {bind}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .context("the server bound no address")?;
    let server = server.run();
    Ok(RunningServer {
        addr,
        handle: server.handle(),
        app,
        server,
    })
}

/// The separate metrics listener, when `metrics.bind` is set.
pub fn metrics_server(app: Arc<AppState>) -> anyhow::Result<Option<actix_web::dev::Server>> {
    let (true, Some(bind)) = (app.config.metrics.enabled, app.config.metrics.bind.clone()) else {
        return Ok(None);
    };
    let handle = crate::observability::metrics::install()?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(actix_web::web::Data::new(app.clone()))
            .app_data(actix_web::web::Data::new(handle.clone()))
            .route(
                "/metrics",
                actix_web::web::get().to(crate::mcp::http::metrics_route),
            )
    })
    .workers(1)
    .disable_signals()
    .bind(&bind)
    .with_context(|| format!("could not listen on {bind} (metrics.bind)"))?
    .run();
    Ok(Some(server))
}

/// Serve until SIGTERM or SIGINT, then drain, all within `server.shutdown_grace_ms`:
/// readiness turns false and new calls are refused at once; in-flight calls get the grace
/// minus the [`stop_reserve`] to finish, and calls still waiting for a worker that cannot
/// finish by then are refused (503 + Retry-After); then the listeners stop (open connections
/// closed), the audit log's last records are written, and the actors stop, in what is left.
pub async fn serve_until_signal(running: RunningServer) -> anyhow::Result<()> {
    let app = running.app.clone();
    let grace = Duration::from_millis(app.config.server.shutdown_grace_ms);
    let signalled = watch_signals(grace)?;
    let metrics = metrics_server(app.clone())?;
    let metrics_handle = metrics.as_ref().map(actix_web::dev::Server::handle);
    if let Some(m) = metrics {
        actix_web::rt::spawn(m);
    }
    let server = actix_web::rt::spawn(running.server);
    let (name, started) = signalled
        .await
        .context("the signal watcher stopped before a signal")?;
    tracing::info!(
        late_ms = started.elapsed().as_millis() as u64,
        "{name}: draining"
    );
    app.start_draining();
    let exit_by = started + grace;
    let calls_by = exit_by - stop_reserve(grace);
    app.pools.drain(calls_by);
    while app.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < calls_by {
        tokio::time::sleep(Duration::from_millis(DRAIN_POLL_MS)).await;
    }
    let left = app.in_flight.load(Ordering::Acquire);
    if left > 0 {
        tracing::warn!(
            calls = left,
            at_ms = started.elapsed().as_millis() as u64,
            "grace period over: stopping with calls still running"
        );
    }
    // Whatever actix's own stop does, the exit keeps to the grace: what is left of it.
    let stopping = async {
        running.handle.stop(true).await;
        if let Some(h) = metrics_handle {
            h.stop(true).await;
        }
        let _ = server.await;
    };
    if tokio::time::timeout_at(exit_by.into(), stopping)
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the end of the grace period: closing them");
    }
    tracing::info!(
        at_ms = started.elapsed().as_millis() as u64,
        "listeners stopped"
    );
    let audit_time = exit_by
        .saturating_duration_since(Instant::now())
        .min(crate::actors::audit::AUDIT_DRAIN_TIMEOUT);
    if !app.audit.drain(audit_time).await {
        tracing::warn!("audit records still unwritten at shutdown");
    }
    tracing::info!(
        at_ms = started.elapsed().as_millis() as u64,
        "audit log drained"
    );
    app.supervisor.do_send(crate::actors::supervisor::Shutdown);
    tracing::info!(drain_ms = started.elapsed().as_millis() as u64, "stopped");
    Ok(())
}

/// Watches for SIGTERM and SIGINT on a thread of its own, so that the exit deadline does not
/// depend on the runtime that serves: the first signal is handed to `serve_until_signal`
/// (with the moment it came) to drain; if the process still runs [`EXIT_MARGIN`] after the
/// grace (a runtime stalled, an exit handler hung), or a second signal comes, the watcher
/// ends the process at once, as Kubernetes would after the grace it was promised.
fn watch_signals(
    grace: Duration,
) -> anyhow::Result<tokio::sync::oneshot::Receiver<(&'static str, Instant)>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    std::thread::Builder::new()
        .name("vizier-signals".into())
        .spawn(move || {
            // A signal stream belongs to the runtime it was made in: make both here.
            let setup = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the signal watcher's runtime")
                .and_then(|runtime| {
                    let signals = {
                        let _inside = runtime.enter();
                        listen_for_signals()?
                    };
                    Ok((runtime, signals))
                });
            let (runtime, (mut term, mut int)) = match setup {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let why = runtime.block_on(async move {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                let deadline = Instant::now() + grace + EXIT_MARGIN;
                let _ = tx.send((name, Instant::now()));
                tokio::select! {
                    () = tokio::time::sleep_until(deadline.into()) => {
                        "vizier: the shutdown overran server.shutdown_grace_ms: exiting now\n"
                    }
                    _ = term.recv() => "vizier: a second SIGTERM: exiting now\n",
                    _ = int.recv() => "vizier: a second SIGINT: exiting now\n",
                }
            });
            // Straight to the file descriptor: the stderr lock may be what is stuck. SIGKILL
            // to itself: no exit handler runs (`_exit` would need `unsafe`).
            let _ = nix::unistd::write(std::io::stderr(), why.as_bytes());
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
        })
        .context("cannot start the signal watcher")?;
    ready
        .recv()
        .context("the signal watcher stopped while starting")??;
    Ok(rx)
}

/// SIGTERM and SIGINT streams, in the current runtime.
fn listen_for_signals() -> anyhow::Result<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>
{
    use tokio::signal::unix::{SignalKind, signal};
    Ok((
        signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
    ))
}

/// How long after the grace the signal watcher ends a process that has not exited.
const EXIT_MARGIN: Duration = Duration::from_millis(300);

/// The part of the shutdown grace kept for stopping after calls had theirs: closing the
/// listeners and connections, writing the audit log's last records. A quarter of the grace,
/// at most [`STOP_RESERVE_MAX`].
pub fn stop_reserve(grace: Duration) -> Duration {
    (grace / 4).min(STOP_RESERVE_MAX)
}

/// The longest stop reserve (see [`stop_reserve`]).
const STOP_RESERVE_MAX: Duration = Duration::from_secs(5);

/// How often draining checks whether the last call finished.
const DRAIN_POLL_MS: u64 = 20;

/// Pending migrations applied when `metadata.auto_migrate` says so.
async fn auto_migrate(config: &Config) -> anyhow::Result<()> {
    if config.auto_migrate() {
        let applied = run_migrations(config).await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
    }
    Ok(())
}

/// `vizier prepare`: what only a first start has to do before the app is built — pending
/// migrations and the example data file — so that a first `serve` can run it in a child
/// process and keep none of its memory. `build` finds it done, or does it itself.
pub async fn prepare(config: &Config) -> anyhow::Result<()> {
    auto_migrate(config).await?;
    if config.examples_enabled() {
        let path = config.examples.path.clone();
        tokio::task::spawn_blocking(move || crate::example::data::ensure(&path))
            .await
            .context("example data task panicked")??;
    }
    Ok(())
}

/// A connection to the metadata store for a one-off command, migrating it first when
/// `metadata.auto_migrate` says so.
pub async fn command_store(config: &Config) -> anyhow::Result<crate::db::MetaConn> {
    auto_migrate(config).await?;
    let pool = MetaPool::connect(config).await?;
    pool.get()
        .await
        .map_err(|e| anyhow::anyhow!("metadata store: {e}"))
}

/// `vizier api-key create`: a new API key of `user`; the key (shown once) and its id.
pub async fn create_api_key(
    config: &Config,
    user: &str,
    name: &str,
    scopes: &[String],
    expires_in_days: Option<u32>,
) -> anyhow::Result<(String, i32)> {
    let mut conn = command_store(config).await?;
    let (key, id, _) = crate::tools::admin::issue_api_key(
        &mut conn,
        user,
        name,
        scopes,
        expires_in_days,
        None,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok((key, id))
}

/// `vizier database register`: register a data source; what was registered.
pub async fn register_database(
    config: &Config,
    name: String,
    url: String,
    description: Option<String>,
    allow_dml: bool,
    tenant: Option<&str>,
) -> anyhow::Result<crate::tools::admin::Registered> {
    let keys = crate::db::secrets::KeySource::from_config(config)?;
    let mut conn = command_store(config).await?;
    let cipher = keys.open(config, &mut conn).await?;
    let args = crate::tools::admin::RegisterArgs {
        database_name: name,
        url,
        description,
        allow_dml,
        row_limit: None,
        statement_timeout_ms: None,
        pool_size: None,
        exposed_schemas: vec![],
        templating: false,
        session_settings: Default::default(),
    };
    crate::tools::admin::register_source(config, &cipher, &mut conn, args, None, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// `vizier user create`: make sure the user exists (with `roles` when created); the user,
/// and whether it was created.
pub async fn create_user(
    config: &Config,
    name: String,
    roles: Vec<String>,
    email: Option<String>,
    tenant: Option<&str>,
) -> anyhow::Result<(crate::tools::users::UserItem, bool)> {
    let mut conn = command_store(config).await?;
    // On a store no server has started on yet (a Helm hook right after the migration Job),
    // the built-in roles are not there yet.
    crate::auth::roles::ensure_builtin_roles(&mut conn).await?;
    let args = crate::tools::users::CreateUserArgs {
        username: name,
        roles,
        active: None,
        email,
        first_name: None,
        last_name: None,
    };
    crate::tools::users::ensure_user(&mut conn, tenant, args)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// `vizier user list`: every user (of `tenant`).
pub async fn list_users(
    config: &Config,
    tenant: Option<&str>,
) -> anyhow::Result<Vec<crate::tools::users::UserItem>> {
    let mut conn = command_store(config).await?;
    crate::tools::users::all_users(&mut conn, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// `vizier superset import`: a Superset export bundle into the store (in `tenant`), with
/// `urls` for databases the bundle masks; the report.
pub async fn superset_import(
    config: &Config,
    zip: &[u8],
    urls: &std::collections::BTreeMap<String, String>,
    tenant: Option<&str>,
) -> anyhow::Result<crate::superset::import::Report> {
    let keys = crate::db::secrets::KeySource::from_config(config)?;
    let mut conn = command_store(config).await?;
    let cipher = keys.open(config, &mut conn).await?;
    crate::tools::superset::import_bundle(config, &cipher, &mut conn, zip, urls, None, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// `vizier superset export`: a dashboard (id, uuid or slug) with its charts, datasets and
/// databases as a Superset bundle; the ZIP and what it holds.
pub async fn superset_export(
    config: &Config,
    dashboard: &str,
) -> anyhow::Result<(Vec<u8>, crate::superset::export::Exported)> {
    let keys = crate::db::secrets::KeySource::from_config(config)?;
    let mut conn = command_store(config).await?;
    let cipher = keys.open(config, &mut conn).await?;
    crate::tools::superset::export_for_cli(&mut conn, &cipher, dashboard)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
}
