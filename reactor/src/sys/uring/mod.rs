//! The io_uring driver: completion based. Each stream keeps one receive in flight; the kernel
//! takes its buffer from the executor's shared buffer ring only when bytes arrive (`buf_ring`;
//! a buffer per stream where the ring cannot be registered), writes go straight from the send
//! queue, listeners use multishot accept, and all
//! submissions of a loop iteration go to the kernel in the one `submit_and_wait` that also
//! sleeps.
//!
//! Files: `probe` (does the kernel have what we need), `source` (one descriptor's state),
//! `buf_ring` (the shared receive buffers),
//! `ops` (building, tagging and cancelling submissions), `complete` (applying completions);
//! this file holds the driver and the interface the executor calls.
//!
//! Memory rule: a buffer the kernel may write or read (receive buffer, send queue front,
//! connect address, wake counter) lives on the heap inside its source, and a source is only
//! freed once every operation that points into it has completed.

mod buf_ring;
mod complete;
mod ops;
mod probe;
mod source;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use io_uring::IoUring;

pub(crate) use buf_ring::ProvidedBuf;
pub(crate) use probe::probe;

use self::buf_ring::BufRing;
use self::ops::Op;

use self::source::{Life, Recv, Role, Source};
use super::fd;
use crate::driver::send_queue::SendQueue;
use crate::driver::StreamKind;
use crate::driver::{AcceptOutcome, DriverConfig, IoEvent, ReadOutcome, RecvChunk, SourceKey};
use crate::error::SendError;
use crate::slab::Slab;

/// Completion queue entries per submission queue entry (see `PoolBuilder::ring_entries`).
const CQ_PER_SQ: u32 = 32;
/// The kernel's largest completion queue.
const CQ_MAX: u32 = 65_536;
/// Rounds of draining overflowed completions per loop iteration; what is left waits for the
/// next iteration (the kernel keeps it).
const OVERFLOW_ROUNDS: usize = 64;
/// How long teardown waits in all for the kernel to finish cancelled operations.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How long each wait of the teardown lasts at most.
const TEARDOWN_WAIT: Duration = Duration::from_millis(100);
/// The buffer group id of the executor's receive ring.
const RECV_GROUP: u16 = 0;

/// One executor's ring and the descriptors it drives.
pub(crate) struct Driver {
    ring: IoUring,
    sources: Slab<Source>,
    wake_fd: RawFd,
    wake_buf: Box<u64>,
    wake_armed: bool,
    to_flush: Vec<SourceKey>,
    pending: Vec<IoEvent>,
    completions: Vec<(u64, i32, u32)>,
    inflight: usize,
    open: usize,
    config: DriverConfig,
    /// Submissions that found the submission queue full twice: pushed first thing in the next
    /// loop iteration, in order. A linked pair stays together.
    backlog: VecDeque<(io_uring::squeue::Entry, Option<io_uring::squeue::Entry>)>,
    /// Times the completion queue overflowed and was drained.
    overflows: u64,
    /// The kernel's count of completions it had to drop (it keeps overflowed ones while it
    /// can allocate): any increase is logged as an error.
    dropped: u32,
    /// The shared receive buffers of the sockets (none: each source has its own).
    recv_ring: Option<BufRing>,
    /// Sockets whose receive found the ring empty (ENOBUFS): re-armed once buffers return.
    starved: Vec<SourceKey>,
    /// Receives that ended with ENOBUFS.
    recv_waits: u64,
}

