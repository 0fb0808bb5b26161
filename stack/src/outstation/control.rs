//! Controls (IEEE 1815-2012, clause 4): the [`ControlHandler`] the application implements, the
//! select-before-operate bookkeeping, and the execution of a control request whose echo is
//! the request's own bytes with the status bytes filled in.

use super::database::{Database, DatabaseHandle};
use super::deferred::CommandEvent;
use super::point::PointValue;
use super::update::Update;
use crate::app::{Iin, ObjectParser, Prefix};
use crate::objects::PointType;
use crate::objects::{CommandStatus, Crob, OpType, TripClose, Value, Variation};
use crate::session::Now;
use std::time::{Duration, Instant};

/// How an operation was requested.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperateType {
    /// OPERATE after a matching SELECT.
    SelectBeforeOperate,
    /// DIRECT_OPERATE.
    DirectOperate,
    /// DIRECT_OPERATE_NR (no response is sent; the status is discarded).
    DirectOperateNoAck,
}

/// Executes controls for the application. Called on the channel's executor: the methods
/// must not block — start the operation (or hand it to another thread) and return its
/// status at once. Every method defaults to NOT_SUPPORTED.
pub trait ControlHandler {
    /// May the CROB be selected for a later OPERATE?
    fn select_crob(&mut self, index: u16, crob: &Crob, db: &Database) -> CommandStatus {
        let _ = (index, crob, db);
        CommandStatus::NotSupported
    }

    /// Executes a CROB; `db` applies updates at once (e.g. the binary output status).
    fn operate_crob(
        &mut self,
        index: u16,
        crob: &Crob,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        let _ = (index, crob, op, db);
        CommandStatus::NotSupported
    }

    /// May the analog output be selected? `variation` is the g41 variation used.
    fn select_analog(
        &mut self,
        index: u16,
        value: f64,
        variation: Variation,
        db: &Database,
    ) -> CommandStatus {
        let _ = (index, value, variation, db);
        CommandStatus::NotSupported
    }

    /// Sets an analog output.
    fn operate_analog(
        &mut self,
        index: u16,
        value: f64,
        variation: Variation,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        let _ = (index, value, variation, op, db);
        CommandStatus::NotSupported
    }
}

/// Refuses every control with NOT_SUPPORTED.
#[derive(Copy, Clone, Debug, Default)]
pub struct RejectControls;

impl ControlHandler for RejectControls {}

/// Accepts controls of outputs whose status point exists and mirrors them into it: a CROB
/// sets binary output status `index` (close, pulse on, latch on → on; trip, pulse off, latch
/// off → off), an analog output sets analog output status `index`. For tests and demos.
#[derive(Copy, Clone, Debug, Default)]
pub struct MirrorOutputs;

impl MirrorOutputs {
    pub(crate) fn target(crob: &Crob) -> Option<bool> {
        match (crob.code.trip_close(), crob.code.op_type()) {
            (TripClose::Close, _) => Some(true),
            (TripClose::Trip, _) => Some(false),
            (_, OpType::PulseOn | OpType::LatchOn) => Some(true),
            (_, OpType::PulseOff | OpType::LatchOff) => Some(false),
            _ => None,
        }
    }
}

impl ControlHandler for MirrorOutputs {
    fn select_crob(&mut self, index: u16, crob: &Crob, db: &Database) -> CommandStatus {
        match (
            Self::target(crob),
            db.get(PointType::BinaryOutputStatus, index),
        ) {
            (Some(_), Some(_)) => CommandStatus::Success,
            _ => CommandStatus::NotSupported,
        }
    }

    fn operate_crob(
        &mut self,
        index: u16,
        crob: &Crob,
        _op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        match Self::target(crob) {
            Some(on) if db.update(&Update::binary_output_status(index, on)) => {
                CommandStatus::Success
            }
            _ => CommandStatus::NotSupported,
        }
    }

    fn select_analog(&mut self, index: u16, _: f64, _: Variation, db: &Database) -> CommandStatus {
        match db.get(PointType::AnalogOutputStatus, index) {
            Some(_) => CommandStatus::Success,
            None => CommandStatus::NotSupported,
        }
    }

    fn operate_analog(
        &mut self,
        index: u16,
        value: f64,
        _: Variation,
        _: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        if db.update(&Update::analog_output_status(index, value)) {
            CommandStatus::Success
        } else {
            CommandStatus::NotSupported
        }
    }
}

/// A SELECT waiting for its OPERATE; the selected object bytes are kept in a reused buffer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Selection {
    None,
    Selected { seq: u8, at: Instant },
}

/// Select-before-operate state (IEEE 1815-2012, clause 4).
#[derive(Debug)]
pub(crate) struct SelectState {
    selection: Selection,
    objects: Vec<u8>,
}

