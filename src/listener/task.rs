//! The listener's actor: accepts, holds each new connection until it is identified, and
//! hands it to its association's channel (created in `register.rs`).

use super::first_frame::{FirstFrame, Identified, NotAFrame};
use super::UnknownOutstations;
use super::{DialInAssociation, ListenerCounters, UnknownOutstation};
use crate::channel::{ChannelMsg, DialInConnection};
use crate::config::{DialInBinding, ListenerConfig};
use crate::error::ChannelError;
use crate::master::Master;
use crate::stats::ChannelRegistry;
use rdnp3_reactor::{Actor, CloseReason, Context, Handle, Promise, SourceId, TimerId};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Span;

#[cfg(feature = "tls")]
use crate::tls::{TlsContext, TlsLayer};

/// What the [`super::MasterListener`] handle posts.
pub(crate) enum ListenerMsg {
    /// Registers an association; answers with its handle.
    Add(
        Box<DialInAssociation>,
        Promise<Result<Master, ChannelError>>,
    ),
    /// Stops listening and shuts every association down.
    Shutdown,
    /// Posted to itself: handshakes deferred over the executor's budget try again.
    #[cfg(feature = "tls")]
    HandshakeTurn,
}

pub(super) type Cx<'a> = Context<'a, ListenerMsg>;

/// Delay before listening again after the listening socket failed.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// A registered association.
pub(super) struct Registered {
    pub(super) channel: Handle<ChannelMsg>,
    pub(super) peer_ip: Option<IpAddr>,
}

/// A connection accepted and not yet identified.
pub(super) struct Pending {
    /// The descriptor handed over once identified (a duplicate of the one the listener reads).
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) first: FirstFrame,
    /// TLS listeners: the handshake, run here before the connection is identified.
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Box<TlsLayer>>,
}

impl Pending {
    /// What is handed to the association's channel.
    fn into_connection(self) -> DialInConnection {
        DialInConnection {
            stream: self.stream,
            peer: self.peer,
            received: self.first.into_received(),
            #[cfg(feature = "tls")]
            tls: self.tls,
        }
    }
}

/// The listener's actor.
pub(crate) struct ListenerTask {
    pub(super) config: ListenerConfig,
    local: SocketAddr,
    /// Answers `add_master_listener` with the bound address, once.
    bound: Option<Promise<io::Result<SocketAddr>>>,
    listening: Option<SourceId>,
    relisten_at: Option<Instant>,
    pub(super) pending: HashMap<SourceId, Pending>,
    /// First-frame deadlines in accept order (the timeout is the same for all); entries of
    /// connections no longer pending are skipped, and dropped when they outnumber twice
    /// `max_pending`.
    deadlines: VecDeque<(Instant, SourceId)>,
    pub(super) by_address: HashMap<u16, Registered>,
    /// Peer-IP binding: the outstation address registered for each IP.
    pub(super) by_ip: HashMap<IpAddr, u16>,
    unknown: Option<Box<dyn UnknownOutstations>>,
    pub(super) counters: Arc<ListenerCounters>,
    pub(super) registry: Arc<ChannelRegistry>,
    timer: Option<(TimerId, Instant)>,
    span: Span,
    /// Connections taken in the current second.
    rate: rdnp3_stack::rate::PerSecond,
    /// TLS listeners: the settings of every handshake.
    #[cfg(feature = "tls")]
    tls: Option<TlsContext>,
    /// A [`ListenerMsg::HandshakeTurn`] is on its way (`tls.rs`).
    #[cfg(feature = "tls")]
    pub(super) handshake_turn_posted: bool,
}

impl ListenerTask {
    pub(crate) fn new(
        config: ListenerConfig,
        local: SocketAddr,
        unknown: Option<Box<dyn UnknownOutstations>>,
        counters: Arc<ListenerCounters>,
        registry: Arc<ChannelRegistry>,
        bound: Promise<io::Result<SocketAddr>>,
    ) -> Self {
        let span = tracing::info_span!("listener", name = %config.name);
        ListenerTask {
            config,
            local,
            bound: Some(bound),
            listening: None,
            relisten_at: None,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            by_address: HashMap::new(),
            by_ip: HashMap::new(),
            unknown,
            counters,
            registry,
            timer: None,
            span,
            rate: Default::default(),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            handshake_turn_posted: false,
        }
    }

