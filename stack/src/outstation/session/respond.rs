//! Building the outstation's responses: solicited ones into the transmit buffer (null,
//! READ fragments, control echoes, time, restart, freeze, unsolicited control) and the
//! unsolicited ones into their own buffer, so they can be repeated byte for byte.

use super::{BroadcastState, History, OutstationSession, ReadProgress, SolicitedState};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin};
use crate::objects::{Point, Timestamp, Value, Variation};
use crate::outstation::attributes::AttributeSource;
use crate::outstation::control::{self, ControlMode, OperateType};
use crate::outstation::events::EventFilter;
use crate::outstation::read::{self, ReadCursor};
use crate::outstation::requests::{self, TimeWrite};
use crate::outstation::unsolicited::UnsolicitedState;
use crate::session::Now;
use std::time::Duration;

impl OutstationSession {
    /// Completes the solicited response of `len` bytes in `tx`: control bits, IIN, confirm
    /// state. CON when it carries events, is not the last fragment, or reports a broadcast
    /// that needs a confirm (IEEE 1815-2012, clause 4).
    pub(super) fn finish_response(
        &mut self,
        now: &Now,
        len: usize,
        control: AppControl,
        extra_iin: Iin,
        events: bool,
        next: Option<ReadProgress>,
    ) {
        let broadcast = self.broadcast == BroadcastState::UntilConfirmed;
        let con = events || next.is_some() || broadcast;
        let control = AppControl { con, ..control };
        let iin = self.iin() | extra_iin;
        if self.broadcast == BroadcastState::ReportOnce {
            self.broadcast = BroadcastState::Clear;
        }
        if let Some(head) = self.tx.get_mut(..4) {
            head[0] = control.to_byte();
            head[2..4].copy_from_slice(&iin.to_bytes());
        }
        tracing::debug!(seq = control.seq, fir = control.fir, fin = control.fin, con, %iin, "response");
        self.tx_len = len;
        self.tx_ready = true;
        if self.history == History::Unanswered {
            self.history = History::Answered;
        }
        self.solicited = if con {
            SolicitedState::ConfirmWait {
                seq: control.seq,
                deadline: now.instant + self.config.solicited_confirm_timeout,
                events,
                broadcast,
                next,
            }
        } else {
            SolicitedState::Idle
        };
    }

    /// A response with no objects.
    pub(super) fn respond_null(&mut self, now: &Now, seq: u8, iin: Iin) {
        let c = AppControl::single(seq);
        let Some(buf) = self.tx.get_mut(..self.config.max_tx_fragment) else {
            return;
        };
        if let Ok(w) = FragmentWriter::response(buf, c, FunctionCode::Response, Iin::NONE) {
            let len = w.len();
            self.finish_response(now, len, c, iin, false, None);
        }
    }

    /// A response with one counted object (g52 delays).
    pub(super) fn respond_single(&mut self, now: &Now, seq: u8, variation: Variation, value: u32) {
        let c = AppControl::single(seq);
        let Some(buf) = self.tx.get_mut(..self.config.max_tx_fragment) else {
            return;
        };
        let Ok(mut w) = FragmentWriter::response(buf, c, FunctionCode::Response, Iin::NONE) else {
            return;
        };
        if w.single(variation, &Point::new(0, Value::Unsigned(value)))
            .is_ok()
        {
            let len = w.len();
            self.finish_response(now, len, c, Iin::NONE, false, None);
        }
    }

    /// Drops a solicited exchange waiting for its confirm; its events become unreported.
    pub(super) fn abandon_solicited(&mut self) {
        self.drop_held();
        if let SolicitedState::ConfirmWait { events: true, .. } = self.solicited {
            self.db.events.unselect_all();
        }
        self.solicited = SolicitedState::Idle;
    }

    /// Answers the READ kept in `request`: selects its events and sends the first fragment.
    pub(super) fn respond_read(&mut self, now: &Now) {
        let Ok(frag) = Fragment::parse(&self.request) else {
            return;
        };
        let seq = frag.control.seq;
        if let Err(e) = frag.objects().validate() {
            tracing::warn!(error = %e, "malformed READ");
            self.stats.malformed_requests += 1;
            self.respond_null(now, seq, e.kind.iin());
            return;
        }
        // Only a solicited READ response ever owns events when a READ is answered.
        self.db.events.unselect_all();
        let source = AttributeSource {
            attributes: &self.config.device_attributes,
            max_tx: self.config.max_tx_fragment,
            max_rx: self.config.max_rx_fragment,
        };
        let error_iin = read::prepare(frag.objects(), &mut self.db, &source);
        let progress = ReadProgress {
            cursor: ReadCursor::default(),
            error_iin,
        };
        self.write_read_fragment(now, seq, true, progress);
    }

