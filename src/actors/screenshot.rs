//! The render queue: chart pictures are drawn on render threads of their own, behind a
//! bounded queue, so a burst of pictures never holds up the query tools.
//!
//! ```text
//! caller ── Screenshots::render ──┬─ cache hit ───────────────→ the cached picture, at once
//!                                 ├─ same key in flight ──────→ waits for that render
//!                                 ├─ queue full ──────────────→ Overloaded, at once
//!                                 └─ admitted ── Render ──→ RenderWorker × workers
//!                                                           (SyncArbiter threads)
//! ```
//!
//! - **What runs where.** Drawing is CPU-bound and synchronous (5–200 ms), so it runs on a
//!   [`SyncArbiter`] of `workers` threads, one picture at a time each. [`Screenshots`] is a
//!   cloneable handle; callers await it from any arbiter without blocking their thread.
//! - **The bound.** At most `workers + queue` renders are admitted (running or waiting).
//!   The next one is refused at once as [`RenderRefusal::Overloaded`] with a retry hint (the
//!   estimated time to drain the queue, at least 1 s); no caller ever waits for a slot.
//! - **Dedup.** Renders of the same key in flight are drawn once: later callers wait for
//!   the first one's result and take no slot.
//! - **Cache.** Successful pictures are kept by key for `cache_ttl`, at most
//!   `cache_entries` of them (least recently used go first); a hit returns at once.
//! - **Time limit.** Each caller waits at most `time_limit`, then gets
//!   [`RenderRefusal::TimedOut`]. A render thread cannot be interrupted: the late picture
//!   still goes to the cache (so the retry is instant), and the slot is only freed when the
//!   thread is done, so a flood of slow renders still meets the bound. A job that waited
//!   longer than the limit and that nobody waits for any more is skipped, not drawn.
//! - **Panics** inside a job become [`RenderRefusal::Failed`] for that render only; the
//!   render thread goes on serving.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use tokio::sync::oneshot;

use crate::config::ScreenshotsConfig;
use crate::priority::{RenderPriority, run_lowered};

/// Renders admitted and not finished (waiting or running).
const QUEUE_DEPTH: &str = "vizier_screenshot_queue_depth";
/// Time spent drawing one picture on a render thread.
const RENDER_SECONDS: &str = "vizier_screenshot_render_seconds";
/// Renders refused, by `reason`: `overloaded` or `timed_out`.
const REFUSALS: &str = "vizier_screenshot_refusals_total";
/// Lookups by `result`: `hit` (cached), `joined` (same key in flight) or `miss` (neither,
/// whether then admitted or refused).
const CACHE: &str = "vizier_screenshot_cache_total";

/// What a render is assumed to take before any has finished; feeds the retry hint.
const FIRST_RENDER_ESTIMATE: Duration = Duration::from_millis(50);
/// The shortest retry hint given with a refusal.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
/// What a caller is told when a job panicked; the panic itself goes to the log.
const PANICKED: &str = "the renderer panicked";

/// Describe the render queue's metrics to the installed recorder.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        QUEUE_DEPTH,
        "Chart renders admitted and not finished (waiting or running)"
    );
    describe_histogram!(
        RENDER_SECONDS,
        metrics::Unit::Seconds,
        "Time spent drawing one chart picture on a render thread"
    );
    describe_counter!(
        REFUSALS,
        "Chart renders refused, by reason (overloaded, timed_out)"
    );
    describe_counter!(CACHE, "Chart render lookups, by result (hit, joined, miss)");
}

/// How the render queue is sized; see the module doc.
#[derive(Debug, Clone)]
pub struct ScreenshotSettings {
    /// Render threads (at least one is started).
    pub workers: usize,
    /// Renders that may wait for a thread beyond those running.
    pub queue: usize,
    /// How long a finished picture is served from the cache.
    pub cache_ttl: Duration,
    /// How many pictures the cache holds at most.
    pub cache_entries: usize,
    /// How long a caller waits for its picture.
    pub time_limit: Duration,
    /// How render threads yield the CPU to tool calls.
    pub priority: RenderPriority,
}

impl ScreenshotSettings {
    /// The settings `screenshots` asks for (0 workers: one per CPU).
    pub fn from_config(config: &ScreenshotsConfig) -> Self {
        Self {
            workers: match config.workers {
                0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
                n => n,
            },
            queue: config.queue,
            cache_ttl: Duration::from_millis(config.cache_ttl_ms),
            cache_entries: config.cache_entries,
            time_limit: Duration::from_millis(config.time_limit_ms),
            priority: config.priority,
        }
    }
}