    /// Makes it a TLS listener: every connection handshakes (and must authenticate) before
    /// it is identified.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(mut self, tls: TlsContext) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether connections handshake on the listener.
    fn handshakes(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    fn listen(&mut self, cx: &mut Cx<'_>) {
        self.relisten_at = None;
        match cx.listen(self.local) {
            Ok((id, addr)) => {
                self.listening = Some(id);
                // Listening again after a failure keeps the port first chosen.
                self.local = addr;
                tracing::info!("listening for dial-in outstations on {addr}");
                if let Some(bound) = self.bound.take() {
                    bound.complete(Ok(addr));
                }
            }
            Err(e) => {
                if let Some(bound) = self.bound.take() {
                    bound.complete(Err(e));
                    cx.stop();
                    return;
                }
                tracing::warn!("cannot listen on {}: {e}", self.local);
                self.relisten_at = Some(cx.now() + RELISTEN_DELAY);
            }
        }
    }

    fn set_pending_gauge(&self) {
        self.counters
            .pending
            .store(self.pending.len() as u64, Ordering::Relaxed);
    }

    /// A connection arrived: bind it by peer IP at once, or hold it for its first frame.
    fn accepted(&mut self, cx: &mut Cx<'_>, stream: TcpStream, peer: SocketAddr) {
        if !self
            .rate
            .admit(cx.now(), self.config.max_accepts_per_second)
        {
            self.counters.add(|c| &c.rate_refused);
            tracing::debug!("refused {peer}: over the accept rate limit");
            return;
        }
        self.counters.add(|c| &c.accepted);
        if self.config.binding == DialInBinding::PeerIp && !self.handshakes() {
            let ip = peer.ip().to_canonical();
            let address = self.by_ip.get(&ip).copied();
            let connection = DialInConnection {
                stream,
                peer,
                received: Vec::new(),
                #[cfg(feature = "tls")]
                tls: None,
            };
            return self.bind(cx, address, connection);
        }
        if self.pending.len() >= self.config.max_pending {
            self.counters.add(|c| &c.over_limit);
            tracing::warn!(
                "refused {peer}: {} connections already wait for their first frame",
                self.pending.len()
            );
            return;
        }
        // The listener reads one descriptor; the other, the same socket, is handed over.
        let keep = match stream.try_clone() {
            Ok(keep) => keep,
            Err(e) => {
                self.counters.add(|c| &c.over_limit);
                tracing::warn!("refused {peer}: {e}");
                return;
            }
        };
        let source = match cx.adopt_tcp(stream) {
            Ok(source) => source,
            Err(e) => {
                self.counters.add(|c| &c.over_limit);
                tracing::warn!("refused {peer}: {e}");
                return;
            }
        };
        tracing::debug!("accepted {peer}: waiting for its first link frame");
        let deadline = cx.now() + self.config.first_frame_timeout;
        #[cfg(feature = "tls")]
        let tls = match &self.tls {
            Some(context) => {
                let mut layer = Box::new(TlsLayer::new(context.clone()));
                if let Err(e) = layer.start(deadline) {
                    self.counters.add(|c| &c.tls_errors);
                    tracing::warn!("refused {peer}: TLS: {e}");
                    cx.close(source);
                    return;
                }
                Some(layer)
            }
            None => None,
        };
        let first = FirstFrame::new(self.config.first_frame_budget);
        self.pending.insert(
            source,
            Pending {
                stream: keep,
                peer,
                first,
                #[cfg(feature = "tls")]
                tls,
            },
        );
        self.deadlines.push_back((deadline, source));
        // Entries of connections identified or closed early wait for their deadline; keep
        // the queue bounded when many come and go quickly.
        if self.deadlines.len() > 2 * self.config.max_pending.max(1) {
            let pending = &self.pending;
            self.deadlines.retain(|(_, s)| pending.contains_key(s));
        }
        self.set_pending_gauge();
    }

    /// Bytes from a pending connection.
    fn pending_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let Some(pending) = self.pending.get_mut(&source) else {
            return;
        };
        #[cfg(feature = "tls")]
        if pending.tls.is_some() {
            return self.tls_pending_data(cx, source, data);
        }
        let outcome = pending.first.push(data);
        self.conclude(cx, source, outcome);
    }

