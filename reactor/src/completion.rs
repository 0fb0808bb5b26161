//! A small oneshot for replies: a [`Promise`] completed on an executor and a [`Completion`]
//! that a plain thread can wait on or any async runtime can await.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::{Canceled, WaitError};

thread_local! {
    /// True on executor threads: a blocking wait there is refused.
    static ON_EXECUTOR: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as an executor thread (for its whole life).
pub(crate) fn mark_executor_thread() {
    ON_EXECUTOR.with(|on| on.set(true));
}

/// True on an executor thread.
fn on_executor() -> bool {
    ON_EXECUTOR.with(Cell::get)
}

enum State<T> {
    Pending(Option<Waker>),
    Ready(T),
    Taken,
    Abandoned,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    /// A thread blocks (or blocked) in `wait`: only then does completing wake the condition
    /// variable, so replies nobody waits on cost no futex system call. Written and read
    /// under the state lock.
    blocked: AtomicBool,
    /// Set when the [`Completion`] is dropped: nobody wants the value any more.
    dropped: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the state half-written (every update
        // is one assignment), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending half: completes the paired [`Completion`] once. Dropping it without a value
/// cancels the completion.
pub struct Promise<T> {
    shared: Option<Arc<Shared<T>>>,
    /// Set for a promise made by [`Promise::map`]: the value goes through it instead.
    mapped: Option<Mapped<T>>,
}

/// The far end of a mapped promise: where the value goes, and whether it is still wanted.
struct Mapped<T> {
    deliver: Box<dyn FnOnce(T) + Send>,
    wanted: Arc<dyn Fn() -> bool + Send + Sync>,
}

/// The receiving half: `wait()` from a plain thread, or `.await` it (it is a `Future`).
///
/// Dropping it tells the promise's holder that the value is no longer wanted (see
/// [`Promise::is_wanted`]); what that cancels is up to the holder, and documented where a
/// completion is handed out.
pub struct Completion<T> {
    shared: Arc<Shared<T>>,
}

/// Creates a linked promise and completion.
pub fn completion<T>() -> (Promise<T>, Completion<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::Pending(None)),
        ready: Condvar::new(),
        blocked: AtomicBool::new(false),
        dropped: AtomicBool::new(false),
    });
    (
        Promise {
            shared: Some(shared.clone()),
            mapped: None,
        },
        Completion { shared },
    )
}

impl<T> Promise<T> {
    /// False once the paired [`Completion`] has been dropped: work not yet started on its
    /// behalf may be skipped. One atomic load.
    pub fn is_wanted(&self) -> bool {
        if let Some(mapped) = &self.mapped {
            return (mapped.wanted)();
        }
        self.shared
            .as_ref()
            .is_some_and(|s| !s.dropped.load(Ordering::Relaxed))
    }

    /// A promise of a `T` that completes `target` with `f(value)`: the executor produces a
    /// `T`, the waiting side gets a `U`. Dropping it unfulfilled cancels `target`.
    pub fn map<U: Send + 'static>(
        target: Promise<U>,
        f: impl FnOnce(T) -> U + Send + 'static,
    ) -> Promise<T>
    where
        T: 'static,
    {
        let wanted = target.wanted_probe();
        Promise {
            shared: None,
            mapped: Some(Mapped {
                deliver: Box::new(move |value| target.complete(f(value))),
                wanted,
            }),
        }
    }

    /// A probe that stays valid after the promise is moved into a reply: true while the
    /// paired [`Completion`] lives.
    pub fn wanted_probe(&self) -> Arc<dyn Fn() -> bool + Send + Sync>
    where
        T: Send + 'static,
    {
        if let Some(mapped) = &self.mapped {
            return mapped.wanted.clone();
        }
        let shared = self.shared.clone();
        Arc::new(move || {
            shared
                .as_ref()
                .is_some_and(|s| !s.dropped.load(Ordering::Relaxed))
        })
    }

    /// Delivers the value and wakes whoever waits.
    pub fn complete(mut self, value: T) {
        if let Some(mapped) = self.mapped.take() {
            (mapped.deliver)(value);
        } else if let Some(shared) = self.shared.take() {
            Self::settle(&shared, State::Ready(value));
        }
    }

    fn settle(shared: &Shared<T>, new: State<T>) {
        let (waker, blocked) = {
            let mut state = shared.lock();
            let waker = match std::mem::replace(&mut *state, new) {
                State::Pending(waker) => waker,
                _ => None,
            };
            (waker, shared.blocked.load(Ordering::Relaxed))
        };
        if blocked {
            shared.ready.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            Self::settle(&shared, State::Abandoned);
        }
    }
}