    /// Writes the next fragment of the READ response in `request`.
    pub(super) fn write_read_fragment(
        &mut self,
        now: &Now,
        seq: u8,
        first: bool,
        mut p: ReadProgress,
    ) {
        let iin = self.iin();
        let Ok(frag) = Fragment::parse(&self.request) else {
            return;
        };
        let Some(buf) = self.tx.get_mut(..self.config.max_tx_fragment) else {
            return;
        };
        let c = AppControl::single(seq);
        let Ok(mut w) = FragmentWriter::response(buf, c, FunctionCode::Response, Iin::NONE) else {
            return;
        };
        let source = AttributeSource {
            attributes: &self.config.device_attributes,
            max_tx: self.config.max_tx_fragment,
            max_rx: self.config.max_rx_fragment,
        };
        let (mut complete, events) = read::write_fragment(
            frag.objects(),
            &mut self.db,
            &mut p.cursor,
            &mut w,
            iin,
            &source,
        );
        let len = w.len();
        if !complete && len <= 4 {
            tracing::warn!(
                max = self.config.max_tx_fragment,
                "an object does not fit in an empty fragment; response truncated"
            );
            complete = true;
        }
        if complete {
            self.db.events.release_unwritten();
        }
        let control = AppControl {
            fir: first,
            fin: complete,
            ..c
        };
        let next = (!complete).then_some(p);
        self.finish_response(now, len, control, p.error_iin, events, next);
    }

    /// SELECT, OPERATE, DIRECT_OPERATE and DIRECT_OPERATE_NR (IEEE 1815-2012, clause 4).
    pub(super) fn respond_controls(&mut self, now: &Now, raw: &[u8], respond: bool) {
        let Ok(frag) = Fragment::parse(raw) else {
            return;
        };
        let seq = frag.control.seq;
        if let Err(iin) = control::validate(frag.objects()) {
            if respond {
                self.respond_null(now, seq, iin);
            }
            return;
        }
        let body = raw.get(2..).unwrap_or_default();
        let mode = match frag.function {
            FunctionCode::Select => ControlMode::Select,
            FunctionCode::Operate => {
                let timeout = self.config.select_timeout;
                match self.select.check_operate(seq, now.instant, body, timeout) {
                    None => ControlMode::Operate(OperateType::SelectBeforeOperate),
                    Some(status) => ControlMode::Refuse(status),
                }
            }
            FunctionCode::DirectOperate => ControlMode::Operate(OperateType::DirectOperate),
            _ => ControlMode::Operate(OperateType::DirectOperateNoAck),
        };
        let max = self.config.max_controls_per_request;
        if !respond {
            let handler = &mut *self.controls;
            control::execute(frag.objects(), mode, max, handler, &mut self.db, now, None);
            return;
        }
        let len = 4 + body.len();
        if len > self.config.max_tx_fragment {
            // The echo would not fit: refuse before executing anything.
            self.respond_null(now, seq, Iin::PARAMETER_ERROR);
            return;
        }
        let Some(buf) = self.tx.get_mut(..len) else {
            return;
        };
        buf[..4].copy_from_slice(&[0, FunctionCode::Response.to_u8(), 0, 0]);
        buf[4..].copy_from_slice(body);
        let handler = &mut *self.controls;
        let echo = buf.get_mut(4..);
        let outcome = control::execute(frag.objects(), mode, max, handler, &mut self.db, now, echo);
        if frag.function == FunctionCode::Select && outcome.all_success {
            self.select.select(seq, now.instant, body);
        }
        if self.db.deferrals.any_open() {
            self.hold(now, seq, len, outcome.iin);
            return;
        }
        self.finish_response(now, len, AppControl::single(seq), outcome.iin, false, None);
    }

