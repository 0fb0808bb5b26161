//! Dial-in: one listening endpoint that many outstations connect to. Outstations on cellular
//! or other NATed links cannot be reached, so they connect to the master; a
//! [`MasterListener`] accepts them, tells which association each connection belongs to — by
//! the link source address of the first frame it sends, or by its peer IP — and hands it to
//! that association's own channel, which then runs like any other master channel (polls,
//! commands, health listener, statistics).
//!
//! The listener is one actor on one executor: it accepts, holds each new connection until it
//! is identified (bounded in number, time and bytes), then posts the descriptor and the bytes
//! already read to the association's channel, pinned to whichever executor runs it: one post
//! per connection, none per message. The listener reads a duplicate of the descriptor and
//! closes it at the hand-over; on io_uring a receive it had in flight then may still take
//! bytes the outstation sent in that instant, which are lost like bytes on a noisy link (the
//! outstation repeats an unconfirmed unsolicited response; the master repeats its request).

mod first_frame;
mod register;
mod task;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use task::{ListenerMsg, ListenerTask};

use crate::error::ChannelError;
use crate::master::Master;
use rdnp3_reactor::{completion, Completion, Handle};
use rdnp3_stack::master::{AssociationListener, MasterConfig, ReadHandler};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

macro_rules! listener_counters {
    ($( $field:ident: $doc:literal, )*) => {
        /// Live counters of a listener, shared with its associations' channels.
        #[derive(Debug, Default)]
        pub(crate) struct ListenerCounters {
            $( #[doc = $doc] pub(crate) $field: AtomicU64, )*
        }

        /// A snapshot of a [`MasterListener`]'s counters.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct ListenerStats {
            $( #[doc = $doc] pub $field: u64, )*
        }

        impl ListenerCounters {
            fn snapshot(&self) -> ListenerStats {
                ListenerStats { $( $field: self.$field.load(Ordering::Relaxed), )* }
            }
        }
    };
}

listener_counters! {
    accepted: "Connections accepted.",
    pending: "Connections accepted and not yet identified, now.",
    identified: "Connections handed to their association's channel.",
    added: "Associations created for unknown outstations the callback accepted.",
    refused_unknown: "Connections of unknown outstations refused (by the callback, or none).",
    refused_peer: "Connections refused because the association expects another peer IP.",
    garbage: "Connections closed because their first bytes were not a valid outstation link frame within the byte budget.",
    timeouts: "Connections closed because no valid link frame came within the first-frame timeout.",
    abandoned: "Connections the peer closed before they were identified.",
    over_limit: "Connections closed at once because `max_pending` were already waiting (or no descriptor was left).",
    replaced: "Connections closed because their outstation connected again (policy CloseExisting).",
    refused_duplicate: "New connections refused because their outstation was connected (policy RejectNew).",
    handoff_failed: "Identified connections dropped because their association's channel was gone or its mailbox full.",
    tls_errors: "TLS handshakes that failed on the listener (each closed its connection).",
    tls_deferred: "TLS handshake steps deferred to a later turn of the executor, its per-turn handshake budget spent (a flood of handshakes waits; established channels go on).",
    accept_errors: "Accepts that failed; out of descriptors, the listener pauses before accepting again.",
    rate_refused: "Connections closed at once for arriving faster than `max_accepts_per_second`.",
}

impl ListenerCounters {
    pub(crate) fn add(&self, counter: impl Fn(&Self) -> &AtomicU64) {
        counter(self).fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a dial-in operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DialInError {
    /// The listening socket could not be opened.
    Listen(io::Error),
    /// Another association of this listener already has this outstation link address.
    DuplicateAddress(u16),
    /// Another association of this listener already has this peer IP.
    DuplicatePeer(IpAddr),
    /// The listener binds connections by peer IP and the association (outstation address
    /// given) has none: set it with [`DialInAssociation::with_peer_ip`].
    NoPeerIp(u16),
}

impl fmt::Display for DialInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialInError::Listen(e) => write!(f, "cannot listen: {e}"),
            DialInError::DuplicateAddress(a) => {
                write!(
                    f,
                    "the listener already has an association for outstation {a}"
                )
            }
            DialInError::DuplicatePeer(ip) => {
                write!(f, "the listener already has an association for peer {ip}")
            }
            DialInError::NoPeerIp(a) => write!(
                f,
                "the listener binds by peer IP and the association for outstation {a} has none"
            ),
        }
    }
}

impl std::error::Error for DialInError {}

/// A master association waiting for its outstation to dial in: what
/// [`MasterListener::add`] registers and what [`UnknownOutstations::on_unknown`] returns to
/// accept an outstation.
pub struct DialInAssociation {
    pub(crate) config: MasterConfig,
    pub(crate) handler: Box<dyn ReadHandler>,
    pub(crate) listener: Option<Box<dyn AssociationListener>>,
    pub(crate) peer_ip: Option<IpAddr>,
}

