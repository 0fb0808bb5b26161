//! The function task: one request of any function code with pre-encoded object headers —
//! freezes, unsolicited enable/disable on demand, ASSIGN_CLASS, WRITEs, device attribute reads
//! and users' generic requests. Objects in the responses go to the read handler like any other
//! response; the `_NR` function codes complete once sent (IEEE 1815-2012, clause 4).

use super::{accepted, rejection, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::master::delivery::MeasurementSink;
use crate::master::functions::ObjectHeaders;
use crate::master::request::{Reply, TaskError};
use crate::session::Now;

/// One request and where its response stands.
pub(crate) struct FunctionTask {
    name: &'static str,
    function: FunctionCode,
    /// The headers, or why they could not be encoded (the task fails when it would send).
    headers: Result<ObjectHeaders, &'static str>,
    reply: Option<Reply<()>>,
    /// Response fragments received so far (only a READ's response may have several).
    fragments: u32,
}

impl FunctionTask {
    /// A request named `name` in logs; `reply` gets the result. Fails with
    /// [`TaskError::BadRequest`] for codes a master does not send (responses, CONFIRM).
    pub(crate) fn new(
        name: &'static str,
        function: FunctionCode,
        headers: ObjectHeaders,
        reply: Reply<()>,
    ) -> Result<Self, (TaskError, Reply<()>)> {
        if function.is_response() || function == FunctionCode::Confirm {
            return Err((TaskError::BadRequest("not a request function code"), reply));
        }
        Ok(Self::automatic(name, function, Ok(headers), Some(reply)))
    }

    /// A request the association runs on its own (`reply` is `None`) or for a user.
    pub(crate) fn automatic(
        name: &'static str,
        function: FunctionCode,
        headers: Result<ObjectHeaders, &'static str>,
        reply: Option<Reply<()>>,
    ) -> Self {
        FunctionTask {
            name,
            function,
            headers,
            reply,
            fragments: 0,
        }
    }

    fn finish(self, result: Result<(), TaskError>) {
        if let Some(reply) = self.reply {
            reply.send(result);
        }
    }
}

impl MasterTask for FunctionTask {
    fn name(&self) -> &'static str {
        self.name
    }

    fn function(&self) -> FunctionCode {
        self.function
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        let headers = self
            .headers
            .as_ref()
            .map_err(|&why| TaskError::BadRequest(why))?;
        FragmentWriter::request(out, AppControl::single(seq), self.function)
            .and_then(|mut w| w.put(headers.as_bytes()).map(|()| w.len()))
            .map_err(|_| TaskError::BadRequest("the objects do not fit one fragment"))
    }

    fn sent(self) -> Outcome {
        if self.function.expects_no_response() {
            // No response will come: the request is the whole task.
            self.finish(Ok(()));
            return Outcome::Done(Ok(()));
        }
        Outcome::Await(self.into())
    }

    fn on_response(
        mut self,
        _now: &Now,
        response: &Fragment<'_>,
        sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        let checked = if self.function == FunctionCode::Read {
            // Only a READ's response may span fragments; the first, and only it, has FIR.
            if response.control.fir != (self.fragments == 0) {
                Err(TaskError::BadResponse("FIR out of order"))
            } else {
                rejection(response.iin.unwrap_or_default())
            }
        } else {
            accepted(response).map(|_| ())
        };
        if let Err(e) = checked {
            return Outcome::Failed(self.into(), e);
        }
        self.fragments += 1;
        sink.deliver(response, false);
        if !response.control.fin {
            return Outcome::Await(self.into());
        }
        self.finish(Ok(()));
        Outcome::Done(Ok(()))
    }

    fn wanted(&self) -> bool {
        self.reply.as_ref().is_none_or(Reply::is_wanted)
    }

    fn delivers_measurements(&self) -> bool {
        true
    }

    fn fail(self, error: TaskError) {
        self.finish(Err(error));
    }

    fn first_fragment_expected(&self) -> bool {
        self.fragments == 0
    }
}
