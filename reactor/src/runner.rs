//! The executor's type-erased view of an actor: a [`Actor`] plus its mailbox, behind one
//! object-safe trait so one executor can hold actors of many types.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::actor::{Actor, CloseReason, SourceId};
use crate::context::Context;
use crate::executor::Core;
use crate::mailbox::{Home, Mailbox};
use crate::timer::TimerId;

/// Something the executor delivers to an actor.
pub(crate) enum Event<'a> {
    Data(SourceId, &'a [u8]),
    Writable(SourceId),
    Connected(SourceId, io::Result<()>),
    Accepted(SourceId, TcpStream, SocketAddr),
    AcceptFailed(SourceId, io::Error),
    Closed(SourceId, CloseReason),
    Timer(TimerId),
}

/// An actor as the executor sees it.
pub(crate) trait Runner: Send {
    /// Pins the actor to its executor and runs `on_start`; true if messages already wait.
    fn start(&mut self, core: &mut Core, key: u64, home: Home) -> bool;
    /// Delivers one event.
    fn dispatch(&mut self, core: &mut Core, key: u64, event: Event<'_>);
    /// Delivers up to `budget` posted messages; true if more remain.
    fn drain(&mut self, core: &mut Core, key: u64, budget: usize) -> bool;
    /// Clears the "queued on the ready list" mark before draining.
    fn unschedule(&self);
    /// Marks the actor queued; false if it already was.
    fn schedule(&self) -> bool;
    /// Tells the actor one of its callbacks panicked.
    fn panicked(&mut self, message: &str);
    /// Runs `on_stop` and refuses further posts.
    fn finish(&mut self);
    /// Drops an actor that never started: refuses posts, no callback.
    fn abandon(&mut self);
}

/// An actor with its mailbox.
pub(crate) struct Cell<C: Actor> {
    actor: C,
    mailbox: Arc<Mailbox<C::Message>>,
}

impl<C: Actor> Cell<C> {
    pub(crate) fn new(actor: C, mailbox: Arc<Mailbox<C::Message>>) -> Self {
        Cell { actor, mailbox }
    }
}

impl<C: Actor> Runner for Cell<C> {
    fn start(&mut self, core: &mut Core, key: u64, home: Home) -> bool {
        let waiting = self.mailbox.bind(home);
        let mut cx = Context {
            core,
            actor: key,
            mailbox: &self.mailbox,
        };
        self.actor.on_start(&mut cx);
        waiting
    }

    fn dispatch(&mut self, core: &mut Core, key: u64, event: Event<'_>) {
        let mut cx = Context {
            core,
            actor: key,
            mailbox: &self.mailbox,
        };
        let ch = &mut self.actor;
        match event {
            Event::Data(source, data) => ch.on_data(&mut cx, source, data),
            Event::Writable(source) => ch.on_writable(&mut cx, source),
            Event::Connected(source, result) => ch.on_connect(&mut cx, source, result),
            Event::Accepted(listener, stream, peer) => {
                ch.on_accept(&mut cx, listener, stream, peer)
            }
            Event::AcceptFailed(listener, error) => ch.on_accept_error(&mut cx, listener, error),
            Event::Closed(source, reason) => ch.on_closed(&mut cx, source, reason),
            Event::Timer(timer) => ch.on_timer(&mut cx, timer),
        }
    }

    fn drain(&mut self, core: &mut Core, key: u64, budget: usize) -> bool {
        let mut cx = Context {
            core,
            actor: key,
            mailbox: &self.mailbox,
        };
        // Only what was queued when the drain began: a message the actor posts to itself
        // now waits for the next turn, so that I/O and timers run in between.
        for _ in 0..budget.min(self.mailbox.len()) {
            match self.mailbox.take() {
                Some(message) => {
                    cx.core
                        .shared
                        .stats
                        .messages
                        .fetch_add(1, Ordering::Relaxed);
                    self.actor.on_message(&mut cx, message);
                    if cx.core.stopping.contains(&key) {
                        return false;
                    }
                }
                None => return false,
            }
        }
        !self.mailbox.is_empty()
    }

    fn unschedule(&self) {
        self.mailbox.scheduled.store(false, Ordering::SeqCst);
    }

    fn schedule(&self) -> bool {
        !self.mailbox.scheduled.swap(true, Ordering::SeqCst)
    }

    fn panicked(&mut self, message: &str) {
        self.actor.on_panic(message);
    }

    fn finish(&mut self) {
        self.mailbox.close();
        self.actor.on_stop();
    }

    fn abandon(&mut self) {
        self.mailbox.close();
    }
}