    /// WRITE of IIN and time (IEEE 1815-2012, clause 4).
    pub(super) fn respond_write(&mut self, now: &Now, frag: &Fragment<'_>, respond: bool) {
        let seq = frag.control.seq;
        let record = self.record.take();
        let after_record = record.filter(|&(s, _)| (s + 1) & 0x0F == seq);
        let iin = match requests::plan_write(frag.objects(), after_record.is_some(), &self.db) {
            Err(iin) => iin,
            Ok(plan) => {
                let mut iin = Iin::NONE;
                if plan.deadbands || plan.indexed_times {
                    iin |= self.write_indexed(frag);
                }
                if plan.clear_restart {
                    tracing::info!("master cleared DEVICE_RESTART");
                    self.restart_iin = false;
                }
                if let Some(t) = plan.time {
                    let time = match (t, after_record) {
                        (TimeWrite::Absolute(t), _) => t,
                        (TimeWrite::AtRecord(t), Some((_, at))) => {
                            let since = now.instant.saturating_duration_since(at);
                            let ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
                            Timestamp(t.0.saturating_add(ms))
                        }
                        (TimeWrite::AtRecord(t), None) => t,
                    };
                    if self.app.on_time_write(time) {
                        self.need_time = false;
                    } else {
                        iin |= Iin::PARAMETER_ERROR;
                    }
                }
                iin
            }
        };
        if respond {
            self.respond_null(now, seq, iin);
        }
    }

    /// The g34 deadbands and g50v4 indexed times of a checked WRITE.
    fn write_indexed(&mut self, frag: &Fragment<'_>) -> Iin {
        let mut iin = Iin::NONE;
        for h in frag.objects().flatten() {
            let deadband = h.variation.numbers().0 == 34;
            if !deadband && h.variation != Variation::Group50Var4 {
                continue;
            }
            for p in h.points() {
                let Ok(index) = u16::try_from(p.index) else {
                    continue;
                };
                if deadband {
                    if let Some(d) = requests::deadband_value(&p.value) {
                        tracing::debug!(index, deadband = d, "deadband written");
                        self.db.set_deadband(index, d);
                    }
                } else if let (Some(time), Value::Interval { interval, units }) = (p.time, p.value)
                {
                    iin |= self
                        .app
                        .on_indexed_time_write(index, time, interval, units)
                        .iin();
                }
            }
        }
        iin
    }

    /// IMMED_FREEZE and FREEZE_CLEAR, with or without response (IEEE 1815-2012, clause 4).
    pub(super) fn respond_freeze(&mut self, now: &Now, frag: &Fragment<'_>, respond: bool) {
        let clear = matches!(
            frag.function,
            FunctionCode::FreezeClear | FunctionCode::FreezeClearNr
        );
        let iin = match requests::check_freeze(frag.objects()) {
            Err(iin) => iin,
            Ok(()) => {
                for h in frag.objects().flatten() {
                    if let Ok(range) = requests::freeze_range(&h) {
                        self.db.freeze(now, range, clear);
                    }
                }
                Iin::NONE
            }
        };
        if respond {
            self.respond_null(now, frag.control.seq, iin);
        }
    }

    /// COLD_RESTART and WARM_RESTART: the application decides (IEEE 1815-2012, clause 4).
    pub(super) fn respond_restart(&mut self, now: &Now, frag: &Fragment<'_>) {
        let seq = frag.control.seq;
        if !frag.body.is_empty() {
            self.respond_null(now, seq, Iin::PARAMETER_ERROR);
            return;
        }
        let delay = if frag.function == FunctionCode::ColdRestart {
            self.app.cold_restart()
        } else {
            self.app.warm_restart()
        };
        match delay {
            None => self.respond_null(now, seq, Iin::NO_FUNC_CODE_SUPPORT),
            Some(d) => {
                let (v, value) = restart_delay(d);
                self.respond_single(now, seq, v, value);
            }
        }
    }

    /// ENABLE/DISABLE_UNSOLICITED (IEEE 1815-2012, clause 4).
    pub(super) fn respond_unsolicited_control(
        &mut self,
        now: &Now,
        frag: &Fragment<'_>,
        respond: bool,
    ) {
        let iin = if self.unsol.state == UnsolicitedState::Disabled {
            Iin::NO_FUNC_CODE_SUPPORT
        } else {
            match requests::unsolicited_classes(frag.objects()) {
                Err(iin) => iin,
                Ok(mask) => {
                    self.unsol.enabled = if frag.function == FunctionCode::EnableUnsolicited {
                        self.unsol.enabled.union(mask)
                    } else {
                        self.unsol.enabled.without(mask)
                    };
                    tracing::debug!(enabled = ?self.unsol.enabled, "unsolicited classes");
                    Iin::NONE
                }
            }
        };
        if respond {
            self.respond_null(now, frag.control.seq, iin);
        }
    }

