//! The I/O driver interface the executor uses, and its dispatch to the two backends in
//! `sys/` (io_uring and epoll). Both backends expose the same concrete methods; this file
//! only names the shared vocabulary (events, read and accept outcomes) and forwards calls.

pub(crate) mod send_queue;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::backend::Backend;
use crate::error::SendError;
use crate::slab::Key;
use crate::sys;

/// Identifies one registered descriptor inside one driver.
pub(crate) type SourceKey = Key;

/// What kind of descriptor a byte-stream source is (sockets use `send`/`recv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// A connected stream socket.
    Socket,
    /// Any other stream descriptor: a serial port, a pseudo-terminal, a pipe.
    File,
}

/// Sizes the driver needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriverConfig {
    /// Bytes of each source's send queue.
    pub(crate) send_capacity: usize,
    /// Bytes of each receive buffer.
    pub(crate) recv_buffer: usize,
    /// io_uring: buffers in the executor's receive ring.
    pub(crate) recv_buffers: u16,
    /// io_uring submission queue entries (the completion queue is larger, see
    /// [`crate::PoolBuilder::ring_entries`]).
    pub(crate) ring_entries: u32,
}

/// Something happened on a source; the executor routes it to the owning actor.
#[derive(Debug)]
pub(crate) enum IoEvent {
    /// Bytes, end of stream, an error or a connection may be waiting: pull with
    /// [`Driver::read`] or [`Driver::accept`] until `WouldBlock`.
    Read(SourceKey),
    /// A send was refused for lack of room and the queue has drained since.
    Room(SourceKey),
    /// A connect finished.
    Connect(SourceKey, io::Result<()>),
    /// Writing failed (peer reset, broken pipe): the source is dead.
    Failed(SourceKey, io::Error),
}

/// Bytes received into a buffer lent to the executor; given back with [`Driver::finish_read`].
pub(crate) enum RecvChunk {
    /// A buffer of the driver's own (epoll's shared one, or a source's).
    Owned(Box<[u8]>, usize),
    /// A buffer of the executor's io_uring buffer ring.
    Provided(sys::uring::ProvidedBuf),
}

impl RecvChunk {
    /// The received bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            RecvChunk::Owned(buf, len) => &buf[..(*len).min(buf.len())],
            RecvChunk::Provided(buf) => buf.bytes(),
        }
    }
}

/// What pulling from a stream source gave.
pub(crate) enum ReadOutcome {
    /// Bytes arrived.
    Data(RecvChunk),
    /// Nothing more for now.
    WouldBlock,
    /// The peer closed its side.
    Eof,
    /// The stream failed.
    Error(io::Error),
}

/// What pulling from a listener gave.
pub(crate) enum AcceptOutcome {
    /// A connection, not registered anywhere yet.
    Accepted(TcpStream, SocketAddr),
    /// No connection waiting.
    WouldBlock,
    /// Accepting failed (for example the descriptor limit was reached).
    Error(io::Error),
}

/// One executor's driver: io_uring or epoll. One per executor thread, so the size difference
/// between the variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Driver {
    /// Completion based.
    Uring(sys::uring::Driver),
    /// Readiness based, edge-triggered.
    Epoll(sys::epoll::Driver),
}

macro_rules! dispatch {
    ($self:ident, $d:ident => $e:expr) => {
        match $self {
            Driver::Uring($d) => $e,
            Driver::Epoll($d) => $e,
        }
    };
}

impl Driver {
    /// A driver of the given (resolved) backend, woken through `wake_fd`.
    pub(crate) fn new(
        backend: Backend,
        config: DriverConfig,
        wake_fd: std::os::fd::RawFd,
    ) -> io::Result<Self> {
        match backend {
            Backend::IoUring => Ok(Driver::Uring(sys::uring::Driver::new(config, wake_fd)?)),
            _ => Ok(Driver::Epoll(sys::epoll::Driver::new(config, wake_fd)?)),
        }
    }

