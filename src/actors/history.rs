//! `HistoryWriter`: writes query history to the metadata store in batches, off the call
//! path. A call hands its record to [`History::record`] (an [`Inbox`]) and returns at once;
//! the writer flushes every [`FLUSH_EVERY`] or when [`BATCH`] records wait. The inbox is
//! bounded: when it is full a record is dropped and counted (`vizier_history_dropped_total`),
//! never blocking a call. Records the store cannot take (it is down, or refuses a batch) go
//! to the durable local [`Spool`] and are written in order once it is back (see
//! `crate::actors::spool`).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::db::Db;
use super::inbox::{Inbox, Offer};
use super::spool::{Spool, Step, step};
use crate::db::models::NewQueryRecord;

/// How often waiting records are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Records written in one flush at most (and the size that triggers an early flush).
pub const BATCH: usize = 200;
/// Records held at most while the store is slow; beyond this new ones are dropped.
pub const MAX_BUFFER: usize = 10_000;
/// Tries of one spooled batch, with the store up, before its records are given up.
pub const WRITE_ATTEMPTS: u32 = 3;
/// Records moved from the inbox to the spool in one go at most while the store is down.
const SPOOL_BATCH: usize = 10 * BATCH;

pub struct HistoryWriter {
    db: Db,
    inbox: Arc<Inbox<NewQueryRecord>>,
    spool: Option<Arc<Spool>>,
    /// Failed replays of the spool's oldest batch while the store was up.
    replay_failures: u32,
    flushing: bool,
}

impl HistoryWriter {
    pub fn new(db: Db, inbox: Arc<Inbox<NewQueryRecord>>, spool: Option<Arc<Spool>>) -> Self {
        Self {
            db,
            inbox,
            spool,
            replay_failures: 0,
            flushing: false,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        let spooled = self.spool.as_ref().is_some_and(|s| s.records() > 0);
        if self.flushing || (self.inbox.is_empty() && (!spooled || self.db.is_down())) {
            return;
        }
        self.flushing = true;
        let behind = spooled || self.db.is_down();
        let fresh = self.inbox.take(if behind { SPOOL_BATCH } else { BATCH });
        let (db, spool, attempts) = (self.db.clone(), self.spool.clone(), self.replay_failures);
        let write = async move {
            step(
                &db,
                spool.as_ref(),
                fresh,
                BATCH,
                attempts,
                WRITE_ATTEMPTS,
                |rows| {
                    let db = db.clone();
                    async move {
                        let mut conn = db.conn().await.map_err(|e| e.message)?;
                        NewQueryRecord::insert_batch(&mut conn, rows)
                            .await
                            .map_err(|e| e.to_string())
                    }
                },
            )
            .await
        };
        ctx.spawn(write.into_actor(self).map(|done, act, ctx| {
            act.flushing = false;
            let progress = match done {
                Step::Idle => false,
                Step::Written(n) | Step::Replayed(n) => {
                    act.replay_failures = 0;
                    metrics::counter!("vizier_history_written_total").increment(n as u64);
                    true
                }
                Step::Spooled { spooled, dropped } => {
                    metrics::counter!("vizier_history_spooled_total").increment(spooled as u64);
                    if dropped > 0 {
                        tracing::error!(
                            records = dropped,
                            "query history dropped: the spool is full"
                        );
                        metrics::counter!("vizier_history_dropped_total").increment(dropped as u64);
                    }
                    false
                }
                Step::ReplayFailed(e) => {
                    act.replay_failures += u32::from(!act.db.is_down());
                    tracing::warn!(error = %e, "spooled query history not written yet; will retry");
                    false
                }
                Step::GivenUp(n, e) | Step::Lost(n, e) => {
                    act.replay_failures = 0;
                    tracing::warn!(error = %e, records = n, "query history batch not written");
                    metrics::counter!("vizier_history_dropped_total").increment(n as u64);
                    true
                }
            };
            // Keep going while a full batch or the spool's backlog waits.
            let backlog = !act.db.is_down() && act.spool.as_ref().is_some_and(|s| s.records() > 0);
            if progress && (act.inbox.len() >= BATCH || backlog) {
                act.flush(ctx);
            }
        }));
    }
}

impl Actor for HistoryWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(FLUSH_EVERY, |act, ctx| act.flush(ctx));
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        let waiting = self.inbox.take(usize::MAX);
        if !waiting.is_empty() {
            super::audit::spool_at_stop(self.spool.as_deref(), "history", &waiting);
        }
        Running::Stop
    }
}

impl actix::Supervised for HistoryWriter {}

/// Write what waits now: a call's record completed a batch.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

impl Handler<Flush> for HistoryWriter {
    type Result = ();

    fn handle(&mut self, _msg: Flush, ctx: &mut Self::Context) {
        self.flush(ctx);
    }
}

/// How calls reach the query history.
#[derive(Clone)]
pub struct History {
    inbox: Arc<Inbox<NewQueryRecord>>,
    writer: Addr<HistoryWriter>,
    spool: Option<Arc<Spool>>,
}

impl History {
    /// Start the writer on `arbiter`, under actix's supervisor, with its spool.
    pub fn start(db: Db, spool: Option<Arc<Spool>>, arbiter: &ArbiterHandle) -> Self {
        let inbox = Arc::new(Inbox::new(MAX_BUFFER, BATCH));
        let writer_inbox = inbox.clone();
        let writer_spool = spool.clone();
        let writer = actix::Supervisor::start_in_arbiter(arbiter, move |_| {
            HistoryWriter::new(db, writer_inbox, writer_spool.clone())
        });
        Self {
            inbox,
            writer,
            spool,
        }
    }

    /// Where records wait while the store cannot take them (for the gauges).
    pub fn spool(&self) -> Option<&Arc<Spool>> {
        self.spool.as_ref()
    }

    /// Hand over one query run; never waits.
    pub fn record(&self, record: NewQueryRecord) {
        match self.inbox.offer(record) {
            Offer::Queued => {}
            Offer::BatchReady => self.writer.do_send(Flush),
            Offer::Full => metrics::counter!("vizier_history_dropped_total").increment(1),
        }
    }
}
