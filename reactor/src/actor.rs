//! The unit of scheduling: a [`Actor`] is a user state machine whose callbacks an executor
//! runs, one at a time, always on the same thread, for the actor's whole life.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};

use crate::context::Context;
use crate::timer::TimerId;

/// Names one descriptor (connection, listener, serial port) owned by an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(pub(crate) u64);

/// Why a source closed without the actor asking.
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side cleanly (end of stream).
    PeerClosed,
    /// The stream failed: reset by the peer, broken pipe, device error.
    Error(io::Error),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by the peer"),
            CloseReason::Error(e) => write!(f, "failed: {e}"),
        }
    }
}

/// A single-threaded state machine driven by one executor.
///
/// Every callback gets a [`Context`] for the actor's own operations (open sources, send,
/// set timers, stop). Callbacks must not block: a long callback delays every other actor of
/// the same executor (and only those). Hand slow work to another thread and post the result
/// back through a [`Handle`](crate::Handle).
pub trait Actor: Send + 'static {
    /// What [`Handle::post`](crate::Handle::post) delivers to [`Actor::on_message`].
    type Message: Send + 'static;

    /// The actor has been pinned to its executor; open its sources and timers here.
    fn on_start(&mut self, cx: &mut Context<'_, Self::Message>) {
        let _ = cx;
    }

    /// A connect started with [`Context::connect`] finished (timed out: `ErrorKind::TimedOut`).
    /// On error the source is already closed.
    fn on_connect(
        &mut self,
        cx: &mut Context<'_, Self::Message>,
        source: SourceId,
        result: io::Result<()>,
    ) {
        let _ = (cx, source, result);
    }

    /// A listener accepted a connection. Adopt it with [`Context::adopt_tcp`], hand it to a new
    /// actor, or drop it to refuse the peer (for example one not on an allow-list).
    fn on_accept(
        &mut self,
        cx: &mut Context<'_, Self::Message>,
        listener: SourceId,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        let _ = (cx, listener, stream, peer);
    }

    /// An accept on `listener` failed (the error is also logged at warn). When it failed for
    /// want of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) the listener
    /// pauses briefly before accepting again, the waiting connection kept in the backlog.
    fn on_accept_error(
        &mut self,
        cx: &mut Context<'_, Self::Message>,
        listener: SourceId,
        error: io::Error,
    ) {
        let _ = (cx, listener, error);
    }

    /// Bytes arrived on a source; `data` is borrowed from the receive buffer.
    fn on_data(&mut self, cx: &mut Context<'_, Self::Message>, source: SourceId, data: &[u8]) {
        let _ = (cx, source, data);
    }

    /// A send on `source` was refused as full and the queue has drained to half since.
    fn on_writable(&mut self, cx: &mut Context<'_, Self::Message>, source: SourceId) {
        let _ = (cx, source);
    }

    /// A timer set with [`Context::set_timer`] came due.
    fn on_timer(&mut self, cx: &mut Context<'_, Self::Message>, timer: TimerId) {
        let _ = (cx, timer);
    }

    /// A message posted through a [`Handle`](crate::Handle) arrived.
    fn on_message(&mut self, cx: &mut Context<'_, Self::Message>, message: Self::Message) {
        let _ = (cx, message);
    }

    /// A source closed by the peer or by an error (not by [`Context::close`]); it is gone.
    fn on_closed(
        &mut self,
        cx: &mut Context<'_, Self::Message>,
        source: SourceId,
        reason: CloseReason,
    ) {
        let _ = (cx, source, reason);
    }

    /// One of the actor's callbacks panicked with `message` (the panic's text). The executor
    /// caught it and keeps running; the actor is stopped next ([`Actor::on_stop`] follows), so
    /// this is where it records why it ends.
    fn on_panic(&mut self, message: &str) {
        let _ = message;
    }

    /// The actor ends: it called [`Context::stop`], a callback panicked, or the pool is
    /// shutting down. Its sources are closed right after.
    fn on_stop(&mut self) {}
}