/// A finished picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Bytes,
    pub mime: &'static str,
}

/// Why no picture came back. Each message names the problem and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderRefusal {
    #[error(
        "the render queue is full ({queued} waiting); retry after {} s",
        retry_after.as_secs()
    )]
    Overloaded {
        retry_after: Duration,
        queued: usize,
    },
    #[error(
        "the picture took longer than {} ms to render; retry shortly (it may then come \
         from the cache) or ask for fewer rows or a smaller picture",
        limit.as_millis()
    )]
    TimedOut { limit: Duration },
    #[error("the picture could not be rendered: {0}")]
    Failed(String),
    #[error("the renderer is stopped (the server is shutting down); retry once it is back")]
    Stopped,
}

/// Draws one picture; runs on a render thread.
type RenderJob = Box<dyn FnOnce() -> Result<Rendered, String> + Send>;

/// One render's outcome, as every caller waiting for it sees it.
type SharedRender = Shared<BoxFuture<'static, Result<Rendered, RenderRefusal>>>;

/// A render admitted and not finished. The map holds it weakly: once every caller has
/// given up, the reply channel closes and the render thread can tell nobody waits.
struct InFlight {
    ticket: u64,
    render: WeakShared<BoxFuture<'static, Result<Rendered, RenderRefusal>>>,
}

/// What the handle and the render threads share.
struct State {
    workers: usize,
    capacity: usize,
    admitted: AtomicUsize,
    next_ticket: AtomicU64,
    /// Moving average of render times in microseconds, for the retry hint.
    render_estimate_us: AtomicU64,
    in_flight: Mutex<HashMap<u64, InFlight>>,
    cache: Cache<u64, Rendered>,
}

impl State {
    fn lock_in_flight(&self) -> MutexGuard<'_, HashMap<u64, InFlight>> {
        // The map stays consistent between statements: a panic elsewhere cannot leave
        // it half-changed, so a poisoned lock is still good to use.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn note_render_time(&self, took: Duration) {
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .render_estimate_us
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                Some(old - old / 8 + took_us / 8)
            });
    }

    /// How long `admitted` renders take to drain, in whole seconds, at least 1 s.
    fn drain_estimate(&self, admitted: usize) -> Duration {
        let per_render = Duration::from_micros(self.render_estimate_us.load(Ordering::Acquire));
        let rounds = u32::try_from(admitted.div_ceil(self.workers)).unwrap_or(u32::MAX);
        let drain = per_render.saturating_mul(rounds);
        Duration::from_secs(drain.as_secs() + u64::from(drain.subsec_nanos() > 0))
            .max(MIN_RETRY_AFTER)
    }
}

/// An admitted render's place in the queue. Dropping it — rendered, skipped, or its
/// message lost with a stopped worker — frees the place and forgets the in-flight entry.
struct Ticket {
    state: Arc<State>,
    key: u64,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        {
            let mut in_flight = self.state.lock_in_flight();
            // A newer render of the key may have replaced this one after its callers left.
            if in_flight
                .get(&self.key)
                .is_some_and(|f| f.ticket == self.id)
            {
                in_flight.remove(&self.key);
            }
        }
        self.state.admitted.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(QUEUE_DEPTH).decrement(1.0);
    }
}

/// A render's outcome and how long the drawing took.
struct Finished {
    outcome: Result<Rendered, String>,
    took: Duration,
}

/// Draw one picture; the outcome goes back on `reply`.
#[derive(Message)]
#[rtype(result = "()")]
struct Render {
    job: RenderJob,
    queued_at: Instant,
    time_limit: Duration,
    reply: oneshot::Sender<Finished>,
    ticket: Ticket,
}

/// One render thread: draws one picture at a time.
struct RenderWorker {
    priority: RenderPriority,
}

impl Actor for RenderWorker {
    type Context = SyncContext<Self>;
}

impl Handler<Render> for RenderWorker {
    type Result = ();

