//! `AuditWriter`: writes the audit log (one row per tool call) to the metadata store in
//! batches, off the call path, and deletes rows older than `audit.retention_days`.
//!
//! A call hands its record to [`Audit::record`] and returns at once: the record is built
//! (arguments redacted, see `crate::observability::audit`) and offered to the writer's
//! bounded [`Inbox`] without waiting. The writer flushes every [`FLUSH_EVERY`] or when
//! [`BATCH`] records wait. At most `audit.buffer` records wait; beyond that new ones are
//! dropped and counted (`vizier_audit_dropped_total{reason="buffer_full"}`), never blocking
//! a call. A batch the store cannot take (it is down, or refuses it) goes to the durable
//! local [`Spool`] instead and is written, in order, once the store is back; spooled records
//! the store refuses [`WRITE_ATTEMPTS`] times while up are dropped and counted
//! (`reason="write_failed"`), as are records that no longer fit the spool
//! (`reason="spool_full"`). At shutdown [`Drain`] writes (or spools) what waits. Retention runs
//! [`FIRST_SWEEP_AFTER`] after start and every [`SWEEP_EVERY`], deleting in chunks of
//! [`SWEEP_CHUNK`] rows so no single statement holds the table for long.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::db::Db;
use super::inbox::{Inbox, Offer};
use super::spool::{Spool, Step, step};
use crate::db::models::{AuditEntry, NewAuditEntry, now};
use crate::observability::audit::{CallRecord, entry};

