//! `Outage`: whether a dependency (the metadata store, one data source) is known to be down,
//! since when and why. Logged once per outage, not per call: a WARN naming the cause when
//! it goes down, an INFO with the outage's length when it is back. Callers that wait for it
//! can [`Outage::watch`] and give up the moment it is marked down.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::watch;

pub struct Outage {
    /// What is down, for the log ("metadata store", "database 'sales'").
    what: String,
    down: AtomicBool,
    /// The cause and start of the current outage.
    state: Mutex<Option<(String, Instant)>>,
    /// Bumped whenever a failure is reported (also during an outage): waiters wake on it.
    failures: watch::Sender<u64>,
}

impl std::fmt::Debug for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outage")
            .field("what", &self.what)
            .field("down", &self.is_down())
            .finish()
    }
}

impl Outage {
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            down: AtomicBool::new(false),
            state: Mutex::new(None),
            failures: watch::channel(0).0,
        }
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// The cause of the current outage, if down.
    pub fn cause(&self) -> Option<String> {
        self.lock().as_ref().map(|(cause, _)| cause.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant)>> {
        // Nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection failed with `cause`: down (logged when it was up), and waiters wake.
    pub fn failed(&self, cause: &str) {
        {
            let mut state = self.lock();
            match &mut *state {
                Some((last, _)) => *last = cause.to_owned(),
                None => {
                    *state = Some((cause.to_owned(), Instant::now()));
                    self.down.store(true, Ordering::Release);
                    tracing::warn!(
                        component = %self.what,
                        cause,
                        "{} is down: calls needing it fail as unavailable until it is back",
                        self.what
                    );
                }
            }
        }
        self.failures.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// It answered: up again (logged when it was down).
    pub fn answered(&self) {
        if !self.is_down() {
            return;
        }
        let mut state = self.lock();
        if let Some((cause, since)) = state.take() {
            self.down.store(false, Ordering::Release);
            tracing::info!(
                component = %self.what,
                outage_ms = since.elapsed().as_millis() as u64,
                last_cause = %cause,
                "{} is back",
                self.what
            );
        }
    }

    /// A receiver that sees every failure reported from now on.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.failures.subscribe()
    }
}

/// Wait until `rx` sees a failure reported; never returns if none comes (or the sender is
/// gone), so it is meant for one arm of a `select!`.
pub async fn next_failure(rx: &mut watch::Receiver<u64>) {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn down_once_up_once_and_waiters_wake() {
        let o = Outage::new("thing");
        let mut rx = o.watch();
        assert!(!o.is_down());
        o.answered();
        o.failed("refused");
        assert!(o.is_down());
        assert_eq!(o.cause().as_deref(), Some("refused"));
        tokio::time::timeout(std::time::Duration::from_secs(1), next_failure(&mut rx))
            .await
            .expect("woken by the failure");
        o.failed("refused again");
        assert_eq!(o.cause().as_deref(), Some("refused again"));
        o.answered();
        assert!(!o.is_down());
        assert_eq!(o.cause(), None);
    }
}