    /// Acts on what a pending connection's bytes tell.
    pub(super) fn conclude(&mut self, cx: &mut Cx<'_>, source: SourceId, outcome: Identified) {
        match outcome {
            Identified::NeedMore => {}
            Identified::Outstation(address) => {
                let Some(pending) = self.release(cx, source) else {
                    return;
                };
                tracing::debug!("{} is outstation {address}", pending.peer);
                self.bind(cx, Some(address), pending.into_connection());
            }
            Identified::Garbage(why) => {
                if let Some(pending) = self.release(cx, source) {
                    self.garbage(pending.peer, &why);
                }
            }
        }
    }

    /// Hands a pending connection identified by its peer IP to the association registered
    /// for that IP (if any).
    #[cfg(feature = "tls")]
    pub(super) fn conclude_by_peer(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        let Some(pending) = self.release(cx, source) else {
            return;
        };
        let address = self.by_ip.get(&pending.peer.ip().to_canonical()).copied();
        self.bind(cx, address, pending.into_connection());
    }

    fn garbage(&self, peer: SocketAddr, why: &NotAFrame) {
        self.counters.add(|c| &c.garbage);
        tracing::warn!("closed {peer}: {why}");
    }

    /// Stops reading a pending connection and forgets it; its handed-over descriptor stays.
    pub(super) fn release(&mut self, cx: &mut Cx<'_>, source: SourceId) -> Option<Pending> {
        let pending = self.pending.remove(&source)?;
        cx.close(source);
        self.set_pending_gauge();
        Some(pending)
    }

    /// An identified connection, by link address or peer IP (`address`: the one it gave or
    /// the one registered for its IP, if any): hand it to its association, ask the callback
    /// about an unknown outstation, or refuse it.
    fn bind(&mut self, cx: &mut Cx<'_>, address: Option<u16>, connection: DialInConnection) {
        let peer = connection.peer;
        let ip = peer.ip().to_canonical();
        let known = address.filter(|a| self.by_address.contains_key(a));
        // By peer IP, the callback is not told the address registered for nobody.
        let link = address.filter(|_| self.config.binding == DialInBinding::LinkAddress);
        let address = match known {
            Some(a) => a,
            None => match self.ask_unknown(cx, link, peer) {
                Some(a) => a,
                None => {
                    self.counters.add(|c| &c.refused_unknown);
                    tracing::warn!("refused {peer}: unknown outstation {address:?}");
                    return;
                }
            },
        };
        let Some(registered) = self.by_address.get(&address) else {
            return;
        };
        if registered.peer_ip.is_some_and(|want| want != ip) {
            self.counters.add(|c| &c.refused_peer);
            tracing::warn!("refused {peer}: outstation {address} is expected from another IP");
            return;
        }
        match registered
            .channel
            .post(ChannelMsg::DialIn(Box::new(connection)))
        {
            Ok(()) => self.counters.add(|c| &c.identified),
            Err(e) => {
                self.counters.add(|c| &c.handoff_failed);
                tracing::warn!("dropped {peer}: the channel of outstation {address}: {e}");
            }
        }
    }

    /// Asks the callback about an unknown outstation; the address of the association it
    /// created, if it accepted.
    fn ask_unknown(
        &mut self,
        cx: &mut Cx<'_>,
        link_address: Option<u16>,
        peer: SocketAddr,
    ) -> Option<u16> {
        let outstation = UnknownOutstation { link_address, peer };
        let mut association = self.unknown.as_mut()?.on_unknown(&outstation)?;
        if let Some(address) = link_address {
            association.config.outstation_address = address;
        }
        if self.config.binding == DialInBinding::PeerIp {
            association.peer_ip = Some(peer.ip().to_canonical());
        }
        let address = association.config.outstation_address;
        match self.register(cx, association) {
            Ok(master) => {
                self.counters.add(|c| &c.added);
                tracing::info!("outstation {address} at {peer} accepted by the callback");
                if let Some(unknown) = &mut self.unknown {
                    unknown.on_added(&outstation, master);
                }
                Some(address)
            }
            Err(e) => {
                tracing::warn!("cannot add outstation {address} at {peer}: {e}");
                None
            }
        }
    }

