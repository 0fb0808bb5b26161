//! Per-executor counters, updated by the executor and readable from any thread for tests and
//! benchmarks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// The live counters of one executor.
#[derive(Default)]
pub(crate) struct StatsCounters {
    pub(crate) actors: AtomicUsize,
    pub(crate) started: AtomicU64,
    pub(crate) wakeups: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) timers_fired: AtomicU64,
    pub(crate) sources: AtomicUsize,
    pub(crate) timers: AtomicUsize,
    pub(crate) cq_overflows: AtomicU64,
    pub(crate) cq_dropped: AtomicU64,
    pub(crate) recv_waits: AtomicU64,
    pub(crate) busy_nanos: AtomicU64,
}

impl StatsCounters {
    /// A consistent-enough copy for reporting.
    pub(crate) fn snapshot(&self, index: usize) -> ExecutorStats {
        ExecutorStats {
            index,
            actors: self.actors.load(Ordering::Relaxed),
            channels_started: self.started.load(Ordering::Relaxed),
            wakeups: self.wakeups.load(Ordering::Relaxed),
            polls: self.polls.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            timers_fired: self.timers_fired.load(Ordering::Relaxed),
            sources: self.sources.load(Ordering::Relaxed),
            timers: self.timers.load(Ordering::Relaxed),
            cq_overflows: self.cq_overflows.load(Ordering::Relaxed),
            cq_dropped: self.cq_dropped.load(Ordering::Relaxed),
            recv_waits: self.recv_waits.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A snapshot of one executor's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExecutorStats {
    /// Which executor (0-based).
    pub index: usize,
    /// Actors pinned to it now.
    pub actors: usize,
    /// Actors it has started since the pool began.
    pub channels_started: u64,
    /// Times it woke from sleeping in the kernel.
    pub wakeups: u64,
    /// Loop iterations (each one poll of the driver).
    pub polls: u64,
    /// Posted messages delivered.
    pub messages: u64,
    /// Timers fired (actor timers and connect deadlines).
    pub timers_fired: u64,
    /// Descriptors (connections, listeners, serial ports) it drives now.
    pub sources: usize,
    /// Timers pending in its wheel now.
    pub timers: usize,
    /// Times its io_uring completion queue overflowed and was drained (the kernel kept the
    /// excess; nothing was lost). Always 0 on epoll.
    pub cq_overflows: u64,
    /// Completions the kernel reported dropped: 0 unless it ran out of memory for its
    /// overflow list. Each is also logged as an error.
    pub cq_dropped: u64,
    /// Receives that found every buffer of the executor's io_uring receive ring lent out
    /// (see [`crate::PoolBuilder::recv_buffers`]): their bytes waited in the socket until the
    /// next loop iteration. Always 0 on epoll.
    pub recv_waits: u64,
    /// Time spent working (everything but waiting in the driver's poll) since the pool
    /// began; its rate over an interval is the executor's load (1.0: always busy).
    pub busy: Duration,
}
