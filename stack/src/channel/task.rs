//! A channel on the reactor: owns the TCP connection (client with reconnect back-off, or
//! server with an allow-list and a second-connection policy, or a serial port reopened with
//! back-off), feeds the engine and sends what it produces in one write per event.

use super::config::{ChannelConfig, ChannelListener, ChannelState, ServerPolicy};
use super::engine::{AddSessionError, ChannelEngine, SessionKind, TimerOutcome};
use super::serial::SerialLine;
use super::stats::ChannelCounters;
use super::tls::{TlsError, TlsLayer};
use crate::master::{
    Command, CommandMode, MasterStats, PollId, ReadRequest, Reply, RestartKind, TimeSyncMode,
};
use crate::objects::CommandStatus;
use crate::outstation::{OutstationStats, Update};
use crate::session::Now;
use rdnp3_reactor::{Channel, CloseReason, Context, Promise, SourceId, TimerId};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Work posted to a channel.
pub(crate) enum ChannelMsg {
    AddSession(SessionKind, Promise<Result<u32, AddSessionError>>),
    RemoveSession(u32, Promise<bool>),
    Master(u32, MasterOp),
    Outstation(u32, OutstationOp),
    Shutdown,
}

/// Work for one outstation.
pub(crate) enum OutstationOp {
    Update(Vec<Update>),
    Stats(Promise<OutstationStats>),
}

/// Work for one master association.
pub(crate) enum MasterOp {
    Read(ReadRequest, Reply<()>),
    Command(CommandMode, Vec<Command>, Reply<Vec<CommandStatus>>),
    TimeSync(TimeSyncMode, Reply<()>),
    Restart(RestartKind, Reply<Duration>),
    AddPoll(ReadRequest, Duration, Promise<PollId>),
    RemovePoll(PollId),
    DemandPoll(PollId),
    Stats(Promise<MasterStats>),
}

pub(crate) enum Transport {
    TcpClient {
        remote: SocketAddr,
        reconnect_at: Option<Instant>,
        attempts: u64,
    },
    TcpServer {
        local: SocketAddr,
        listener: Option<SourceId>,
        relisten_at: Option<Instant>,
    },
    /// A serial port, reopened with back-off after it disappears (see `serial.rs`).
    Serial(SerialLine),
}

pub(crate) struct ChannelTask {
    engine: ChannelEngine,
    config: ChannelConfig,
    transport: Transport,
    conn: Option<SourceId>,
    retry: Duration,
    timer: Option<(TimerId, Instant)>,
    out: Vec<u8>,
    listener: Option<Box<dyn ChannelListener>>,
    state: ChannelState,
    /// TLS filter between the socket and the engine (TLS channels only).
    tls: Option<TlsLayer>,
    /// TLS servers: a new connection still handshaking; it replaces the established one only
    /// once it has authenticated, so a stranger cannot drop the connected master.
    pending: Option<(SourceId, TlsLayer)>,
}

type Cx<'a> = Context<'a, ChannelMsg>;

