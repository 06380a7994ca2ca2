//! CPU priority of background work: renders, chart queries' SQLite work and the metadata
//! store's work for chart tools run below tool calls (`screenshots.priority`).
//!
//! No thread that lives on is ever lowered: a process is reaped only once every one of its
//! threads has run to its end, and on a busy CPU a SCHED_IDLE thread may wait seconds for
//! that slice, so a pod asked to stop (or killed) would linger. Background work runs on a
//! thread of its own, lowered and gone when the work is ([`run_lowered`]); an unprivileged
//! thread cannot raise its priority again, so a lowered thread is never reused either.

/// How render threads yield the CPU to tool calls (`screenshots.priority`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderPriority {
    /// Nice 10: on a busy CPU a render thread gets about a tenth of a tool worker's share,
    /// but a waking tool call may wait for a running render's time slice (Linux's EEVDF
    /// scheduler does not always preempt it): list_charts p99 under a flood of pictures
    /// measured clearly higher than with `Idle` (benches/scripts/chart-isolation.sh).
    Low,
    /// Linux SCHED_IDLE (the default): renders run only on CPU time nothing else in the
    /// process' cgroup wants, and a waking tool call preempts a render at once. On a CPU kept
    /// busy by tool calls, pictures wait (and meet their time limit) instead. Elsewhere than
    /// Linux it is the same as `Low`.
    #[default]
    Idle,
}

/// thread-priority's 0..=99 scale; on Linux's normal policy 22 maps to nice 10.
const RENDER_PRIORITY: u8 = 22;

/// Lower the calling thread's CPU priority as `priority` says. Threads it starts later
/// (a runtime's blocking threads) inherit the priority.
pub fn lower_priority(priority: RenderPriority) -> Result<(), String> {
    match priority {
        RenderPriority::Low => thread_priority::ThreadPriorityValue::try_from(RENDER_PRIORITY)
            .map_err(|e| format!("{e:?}"))
            .and_then(|p| {
                thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Crossplatform(p),
                )
                .map_err(|e| format!("{e:?}"))
            }),
        #[cfg(target_os = "linux")]
        RenderPriority::Idle => {
            use thread_priority::unix::{
                NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
                thread_native_id,
            };
            // SCHED_IDLE takes no priority value but 0, which is its minimum.
            set_thread_priority_and_policy(
                thread_native_id(),
                thread_priority::ThreadPriority::Min,
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
            )
            .map_err(|e| format!("{e:?}"))
        }
        #[cfg(not(target_os = "linux"))]
        RenderPriority::Idle => lower_priority(RenderPriority::Low),
    }
}

/// Run `work` on a thread of its own at `priority`, and return what it returned; the thread
/// ends with the work. When the priority cannot be lowered (a platform or sandbox refusal)
/// the work runs anyway at the normal priority, and the refusal is logged. Fails only when
/// no thread can be started (the process' thread limit); a panic in `work` reaches the
/// caller.
pub fn run_lowered<T: Send>(
    priority: RenderPriority,
    work: impl FnOnce() -> T + Send,
) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("vizier-lowered".to_owned())
            .spawn_scoped(scope, move || {
                if let Err(e) = lower_priority(priority) {
                    tracing::warn!(error = %e, "could not lower a background thread's priority");
                }
                work()
            })?;
        Ok(thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn render_threads_take_the_configured_policy() {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let idle = std::thread::spawn(|| {
            lower_priority(RenderPriority::Idle).map(|()| thread_schedule_policy())
        })
        .join()
        .expect("thread");
        assert_eq!(
            idle.expect("lowered").expect("policy"),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        let low = std::thread::spawn(|| lower_priority(RenderPriority::Low))
            .join()
            .expect("thread");
        assert!(low.is_ok(), "{low:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lowered_work_runs_on_a_thread_that_ends_with_it() {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let caller = std::thread::current().id();
        let (policy, thread) = run_lowered(RenderPriority::Idle, || {
            (
                thread_schedule_policy().expect("policy"),
                std::thread::current().id(),
            )
        })
        .expect("a thread");
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_ne!(thread, caller);
        // The caller keeps its own policy.
        assert_eq!(
            thread_schedule_policy().expect("policy"),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
        // A panic in the work reaches the caller.
        let panicked =
            std::panic::catch_unwind(|| run_lowered(RenderPriority::Low, || panic!("boom")));
        assert!(panicked.is_err());
    }
}