/// How often waiting records are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Records written in one go at most (and the count that triggers an early flush).
pub const BATCH: usize = 200;
/// Tries of one spooled batch, with the store up, before its records are given up.
pub const WRITE_ATTEMPTS: u32 = 3;
/// Records moved from the inbox to the spool in one go at most while the store is down.
const SPOOL_BATCH: usize = 10 * BATCH;
/// The first retention sweep, soon after start but out of the way of start-up.
pub const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(30);
/// Retention sweeps after the first.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Rows one retention statement deletes at most.
pub const SWEEP_CHUNK: i64 = 5000;
/// At shutdown, how long the audit log's last records may take to be written.
pub const AUDIT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub struct AuditWriter {
    db: Db,
    /// 0: keep forever.
    retention_days: u32,
    /// Records waiting to be written (at most `audit.buffer`).
    inbox: Arc<Inbox<NewAuditEntry>>,
    /// Where records wait while the store cannot take them (None: `spool.max_bytes = 0`,
    /// or its directory could not be opened).
    spool: Option<Arc<Spool>>,
    /// Failed replays of the spool's oldest batch while the store was up.
    replay_failures: u32,
    flushing: bool,
    sweeping: bool,
    /// Callers of [`Drain`] waiting for the buffer to be written.
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl AuditWriter {
    pub fn new(
        db: Db,
        inbox: Arc<Inbox<NewAuditEntry>>,
        retention_days: u32,
        spool: Option<Arc<Spool>>,
    ) -> Self {
        Self {
            db,
            retention_days,
            inbox,
            spool,
            replay_failures: 0,
            flushing: false,
            sweeping: false,
            drain_waiters: Vec::new(),
        }
    }

    /// Whether records wait in the spool that the store could take now.
    fn replay_due(&self) -> bool {
        !self.db.is_down() && self.spool.as_ref().is_some_and(|s| s.records() > 0)
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing {
            return;
        }
        if self.inbox.is_empty() && !self.replay_due() {
            return self.wake_drainers();
        }
        let behind = self.db.is_down() || self.spool.as_ref().is_some_and(|s| s.records() > 0);
        let fresh = self.inbox.take(if behind { SPOOL_BATCH } else { BATCH });
        self.flushing = true;
        let (db, spool, attempts) = (self.db.clone(), self.spool.clone(), self.replay_failures);
        let write = async move {
            step(
                &db,
                spool.as_ref(),
                fresh,
                BATCH,
                attempts,
                WRITE_ATTEMPTS,
                |rows| insert(&db, rows),
            )
            .await
        };
        ctx.spawn(write.into_actor(self).map(move |done, act, ctx| {
            act.flushing = false;
            let progress = match done {
                Step::Idle => false,
                Step::Written(n) | Step::Replayed(n) => {
                    act.replay_failures = 0;
                    metrics::counter!("vizier_audit_written_total").increment(n as u64);
                    true
                }
                Step::Spooled { spooled, dropped } => {
                    metrics::counter!("vizier_audit_spooled_total").increment(spooled as u64);
                    if dropped > 0 {
                        tracing::error!(
                            records = dropped,
                            "audit records dropped: the spool is full"
                        );
                        metrics::counter!("vizier_audit_dropped_total", "reason" => "spool_full")
                            .increment(dropped as u64);
                    }
                    false
                }
                Step::ReplayFailed(e) => {
                    act.replay_failures += u32::from(!act.db.is_down());
                    tracing::warn!(error = %e, "spooled audit records not written yet; will retry");
                    false
                }
                Step::GivenUp(n, e) | Step::Lost(n, e) => {
                    act.replay_failures = 0;
                    tracing::error!(error = %e, records = n, "audit batch given up");
                    metrics::counter!("vizier_audit_dropped_total", "reason" => "write_failed")
                        .increment(n as u64);
                    true
                }
            };
            // Keep going while progress is made and a full batch, the spool's backlog or a
            // drain waits; a failed or spooled batch waits for the next tick.
            let more = progress
                && (act.inbox.len() >= BATCH
                    || act.replay_due()
                    || (!act.drain_waiters.is_empty() && !act.inbox.is_empty()));
            if more {
                act.flush(ctx);
            } else {
                act.wake_drainers();
            }
        }));
    }

    /// Answer drainers once nothing waits in memory: every record is in the store or in the
    /// spool (which a later start replays).
    fn wake_drainers(&mut self) {
        if !self.flushing && self.inbox.is_empty() {
            for waiter in self.drain_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn start_sweep(&mut self, ctx: &mut Context<Self>) {
        if !self.sweeping {
            ctx.notify(Sweep);
        }
    }
}

/// Write `batch`; the number of rows written.
async fn insert(db: &Db, batch: Vec<NewAuditEntry>) -> Result<usize, String> {
    let mut conn = db.conn().await.map_err(|e| e.message)?;
    NewAuditEntry::insert_batch(&mut conn, batch)
        .await
        .map_err(|e| e.to_string())
}

/// Delete rows created before `cutoff`, a chunk at a time; the number deleted.
async fn delete_before(db: &Db, cutoff: chrono::NaiveDateTime) -> Result<usize, String> {
    let mut total = 0;
    loop {
        // A connection per chunk: a long sweep never holds one for long.
        let mut conn = db.conn().await.map_err(|e| e.message)?;
        let n = AuditEntry::delete_before(&mut conn, cutoff, SWEEP_CHUNK)
            .await
            .map_err(|e| e.to_string())?;
        total += n;
        if (n as i64) < SWEEP_CHUNK {
            return Ok(total);
        }
    }
}

impl Actor for AuditWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(FLUSH_EVERY, |act, ctx| act.flush(ctx));
        if self.retention_days > 0 {
            ctx.run_later(FIRST_SWEEP_AFTER, |act, ctx| act.start_sweep(ctx));
            ctx.run_interval(SWEEP_EVERY, |act, ctx| act.start_sweep(ctx));
        }
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        let waiting = self.inbox.take(usize::MAX);
        if !waiting.is_empty() {
            spool_at_stop(self.spool.as_deref(), "audit", &waiting);
        }
        Running::Stop
    }
}

impl actix::Supervised for AuditWriter {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        metrics::counter!("vizier_actor_restarts_total", "actor" => "audit").increment(1);
        self.flushing = false;
        self.sweeping = false;
    }
}

/// Write what waits now: a call's record completed a batch.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

impl Handler<Flush> for AuditWriter {
    type Result = ();

    fn handle(&mut self, _msg: Flush, ctx: &mut Self::Context) {
        self.flush(ctx);
    }
}

/// Write every waiting record now; answered once they are written (or given up).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for AuditWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _msg: Drain, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(tx);
        self.flush(ctx);
        self.wake_drainers();
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// Delete rows older than the retention period now; answers how many were deleted.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Sweep;

impl Handler<Sweep> for AuditWriter {
    type Result = ResponseActFuture<Self, Result<usize, String>>;

