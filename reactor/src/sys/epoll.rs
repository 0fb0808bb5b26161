//! The epoll driver: readiness based and edge-triggered. Reads run until EAGAIN into one
//! buffer shared by the executor; sends are written at once when the queue is empty and only
//! the remainder is queued, then flushed on the next writable edge.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use super::fd::{self, errno, Accept, ConnectStart, Transfer};
use crate::driver::send_queue::SendQueue;
use crate::driver::{
    AcceptOutcome, DriverConfig, IoEvent, ReadOutcome, RecvChunk, SourceKey, StreamKind,
};
use crate::error::SendError;
use crate::slab::{Key, Slab};

/// Token of the wake-up eventfd in the epoll set.
const WAKE_TOKEN: u64 = u64::MAX;
/// Most readiness events taken per `epoll_wait`.
const EVENTS_PER_WAIT: usize = 1024;

/// What a registered descriptor is doing.
enum Role {
    /// A non-blocking connect is under way.
    Connecting,
    /// A connected byte stream.
    Stream,
    /// A stream whose write side failed; its failure is being reported.
    Failed,
    /// A listening socket.
    Listener,
}

struct Source {
    fd: OwnedFd,
    owner: u64,
    kind: StreamKind,
    role: Role,
    send: SendQueue,
    reading: bool,
}

/// One executor's epoll instance and the descriptors registered in it.
pub(crate) struct Driver {
    epoll: Epoll,
    wake_fd: RawFd,
    sources: Slab<Source>,
    events: Vec<EpollEvent>,
    read_buf: Option<Box<[u8]>>,
    pending: Vec<IoEvent>,
    config: DriverConfig,
}

