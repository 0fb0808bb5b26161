//! The io_uring driver: completion based. Each stream keeps one receive in flight into its own
//! buffer, writes go straight from the send queue, listeners use multishot accept, and all
//! submissions of a loop iteration go to the kernel in the one `submit_and_wait` that also
//! sleeps.
//!
//! Memory rule: a buffer the kernel may write or read (receive buffer, send queue front,
//! connect address, wake counter) lives on the heap inside its source, and a source is only
//! freed once every operation that points into it has completed.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use nix::sys::socket::{SockaddrLike, SockaddrStorage};

use super::fd;
use crate::driver::send_queue::SendQueue;
use crate::driver::{
    AcceptOutcome, DriverConfig, IoEvent, ReadOutcome, RecvChunk, SourceKey, Transport,
};
use crate::error::SendError;
use crate::slab::{Key, Slab};

const RING_ENTRIES: u32 = 1024;
const OP_RECV: u64 = 1;
const OP_SEND: u64 = 2;
const OP_ACCEPT: u64 = 3;
const OP_CONNECT: u64 = 4;
const OP_WAKE: u64 = 5;
const OP_CANCEL: u64 = 6;
const WAKE_INDEX: u32 = u32::MAX;
/// How long teardown waits for the kernel to finish cancelled operations.
const TEARDOWN_WAIT: Duration = Duration::from_millis(100);
const TEARDOWN_ROUNDS: usize = 50;

fn user_data(index: u32, op: u64) -> u64 {
    (u64::from(index) << 8) | op
}

/// Checks that the kernel runs io_uring with what this driver needs.
pub(crate) fn probe() -> io::Result<()> {
    let ring: IoUring = IoUring::new(8)?;
    if !ring.params().is_feature_ext_arg() || !ring.params().is_feature_nodrop() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "kernel io_uring lacks EXT_ARG/NODROP (needs Linux 5.11+)",
        ));
    }
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    // Multishot accept arrived with IORING_OP_SOCKET (Linux 5.19).
    for code in [
        opcode::Recv::CODE,
        opcode::Send::CODE,
        opcode::AcceptMulti::CODE,
        opcode::Connect::CODE,
        opcode::Socket::CODE,
    ] {
        if !probe.is_supported(code) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "kernel io_uring lacks multishot accept (needs Linux 5.19+)",
            ));
        }
    }
    Ok(())
}

/// Where a stream's receive stands.
enum Recv {
    /// Not armed (paused, or the stream ended).
    Idle,
    /// A receive is in flight into the source's buffer.
    Armed,
    /// The receive completed with this result; not pulled yet.
    Ready(i32),
    /// The buffer is lent to the executor.
    Lent,
}

enum Role {
    Connecting {
        addr: Box<SockaddrStorage>,
    },
    Stream,
    Failed,
    Listener {
        accepted: VecDeque<OwnedFd>,
        error: Option<io::Error>,
    },
}

enum Life {
    Open,
    /// Closed by the user; freed when `inflight` reaches zero.
    Closing,
}

struct Source {
    fd: OwnedFd,
    owner: u64,
    transport: Transport,
    role: Role,
    life: Life,
    recv: Recv,
    recv_buf: Option<Box<[u8]>>,
    reading: bool,
    send: SendQueue,
    send_inflight: bool,
    accept_inflight: bool,
    connect_inflight: bool,
    inflight: u32,
}

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
}

