//! What an actor may do from inside its callbacks: open and close sources, send, set timers,
//! read the clock, spawn other actors and stop itself.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::actor::{Actor, SourceId};
use crate::driver::StreamKind;
use crate::error::{SendError, SpawnError};
use crate::executor::{Core, TimerTarget};
use crate::mailbox::{Handle, Mailbox};
use crate::pool::Spawner;
use crate::slab::Key;
use crate::sys::fd;
use crate::timer::TimerId;

/// An actor's view of its executor during one callback.
pub struct Context<'a, M> {
    pub(crate) core: &'a mut Core,
    pub(crate) actor: u64,
    pub(crate) mailbox: &'a Arc<Mailbox<M>>,
}

impl<M> Context<'_, M> {
    fn own(&self, source: SourceId) -> Option<Key> {
        let key = Key::from_u64(source.0);
        (self.core.driver.owner(key) == Some(self.actor)).then_some(key)
    }

    /// Starts a non-blocking TCP connect; [`Actor::on_connect`] reports the outcome, a
    /// `TimedOut` error if `timeout` passes first.
    pub fn connect(&mut self, addr: SocketAddr, timeout: Duration) -> io::Result<SourceId> {
        let fd = fd::tcp_socket(&addr, self.core.driver.wants_nonblocking())?;
        let key = self.core.driver.connect(fd, addr, self.actor)?;
        let deadline = self.core.tick_at(self.core.now + timeout);
        let timer = self
            .core
            .timers
            .insert(deadline, TimerTarget::ConnectDeadline(key));
        self.core.connect_deadlines.insert(key.to_u64(), timer);
        Ok(SourceId(key.to_u64()))
    }

    /// Listens on `addr` (port 0 picks one); returns the source and the bound address.
    /// Connections arrive in [`Actor::on_accept`].
    pub fn listen(&mut self, addr: SocketAddr) -> io::Result<(SourceId, SocketAddr)> {
        let (listener, local) = fd::tcp_listener(&addr)?;
        let key = self.core.driver.add_listener(listener, self.actor)?;
        Ok((SourceId(key.to_u64()), local))
    }

    /// Drives a connected TCP stream (for example one from [`Actor::on_accept`]).
    pub fn adopt_tcp(&mut self, stream: TcpStream) -> io::Result<SourceId> {
        stream.set_nodelay(true)?;
        let key =
            self.core
                .driver
                .add_stream(OwnedFd::from(stream), StreamKind::Socket, self.actor)?;
        Ok(SourceId(key.to_u64()))
    }

    /// Drives a serial port opened and configured with `serialport` as a raw byte stream.
    #[cfg(feature = "serial")]
    pub fn adopt_serial(&mut self, port: serialport::TTYPort) -> io::Result<SourceId> {
        self.adopt_fd(fd::owned_from_serial(port))
    }

    /// Drives any other byte-stream descriptor (a pseudo-terminal, a pipe, a character device).
    pub fn adopt_fd(&mut self, fd: OwnedFd) -> io::Result<SourceId> {
        let key = self
            .core
            .driver
            .add_stream(fd, StreamKind::File, self.actor)?;
        Ok(SourceId(key.to_u64()))
    }

    /// Copies `bytes` into the source's bounded send queue, all or nothing. On
    /// [`SendError::Full`], [`Actor::on_writable`] follows once the queue has drained.
    pub fn send(&mut self, source: SourceId, bytes: &[u8]) -> Result<(), SendError> {
        let key = self.own(source).ok_or(SendError::Closed)?;
        self.core.driver.send(key, bytes)
    }

    /// Free bytes in the source's send queue (0 if it is not an open stream of this actor).
    pub fn send_room(&self, source: SourceId) -> usize {
        self.own(source)
            .and_then(|key| self.core.driver.send_room(key))
            .unwrap_or(0)
    }

    /// Stops delivering data from `source` (the kernel's buffers then push back on the peer)
    /// until [`Context::resume_reading`].
    pub fn pause_reading(&mut self, source: SourceId) {
        if let Some(key) = self.own(source) {
            self.core.driver.set_reading(key, false);
        }
    }

    /// Resumes delivering data from `source`.
    pub fn resume_reading(&mut self, source: SourceId) {
        if let Some(key) = self.own(source) {
            self.core.driver.set_reading(key, true);
        }
    }

    /// Closes one of the actor's sources; no callback follows for it. False if unknown.
    pub fn close(&mut self, source: SourceId) -> bool {
        match self.own(source) {
            Some(key) => {
                if let Some(timer) = self.core.connect_deadlines.remove(&key.to_u64()) {
                    self.core.timers.cancel(timer);
                }
                self.core.driver.close(key)
            }
            None => false,
        }
    }

    /// Sets a timer that fires [`Actor::on_timer`] after `delay` (millisecond resolution,
    /// never early).
    pub fn set_timer(&mut self, delay: Duration) -> TimerId {
        let deadline = self.core.now + delay;
        self.set_timer_at(deadline)
    }

    /// Sets a timer that fires at `deadline`. Timers set less than 40 ms ahead fire within a
    /// millisecond of it; later ones are coalesced on the executor's 20 ms wake-up grid (up
    /// to 20 ms late), so thousands of timers spread over a second cost few wake-ups.
    pub fn set_timer_at(&mut self, deadline: Instant) -> TimerId {
        let tick = self.core.tick_at(deadline);
        self.core.note_timer(tick);
        self.core
            .timers
            .insert(tick, TimerTarget::Actor(self.actor))
    }

    /// Cancels one of the actor's timers; false if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        match self.core.timers.get(timer) {
            Some(TimerTarget::Actor(owner)) if *owner == self.actor => {
                self.core.timers.cancel(timer).is_some()
            }
            _ => false,
        }
    }

    /// The executor's monotonic clock, read once per batch of callbacks.
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// Ends the actor after this callback: [`Actor::on_stop`] runs, its sources close,
    /// its timers are dropped and its handles start returning `Closed`.
    pub fn stop(&mut self) {
        self.core.stopping.push(self.actor);
    }

    /// A handle to post to this actor (to give to other threads or actors).
    pub fn handle(&self) -> Handle<M> {
        Handle::new(self.mailbox.clone())
    }

    /// The pool's spawner, to start actors anywhere in the pool from here.
    pub fn spawner(&self) -> &Spawner {
        &self.core.spawner
    }

    /// Starts another actor, preferring this executor; idle executors may steal it before it
    /// starts.
    pub fn spawn<C: Actor>(&mut self, actor: C) -> Result<Handle<C::Message>, SpawnError<C>> {
        self.core.spawn_local(actor)
    }

    /// The executor's turn: the number of its loop iteration (start actors, deliver posted
    /// messages, poll, deliver I/O, fire timers). Actors that bound some work per turn (TLS
    /// handshakes, for one) count against it, and post the rest to themselves: a message an
    /// actor posts to itself from an I/O, timer or message callback is delivered in a later
    /// turn, after the I/O and timers of this one.
    pub fn turn(&self) -> u64 {
        self.core.turn
    }

    /// Which executor of the pool runs this actor (0-based).
    pub fn executor_index(&self) -> usize {
        self.core.index
    }
}
