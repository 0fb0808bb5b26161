//! The master's tasks, one file per task. Each task writes its own requests and judges its own
//! responses; the association (see `association.rs`) only schedules them, numbers their requests,
//! times them out and routes responses to them through [`MasterTask`].
//!
//! Adding a task means one new file implementing [`MasterTask`] and one line in the `tasks!`
//! list below. Functions that are one request with objects known up front (freezes,
//! ASSIGN_CLASS, WRITEs, attribute reads, generic requests) need no new task: they run as a
//! [`FunctionTask`] with headers built in `master/functions.rs`.

mod clear_restart;
mod command;
mod function;
mod read;
mod restart;
mod time_sync;
mod unsolicited;

pub(crate) use clear_restart::ClearRestartTask;
pub(crate) use command::CommandTask;
pub(crate) use function::FunctionTask;
pub(crate) use read::ReadTask;
pub(crate) use restart::RestartTask;
pub(crate) use time_sync::TimeSyncTask;
pub(crate) use unsolicited::UnsolicitedTask;

use super::delivery::MeasurementSink;
use super::request::TaskError;
use crate::app::{Fragment, FunctionCode, Iin};
use crate::objects::{Value, Variation};
use crate::session::Now;
use std::time::Duration;

/// What every master task can do. The association drives a task through these calls only:
/// `write` for each request, `sent` once it is on its way, `on_response` for each response
/// fragment to it, and `fail` when it ends without a response (timeout, link down, shutdown,
/// a request that cannot be written, or a response the association already found unusable).
pub(crate) trait MasterTask: Sized + Into<Task> {
    /// A short name for logs ("integrity poll", "select before operate" …).
    fn name(&self) -> &'static str;

    /// The function code of the request the task sends next.
    fn function(&self) -> FunctionCode;