impl fmt::Debug for DialInAssociation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DialInAssociation")
            .field("outstation", &self.config.outstation_address)
            .field("peer_ip", &self.peer_ip)
            .finish()
    }
}

impl DialInAssociation {
    /// An association with the outstation at `config.outstation_address`; measurements go to
    /// `handler`.
    pub fn new(config: MasterConfig, handler: Box<dyn ReadHandler>) -> Self {
        DialInAssociation {
            config,
            handler,
            listener: None,
            peer_ip: None,
        }
    }

    /// Health (online/offline, task results, IIN, restarts) goes to `listener` (it runs on
    /// the reactor and must not block).
    pub fn with_listener(mut self, listener: Box<dyn AssociationListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The outstation's IP address: required when the listener binds by peer IP; when it
    /// binds by link address, connections from any other IP are refused.
    pub fn with_peer_ip(mut self, ip: IpAddr) -> Self {
        self.peer_ip = Some(ip);
        self
    }
}

/// A connection from an outstation the listener has no association for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownOutstation {
    /// Its link address (the source of its first frame); `None` when the listener binds by
    /// peer IP.
    pub link_address: Option<u16>,
    /// Where it connects from.
    pub peer: SocketAddr,
}

/// Decides about outstations that dial in without an association. Runs on the listener's
/// executor: it must not block.
pub trait UnknownOutstations: Send {
    /// Return an association to accept the outstation (created at once; with a link
    /// address its `outstation_address` is set to it, and when binding by peer IP its peer
    /// IP is set to the connection's), or `None` to refuse it (the connection is closed and
    /// counted in `refused_unknown`).
    fn on_unknown(&mut self, outstation: &UnknownOutstation) -> Option<DialInAssociation>;

    /// The association created for an accepted outstation: keep the handle to poll it and
    /// send it commands.
    fn on_added(&mut self, outstation: &UnknownOutstation, master: Master) {
        let _ = (outstation, master);
    }
}

/// A listening endpoint for dial-in outstations ([`crate::Manager::add_master_listener`]).
/// Cheap to clone.
///
/// Each association registered with [`MasterListener::add`] is a normal master association
/// on its own channel: while its outstation is not connected it is offline and its tasks
/// fail or wait as on a disconnected client channel; when its outstation dials in, the
/// listener hands the connection over and the association's startup sequence and polls run.
#[derive(Clone)]
pub struct MasterListener {
    handle: Handle<ListenerMsg>,
    counters: Arc<ListenerCounters>,
    local: SocketAddr,
    name: Arc<str>,
}

impl fmt::Debug for MasterListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterListener")
            .field("name", &self.name)
            .field("local", &self.local)
            .finish()
    }
}

impl MasterListener {
    pub(crate) fn new(
        handle: Handle<ListenerMsg>,
        counters: Arc<ListenerCounters>,
        local: SocketAddr,
        name: Arc<str>,
    ) -> Self {
        MasterListener {
            handle,
            counters,
            local,
            name,
        }
    }

    /// The address it listens on (the port chosen, if it was given as 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The listener's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers an association with the outstation at `config.outstation_address`;
    /// measurements go to `handler`. Blocks until it is added: do not call it from a reactor
    /// callback.
    pub fn add_master(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Result<Master, ChannelError> {
        self.add(DialInAssociation::new(config, handler))
    }

    /// Registers an association (with a health listener or a peer IP). Blocks until it is
    /// added: do not call it from a reactor callback.
    pub fn add(&self, association: DialInAssociation) -> Result<Master, ChannelError> {
        self.add_async(association).wait()?
    }

    /// [`MasterListener::add_master`] without blocking.
    pub fn add_master_async(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Completion<Result<Master, ChannelError>> {
        self.add_async(DialInAssociation::new(config, handler))
    }

    /// [`MasterListener::add`] without blocking: the completion yields the handle once the
    /// listener has the association. Dropping it does not undo the registration.
    pub fn add_async(
        &self,
        association: DialInAssociation,
    ) -> Completion<Result<Master, ChannelError>> {
        let (promise, done) = completion();
        match self
            .handle
            .post(ListenerMsg::Add(Box::new(association), promise))
        {
            Ok(()) => done,
            Err(e) => crate::channel::ready(Err(e.into())),
        }
    }

    /// The counters, readable at any time.
    pub fn stats(&self) -> ListenerStats {
        self.counters.snapshot()
    }

    /// Stops listening and shuts down every association of the listener.
    pub fn shutdown(&self) {
        let _ = self.handle.post(ListenerMsg::Shutdown);
    }
}
