//! Submitting operations: how each one is tagged (`user_data`), built and pushed, and how
//! what is in flight for a source is cancelled.

use std::os::fd::AsRawFd;
use std::time::Duration;

use io_uring::{opcode, squeue, types};
use nix::sys::socket::SockaddrLike;

use super::source::Recv;
use super::Driver;
use crate::driver::{SourceKey, StreamKind};
use crate::sys::fd;

/// The operation a completion belongs to, in the low byte of its `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Recv = 1,
    Send = 2,
    Accept = 3,
    Connect = 4,
    Wake = 5,
    Cancel = 6,
    /// A readiness poll linked in front of a read or write of a non-socket descriptor.
    Poll = 7,
}

impl Op {
    fn from_low_byte(byte: u64) -> Option<Op> {
        Some(match byte {
            1 => Op::Recv,
            2 => Op::Send,
            3 => Op::Accept,
            4 => Op::Connect,
            5 => Op::Wake,
            6 => Op::Cancel,
            7 => Op::Poll,
            _ => return None,
        })
    }
}

/// Slot index standing for the executor's wake eventfd (never a source's index).
pub(super) const WAKE_INDEX: u32 = u32::MAX;

/// Tags an operation with the slot index of its source. The index alone (not the generation)
/// is enough: a slot is only reused once every operation of its previous source completed.
pub(super) fn user_data(index: u32, op: Op) -> u64 {
    (u64::from(index) << 8) | op as u64
}

/// Splits a completion's `user_data` back into slot index and operation.
pub(super) fn decode(data: u64) -> (u32, Option<Op>) {
    ((data >> 8) as u32, Op::from_low_byte(data & 0xff))
}

impl Driver {
    /// Queues a readiness poll linked in front of `entry`, both in one submission: terminals
    /// and serial ports are not asynchronous for io_uring, so a plain read or write would
    /// block a kernel worker; on a non-blocking descriptor behind a poll it completes at once.
    fn push_after_poll(&mut self, index: u32, raw: types::Fd, events: u32, entry: squeue::Entry) {
        let poll = opcode::PollAdd::new(raw, events)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(user_data(index, Op::Poll));
        self.push_group(poll, Some(entry));
    }

    /// Queues one submission.
    pub(super) fn push(&mut self, entry: squeue::Entry) {
        self.push_group(entry, None);
    }

    /// Queues a submission (and the one linked behind it). When the submission queue is full
    /// it is handed to the kernel once and the push retried; if it is still full (the kernel
    /// refuses more while completions overflow), the entries wait in the backlog for the next
    /// loop iteration, which reaps first. Never spins.
    fn push_group(&mut self, first: squeue::Entry, second: Option<squeue::Entry>) {
        if self.backlog.is_empty() {
            if self.try_push(&first, second.as_ref()) {
                return;
            }
            self.submit_pending();
            if self.try_push(&first, second.as_ref()) {
                return;
            }
        }
        self.backlog.push_back((first, second));
    }

    /// Pushes what waits in the backlog, in order, as far as the submission queue allows
    /// (handing it to the kernel once when full).
    pub(super) fn push_backlog(&mut self) {
        let mut submitted = false;
        while let Some((first, second)) = self.backlog.pop_front() {
            if self.try_push(&first, second.as_ref()) {
                continue;
            }
            if !submitted {
                submitted = true;
                self.submit_pending();
                if self.try_push(&first, second.as_ref()) {
                    continue;
                }
            }
            self.backlog.push_front((first, second));
            return;
        }
    }

    fn try_push(&mut self, first: &squeue::Entry, second: Option<&squeue::Entry>) -> bool {
        // SAFETY: every entry built by this driver points only at memory owned by a source in
        // `self.sources` (heap buffers that do not move when the slab grows), at
        // `self.wake_buf`, or (receives with a buffer group) at the registered `recv_ring`; sources are freed, and the driver torn down, only after all their
        // operations completed (see `complete` and `Drop`). A poll points at no memory.
        unsafe {
            let mut sq = self.ring.submission();
            match second {
                None => sq.push(first).is_ok(),
                Some(second) => sq.push_multiple(&[first.clone(), second.clone()]).is_ok(),
            }
        }
    }

    /// Hands the submission queue to the kernel without waiting.
    fn submit_pending(&mut self) {
        if let Err(e) = self.ring.submit() {
            if !matches!(
                e.raw_os_error(),
                Some(libc::EBUSY) | Some(libc::EAGAIN) | Some(libc::EINTR)
            ) {
                tracing::warn!(error = %e, "io_uring submit failed while the queue was full");
            }
        }
    }

    /// Reads the wake eventfd, so a post from another thread ends the wait in the kernel.
    pub(super) fn arm_wake(&mut self) {
        let ptr = (&mut *self.wake_buf as *mut u64).cast::<u8>();
        let entry = opcode::Read::new(types::Fd(self.wake_fd), ptr, 8)
            .build()
            .user_data(user_data(WAKE_INDEX, Op::Wake));
        self.push(entry);
        self.wake_armed = true;
        self.inflight += 1;
    }