    /// Writes the task's next request with sequence number `seq` into `out` and returns its
    /// length. Fails with [`TaskError::BadRequest`] when it does not fit.
    fn write(&mut self, now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError>;

    /// The request written last is on its way: by default the task waits for its response.
    fn sent(self) -> Outcome {
        Outcome::Await(self.into())
    }

    /// Judges a response fragment to the task's request; the association has checked its
    /// SEQ and objects, confirmed it and reacted to its IIN already.
    fn on_response(
        self,
        now: &Now,
        response: &Fragment<'_>,
        sink: &mut MeasurementSink<'_>,
    ) -> Outcome;

    /// Ends the task with `error`, telling its requester (if a user asked for it).
    fn fail(self, error: TaskError);

    /// True when a successful end of this task counts as a completed poll in the statistics.
    fn counts_as_poll(&self) -> bool {
        false
    }

    /// True when the task hands the measurements of its responses to the read handler (reads
    /// and generic requests); the others answer requests that read nothing.
    fn delivers_measurements(&self) -> bool {
        false
    }

    /// False when the user who asked for the task no longer wants its result (see
    /// [`super::Reply`]): a queued task is then skipped. Automatic tasks are always wanted.
    fn wanted(&self) -> bool {
        true
    }

    /// True when the next response fragment must be the first of a response (FIR set); a
    /// task that takes multi-fragment responses says false once the first one came.
    fn first_fragment_expected(&self) -> bool {
        true
    }
}

/// Where a task stands after a request was sent or a response judged.
pub(crate) enum Outcome {
    /// The task is over with this result; its requester has been told.
    Done(Result<(), TaskError>),
    /// The task goes on with another request, sent as soon as the line allows
    /// (SELECT → OPERATE, RECORD_CURRENT_TIME → WRITE, DELAY_MEASURE → WRITE).
    Next(Task),
    /// The task waits for a response: to the request just sent, or the next fragment of a
    /// multi-fragment response.
    Await(Task),
    /// The response was rejected or unusable: the association counts the failure and ends the
    /// task with this error through [`MasterTask::fail`].
    Failed(Task, TaskError),
}

/// Declares the [`Task`] enum from the list of task types, with the dispatch of every
/// [`MasterTask`] method, so a new task is one line here.
macro_rules! tasks {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// The one task in flight (or queued, or waiting to send its next request).
        pub(crate) enum Task {
            $($(#[$doc])* $variant($ty),)*
        }

        $(impl From<$ty> for Task {
            fn from(task: $ty) -> Task {
                Task::$variant(task)
            }
        })*

        impl Task {
            /// See [`MasterTask::name`].
            pub(crate) fn name(&self) -> &'static str {
                match self { $(Task::$variant(t) => t.name(),)* }
            }

            /// See [`MasterTask::function`].
            pub(crate) fn function(&self) -> FunctionCode {
                match self { $(Task::$variant(t) => t.function(),)* }
            }

            /// See [`MasterTask::write`].
            pub(crate) fn write(
                &mut self,
                now: &Now,
                seq: u8,
                out: &mut [u8],
            ) -> Result<usize, TaskError> {
                match self { $(Task::$variant(t) => t.write(now, seq, out),)* }
            }

            /// See [`MasterTask::sent`].
            pub(crate) fn sent(self) -> Outcome {
                match self { $(Task::$variant(t) => t.sent(),)* }
            }

            /// See [`MasterTask::on_response`].
            pub(crate) fn on_response(
                self,
                now: &Now,
                response: &Fragment<'_>,
                sink: &mut MeasurementSink<'_>,
            ) -> Outcome {
                match self { $(Task::$variant(t) => t.on_response(now, response, sink),)* }
            }

            /// See [`MasterTask::fail`].
            pub(crate) fn fail(self, error: TaskError) {
                match self { $(Task::$variant(t) => t.fail(error),)* }
            }

            /// See [`MasterTask::counts_as_poll`].
            pub(crate) fn counts_as_poll(&self) -> bool {
                match self { $(Task::$variant(t) => t.counts_as_poll(),)* }
            }

            /// See [`MasterTask::delivers_measurements`].
            pub(crate) fn delivers_measurements(&self) -> bool {
                match self { $(Task::$variant(t) => t.delivers_measurements(),)* }
            }

            /// See [`MasterTask::wanted`].
            pub(crate) fn wanted(&self) -> bool {
                match self { $(Task::$variant(t) => t.wanted(),)* }
            }

            /// See [`MasterTask::first_fragment_expected`].
            pub(crate) fn first_fragment_expected(&self) -> bool {
                match self { $(Task::$variant(t) => t.first_fragment_expected(),)* }
            }
        }
    };
}

tasks! {
    /// A READ: user read, periodic poll or integrity poll.
    Read(ReadTask),
    /// Controls: select before operate, direct operate, direct operate without ack.
    Command(CommandTask),
    /// LAN or non-LAN time synchronisation.
    TimeSync(TimeSyncTask),
    /// Cold or warm restart.
    Restart(RestartTask),
    /// ENABLE_UNSOLICITED or DISABLE_UNSOLICITED.
    Unsolicited(UnsolicitedTask),
    /// Clearing the outstation's DEVICE_RESTART bit.
    ClearRestart(ClearRestartTask),
    /// Any other function: freezes, ASSIGN_CLASS, WRITEs, attribute reads, generic requests.
    Function(FunctionTask),
}

/// IIN2 bits that make a request fail (IEEE 1815-2012, clause 4).
pub(crate) const REJECT_BITS: Iin =
    Iin(Iin::NO_FUNC_CODE_SUPPORT.0 | Iin::OBJECT_UNKNOWN.0 | Iin::PARAMETER_ERROR.0);

/// Only READ responses may span fragments: any other response must be FIR and FIN.
fn single_fragment(response: &Fragment<'_>) -> Result<(), TaskError> {
    if response.control.fir && response.control.fin {
        Ok(())
    } else {
        Err(TaskError::BadResponse("multi-fragment response"))
    }
}

/// The rejection an IIN carries, if any of the [`REJECT_BITS`] is set.
fn rejection(iin: Iin) -> Result<(), TaskError> {
    if iin.intersects(REJECT_BITS) {
        Err(TaskError::Rejected(iin & REJECT_BITS))
    } else {
        Ok(())
    }
}

/// The checks every single-fragment response goes through before its task looks at the
/// objects: one fragment, and no rejection in IIN2.
fn accepted(response: &Fragment<'_>) -> Result<Iin, TaskError> {
    single_fragment(response)?;
    let iin = response.iin.unwrap_or_default();
    rejection(iin)?;
    Ok(iin)
}

/// The g52 time delay of a response (v1 seconds, v2 milliseconds): the restart time of a
/// restart, the outstation's processing delay of a delay measurement.
fn g52_delay(response: &Fragment<'_>) -> Option<Duration> {
    for h in response.objects().flatten() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn g52_delay_reads_seconds_and_milliseconds() {
        let v1 = hex("C4 81 00 00 34 01 07 01 02 00");
        let v2 = hex("C4 81 00 00 34 02 07 01 0A 00");
        let none = hex("C4 81 00 00");
        assert_eq!(
            g52_delay(&Fragment::parse(&v1).unwrap()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            g52_delay(&Fragment::parse(&v2).unwrap()),
            Some(Duration::from_millis(10))
        );
        assert_eq!(g52_delay(&Fragment::parse(&none).unwrap()), None);
    }

    #[test]
    fn a_response_with_reject_bits_or_several_fragments_is_not_accepted() {
        let rejected = hex("C4 81 00 02");
        let multi = hex("84 81 00 00");
        let fine = hex("C4 81 80 00");
        assert_eq!(
            accepted(&Fragment::parse(&rejected).unwrap()),
            Err(TaskError::Rejected(Iin::OBJECT_UNKNOWN))
        );
        assert!(matches!(
            accepted(&Fragment::parse(&multi).unwrap()),
            Err(TaskError::BadResponse(_))
        ));
        assert_eq!(
            accepted(&Fragment::parse(&fine).unwrap()),
            Ok(Iin::DEVICE_RESTART)
        );
    }
}
