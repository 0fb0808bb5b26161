//! Reaping completions: each one updates its source's state and, when the owner should hear
//! about it, queues an [`IoEvent`] for the executor.

use std::io;

use io_uring::cqueue;

use super::ops::{decode, Op, WAKE_INDEX};
use super::source::{Recv, Role};
use super::Driver;
use crate::driver::{IoEvent, SourceKey};
use crate::sys::fd;

impl Driver {
    /// Takes every completion the kernel posted and applies it.
    pub(super) fn reap(&mut self) {
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
        let (index, op) = decode(data);
        let Some(op) = op else {
            return;
        };
        if op == Op::Cancel {
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
        let more = cqueue::more(flags);
        let multishot_goes_on = matches!(op, Op::Accept | Op::Recv) && more;
        if !multishot_goes_on {
            source.inflight -= 1;
            self.inflight -= 1;
        }
        if op == Op::Recv && source.on_ring() {
            return self.ring_received(key, res, flags, more);
        }
        match op {
            Op::Recv => source.recv = Recv::Ready(res),
            Op::Send => source.send_inflight = false,
            Op::Accept => source.accept_inflight = multishot_goes_on,
            Op::Connect => source.connect_inflight = false,
            Op::Wake | Op::Cancel | Op::Poll => {}
        }
        if !source.is_open() {
            if op == Op::Accept && res >= 0 {
                drop(fd::owned_from_raw(res));
            }
            if source.inflight == 0 {
                self.sources.remove(key);
            }
            return;
        }
        match op {
            Op::Recv if fd::is_retry(-res) => {
                source.recv = Recv::Idle;
                self.arm_recv(key);
            }
            Op::Recv => self.pending.push(IoEvent::Read(key)),
            Op::Send => self.sent(key, res),
            Op::Accept => {
                if let Role::Listener { accepted, error } = &mut source.role {
                    if res >= 0 {
                        accepted.push_back(fd::owned_from_raw(res));
                    } else if !fd::is_retry(-res) && -res != libc::ECANCELED {
                        *error = Some(io::Error::from_raw_os_error(-res));
                    }
                }
                self.pending.push(IoEvent::Read(key));
                // Out of descriptors: the executor re-arms after a pause instead of spinning.
                if !(multishot_goes_on || res < 0 && fd::is_exhaustion(-res)) {
                    self.arm_accept(key);
                }
            }
            Op::Connect => {
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
            // The linked read or write reports what happened.
            Op::Wake | Op::Cancel | Op::Poll => {}
        }
    }

    /// A completion of a socket's multishot receive on the executor's buffer ring: a chunk
    /// (queued for the owner), the end of the stream, or the end of the multishot (armed
    /// again, or once buffers return when the ring ran dry).
    fn ring_received(&mut self, key: SourceKey, res: i32, flags: u32, more: bool) {
        let buffer = cqueue::buffer_select(flags).filter(|_| res > 0);
        let Some(source) = self.sources.get_mut(key) else {
            return;
        };
        if !more {
            source.recv = Recv::Idle;
        }
        if !source.is_open() {
            if source.inflight == 0 {
                self.sources.remove(key);
            }
            if let Some(id) = buffer {
                self.give_back(id);
            }
            return;
        }
        let mut rearm = !more && source.reading;
        if let Some(id) = buffer {
            if source.chunks.is_empty() && source.end.is_none() {
                self.pending.push(IoEvent::Read(key));
            }
            source.chunks.push_back((res as u32, id));
        } else if res == -libc::ENOBUFS {
            // The ring ran dry: the bytes wait in the socket until buffers come back.
            rearm = false;
            self.starved.push(key);
            self.recv_waits += 1;
        } else if res == 0 || (res < 0 && !fd::is_retry(-res) && -res != libc::ECANCELED) {
            rearm = false;
            if source.chunks.is_empty() {
                self.pending.push(IoEvent::Read(key));
            }
            source.end = Some(res);
        }
        if rearm {
            self.arm_recv(key);
        }
    }

    /// A write completed: consume what went out, go on with the rest, report room or failure.
    fn sent(&mut self, key: SourceKey, res: i32) {
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
