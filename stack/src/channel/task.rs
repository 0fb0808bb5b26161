//! A channel on the reactor: owns the TCP connection (client with reconnect back-off, or
//! server with an allow-list and a second-connection policy), feeds the engine and sends what
//! it produces in one write per event.

use super::config::{ChannelConfig, ChannelListener, ChannelState, ServerPolicy};
use super::engine::{AddSessionError, ChannelEngine, SessionKind, TimerOutcome};
use super::stats::ChannelCounters;
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
        }
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
        self.set_state(ChannelState::Closed);
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
        tracing::info!(channel = %self.engine.name(), "connection closed: {why}");
        self.engine.on_close(&Now::read());
        match self.transport {
            Transport::TcpClient { .. } => self.schedule_retry(cx),
            Transport::TcpServer { .. } => self.set_state(ChannelState::Connecting),
        }
    }

    /// Sends everything the engine has, within the room of the send queue.
    fn pump(&mut self, cx: &mut Cx<'_>) {
        if let Some(conn) = self.conn {
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
        };
        let want = [self.engine.deadline(), retry].into_iter().flatten().min();
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
        }
        self.reschedule(cx);
    }

    fn on_connect(&mut self, cx: &mut Cx<'_>, source: SourceId, result: io::Result<()>) {
        match result {
            Ok(()) => {
                self.opened(cx, source);
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
            if !allow.contains(&peer.ip()) {
                tracing::warn!(channel = %self.engine.name(), "refused {peer}: not on the allow-list");
                return;
            }
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
                self.opened(cx, source);
                self.pump(cx);
            }
            Err(e) => tracing::warn!(channel = %self.engine.name(), "cannot adopt {peer}: {e}"),
        }
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        if self.conn == Some(source) {
            self.engine.on_bytes(&Now::read(), data);
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
            _ => {}
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
                let never_tried =
                    matches!(self.transport, Transport::TcpClient { attempts: 0, .. });
                if never_tried && !self.engine.is_empty() {
                    self.connect(cx);
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
        if self.conn == Some(source) {
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
