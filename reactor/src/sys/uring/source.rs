//! One descriptor the io_uring driver drives, and the state of each operation it may have in
//! flight. The buffers the kernel reads or writes (receive buffer, send queue, connect
//! address) live on the heap inside the source, so they stay put while the slab grows.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;

use nix::sys::socket::SockaddrStorage;

use crate::driver::send_queue::SendQueue;
use crate::driver::StreamKind;

/// Where a stream's receive stands.
pub(super) enum Recv {
    /// Not armed (paused, or the stream ended).
    Idle,
    /// A receive is in flight into the source's buffer.
    Armed,
    /// The receive completed with this result; not pulled yet.
    Ready(i32),

    /// The buffer is lent to the executor.
    Lent,
}

/// What the descriptor is.
pub(super) enum Role {
    /// A connect is in flight; the kernel reads `addr` when the operation is submitted.
    Connecting { addr: Box<SockaddrStorage> },
    /// A connected byte stream.
    Stream,
    /// A stream whose write side failed; its failure is being reported.
    Failed,
    /// A listening socket with multishot accept; accepted descriptors wait here.
    Listener {
        accepted: VecDeque<OwnedFd>,
        error: Option<io::Error>,
    },
}

/// Whether the owner still uses the source.
pub(super) enum Life {
    /// In use.
    Open,
    /// Closed by the user; freed when `inflight` reaches zero.
    Closing,
}

/// One registered descriptor and the operations it has in flight.
pub(super) struct Source {
    pub(super) fd: OwnedFd,
    pub(super) owner: u64,
    pub(super) kind: StreamKind,
    pub(super) role: Role,
    pub(super) life: Life,
    pub(super) recv: Recv,
    /// The source's own receive buffer: only where the executor has no buffer ring, or for
    /// descriptors that are not sockets.
    pub(super) recv_buf: Option<Box<[u8]>>,
    /// Sockets on the executor's buffer ring: chunks (length, buffer id) the multishot
    /// receive delivered and the owner has not pulled yet (at most the ring's size in all).
    pub(super) chunks: VecDeque<(u32, u16)>,
    /// Sockets on the ring: how the stream ended (0: end of file, else -errno), reported once
    /// the chunks before it are pulled.
    pub(super) end: Option<i32>,
    pub(super) reading: bool,
    pub(super) send: SendQueue,
    pub(super) send_inflight: bool,
    pub(super) accept_inflight: bool,
    pub(super) connect_inflight: bool,
    /// Operations the kernel still holds that point into this source.
    pub(super) inflight: u32,
}

impl Source {
    /// Whether the owner still uses it.
    pub(super) fn is_open(&self) -> bool {
        matches!(self.life, Life::Open)
    }

    /// Whether its receives take buffers from the executor's ring (multishot).
    pub(super) fn on_ring(&self) -> bool {
        self.recv_buf.is_none() && self.kind == StreamKind::Socket && !self.is_listener()
    }

    fn is_listener(&self) -> bool {
        matches!(self.role, Role::Listener { .. })
    }

    /// Whether it is a connected stream.
    pub(super) fn is_stream(&self) -> bool {
        matches!(self.role, Role::Stream)
    }
}
