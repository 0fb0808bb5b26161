//! The channel's actor on the reactor: it owns the connection (see the connector files beside
//! it), feeds received bytes to the protocol's [`Router`], sends what the router produces in
//! one write per event, and keeps one reactor timer armed at the earliest deadline.

use super::backoff::Backoff;
use super::dial_in::DialIn;
use super::message::{ChannelMsg, MasterOp, OutstationOp};
use super::permits::{Permit, PermitKind};
use super::tcp_client::TcpClient;
use super::tcp_server::TcpServer;
use crate::clock;
use crate::config::{ChannelConfig, ChannelListener, ChannelState};
use crate::limits::Limits;
use rdnp3_reactor::{Actor, CloseReason, Context, SourceId, TimerId};
use rdnp3_stack::master::TaskError;
use rdnp3_stack::router::{Router, SessionKind, TimerOutcome};
use rdnp3_stack::session::Now;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;
use tracing::Span;

#[cfg(feature = "serial")]
use super::serial::SerialLine;
#[cfg(feature = "tls")]
use crate::tls::TlsLayer;

/// How a channel gets its connection: one kind per file beside this one.
pub(crate) enum Connector {
    /// Connects out, reconnecting with back-off.
    TcpClient(TcpClient),
    /// Listens and serves one master connection at a time.
    TcpServer(TcpServer),
    /// A serial port, reopened by path with back-off.
    #[cfg(feature = "serial")]
    Serial(SerialLine),
    /// Waits for connections handed over by a master listener (dial-in outstations).
    DialIn(DialIn),
}

impl Connector {
    /// When the connector wants to try again (connect, listen or open), if it waits.
    fn retry_at(&self) -> Option<Instant> {
        match self {
            Connector::TcpClient(c) => c.reconnect_at,
            Connector::TcpServer(s) => s.relisten_at,
            #[cfg(feature = "serial")]
            Connector::Serial(line) => line.reopen_at,
            Connector::DialIn(_) => None,
        }
    }
}

pub(crate) type Cx<'a> = Context<'a, ChannelMsg>;

/// One channel: its connection, its router and its timer.
pub(crate) struct ChannelTask {
    pub(super) router: Router,
    pub(super) config: ChannelConfig,
    pub(super) connector: Connector,
    /// The open connection, if any.
    pub(super) conn: Option<SourceId>,
    pub(super) backoff: Backoff,
    timer: Option<(TimerId, Instant)>,
    pub(super) listener: Option<Box<dyn ChannelListener>>,
    state: ChannelState,
    /// A callback panicked: the channel ends as [`ChannelState::Failed`].
    failed: bool,
    /// The channel's log span (its name), entered for every callback.
    span: Span,
    /// TLS filter between the socket and the router (TLS channels only).
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Box<TlsLayer>>,
    /// TLS servers: a new connection still handshaking; it replaces the established one only
    /// once it has authenticated, so a stranger cannot drop the connected master.
    #[cfg(feature = "tls")]
    pub(super) pending: Option<(SourceId, Box<TlsLayer>)>,
    /// A [`ChannelMsg::HandshakeTurn`] is on its way (`tls.rs`).
    #[cfg(feature = "tls")]
    pub(super) handshake_turn_posted: bool,
    /// The manager-wide limits (none: no limit), and where this channel stands with each.
    pub(super) limits: Option<Arc<Limits>>,
    pub(super) connect_permit: Permit,
    pub(super) handshake_permit: Permit,
    pub(super) startup_permit: Permit,
    /// A connection opened: see whether its masters start up (`permits.rs`).
    pub(super) startup_check: bool,
}