    /// Whether descriptors handed to this driver must be in non-blocking mode.
    pub(crate) fn wants_nonblocking(&self) -> bool {
        matches!(self, Driver::Epoll(_))
    }

    /// Registers a connected byte stream and starts receiving.
    pub(crate) fn add_stream(
        &mut self,
        fd: OwnedFd,
        kind: StreamKind,
        owner: u64,
    ) -> io::Result<SourceKey> {
        dispatch!(self, d => d.add_stream(fd, kind, owner))
    }

    /// Registers a listening socket and starts accepting.
    pub(crate) fn add_listener(&mut self, fd: OwnedFd, owner: u64) -> io::Result<SourceKey> {
        dispatch!(self, d => d.add_listener(fd, owner))
    }

    /// Starts connecting `fd` to `addr`; [`IoEvent::Connect`] reports the end.
    pub(crate) fn connect(
        &mut self,
        fd: OwnedFd,
        addr: SocketAddr,
        owner: u64,
    ) -> io::Result<SourceKey> {
        dispatch!(self, d => d.connect(fd, addr, owner))
    }

    /// The owner token of a live source.
    pub(crate) fn owner(&self, key: SourceKey) -> Option<u64> {
        dispatch!(self, d => d.owner(key))
    }

    /// Pulls received bytes from a stream source.
    pub(crate) fn read(&mut self, key: SourceKey) -> ReadOutcome {
        dispatch!(self, d => d.read(key))
    }

    /// Gives back a buffer lent by [`Driver::read`] (io_uring re-arms the receive).
    pub(crate) fn finish_read(&mut self, key: SourceKey, chunk: RecvChunk) {
        dispatch!(self, d => d.finish_read(key, chunk))
    }

    /// Pulls an accepted connection from a listener source.
    pub(crate) fn accept(&mut self, key: SourceKey) -> AcceptOutcome {
        dispatch!(self, d => d.accept(key))
    }

    /// Accepts again on a listener paused for want of descriptors.
    pub(crate) fn resume_accept(&mut self, key: SourceKey) {
        dispatch!(self, d => d.resume_accept(key))
    }

    /// Queues bytes on a stream source (all or nothing).
    pub(crate) fn send(&mut self, key: SourceKey, bytes: &[u8]) -> Result<(), SendError> {
        dispatch!(self, d => d.send(key, bytes))
    }

    /// Free room in a source's send queue.
    pub(crate) fn send_room(&self, key: SourceKey) -> Option<usize> {
        dispatch!(self, d => d.send_room(key))
    }

    /// Stops receiving on a stream source until resumed (backpressure from the actor).
    pub(crate) fn set_reading(&mut self, key: SourceKey, reading: bool) {
        dispatch!(self, d => d.set_reading(key, reading))
    }

    /// Closes a source; no event for it is reported afterwards.
    pub(crate) fn close(&mut self, key: SourceKey) -> bool {
        dispatch!(self, d => d.close(key))
    }

    /// Keys of every live source owned by `owner`.
    pub(crate) fn sources_of(&self, owner: u64) -> Vec<SourceKey> {
        dispatch!(self, d => d.sources_of(owner))
    }

    /// Number of live sources.
    pub(crate) fn source_count(&self) -> usize {
        dispatch!(self, d => d.source_count())
    }

    /// Submits pending work and waits up to `timeout` (forever if `None`) for events.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        events: &mut Vec<IoEvent>,
    ) -> io::Result<()> {
        dispatch!(self, d => d.poll(timeout, events))
    }

    /// io_uring completion queue overflows drained, and completions the kernel dropped.
    pub(crate) fn overflows(&self) -> (u64, u64) {
        match self {
            Driver::Uring(d) => d.overflows(),
            Driver::Epoll(_) => (0, 0),
        }
    }

    /// io_uring receives that found the executor's buffer ring empty.
    pub(crate) fn recv_waits(&self) -> u64 {
        match self {
            Driver::Uring(d) => d.recv_waits(),
            Driver::Epoll(_) => 0,
        }
    }
}
