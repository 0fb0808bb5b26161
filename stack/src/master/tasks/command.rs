//! The command task: controls on binary outputs (CROB, g12v1) and analog outputs (g41) by
//! select before operate, direct operate or direct operate without acknowledgement. Every
//! echo is checked object by object against the request (IEEE 1815-2012, clause 4).

use super::{rejection, single_fragment, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode, WriteError};
use crate::master::delivery::MeasurementSink;
use crate::master::request::{AnalogOutput, Command, CommandMode, Reply, TaskError};
use crate::objects::{CommandStatus, Point, Value};
use crate::session::Now;

/// The request of a command task the master sends next (or awaits the response to).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Step {
    /// SELECT of select before operate.
    Select,
    /// OPERATE with the SELECT's objects, once every control was selected.
    Operate,
    /// DIRECT_OPERATE or DIRECT_OPERATE_NR.
    Direct,
}

/// One command request: its controls, its mode, and where it stands.
pub(crate) struct CommandTask {
    mode: CommandMode,
    step: Step,
    commands: Vec<Command>,
    reply: Reply<Vec<CommandStatus>>,
}

impl CommandTask {
    /// A command request; `commands` must not be empty. `reply` gets one status per control.
    pub(crate) fn new(
        mode: CommandMode,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    ) -> Self {
        let step = match mode {
            CommandMode::SelectBeforeOperate => Step::Select,
            CommandMode::DirectOperate | CommandMode::DirectOperateNoAck => Step::Direct,
        };
        CommandTask {
            mode,
            step,
            commands,
            reply,
        }
    }
}

impl MasterTask for CommandTask {
    fn name(&self) -> &'static str {
        match self.mode {
            CommandMode::SelectBeforeOperate => "select before operate",
            CommandMode::DirectOperate => "direct operate",
            CommandMode::DirectOperateNoAck => "direct operate no ack",
        }
    }

    fn function(&self) -> FunctionCode {
        match (self.step, self.mode) {
            (Step::Select, _) => FunctionCode::Select,
            (Step::Operate, _) => FunctionCode::Operate,
            (Step::Direct, CommandMode::DirectOperateNoAck) => FunctionCode::DirectOperateNr,
            (Step::Direct, _) => FunctionCode::DirectOperate,
        }
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        FragmentWriter::request(out, AppControl::single(seq), self.function())
            .and_then(|mut w| write_commands(&mut w, &self.commands).map(|()| w.len()))
            .map_err(|_| TaskError::BadRequest("commands do not fit one fragment"))
    }

    fn sent(self) -> Outcome {
        if self.mode == CommandMode::DirectOperateNoAck {
            // No response will come: the request is the whole task.
            self.reply.send(Ok(Vec::new()));
            return Outcome::Done(Ok(()));
        }
        Outcome::Await(self.into())
    }

    fn on_response(
        self,
        _now: &Now,
        response: &Fragment<'_>,
        _sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        if let Err(e) = single_fragment(response) {
            return Outcome::Failed(self.into(), e);
        }
        // An echo with statuses wins over IIN2 error bits: the statuses tell more.
        let statuses = match command_statuses(response, &self.commands) {
            Ok(statuses) => statuses,
            Err(e) => {
                let error = rejection(response.iin.unwrap_or_default())
                    .err()
                    .unwrap_or(e);
                return Outcome::Failed(self.into(), error);
            }
        };
        if self.step != Step::Select {
            self.reply.send(Ok(statuses));
            return Outcome::Done(Ok(()));
        }
        if statuses.iter().all(|s| *s == CommandStatus::Success) {
            return Outcome::Next(
                CommandTask {
                    step: Step::Operate,
                    ..self
                }
                .into(),
            );
        }
        // A refused SELECT is an answer, not a failure of the exchange: nothing is operated.
        let error = TaskError::SelectFailed(statuses);
        self.reply.send(Err(error.clone()));
        Outcome::Done(Err(error))
    }

    fn wanted(&self) -> bool {
        self.reply.is_wanted()
    }

    fn fail(self, error: TaskError) {
        self.reply.send(Err(error));
    }
}

/// Writes the controls as index-prefixed (qualifier 0x28) headers, one per run of equal
/// variations, each object with status 0.
fn write_commands(w: &mut FragmentWriter<'_>, commands: &[Command]) -> Result<(), WriteError> {
    let mut rest = commands;
    while let Some(first) = rest.first() {
        let variation = first.variation();
        let run = rest
            .iter()
            .take_while(|c| c.variation() == variation)
            .count();
        let mut h = w.prefixed(variation, true)?;
        for c in &rest[..run] {
            h.push(&point_of(c).with_status(0))?;
        }
        h.finish();
        rest = &rest[run..];
    }
    Ok(())
}