impl Driver {
    /// A new epoll instance watching the executor's wake-up eventfd.
    pub(crate) fn new(config: DriverConfig, wake_fd: RawFd) -> io::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(errno)?;
        // The wake eventfd outlives this driver (the executor closes it after dropping us).
        let wake = borrow(wake_fd);
        epoll
            .add(
                wake,
                EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, WAKE_TOKEN),
            )
            .map_err(errno)?;
        Ok(Driver {
            epoll,
            wake_fd,
            sources: Slab::default(),
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
            read_buf: Some(vec![0; config.recv_buffer].into_boxed_slice()),
            pending: Vec::new(),
            config,
        })
    }

    fn register(
        &mut self,
        fd: OwnedFd,
        kind: StreamKind,
        role: Role,
        owner: u64,
    ) -> io::Result<SourceKey> {
        fd::set_nonblocking(&fd, true)?;
        let flags = match role {
            Role::Listener => EpollFlags::EPOLLIN | EpollFlags::EPOLLET,
            _ => {
                EpollFlags::EPOLLIN
                    | EpollFlags::EPOLLOUT
                    | EpollFlags::EPOLLRDHUP
                    | EpollFlags::EPOLLET
            }
        };
        let send = SendQueue::new(self.config.send_capacity);
        let key = self.sources.insert(Source {
            fd,
            owner,
            kind,
            role,
            send,
            reading: true,
        });
        let source = self
            .sources
            .get(key)
            .ok_or_else(|| io::Error::other("slab lost a source"))?;
        if let Err(e) = self
            .epoll
            .add(&source.fd, EpollEvent::new(flags, key.to_u64()))
        {
            self.sources.remove(key);
            return Err(errno(e));
        }
        Ok(key)
    }

    /// Registers a connected byte stream.
    pub(crate) fn add_stream(
        &mut self,
        fd: OwnedFd,
        kind: StreamKind,
        owner: u64,
    ) -> io::Result<SourceKey> {
        let key = self.register(fd, kind, Role::Stream, owner)?;
        // Bytes may already be waiting; the edge for them may have passed before registration.
        self.pending.push(IoEvent::Read(key));
        Ok(key)
    }

    /// Registers a listening socket.
    pub(crate) fn add_listener(&mut self, fd: OwnedFd, owner: u64) -> io::Result<SourceKey> {
        let key = self.register(fd, StreamKind::Socket, Role::Listener, owner)?;
        self.pending.push(IoEvent::Read(key));
        Ok(key)
    }

    /// Starts a non-blocking connect.
    pub(crate) fn connect(
        &mut self,
        fd: OwnedFd,
        addr: SocketAddr,
        owner: u64,
    ) -> io::Result<SourceKey> {
        fd::set_nonblocking(&fd, true)?;
        let started = fd::start_connect(&fd, &fd::sockaddr(&addr))?;
        let key = self.register(fd, StreamKind::Socket, Role::Connecting, owner)?;
        if let ConnectStart::Done = started {
            self.finish_connect(key);
        }
        Ok(key)
    }

    fn finish_connect(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        let result = fd::take_socket_error(&source.fd).and_then(|()| fd::set_nodelay(&source.fd));
        if result.is_ok() {
            source.role = Role::Stream;
        }
        self.pending.push(IoEvent::Connect(key, result));
    }

    /// The owner token of a live source.
    pub(crate) fn owner(&self, key: SourceKey) -> Option<u64> {
        self.sources.get(key).map(|s| s.owner)
    }

    /// Reads once into the shared buffer.
    pub(crate) fn read(&mut self, key: SourceKey) -> ReadOutcome {
        let Some(source) = self.sources.get(key) else {
            return ReadOutcome::WouldBlock;
        };
        if !matches!(source.role, Role::Stream) || !source.reading {
            return ReadOutcome::WouldBlock;
        }
        let mut buf = match self.read_buf.take() {
            Some(buf) => buf,
            None => vec![0; self.config.recv_buffer].into_boxed_slice(),
        };
        let outcome = match fd::read(&source.fd, &mut buf) {
            Ok(Transfer::Done(0)) => ReadOutcome::Eof,
            Ok(Transfer::Done(len)) => return ReadOutcome::Data(RecvChunk::Owned(buf, len)),
            Ok(Transfer::WouldBlock) => ReadOutcome::WouldBlock,
            Err(e)
                if source.kind == StreamKind::File
                    && e.raw_os_error().is_some_and(fd::is_hangup) =>
            {
                ReadOutcome::Eof
            }
            Err(e) => ReadOutcome::Error(e),
        };
        self.read_buf = Some(buf);
        outcome
    }

    /// Takes the shared buffer back.
    pub(crate) fn finish_read(&mut self, _key: SourceKey, chunk: RecvChunk) {
        if let RecvChunk::Owned(buf, _) = chunk {
            self.read_buf = Some(buf);
        }
    }

    /// Accepts again after a pause for want of descriptors (the connections that were refused
    /// then wait in the backlog without a new edge).
    pub(crate) fn resume_accept(&mut self, key: SourceKey) {
        if self.sources.get(key).is_some() {
            self.pending.push(IoEvent::Read(key));
        }
    }

    /// Accepts one connection.
    pub(crate) fn accept(&mut self, key: SourceKey) -> AcceptOutcome {
        let Some(source) = self.sources.get(key) else {
            return AcceptOutcome::WouldBlock;
        };
        if !matches!(source.role, Role::Listener) {
            return AcceptOutcome::WouldBlock;
        }
        match fd::accept(&source.fd, true) {
            Ok(Accept::Stream(stream, peer)) => AcceptOutcome::Accepted(stream, peer),
            Ok(Accept::WouldBlock) => AcceptOutcome::WouldBlock,
            Err(e) => AcceptOutcome::Error(e),
        }
    }

    /// Queues bytes, writing at once when nothing is queued before them.
    pub(crate) fn send(&mut self, key: SourceKey, bytes: &[u8]) -> Result<(), SendError> {
        let source = self.sources.get_mut(key).ok_or(SendError::Closed)?;
        if !matches!(source.role, Role::Stream) {
            return Err(SendError::Closed);
        }
        source.send.check_room(bytes.len())?;
        let mut rest = bytes;
        if source.send.is_empty() {
            match fd::write(&source.fd, rest, source.kind == StreamKind::Socket) {
                Ok(Transfer::Done(n)) => rest = &rest[n.min(rest.len())..],
                Ok(Transfer::WouldBlock) => {}
                Err(e) => {
                    source.role = Role::Failed;
                    self.pending.push(IoEvent::Failed(key, e));
                    return Err(SendError::Closed);
                }
            }
        }
        if !rest.is_empty() {
            source.send.push(rest);
        }
        Ok(())
    }

    /// Free room in a source's send queue.
    pub(crate) fn send_room(&self, key: SourceKey) -> Option<usize> {
        self.sources.get(key).map(|s| s.send.room())
    }

    /// Pauses or resumes reading a stream.
    pub(crate) fn set_reading(&mut self, key: SourceKey, reading: bool) {
        if let Some(source) = self.sources.get_mut(key) {
            let resumed = reading && !source.reading;
            source.reading = reading;
            if resumed {
                // Edges that came while paused were not consumed: look again.
                self.pending.push(IoEvent::Read(key));
            }
        }
    }

    /// Closes a source now.
    pub(crate) fn close(&mut self, key: SourceKey) -> bool {
        match self.sources.remove(key) {
            Some(source) => {
                let _ = self.epoll.delete(&source.fd);
                true
            }
            None => false,
        }
    }

    /// Keys of the live sources of one owner.
    pub(crate) fn sources_of(&self, owner: u64) -> Vec<SourceKey> {
        self.sources
            .iter()
            .filter(|(_, s)| s.owner == owner)
            .map(|(k, _)| k)
            .collect()
    }

    /// Number of live sources.
    pub(crate) fn source_count(&self) -> usize {
        self.sources.len()
    }

    fn flush(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if !matches!(source.role, Role::Stream) {
            return;
        }
        let is_socket = source.kind == StreamKind::Socket;
        while !source.send.is_empty() {
            let chunk = source.send.front_chunk();
            match fd::write(&source.fd, chunk, is_socket) {
                Ok(Transfer::Done(n)) => source.send.consume(n),
                Ok(Transfer::WouldBlock) => break,
                Err(e) => {
                    source.role = Role::Failed;
                    self.pending.push(IoEvent::Failed(key, e));
                    return;
                }
            }
        }
        if source.send.take_room_signal() {
            self.pending.push(IoEvent::Room(key));
        }
    }

    /// Waits for readiness and turns it into events.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<IoEvent>,
    ) -> io::Result<()> {
        let timeout = if self.pending.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            Some(d) => {
                // Round up: waking before a timer is due would only spin.
                let ms = d.as_nanos().div_ceil(1_000_000);
                EpollTimeout::try_from(ms.min(i32::MAX as u128) as i32).unwrap_or(EpollTimeout::MAX)
            }
        };
        let n = match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => 0,
            Err(e) => return Err(errno(e)),
        };
        for i in 0..n {
            let event = self.events[i];
            let token = event.data();
            if token == WAKE_TOKEN {
                drain_eventfd(self.wake_fd);
                continue;
            }
            let key = Key::from_u64(token);
            let flags = event.events();
            let Some(source) = self.sources.get(key) else {
                continue;
            };
            let hangup = flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP);
            if matches!(source.role, Role::Connecting) {
                if flags.contains(EpollFlags::EPOLLOUT) || hangup {
                    self.finish_connect(key);
                }
                continue;
            }
            if flags.contains(EpollFlags::EPOLLOUT) {
                self.flush(key);
            }
            if flags.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP) || hangup {
                self.pending.push(IoEvent::Read(key));
            }
        }
        out.append(&mut self.pending);
        Ok(())
    }
}

/// Borrows the executor's wake eventfd, which outlives the driver.
fn borrow(raw: RawFd) -> BorrowedFd<'static> {
    // SAFETY: `raw` is the executor's eventfd; the executor drops this driver (and with it the
    // epoll registration) before closing the eventfd, so the descriptor is open for as long as
    // this borrow is used (only during `Driver::new`).
    unsafe { BorrowedFd::borrow_raw(raw) }
}

/// Resets the wake counter so the next wake is a new edge.
fn drain_eventfd(raw: RawFd) {
    let mut buf = [0u8; 8];
    let _ = nix::unistd::read(raw, &mut buf);
}
