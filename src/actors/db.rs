//! `DbActor`: owns the bb8 pool of metadata connections.
//!
//! It hands out connections ([`Checkout`]) and never runs queries itself, so it serves any
//! number of callers at once: each checkout is a future the actor spawns, not a step the
//! actor waits on. The pool's connection tasks live on the actor's arbiter; callers run
//! their queries on their own threads with the connection they were given.
//!
//! Outages: a failed connection attempt marks the store down at once (the pool's error sink,
//! see `MetaPool`), and a checkout waiting meanwhile gives up at that moment instead of after
//! `metadata.connect_timeout_ms`. While down, [`Db::conn`] answers `unavailable` (with a
//! retry hint) without trying; the actor probes the store every [`PROBE_EVERY`] and lets
//! calls through again once a probe gets a connection. `/ready` answers from that state.
//!
//! Liveness: while the store is up, the actor checks it every [`CHECK_EVERY`] (a connection
//! and the newest applied migration) and keeps the result in [`Liveness`], so that
//! `health_check` answers without a store round trip per call; [`Db::store_check`] checks
//! inline only when that result is older than [`CHECK_STALE_AFTER`].

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use actix::prelude::*;

use crate::config::MetadataBackend;
use crate::db::{MetaConn, MetaPool};
use crate::error::ToolError;
use crate::outage::{Outage, next_failure};

/// Seconds a caller is told to wait when the metadata store cannot give a connection.
const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 1;
/// How often a store known to be down is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long one probe waits for a connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(900);
/// How often a store that is up is checked for [`Liveness`].
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A liveness check older than this is not trusted: the caller checks for itself (the
/// actor may be restarting or its checks stuck).
pub const CHECK_STALE_AFTER: Duration = Duration::from_secs(3);

/// One check of the metadata store: a connection and its newest applied migration.
#[derive(Debug, Clone)]
pub struct StoreCheck {
    pub at: Instant,
    pub at_wall: DateTime<Utc>,
    /// How long the check took.
    pub latency: Duration,
    /// Whether the applied migrations are current, or why the check failed.
    pub result: Result<bool, String>,
    /// The pool's (connections, idle connections) when the check was made.
    pub pool: (u32, u32),
}

impl StoreCheck {
    /// The store known to be down: no attempt made.
    fn down(outage: &Outage) -> Self {
        Self {
            at: Instant::now(),
            at_wall: Utc::now(),
            latency: Duration::ZERO,
            result: Err(outage.cause().unwrap_or_else(|| "no connection".into())),
            pool: (0, 0),
        }
    }
}

/// Check the store with `conn`, timed.
async fn check_with<F>(conn: F) -> StoreCheck
where
    F: std::future::Future<Output = Result<MetaConn, String>>,
{
    let at = Instant::now();
    let at_wall = Utc::now();
    let result = match tokio::time::timeout(PROBE_TIMEOUT, async {
        let mut conn = conn.await?;
        crate::db::migrations_current(&mut conn)
            .await
            .map_err(|e| e.to_string())
    })
    .await
    {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
    };
    StoreCheck {
        at,
        at_wall,
        latency: at.elapsed(),
        result,
        pool: (0, 0),
    }
}

/// The newest store check, shared by the DbActor (which keeps it fresh) and [`Db`].
#[derive(Debug, Default)]
pub struct Liveness(RwLock<Option<StoreCheck>>);

impl Liveness {
    fn set(&self, check: StoreCheck) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(check);
        }
    }

    /// The newest check, when younger than `max_age`.
    fn fresh(&self, max_age: Duration) -> Option<StoreCheck> {
        let slot = self.0.read().ok()?;
        slot.as_ref().filter(|c| c.at.elapsed() <= max_age).cloned()
    }
}

pub struct DbActor {
    pool: MetaPool,
    probing: bool,
    checking: bool,
    liveness: Arc<Liveness>,
}

impl DbActor {
    pub fn new(pool: MetaPool, liveness: Arc<Liveness>) -> Self {
        Self {
            pool,
            probing: false,
            checking: false,
            liveness,
        }
    }

    /// While the store is up, check it for [`Liveness`]; one check at a time.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.checking || self.pool.outage().is_down() {
            return;
        }
        self.checking = true;
        let pool = self.pool.clone();
        let liveness = self.liveness.clone();
        let check = async move {
            let mut checked =
                check_with(async { pool.get().await.map_err(|e| e.to_string()) }).await;
            checked.pool = pool.state();
            liveness.set(checked);
        };
        ctx.spawn(
            check
                .into_actor(self)
                .map(|(), act, _ctx| act.checking = false),
        );
    }

    /// While the store is down, try for a connection; one probe at a time.
    fn probe(&mut self, ctx: &mut Context<Self>) {
        if self.probing || !self.pool.outage().is_down() {
            return;
        }
        self.probing = true;
        let pool = self.pool.clone();
        let probe = async move {
            match tokio::time::timeout(PROBE_TIMEOUT, pool.get()).await {
                Ok(Ok(_conn)) => pool.outage().answered(),
                Ok(Err(e)) => tracing::debug!(error = %e, "metadata store probe failed"),
                Err(_) => tracing::debug!("metadata store probe timed out"),
            }
        };
        ctx.spawn(
            probe
                .into_actor(self)
                .map(|(), act, _ctx| act.probing = false),
        );
    }
}

