//! `Spool`: a bounded, durable local queue for records the metadata store cannot take now
//! (audit log, query history), so that an outage of the store loses none of them.
//!
//! One append-only JSON-lines file per log (`<spool.dir>/<log>.jsonl`) and the offset up to
//! which it has been written to the store (`<log>.offset`). A batch is appended and fsync'd
//! before the writer forgets it; replay reads the oldest lines, inserts them, and only then
//! moves the offset on (fsync'd), so a crash between the two writes a batch twice rather
//! than losing it. Once everything is replayed the file is truncated. The file is read at
//! start, so records spooled before a restart are written after it. At most
//! `spool.max_bytes` wait: beyond that records are dropped and counted, with a WARN when
//! the spool passes [`WARN_AT_PERCENT`] full and the gauges `vizier_spool_bytes{log}` /
//! `vizier_spool_records{log}` / `vizier_spool_max_bytes`.
//!
//! While a spool holds anything, new records go behind it, never around it: the store
//! receives every log in the order the calls ended.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::db::Db;

/// A WARN (once per filling) when the spool passes this share of `max_bytes`.
pub const WARN_AT_PERCENT: u64 = 80;

pub struct Spool {
    log: &'static str,
    path: PathBuf,
    offset_path: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
}

struct State {
    file: File,
    /// Bytes in the file.
    len: u64,
    /// Bytes of it already written to the store.
    offset: u64,
    /// Records waiting (lines after `offset`).
    records: u64,
    warned: bool,
}

impl Spool {
    /// Open (or create) the spool of `log` in `dir`, repairing a torn last line.
    pub fn open(dir: &Path, log: &'static str, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{log}.jsonl"));
        let offset_path = dir.join(format!("{log}.offset"));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        // One writer per spool file: another process on the same data directory (a second
        // `serve`, a `stdio` beside it) gets none rather than interleaving with this one.
        file.try_lock().map_err(|e| {
            std::io::Error::other(format!(
                "{} is in use by another vizier process ({e})",
                path.display()
            ))
        })?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut bytes)?;
        // A crash in the middle of an append leaves a line without its newline: drop it
        // (its batch was never acknowledged as spooled).
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            file.set_len(whole as u64)?;
            file.sync_data()?;
        }
        let len = whole as u64;
        let offset = std::fs::read_to_string(&offset_path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|o| *o <= len)
            .unwrap_or(0);
        let records = bytes[offset as usize..whole]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        let spool = Self {
            log,
            path,
            offset_path,
            max_bytes,
            state: Mutex::new(State {
                file,
                len,
                offset,
                records,
                warned: false,
            }),
        };
        spool.publish_gauges();
        if records > 0 {
            tracing::info!(
                log,
                records,
                path = %spool.path.display(),
                "spooled records from before the start will be written to the metadata store"
            );
        }
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // File operations report errors as values; nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Set the spool's gauges now (also at every scrape: values set before the metrics
    /// recorder was installed are lost).
    pub fn publish_gauges(&self) {
        metrics::gauge!("vizier_spool_max_bytes", "log" => self.log).set(self.max_bytes as f64);
        self.publish(&self.lock());
    }

    fn publish(&self, s: &State) {
        metrics::gauge!("vizier_spool_bytes", "log" => self.log).set((s.len - s.offset) as f64);
        metrics::gauge!("vizier_spool_records", "log" => self.log).set(s.records as f64);
    }

    /// Records waiting to be written to the store.
    pub fn records(&self) -> u64 {
        self.lock().records
    }

    /// Append `lines` (one JSON document each, no newline) and fsync; how many fit (the
    /// rest did not: the spool is full).
    pub fn append(&self, lines: &[String]) -> std::io::Result<usize> {
        let mut s = self.lock();
        let mut buf = Vec::new();
        let mut taken = 0;
        for line in lines {
            if s.len + (buf.len() + line.len() + 1) as u64 > self.max_bytes {
                break;
            }
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            taken += 1;
        }
        if taken > 0 {
            if let Err(e) = s.file.write_all(&buf).and_then(|()| s.file.sync_data()) {
                // Cut back whatever part was written: the batch counts as not spooled.
                let len = s.len;
                let _ = s.file.set_len(len);
                return Err(e);
            }
            s.len += buf.len() as u64;
            s.records += taken as u64;
        }
        let used = s.len.saturating_sub(s.offset);
        if !s.warned && used * 100 >= self.max_bytes * WARN_AT_PERCENT {
            s.warned = true;
            tracing::warn!(
                log = self.log,
                spool_bytes = used,
                max_bytes = self.max_bytes,
                "the spool is nearly full: records will be dropped once it is (raise spool.max_bytes or bring the metadata store back)"
            );
        }
        self.publish(&s);
        Ok(taken)
    }

    /// The oldest `max` lines waiting, and the offset just past them.
    pub fn peek(&self, max: usize) -> std::io::Result<(Vec<String>, u64)> {
        let s = self.lock();
        let mut reader = BufReader::new(File::open(&self.path)?);
        reader.seek(SeekFrom::Start(s.offset))?;
        let (mut lines, mut end) = (Vec::new(), s.offset);
        while lines.len() < max && end < s.len {
            let mut line = String::new();
            let n = reader.read_line(&mut line)?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            end += n as u64;
            line.pop();
            lines.push(line);
        }
        Ok((lines, end))
    }

    /// The `records` lines before `end` are in the store: move past them (fsync'd), and
    /// empty the file once everything is.
    pub fn commit(&self, end: u64, records: usize) -> std::io::Result<()> {
        let mut s = self.lock();
        s.offset = end.min(s.len);
        s.records = s.records.saturating_sub(records as u64);
        if s.offset >= s.len {
            s.file.set_len(0)?;
            s.file.sync_data()?;
            s.len = 0;
            s.offset = 0;
            s.records = 0;
        }
        let mut f = File::create(&self.offset_path)?;
        write!(f, "{}", s.offset)?;
        f.sync_data()?;
        if s.len.saturating_sub(s.offset) * 2 < self.max_bytes {
            s.warned = false;
        }
        self.publish(&s);
        Ok(())
    }
}