    /// A request without objects (DELAY_MEASURE, RECORD_CURRENT_TIME): IIN2.2 otherwise.
    pub(super) fn refuse_objects(&mut self, now: &Now, frag: &Fragment<'_>) -> bool {
        if frag.body.is_empty() {
            return false;
        }
        self.respond_null(now, frag.control.seq, Iin::PARAMETER_ERROR);
        true
    }

    /// Builds an unsolicited response into the unsolicited buffer: null, or the unreported
    /// events of the enabled classes that fit.
    fn build_unsolicited(&mut self, events: bool) -> Option<usize> {
        let control = AppControl {
            fir: true,
            fin: true,
            con: true,
            uns: true,
            seq: self.unsol.seq,
        };
        let buf = self.unsol.tx.get_mut(..self.config.max_tx_fragment)?;
        let function = FunctionCode::UnsolicitedResponse;
        let mut w = FragmentWriter::response(buf, control, function, Iin::NONE).ok()?;
        if events {
            let filter = EventFilter::Classes(self.unsol.enabled);
            self.db.events.select(filter, None);
            let (n, _) = self.db.events.write_selected(&mut w, self.need_time);
            self.db.events.release_unwritten();
            if n == 0 {
                return None;
            }
        }
        let len = w.len();
        let iin = self.iin();
        self.unsol.carries_broadcast = self.broadcast == BroadcastState::UntilConfirmed;
        if self.broadcast == BroadcastState::ReportOnce {
            self.broadcast = BroadcastState::Clear;
        }
        if let Some(b) = self.unsol.tx.get_mut(2..4) {
            b.copy_from_slice(&iin.to_bytes());
        }
        tracing::debug!(seq = control.seq, events, %iin, "unsolicited response");
        self.unsol.tx_len = len;
        Some(len)
    }

    /// The unsolicited response to send now, if any.
    pub(super) fn next_unsolicited(&mut self, now: &Now, out: &mut [u8]) -> Option<usize> {
        let len = match self.unsol.state {
            UnsolicitedState::NullPending => {
                let n = self.build_unsolicited(false)?;
                self.unsol.null_sent(now.instant);
                n
            }
            UnsolicitedState::Idle
                if !self.unsol.enabled.is_empty()
                    && self.db.events.has_unreported(self.unsol.enabled) =>
            {
                let n = self.build_unsolicited(true)?;
                self.unsol.events_sent(now.instant);
                n
            }
            UnsolicitedState::Repeat { .. } => {
                tracing::debug!(seq = self.unsol.seq, "unsolicited response repeated");
                self.unsol.repeat_sent(now.instant);
                self.unsol.tx_len
            }
            _ => return None,
        };
        let src = self.unsol.tx.get(..len)?;
        let Some(dst) = out.get_mut(..len) else {
            tracing::warn!(len, "transmit buffer smaller than the unsolicited response");
            return None;
        };
        dst.copy_from_slice(src);
        self.stats.unsolicited += 1;
        Some(len)
    }
}

/// The g52 object for a restart delay: milliseconds (g52v2) when they fit in 16 bits,
/// otherwise seconds (g52v1), saturating.
fn restart_delay(d: Duration) -> (Variation, u32) {
    match u16::try_from(d.as_millis()) {
        Ok(ms) => (Variation::Group52Var2, u32::from(ms)),
        Err(_) => (Variation::Group52Var1, d.as_secs().min(0xFFFF) as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_delays_use_milliseconds_when_they_fit() {
        assert_eq!(
            restart_delay(Duration::from_millis(1)),
            (Variation::Group52Var2, 1)
        );
        assert_eq!(
            restart_delay(Duration::from_secs(65535)),
            (Variation::Group52Var1, 65535)
        );
        assert_eq!(
            restart_delay(Duration::from_secs(1 << 20)),
            (Variation::Group52Var1, 65535)
        );
    }
}
