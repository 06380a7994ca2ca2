//! Tool pools: N `ToolWorker` actors behind an admission limit.
//!
//! - **Deadline.** Every call has one deadline, `pools.<pool>.timeout_ms` from admission,
//!   covering its wait for a worker and its run together. When it passes the caller gets a
//!   `timeout` error naming the pool and the deadline, whether the call still waited or ran.
//!   A waiting call that would not make its deadline if started now (its wait plus the mean
//!   run time) gets that error when a worker reaches it, instead of running to be cut off;
//!   one whose caller is gone is skipped.
//! - **Admission.** A pool admits at most `workers + queue` calls at once, and refuses at
//!   once (`overloaded`, HTTP 503 + `Retry-After`) a call that would wait longer than its
//!   deadline allows: expected wait = calls waiting × recent mean run time / workers, and
//!   the call is refused when that wait plus one mean run time exceeds the deadline.
//! - **Drain.** Once [`ToolPools::drain`] names the time the process stops taking work, a
//!   waiting call that cannot finish by then (its mean run time does not fit) is refused as
//!   `unavailable` (HTTP 503 + `Retry-After`) instead of run.
//!
//! An admitted call goes to the worker with the fewest calls waiting. A worker runs one call
//! at a time, under the deadline and the caller's cancellation. A panic inside a tool
//! becomes an `internal` error for that call only; the worker then stops and actix's
//! supervisor restarts it in place (same address, same mailbox), while the process stays up.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, FaultsConfig, PoolConfig};
use crate::error::ToolError;
use crate::output::ToolOutput;

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

/// Run times weigh this much (as 1/N) in a pool's moving mean.
const SERVICE_MEAN_WEIGHT: u64 = 8;

/// When the process stops taking work, once it is shutting down; shared by every pool.
#[derive(Debug, Default)]
pub struct Drain(OnceLock<Instant>);

impl Drain {
    /// The instant by which calls must be done, if draining.
    pub fn deadline(&self) -> Option<Instant> {
        self.0.get().copied()
    }
}

/// What a pool's handle and its workers share: its limits and its recent run times.
struct PoolState {
    kind: PoolKind,
    workers: usize,
    /// The deadline of one call, from admission: queue wait and run together.
    timeout: Duration,
    retry_after_secs: u64,
    /// Moving mean of run times in microseconds; 0 until a call has run.
    service_us: AtomicU64,
    drain: Arc<Drain>,
}

impl PoolState {
    fn mean_service(&self) -> Duration {
        Duration::from_micros(self.service_us.load(Ordering::Acquire))
    }

    fn note_service(&self, took: Duration) {
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .service_us
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                Some(match old {
                    0 => took_us,
                    old => old - old / SERVICE_MEAN_WEIGHT + took_us / SERVICE_MEAN_WEIGHT,
                })
            });
    }

    /// How long a call admitted behind `ahead` others (running or waiting) is expected to
    /// wait for a worker.
    fn expected_wait(&self, ahead: usize) -> Duration {
        let waiting = ahead.saturating_sub(self.workers.saturating_sub(1));
        let waiting = u32::try_from(waiting).unwrap_or(u32::MAX);
        let workers = u32::try_from(self.workers.max(1)).unwrap_or(u32::MAX);
        self.mean_service().saturating_mul(waiting) / workers
    }

    /// The call's deadline passed (waiting, or running).
    fn deadline_passed(&self, tool: &str, queued: Duration) -> ToolError {
        let (pool, limit_ms) = (self.kind.as_str(), self.timeout.as_millis());
        self.deadline_error(
            format!(
                "The {tool} call did not finish within the {pool} pool's deadline of {limit_ms} ms \
                 (pools.{pool}.timeout_ms, waiting for a worker and running together; it waited \
                 {} ms). Retry later, or ask for less.",
                queued.as_millis()
            ),
            queued,
        )
    }

    /// A waiting call that would not finish by its deadline if it started now: not run.
    fn deadline_unreachable(&self, tool: &str, queued: Duration) -> ToolError {
        let (pool, limit_ms) = (self.kind.as_str(), self.timeout.as_millis());
        self.deadline_error(
            format!(
                "The {tool} call could not finish within the {pool} pool's deadline of \
                 {limit_ms} ms (pools.{pool}.timeout_ms): it waited {} ms for a worker and calls \
                 take about {} ms, so it was not run. Retry later, or ask for less.",
                queued.as_millis(),
                self.mean_service().as_millis()
            ),
            queued,
        )
    }

    /// A `timeout` error about this pool's deadline, with the details both cases carry.
    fn deadline_error(&self, message: String, queued: Duration) -> ToolError {
        ToolError::new(crate::error::ErrorKind::Timeout, message).with_details(serde_json::json!({
            "pool": self.kind.as_str(),
            "limit_ms": self.timeout.as_millis() as u64,
            "queued_ms": queued.as_millis() as u64,
        }))
    }

    /// A call that cannot finish before the process stops taking work.
    fn shutting_down(&self) -> ToolError {
        ToolError::refused_unavailable(
            "This replica is shutting down and the call could not finish before it stops; it \
             was not run. Retry (another replica will answer).",
            self.retry_after_secs,
        )
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

/// One call for a pool to run: what the worker needs to know of it, and the work itself.
/// The tools make these (`ToolSpec::job`); the pool knows nothing else of tools.
pub struct Job {
    /// The tool's name, for errors, logs and fault injection.
    pub name: &'static str,
    /// Cancelled when the client cancels the call or goes away.
    pub cancel: CancellationToken,
    /// The call's span: the work runs inside it.
    pub span: tracing::Span,
    /// Starts the work; called on the worker, inside the call's deadline and panic guard.
    pub run: Box<dyn FnOnce() -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send>,
}

/// Run one tool call; the outcome goes back on `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunTool {
    pub job: Job,
    pub reply: oneshot::Sender<Result<ToolOutput, ToolError>>,
    /// When the call was admitted; its deadline is this plus the pool's timeout.
    admitted_at: Instant,
    admission: Admission,
}