impl Driver {
    /// A new ring with a read armed on the executor's wake eventfd.
    pub(crate) fn new(config: DriverConfig, wake_fd: RawFd) -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_clamp()
            .setup_cqsize(RING_ENTRIES * 4)
            .build(RING_ENTRIES)?;
        let mut driver = Driver {
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
        };
        driver.arm_wake();
        Ok(driver)
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry built in this file points only at memory owned by a source
            // in `self.sources` (heap buffers that do not move when the slab grows) or at
            // `self.wake_buf`; sources are freed, and the driver torn down, only after all
            // their operations completed (see `complete` and `Drop`).
            let pushed = unsafe { self.ring.submission().push(&entry) };
            if pushed.is_ok() {
                return;
            }
            // Submission queue full: hand what is there to the kernel and retry.
            if let Err(e) = self.ring.submit() {
                tracing::warn!(error = %e, "io_uring submit failed while the queue was full");
            }
        }
    }

    fn arm_wake(&mut self) {
        let ptr = (&mut *self.wake_buf as *mut u64).cast::<u8>();
        let entry = opcode::Read::new(types::Fd(self.wake_fd), ptr, 8)
            .build()
            .user_data(user_data(WAKE_INDEX, OP_WAKE));
        self.push(entry);
        self.wake_armed = true;
        self.inflight += 1;
    }

    fn insert(
        &mut self,
        fd: OwnedFd,
        transport: Transport,
        role: Role,
        owner: u64,
    ) -> io::Result<SourceKey> {
        fd::set_nonblocking(&fd, false)?;
        let recv_buf = match role {
            Role::Listener { .. } => None,
            _ => Some(vec![0; self.config.recv_buffer].into_boxed_slice()),
        };
        self.open += 1;
        Ok(self.sources.insert(Source {
            fd,
            owner,
            transport,
            role,
            life: Life::Open,
            recv: Recv::Idle,
            recv_buf,
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
        transport: Transport,
        owner: u64,
    ) -> io::Result<SourceKey> {
        let key = self.insert(fd, transport, Role::Stream, owner)?;
        self.arm_recv(key);
        Ok(key)
    }

    /// Registers a listener and arms a multishot accept.
    pub(crate) fn add_listener(&mut self, fd: OwnedFd, owner: u64) -> io::Result<SourceKey> {
        let role = Role::Listener {
            accepted: VecDeque::new(),
            error: None,
        };
        let key = self.insert(fd, Transport::Socket, role, owner)?;
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
        let key = self.insert(fd, Transport::Socket, role, owner)?;
        let Some(source) = self.sources.get_mut(key) else {
            return Err(io::Error::other("slab lost a source"));
        };
        let Role::Connecting { addr } = &source.role else {
            return Err(io::Error::other("source is not connecting"));
        };
        let entry =
            opcode::Connect::new(types::Fd(source.fd.as_raw_fd()), addr.as_ptr(), addr.len())
                .build()
                .user_data(user_data(key.index(), OP_CONNECT));
        source.connect_inflight = true;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry);
        Ok(key)
    }

    fn arm_recv(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if !matches!(source.life, Life::Open)
            || !matches!(source.role, Role::Stream)
            || !source.reading
            || !matches!(source.recv, Recv::Idle)
        {
            return;
        }
        let Some(buf) = source.recv_buf.as_mut() else {
            return;
        };
        let (ptr, len) = (buf.as_mut_ptr(), buf.len().min(u32::MAX as usize) as u32);
        let raw = types::Fd(source.fd.as_raw_fd());
        let entry = match source.transport {
            Transport::Socket => opcode::Recv::new(raw, ptr, len).build(),
            Transport::File => opcode::Read::new(raw, ptr, len).offset(u64::MAX).build(),
        };
        source.recv = Recv::Armed;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry.user_data(user_data(key.index(), OP_RECV)));
    }

    fn arm_accept(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if source.accept_inflight || !matches!(source.life, Life::Open) {
            return;
        }
        let entry = opcode::AcceptMulti::new(types::Fd(source.fd.as_raw_fd()))
            .flags(fd::SOCK_CLOEXEC)
            .build()
            .user_data(user_data(key.index(), OP_ACCEPT));
        source.accept_inflight = true;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry);
    }

    fn start_send(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if source.send_inflight
            || !matches!(source.life, Life::Open)
            || !matches!(source.role, Role::Stream)
        {
            return;
        }
        let chunk = source.send.front_chunk();
        if chunk.is_empty() {
            return;
        }
        let (ptr, len) = (chunk.as_ptr(), chunk.len().min(u32::MAX as usize) as u32);
        let raw = types::Fd(source.fd.as_raw_fd());
        let entry = match source.transport {
            Transport::Socket => opcode::Send::new(raw, ptr, len)
                .flags(fd::MSG_NOSIGNAL)
                .build(),
            Transport::File => opcode::Write::new(raw, ptr, len).offset(u64::MAX).build(),
        };
        source.send_inflight = true;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry.user_data(user_data(key.index(), OP_SEND)));
    }

    /// The owner token of a live source.
    pub(crate) fn owner(&self, key: SourceKey) -> Option<u64> {
        self.sources
            .get(key)
            .filter(|s| matches!(s.life, Life::Open))
            .map(|s| s.owner)
    }

    /// Hands out a completed receive.
    pub(crate) fn read(&mut self, key: SourceKey) -> ReadOutcome {
        let Some(source) = self.sources.get_mut(key) else {
            return ReadOutcome::WouldBlock;
        };
        let Recv::Ready(res) = source.recv else {
            return ReadOutcome::WouldBlock;
        };
        if !matches!(source.life, Life::Open) {
            return ReadOutcome::WouldBlock;
        }
        if res > 0 {
            if let Some(buf) = source.recv_buf.take() {
                source.recv = Recv::Lent;
                return ReadOutcome::Data(RecvChunk {
                    buf,
                    len: res as usize,
                });
            }
        }
        source.recv = Recv::Idle;
        if res == 0 || (source.transport == Transport::File && fd::is_hangup(-res)) {
            ReadOutcome::Eof
        } else {
            ReadOutcome::Error(io::Error::from_raw_os_error(-res))
        }
    }

    /// Puts the lent buffer back and re-arms the receive.
    pub(crate) fn finish_read(&mut self, key: SourceKey, chunk: RecvChunk) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if matches!(source.recv, Recv::Lent) {
            source.recv_buf = Some(chunk.buf);
            source.recv = Recv::Idle;
            self.arm_recv(key);
        }
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
        if !matches!(source.life, Life::Open) || !matches!(source.role, Role::Stream) {
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
                if matches!(source.recv, Recv::Ready(_)) {
                    self.pending.push(IoEvent::Read(key));
                }
                self.arm_recv(key);
            }
        }
    }

    /// Closes a source: cancels what is in flight and frees it once the kernel is done.
    pub(crate) fn close(&mut self, key: SourceKey) -> bool {
        let Some(source) = self.sources.get_mut(key) else {
            return false;
        };
        if !matches!(source.life, Life::Open) {
            return false;
        }
        source.life = Life::Closing;
        self.open -= 1;
        if let Role::Listener { accepted, .. } = &mut source.role {
            accepted.clear();
        }
        if source.inflight == 0 {
            self.sources.remove(key);
            return true;
        }
        self.cancel_ops(key);
        true
    }

    fn cancel_ops(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get(key) else {
            return;
        };
        let mut ops = Vec::with_capacity(4);
        if matches!(source.recv, Recv::Armed) {
            ops.push(OP_RECV);
        }
        if source.send_inflight {
            ops.push(OP_SEND);
        }
        if source.accept_inflight {
            ops.push(OP_ACCEPT);
        }
        if source.connect_inflight {
            ops.push(OP_CONNECT);
        }
        for op in ops {
            let entry = opcode::AsyncCancel::new(user_data(key.index(), op))
                .build()
                .user_data(user_data(key.index(), OP_CANCEL));
            self.push(entry);
        }
    }

    /// Keys of the live sources of one owner.
    pub(crate) fn sources_of(&self, owner: u64) -> Vec<SourceKey> {
        self.sources
            .iter()
            .filter(|(_, s)| s.owner == owner && matches!(s.life, Life::Open))
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
        for key in std::mem::take(&mut self.to_flush) {
            self.start_send(key);
        }
        let timeout = if self.pending.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        self.enter(timeout)?;
        self.reap();
        if !self.wake_armed {
            self.arm_wake();
        }
        out.append(&mut self.pending);
        Ok(())
    }

    fn enter(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let result = match timeout {
            Some(d) if d.is_zero() => self.ring.submit(),
            Some(d) => {
                let ts = types::Timespec::from(d);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submit_and_wait(1),
        };
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn reap(&mut self) {
        let mut completions = std::mem::take(&mut self.completions);
        completions.extend(
            self.ring
                .completion()
                .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
        );
        for &(data, res, flags) in &completions {
            self.complete(data, res, flags);
        }
        completions.clear();
        self.completions = completions;
    }

    fn complete(&mut self, data: u64, res: i32, flags: u32) {
        let op = data & 0xff;
        let index = (data >> 8) as u32;
        if op == OP_CANCEL {
            return;
        }
        if index == WAKE_INDEX {
            self.inflight -= 1;
            self.wake_armed = false;
            return;
        }
        let Some((key, source)) = self.sources.get_by_index_mut(index) else {
            return;
        };
        let multishot_goes_on = op == OP_ACCEPT && cqueue::more(flags);
        if !multishot_goes_on {
            source.inflight -= 1;
            self.inflight -= 1;
        }
        match op {
            OP_RECV => source.recv = Recv::Ready(res),
            OP_SEND => source.send_inflight = false,
            OP_ACCEPT => source.accept_inflight = multishot_goes_on,
            OP_CONNECT => source.connect_inflight = false,
            _ => {}
        }
        if matches!(source.life, Life::Closing) {
            if op == OP_ACCEPT && res >= 0 {
                drop(fd::owned_from_raw(res));
            }
            if source.inflight == 0 {
                self.sources.remove(key);
            }
            return;
        }
        match op {
            OP_RECV if fd::is_retry(-res) => {
                source.recv = Recv::Idle;
                self.arm_recv(key);
            }
            OP_RECV => self.pending.push(IoEvent::Read(key)),
            OP_SEND => self.sent(key, res),
            OP_ACCEPT => {
                if let Role::Listener { accepted, error } = &mut source.role {
                    if res >= 0 {
                        accepted.push_back(fd::owned_from_raw(res));
                    } else if !fd::is_retry(-res) && -res != libc::ECANCELED {
                        *error = Some(io::Error::from_raw_os_error(-res));
                    }
                }
                self.pending.push(IoEvent::Read(key));
                if !multishot_goes_on {
                    self.arm_accept(key);
                }
            }
            OP_CONNECT => {
                let result = if res < 0 {
                    Err(io::Error::from_raw_os_error(-res))
                } else {
                    fd::set_nodelay(&source.fd)
                };
                if result.is_ok() {
                    source.role = Role::Stream;
                    self.arm_recv(key);
                }
                self.pending.push(IoEvent::Connect(key, result));
            }
            _ => {}
        }
    }

    fn sent(&mut self, key: Key, res: i32) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if res < 0 && fd::is_retry(-res) {
            self.to_flush.push(key);
            return;
        }
        if res < 0 {
            source.role = Role::Failed;
            self.pending
                .push(IoEvent::Failed(key, io::Error::from_raw_os_error(-res)));
            return;
        }
        source.send.consume(res as usize);
        if !source.send.is_empty() {
            self.to_flush.push(key);
        }
        if source.send.take_room_signal() {
            self.pending.push(IoEvent::Room(key));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Cancel everything in flight and wait for the kernel to let go of our buffers.
        for key in self.sources.keys() {
            self.cancel_ops(key);
        }
        if self.wake_armed {
            let entry = opcode::AsyncCancel::new(user_data(WAKE_INDEX, OP_WAKE))
                .build()
                .user_data(user_data(WAKE_INDEX, OP_CANCEL));
            self.push(entry);
        }
        for key in self.sources.keys() {
            if let Some(source) = self.sources.get_mut(key) {
                source.life = Life::Closing;
            }
        }
        let mut rounds = 0;
        while self.inflight > 0 && rounds < TEARDOWN_ROUNDS {
            let _ = self.enter(Some(TEARDOWN_WAIT));
            self.reap();
            rounds += 1;
        }
        if self.inflight > 0 {
            tracing::error!(
                inflight = self.inflight,
                "io_uring operations did not finish at teardown; leaking their buffers"
            );
            std::mem::forget(std::mem::take(&mut self.sources));
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
    }
}
