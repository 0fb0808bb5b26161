//! Posting to an actor from any thread: a bounded per-actor mailbox, plus a one-entry
//! "ready" notice on the owning executor's queue and an eventfd wake only when that executor
//! may be asleep. Messages from one thread to one actor arrive in order.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::PostError;
use crate::executor::ExecutorShared;

/// Where a started actor lives: its executor and its key there.
pub(crate) struct Home {
    pub(crate) executor: Arc<ExecutorShared>,
    pub(crate) key: u64,
}

/// Queues this long or shorter keep their allocation once drained; longer ones give it back.
const KEEP_SLOTS: usize = 8;

/// One actor's mailbox, shared by its handles and its executor.
///
/// The queue costs nothing until a message arrives and gives its memory back once a burst
/// is drained, so ten thousand idle channels hold no mailbox memory; the bound is checked on
/// every post. One uncontended lock per post and per message taken.
pub(crate) struct Mailbox<M> {
    queue: Mutex<VecDeque<M>>,
    capacity: usize,
    home: OnceLock<Home>,
    /// Set while the actor is on its executor's ready queue (so it is queued at most once).
    pub(crate) scheduled: AtomicBool,
    closed: AtomicBool,
}

impl<M> Mailbox<M> {
    /// A mailbox holding at most `capacity` messages (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Mailbox {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            home: OnceLock::new(),
            scheduled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Records where the actor started; returns whether messages were already waiting.
    pub(crate) fn bind(&self, home: Home) -> bool {
        let _ = self.home.set(home);
        // Pairs with the fence in `post`: either the poster sees the home, or we see its message.
        fence(Ordering::SeqCst);
        !self.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<M>> {
        // Nothing runs user code while holding the lock, so it cannot be poisoned mid-update.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The oldest message, if any; a drained queue that grew past a few slots is freed.
    pub(crate) fn take(&self) -> Option<M> {
        let mut queue = self.lock();
        let message = queue.pop_front();
        if queue.is_empty() && queue.capacity() > KEEP_SLOTS {
            *queue = VecDeque::new();
        }
        message
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Messages queued now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Refuses further posts and drops what is queued (their promises cancel).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let dropped = std::mem::take(&mut *self.lock());
        drop(dropped);
    }

    fn post(&self, message: M) -> Result<(), PostError<M>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(PostError::Closed(message));
        }
        {
            let mut queue = self.lock();
            if queue.len() >= self.capacity {
                return Err(PostError::Full(message));
            }
            // One message usually waits alone: room for one, doubling from there.
            if queue.capacity() == 0 {
                queue.reserve_exact(1);
            }
            queue.push_back(message);
        }
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            // The actor stopped while we posted: nobody will read it; drop it now.
            let dropped = std::mem::take(&mut *self.lock());
            drop(dropped);
            return Ok(());
        }
        if let Some(home) = self.home.get() {
            if !self.scheduled.swap(true, Ordering::AcqRel) {
                home.executor.notify(home.key);
            }
        }
        Ok(())
    }
}

/// Posts messages of type `M` to one actor from any thread. Cheap to clone.
pub struct Handle<M> {
    mailbox: Arc<Mailbox<M>>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Handle {
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<M> std::fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("queued", &self.mailbox.len())
            .finish()
    }
}

impl<M> Handle<M> {
    pub(crate) fn new(mailbox: Arc<Mailbox<M>>) -> Self {
        Handle { mailbox }
    }

    /// Queues `message` for the actor's `on_message` and wakes its executor if needed.
    /// Fails with `Full` at the mailbox capacity and `Closed` once the actor stopped.
    pub fn post(&self, message: M) -> Result<(), PostError<M>> {
        self.mailbox.post(message)
    }

    /// Whether the actor has stopped (posts will fail with `Closed`).
    pub fn is_closed(&self) -> bool {
        self.mailbox.closed.load(Ordering::SeqCst)
    }
}
