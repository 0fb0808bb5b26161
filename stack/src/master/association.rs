//! The master association: a sans-I/O state machine that runs the startup sequence, periodic
//! polls, IIN reactions, commands, time synchronisation and restarts against one outstation,
//! with one request in flight at a time (PROTOCOL.md §4.5, §6).

use super::config::MasterConfig;
use super::measurement::ReadHandler;
use super::request::{
    Classes, Command, CommandMode, ReadRequest, Reply, RestartKind, TaskError, TimeSyncMode,
};
use super::tasks::{
    Auto, AutoState, CommandStep, FollowUp, InFlight, NullKind, Op, Origin, PeriodicPoll, UserTask,
};
use crate::app::{AppControl, FragmentWriter, FunctionCode, Iin, WriteError};
use crate::objects::{CommandStatus, Point, Value, Variation};
use crate::session::Now;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Counters of one association.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MasterStats {
    /// Requests sent (confirms excluded).
    pub requests: u64,
    /// Solicited response fragments accepted.
    pub responses: u64,
    /// Unsolicited responses accepted.
    pub unsolicited: u64,
    /// Confirms sent.
    pub confirms: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests that failed otherwise (rejected, bad response, link down).
    pub failures: u64,
    /// Fragments ignored: wrong source, unexpected SEQ or function, malformed.
    pub ignored: u64,
    /// Measurements delivered to the read handler.
    pub measurements: u64,
    /// Completed polls (periodic, automatic and user reads).
    pub polls: u64,
}

/// IIN2 bits that make a request fail (PROTOCOL.md §6.6).
pub(super) const REJECT_BITS: Iin =
    Iin(Iin::NO_FUNC_CODE_SUPPORT.0 | Iin::OBJECT_UNKNOWN.0 | Iin::PARAMETER_ERROR.0);

/// Identifies a periodic poll of an association.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PollId(pub u32);

/// One master association (master ↔ one outstation address).
pub struct MasterSession {
    pub(super) config: MasterConfig,
    pub(super) handler: Box<dyn ReadHandler>,
    pub(super) online: bool,
    pub(super) seq: u8,
    pub(super) autos: [AutoState; 5],
    pub(super) polls: Vec<PeriodicPoll>,
    pub(super) next_poll_id: u32,
    pub(super) queue: VecDeque<UserTask>,
    pub(super) in_flight: Option<InFlight>,
    pub(super) follow_up: Option<FollowUp>,
    pub(super) confirm: Option<AppControl>,
    /// Edge detection of IIN bits that trigger automatic tasks.
    pub(super) seen: Iin,
    pub(super) stats: MasterStats,
}

impl std::fmt::Debug for MasterSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterSession")
            .field("outstation", &self.config.outstation_address)
            .field("online", &self.online)
            .field("stats", &self.stats)
            .finish()
    }
}

pub(super) fn auto_slot(a: Auto) -> usize {
    a as usize
}

