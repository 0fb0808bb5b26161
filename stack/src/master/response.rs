//! The master association's side of the channel contract: incoming responses and unsolicited
//! responses, IIN reactions, confirms, timeouts and link state (PROTOCOL.md §4.5, §6.6).

use super::association::{analog_value, MasterSession, REJECT_BITS};
use super::measurement::{Measurement, ResponseInfo};
use super::request::{Command, CommandMode, TaskError};
use super::tasks::{Auto, CommandStep, FollowUp, InFlight, NullKind, Op, Origin};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin};
use crate::link::AddressKind;
use crate::objects::{CommandStatus, Point, Value, Variation};
use crate::session::{Now, Session};
use std::time::{Duration, Instant};

/// IIN bits whose rising edge triggers an automatic task.
const WATCHED: Iin = Iin(Iin::DEVICE_RESTART.0 | Iin::NEED_TIME.0 | Iin::EVENT_BUFFER_OVERFLOW.0);

impl MasterSession {
    fn on_unsolicited(&mut self, now: &Now, f: &Fragment<'_>) {
        if !f.control.uns || f.objects().validate().is_err() {
            self.stats.ignored += 1;
            return;
        }
        self.stats.unsolicited += 1;
        if f.control.con {
            self.confirm = Some(AppControl {
                uns: true,
                ..AppControl::single(f.control.seq)
            });
        }
        self.deliver(f, true);
        self.process_iin(f.iin.unwrap_or_default());
        let _ = now;
    }

    fn on_response(&mut self, now: &Now, f: &Fragment<'_>) {
        let matches = self
            .in_flight
            .as_ref()
            .is_some_and(|i| i.seq == f.control.seq);
        if f.control.uns || !matches {
            self.stats.ignored += 1;
            return;
        }
        let Some(mut flight) = self.in_flight.take() else {
            return;
        };
        if f.objects().validate().is_err() {
            self.fail_op(
                flight.op,
                TaskError::BadResponse("malformed objects"),
                Some(now.instant),
            );
            return;
        }
        self.stats.responses += 1;
        self.seq = (f.control.seq + 1) & 0x0F;
        if f.control.con {
            self.confirm = Some(AppControl::single(f.control.seq));
        }
        let iin = f.iin.unwrap_or_default();
        self.process_iin(iin);
        if let Op::Poll { fragments, .. } = &mut flight.op {
            if f.control.fir != (*fragments == 0) {
                self.fail_op(
                    flight.op,
                    TaskError::BadResponse("FIR out of order"),
                    Some(now.instant),
                );
                return;
            }
            *fragments += 1;
            self.deliver(f, false);
            if !f.control.fin {
                flight.seq = self.seq;
                flight.deadline = now.instant + self.config.response_timeout;
                self.in_flight = Some(flight);
                return;
            }
            self.stats.polls += 1;
            if let Op::Poll { origin, .. } = flight.op {
                self.finish_origin(origin, Ok(()), Some(now.instant));
            }
            return;
        }
        if !(f.control.fir && f.control.fin) {
            self.fail_op(
                flight.op,
                TaskError::BadResponse("multi-fragment response"),
                Some(now.instant),
            );
            return;
        }
        self.complete(now, flight.op, f, iin);
    }