pub struct ToolWorker {
    pool: PoolKind,
    index: usize,
    state: Arc<PoolState>,
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
    Done(Result<ToolOutput, ToolError>),
    Panicked(ToolError),
    /// Nobody waits for it any more: not run.
    Skipped,
}

impl Handler<RunTool> for ToolWorker {
    // Atomic: the worker takes no other message until this call is done, which is what
    // bounds each pool's concurrency to its number of workers.
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: RunTool, _ctx: &mut Self::Context) -> Self::Result {
        let RunTool {
            job,
            reply,
            admitted_at,
            admission,
        } = msg;
        let state = self.state.clone();
        let faults = self.faults.clone();
        let pool = self.pool;
        let started = Instant::now();
        let queued = started.saturating_duration_since(admitted_at);
        let deadline = admitted_at + state.timeout;
        // Decided before running: a call whose caller left, whose deadline passed while it
        // waited, or that cannot finish before the process stops, is not run.
        let refusal = if reply.is_closed() || job.cancel.is_cancelled() {
            Some(Outcome::Skipped)
        } else if started >= deadline {
            Some(Outcome::Done(Err(state.deadline_passed(job.name, queued))))
        } else if started + state.mean_service() > deadline {
            // Started now it would most likely be cut off: the worker serves a call that can
            // still make its deadline instead.
            Some(Outcome::Done(Err(
                state.deadline_unreachable(job.name, queued)
            )))
        } else if state
            .drain
            .deadline()
            .is_some_and(|stop| started + state.mean_service() > stop)
        {
            Some(Outcome::Done(Err(state.shutting_down())))
        } else {
            None
        };
        let timed = state.clone();
        let fut = async move {
            if let Some(refusal) = refusal {
                return refusal;
            }
            let ct = job.cancel.clone();
            let name = job.name;
            let run = guarded(job, faults);
            let outcome = tokio::select! {
                r = tokio::time::timeout_at(deadline.into(), run) => match r {
                    Ok(Ok(result)) => Outcome::Done(result),
                    Ok(Err(panicked)) => Outcome::Panicked(panicked),
                    Err(_) => Outcome::Done(Err(timed.deadline_passed(name, queued))),
                },
                _ = ct.cancelled() => Outcome::Done(Err(ToolError::cancelled())),
            };
            // A call cut off by its deadline or its caller ran at least this long: it may raise
            // the mean, never lower it (else a backlog of cut-off calls admits more).
            let took = started.elapsed();
            match &outcome {
                Outcome::Done(Err(e))
                    if matches!(
                        e.kind,
                        crate::error::ErrorKind::Timeout | crate::error::ErrorKind::Cancelled
                    ) =>
                {
                    timed.note_service(took.max(timed.mean_service()));
                }
                _ => timed.note_service(took),
            }
            outcome
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |outcome, _act, ctx| {
                drop(admission);
                match outcome {
                    Outcome::Skipped => {}
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

/// A job run as a worker runs it: the configured faults first, then the tool in its call's
/// span. `Err` is a panic, caught and turned into that call's internal error.
async fn guarded(
    job: Job,
    faults: Arc<FaultsConfig>,
) -> Result<Result<ToolOutput, ToolError>, ToolError> {
    let name = job.name;
    AssertUnwindSafe(async move {
        if let Some(ms) = faults.delay_ms.get(name) {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        if faults.panic_tools.iter().any(|t| t == name) {
            panic!("fault injection: {name} panics");
        }
        let span = job.span.clone();
        tracing::Instrument::instrument((job.run)(), span).await
    })
    .catch_unwind()
    .await
    .map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into());
        ToolError::internal(format!("tool {name} panicked: {what}"))
    })
}

/// One pool: its workers and its admission counters.
pub struct ToolPool {
    kind: PoolKind,
    capacity: usize,
    retry_after_secs: u64,
    in_flight: Arc<AtomicUsize>,
    state: Arc<PoolState>,
    workers: Vec<(Addr<ToolWorker>, Arc<AtomicUsize>)>,
    faults: Arc<FaultsConfig>,
}

impl ToolPool {
    /// Start the pool's workers, spread over `arbiters`, each under actix's supervisor.
    fn start(
        kind: PoolKind,
        config: &Config,
        arbiters: &[ArbiterHandle],
        drain: Arc<Drain>,
    ) -> Self {
        let pc = kind.config(config);
        let capacity = pc.workers + pc.queue;
        let faults = Arc::new(config.faults.clone());
        let state = Arc::new(PoolState {
            kind,
            workers: pc.workers,
            timeout: Duration::from_millis(pc.timeout_ms),
            retry_after_secs: config.pools.retry_after_secs,
            service_us: AtomicU64::new(0),
            drain,
        });
        let workers = (0..pc.workers)
            .map(|index| {
                let arbiter = &arbiters[index % arbiters.len()];
                let worker = ToolWorker {
                    pool: kind,
                    index,
                    state: state.clone(),
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
            state,
            workers,
            faults,
        }
    }

    /// Run a call on the caller's task instead of a worker: for a tool that does no I/O and
    /// must answer while the pool is full (`health_check`, which reports the pools). It
    /// takes no worker, so no admission, queue or deadline applies and it is not among the
    /// pool's in-flight calls; the faults apply, and a panic is one call's internal error.
    pub async fn call_inline(&self, job: Job) -> Result<ToolOutput, ToolError> {
        guarded(job, self.faults.clone())
            .await
            .unwrap_or_else(|panicked| {
                metrics::counter!("vizier_tool_panics_total", "pool" => self.kind.as_str())
                    .increment(1);
                Err(panicked)
            })
    }

    /// Calls admitted and not yet finished (running or waiting).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Refuse at once a call that would wait longer than its deadline allows.
    fn refuse_late(&self, ahead: usize) -> Option<ToolError> {
        let mean = self.state.mean_service();
        let wait = self.state.expected_wait(ahead);
        if wait.is_zero() || wait + mean <= self.state.timeout {
            return None;
        }
        let over = (wait + mean).saturating_sub(self.state.timeout);
        let secs = (over.as_secs() + u64::from(over.subsec_nanos() > 0)).max(self.retry_after_secs);
        let pool = self.kind.as_str();
        let limit_ms = self.state.timeout.as_millis() as u64;
        let refused = ToolError::overloaded(pool, secs);
        Some(
            ToolError {
                message: format!(
                    "The {pool} tools are too busy: a call now would wait about {} ms for a \
                     worker and could not finish within the pool's deadline of {limit_ms} ms. \
                     Retry after {secs} s.",
                    wait.as_millis()
                ),
                ..refused
            }
            .with_details(serde_json::json!({
                "pool": pool,
                "retry_after_secs": secs,
                "expected_wait_ms": wait.as_millis() as u64,
                "limit_ms": limit_ms,
            })),
        )
    }

    /// Admit the call and hand it to the least busy worker, or refuse it at once.
    pub async fn call(&self, job: Job) -> Result<ToolOutput, ToolError> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let refusal = if before >= self.capacity {
            Some(ToolError::overloaded(
                self.kind.as_str(),
                self.retry_after_secs,
            ))
        } else {
            self.refuse_late(before)
        };
        if let Some(refusal) = refusal {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("vizier_pool_refusals_total", "pool" => self.kind.as_str())
                .increment(1);
            return Err(refusal);
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
        let name = job.name;
        let cancel = job.cancel.clone();
        addr.try_send(RunTool {
            job,
            reply,
            admitted_at: queued_at,
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
        // The worker answers at the deadline too; this covers a call still waiting then.
        let deadline = queued_at + self.state.timeout;
        let result = match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(answer) => answer.map_err(|_| {
                // A worker skips a call whose caller went away: that is a cancellation,
                // not a fault of the server.
                if cancel.is_cancelled() {
                    return ToolError::cancelled();
                }
                ToolError::internal(format!(
                    "{} worker dropped a call without answering",
                    self.kind.as_str()
                ))
            })?,
            Err(_) => Err(self.state.deadline_passed(name, queued_at.elapsed())),
        };
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
    drain: Arc<Drain>,
}

impl ToolPools {
    /// Start every pool; the SQL pool on `source_arbiters` (where the data-source actors
    /// run), the charts pool on `chart_arbiters`, the others on `arbiters`.
    pub fn start(
        config: &Config,
        arbiters: &[ArbiterHandle],
        source_arbiters: &[ArbiterHandle],
        chart_arbiters: &[ArbiterHandle],
    ) -> Self {
        let drain = Arc::new(Drain::default());
        Self {
            pools: PoolKind::ALL.map(|k| {
                let on = match k {
                    PoolKind::Sql => source_arbiters,
                    PoolKind::Charts => chart_arbiters,
                    _ => arbiters,
                };
                ToolPool::start(k, config, on, drain.clone())
            }),
            drain,
        }
    }

    /// Shutting down: calls still waiting for a worker that cannot finish by `stop` are
    /// refused instead of run. The first call wins.
    pub fn drain(&self, stop: Instant) {
        let _ = self.drain.0.set(stop);
    }

    pub fn get(&self, kind: PoolKind) -> &ToolPool {
        &self.pools[kind as usize]
    }
}