    /// Submits the connect of a source whose role holds the address.
    pub(super) fn submit_connect(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        let super::source::Role::Connecting { addr } = &source.role else {
            return;
        };
        let entry =
            opcode::Connect::new(types::Fd(source.fd.as_raw_fd()), addr.as_ptr(), addr.len())
                .build()
                .user_data(user_data(key.index(), Op::Connect));
        source.connect_inflight = true;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry);
    }

    /// Arms the receive of an open, reading stream whose buffer is home.
    pub(super) fn arm_recv(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if !source.is_open()
            || !source.is_stream()
            || !source.reading
            || !matches!(source.recv, Recv::Idle)
        {
            return;
        }
        let raw = types::Fd(source.fd.as_raw_fd());
        let Some(buf) = source.recv_buf.as_mut() else {
            // No buffer of its own: a socket receiving into the executor's ring, which the
            // kernel picks a buffer from once bytes arrive.
            // It stays armed (one completion per chunk) until the stream ends, the ring runs
            // dry or reading pauses.
            let Some(ring) = &self.recv_ring else { return };
            if source.kind != StreamKind::Socket || source.end.is_some() {
                return;
            }
            source.recv = Recv::Armed;
            source.inflight += 1;
            self.inflight += 1;
            let entry = opcode::RecvMulti::new(raw, ring.group()).build();
            self.push(entry.user_data(user_data(key.index(), Op::Recv)));
            return;
        };
        let (ptr, len) = (buf.as_mut_ptr(), buf.len().min(u32::MAX as usize) as u32);
        source.recv = Recv::Armed;
        match source.kind {
            StreamKind::Socket => {
                source.inflight += 1;
                self.inflight += 1;
                let entry = opcode::Recv::new(raw, ptr, len).build();
                self.push(entry.user_data(user_data(key.index(), Op::Recv)));
            }
            StreamKind::File => {
                source.inflight += 2;
                self.inflight += 2;
                let entry = opcode::Read::new(raw, ptr, len).offset(u64::MAX).build();
                let entry = entry.user_data(user_data(key.index(), Op::Recv));
                self.push_after_poll(key.index(), raw, libc::POLLIN as u32, entry);
            }
        }
    }

    /// Arms a multishot accept on an open listener.
    pub(super) fn arm_accept(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if source.accept_inflight || !source.is_open() {
            return;
        }
        let entry = opcode::AcceptMulti::new(types::Fd(source.fd.as_raw_fd()))
            .flags(fd::SOCK_CLOEXEC)
            .build()
            .user_data(user_data(key.index(), Op::Accept));
        source.accept_inflight = true;
        source.inflight += 1;
        self.inflight += 1;
        self.push(entry);
    }

    /// Writes the front of a stream's send queue, unless a write is already in flight.
    pub(super) fn start_send(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if source.send_inflight || !source.is_open() || !source.is_stream() {
            return;
        }
        let chunk = source.send.front_chunk();
        if chunk.is_empty() {
            return;
        }
        let (ptr, len) = (chunk.as_ptr(), chunk.len().min(u32::MAX as usize) as u32);
        let raw = types::Fd(source.fd.as_raw_fd());
        source.send_inflight = true;
        match source.kind {
            StreamKind::Socket => {
                source.inflight += 1;
                self.inflight += 1;
                let entry = opcode::Send::new(raw, ptr, len)
                    .flags(fd::MSG_NOSIGNAL)
                    .build();
                self.push(entry.user_data(user_data(key.index(), Op::Send)));
            }
            StreamKind::File => {
                source.inflight += 2;
                self.inflight += 2;
                let entry = opcode::Write::new(raw, ptr, len).offset(u64::MAX).build();
                let entry = entry.user_data(user_data(key.index(), Op::Send));
                self.push_after_poll(key.index(), raw, libc::POLLOUT as u32, entry);
            }
        }
    }

    /// Asks the kernel to cancel every operation a source has in flight.
    pub(super) fn cancel_ops(&mut self, key: SourceKey) {
        let Some(source) = self.sources.get(key) else {
            return;
        };
        if source.inflight == 0 {
            return;
        }
        if source.kind == StreamKind::Socket {
            // Each operation by its tag: the kernel finds it by hash, where a match by
            // descriptor scans every request in flight on the ring (ten thousand idle
            // receives make a reconnect storm quadratic).
            let index = key.index();
            let ops = [
                (matches!(source.recv, Recv::Armed), Op::Recv),
                (source.send_inflight, Op::Send),
                (source.connect_inflight, Op::Connect),
                (source.accept_inflight, Op::Accept),
            ];
            for (inflight, op) in ops {
                if inflight {
                    self.cancel(index, op);
                }
            }
            return;
        }
        // Every operation on the descriptor, whatever it is: a serial port can have a read
        // and a write each behind its own readiness poll, and all must end for the source to
        // be freed.
        let target = types::CancelBuilder::fd(types::Fd(source.fd.as_raw_fd())).all();
        let entry = opcode::AsyncCancel2::new(target)
            .build()
            .user_data(user_data(key.index(), Op::Cancel));
        self.push(entry);
    }

    /// Cancels every operation in flight on the ring, with one request (teardown).
    pub(super) fn cancel_everything(&mut self) {
        let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(user_data(WAKE_INDEX, Op::Cancel));
        self.push(entry);
    }

    /// Cancels the operation tagged `(index, op)`.
    pub(super) fn cancel(&mut self, index: u32, op: Op) {
        let entry = opcode::AsyncCancel::new(user_data(index, op))
            .build()
            .user_data(user_data(index, Op::Cancel));
        self.push(entry);
    }

    /// Submits what is queued and waits up to `timeout` (forever if `None`) for a completion.
    pub(super) fn enter(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
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
}
