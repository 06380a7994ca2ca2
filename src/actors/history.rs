//! `HistoryWriter`: writes query history to the metadata store in batches, off the call
//! path. A call hands over its record and returns at once; the writer flushes every
//! [`FLUSH_EVERY`] or when [`BATCH`] records wait. The buffer is bounded: when it is full a
//! record is dropped and counted (`vizier_history_dropped_total`), never blocking a call.

use std::time::Duration;

use actix::prelude::*;
use diesel_async::RunQueryDsl;

use super::db::Db;
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
    buffer: Vec<NewQueryRecord>,
    flushing: bool,
}

impl HistoryWriter {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            buffer: Vec::new(),
            flushing: false,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing || self.buffer.is_empty() {
            return;
        }
        self.flushing = true;
        let n = self.buffer.len().min(BATCH);
        let batch: Vec<NewQueryRecord> = self.buffer.drain(..n).collect();
        let db = self.db.clone();
        let write = async move {
            let mut conn = db.conn().await.map_err(|e| e.message)?;
            let (count, batch) = (batch.len(), &batch);
            // One statement per record: SQLite batch inserts cannot leave columns to defaults.
            crate::in_transaction!(&mut conn, |c| {
                for record in batch {
                    diesel::insert_into(query_history::table)
                        .values(record)
                        .execute(c)
                        .await?;
                }
                Ok::<(), diesel::result::Error>(())
            })
            .map_err(|e| e.to_string())?;
            Ok::<usize, String>(count)
        };
        ctx.spawn(write.into_actor(self).map(|result, act, ctx| {
            act.flushing = false;
            match result {
                Ok(n) => metrics::counter!("vizier_history_written_total").increment(n as u64),
                Err(e) => tracing::warn!(error = %e, "query history batch not written"),
            }
            if act.buffer.len() >= BATCH {
                act.flush(ctx);
            }
        }));
    }
}

impl Actor for HistoryWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAX_BUFFER);
        ctx.run_interval(FLUSH_EVERY, |act, ctx| act.flush(ctx));
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        if !self.buffer.is_empty() {
            tracing::info!(
                records = self.buffer.len(),
                "query history not written at shutdown"
            );
        }
        Running::Stop
    }
}

impl actix::Supervised for HistoryWriter {}

/// Record one query run.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record(pub NewQueryRecord);

impl Handler<Record> for HistoryWriter {
    type Result = ();

    fn handle(&mut self, msg: Record, ctx: &mut Self::Context) {
        if self.buffer.len() >= MAX_BUFFER {
            metrics::counter!("vizier_history_dropped_total").increment(1);
            return;
        }
        self.buffer.push(msg.0);
        if self.buffer.len() >= BATCH {
            self.flush(ctx);
        }
    }
}
