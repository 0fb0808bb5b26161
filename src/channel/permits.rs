//! The channel's side of the manager-wide limits (`crate::limits`): a permit taken before a
//! TCP connection attempt, before a TLS handshake and before the masters' startup sequence on
//! a new connection, given back when it ends, however it ends (success, failure, loss of the
//! connection, shutdown). A channel past a limit waits without
//! polling; the gate wakes it with [`ChannelMsg::PermitGranted`].

use super::message::ChannelMsg;
use super::task::{ChannelTask, Cx};
use crate::limits::{Acquired, Gate, Limits, Ticket, Wake};
use rdnp3_reactor::{Handle, PostError};
use std::sync::Arc;

/// Where a channel stands with one limit.
#[derive(Default)]
pub(crate) enum Permit {
    /// Neither held nor asked for.
    #[default]
    None,
    /// In the gate's queue.
    Waiting(Arc<Ticket>),
    /// Held until the work ends.
    Held,
}

/// Which limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PermitKind {
    /// A TCP connection attempt in flight.
    Connect,
    /// A TLS handshake under way.
    Handshake,
    /// The masters' startup sequence on a new connection.
    Startup,
}

/// Wakes a channel by posting to its mailbox.
struct ChannelWaker(Handle<ChannelMsg>);

impl Wake for ChannelWaker {
    fn wake(&self) -> bool {
        // A full mailbox is drained soon, and the channel then finds its grant.
        !matches!(
            self.0.post(ChannelMsg::PermitGranted),
            Err(PostError::Closed(_))
        )
    }
}

fn gate(limits: &Limits, kind: PermitKind) -> &Gate {
    match kind {
        PermitKind::Connect => &limits.connects,
        PermitKind::Handshake => &limits.handshakes,
        PermitKind::Startup => &limits.startups,
    }
}

impl ChannelTask {
    fn permit_mut(&mut self, kind: PermitKind) -> &mut Permit {
        match kind {
            PermitKind::Connect => &mut self.connect_permit,
            PermitKind::Handshake => &mut self.handshake_permit,
            PermitKind::Startup => &mut self.startup_permit,
        }
    }

    /// True when the work may start now (the permit is held, or the manager sets no limit);
    /// false when the channel waits its turn and [`ChannelTask::permit_granted`] resumes it.
    pub(super) fn take_permit(&mut self, cx: &mut Cx<'_>, kind: PermitKind) -> bool {
        let Some(limits) = self.limits.clone() else {
            return true;
        };
        match self.permit_mut(kind) {
            Permit::Held => return true,
            Permit::Waiting(_) => return false,
            Permit::None => {}
        }
        let waker = Box::new(ChannelWaker(cx.handle()));
        let (permit, now) = match gate(&limits, kind).acquire(waker) {
            Acquired::Now => (Permit::Held, true),
            Acquired::Queued(ticket) => (Permit::Waiting(ticket), false),
        };
        *self.permit_mut(kind) = permit;
        now
    }

    /// Gives the permit back (or the place in the queue), if the channel has one.
    pub(super) fn give_back(&mut self, kind: PermitKind) {
        let Some(limits) = self.limits.clone() else {
            return;
        };
        match std::mem::take(self.permit_mut(kind)) {
            Permit::None => {}
            Permit::Held => gate(&limits, kind).release(),
            Permit::Waiting(ticket) => gate(&limits, kind).cancel(&ticket),
        }
    }

    /// Gives back every permit and place in a queue (the channel shuts down).
    pub(super) fn give_back_all(&mut self) {
        self.give_back(PermitKind::Connect);
        self.give_back(PermitKind::Handshake);
        self.give_back(PermitKind::Startup);
    }

    /// True while the channel waits for a permit.
    pub(super) fn waits_for_permit(&self) -> bool {
        matches!(self.connect_permit, Permit::Waiting(_))
            || matches!(self.handshake_permit, Permit::Waiting(_))
            || matches!(self.startup_permit, Permit::Waiting(_))
    }

    /// After an event: a connection just opened takes a startup permit if its masters have a
    /// startup sequence to run (held until the permit comes), and a held permit goes back once
    /// no master is starting any more.
    pub(super) fn startup_step(&mut self, cx: &mut Cx<'_>) {
        if std::mem::take(&mut self.startup_check)
            && self.router.is_starting()
            && !self.take_permit(cx, PermitKind::Startup)
        {
            self.router.hold_startup(true);
        }
        if matches!(self.startup_permit, Permit::Held) && !self.router.is_starting() {
            self.give_back(PermitKind::Startup);
        }
    }

    /// The connection is gone: its startup no longer counts, nor waits.
    pub(super) fn startup_over(&mut self) {
        self.startup_check = false;
        if !matches!(self.startup_permit, Permit::None) {
            self.router.hold_startup(false);
            self.give_back(PermitKind::Startup);
        }
    }

    /// Resumes the work whose permit was granted.
    pub(super) fn permit_granted(&mut self, cx: &mut Cx<'_>) {
        for kind in [
            PermitKind::Connect,
            PermitKind::Handshake,
            PermitKind::Startup,
        ] {
            let permit = self.permit_mut(kind);
            if !matches!(permit, Permit::Waiting(t) if t.granted()) {
                continue;
            }
            *permit = Permit::Held;
            match kind {
                PermitKind::Connect => self.connect(cx),
                #[cfg(feature = "tls")]
                PermitKind::Handshake => self.tls_resume(cx),
                #[cfg(not(feature = "tls"))]
                PermitKind::Handshake => self.give_back(kind),
                PermitKind::Startup => self.router.hold_startup(false),
            }
        }
    }
}