/// The object a control is written as.
fn point_of(c: &Command) -> Point<'static> {
    match *c {
        Command::Crob { index, crob } => Point::new(u32::from(index), Value::Crob(crob)),
        Command::Analog { index, value } => Point::new(u32::from(index), analog_value(value)),
    }
}

/// The object value of an analog output.
fn analog_value(v: AnalogOutput) -> Value<'static> {
    match v {
        AnalogOutput::I32(x) => Value::Signed(x),
        AnalogOutput::I16(x) => Value::Signed(i32::from(x)),
        AnalogOutput::F32(x) => Value::Float(f64::from(x)),
        AnalogOutput::F64(x) => Value::Float(x),
    }
}

/// The statuses of a control echo, checked object by object against the request: same
/// variations, indexes and values, in the same order, no more and no fewer.
fn command_statuses(
    response: &Fragment<'_>,
    commands: &[Command],
) -> Result<Vec<CommandStatus>, TaskError> {
    let mut statuses = Vec::with_capacity(commands.len());
    for h in response.objects() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::tasks::Task;
    use crate::objects::{Crob, OpType, Timestamp};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn now() -> Now {
        Now {
            instant: Instant::now(),
            wall: Timestamp(0),
        }
    }

    type Slot = Arc<Mutex<Option<Result<Vec<CommandStatus>, TaskError>>>>;

    fn task(mode: CommandMode) -> (CommandTask, Slot) {
        let slot: Slot = Arc::default();
        let s = slot.clone();
        let crob = Crob::new(OpType::LatchOn, 0, 0);
        let task = CommandTask::new(
            mode,
            vec![Command::Crob { index: 3, crob }],
            Reply::new(move |r| *s.lock().unwrap() = Some(r)),
        );
        (task, slot)
    }

    fn respond(task: CommandTask, s: &str) -> Outcome {
        let (mut handler, mut delivered) = (crate::master::NullReadHandler, 0);
        let mut sink = MeasurementSink::new(&mut handler, &mut delivered);
        task.on_response(&now(), &Fragment::parse(&hex(s)).unwrap(), &mut sink)
    }

    const ECHO: &str = "C4 81 00 00 0C 01 28 01 00 03 00 03 01 00 00 00 00 00 00 00 00 00";

    #[test]
    fn runs_of_equal_variations_share_one_header() {
        let commands = [
            Command::Analog {
                index: 1,
                value: AnalogOutput::I16(2),
            },
            Command::Analog {
                index: 4,
                value: AnalogOutput::I16(-1),
            },
        ];
        let mut out = [0u8; 64];
        let mut w = FragmentWriter::request(&mut out, AppControl::single(0), FunctionCode::Operate)
            .unwrap();
        write_commands(&mut w, &commands).unwrap();
        let n = w.len();
        assert_eq!(
            &out[..n],
            &hex("C0 04 29 02 28 02 00 01 00 02 00 00 04 00 FF FF 00")[..]
        );
    }

    #[test]
    fn a_successful_select_continues_with_the_operate() {
        let (task, slot) = task(CommandMode::SelectBeforeOperate);
        let Outcome::Next(Task::Command(operate)) = respond(task, ECHO) else {
            panic!("the select leads to the operate");
        };
        assert_eq!(operate.function(), FunctionCode::Operate);
        assert!(
            slot.lock().unwrap().is_none(),
            "no reply before the operate"
        );
        assert!(matches!(respond(operate, ECHO), Outcome::Done(Ok(()))));
        assert_eq!(
            slot.lock().unwrap().take(),
            Some(Ok(vec![CommandStatus::Success]))
        );
    }

    #[test]
    fn a_missing_echo_with_reject_bits_is_a_rejection() {
        let (task, slot) = task(CommandMode::DirectOperate);
        assert!(matches!(
            respond(task, "C4 81 00 04"),
            Outcome::Failed(_, TaskError::Rejected(_))
        ));
        assert!(slot.lock().unwrap().is_none(), "the association fails it");
    }

    #[test]
    fn direct_operate_without_ack_is_done_once_sent() {
        let (task, slot) = task(CommandMode::DirectOperateNoAck);
        assert_eq!(task.function(), FunctionCode::DirectOperateNr);
        assert!(matches!(task.sent(), Outcome::Done(Ok(()))));
        assert_eq!(slot.lock().unwrap().take(), Some(Ok(Vec::new())));
    }
}