impl ChannelTask {
    pub(crate) fn new(
        router: Router,
        config: ChannelConfig,
        connector: Connector,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Self {
        let span = tracing::info_span!("channel", name = %router.name());
        let mut router = router;
        router.set_unusable_limit(config.unusable_limit);
        ChannelTask {
            router,
            backoff: Backoff::new(config.min_retry, config.max_retry),
            config,
            connector,
            conn: None,
            timer: None,
            listener,
            state: ChannelState::Closed,
            failed: false,
            span,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            pending: None,
            #[cfg(feature = "tls")]
            handshake_turn_posted: false,
            limits: None,
            connect_permit: Permit::None,
            handshake_permit: Permit::None,
            startup_permit: Permit::None,
            startup_check: false,
        }
    }

    /// Holds connection attempts, TLS handshakes and startup sequences to the manager-wide
    /// limits.
    pub(crate) fn with_limits(mut self, limits: Arc<Limits>) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Puts a TLS filter between the socket and the router.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(mut self, tls: TlsLayer) -> Self {
        self.tls = Some(Box::new(tls));
        self
    }

    pub(super) fn set_state(&mut self, state: ChannelState) {
        if self.state != state {
            self.state = state;
            if let Some(l) = &mut self.listener {
                l.on_state(state);
            }
        }
    }

    /// The connection (plain, or TLS once authenticated) is ready: sessions start talking.
    pub(super) fn opened(&mut self, source: SourceId) {
        self.give_back(PermitKind::Handshake);
        self.conn = Some(source);
        self.backoff.reset();
        add(&self.router.counters().connects, 1);
        self.router.on_open(&clock::now());
        self.startup_check = self.limits.is_some();
        self.set_state(ChannelState::Open);
        tracing::info!("connection open");
    }

    /// The connection is gone (already closed on the reactor side).
    pub(super) fn lost(&mut self, cx: &mut Cx<'_>, why: &dyn std::fmt::Display) {
        self.give_back(PermitKind::Handshake);
        self.startup_over();
        self.conn = None;
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.end();
        }
        tracing::info!("connection closed: {why}");
        self.router.on_close(&clock::now());
        match self.connector {
            Connector::TcpServer(_) | Connector::DialIn(_) => {
                self.set_state(ChannelState::Connecting)
            }
            _ => self.schedule_retry(cx),
        }
    }

    /// A client or serial line waits its back-off delay before the next attempt.
    pub(super) fn schedule_retry(&mut self, cx: &mut Cx<'_>) {
        let at = cx.now() + self.backoff.next_delay();
        match &mut self.connector {
            Connector::TcpClient(c) => c.reconnect_at = Some(at),
            Connector::TcpServer(_) | Connector::DialIn(_) => {}
            #[cfg(feature = "serial")]
            Connector::Serial(line) => line.reopen_at = Some(at),
        }
        self.set_state(ChannelState::Closed);
    }

