//! The unsolicited task: ENABLE_UNSOLICITED or DISABLE_UNSOLICITED for event classes, answered
//! with a null response (IEEE 1815-2012, clause 4). The master disables unsolicited responses
//! at startup and enables the configured classes once its integrity poll is done.

use super::{accepted, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::master::delivery::MeasurementSink;
use crate::master::request::TaskError;
use crate::objects::Classes;
use crate::session::Now;

/// An automatic ENABLE_UNSOLICITED or DISABLE_UNSOLICITED.
pub(crate) struct UnsolicitedTask {
    enable: bool,
    classes: Classes,
}

impl UnsolicitedTask {
    /// ENABLE_UNSOLICITED for the event classes of `classes`.
    pub(crate) fn enable(classes: Classes) -> Self {
        UnsolicitedTask {
            enable: true,
            classes,
        }
    }

    /// DISABLE_UNSOLICITED for classes 1, 2 and 3.
    pub(crate) fn disable() -> Self {
        UnsolicitedTask {
            enable: false,
            classes: Classes::EVENTS,
        }
    }
}

impl MasterTask for UnsolicitedTask {
    fn name(&self) -> &'static str {
        if self.enable {
            "enable unsolicited"
        } else {
            "disable unsolicited"
        }
    }

    fn function(&self) -> FunctionCode {
        if self.enable {
            FunctionCode::EnableUnsolicited
        } else {
            FunctionCode::DisableUnsolicited
        }
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        FragmentWriter::request(out, AppControl::single(seq), self.function())
            .and_then(|mut w| {
                for v in self.classes.event_variations() {
                    w.all(v)?;
                }
                Ok(w.len())
            })
            .map_err(|_| TaskError::BadRequest("fragment too small"))
    }

    fn on_response(
        self,
        _now: &Now,
        response: &Fragment<'_>,
        _sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        match accepted(response) {
            Ok(_) => Outcome::Done(Ok(())),
            Err(e) => Outcome::Failed(self.into(), e),
        }
    }

    fn fail(self, _error: TaskError) {}
}
