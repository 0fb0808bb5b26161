//! The clear-restart task: WRITE of g80v1 index 7 to 0, clearing the outstation's
//! DEVICE_RESTART IIN bit after it restarted (IEEE 1815-2012, clause 4).

use super::{accepted, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin};
use crate::master::delivery::MeasurementSink;
use crate::master::request::TaskError;
use crate::objects::{Point, Value, Variation};
use crate::session::Now;

/// IIN1.7 (DEVICE_RESTART) is bit 7 of the g80 internal indications.
const DEVICE_RESTART_INDEX: u16 = 7;

/// The automatic WRITE that clears DEVICE_RESTART.
pub(crate) struct ClearRestartTask;

impl MasterTask for ClearRestartTask {
    fn name(&self) -> &'static str {
        "clear restart"
    }

    fn function(&self) -> FunctionCode {
        FunctionCode::Write
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        let index = DEVICE_RESTART_INDEX;
        FragmentWriter::request(out, AppControl::single(seq), FunctionCode::Write)
            .and_then(|mut w| {
                w.ranged(Variation::Group80Var1, index, index)?
                    .push(&Point::new(u32::from(index), Value::Bool(false)))?;
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
            Ok(iin) if iin.contains(Iin::DEVICE_RESTART) => {
                Outcome::Failed(self.into(), TaskError::BadResponse("restart bit still set"))
            }
            Ok(_) => Outcome::Done(Ok(())),
            Err(e) => Outcome::Failed(self.into(), e),
        }
    }

    fn fail(self, _error: TaskError) {}
}