    /// Completes a single-fragment exchange.
    fn complete(&mut self, now: &Now, op: Op, f: &Fragment<'_>, iin: Iin) {
        if let Op::Commands {
            mode,
            step,
            commands,
            reply,
        } = op
        {
            match command_statuses(f, &commands) {
                Ok(statuses) => {
                    let all_ok = statuses.iter().all(|s| *s == CommandStatus::Success);
                    if step != CommandStep::Select || mode != CommandMode::SelectBeforeOperate {
                        reply(Ok(statuses));
                    } else if all_ok {
                        self.follow_up = Some(FollowUp::Operate { commands, reply });
                    } else {
                        reply(Err(TaskError::SelectFailed(statuses)));
                    }
                }
                Err(_) if iin.intersects(REJECT_BITS) => {
                    self.stats.failures += 1;
                    reply(Err(TaskError::Rejected(iin & REJECT_BITS)));
                }
                Err(e) => {
                    self.stats.failures += 1;
                    reply(Err(e));
                }
            }
            return;
        }
        if iin.intersects(REJECT_BITS) {
            self.fail_op(
                op,
                TaskError::Rejected(iin & REJECT_BITS),
                Some(now.instant),
            );
            return;
        }
        match op {
            Op::Null { auto, kind, reply } => {
                let result = if kind == NullKind::ClearRestart && iin.contains(Iin::DEVICE_RESTART)
                {
                    Err(TaskError::BadResponse("restart bit still set"))
                } else {
                    Ok(())
                };
                if result.is_err() {
                    self.stats.failures += 1;
                }
                if let Some(a) = auto {
                    self.finish_auto(a, result.clone(), Some(now.instant));
                }
                if let Some(r) = reply {
                    r(result);
                }
            }
            Op::RecordTime { origin, recorded } => {
                self.follow_up = Some(FollowUp::WriteLanTime { origin, recorded });
            }
            Op::DelayMeasure { origin, sent } => match delay_of(f) {
                Some(delay) => {
                    let rtt = now.instant.saturating_duration_since(sent);
                    let propagation = rtt.saturating_sub(delay) / 2;
                    self.follow_up = Some(FollowUp::WriteTime {
                        origin,
                        propagation,
                    });
                }
                None => self.fail_op(
                    Op::DelayMeasure { origin, sent },
                    TaskError::BadResponse("no g52 delay in the response"),
                    Some(now.instant),
                ),
            },
            Op::WriteTime { origin } => self.finish_origin(origin, Ok(()), Some(now.instant)),
            Op::Restart { kind, reply } => match delay_of(f) {
                Some(d) => reply(Ok(d)),
                None => {
                    self.stats.failures += 1;
                    let _ = kind;
                    reply(Err(TaskError::BadResponse(
                        "no g52 restart time in the response",
                    )));
                }
            },
            Op::Poll { .. } | Op::Commands { .. } => {}
        }
    }

    /// Hands every measurement of the fragment to the read handler.
    fn deliver(&mut self, f: &Fragment<'_>, unsolicited: bool) {
        if f.body.is_empty() {
            return;
        }
        let info = ResponseInfo {
            unsolicited,
            fir: f.control.fir,
            fin: f.control.fin,
            iin: f.iin.unwrap_or_default(),
        };
        self.handler.begin(info);
        for h in f.objects().flatten() {
            for p in h.points() {
                if let Some(m) = Measurement::from_point(h.variation, &p) {
                    self.stats.measurements += 1;
                    self.handler.measurement(&m);
                }
            }
        }
        self.handler.end(info);
    }

    /// Schedules the automatic tasks that IIN bits call for, on their rising edge.
    fn process_iin(&mut self, iin: Iin) {
        let rising = iin & WATCHED & !self.seen;
        self.seen = iin & WATCHED;
        if rising.contains(Iin::DEVICE_RESTART) {
            self.schedule(Auto::ClearRestart);
            if self.config.startup_integrity {
                self.schedule(Auto::Integrity);
            }
            if !self.config.unsolicited_classes.is_empty() {
                self.schedule(Auto::EnableUnsolicited);
            }
        }
        if rising.contains(Iin::NEED_TIME) && self.config.time_sync.is_some() {
            self.schedule(Auto::TimeSync);
        }
        if rising.contains(Iin::EVENT_BUFFER_OVERFLOW) && self.config.integrity_on_overflow {
            self.schedule(Auto::Integrity);
        }
    }

    fn send_follow_up(&mut self, now: &Now, follow_up: FollowUp, out: &mut [u8]) -> Option<usize> {
        match follow_up {
            FollowUp::Operate { commands, reply } => self.send_commands(
                now,
                CommandMode::SelectBeforeOperate,
                CommandStep::Operate,
                FunctionCode::Operate,
                commands,
                reply,
                out,
            ),
            FollowUp::WriteLanTime { origin, recorded } => {
                self.write_time(now, Variation::Group50Var3, recorded, origin, out)
            }
            FollowUp::WriteTime {
                origin,
                propagation,
            } => {
                let t = crate::objects::Timestamp(now.wall.0 + propagation.as_millis() as u64);
                self.write_time(now, Variation::Group50Var1, t, origin, out)
            }
        }
    }

    fn write_time(
        &mut self,
        now: &Now,
        variation: Variation,
        time: crate::objects::Timestamp,
        origin: Origin<()>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let written = FragmentWriter::request(out, AppControl::single(seq), FunctionCode::Write)
            .and_then(|mut w| {
                w.single(variation, &Point::new(0, Value::None).with_time(time))?;
                Ok(w.len())
            });
        match written {
            Ok(n) => Some(self.launch(now, seq, Op::WriteTime { origin }, n)),
            Err(_) => {
                self.finish_origin(
                    origin,
                    Err(TaskError::BadRequest("fragment too small")),
                    Some(now.instant),
                );
                None
            }
        }
    }
}