    fn handle(&mut self, _msg: Sweep, _ctx: &mut Self::Context) -> Self::Result {
        if self.retention_days == 0 {
            return Box::pin(actix::fut::ready(Ok(0)));
        }
        let cutoff = now() - chrono::Duration::days(i64::from(self.retention_days));
        self.sweeping = true;
        let db = self.db.clone();
        Box::pin(
            async move { delete_before(&db, cutoff).await }
                .into_actor(self)
                .map(|result, act, _ctx| {
                    act.sweeping = false;
                    match &result {
                        Ok(0) => {}
                        Ok(n) => {
                            metrics::counter!("vizier_audit_deleted_total").increment(*n as u64);
                            tracing::info!(rows = n, "audit log: expired rows deleted");
                        }
                        Err(e) => tracing::warn!(error = %e, "audit log retention sweep failed"),
                    }
                    result
                }),
        )
    }
}

/// How calls reach the audit log; a no-op when `audit.enabled = false`.
#[derive(Clone)]
pub struct Audit {
    writer: Option<(Addr<AuditWriter>, Arc<Inbox<NewAuditEntry>>)>,
    spool: Option<Arc<Spool>>,
}

impl Audit {
    /// Start the writer on `arbiter` (under actix's supervisor) when `config.enabled`, with
    /// its spool (`spool`, opened by the caller) holding what the store cannot take.
    pub fn start(
        db: Db,
        config: &crate::config::AuditConfig,
        spool: Option<Arc<Spool>>,
        arbiter: &ArbiterHandle,
    ) -> Self {
        if !config.enabled {
            return Self {
                writer: None,
                spool: None,
            };
        }
        let inbox = Arc::new(Inbox::new(config.buffer, BATCH));
        let (writer_inbox, retention_days) = (inbox.clone(), config.retention_days);
        let writer_spool = spool.clone();
        let writer = actix::Supervisor::start_in_arbiter(arbiter, move |_| {
            AuditWriter::new(db, writer_inbox, retention_days, writer_spool.clone())
        });
        Self {
            writer: Some((writer, inbox)),
            spool,
        }
    }

    pub fn enabled(&self) -> bool {
        self.writer.is_some()
    }

    /// Where records wait while the store cannot take them (for the gauges).
    pub fn spool(&self) -> Option<&Arc<Spool>> {
        self.spool.as_ref()
    }

    /// Hand a finished call to the writer; never waits. A full inbox drops the record and
    /// counts it.
    pub fn record(&self, call: CallRecord<'_>) {
        let Some((writer, inbox)) = &self.writer else {
            return;
        };
        match inbox.offer(entry(&call)) {
            Offer::Queued => {}
            Offer::BatchReady => writer.do_send(Flush),
            Offer::Full => {
                metrics::counter!("vizier_audit_dropped_total", "reason" => "buffer_full")
                    .increment(1)
            }
        }
    }

    /// Write what waits, waiting at most `timeout` (at shutdown, so the last calls are
    /// kept). False when it did not finish in time.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let Some((writer, _)) = &self.writer else {
            return true;
        };
        tokio::time::timeout(timeout, writer.send(Drain))
            .await
            .is_ok_and(|sent| sent.is_ok())
    }

    /// Run the retention sweep now; the number of rows deleted.
    pub async fn sweep(&self) -> Result<usize, String> {
        match &self.writer {
            None => Ok(0),
            Some((writer, _)) => writer
                .send(Sweep)
                .await
                .map_err(|e| format!("audit writer unreachable: {e}"))?,
        }
    }
}

/// At shutdown, records still in memory go to the spool (synchronously: the process is
/// about to end), or are reported as lost when there is none.
pub(crate) fn spool_at_stop<T: serde::Serialize>(spool: Option<&Spool>, log: &str, rows: &[T]) {
    let lines: Vec<String> = rows
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .collect();
    match spool.map(|s| s.append(&lines)) {
        Some(Ok(n)) if n == rows.len() => {
            tracing::info!(log, records = n, "records spooled at shutdown")
        }
        Some(Ok(n)) => tracing::warn!(
            log,
            records = rows.len() - n,
            "records lost at shutdown: the spool is full"
        ),
        Some(Err(e)) => {
            tracing::warn!(log, records = rows.len(), error = %e, "records lost at shutdown")
        }
        None => tracing::warn!(log, records = rows.len(), "records not written at shutdown"),
    }
}
