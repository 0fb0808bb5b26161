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
        let multishot_goes_on = op == Op::Accept && cqueue::more(flags);
        if !multishot_goes_on {
            source.inflight -= 1;
            self.inflight -= 1;
        }
        match op {
            Op::Recv => {
                source.recv = match cqueue::buffer_select(flags) {
                    Some(id) if res > 0 => Recv::Provided(res as u32, id),
                    _ => Recv::Ready(res),
                }
            }
            Op::Send => source.send_inflight = false,
            Op::Accept => source.accept_inflight = multishot_goes_on,
            Op::Connect => source.connect_inflight = false,
            Op::Wake | Op::Cancel | Op::Poll => {}
        }
        if !source.is_open() {
            if op == Op::Accept && res >= 0 {
                drop(fd::owned_from_raw(res));
            }
            if let Recv::Provided(_, id) = source.recv {
                source.recv = Recv::Idle;
                if let Some(ring) = self.recv_ring.as_mut() {
                    ring.give_back(id);
                }
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
            Op::Recv if -res == libc::ENOBUFS => {
                // The ring ran dry: the bytes wait in the socket until buffers come back.
                source.recv = Recv::Idle;
                self.starved.push(key);
                self.recv_waits += 1;
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