impl ChannelTask {
    pub(crate) fn new(
        engine: ChannelEngine,
        config: ChannelConfig,
        transport: Transport,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Self {
        ChannelTask {
            engine,
            retry: config.min_retry,
            config,
            transport,
            conn: None,
            timer: None,
            out: Vec::new(),
            listener,
            state: ChannelState::Closed,
            tls: None,
            pending: None,
        }
    }

    /// Puts a TLS filter between the socket and the engine.
    pub(crate) fn with_tls(mut self, tls: TlsLayer) -> Self {
        self.tls = Some(tls);
        self
    }

    fn counters(&self) -> &ChannelCounters {
        self.engine.counters()
    }

    fn set_state(&mut self, state: ChannelState) {
        if self.state != state {
            self.state = state;
            if let Some(l) = &mut self.listener {
                l.on_state(state);
            }
        }
    }

    fn connect(&mut self, cx: &mut Cx<'_>) {
        let Transport::TcpClient {
            remote,
            reconnect_at,
            attempts,
        } = &mut self.transport
        else {
            return;
        };
        *reconnect_at = None;
        if *attempts > 0 {
            ChannelCounters::add(&self.engine.counters().reconnects, 1);
        }
        *attempts += 1;
        let remote = *remote;
        self.set_state(ChannelState::Connecting);
        if let Err(e) = cx.connect(remote, self.config.connect_timeout) {
            tracing::warn!(channel = %self.engine.name(), "connect to {remote} failed: {e}");
            self.schedule_retry(cx);
        }
    }

    fn listen(&mut self, cx: &mut Cx<'_>) {
        let Transport::TcpServer {
            local,
            listener,
            relisten_at,
        } = &mut self.transport
        else {
            return;
        };
        *relisten_at = None;
        match cx.listen(*local) {
            Ok((id, addr)) => {
                *listener = Some(id);
                tracing::info!(channel = %self.engine.name(), "listening on {addr}");
                self.set_state(ChannelState::Connecting);
            }
            Err(e) => {
                tracing::warn!(channel = %self.engine.name(), "cannot listen on {local}: {e}");
                *relisten_at = Some(cx.now() + self.retry);
                self.retry = (self.retry * 2).min(self.config.max_retry);
            }
        }
    }

    /// A client waits its back-off delay before the next attempt.
    fn schedule_retry(&mut self, cx: &mut Cx<'_>) {
        let delay = self.retry;
        self.retry = (self.retry * 2).min(self.config.max_retry);
        if let Transport::TcpClient { reconnect_at, .. } = &mut self.transport {
            *reconnect_at = Some(cx.now() + delay);
        }
        if let Transport::Serial(line) = &mut self.transport {
            line.reopen_at = Some(cx.now() + delay);
        }
        self.set_state(ChannelState::Closed);
    }

    /// Opens the serial port (a retry counts as a reconnect); on failure waits the back-off.
    fn open_serial(&mut self, cx: &mut Cx<'_>) {
        let Transport::Serial(line) = &mut self.transport else {
            return;
        };
        if line.attempts > 0 {
            ChannelCounters::add(&self.engine.counters().reconnects, 1);
        }
        let opened = line.open(cx, self.engine.name());
        self.set_state(ChannelState::Connecting);
        match opened {
            Ok(source) => {
                self.opened(cx, source);
                self.pump(cx);
            }
            Err(e) => {
                tracing::info!(channel = %self.engine.name(), "cannot open the serial port: {e}");
                self.schedule_retry(cx);
            }
        }
    }

    fn opened(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        self.conn = Some(source);
        self.retry = self.config.min_retry;
        ChannelCounters::add(&self.counters().connects, 1);
        self.engine.on_open(&Now::read());
        self.set_state(ChannelState::Open);
        tracing::info!(channel = %self.engine.name(), "connection open");
        let _ = cx;
    }

    fn lost(&mut self, cx: &mut Cx<'_>, why: &dyn std::fmt::Display) {
        self.conn = None;
        if let Some(tls) = &mut self.tls {
            tls.end();
        }
        tracing::info!(channel = %self.engine.name(), "connection closed: {why}");
        self.engine.on_close(&Now::read());
        match self.transport {
            Transport::TcpClient { .. } | Transport::Serial(_) => self.schedule_retry(cx),
            Transport::TcpServer { .. } => self.set_state(ChannelState::Connecting),
        }
    }

    /// Sends everything the engine has, within the room of the send queue.
    fn pump(&mut self, cx: &mut Cx<'_>) {
        if let (Some(conn), true) = (self.conn, self.tls.is_some()) {
            self.pump_tls(cx, conn);
        } else if let Some(conn) = self.conn {
            let room = cx.send_room(conn);
            self.out.clear();
            if self.engine.poll_send(&Now::read(), &mut self.out, room) > 0 {
                if let Err(e) = cx.send(conn, &self.out) {
                    tracing::warn!(channel = %self.engine.name(), "send failed: {e}");
                }
            }
        }
        self.reschedule(cx);
    }

    /// Keeps one reactor timer armed at the earliest deadline.
    fn reschedule(&mut self, cx: &mut Cx<'_>) {
        let retry = match self.transport {
            Transport::TcpClient { reconnect_at, .. } => reconnect_at,
            Transport::TcpServer { relisten_at, .. } => relisten_at,
            Transport::Serial(SerialLine { reopen_at, .. }) => reopen_at,
        };
        let handshake = self.tls.as_ref().and_then(TlsLayer::deadline);
        let pending = self.pending.as_ref().and_then(|(_, l)| l.deadline());
        let want = [self.engine.deadline(), retry, handshake, pending]
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

    /// The TCP connection is up: plain channels open at once, TLS ones start the handshake
    /// and open when it finishes.
    fn transport_open(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        let deadline = cx.now() + self.config.connect_timeout;
        match self.tls.as_mut().map(|tls| tls.start(deadline)) {
            None => self.opened(cx, source),
            Some(Ok(())) => self.conn = Some(source),
            Some(Err(e)) => {
                self.conn = Some(source);
                self.tls_failed(cx, e);
            }
        }
    }

    /// Ciphertext arrived: decrypt it and hand the plaintext to the engine.
    fn tls_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let Some(tls) = &mut self.tls else { return };
        let received = match tls.receive(data) {
            Ok(r) => r,
            Err(e) => return self.tls_failed(cx, e),
        };
        if received.opened {
            tracing::info!(channel = %self.engine.name(), "TLS: {}", tls.describe());
            let retry = self.retry;
            self.opened(cx, source);
            // A TLS 1.3 server checks our certificate after our side finished: keep the
            // back-off until it answers.
            self.retry = retry;
        }
        if let Some(tls) = &self.tls {
            if !tls.plaintext().is_empty() {
                self.retry = self.config.min_retry;
                self.engine.on_bytes(&Now::read(), tls.plaintext());
            }
        }
        if received.peer_closed {
            cx.close(source);
            self.lost(cx, &"closed by the peer (TLS close_notify)");
        }
    }

    /// Encrypts what the engine has, within the send room less the records' overhead, and
    /// sends it with any handshake output.
    fn pump_tls(&mut self, cx: &mut Cx<'_>, conn: SourceId) {
        let Some(tls) = &mut self.tls else { return };
        let room = tls.plaintext_room(cx.send_room(conn));
        self.out.clear();
        if self.engine.poll_send(&Now::read(), &mut self.out, room) > 0 {
            if let Err(e) = tls.write(&self.out) {
                return self.tls_failed(cx, e);
            }
        }
        tls.flush(cx, conn);
    }

    /// A TLS server accepted a connection while one is established: handshake it on the side.
    fn start_pending(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        let Some(tls) = &self.tls else { return };
        let mut layer = tls.sibling();
        if let Some((older, _)) = self.pending.take() {
            cx.close(older);
        }
        match layer.start(cx.now() + self.config.connect_timeout) {
            Ok(()) => self.pending = Some((source, layer)),
            Err(e) => {
                self.report_tls(&e);
                cx.close(source);
            }
        }
    }

    /// Ciphertext for the connection handshaking on the side; once it has authenticated it
    /// replaces the established connection.
    fn pending_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let Some((_, mut layer)) = self.pending.take() else {
            return;
        };
        let received = match layer.receive(data) {
            Ok(r) => r,
            Err(e) => {
                self.report_tls(&e);
                layer.flush(cx, source);
                cx.close(source);
                return;
            }
        };
        layer.flush(cx, source);
        if !received.opened {
            self.pending = Some((source, layer));
            return;
        }
        if let Some(old) = self.conn {
            cx.close(old);
            self.lost(cx, &"replaced by a new authenticated connection");
        }
        tracing::info!(channel = %self.engine.name(), "TLS: {}", layer.describe());
        self.tls = Some(layer);
        self.opened(cx, source);
        if let Some(tls) = &self.tls {
            if !tls.plaintext().is_empty() {
                self.engine.on_bytes(&Now::read(), tls.plaintext());
            }
        }
        if received.peer_closed {
            cx.close(source);
            self.lost(cx, &"closed by the peer (TLS close_notify)");
        }
    }