/// What one flush of a spooling writer did.
#[derive(Debug)]
pub enum Step {
    /// Nothing waited.
    Idle,
    /// Fresh records went straight to the store.
    Written(usize),
    /// Records went to the spool (the store is down, or refused them); `dropped` did not
    /// fit (spool full) or could not be spooled at all.
    Spooled { spooled: usize, dropped: usize },
    /// Spooled records were written to the store.
    Replayed(usize),
    /// The store refused spooled records; they stay for the next try.
    ReplayFailed(String),
    /// The store kept refusing these spooled records while it was up: given up.
    GivenUp(usize, String),
    /// Records lost: no spool, and the store refused them.
    Lost(usize, String),
}

/// One flush of a writer that spools: `fresh` (taken from its inbox) goes to the store if
/// nothing is spooled and the store is up; otherwise behind the spool, and the spool's
/// oldest `batch` records are replayed when the store is up. `attempts`: replays of the
/// spool's head that failed before, with the store up; at `give_up_after` they are dropped.
pub async fn step<T, F, Fut>(
    db: &Db,
    spool: Option<&Arc<Spool>>,
    fresh: Vec<T>,
    batch: usize,
    attempts: u32,
    give_up_after: u32,
    insert: F,
) -> Step
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: Fn(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<usize, String>>,
{
    let Some(spool) = spool else {
        if fresh.is_empty() {
            return Step::Idle;
        }
        let n = fresh.len();
        return match insert(fresh).await {
            Ok(written) => Step::Written(written),
            Err(e) => Step::Lost(n, e),
        };
    };
    if spool.records() == 0 && !db.is_down() {
        if fresh.is_empty() {
            return Step::Idle;
        }
        let lines = to_lines(&fresh);
        return match insert(fresh).await {
            Ok(written) => Step::Written(written),
            Err(_) => spool_lines(spool, lines).await,
        };
    }
    if !fresh.is_empty() {
        let step = spool_lines(spool, to_lines(&fresh)).await;
        if db.is_down() {
            return step;
        }
    } else if db.is_down() {
        return Step::Idle;
    }
    let peeked = {
        let spool = spool.clone();
        tokio::task::spawn_blocking(move || spool.peek(batch)).await
    };
    let (lines, end) = match peeked {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Step::ReplayFailed(format!("spool unreadable: {e}")),
        Err(e) => return Step::ReplayFailed(format!("spool task failed: {e}")),
    };
    if lines.is_empty() {
        return Step::Idle;
    }
    let count = lines.len();
    let rows: Vec<T> = lines
        .iter()
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(row) => Some(row),
            Err(e) => {
                tracing::error!(error = %e, "a spooled record is unreadable; skipped");
                None
            }
        })
        .collect();
    let result = if rows.is_empty() {
        Ok(0)
    } else {
        insert(rows).await
    };
    let commit = |spool: Arc<Spool>| async move {
        tokio::task::spawn_blocking(move || spool.commit(end, count))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    match result {
        Ok(n) => match commit(spool.clone()).await {
            Ok(()) => Step::Replayed(n),
            Err(e) => {
                Step::ReplayFailed(format!("written, but the spool offset was not saved: {e}"))
            }
        },
        Err(e) if !db.is_down() && attempts + 1 >= give_up_after => {
            let _ = commit(spool.clone()).await;
            Step::GivenUp(count, e)
        }
        Err(e) => Step::ReplayFailed(e),
    }
}