impl SelectState {
    pub fn new() -> Self {
        SelectState {
            selection: Selection::None,
            objects: Vec::new(),
        }
    }

    /// Forgets any selection.
    pub fn cancel(&mut self) {
        self.selection = Selection::None;
    }

    /// Records a successful SELECT of `objects` with `seq`.
    pub fn select(&mut self, seq: u8, at: Instant, objects: &[u8]) {
        self.selection = Selection::Selected { seq, at };
        self.objects.clear();
        self.objects.extend_from_slice(objects);
    }

    /// Checks an OPERATE against the selection, in the order of IEEE 1815-2012, clause 4: `None`
    /// when it may execute, else the status for every object. The selection is consumed.
    pub fn check_operate(
        &mut self,
        seq: u8,
        now: Instant,
        objects: &[u8],
        timeout: Duration,
    ) -> Option<CommandStatus> {
        let selection = std::mem::replace(&mut self.selection, Selection::None);
        let Selection::Selected { seq: s, at } = selection else {
            return Some(CommandStatus::NoSelect);
        };
        if seq != (s + 1) & 0x0F {
            return Some(CommandStatus::NoSelect);
        }
        if now.saturating_duration_since(at) > timeout {
            return Some(CommandStatus::Timeout);
        }
        if objects != self.objects.as_slice() {
            return Some(CommandStatus::NoSelect);
        }
        None
    }
}

/// What a control request does with each object.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ControlMode {
    /// SELECT: ask the handler whether it may be selected.
    Select,
    /// Execute with this operate type.
    Operate(OperateType),
    /// Execute nothing; answer every object with this status.
    Refuse(CommandStatus),
}

/// What executing a control request found.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ControlOutcome {
    /// Every object was answered SUCCESS.
    pub all_success: bool,
    /// IIN bits for the response (IIN2.2 when an object was NOT_SUPPORTED).
    pub iin: Iin,
}

/// Checks that every header is a CROB or analog output block with qualifier 17 or 28
/// (opendnp3 accepts nothing else in a control request); IIN2.2 otherwise.
pub(crate) fn validate(objects: ObjectParser<'_>) -> Result<(), Iin> {
    for h in objects {
        let h = h.map_err(|e| e.kind.iin())?;
        let control = matches!(
            h.variation,
            Variation::Group12Var1
                | Variation::Group41Var1
                | Variation::Group41Var2
                | Variation::Group41Var3
                | Variation::Group41Var4
        );
        if !control || !matches!(h.qualifier, 0x17 | 0x28) {
            tracing::debug!(?h.variation, qualifier = h.qualifier, "not a control header");
            return Err(Iin::PARAMETER_ERROR);
        }
    }
    Ok(())
}

/// Runs every object of a validated control request through `mode`. When `echo` is given
/// (the request body copied into the response) each object's status byte is written there.
pub(crate) fn execute(
    objects: ObjectParser<'_>,
    mode: ControlMode,
    max_controls: Option<usize>,
    handler: &mut dyn ControlHandler,
    db: &mut Database,
    now: &Now,
    mut echo: Option<&mut [u8]>,
) -> ControlOutcome {
    let mut outcome = ControlOutcome {
        all_success: true,
        iin: Iin::NONE,
    };
    let mut n = 0usize;
    for h in objects.flatten() {
        let prefix = match h.prefix {
            Prefix::Index(w) => usize::from(w),
            _ => 0,
        };
        let stride = prefix + h.variation.fixed_size().unwrap_or(0);
        let raw = h.raw();
        let first = raw.len().saturating_sub(stride * h.count as usize);
        // Header offsets count from the start of the request; the echo starts at its body.
        let base = h.offset.saturating_sub(2) + first;
        for (i, p) in h.points().enumerate() {
            let at = base + i * stride + stride - 1;
            // Operates with a response may be answered later (at their status byte).
            let deferrable = matches!(mode, ControlMode::Operate(_)) && echo.is_some();
            db.deferrals.offer(deferrable.then_some(at));
            let status = match (mode, u16::try_from(p.index)) {
                (ControlMode::Refuse(s), _) => s,
                _ if max_controls.is_some_and(|m| n >= m) => CommandStatus::TooManyOps,
                (_, Err(_)) => CommandStatus::NotSupported,
                (mode, Ok(index)) => one(mode, index, h.variation, &p.value, handler, db, now),
            };
            n += 1;
            // Still offered: not deferred.
            let deferred = deferrable && !db.deferrals.offered();
            db.deferrals.offer(None);
            if deferred {
                tracing::debug!(index = p.index, "control answered later");
                continue;
            }
            tracing::debug!(index = p.index, ?mode, status = status.name(), "control");
            if status != CommandStatus::Success {
                outcome.all_success = false;
            }
            if status == CommandStatus::NotSupported {
                outcome.iin |= Iin::PARAMETER_ERROR;
            }
            if let Some(echo) = echo.as_deref_mut() {
                if let Some(b) = echo.get_mut(at) {
                    *b = status.to_u8();
                }
            }
        }
    }
    outcome
}