impl MasterSession {
    /// A new, offline association; it starts working on [`Session::on_link_up`](crate::session::Session::on_link_up).
    pub fn new(config: MasterConfig, handler: Box<dyn ReadHandler>) -> Self {
        let idle = AutoState::idle(config.task_retry_min);
        MasterSession {
            config,
            handler,
            online: false,
            seq: 0,
            autos: [idle; 5],
            polls: Vec::new(),
            next_poll_id: 1,
            queue: VecDeque::new(),
            in_flight: None,
            follow_up: None,
            confirm: None,
            seen: Iin::NONE,
            stats: MasterStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &MasterStats {
        &self.stats
    }

    /// True while the channel is connected.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// True while a request awaits its response or the second half of a two-step exchange
    /// (OPERATE after SELECT, the time WRITE after a delay measurement) is due. A half-duplex
    /// channel starts no other association's request meanwhile.
    pub fn is_busy(&self) -> bool {
        self.online && (self.in_flight.is_some() || self.follow_up.is_some())
    }

    /// True when a CONFIRM is waiting to be sent (it may go even while another association of
    /// a half-duplex channel has the line).
    pub fn confirm_pending(&self) -> bool {
        self.online && self.confirm.is_some()
    }

    /// Adds a poll run every `period`, first after one period.
    pub fn add_poll(&mut self, now: &Now, request: ReadRequest, period: Duration) -> PollId {
        let id = self.next_poll_id;
        self.next_poll_id += 1;
        self.polls.push(PeriodicPoll {
            id,
            request,
            period,
            next: now.instant + period,
        });
        PollId(id)
    }

    /// Removes a periodic poll; false when it did not exist.
    pub fn remove_poll(&mut self, id: PollId) -> bool {
        let before = self.polls.len();
        self.polls.retain(|p| p.id != id.0);
        self.polls.len() != before
    }

    /// Runs a periodic poll as soon as possible (its schedule is unchanged otherwise).
    pub fn demand_poll(&mut self, now: &Now, id: PollId) -> bool {
        match self.polls.iter_mut().find(|p| p.id == id.0) {
            Some(p) => {
                p.next = now.instant;
                true
            }
            None => false,
        }
    }

    /// Queues a READ; measurements go to the association's handler.
    pub fn read(&mut self, request: ReadRequest, reply: Reply<()>) {
        self.enqueue(UserTask::Read { request, reply });
    }

    /// Queues a command request (one or more controls in one request).
    pub fn command(
        &mut self,
        mode: CommandMode,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    ) {
        if commands.is_empty() {
            reply(Err(TaskError::BadRequest("no commands")));
            return;
        }
        self.enqueue(UserTask::Command {
            mode,
            commands,
            reply,
        });
    }

    /// Queues a time synchronisation.
    pub fn time_sync(&mut self, mode: TimeSyncMode, reply: Reply<()>) {
        self.enqueue(UserTask::TimeSync { mode, reply });
    }

    /// Queues a cold or warm restart; the reply carries the time until the outstation is back.
    pub fn restart(&mut self, kind: RestartKind, reply: Reply<Duration>) {
        self.enqueue(UserTask::Restart { kind, reply });
    }

    fn enqueue(&mut self, task: UserTask) {
        if !self.online {
            fail_user(task, TaskError::LinkDown);
        } else if self.queue.len() >= self.config.max_queued_requests {
            fail_user(task, TaskError::QueueFull);
        } else {
            self.queue.push_back(task);
        }
    }

    pub(super) fn schedule(&mut self, a: Auto) {
        self.autos[auto_slot(a)].pending = true;
    }

    pub(super) fn next_seq(&mut self) -> u8 {
        let s = self.seq;
        self.seq = (self.seq + 1) & 0x0F;
        s
    }

    /// Fails every queued and in-flight request (link down or shutdown).
    pub(super) fn fail_all(&mut self, error: TaskError) {
        if let Some(f) = self.in_flight.take() {
            self.fail_op(f.op, error.clone(), None);
        }
        match self.follow_up.take() {
            Some(FollowUp::Operate { reply, .. }) => reply(Err(error.clone())),
            Some(FollowUp::WriteLanTime { origin, .. } | FollowUp::WriteTime { origin, .. }) => {
                self.finish_origin(origin, Err(error.clone()), None)
            }
            None => {}
        }
        while let Some(t) = self.queue.pop_front() {
            fail_user(t, error.clone());
        }
    }

    /// Ends the association: everything pending fails with `Shutdown`.
    pub fn shutdown(&mut self) {
        self.online = false;
        self.fail_all(TaskError::Shutdown);
    }

    pub(super) fn finish_origin(
        &mut self,
        origin: Origin<()>,
        result: Result<(), TaskError>,
        now: Option<Instant>,
    ) {
        match origin {
            Origin::User(reply) => reply(result),
            Origin::Periodic => {}
            Origin::Auto(a) => self.finish_auto(a, result, now),
        }
    }

    pub(super) fn finish_auto(
        &mut self,
        a: Auto,
        result: Result<(), TaskError>,
        now: Option<Instant>,
    ) {
        let min = self.config.task_retry_min;
        let max = self.config.task_retry_max;
        let st = &mut self.autos[auto_slot(a)];
        match result {
            Ok(()) => {
                st.pending = false;
                st.retry_at = None;
                st.backoff = min;
            }
            // Timeouts retry with back-off; rejections and bad responses are not retried.
            Err(TaskError::Timeout) => {
                st.retry_at = now.map(|n| n + st.backoff);
                st.backoff = (st.backoff * 2).min(max);
            }
            Err(TaskError::LinkDown | TaskError::Shutdown) => {}
            Err(_) => {
                st.pending = false;
                st.retry_at = None;
            }
        }
    }

    pub(super) fn fail_op(&mut self, op: Op, error: TaskError, now: Option<Instant>) {
        if error == TaskError::Timeout {
            self.stats.timeouts += 1;
        } else {
            self.stats.failures += 1;
        }
        match op {
            Op::Poll { origin, .. }
            | Op::RecordTime { origin, .. }
            | Op::DelayMeasure { origin, .. }
            | Op::WriteTime { origin } => self.finish_origin(origin, Err(error), now),
            Op::Null { auto, reply, .. } => {
                if let Some(a) = auto {
                    self.finish_auto(a, Err(error.clone()), now);
                }
                if let Some(r) = reply {
                    r(Err(error));
                }
            }
            Op::Commands { reply, .. } => reply(Err(error)),
            Op::Restart { reply, .. } => reply(Err(error)),
        }
    }

    /// Picks the next request to start: user requests, then automatic tasks by priority,
    /// then due periodic polls.
    pub(super) fn start_next(&mut self, now: &Now, out: &mut [u8]) -> Option<usize> {
        if let Some(task) = self.queue.pop_front() {
            return self.start_user(now, task, out);
        }
        for a in Auto::ALL {
            if !self.autos[auto_slot(a)].ready(now.instant) || !self.auto_allowed(a) {
                continue;
            }
            if let Some(n) = self.start_auto(now, a, out) {
                return Some(n);
            }
        }
        let due = self
            .polls
            .iter()
            .enumerate()
            .filter(|(_, p)| p.next <= now.instant)
            .min_by_key(|(_, p)| p.next)
            .map(|(i, _)| i)?;
        let poll = &mut self.polls[due];
        while poll.next <= now.instant {
            poll.next += poll.period.max(Duration::from_millis(1));
        }
        // Borrow the request for the write without cloning it: periodic polls never allocate.
        let request = std::mem::take(&mut poll.request);
        let sent = self.send_read(now, &request, Origin::Periodic, out);
        self.polls[due].request = request;
        sent
    }

    /// Startup order: disable unsolicited, then integrity, then enable unsolicited.
    fn auto_allowed(&self, a: Auto) -> bool {
        let pending = |x: Auto| self.autos[auto_slot(x)].pending;
        match a {
            Auto::Integrity => !pending(Auto::DisableUnsolicited),
            Auto::EnableUnsolicited => {
                !pending(Auto::DisableUnsolicited) && !pending(Auto::Integrity)
            }
            _ => true,
        }
    }

    fn start_auto(&mut self, now: &Now, a: Auto, out: &mut [u8]) -> Option<usize> {
        match a {
            Auto::ClearRestart => self.send_null(now, Some(a), NullKind::ClearRestart, None, out),
            Auto::DisableUnsolicited => {
                self.send_null(now, Some(a), NullKind::DisableUnsolicited, None, out)
            }
            Auto::EnableUnsolicited => {
                self.send_null(now, Some(a), NullKind::EnableUnsolicited, None, out)
            }
            Auto::Integrity => self.send_read(now, &ReadRequest::integrity(), Origin::Auto(a), out),
            Auto::TimeSync => {
                let mode = self.config.time_sync?;
                self.send_time_sync(now, mode, Origin::Auto(a), out)
            }
        }
    }

    fn start_user(&mut self, now: &Now, task: UserTask, out: &mut [u8]) -> Option<usize> {
        match task {
            UserTask::Read { request, reply } => {
                self.send_read(now, &request, Origin::User(reply), out)
            }
            UserTask::Command {
                mode,
                commands,
                reply,
            } => {
                let (function, step) = match mode {
                    CommandMode::SelectBeforeOperate => (FunctionCode::Select, CommandStep::Select),
                    CommandMode::DirectOperate => {
                        (FunctionCode::DirectOperate, CommandStep::Direct)
                    }
                    CommandMode::DirectOperateNoAck => {
                        (FunctionCode::DirectOperateNr, CommandStep::Direct)
                    }
                };
                self.send_commands(now, mode, step, function, commands, reply, out)
            }
            UserTask::TimeSync { mode, reply } => {
                self.send_time_sync(now, mode, Origin::User(reply), out)
            }
            UserTask::Restart { kind, reply } => {
                let function = match kind {
                    RestartKind::Cold => FunctionCode::ColdRestart,
                    RestartKind::Warm => FunctionCode::WarmRestart,
                };
                let seq = self.next_seq();
                let n = match FragmentWriter::request(out, AppControl::single(seq), function) {
                    Ok(w) => w.len(),
                    Err(_) => {
                        reply(Err(TaskError::BadRequest("fragment too small")));
                        return None;
                    }
                };
                Some(self.launch(now, seq, Op::Restart { kind, reply }, n))
            }
        }
    }

    pub(super) fn launch(&mut self, now: &Now, seq: u8, op: Op, len: usize) -> usize {
        self.stats.requests += 1;
        self.in_flight = Some(InFlight {
            seq,
            deadline: now.instant + self.config.response_timeout,
            op,
        });
        len
    }

    pub(super) fn send_read(
        &mut self,
        now: &Now,
        request: &ReadRequest,
        origin: Origin<()>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let written = FragmentWriter::request(out, AppControl::single(seq), FunctionCode::Read)
            .and_then(|mut w| request.write(&mut w).map(|()| w.len()));
        match written {
            Ok(n) => Some(self.launch(
                now,
                seq,
                Op::Poll {
                    origin,
                    fragments: 0,
                },
                n,
            )),
            Err(_) => {
                self.finish_origin(
                    origin,
                    Err(TaskError::BadRequest("read does not fit a fragment")),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn send_null(
        &mut self,
        now: &Now,
        auto: Option<Auto>,
        kind: NullKind,
        reply: Option<Reply<()>>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let control = AppControl::single(seq);
        let written = match kind {
            NullKind::ClearRestart => FragmentWriter::request(out, control, FunctionCode::Write)
                .and_then(|mut w| {
                    w.ranged(Variation::Group80Var1, 7, 7)?
                        .push(&Point::new(7, Value::Bool(false)))?;
                    Ok(w.len())
                }),
            NullKind::DisableUnsolicited => {
                FragmentWriter::request(out, control, FunctionCode::DisableUnsolicited).and_then(
                    |mut w| {
                        for v in Classes::EVENTS.event_variations() {
                            w.all(v)?;
                        }
                        Ok(w.len())
                    },
                )
            }
            NullKind::EnableUnsolicited => {
                FragmentWriter::request(out, control, FunctionCode::EnableUnsolicited).and_then(
                    |mut w| {
                        for v in self.config.unsolicited_classes.event_variations() {
                            w.all(v)?;
                        }
                        Ok(w.len())
                    },
                )
            }
        };
        match written {
            Ok(n) => Some(self.launch(now, seq, Op::Null { auto, kind, reply }, n)),
            Err(_) => None,
        }
    }

    pub(super) fn send_time_sync(
        &mut self,
        now: &Now,
        mode: TimeSyncMode,
        origin: Origin<()>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let (function, op) = match mode {
            TimeSyncMode::Lan => (
                FunctionCode::RecordCurrentTime,
                Op::RecordTime {
                    origin,
                    recorded: now.wall,
                },
            ),
            TimeSyncMode::NonLan => (
                FunctionCode::DelayMeasure,
                Op::DelayMeasure {
                    origin,
                    sent: now.instant,
                },
            ),
        };
        match FragmentWriter::request(out, AppControl::single(seq), function) {
            Ok(w) => {
                let n = w.len();
                Some(self.launch(now, seq, op, n))
            }
            Err(_) => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_commands(
        &mut self,
        now: &Now,
        mode: CommandMode,
        step: CommandStep,
        function: FunctionCode,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let written = FragmentWriter::request(out, AppControl::single(seq), function)
            .and_then(|mut w| write_commands(&mut w, &commands).map(|()| w.len()));
        match written {
            Err(_) => {
                reply(Err(TaskError::BadRequest(
                    "commands do not fit one fragment",
                )));
                None
            }
            Ok(n) if mode == CommandMode::DirectOperateNoAck => {
                self.stats.requests += 1;
                reply(Ok(Vec::new()));
                Some(n)
            }
            Ok(n) => Some(self.launch(
                now,
                seq,
                Op::Commands {
                    mode,
                    step,
                    commands,
                    reply,
                },
                n,
            )),
        }
    }
}

fn fail_user(task: UserTask, error: TaskError) {
    match task {
        UserTask::Read { reply, .. } | UserTask::TimeSync { reply, .. } => reply(Err(error)),
        UserTask::Command { reply, .. } => reply(Err(error)),
        UserTask::Restart { reply, .. } => reply(Err(error)),
    }
}

/// Writes the controls as index-prefixed (28) headers, one per run of equal variations.
fn write_commands(w: &mut FragmentWriter<'_>, commands: &[Command]) -> Result<(), WriteError> {
    let mut i = 0;
    while i < commands.len() {
        let variation = commands[i].variation();
        let mut h = w.prefixed(variation, true)?;
        while i < commands.len() && commands[i].variation() == variation {
            let c = &commands[i];
            let point = match *c {
                Command::Crob { index, crob } => Point::new(u32::from(index), Value::Crob(crob)),
                Command::Analog { index, value } => {
                    Point::new(u32::from(index), analog_value(value))
                }
            };
            h.push(&point.with_status(0))?;
            i += 1;
        }
        h.finish();
    }
    Ok(())
}

pub(super) fn analog_value(v: super::request::AnalogOutput) -> Value<'static> {
    use super::request::AnalogOutput::*;
    match v {
        I32(x) => Value::Signed(x),
        I16(x) => Value::Signed(i32::from(x)),
        F32(x) => Value::Float(f64::from(x)),
        F64(x) => Value::Float(x),
    }
}
