//! Where a new actor starts. Actors wait in the pool's injector (spawned from outside) or
//! in an executor's local queue (spawned from a callback); an executor takes one, from its own
//! queue, the injector, or by stealing from another executor, only while it pins no more than
//! `SLACK` actors above the least loaded executor. That keeps executors even; `PATIENCE`
//! bounds how long a waiting actor defers to a busier-looking executor that does not take it
//! (for example one stuck in a long callback). Once started, an actor never moves.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Worker};

use crate::executor::ExecutorShared;
use crate::runner::Runner;

/// How many actors an executor may pin above the least loaded one and still take more.
pub(crate) const SLACK: usize = 1;
/// How long an executor leaves waiting actors to less loaded executors before taking them.
pub(crate) const PATIENCE: Duration = Duration::from_millis(250);

/// An actor not started yet.
pub(crate) type Waiting = Box<dyn Runner>;

/// Whether executor `me` is within `SLACK` of the least loaded executor.
pub(crate) fn may_take(me: usize, executors: &[Arc<ExecutorShared>]) -> bool {
    let load = |e: &Arc<ExecutorShared>| e.stats.actors.load(Ordering::Relaxed);
    let mine = executors.get(me).map_or(0, load);
    let least = executors.iter().map(load).min().unwrap_or(0);
    mine <= least + SLACK
}

/// Whether any actor is waiting anywhere.
pub(crate) fn any_waiting(
    local: &Worker<Waiting>,
    injector: &Injector<Waiting>,
    executors: &[Arc<ExecutorShared>],
) -> bool {
    !local.is_empty() || !injector.is_empty() || executors.iter().any(|e| !e.stealer.is_empty())
}

/// Takes one waiting actor: own queue first, then the injector, then other executors.
pub(crate) fn take(
    me: usize,
    local: &Worker<Waiting>,
    injector: &Injector<Waiting>,
    executors: &[Arc<ExecutorShared>],
) -> Option<Waiting> {
    if let Some(task) = local.pop() {
        return Some(task);
    }
    loop {
        match injector.steal() {
            Steal::Success(task) => return Some(task),
            Steal::Retry => continue,
            Steal::Empty => break,
        }
    }
    for (index, other) in executors.iter().enumerate() {
        if index == me {
            continue;
        }
        loop {
            match other.stealer.steal() {
                Steal::Success(task) => return Some(task),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }
    None
}
