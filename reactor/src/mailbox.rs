//! Posting to an actor from any thread: a bounded per-actor mailbox, plus a one-entry
//! "ready" notice on the owning executor's queue and an eventfd wake only when that executor
//! may be asleep. Messages from one thread to one actor arrive in order.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::error::PostError;
use crate::executor::ExecutorShared;

/// Where a started actor lives: its executor and its key there.
pub(crate) struct Home {
    pub(crate) executor: Arc<ExecutorShared>,
    pub(crate) key: u64,
}

/// One actor's mailbox, shared by its handles and its executor.
pub(crate) struct Mailbox<M> {
    tx: Sender<M>,
    pub(crate) rx: Receiver<M>,
    home: OnceLock<Home>,
    /// Set while the actor is on its executor's ready queue (so it is queued at most once).
    pub(crate) scheduled: AtomicBool,
    closed: AtomicBool,
}

impl<M> Mailbox<M> {
    /// A mailbox holding at most `capacity` messages (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        Mailbox {
            tx,
            rx,
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
        !self.rx.is_empty()
    }

    /// Refuses further posts and drops what is queued (their promises cancel).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        while self.rx.try_recv().is_ok() {}
    }

    fn post(&self, message: M) -> Result<(), PostError<M>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(PostError::Closed(message));
        }
        match self.tx.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(m)) => return Err(PostError::Full(m)),
            Err(TrySendError::Disconnected(m)) => return Err(PostError::Closed(m)),
        }
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            // The actor stopped while we posted: nobody will read it; drop it now.
            while self.rx.try_recv().is_ok() {}
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
            .field("queued", &self.mailbox.rx.len())
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