    /// A TLS failure: report it, send the alert rustls queued, close the connection.
    fn tls_failed(&mut self, cx: &mut Cx<'_>, error: TlsError) {
        self.report_tls(&error);
        if let Some(conn) = self.conn {
            if let Some(tls) = &mut self.tls {
                tls.flush(cx, conn);
            }
            cx.close(conn);
            self.lost(cx, &error);
        }
    }

    fn report_tls(&mut self, error: &TlsError) {
        tracing::warn!(channel = %self.engine.name(), "TLS: {error}");
        ChannelCounters::add(&self.counters().tls_errors, 1);
        if let Some(l) = &mut self.listener {
            l.on_tls_error(error);
        }
    }

    fn on_master(&mut self, id: u32, op: MasterOp) {
        let now = Now::read();
        let Some(SessionKind::Master(m)) = self.engine.get_mut(id) else {
            fail_master_op(op);
            return;
        };
        match op {
            MasterOp::Read(request, reply) => m.read(request, reply),
            MasterOp::Command(mode, commands, reply) => m.command(mode, commands, reply),
            MasterOp::TimeSync(mode, reply) => m.time_sync(mode, reply),
            MasterOp::Restart(kind, reply) => m.restart(kind, reply),
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
        let Some(SessionKind::Outstation(o)) = self.engine.get_mut(id) else {
            return;
        };
        match op {
            OutstationOp::Update(updates) => {
                o.apply(&Now::read(), &updates);
            }
            OutstationOp::Stats(promise) => promise.complete(o.stats()),
        }
    }

    fn shutdown_sessions(&mut self) {
        let now = Now::read();
        self.engine.on_close(&now);
        while let Some(id) = self.engine.first_id() {
            if let Some(SessionKind::Master(mut m)) = self.engine.remove(&now, id) {
                m.shutdown();
            }
        }
    }
}

/// Fails a request for a session that no longer exists.
fn fail_master_op(op: MasterOp) {
    use crate::master::TaskError::Shutdown;
    match op {
        MasterOp::Read(_, r) | MasterOp::TimeSync(_, r) => r(Err(Shutdown)),
        MasterOp::Command(_, _, r) => r(Err(Shutdown)),
        MasterOp::Restart(_, r) => r(Err(Shutdown)),
        MasterOp::AddPoll(..)
        | MasterOp::Stats(_)
        | MasterOp::RemovePoll(_)
        | MasterOp::DemandPoll(_) => {}
    }
}

impl Channel for ChannelTask {
    type Message = ChannelMsg;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        match self.transport {
            // A client connects once it has a session: until then every frame the peer
            // sends (e.g. an unsolicited response) would be dropped.
            Transport::TcpClient { .. } if self.engine.is_empty() => {}
            Transport::TcpClient { .. } => self.connect(cx),
            Transport::TcpServer { .. } => self.listen(cx),
            // A serial line is half-duplex; like a client, it opens once it has a session.
            Transport::Serial(_) => {
                self.engine.set_half_duplex(true);
                if !self.engine.is_empty() {
                    self.open_serial(cx);
                }
            }
        }
        self.reschedule(cx);
    }