    /// The connection is up: plain channels open at once, TLS ones start the handshake and
    /// open when it finishes.
    pub(super) fn connection_up(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.tls_start(cx, source);
        }
        let _ = cx;
        self.opened(source);
    }

    /// Bytes from the open connection.
    fn received(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.tls_data(cx, source, data);
        }
        let _ = (cx, source);
        self.router.on_bytes(&clock::now(), data);
    }

    /// Drops a connection that brought more unusable input than allowed, and backs off; a
    /// connection that brought a useful frame lets the delays reset again.
    pub(super) fn check_flood(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        if self.router.flooded() {
            add(&self.router.counters().flood_closes, 1);
            cx.close(source);
            self.backoff.hold();
            self.lost(
                cx,
                &"unusable input past the limit (garbage, or frames for no session)",
            );
        } else if self.router.had_useful_input() {
            self.backoff.release();
        }
    }

    /// Sends everything the router has, within the room of the send queue.
    pub(super) fn pump(&mut self, cx: &mut Cx<'_>) {
        if self.startup_check || matches!(self.startup_permit, Permit::Held) {
            self.startup_step(cx);
        }
        if let Some(conn) = self.conn {
            self.send_output(cx, conn);
        }
        self.reschedule(cx);
    }

    /// Writes the router's output on the connection, through the TLS filter if there is one.
    fn send_output(&mut self, cx: &mut Cx<'_>, conn: SourceId) {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.pump_tls(cx, conn);
        }
        let room = cx.send_room(conn);
        let mut out = take_out();
        if self.router.poll_send(&clock::now(), &mut out, room) > 0 {
            if let Err(e) = cx.send(conn, &out) {
                tracing::debug!("send failed: {e}");
            }
        }
        give_back_out(out);
    }

    /// Keeps one reactor timer armed at the earliest deadline.
    pub(super) fn reschedule(&mut self, cx: &mut Cx<'_>) {
        #[cfg(feature = "tls")]
        let handshakes = self.tls_deadline();
        #[cfg(not(feature = "tls"))]
        let handshakes = None;
        let want = [
            self.router.deadline(),
            self.connector.retry_at(),
            handshakes,
        ]
        .into_iter()
        .flatten()
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

    fn on_master(&mut self, id: u32, op: MasterOp) {
        let now = clock::now();
        let Some(SessionKind::Master(m)) = self.router.get_mut(id) else {
            op.fail(TaskError::Shutdown);
            return;
        };
        match op {
            MasterOp::Read(request, reply) => m.read(request, reply),
            MasterOp::Command(mode, commands, reply) => m.command(mode, commands, reply),
            MasterOp::TimeSync(mode, reply) => m.time_sync(mode, reply),
            MasterOp::Restart(kind, reply) => m.restart(kind, reply),
            MasterOp::Freeze(request, reply) => m.freeze(request, reply),
            MasterOp::Unsolicited(enable, classes, reply) => {
                m.set_unsolicited(enable, classes, reply)
            }
            MasterOp::AssignClass(assignments, reply) => m.assign_class(&assignments, reply),
            MasterOp::Write(request, reply) => m.write(&request, reply),
            MasterOp::ReadAttributes(set, variation, reply) => {
                m.read_attributes(set, variation, reply)
            }
            MasterOp::Request(function, headers, reply) => m.request(function, headers, reply),
            MasterOp::AddPoll(request, period, promise) => {
                promise.complete(m.add_poll(&now, request, period))
            }
            MasterOp::RemovePoll(id) => {
                m.remove_poll(id);
            }
            MasterOp::DemandPoll(id) => {
                m.demand_poll(&now, id);
            }
            MasterOp::Stats(promise) => promise.complete(m.stats().clone()),
        }
    }

    fn on_outstation(&mut self, id: u32, op: OutstationOp) {
        let Some(SessionKind::Outstation(o)) = self.router.get_mut(id) else {
            return;
        };
        match op {
            OutstationOp::Update(updates) => {
                o.apply(&clock::now(), &updates);
            }
            OutstationOp::Stats(promise) => promise.complete(o.stats()),
            OutstationOp::SetNeedTime(need) => o.set_need_time(need),
            OutstationOp::SetRestart => o.set_restart(),
            OutstationOp::CompleteControl(token, status) => {
                if !o.complete_control(&clock::now(), token, status) {
                    tracing::debug!(?token, "completion of a control no longer open ignored");
                }
            }
        }
    }

    fn shutdown_sessions(&mut self) {
        let now = clock::now();
        self.router.on_close(&now);
        while let Some(id) = self.router.first_id() {
            if let Some(SessionKind::Master(mut m)) = self.router.remove(&now, id) {
                m.shutdown();
            }
        }
    }

    /// A timer fired at `now`: retries, handshake deadlines, sessions and keep-alive.
    fn timer_due(&mut self, cx: &mut Cx<'_>, now: &Now) {
        if self.connector.retry_at().is_some_and(|t| t <= now.instant) {
            match self.connector {
                Connector::TcpClient(_) => self.connect(cx),
                Connector::TcpServer(_) => self.listen(cx),
                #[cfg(feature = "serial")]
                Connector::Serial(_) => self.open_serial(cx),
                Connector::DialIn(_) => {}
            }
        }
        #[cfg(feature = "tls")]
        self.tls_timer(cx, now.instant);
        if self.router.on_timer(now) == TimerOutcome::KeepAliveFailed {
            if let Some(conn) = self.conn {
                cx.close(conn);
                self.lost(cx, &"keep-alive unanswered");
            }
        }
    }
}

