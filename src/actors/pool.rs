//! Tool pools: N `ToolWorker` actors behind an admission limit.
//!
//! A pool admits at most `workers + queue` calls at once; the next one is refused at once
//! with `overloaded` and a retry hint. An admitted call goes to the worker with the fewest
//! calls waiting. A worker runs one call at a time, under the pool's time limit and the
//! caller's cancellation. A panic inside a tool becomes an `internal` error for that call
//! only; the worker then stops and actix's supervisor restarts it in place (same address,
//! same mailbox), while the process stays up.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::FutureExt;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::config::{Config, FaultsConfig, PoolConfig};
use crate::error::ToolError;
use crate::tools::{ToolCtx, ToolSpec};

/// The pools tools are assigned to; slow families cannot starve quick ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Catalog,
    Sql,
    Charts,
    Admin,
}

impl PoolKind {
    pub const ALL: [PoolKind; 4] = [Self::Catalog, Self::Sql, Self::Charts, Self::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Sql => "sql",
            Self::Charts => "charts",
            Self::Admin => "admin",
        }
    }

    pub fn config(self, config: &Config) -> &PoolConfig {
        match self {
            Self::Catalog => &config.pools.catalog,
            Self::Sql => &config.pools.sql,
            Self::Charts => &config.pools.charts,
            Self::Admin => &config.pools.admin,
        }
    }
}

/// Releases a call's place in its pool and worker when dropped, whatever happened to it.
struct Admission {
    pool_in_flight: Arc<AtomicUsize>,
    worker_pending: Arc<AtomicUsize>,
    pool: PoolKind,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let left = self.pool_in_flight.fetch_sub(1, Ordering::AcqRel) - 1;
        self.worker_pending.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("vizier_pool_in_flight", "pool" => self.pool.as_str()).set(left as f64);
    }
}

/// Run one tool call; the outcome goes back on `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunTool {
    pub tool: Arc<ToolSpec>,
    pub ctx: ToolCtx,
    pub args: Value,
    pub reply: oneshot::Sender<Result<Value, ToolError>>,
    admission: Admission,
}

pub struct ToolWorker {
    pool: PoolKind,
    index: usize,
    timeout: Duration,
    mailbox: usize,
    faults: Arc<FaultsConfig>,
}

impl Actor for ToolWorker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Admission already bounds what can reach this mailbox; this only keeps actix from
        // refusing a call that was admitted.
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

impl actix::Supervised for ToolWorker {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        metrics::counter!("vizier_actor_restarts_total", "actor" => self.pool.as_str())
            .increment(1);
        tracing::warn!(
            pool = self.pool.as_str(),
            worker = self.index,
            "tool worker restarting"
        );
    }
}

/// What became of a call inside the worker.
enum Outcome {
    Done(Result<Value, ToolError>),
    Panicked(ToolError),
}

impl Handler<RunTool> for ToolWorker {
    // Atomic: the worker takes no other message until this call is done, which is what
    // bounds each pool's concurrency to its number of workers.
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: RunTool, _ctx: &mut Self::Context) -> Self::Result {
        let RunTool {
            tool,
            ctx,
            args,
            reply,
            admission,
        } = msg;
        let timeout = self.timeout;
        let faults = self.faults.clone();
        let pool = self.pool;
        let fut = async move {
            if ctx.ct.is_cancelled() {
                return Outcome::Done(Err(ToolError::cancelled()));
            }
            let ct = ctx.ct.clone();
            let name = tool.name;
            let run = AssertUnwindSafe(async move {
                if let Some(ms) = faults.delay_ms.get(name) {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                }
                if faults.panic_tools.iter().any(|t| t == name) {
                    panic!("fault injection: {name} panics");
                }
                let span = ctx.span.clone();
                tracing::Instrument::instrument((tool.run)(ctx, args), span).await
            })
            .catch_unwind();
            tokio::select! {
                r = tokio::time::timeout(timeout, run) => match r {
                    Ok(Ok(result)) => Outcome::Done(result),
                    Ok(Err(panic)) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "non-string panic".into());
                        Outcome::Panicked(ToolError::internal(format!("tool {name} panicked: {what}")))
                    }
                    Err(_) => Outcome::Done(Err(ToolError::timeout(
                        &format!("The {name} call"),
                        timeout.as_millis() as u64,
                    ))),
                },
                _ = ct.cancelled() => Outcome::Done(Err(ToolError::cancelled())),
            }
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |outcome, _act, ctx| {
                drop(admission);
                match outcome {
                    Outcome::Done(result) => {
                        let _ = reply.send(result);
                    }
                    Outcome::Panicked(error) => {
                        metrics::counter!("vizier_tool_panics_total", "pool" => pool.as_str())
                            .increment(1);
                        let _ = reply.send(Err(error));
                        // A panic may have left the worker's state inconsistent: start afresh.
                        ctx.stop();
                    }
                }
            },
        )))
    }
}

