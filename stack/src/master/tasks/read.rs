//! The READ task: user reads, periodic polls and the integrity poll (at startup, after an
//! outstation restart, after an event buffer overflow). Its response may span several
//! fragments, each delivered to the read handler as it arrives (IEEE 1815-2012, clause 4).

use super::{MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::master::delivery::MeasurementSink;
use crate::master::request::{ReadRequest, Reply, TaskError};
use crate::session::Now;
use std::sync::Arc;

/// Who asked for the read, which decides its name in logs and whether anyone gets a reply.
enum Purpose {
    /// A user's read: the reply gets the result.
    User(Reply<()>),
    /// A periodic poll: no one waits for it.
    Periodic,
    /// The automatic integrity poll (classes 1, 2, 3 then 0).
    Integrity,
}

/// A READ request and how far its response has come.
pub(crate) struct ReadTask {
    /// Shared with the periodic poll it came from, so that starting a poll never allocates.
    request: Arc<ReadRequest>,
    purpose: Purpose,
    /// Response fragments received so far.
    fragments: u32,
}

impl ReadTask {
    /// A user's read; `reply` gets the result once the last fragment arrived.
    pub(crate) fn user(request: ReadRequest, reply: Reply<()>) -> Self {
        Self::new(Arc::new(request), Purpose::User(reply))
    }

    /// One run of a periodic poll.
    pub(crate) fn periodic(request: Arc<ReadRequest>) -> Self {
        Self::new(request, Purpose::Periodic)
    }

    /// The automatic integrity poll.
    pub(crate) fn integrity() -> Self {
        Self::new(Arc::new(ReadRequest::integrity()), Purpose::Integrity)
    }

    fn new(request: Arc<ReadRequest>, purpose: Purpose) -> Self {
        ReadTask {
            request,
            purpose,
            fragments: 0,
        }
    }
}

impl MasterTask for ReadTask {
    fn name(&self) -> &'static str {
        match self.purpose {
            Purpose::User(_) => "read",
            Purpose::Periodic => "periodic poll",
            Purpose::Integrity => "integrity poll",
        }
    }

    fn function(&self) -> FunctionCode {
        FunctionCode::Read
    }

    fn write(&mut self, _now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        FragmentWriter::request(out, AppControl::single(seq), FunctionCode::Read)
            .and_then(|mut w| self.request.write(&mut w).map(|()| w.len()))
            .map_err(|_| TaskError::BadRequest("read does not fit a fragment"))
    }

    fn on_response(
        mut self,
        _now: &Now,
        response: &Fragment<'_>,
        sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        // The first fragment of a response, and only the first, carries FIR.
        if response.control.fir != (self.fragments == 0) {
            return Outcome::Failed(self.into(), TaskError::BadResponse("FIR out of order"));
        }
        self.fragments += 1;
        if let Some(o) = sink.deliver(response, false) {
            let error = TaskError::UnsupportedObject {
                group: o.group,
                variation: o.variation,
            };
            return Outcome::Failed(self.into(), error);
        }
        if !response.control.fin {
            return Outcome::Await(self.into());
        }
        if let Purpose::User(reply) = self.purpose {
            reply.send(Ok(()));
        }
        Outcome::Done(Ok(()))
    }

    fn wanted(&self) -> bool {
        match &self.purpose {
            Purpose::User(reply) => reply.is_wanted(),
            _ => true,
        }
    }

    fn fail(self, error: TaskError) {
        if let Purpose::User(reply) = self.purpose {
            reply.send(Err(error));
        }
    }

    fn counts_as_poll(&self) -> bool {
        true
    }

    fn delivers_measurements(&self) -> bool {
        true
    }

    fn first_fragment_expected(&self) -> bool {
        self.fragments == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::measurement::{Measurement, ReadHandler};
    use crate::objects::Classes;
    use crate::objects::Timestamp;
    use std::time::Instant;

    struct Indexes(Vec<u16>);

    impl ReadHandler for Indexes {
        fn measurement(&mut self, m: &Measurement<'_>) {
            self.0.push(m.index);
        }
    }

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

    #[test]
    fn a_read_writes_its_headers() {
        let mut task = ReadTask::periodic(Arc::new(ReadRequest::classes(Classes::CLASS1)));
        let mut out = [0u8; 64];
        let n = task.write(&now(), 3, &mut out).unwrap();
        assert_eq!(&out[..n], &[0xC3, 0x01, 0x3C, 0x02, 0x06]);
        let mut tiny = [0u8; 4];
        assert!(matches!(
            task.write(&now(), 3, &mut tiny),
            Err(TaskError::BadRequest(_))
        ));
    }

    #[test]
    fn a_multi_fragment_response_is_awaited_until_fin_and_delivered_in_order() {
        let task = ReadTask::integrity();
        let mut handler = Indexes(Vec::new());
        let mut delivered = 0;
        let mut sink = MeasurementSink::new(&mut handler, &mut delivered);
        let first = hex("80 81 00 00 1E 01 00 00 00 01 07 00 00 00");
        let last = hex("41 81 00 00 1E 01 00 01 01 01 08 00 00 00");
        let Outcome::Await(task) =
            task.on_response(&now(), &Fragment::parse(&first).unwrap(), &mut sink)
        else {
            panic!("the first fragment does not end the read");
        };
        let outcome = task.on_response(&now(), &Fragment::parse(&last).unwrap(), &mut sink);
        assert!(matches!(outcome, Outcome::Done(Ok(()))));
        assert_eq!(delivered, 2);
        assert_eq!(handler.0, [0, 1]);
    }

    #[test]
    fn a_first_fragment_without_fir_fails_the_read() {
        let task = ReadTask::integrity();
        let mut handler = Indexes(Vec::new());
        let mut delivered = 0;
        let mut sink = MeasurementSink::new(&mut handler, &mut delivered);
        let middle = hex("01 81 00 00");
        let outcome = task.on_response(&now(), &Fragment::parse(&middle).unwrap(), &mut sink);
        assert!(matches!(
            outcome,
            Outcome::Failed(_, TaskError::BadResponse("FIR out of order"))
        ));
    }
}