    fn on_connect(&mut self, cx: &mut Cx<'_>, source: SourceId, result: io::Result<()>) {
        match result {
            Ok(()) => {
                self.transport_open(cx, source);
                self.pump(cx);
            }
            Err(e) => {
                tracing::info!(channel = %self.engine.name(), "connect failed: {e}");
                self.schedule_retry(cx);
                self.reschedule(cx);
            }
        }
    }

    fn on_accept(
        &mut self,
        cx: &mut Cx<'_>,
        _listener: SourceId,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        if let Some(allow) = &self.config.allow_list {
            // A dual-stack listener ([::]) sees IPv4 masters as ::ffff:a.b.c.d.
            let ip = peer.ip().to_canonical();
            if !allow.iter().any(|a| a.to_canonical() == ip) {
                tracing::warn!(channel = %self.engine.name(), "refused {peer}: not on the allow-list");
                return;
            }
        }
        if let (Some(_), true, ServerPolicy::CloseExisting) =
            (self.conn, self.tls.is_some(), self.config.server_policy)
        {
            match cx.adopt_tcp(stream) {
                Ok(source) => {
                    tracing::info!(channel = %self.engine.name(), "accepted {peer}: handshaking beside the established connection");
                    self.start_pending(cx, source);
                }
                Err(e) => tracing::warn!(channel = %self.engine.name(), "cannot adopt {peer}: {e}"),
            }
            self.reschedule(cx);
            return;
        }
        if let Some(old) = self.conn {
            match self.config.server_policy {
                ServerPolicy::RejectNew => {
                    tracing::warn!(channel = %self.engine.name(), "refused {peer}: a master is already connected");
                    return;
                }
                ServerPolicy::CloseExisting => {
                    cx.close(old);
                    self.lost(cx, &"replaced by a new connection");
                }
            }
        }
        match cx.adopt_tcp(stream) {
            Ok(source) => {
                tracing::info!(channel = %self.engine.name(), "accepted {peer}");
                self.transport_open(cx, source);
                self.pump(cx);
            }
            Err(e) => tracing::warn!(channel = %self.engine.name(), "cannot adopt {peer}: {e}"),
        }
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        if self.pending.as_ref().is_some_and(|(s, _)| *s == source) {
            self.pending_data(cx, source, data);
            self.pump(cx);
            return;
        }
        if self.conn == Some(source) {
            if self.tls.is_some() {
                self.tls_data(cx, source, data);
            } else {
                self.engine.on_bytes(&Now::read(), data);
            }
            self.pump(cx);
        }
    }