impl<T> Completion<T> {
    fn take(state: &mut State<T>) -> Option<Result<T, Canceled>> {
        match std::mem::replace(state, State::Taken) {
            State::Ready(value) => Some(Ok(value)),
            State::Abandoned | State::Taken => Some(Err(Canceled)),
            pending @ State::Pending(_) => {
                *state = pending;
                None
            }
        }
    }

    /// Blocks the calling thread until the value arrives. On an executor thread (inside an
    /// actor's callback) it returns [`WaitError::OnExecutor`] at once instead of blocking the
    /// executor, which could deadlock: await the completion there instead.
    pub fn wait(self) -> Result<T, WaitError> {
        if on_executor() {
            return Err(WaitError::OnExecutor);
        }
        let mut state = self.shared.lock();
        loop {
            if let Some(result) = Self::take(&mut state) {
                return result.map_err(|Canceled| WaitError::Canceled);
            }
            self.shared.blocked.store(true, Ordering::Relaxed);
            state = self
                .shared
                .ready
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks up to `timeout`; on [`WaitError::TimedOut`] the completion can be waited again.
    /// Refused on an executor thread, like [`Completion::wait`].
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<T, WaitError> {
        if on_executor() {
            return Err(WaitError::OnExecutor);
        }
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(result) = Self::take(&mut state) {
                return result.map_err(|Canceled| WaitError::Canceled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WaitError::TimedOut);
            }
            self.shared.blocked.store(true, Ordering::Relaxed);
            state = self
                .shared
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether the value (or the cancellation) has arrived.
    pub fn is_ready(&self) -> bool {
        !matches!(*self.shared.lock(), State::Pending(_))
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        self.shared.dropped.store(true, Ordering::Relaxed);
    }
}

impl<T> Future for Completion<T> {
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut state = self.shared.lock();
        if let Some(result) = Self::take(&mut state) {
            return Poll::Ready(result);
        }
        *state = State::Pending(Some(cx.waker().clone()));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_completed_on_another_thread_is_received_by_wait() {
        let (promise, done) = completion();
        std::thread::spawn(move || promise.complete(42));
        assert_eq!(done.wait(), Ok(42));
    }

    #[test]
    fn a_blocking_wait_on_an_executor_thread_is_refused() {
        let (promise, done) = completion::<u8>();
        let refused = std::thread::spawn(move || {
            mark_executor_thread();
            done.wait()
        })
        .join()
        .expect("thread");
        assert_eq!(refused, Err(WaitError::OnExecutor));
        drop(promise);
    }

    #[test]
    fn a_dropped_completion_tells_the_promise_it_is_no_longer_wanted() {
        let (promise, done) = completion::<u8>();
        let probe = promise.wanted_probe();
        assert!(promise.is_wanted() && probe());
        drop(done);
        assert!(!promise.is_wanted());
        assert!(!probe());
        promise.complete(1);
        assert!(!probe());
    }

    #[test]
    fn a_mapped_promise_delivers_the_mapped_value_and_follows_its_target() {
        let (promise, done) = completion::<String>();
        let mapped = Promise::map(promise, |n: u8| format!("#{n}"));
        assert!(mapped.is_wanted());
        mapped.complete(7);
        assert_eq!(done.wait(), Ok("#7".to_string()));
        let (promise, done) = completion::<String>();
        let mapped = Promise::map(promise, |n: u8| format!("#{n}"));
        drop(done);
        assert!(!mapped.is_wanted());
        let (promise, done) = completion::<String>();
        drop(Promise::map(promise, |n: u8| format!("#{n}")));
        assert_eq!(done.wait(), Err(WaitError::Canceled));
    }

    #[test]
    fn a_dropped_promise_cancels_the_completion() {
        let (promise, mut done) = completion::<u8>();
        assert_eq!(
            done.wait_timeout(Duration::from_millis(1)),
            Err(WaitError::TimedOut)
        );
        drop(promise);
        assert!(done.is_ready());
        assert_eq!(
            done.wait_timeout(Duration::from_millis(1)),
            Err(WaitError::Canceled)
        );
    }
}