impl Driver {
    /// A new ring with a read armed on the executor's wake eventfd.
    pub(crate) fn new(config: DriverConfig, wake_fd: RawFd) -> io::Result<Self> {
        let entries = config.ring_entries.max(1);
        let cq = entries.saturating_mul(CQ_PER_SQ).clamp(64, CQ_MAX);
        // Only this executor's thread submits, and it enters the kernel every loop iteration
        // anyway: with SINGLE_ISSUER and COOP_TASKRUN (Linux 6.0+) the kernel runs completion
        // work then instead of interrupting the thread for each one. (DEFER_TASKRUN is not
        // used: it runs at most a few dozen completions per entry, so a burst of thousands
        // would take hundreds of system calls.)
        let ring = IoUring::builder()
            .setup_clamp()
            .setup_cqsize(cq)
            .setup_single_issuer()
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .build(entries)
            .or_else(|_| {
                IoUring::builder()
                    .setup_clamp()
                    .setup_cqsize(cq)
                    .build(entries)
            })?;
        let recv_ring = match BufRing::new(
            &ring,
            config.recv_buffers,
            config.recv_buffer,
            RECV_GROUP,
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::debug!(error = %e, "no io_uring buffer ring: a receive buffer per socket");
                None
            }
        };
        let mut driver = Driver {
            recv_ring,
            starved: Vec::new(),
            recv_waits: 0,
            ring,
            sources: Slab::default(),
            wake_fd,
            wake_buf: Box::new(0),
            wake_armed: false,
            to_flush: Vec::new(),
            pending: Vec::new(),
            completions: Vec::new(),
            inflight: 0,
            open: 0,
            config,
            backlog: VecDeque::new(),
            overflows: 0,
            dropped: 0,
        };
        driver.arm_wake();
        Ok(driver)
    }

    fn insert(
        &mut self,
        fd: OwnedFd,
        kind: StreamKind,
        role: Role,
        owner: u64,
    ) -> io::Result<SourceKey> {
        // Sockets are asynchronous for io_uring when blocking; other descriptors are read and
        // written non-blocking behind a readiness poll (see `push_after_poll`).
        fd::set_nonblocking(&fd, kind == StreamKind::File)?;
        let recv_buf = match role {
            Role::Listener { .. } => None,
            _ if kind == StreamKind::Socket && self.recv_ring.is_some() => None,
            _ => Some(vec![0; self.config.recv_buffer].into_boxed_slice()),
        };
        self.open += 1;
        Ok(self.sources.insert(Source {
            fd,
            owner,
            kind,
            role,
            life: Life::Open,
            recv: Recv::Idle,
            recv_buf,
            chunks: VecDeque::new(),
            end: None,
            reading: true,
            send: SendQueue::new(self.config.send_capacity),
            send_inflight: false,
            accept_inflight: false,
            connect_inflight: false,
            inflight: 0,
        }))
    }

    /// Registers a connected byte stream and arms its receive.
    pub(crate) fn add_stream(
        &mut self,
        fd: OwnedFd,
        kind: StreamKind,
        owner: u64,
    ) -> io::Result<SourceKey> {
        let key = self.insert(fd, kind, Role::Stream, owner)?;
        self.arm_recv(key);
        Ok(key)
    }

    /// Registers a listener and arms a multishot accept.
    pub(crate) fn add_listener(&mut self, fd: OwnedFd, owner: u64) -> io::Result<SourceKey> {
        let role = Role::Listener {
            accepted: VecDeque::new(),
            error: None,
        };
        let key = self.insert(fd, StreamKind::Socket, role, owner)?;
        self.arm_accept(key);
        Ok(key)
    }

    /// Submits a connect.
    pub(crate) fn connect(
        &mut self,
        fd: OwnedFd,
        addr: SocketAddr,
        owner: u64,
    ) -> io::Result<SourceKey> {
        let role = Role::Connecting {
            addr: Box::new(fd::sockaddr(&addr)),
        };
        let key = self.insert(fd, StreamKind::Socket, role, owner)?;
        self.submit_connect(key);
        Ok(key)
    }

    /// The owner token of a live source.
    pub(crate) fn owner(&self, key: SourceKey) -> Option<u64> {
        self.sources
            .get(key)
            .filter(|s| s.is_open())
            .map(|s| s.owner)
    }

    /// Hands out a completed receive.
    pub(crate) fn read(&mut self, key: SourceKey) -> ReadOutcome {
        let Some(source) = self.sources.get_mut(key) else {
            return ReadOutcome::WouldBlock;
        };
        if !source.is_open() {
            return ReadOutcome::WouldBlock;
        }
        if source.on_ring() {
            if !source.reading {
                return ReadOutcome::WouldBlock;
            }
            if let Some((len, id)) = source.chunks.pop_front() {
                if let Some(buf) = self
                    .recv_ring
                    .as_mut()
                    .and_then(|r| r.lend(id, len as usize))
                {
                    return ReadOutcome::Data(RecvChunk::Provided(buf));
                }
                return ReadOutcome::WouldBlock;
            }
            return match source.end.take() {
                Some(0) => ReadOutcome::Eof,
                Some(res) => ReadOutcome::Error(io::Error::from_raw_os_error(-res)),
                None => ReadOutcome::WouldBlock,
            };
        }
        let Recv::Ready(res) = source.recv else {
            return ReadOutcome::WouldBlock;
        };
        if res > 0 {
            if let Some(buf) = source.recv_buf.take() {
                source.recv = Recv::Lent;
                return ReadOutcome::Data(RecvChunk::Owned(buf, res as usize));
            }
        }
        source.recv = Recv::Idle;
        if res == 0 || (source.kind == StreamKind::File && fd::is_hangup(-res)) {
            ReadOutcome::Eof
        } else {
            ReadOutcome::Error(io::Error::from_raw_os_error(-res))
        }
    }

    /// Puts the lent buffer back and re-arms the receive.
    pub(crate) fn finish_read(&mut self, key: SourceKey, chunk: RecvChunk) {
        let own = match chunk {
            RecvChunk::Provided(buf) => {
                // The multishot receive goes on (or is re-armed once buffers return).
                self.give_back(buf.id);
                return;
            }
            RecvChunk::Owned(buf, _) => Some(buf),
        };
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if matches!(source.recv, Recv::Lent) {
            if own.is_some() {
                source.recv_buf = own;
            }
            source.recv = Recv::Idle;
            self.arm_recv(key);
        }
    }

    /// Puts a ring buffer back.
    pub(super) fn give_back(&mut self, id: u16) {
        if let Some(ring) = self.recv_ring.as_mut() {
            ring.give_back(id);
        }
    }

    /// Accepts again after a pause for want of descriptors.
    pub(crate) fn resume_accept(&mut self, key: SourceKey) {
        self.arm_accept(key);
    }

    /// Pops an accepted connection.
    pub(crate) fn accept(&mut self, key: SourceKey) -> AcceptOutcome {
        let Some(source) = self.sources.get_mut(key) else {
            return AcceptOutcome::WouldBlock;
        };
        let Role::Listener { accepted, error } = &mut source.role else {
            return AcceptOutcome::WouldBlock;
        };
        if let Some(e) = error.take() {
            return AcceptOutcome::Error(e);
        }
        match accepted.pop_front() {
            Some(conn) => match fd::stream_from_accepted(conn) {
                Ok((stream, peer)) => AcceptOutcome::Accepted(stream, peer),
                Err(e) => AcceptOutcome::Error(e),
            },
            None => AcceptOutcome::WouldBlock,
        }
    }

    /// Queues bytes; the write is submitted with the next poll.
    pub(crate) fn send(&mut self, key: SourceKey, bytes: &[u8]) -> Result<(), SendError> {
        let source = self.sources.get_mut(key).ok_or(SendError::Closed)?;
        if !source.is_open() || !source.is_stream() {
            return Err(SendError::Closed);
        }
        source.send.check_room(bytes.len())?;
        let was_empty = source.send.is_empty();
        source.send.push(bytes);
        if was_empty && !source.send_inflight {
            self.to_flush.push(key);
        }
        Ok(())
    }

    /// Free room in a source's send queue.
    pub(crate) fn send_room(&self, key: SourceKey) -> Option<usize> {
        self.sources.get(key).map(|s| s.send.room())
    }

    /// Pauses or resumes the receive of a stream.
    pub(crate) fn set_reading(&mut self, key: SourceKey, reading: bool) {
        if let Some(source) = self.sources.get_mut(key) {
            source.reading = reading;
            if reading {
                if matches!(source.recv, Recv::Ready(_))
                    || !source.chunks.is_empty()
                    || source.end.is_some()
                {
                    self.pending.push(IoEvent::Read(key));
                }
                self.arm_recv(key);
            } else if source.on_ring() && matches!(source.recv, Recv::Armed) {
                // A multishot receive goes on until cancelled; it is armed again on resume.
                self.cancel(key.index(), Op::Recv);
            }
        }
    }

    /// Closes a source: cancels what is in flight and frees it once the kernel is done.
    pub(crate) fn close(&mut self, key: SourceKey) -> bool {
        let Some(source) = self.sources.get_mut(key) else {
            return false;
        };
        if !source.is_open() {
            return false;
        }
        source.life = Life::Closing;
        self.open -= 1;
        if let Role::Listener { accepted, .. } = &mut source.role {
            accepted.clear();
        }
        let unread = std::mem::take(&mut source.chunks);
        let idle = source.inflight == 0;
        for (_, id) in unread {
            // Received but never read: the buffer goes back to the ring.
            self.give_back(id);
        }
        if idle {
            self.sources.remove(key);
            return true;
        }
        self.cancel_ops(key);
        true
    }

    /// Keys of the live sources of one owner.
    pub(crate) fn sources_of(&self, owner: u64) -> Vec<SourceKey> {
        self.sources
            .iter()
            .filter(|(_, s)| s.owner == owner && s.is_open())
            .map(|(k, _)| k)
            .collect()
    }

    /// Number of live sources.
    pub(crate) fn source_count(&self) -> usize {
        self.open
    }

    /// Submits everything queued, waits for completions up to `timeout`, and reports them.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<IoEvent>,
    ) -> io::Result<()> {
        self.push_backlog();
        if !self.starved.is_empty() && !self.recv_ring.as_ref().is_some_and(BufRing::all_lent) {
            for key in std::mem::take(&mut self.starved) {
                self.arm_recv(key);
            }
        }
        for key in std::mem::take(&mut self.to_flush) {
            self.start_send(key);
        }
        let timeout = if self.pending.is_empty() && self.backlog.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        self.enter(timeout)?;
        self.reap();
        self.drain_overflow();
        if !self.wake_armed {
            self.arm_wake();
        }
        out.append(&mut self.pending);
        Ok(())
    }

    /// Completions the ring had no room for wait in the kernel, flagged on the ring; each
    /// submit moves them in. Drains them now, so none waits for the next wake-up.
    fn drain_overflow(&mut self) {
        let mut rounds = 0;
        while self.ring.submission().cq_overflow() && rounds < OVERFLOW_ROUNDS {
            if rounds == 0 {
                self.overflows += 1;
                tracing::debug!("io_uring completion queue overflowed; draining");
            }
            let _ = self.enter(Some(Duration::ZERO));
            self.reap();
            rounds += 1;
        }
        let dropped = self.ring.completion().overflow();
        if dropped != self.dropped {
            tracing::error!(
                lost = dropped.wrapping_sub(self.dropped),
                "the kernel dropped io_uring completions (out of memory for its overflow list)"
            );
            self.dropped = dropped;
        }
    }

    /// Times the completion queue overflowed and was drained, and completions the kernel
    /// reports dropped.
    pub(crate) fn overflows(&self) -> (u64, u64) {
        (self.overflows, u64::from(self.dropped))
    }

    /// Receives that found the buffer ring empty.
    pub(crate) fn recv_waits(&self) -> u64 {
        self.recv_waits
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Cancel everything in flight and wait for the kernel to let go of our buffers.
        if self.inflight > 0 {
            self.cancel_everything();
        }
        for key in self.sources.keys() {
            if let Some(source) = self.sources.get_mut(key) {
                source.life = Life::Closing;
            }
        }
        let give_up = std::time::Instant::now() + TEARDOWN_LIMIT;
        while self.inflight > 0 && std::time::Instant::now() < give_up {
            let _ = self.enter(Some(TEARDOWN_WAIT));
            self.reap();
        }
        if let Some(ring) = &self.recv_ring {
            ring.unregister(&self.ring);
        }
        if self.inflight > 0 {
            tracing::error!(
                inflight = self.inflight,
                "io_uring operations did not finish at teardown; leaking their buffers"
            );
            std::mem::forget(std::mem::take(&mut self.sources));
            std::mem::forget(self.recv_ring.take());
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
    }
}
