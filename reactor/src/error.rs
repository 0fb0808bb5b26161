//! Typed errors of the reactor: building a pool, spawning, posting, sending and waiting.

use std::fmt;
use std::io;

use crate::backend::Backend;

/// Why a [`Pool`](crate::Pool) could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// The requested backend cannot run on this kernel or in this process.
    BackendUnavailable {
        /// The backend that was asked for.
        backend: Backend,
        /// What the kernel answered when probed.
        source: io::Error,
    },
    /// An executor's driver (ring, epoll instance or wake-up eventfd) could not be created.
    Driver(io::Error),
    /// The operating system refused to start an executor thread.
    Thread(io::Error),
    /// A pool needs at least one executor thread.
    NoThreads,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::BackendUnavailable { backend, source } => write!(
                f,
                "the {backend} backend is not available here ({source}); \
                 use Backend::Auto or another backend"
            ),
            PoolError::Driver(e) => write!(f, "could not create an executor's I/O driver: {e}"),
            PoolError::Thread(e) => write!(f, "could not start an executor thread: {e}"),
            PoolError::NoThreads => write!(f, "a pool needs at least one executor thread"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::BackendUnavailable { source, .. } => Some(source),
            PoolError::Driver(e) | PoolError::Thread(e) => Some(e),
            PoolError::NoThreads => None,
        }
    }
}

/// Why an actor could not be handed to the pool; the actor is given back.
pub struct SpawnError<C>(pub C);

impl<C> fmt::Debug for SpawnError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpawnError(pool shut down)")
    }
}

impl<C> fmt::Display for SpawnError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down; the actor was not started")
    }
}

impl<C> std::error::Error for SpawnError<C> {}

/// Why a message could not be posted to an actor; the message is given back.
#[non_exhaustive]
pub enum PostError<M> {
    /// The actor's mailbox is at its capacity; retry later or slow the producer down.
    Full(M),
    /// The actor has stopped (or its pool shut down); it will never read the message.
    Closed(M),
}

impl<M> PostError<M> {
    /// Takes back the message that was not posted.
    pub fn into_inner(self) -> M {
        match self {
            PostError::Full(m) | PostError::Closed(m) => m,
        }
    }
}

impl<M> fmt::Debug for PostError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostError::Full(_) => f.write_str("Full(..)"),
            PostError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<M> fmt::Display for PostError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostError::Full(_) => f.write_str(
                "the actor's mailbox is full; retry later or raise PoolBuilder::mailbox_capacity",
            ),
            PostError::Closed(_) => f.write_str("the actor has stopped"),
        }
    }
}

impl<M> std::error::Error for PostError<M> {}

/// Why bytes could not be queued on a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The send queue has no room for these bytes now; `on_writable` follows when it drains.
    Full,
    /// The bytes are larger than the whole send queue and can never fit; split them.
    TooLarge,
    /// The source is closed, failed, still connecting or not a byte stream.
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full => {
                f.write_str("the send queue is full; wait for on_writable before sending more")
            }
            SendError::TooLarge => f.write_str(
                "the bytes exceed the send queue capacity; split them or raise \
                 PoolBuilder::send_capacity",
            ),
            SendError::Closed => f.write_str("the source is not an open byte stream"),
        }
    }
}

impl std::error::Error for SendError {}

/// The promise side of a completion was dropped without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canceled;

impl fmt::Display for Canceled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the promise was dropped without completing (its actor stopped)")
    }
}

impl std::error::Error for Canceled {}

/// Why [`Completion::wait`](crate::Completion::wait) or
/// [`Completion::wait_timeout`](crate::Completion::wait_timeout) returned without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// The time ran out; the completion can be waited on again.
    TimedOut,
    /// The promise was dropped without a value.
    Canceled,
    /// A blocking wait was called on an executor thread. It would stop that executor, and
    /// the reply may be due from an actor of the same executor: a deadlock. Await the
    /// completion, or hand the work to another thread.
    OnExecutor,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::TimedOut => f.write_str("timed out waiting for the completion"),
            WaitError::Canceled => Canceled.fmt(f),
            WaitError::OnExecutor => f.write_str(
                "a blocking wait on an executor thread would deadlock: await the completion instead",
            ),
        }
    }
}

impl std::error::Error for WaitError {}
