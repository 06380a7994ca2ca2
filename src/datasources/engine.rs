//! What the server engines (PostgreSQL, MySQL/MariaDB) share around one statement.
//!
//! What belongs here: the [`Driver`] trait, through which an engine says how it checks out a
//! connection, stops a statement from the side, probes a connection and keeps a doubtful one
//! out of its pool; the one path every statement and catalog read of those engines takes
//! ([`run_supervised`]: checkout within the deadline, supervision, then the probe loop); and
//! the registration settings they share ([`Settings`]).
//!
//! SQLite is not a `Driver`: its statements run on blocking threads of this process, an
//! interrupt needs no side connection, and a connection only returns to its set with the
//! work that held it, so there is nothing to probe (see `sqlite.rs`).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{QueryOptions, SourceConfig, SourceError, Supervised, acquire, supervise};

/// How many probes a connection gets after a stopped statement before it is given up.
const PROBE_ATTEMPTS: usize = 2;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How a server engine does the few things the shared statement path needs.
pub(crate) trait Driver: Sync {
    /// A connection checked out of the engine's pool for one statement or catalog read.
    type Conn: Send;
    /// What stops the statement a connection runs from the side, taken before the work
    /// borrows the connection.
    type Stopper: Send + Sync;

    /// A connection from the pool (the deadline is applied by the caller).
    fn checkout(&self) -> impl Future<Output = Result<Self::Conn, SourceError>> + Send;

    fn stopper(&self, conn: &Self::Conn) -> Self::Stopper;

    /// Asks the database to stop the running statement. Failures are logged, not returned:
    /// the supervision goes on and gives the connection up if the statement never ends.
    fn stop(&self, stopper: &Self::Stopper) -> impl Future<Output = ()> + Send;

    /// One cheap statement whose success proves the connection idle and clean; it also
    /// absorbs a stop request that arrived after the statement ended.
    fn probe(conn: &mut Self::Conn) -> impl Future<Output = bool> + Send;

    /// After a stopped statement: readies the connection for the pool when `healthy` (it
    /// settled and a probe passed), otherwise keeps it out of the pool for good.
    fn settle(&self, conn: &mut Self::Conn, healthy: bool) -> impl Future<Output = ()> + Send;

    /// The server answered on `conn`: a statement ended without error.
    fn answered(_conn: &mut Self::Conn) {}
}

/// Runs `work` on a connection of `driver` until it ends, `cancel` fires or `deadline`
/// passes, and returns its result with the connection fit for the pool: a statement that was
/// stopped is reported as [`SourceError::Cancelled`] or [`SourceError::Timeout`], and its
/// connection goes back only if the statement settled and a probe then passed.
pub(crate) async fn run_supervised<D, T, W>(
    driver: &D,
    cancel: &CancellationToken,
    deadline: Instant,
    work: W,
) -> Result<T, SourceError>
where
    D: Driver,
    W: AsyncFnOnce(&mut D::Conn) -> Result<T, SourceError>,
{
    let mut conn = acquire(driver.checkout(), cancel, deadline).await?;
    let stopper = driver.stopper(&conn);
    let outcome = supervise(work(&mut conn), cancel, deadline, None, || {
        driver.stop(&stopper)
    })
    .await;
    match outcome {
        Supervised::Finished(result) => {
            if result.is_ok() {
                D::answered(&mut conn);
            }
            result
        }
        Supervised::Stopped { why, settled } => {
            let healthy = settled && probe::<D>(&mut conn).await;
            driver.settle(&mut conn, healthy).await;
            Err(why.into())
        }
    }
}

/// Up to [`PROBE_ATTEMPTS`] probes, each within [`PROBE_TIMEOUT`]: whether one passed.
async fn probe<D: Driver>(conn: &mut D::Conn) -> bool {
    for _ in 0..PROBE_ATTEMPTS {
        if let Ok(true) = tokio::time::timeout(PROBE_TIMEOUT, D::probe(conn)).await {
            return true;
        }
    }
    false
}

/// What a server source was registered with.
pub(crate) struct Settings {
    pub statement_timeout_ms: u64,
    pub allow_dml: bool,
    pub exposed: Vec<String>,
}

impl Settings {
    pub fn new(cfg: &SourceConfig) -> Self {
        Self {
            statement_timeout_ms: cfg.statement_timeout_ms,
            allow_dml: cfg.allow_dml,
            exposed: cfg.exposed_schemas.clone(),
        }
    }

    /// Whether a query runs read-only: when it asks to, and always when the source does not
    /// allow DML.
    pub fn read_only(&self, opts: &QueryOptions) -> bool {
        opts.read_only || !self.allow_dml
    }

    /// The time limit of a statement that asks for `requested` (zero: none of its own).
    pub fn timeout(&self, requested: Duration) -> Duration {
        super::effective_timeout(self.statement_timeout_ms, requested)
    }
}