    fn on_writable(&mut self, cx: &mut Cx<'_>, _source: SourceId) {
        self.pump(cx);
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: TimerId) {
        let Some((id, at)) = self.timer else { return };
        if id != timer {
            return;
        }
        self.timer = None;
        // The wheel may round: act as if it fired exactly at its deadline or later.
        let mut now = Now::read();
        if now.instant < at {
            now.instant = at;
        }
        match &self.transport {
            Transport::TcpClient {
                reconnect_at: Some(t),
                ..
            } if *t <= now.instant => self.connect(cx),
            Transport::TcpServer {
                relisten_at: Some(t),
                ..
            } if *t <= now.instant => self.listen(cx),
            Transport::Serial(line) if line.reopen_due(now.instant) => self.open_serial(cx),
            _ => {}
        }
        let handshake = self.tls.as_ref().and_then(TlsLayer::deadline);
        let pending = self.pending.as_ref().and_then(|(_, l)| l.deadline());
        if pending.is_some_and(|t| t <= now.instant) {
            if let Some((source, _)) = self.pending.take() {
                self.report_tls(&TlsError::HandshakeTimeout(self.config.connect_timeout));
                cx.close(source);
            }
        }
        if handshake.is_some_and(|t| t <= now.instant) {
            self.tls_failed(cx, TlsError::HandshakeTimeout(self.config.connect_timeout));
        }
        if self.engine.on_timer(&now) == TimerOutcome::KeepAliveFailed {
            if let Some(conn) = self.conn {
                cx.close(conn);
                self.lost(cx, &"keep-alive unanswered");
            }
        }
        self.pump(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, message: ChannelMsg) {
        match message {
            ChannelMsg::AddSession(kind, promise) => {
                promise.complete(self.engine.add(&Now::read(), kind));
                if !self.engine.is_empty() {
                    match self.transport {
                        Transport::TcpClient { attempts: 0, .. } => self.connect(cx),
                        Transport::Serial(SerialLine { attempts: 0, .. }) => self.open_serial(cx),
                        _ => {}
                    }
                }
            }
            ChannelMsg::RemoveSession(id, promise) => {
                let removed = self.engine.remove(&Now::read(), id);
                let found = removed.is_some();
                if let Some(SessionKind::Master(mut m)) = removed {
                    m.shutdown();
                }
                promise.complete(found);
            }
            ChannelMsg::Master(id, op) => self.on_master(id, op),
            ChannelMsg::Outstation(id, op) => self.on_outstation(id, op),
            ChannelMsg::Shutdown => {
                self.shutdown_sessions();
                self.set_state(ChannelState::Shutdown);
                cx.stop();
                return;
            }
        }
        self.pump(cx);
    }

    fn on_closed(&mut self, cx: &mut Cx<'_>, source: SourceId, reason: CloseReason) {
        if self.pending.as_ref().is_some_and(|(s, _)| *s == source) {
            self.pending = None;
            self.report_tls(&TlsError::HandshakeAborted);
        } else if self.conn == Some(source) {
            if self.tls.as_mut().is_some_and(TlsLayer::end) {
                self.report_tls(&TlsError::HandshakeAborted);
            }
            self.lost(cx, &reason);
        } else if let Transport::TcpServer {
            listener,
            relisten_at,
            ..
        } = &mut self.transport
        {
            if *listener == Some(source) {
                *listener = None;
                *relisten_at = Some(cx.now() + self.retry);
            }
        }
        self.reschedule(cx);
    }

    fn on_stop(&mut self) {
        self.shutdown_sessions();
        self.set_state(ChannelState::Shutdown);
    }
}
