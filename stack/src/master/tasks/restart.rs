//! The restart task: COLD_RESTART or WARM_RESTART, answered with the time until the outstation
//! is back in a g52 object (IEEE 1815-2012, clause 4).

use super::{accepted, g52_delay, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::master::delivery::MeasurementSink;
use crate::master::request::{Reply, RestartKind, TaskError};
use crate::session::Now;
use std::time::Duration;

/// A user's cold or warm restart.
pub(crate) struct RestartTask {
    kind: RestartKind,
    reply: Reply<Duration>,
}

impl RestartTask {
    /// A restart; `reply` gets the time until the outstation is back.
    pub(crate) fn new(kind: RestartKind, reply: Reply<Duration>) -> Self {
        RestartTask { kind, reply }
    }
}

impl MasterTask for RestartTask {
    fn name(&self) -> &'static str {
        match self.kind {
            RestartKind::Cold => "cold restart",
            RestartKind::Warm => "warm restart",
        }
    }

    fn function(&self) -> FunctionCode {
        match self.kind {
            RestartKind::Cold => FunctionCode::ColdRestart,
            RestartKind::Warm => FunctionCode::WarmRestart,
        }
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        FragmentWriter::request(out, AppControl::single(seq), self.function())
            .map(|w| w.len())
            .map_err(|_| TaskError::BadRequest("fragment too small"))
    }

    fn on_response(
        self,
        _now: &Now,
        response: &Fragment<'_>,
        _sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        if let Err(e) = accepted(response) {
            return Outcome::Failed(self.into(), e);
        }
        match g52_delay(response) {
            Some(delay) => {
                self.reply.send(Ok(delay));
                Outcome::Done(Ok(()))
            }
            None => Outcome::Failed(
                self.into(),
                TaskError::BadResponse("no g52 restart time in the response"),
            ),
        }
    }

    fn wanted(&self) -> bool {
        self.reply.is_wanted()
    }

    fn fail(self, error: TaskError) {
        self.reply.send(Err(error));
    }
}