    fn handle(&mut self, msg: Render, _ctx: &mut Self::Context) {
        let Render {
            job,
            queued_at,
            time_limit,
            reply,
            ticket,
        } = msg;
        let waited = queued_at.elapsed();
        if waited >= time_limit && reply.is_closed() {
            tracing::debug!(
                waited_ms = waited.as_millis() as u64,
                "render skipped: its callers gave up"
            );
            return;
        }
        let started = Instant::now();
        // Renders yield to tool calls (see [`RenderPriority`]; when nothing else runs they get
        // the whole CPU), on a thread lowered for this render only: this one stays normal.
        let outcome = match run_lowered(self.priority, || catch_unwind(AssertUnwindSafe(job))) {
            Ok(Ok(drawn)) => drawn,
            Ok(Err(panic)) => {
                tracing::error!(panic = panic_message(&*panic), "a chart renderer panicked");
                Err(PANICKED.to_owned())
            }
            Err(e) => {
                tracing::error!(error = %e, "could not start a render thread");
                Err(format!(
                    "The picture could not be drawn: no thread to draw it on ({e}). Try again shortly."
                ))
            }
        };
        let took = started.elapsed();
        metrics::histogram!(RENDER_SECONDS).record(took.as_secs_f64());
        ticket.state.note_render_time(took);
        if let Ok(rendered) = &outcome {
            // Cached before the in-flight entry goes, so no caller finds neither.
            ticket.state.cache.insert(ticket.key, rendered.clone());
        }
        // The slot is free before anyone hears the result.
        drop(ticket);
        let _ = reply.send(Finished { outcome, took });
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned())
}

/// Where a caller's picture comes from.
enum Lookup {
    Cached(Rendered),
    Pending(SharedRender),
}

/// The render queue's handle; clones share the same threads, queue and cache.
#[derive(Clone)]
pub struct Screenshots {
    workers: Addr<RenderWorker>,
    time_limit: Duration,
    state: Arc<State>,
}

impl Screenshots {
    /// Start the render threads. Must be called inside a running actix System.
    pub fn start(settings: ScreenshotSettings) -> Self {
        let workers = settings.workers.max(1);
        let cache = Cache::builder()
            .max_capacity(settings.cache_entries as u64)
            .time_to_live(settings.cache_ttl)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        let state = State {
            workers,
            capacity: workers + settings.queue,
            admitted: AtomicUsize::new(0),
            next_ticket: AtomicU64::new(0),
            render_estimate_us: AtomicU64::new(FIRST_RENDER_ESTIMATE.as_micros() as u64),
            in_flight: Mutex::new(HashMap::new()),
            cache,
        };
        Self {
            workers: {
                let priority = settings.priority;
                SyncArbiter::start(workers, move || RenderWorker { priority })
            },
            time_limit: settings.time_limit,
            state: Arc::new(state),
        }
    }

    /// The picture for `key`: from the cache, from a render of the same key in flight, or
    /// drawn by `job` on a render thread. Refused at once when the queue is full.
    pub async fn render(
        &self,
        key: u64,
        job: impl FnOnce() -> Result<Rendered, String> + Send + 'static,
    ) -> Result<Rendered, RenderRefusal> {
        let render = match self.lookup(key, Box::new(job))? {
            Lookup::Cached(rendered) => return Ok(rendered),
            Lookup::Pending(render) => render,
        };
        match tokio::time::timeout(self.time_limit, render).await {
            Ok(result) => result,
            Err(_elapsed) => {
                metrics::counter!(REFUSALS, "reason" => "timed_out").increment(1);
                Err(RenderRefusal::TimedOut {
                    limit: self.time_limit,
                })
            }
        }
    }

    /// Renders admitted and not finished (waiting or running).
    pub fn queue_depth(&self) -> usize {
        self.state.admitted.load(Ordering::Acquire)
    }

    /// Under the in-flight lock, so a render cannot finish between the two checks: the
    /// cached picture, the same key in flight, or a new render admitted and sent off.
    fn lookup(&self, key: u64, job: RenderJob) -> Result<Lookup, RenderRefusal> {
        let (render, message) = {
            let mut in_flight = self.state.lock_in_flight();
            if let Some(rendered) = self.state.cache.get(&key) {
                metrics::counter!(CACHE, "result" => "hit").increment(1);
                return Ok(Lookup::Cached(rendered));
            }
            if let Some(render) = in_flight.get(&key).and_then(|f| f.render.upgrade()) {
                metrics::counter!(CACHE, "result" => "joined").increment(1);
                return Ok(Lookup::Pending(render));
            }
            metrics::counter!(CACHE, "result" => "miss").increment(1);
            let ticket = self.admit(key)?;
            let (reply, finished) = oneshot::channel();
            let render = finished.map(into_result).boxed().shared();
            if let Some(weak) = render.downgrade() {
                in_flight.insert(
                    key,
                    InFlight {
                        ticket: ticket.id,
                        render: weak,
                    },
                );
            }
            let message = Render {
                job,
                queued_at: Instant::now(),
                time_limit: self.time_limit,
                reply,
                ticket,
            };
            (render, message)
        };
        // Outside the lock: a message the stopped workers cannot take is dropped here,
        // and its ticket takes the lock to clean up. Admission already bounds the mailbox.
        self.workers.do_send(message);
        Ok(Lookup::Pending(render))
    }

