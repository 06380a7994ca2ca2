//! `HistoryWriter`: writes query history to the metadata store in batches, off the call
//! path. A call hands its record to [`History::record`] (an [`Inbox`]) and returns at once;
//! the writer flushes every [`FLUSH_EVERY`] or when [`BATCH`] records wait. The inbox is
//! bounded: when it is full a record is dropped and counted (`vizier_history_dropped_total`),
//! never blocking a call.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::db::Db;
use super::inbox::{Inbox, Offer};
use crate::db::models::NewQueryRecord;
use crate::db::schema::query_history;

/// How often waiting records are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Records written in one flush at most (and the size that triggers an early flush).
pub const BATCH: usize = 200;
/// Records held at most while the store is slow; beyond this new ones are dropped.
pub const MAX_BUFFER: usize = 10_000;

pub struct HistoryWriter {
    db: Db,
    inbox: Arc<Inbox<NewQueryRecord>>,
    flushing: bool,
}

impl HistoryWriter {
    pub fn new(db: Db, inbox: Arc<Inbox<NewQueryRecord>>) -> Self {
        Self {
            db,
            inbox,
            flushing: false,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing || self.inbox.is_empty() {
            return;
        }
        self.flushing = true;
        let batch = self.inbox.take(BATCH);
        let db = self.db.clone();
        let write = async move {
            let mut conn = db.conn().await.map_err(|e| e.message)?;
            crate::insert_batch!(&mut conn, query_history::table, batch).map_err(|e| e.to_string())
        };
        ctx.spawn(write.into_actor(self).map(|result, act, ctx| {
            act.flushing = false;
            match result {
                Ok(n) => metrics::counter!("vizier_history_written_total").increment(n as u64),
                Err(e) => tracing::warn!(error = %e, "query history batch not written"),
            }
            if act.inbox.len() >= BATCH {
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
        if !self.inbox.is_empty() {
            tracing::info!(
                records = self.inbox.len(),
                "query history not written at shutdown"
            );
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
}

impl History {
    /// Start the writer on `arbiter`, under actix's supervisor.
    pub fn start(db: Db, arbiter: &ArbiterHandle) -> Self {
        let inbox = Arc::new(Inbox::new(MAX_BUFFER, BATCH));
        let writer_inbox = inbox.clone();
        let writer = actix::Supervisor::start_in_arbiter(arbiter, move |_| {
            HistoryWriter::new(db, writer_inbox)
        });
        Self { inbox, writer }
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
