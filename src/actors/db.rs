//! `DbActor`: owns the bb8 pool of metadata connections.
//!
//! It hands out connections ([`Checkout`]) and never runs queries itself, so it serves any
//! number of callers at once: each checkout is a future the actor spawns, not a step the
//! actor waits on. The pool's connection tasks live on the actor's arbiter; callers run
//! their queries on their own threads with the connection they were given.

use actix::prelude::*;

use crate::config::MetadataBackend;
use crate::db::{MetaConn, MetaPool};
use crate::error::ToolError;

/// Seconds a caller is told to wait when the metadata store cannot give a connection.
const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 1;

pub struct DbActor {
    pool: MetaPool,
}

impl DbActor {
    pub fn new(pool: MetaPool) -> Self {
        Self { pool }
    }
}

impl Actor for DbActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Checkouts are spawned at once, so the mailbox only holds requests not yet
        // dispatched; keep it generous so bursts are not refused here.
        ctx.set_mailbox_capacity(4096);
    }
}

impl actix::Supervised for DbActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
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
            pool.get().await.map_err(|e| {
                tracing::warn!(error = %e, "metadata connection unavailable");
                ToolError::unavailable(
                    "The metadata store did not give a connection in time; retry shortly.",
                    RETRY_AFTER_UNAVAILABLE_SECS,
                )
            })
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
}

impl Db {
    pub fn new(addr: Addr<DbActor>, backend: MetadataBackend) -> Self {
        Self { addr, backend }
    }

    pub fn backend(&self) -> MetadataBackend {
        self.backend
    }

    /// A metadata connection, or `unavailable` when the store cannot give one in time.
    pub async fn conn(&self) -> Result<MetaConn, ToolError> {
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