/// The analog output command event (with time) matching the g41 variation operated.
fn command_event_variation(g41: Variation) -> Variation {
    match g41 {
        Variation::Group41Var2 => Variation::Group43Var4,
        Variation::Group41Var3 => Variation::Group43Var7,
        Variation::Group41Var4 => Variation::Group43Var8,
        _ => Variation::Group43Var3,
    }
}

/// Buffers the command event of an executed operate when configured; a deferred operate's
/// event waits for its final status (it was `offered` for deferral and taken).
fn record_command_event(
    db: &mut Database,
    now: &Now,
    offered: bool,
    event: CommandEvent,
    status: CommandStatus,
) {
    if !db.command_events {
        return;
    }
    if offered && !db.deferrals.offered() {
        db.deferrals.attach(event);
    } else {
        db.command_event(now, event, status.to_u8());
    }
}

/// Selects or operates one object.
fn one(
    mode: ControlMode,
    index: u16,
    variation: Variation,
    value: &Value<'_>,
    handler: &mut dyn ControlHandler,
    db: &mut Database,
    now: &Now,
) -> CommandStatus {
    match value {
        Value::Crob(crob) => {
            // The obsolete queue bit and undefined operation types are not supported; the
            // code is echoed unchanged (as opendnp3 does).
            if crob.code.queue() || matches!(crob.code.op_type(), OpType::Other(_)) {
                return CommandStatus::NotSupported;
            }
            match mode {
                ControlMode::Select => handler.select_crob(index, crob, db),
                ControlMode::Operate(op) => {
                    let offered = db.deferrals.offered();
                    let status =
                        handler.operate_crob(index, crob, op, &mut DatabaseHandle::new(db, *now));
                    let event = CommandEvent {
                        ty: PointType::BinaryOutputStatus,
                        index,
                        variation: Variation::Group13Var2,
                        value: PointValue::Binary(MirrorOutputs::target(crob).unwrap_or(false)),
                    };
                    record_command_event(db, now, offered, event, status);
                    status
                }
                ControlMode::Refuse(s) => s,
            }
        }
        v => {
            let Some(x) = v.as_f64() else {
                return CommandStatus::FormatError;
            };
            match mode {
                ControlMode::Select => handler.select_analog(index, x, variation, db),
                ControlMode::Operate(op) => {
                    let offered = db.deferrals.offered();
                    let status = handler.operate_analog(
                        index,
                        x,
                        variation,
                        op,
                        &mut DatabaseHandle::new(db, *now),
                    );
                    let event = CommandEvent {
                        ty: PointType::AnalogOutputStatus,
                        index,
                        variation: command_event_variation(variation),
                        value: PointValue::Analog(x),
                    };
                    record_command_event(db, now, offered, event, status);
                    status
                }
                ControlMode::Refuse(s) => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operate_checks_sequence_then_time_then_objects() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(5);
        let mut s = SelectState::new();
        assert_eq!(
            s.check_operate(1, t0, b"x", timeout),
            Some(CommandStatus::NoSelect)
        );
        s.select(15, t0, b"x");
        assert_eq!(s.check_operate(0, t0, b"x", timeout), None);
        s.select(3, t0, b"x");
        assert_eq!(
            s.check_operate(5, t0, b"x", timeout),
            Some(CommandStatus::NoSelect)
        );
        s.select(3, t0, b"x");
        assert_eq!(
            s.check_operate(4, t0 + Duration::from_millis(5001), b"y", timeout),
            Some(CommandStatus::Timeout)
        );
        s.select(3, t0, b"x");
        assert_eq!(
            s.check_operate(4, t0, b"y", timeout),
            Some(CommandStatus::NoSelect)
        );
        assert_eq!(
            s.check_operate(4, t0, b"x", timeout),
            Some(CommandStatus::NoSelect),
            "a failed operate cancels the selection"
        );
    }

    #[test]
    fn mirror_outputs_maps_codes_to_states() {
        let c = |code| Crob {
            code: crate::objects::ControlCode(code),
            count: 1,
            on_time: 0,
            off_time: 0,
        };
        assert_eq!(MirrorOutputs::target(&c(0x03)), Some(true));
        assert_eq!(MirrorOutputs::target(&c(0x04)), Some(false));
        assert_eq!(MirrorOutputs::target(&c(0x41)), Some(true));
        assert_eq!(MirrorOutputs::target(&c(0x81)), Some(false));
        assert_eq!(MirrorOutputs::target(&c(0x00)), None);
    }
}