/// The error of a call made while the store is down (or just went down).
fn store_down(outage: &Outage) -> ToolError {
    let cause = outage.cause().unwrap_or_else(|| "no connection".into());
    ToolError::refused_unavailable(
        format!("The metadata store is unavailable ({cause}); retry shortly."),
        RETRY_AFTER_UNAVAILABLE_SECS,
    )
    .with_details(serde_json::json!({
        "component": "metadata_store",
        "retry_after_secs": RETRY_AFTER_UNAVAILABLE_SECS,
    }))
}

impl Actor for DbActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Checkouts are spawned at once, so the mailbox only holds requests not yet
        // dispatched; keep it generous so bursts are not refused here.
        ctx.set_mailbox_capacity(4096);
        ctx.run_interval(PROBE_EVERY, |act, ctx| act.probe(ctx));
        self.check(ctx);
        ctx.run_interval(CHECK_EVERY, |act, ctx| act.check(ctx));
    }
}

impl actix::Supervised for DbActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.probing = false;
        self.checking = false;
        metrics::counter!("vizier_actor_restarts_total", "actor" => "db").increment(1);
        tracing::warn!(actor = "db", "restarting");
    }
}

/// Check out one metadata connection; it returns to the pool when dropped.
#[derive(Message)]
#[rtype(result = "Result<MetaConn, ToolError>")]
pub struct Checkout;

impl Handler<Checkout> for DbActor {
    type Result = ResponseFuture<Result<MetaConn, ToolError>>;

    fn handle(&mut self, _msg: Checkout, _ctx: &mut Self::Context) -> Self::Result {
        let pool = self.pool.clone();
        Box::pin(async move {
            let outage = pool.outage().clone();
            if outage.is_down() {
                return Err(store_down(&outage));
            }
            // A connection attempt that fails while this one waits ends the wait.
            let mut failures = outage.watch();
            tokio::select! {
                got = pool.get() => got.map_err(|e| {
                    tracing::warn!(error = %e, "metadata connection unavailable");
                    ToolError::unavailable(
                        "The metadata store did not give a connection in time; retry shortly.",
                        RETRY_AFTER_UNAVAILABLE_SECS,
                    )
                }),
                () = next_failure(&mut failures) => Err(store_down(&outage)),
            }
        })
    }
}

/// Report (connections, idle connections) of the pool.
#[derive(Message)]
#[rtype(result = "(u32, u32)")]
pub struct PoolState;

impl Handler<PoolState> for DbActor {
    type Result = MessageResult<PoolState>;

    fn handle(&mut self, _msg: PoolState, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.pool.state())
    }
}

/// The handle tools use to reach the DbActor.
#[derive(Clone)]
pub struct Db {
    addr: Addr<DbActor>,
    backend: MetadataBackend,
    outage: Arc<Outage>,
    liveness: Arc<Liveness>,
}

impl Db {
    pub fn new(
        addr: Addr<DbActor>,
        backend: MetadataBackend,
        outage: Arc<Outage>,
        liveness: Arc<Liveness>,
    ) -> Self {
        Self {
            addr,
            backend,
            outage,
            liveness,
        }
    }

    /// How the metadata store is: down at once when known down, else the DbActor's newest
    /// check when fresh (no round trip), else a check made now.
    pub async fn store_check(&self) -> StoreCheck {
        if self.outage.is_down() {
            return StoreCheck::down(&self.outage);
        }
        if let Some(check) = self.liveness.fresh(CHECK_STALE_AFTER) {
            return check;
        }
        let mut check = check_with(async { self.conn().await.map_err(|e| e.message) }).await;
        check.pool = self.pool_state().await.unwrap_or_default();
        self.liveness.set(check.clone());
        check
    }

    /// Whether the store is known to be down (calls fail fast until a probe sees it back).
    pub fn is_down(&self) -> bool {
        self.outage.is_down()
    }

    pub fn backend(&self) -> MetadataBackend {
        self.backend
    }

    /// A metadata connection, or `unavailable` when the store cannot give one in time.
    pub async fn conn(&self) -> Result<MetaConn, ToolError> {
        if self.outage.is_down() {
            return Err(store_down(&self.outage));
        }
        self.addr.send(Checkout).await.map_err(|_| {
            ToolError::unavailable("The metadata store actor is restarting; retry shortly.", 1)
        })?
    }

    pub async fn pool_state(&self) -> Option<(u32, u32)> {
        self.addr.send(PoolState).await.ok()
    }
}

/// A metadata connection checked out on first use. A call whose lookups are all
/// remembered (`AppState::lookups`) never takes one: no trip to the DbActor at all.
pub struct LazyConn {
    db: Db,
    conn: Option<MetaConn>,
}

impl LazyConn {
    pub fn new(db: &Db) -> Self {
        Self {
            db: db.clone(),
            conn: None,
        }
    }

    /// Hand over a connection already checked out.
    pub fn holding(db: &Db, conn: MetaConn) -> Self {
        Self {
            db: db.clone(),
            conn: Some(conn),
        }
    }

    /// The connection, checking one out if none is held yet.
    pub async fn get(&mut self) -> Result<&mut MetaConn, ToolError> {
        match &mut self.conn {
            Some(conn) => Ok(conn),
            slot @ None => Ok(slot.insert(self.db.conn().await?)),
        }
    }

    /// Give the connection back to the pool now (before waiting on something slow).
    pub fn release(&mut self) {
        self.conn = None;
    }
}