/// One pool: its workers and its admission counters.
pub struct ToolPool {
    kind: PoolKind,
    capacity: usize,
    retry_after_secs: u64,
    in_flight: Arc<AtomicUsize>,
    workers: Vec<(Addr<ToolWorker>, Arc<AtomicUsize>)>,
}

impl ToolPool {
    /// Start the pool's workers, spread over `arbiters`, each under actix's supervisor.
    pub fn start(kind: PoolKind, config: &Config, arbiters: &[ArbiterHandle]) -> Self {
        let pc = kind.config(config);
        let capacity = pc.workers + pc.queue;
        let faults = Arc::new(config.faults.clone());
        let workers = (0..pc.workers)
            .map(|index| {
                let arbiter = &arbiters[index % arbiters.len()];
                let worker = ToolWorker {
                    pool: kind,
                    index,
                    timeout: Duration::from_millis(pc.timeout_ms),
                    mailbox: capacity.max(1),
                    faults: faults.clone(),
                };
                let addr = actix::Supervisor::start_in_arbiter(arbiter, move |_| worker);
                (addr, Arc::new(AtomicUsize::new(0)))
            })
            .collect();
        Self {
            kind,
            capacity,
            retry_after_secs: config.pools.retry_after_secs,
            in_flight: Arc::new(AtomicUsize::new(0)),
            workers,
        }
    }

    /// Calls admitted and not yet finished (running or waiting).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Admit the call and hand it to the least busy worker, or refuse it at once.
    pub async fn call(
        &self,
        tool: Arc<ToolSpec>,
        ctx: ToolCtx,
        args: Value,
    ) -> Result<Value, ToolError> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if before >= self.capacity {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("vizier_pool_refusals_total", "pool" => self.kind.as_str())
                .increment(1);
            return Err(ToolError::overloaded(
                self.kind.as_str(),
                self.retry_after_secs,
            ));
        }
        metrics::gauge!("vizier_pool_in_flight", "pool" => self.kind.as_str())
            .set((before + 1) as f64);
        let (addr, pending) = self
            .workers
            .iter()
            .min_by_key(|(_, p)| p.load(Ordering::Acquire))
            .ok_or_else(|| ToolError::internal("tool pool has no workers"))?;
        pending.fetch_add(1, Ordering::AcqRel);
        let admission = Admission {
            pool_in_flight: self.in_flight.clone(),
            worker_pending: pending.clone(),
            pool: self.kind,
        };
        let (reply, rx) = oneshot::channel();
        let queued_at = Instant::now();
        addr.try_send(RunTool {
            tool,
            ctx,
            args,
            reply,
            admission,
        })
        .map_err(|e| {
            // The admission guard inside the message is dropped with it.
            ToolError::unavailable(
                format!(
                    "The {} pool could not take the call ({e}).",
                    self.kind.as_str()
                ),
                1,
            )
        })?;
        let result = rx.await.map_err(|_| {
            ToolError::internal(format!(
                "{} worker dropped a call without answering",
                self.kind.as_str()
            ))
        })?;
        tracing::trace!(
            pool = self.kind.as_str(),
            waited_ms = queued_at.elapsed().as_millis() as u64,
            "call done"
        );
        result
    }
}

/// All tool pools, indexed by kind.
pub struct ToolPools {
    pools: [ToolPool; 4],
}

impl ToolPools {
    /// Start every pool; the SQL pool on `source_arbiters` (where the data-source actors
    /// run), the charts pool on `chart_arbiters` (threads at the render priority), the
    /// others on `arbiters`.
    pub fn start(
        config: &Config,
        arbiters: &[ArbiterHandle],
        source_arbiters: &[ArbiterHandle],
        chart_arbiters: &[ArbiterHandle],
    ) -> Self {
        Self {
            pools: PoolKind::ALL.map(|k| {
                let on = match k {
                    PoolKind::Sql => source_arbiters,
                    PoolKind::Charts => chart_arbiters,
                    _ => arbiters,
                };
                ToolPool::start(k, config, on)
            }),
        }
    }

    pub fn get(&self, kind: PoolKind) -> &ToolPool {
        &self.pools[kind as usize]
    }
}