fn to_lines<T: Serialize>(rows: &[T]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .collect()
}

async fn spool_lines(spool: &Arc<Spool>, lines: Vec<String>) -> Step {
    let n = lines.len();
    let spool = spool.clone();
    match tokio::task::spawn_blocking(move || spool.append(&lines)).await {
        Ok(Ok(spooled)) => Step::Spooled {
            spooled,
            dropped: n - spooled,
        },
        Ok(Err(e)) => {
            tracing::error!(error = %e, records = n, "records could not be spooled");
            Step::Spooled {
                spooled: 0,
                dropped: n,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, records = n, "spool task failed");
            Step::Spooled {
                spooled: 0,
                dropped: n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_replays_in_order_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path(), "t", 1 << 20).expect("open");
        let lines: Vec<String> = (0..5).map(|i| format!("{{\"n\":{i}}}")).collect();
        assert_eq!(spool.append(&lines).expect("append"), 5);
        let (first, end) = spool.peek(2).expect("peek");
        assert_eq!(first, &lines[..2]);
        spool.commit(end, 2).expect("commit");
        drop(spool);
        // A torn last line (a crash mid-append) is dropped on reopening.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("t.jsonl"))
            .and_then(|mut f| f.write_all(b"{\"n\":"))
            .expect("tear");
        let spool = Spool::open(dir.path(), "t", 1 << 20).expect("reopen");
        assert_eq!(spool.records(), 3);
        let (rest, end) = spool.peek(10).expect("peek");
        assert_eq!(rest, &lines[2..]);
        spool.commit(end, 3).expect("commit");
        assert_eq!(spool.records(), 0);
        assert_eq!(
            std::fs::metadata(dir.path().join("t.jsonl"))
                .expect("file")
                .len(),
            0
        );
    }

    #[test]
    fn a_full_spool_takes_what_fits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path(), "t", 25).expect("open");
        let lines: Vec<String> = (0..5).map(|i| format!("line-{i}")).collect();
        // "line-N\n" is 7 bytes: three fit in 25.
        assert_eq!(spool.append(&lines).expect("append"), 3);
        assert_eq!(spool.append(&lines).expect("append"), 0);
        assert_eq!(spool.records(), 3);
        // One writer per file.
        assert!(Spool::open(dir.path(), "t", 25).is_err());
    }
}