/// The statuses of a control echo, checked object by object against the request.
fn command_statuses(
    f: &Fragment<'_>,
    commands: &[Command],
) -> Result<Vec<CommandStatus>, TaskError> {
    let mut statuses = Vec::with_capacity(commands.len());
    for h in f.objects() {
        let h = h.map_err(|_| TaskError::BadResponse("malformed control echo"))?;
        for p in h.points() {
            let c = commands.get(statuses.len()).ok_or(TaskError::BadResponse(
                "more objects in the echo than commands",
            ))?;
            let same_value = match *c {
                Command::Crob { crob, .. } => p.value == Value::Crob(crob),
                Command::Analog { value, .. } => p.value == analog_value(value),
            };
            if h.variation != c.variation() || p.index != u32::from(c.index()) || !same_value {
                return Err(TaskError::BadResponse(
                    "the echo does not match the request",
                ));
            }
            statuses.push(CommandStatus::from_u8(p.status.unwrap_or(0)));
        }
    }
    if statuses.len() != commands.len() {
        return Err(TaskError::BadResponse("the echo lacks objects"));
    }
    Ok(statuses)
}

/// The g52 time delay of a response (v1 seconds, v2 milliseconds).
fn delay_of(f: &Fragment<'_>) -> Option<Duration> {
    for h in f.objects().flatten() {
        let scale = match h.variation {
            Variation::Group52Var1 => 1000,
            Variation::Group52Var2 => 1,
            _ => continue,
        };
        let p = h.points().next()?;
        let Value::Unsigned(v) = p.value else {
            return None;
        };
        return Some(Duration::from_millis(u64::from(v) * scale));
    }
    None
}

impl Session for MasterSession {
    fn local_address(&self) -> u16 {
        self.config.local_address
    }

    fn remote_address(&self) -> u16 {
        self.config.outstation_address
    }

    fn is_master(&self) -> bool {
        true
    }

    fn on_fragment(&mut self, now: &Now, source: u16, destination: AddressKind, fragment: &[u8]) {
        if source != self.config.outstation_address
            || destination != AddressKind::Station
            || fragment.len() > self.config.max_rx_fragment
        {
            self.stats.ignored += 1;
            return;
        }
        let Ok(f) = Fragment::parse(fragment) else {
            self.stats.ignored += 1;
            return;
        };
        match f.function {
            FunctionCode::UnsolicitedResponse => self.on_unsolicited(now, &f),
            FunctionCode::Response => self.on_response(now, &f),
            _ => self.stats.ignored += 1,
        }
    }

    fn next_fragment(&mut self, now: &Now, out: &mut [u8]) -> Option<usize> {
        if !self.online {
            return None;
        }
        if let Some(c) = self.confirm.take() {
            let w = FragmentWriter::request(out, c, FunctionCode::Confirm).ok()?;
            self.stats.confirms += 1;
            return Some(w.len());
        }
        if self.in_flight.is_some() {
            return None;
        }
        if let Some(f) = self.follow_up.take() {
            return self.send_follow_up(now, f, out);
        }
        self.start_next(now, out)
    }

    fn deadline(&self) -> Option<Instant> {
        if !self.online {
            return None;
        }
        if let Some(InFlight { deadline, .. }) = self.in_flight {
            return Some(deadline);
        }
        let autos = self
            .autos
            .iter()
            .filter(|a| a.pending)
            .filter_map(|a| a.retry_at);
        let polls = self.polls.iter().map(|p| p.next);
        autos.chain(polls).min()
    }

    fn on_timer(&mut self, now: &Now) {
        let expired = self
            .in_flight
            .as_ref()
            .is_some_and(|f| now.instant >= f.deadline);
        if expired {
            if let Some(f) = self.in_flight.take() {
                // The next request takes the next SEQ (PROTOCOL.md §4.5).
                self.fail_op(f.op, TaskError::Timeout, Some(now.instant));
            }
        }
    }

    fn on_link_up(&mut self, now: &Now) {
        self.online = true;
        self.seen = Iin::NONE;
        self.confirm = None;
        for a in self.autos.iter_mut() {
            a.retry_at = None;
            a.backoff = self.config.task_retry_min;
        }
        if self.config.disable_unsolicited_at_startup {
            self.schedule(Auto::DisableUnsolicited);
        }
        if self.config.startup_integrity {
            self.schedule(Auto::Integrity);
        }
        if !self.config.unsolicited_classes.is_empty() {
            self.schedule(Auto::EnableUnsolicited);
        }
        for p in &mut self.polls {
            p.next = now.instant + p.period;
        }
    }

    fn on_link_down(&mut self, _now: &Now) {
        self.online = false;
        self.confirm = None;
        self.fail_all(TaskError::LinkDown);
    }
}