    /// Take a place in the queue, or refuse at once when there is none.
    fn admit(&self, key: u64) -> Result<Ticket, RenderRefusal> {
        let state = &self.state;
        let before = state.admitted.fetch_add(1, Ordering::AcqRel);
        if before >= state.capacity {
            state.admitted.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!(REFUSALS, "reason" => "overloaded").increment(1);
            return Err(RenderRefusal::Overloaded {
                retry_after: state.drain_estimate(before),
                queued: before.saturating_sub(state.workers),
            });
        }
        metrics::gauge!(QUEUE_DEPTH).increment(1.0);
        Ok(Ticket {
            state: state.clone(),
            key,
            id: state.next_ticket.fetch_add(1, Ordering::Relaxed),
        })
    }
}

fn into_result(
    finished: Result<Finished, oneshot::error::RecvError>,
) -> Result<Rendered, RenderRefusal> {
    match finished {
        Ok(Finished { outcome, took }) => {
            tracing::debug!(
                render_ms = took.as_millis() as u64,
                ok = outcome.is_ok(),
                "chart rendered"
            );
            outcome.map_err(RenderRefusal::Failed)
        }
        // The render's message was dropped unhandled: its worker is gone.
        Err(_) => Err(RenderRefusal::Stopped),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn settings(workers: usize, queue: usize) -> ScreenshotSettings {
        ScreenshotSettings {
            workers,
            queue,
            cache_ttl: Duration::from_secs(60),
            cache_entries: 100,
            time_limit: Duration::from_secs(5),
            priority: RenderPriority::Low,
        }
    }

    fn picture(tag: &str) -> Rendered {
        Rendered {
            bytes: Bytes::from(tag.to_owned()),
            mime: "image/png",
        }
    }

    /// A job that counts its runs and draws `tag`.
    fn counted(
        runs: &Arc<AtomicUsize>,
        tag: &'static str,
    ) -> impl FnOnce() -> Result<Rendered, String> + Send + 'static {
        let runs = runs.clone();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(picture(tag))
        }
    }

    /// A job that counts its runs, then draws `tag` once `gate` opens (or its sender is
    /// dropped, so a failed test never leaves a render thread stuck).
    fn gated(
        runs: &Arc<AtomicUsize>,
        tag: &'static str,
        gate: mpsc::Receiver<()>,
    ) -> impl FnOnce() -> Result<Rendered, String> + Send + 'static {
        let runs = runs.clone();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            let _ = gate.recv();
            Ok(picture(tag))
        }
    }

    /// Wait (up to 1 s) for something that happens on a render thread.
    async fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting until {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[actix::test]
    async fn a_full_queue_refuses_at_once_and_joining_takes_no_slot() {
        let screens = Screenshots::start(settings(1, 1));
        let runs = Arc::new(AtomicUsize::new(0));
        let (open_1, gate_1) = mpsc::channel();
        let (open_2, gate_2) = mpsc::channel();
        let running = actix::spawn({
            let screens = screens.clone();
            let job = gated(&runs, "one", gate_1);
            async move { screens.render(1, job).await }
        });
        let waiting = actix::spawn({
            let screens = screens.clone();
            let job = gated(&runs, "two", gate_2);
            async move { screens.render(2, job).await }
        });
        wait_until("both renders are admitted", || screens.queue_depth() == 2).await;

        let refused = screens
            .render(3, counted(&runs, "three"))
            .now_or_never()
            .expect("a refusal comes at once");
        let refusal = refused.expect_err("the queue is full");
        assert_eq!(
            refusal,
            RenderRefusal::Overloaded {
                retry_after: Duration::from_secs(1),
                queued: 1
            }
        );
        assert_eq!(
            refusal.to_string(),
            "the render queue is full (1 waiting); retry after 1 s"
        );

        let joiner_runs = Arc::new(AtomicUsize::new(0));
        let mut joining = Box::pin(screens.render(1, counted(&joiner_runs, "joined")));
        assert!(futures::poll!(&mut joining).is_pending());
        assert_eq!(screens.queue_depth(), 2, "joining took a slot");

        open_1.send(()).unwrap();
        open_2.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(picture("one")));
        assert_eq!(waiting.await.unwrap(), Ok(picture("two")));
        assert_eq!(joining.await, Ok(picture("one")));
        assert_eq!(joiner_runs.load(Ordering::SeqCst), 0);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(screens.queue_depth(), 0);
    }

    #[actix::test]
    async fn identical_keys_in_flight_render_once() {
        let screens = Screenshots::start(settings(2, 4));
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = mpsc::channel();
        let mut gate = Some(gate);
        let renders: Vec<_> = (0..5)
            .map(|_| match gate.take() {
                Some(gate) => screens.render(7, gated(&runs, "seven", gate)).boxed(),
                None => screens.render(7, counted(&runs, "again")).boxed(),
            })
            .collect();
        // `join!` polls the renders first (all five reach the queue), then opens the gate.
        let (results, ()) = futures::join!(futures::future::join_all(renders), async {
            open.send(()).unwrap();
        });
        assert_eq!(results, vec![Ok(picture("seven")); 5]);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(screens.queue_depth(), 0);
    }

    #[actix::test]
    async fn a_cached_picture_returns_at_once_until_it_expires() {
        let ttl = Duration::from_millis(100);
        let screens = Screenshots::start(ScreenshotSettings {
            cache_ttl: ttl,
            ..settings(1, 0)
        });
        let runs = Arc::new(AtomicUsize::new(0));
        assert_eq!(
            screens.render(9, counted(&runs, "nine")).await,
            Ok(picture("nine"))
        );
        let hit = screens
            .render(9, counted(&runs, "not drawn"))
            .now_or_never()
            .expect("a cache hit comes at once");
        assert_eq!(hit, Ok(picture("nine")));
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(
            screens.render(9, counted(&runs, "redrawn")).await,
            Ok(picture("redrawn"))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(screens.queue_depth(), 0);
    }

    #[actix::test]
    async fn a_slow_render_times_out_and_holds_its_slot_until_done() {
        let limit = Duration::from_millis(50);
        let screens = Screenshots::start(ScreenshotSettings {
            time_limit: limit,
            ..settings(1, 1)
        });
        let slow_runs = Arc::new(AtomicUsize::new(0));
        let queued_runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = mpsc::channel();
        let (slow, queued) = futures::join!(
            screens.render(1, gated(&slow_runs, "slow", gate)),
            screens.render(2, counted(&queued_runs, "queued")),
        );
        assert_eq!(slow, Err(RenderRefusal::TimedOut { limit }));
        assert_eq!(queued, Err(RenderRefusal::TimedOut { limit }));
        assert_eq!(
            screens.queue_depth(),
            2,
            "a timed-out render freed its slot"
        );

        open.send(()).unwrap();
        wait_until("the slow render is done", || screens.queue_depth() == 0).await;
        assert_eq!(
            queued_runs.load(Ordering::SeqCst),
            0,
            "a job nobody waits for was drawn after the limit"
        );
        let late = screens
            .render(1, counted(&queued_runs, "not drawn"))
            .now_or_never()
            .expect("the late picture is cached");
        assert_eq!(late, Ok(picture("slow")));
        assert_eq!(slow_runs.load(Ordering::SeqCst), 1);
    }

    #[actix::test]
    async fn a_panicking_job_fails_alone_and_the_worker_goes_on() {
        let screens = Screenshots::start(settings(1, 0));
        let panicked = screens.render(1, || panic!("boom")).await;
        assert_eq!(panicked, Err(RenderRefusal::Failed(PANICKED.to_owned())));

        let runs = Arc::new(AtomicUsize::new(0));
        assert_eq!(
            screens.render(2, counted(&runs, "two")).await,
            Ok(picture("two"))
        );
        assert_eq!(screens.queue_depth(), 0);
    }

    #[actix::test]
    async fn a_failed_render_is_reported_and_not_cached() {
        let screens = Screenshots::start(settings(1, 0));
        let runs = Arc::new(AtomicUsize::new(0));
        let failing = {
            let runs = runs.clone();
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
                Err("no rows to draw".to_owned())
            }
        };
        let failed = screens.render(3, failing).await;
        assert_eq!(
            failed,
            Err(RenderRefusal::Failed("no rows to draw".to_owned()))
        );
        assert_eq!(
            screens.render(3, counted(&runs, "three")).await,
            Ok(picture("three"))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(screens.queue_depth(), 0);
    }
}