    /// Closes pending connections past their first-frame deadline.
    fn expire(&mut self, cx: &mut Cx<'_>, now: Instant) {
        while let Some(&(at, source)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            if let Some(pending) = self.release(cx, source) {
                self.counters.add(|c| &c.timeouts);
                tracing::warn!(
                    "closed {}: no valid link frame within {:?}",
                    pending.peer,
                    self.config.first_frame_timeout
                );
            }
        }
    }

    /// The earliest live deadline (stale entries at the front are dropped).
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&(at, source)) = self.deadlines.front() {
            if self.pending.contains_key(&source) {
                return Some(at);
            }
            self.deadlines.pop_front();
        }
        None
    }

    fn reschedule(&mut self, cx: &mut Cx<'_>) {
        let want = self
            .next_deadline()
            .into_iter()
            .chain(self.relisten_at)
            .min();
        if self.timer.map(|(_, at)| at) == want {
            return;
        }
        if let Some((id, _)) = self.timer.take() {
            cx.cancel_timer(id);
        }
        if let Some(at) = want {
            self.timer = Some((cx.set_timer_at(at), at));
        }
    }

    fn shutdown_associations(&mut self) {
        for (_, registered) in self.by_address.drain() {
            let _ = registered.channel.post(ChannelMsg::Shutdown);
        }
        self.by_ip.clear();
    }
}

impl Actor for ListenerTask {
    type Message = ListenerMsg;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.listen(cx);
        self.reschedule(cx);
    }

    fn on_accept(
        &mut self,
        cx: &mut Cx<'_>,
        _listener: SourceId,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.accepted(cx, stream, peer);
        self.reschedule(cx);
    }

    fn on_accept_error(&mut self, _cx: &mut Cx<'_>, _listener: SourceId, error: io::Error) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.counters.add(|c| &c.accept_errors);
        tracing::debug!("accept failed: {error}");
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.pending_data(cx, source, data);
        self.reschedule(cx);
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: TimerId) {
        let Some((id, at)) = self.timer else { return };
        if id != timer {
            return;
        }
        let span = self.span.clone();
        let _entered = span.enter();
        self.timer = None;
        let now = cx.now().max(at);
        self.expire(cx, now);
        if self.relisten_at.is_some_and(|t| t <= now) {
            self.listen(cx);
        }
        self.reschedule(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, message: ListenerMsg) {
        let span = self.span.clone();
        let _entered = span.enter();
        // Also when the retry found the mailbox full and another message came instead.
        #[cfg(feature = "tls")]
        self.resume_handshakes(cx);
        match message {
            #[cfg(feature = "tls")]
            ListenerMsg::HandshakeTurn => self.reschedule(cx),
            ListenerMsg::Add(association, promise) => {
                promise.complete(self.register(cx, *association));
            }
            ListenerMsg::Shutdown => {
                tracing::info!("shut down");
                cx.stop();
            }
        }
    }

    fn on_closed(&mut self, cx: &mut Cx<'_>, source: SourceId, reason: CloseReason) {
        let span = self.span.clone();
        let _entered = span.enter();
        if let Some(pending) = self.pending.remove(&source) {
            self.set_pending_gauge();
            self.counters.add(|c| &c.abandoned);
            tracing::info!(
                "{} closed before identifying itself: {reason}",
                pending.peer
            );
        } else if self.listening == Some(source) {
            tracing::warn!("the listening socket failed: {reason}");
            self.listening = None;
            self.relisten_at = Some(cx.now() + RELISTEN_DELAY);
        }
        self.reschedule(cx);
    }

    fn on_stop(&mut self) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.shutdown_associations();
        self.pending.clear();
        self.set_pending_gauge();
    }
}