thread_local! {
    /// The router's output before it goes to the socket (or the TLS filter): one buffer per
    /// executor thread, since the reactor copies what it sends.
    static OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Takes the thread's output buffer, empty (a fresh one if it is lent already).
pub(super) fn take_out() -> Vec<u8> {
    let mut out = OUT.take();
    out.clear();
    out
}

/// Gives the output buffer back for the next channel on this thread.
pub(super) fn give_back_out(out: Vec<u8>) {
    OUT.set(out);
}

/// Adds to one of the router's counters.
pub(super) fn add(counter: &std::sync::atomic::AtomicU64, n: u64) {
    rdnp3_stack::router::ChannelCounters::add(counter, n);
}

impl Actor for ChannelTask {
    type Message = ChannelMsg;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        let span = self.span.clone();
        let _entered = span.enter();
        match self.connector {
            // A client connects once it has a session: until then every frame the peer
            // sends (e.g. an unsolicited response) would be dropped.
            Connector::TcpClient(_) if self.router.is_empty() => {}
            Connector::TcpClient(_) => self.connect(cx),
            Connector::TcpServer(_) => self.listen(cx),
            // A serial line is half-duplex; like a client, it opens once it has a session.
            #[cfg(feature = "serial")]
            Connector::Serial(_) => {
                self.router.set_half_duplex(true);
                if !self.router.is_empty() {
                    self.open_serial(cx);
                }
            }
            // Waits for the listener to hand over the outstation's connection.
            Connector::DialIn(_) => self.set_state(ChannelState::Connecting),
        }
        self.reschedule(cx);
    }

    fn on_connect(&mut self, cx: &mut Cx<'_>, source: SourceId, result: io::Result<()>) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.connected(cx, source, result);
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
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let span = self.span.clone();
        let _entered = span.enter();
        #[cfg(feature = "tls")]
        if self.pending.as_ref().is_some_and(|(s, _)| *s == source) {
            self.pending_data(cx, source, data);
            self.pump(cx);
            return;
        }
        if self.conn == Some(source) {
            self.received(cx, source, data);
            self.check_flood(cx, source);
            self.pump(cx);
        }
    }

    fn on_writable(&mut self, cx: &mut Cx<'_>, _source: SourceId) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.pump(cx);
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: TimerId) {
        let Some((id, at)) = self.timer else { return };
        if id != timer {
            return;
        }
        let span = self.span.clone();
        let _entered = span.enter();
        self.timer = None;
        // The wheel may round: act as if it fired exactly at its deadline or later.
        let mut now = clock::now();
        if now.instant < at {
            now.instant = at;
        }
        self.timer_due(cx, &now);
        self.pump(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, message: ChannelMsg) {
        let span = self.span.clone();
        let _entered = span.enter();
        // A grant whose wake-up found the mailbox full is found here.
        if self.waits_for_permit() {
            self.permit_granted(cx);
        }
        // Likewise a handshake deferral whose retry found it full.
        #[cfg(feature = "tls")]
        self.resume_handshakes(cx);
        match message {
            ChannelMsg::PermitGranted => {}
            #[cfg(feature = "tls")]
            ChannelMsg::HandshakeTurn => {}
            ChannelMsg::AddSession(kind, promise) => {
                promise.complete(self.router.add(&clock::now(), kind));
                if !self.router.is_empty() {
                    match &self.connector {
                        Connector::TcpClient(c) if c.attempts == 0 => self.connect(cx),
                        #[cfg(feature = "serial")]
                        Connector::Serial(line) if line.attempts == 0 => self.open_serial(cx),
                        _ => {}
                    }
                }
            }
            ChannelMsg::RemoveSession(id, promise) => {
                let removed = self.router.remove(&clock::now(), id);
                let found = removed.is_some();
                if let Some(SessionKind::Master(mut m)) = removed {
                    m.shutdown();
                }
                promise.complete(found);
            }
            ChannelMsg::Master(id, op) => self.on_master(id, op),
            ChannelMsg::Outstation(id, op) => self.on_outstation(id, op),
            ChannelMsg::DialIn(connection) => self.dial_in(cx, *connection),
            ChannelMsg::Shutdown => {
                self.give_back_all();
                self.shutdown_sessions();
                self.set_state(ChannelState::Shutdown);
                cx.stop();
                return;
            }
        }
        self.pump(cx);
    }

    fn on_closed(&mut self, cx: &mut Cx<'_>, source: SourceId, reason: CloseReason) {
        let span = self.span.clone();
        let _entered = span.enter();
        #[cfg(feature = "tls")]
        if self.tls_closed(source) {
            return self.reschedule(cx);
        }
        if self.conn == Some(source) {
            self.lost(cx, &reason);
        } else {
            self.listener_closed(cx, source);
        }
        self.reschedule(cx);
    }

    fn on_panic(&mut self, message: &str) {
        let span = self.span.clone();
        let _entered = span.enter();
        tracing::error!(
            panic = %message,
            "a callback panicked: the channel is closed for good and its requests fail"
        );
        // on_stop follows and reports it; the listener itself may be what panicked, so it is
        // not called from here.
        self.failed = true;
    }

    fn on_stop(&mut self) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.give_back_all();
        if self.failed {
            // The listener hears it first: a session that panicked may panic again while it
            // is shut down.
            self.set_state(ChannelState::Failed);
            self.shutdown_sessions();
        } else {
            self.shutdown_sessions();
            self.set_state(ChannelState::Shutdown);
        }
    }
}
