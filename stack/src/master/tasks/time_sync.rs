//! The time synchronisation task (IEEE 1815-2012, clause 4). LAN: RECORD_CURRENT_TIME, then
//! WRITE g50v3 with the time the request was sent. Non-LAN: DELAY_MEASURE, then WRITE g50v1
//! with the current time corrected by half the round trip less the outstation's own delay.

use super::{accepted, g52_delay, MasterTask, Outcome};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::master::delivery::MeasurementSink;
use crate::master::request::{Reply, TaskError, TimeSyncMode};
use crate::objects::{Point, Timestamp, Value, Variation};
use crate::session::Now;
use std::time::{Duration, Instant};

/// The request of a time synchronisation the master sends next (or awaits the response to).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Nothing sent yet.
    Begin,
    /// LAN: RECORD_CURRENT_TIME sent at `recorded` (wall clock).
    RecordCurrentTime { recorded: Timestamp },
    /// Non-LAN: DELAY_MEASURE sent at `sent` (monotonic clock).
    DelayMeasure { sent: Instant },
    /// LAN: WRITE g50v3 of the recorded time.
    WriteRecordedTime { recorded: Timestamp },
    /// Non-LAN: WRITE g50v1 of the time of writing plus the one-way `propagation` delay.
    WriteTime { propagation: Duration },
}

/// One time synchronisation, asked for by a user or by the outstation's NEED_TIME.
pub(crate) struct TimeSyncTask {
    mode: TimeSyncMode,
    step: Step,
    /// `None` when the master started it on its own.
    reply: Option<Reply<()>>,
}

impl TimeSyncTask {
    /// A user's time synchronisation; `reply` gets the result.
    pub(crate) fn user(mode: TimeSyncMode, reply: Reply<()>) -> Self {
        Self::new(mode, Some(reply))
    }

    /// The automatic time synchronisation that answers NEED_TIME.
    pub(crate) fn automatic(mode: TimeSyncMode) -> Self {
        Self::new(mode, None)
    }

    fn new(mode: TimeSyncMode, reply: Option<Reply<()>>) -> Self {
        TimeSyncTask {
            mode,
            step: Step::Begin,
            reply,
        }
    }

    fn finish(self, result: Result<(), TaskError>) {
        if let Some(reply) = self.reply {
            reply.send(result);
        }
    }
}

impl MasterTask for TimeSyncTask {
    fn name(&self) -> &'static str {
        match self.mode {
            TimeSyncMode::Lan => "time sync (LAN)",
            TimeSyncMode::NonLan => "time sync (non-LAN)",
        }
    }

    fn function(&self) -> FunctionCode {
        match (self.step, self.mode) {
            (Step::Begin, TimeSyncMode::Lan) | (Step::RecordCurrentTime { .. }, _) => {
                FunctionCode::RecordCurrentTime
            }
            (Step::Begin, TimeSyncMode::NonLan) | (Step::DelayMeasure { .. }, _) => {
                FunctionCode::DelayMeasure
            }
            (Step::WriteRecordedTime { .. } | Step::WriteTime { .. }, _) => FunctionCode::Write,
        }
    }

    fn write(&mut self, now: &Now, seq: u8, out: &mut [u8]) -> Result<usize, TaskError> {
        let control = AppControl::single(seq);
        let (variation, time) = match self.step {
            Step::Begin | Step::RecordCurrentTime { .. } | Step::DelayMeasure { .. } => {
                // The first request carries no objects; the time it leaves is what counts.
                self.step = match self.mode {
                    TimeSyncMode::Lan => Step::RecordCurrentTime { recorded: now.wall },
                    TimeSyncMode::NonLan => Step::DelayMeasure { sent: now.instant },
                };
                return FragmentWriter::request(out, control, self.function())
                    .map(|w| w.len())
                    .map_err(|_| TaskError::BadRequest("fragment too small"));
            }
            Step::WriteRecordedTime { recorded } => (Variation::Group50Var3, recorded),
            Step::WriteTime { propagation } => (
                Variation::Group50Var1,
                Timestamp(now.wall.0 + propagation.as_millis() as u64),
            ),
        };
        FragmentWriter::request(out, control, FunctionCode::Write)
            .and_then(|mut w| {
                w.single(variation, &Point::new(0, Value::None).with_time(time))?;
                Ok(w.len())
            })
            .map_err(|_| TaskError::BadRequest("fragment too small"))
    }

    fn on_response(
        mut self,
        now: &Now,
        response: &Fragment<'_>,
        _sink: &mut MeasurementSink<'_>,
    ) -> Outcome {
        if let Err(e) = accepted(response) {
            return Outcome::Failed(self.into(), e);
        }
        match self.step {
            Step::RecordCurrentTime { recorded } => {
                self.step = Step::WriteRecordedTime { recorded };
                Outcome::Next(self.into())
            }
            Step::DelayMeasure { sent } => match g52_delay(response) {
                Some(delay) => {
                    let round_trip = now.instant.saturating_duration_since(sent);
                    let propagation = round_trip.saturating_sub(delay) / 2;
                    self.step = Step::WriteTime { propagation };
                    Outcome::Next(self.into())
                }
                None => Outcome::Failed(
                    self.into(),
                    TaskError::BadResponse("no g52 delay in the response"),
                ),
            },
            Step::WriteRecordedTime { .. } | Step::WriteTime { .. } => {
                self.finish(Ok(()));
                Outcome::Done(Ok(()))
            }
            Step::Begin => Outcome::Failed(
                self.into(),
                TaskError::BadResponse("response before the request"),
            ),
        }
    }

    fn wanted(&self) -> bool {
        self.reply.as_ref().is_none_or(Reply::is_wanted)
    }

    fn fail(self, error: TaskError) {
        self.finish(Err(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::NullReadHandler;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn respond(task: TimeSyncTask, now: &Now, s: &str) -> Outcome {
        let (mut handler, mut delivered) = (NullReadHandler, 0);
        let mut sink = MeasurementSink::new(&mut handler, &mut delivered);
        task.on_response(now, &Fragment::parse(&hex(s)).unwrap(), &mut sink)
    }

    fn written(task: &mut TimeSyncTask, now: &Now, seq: u8) -> Vec<u8> {
        let mut out = [0u8; 32];
        let n = task.write(now, seq, &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn non_lan_writes_the_time_plus_half_the_round_trip_less_the_outstation_delay() {
        let start = Now {
            instant: Instant::now(),
            wall: Timestamp(1000),
        };
        let mut task = TimeSyncTask::automatic(TimeSyncMode::NonLan);
        assert_eq!(written(&mut task, &start, 0), hex("C0 17"));
        // Answered 100 ms later, the outstation having held it 10 ms: 45 ms each way, so
        // the write at 1100 ms carries 1145 ms.
        let later = start.after(Duration::from_millis(100));
        let Outcome::Next(crate::master::tasks::Task::TimeSync(mut task)) =
            respond(task, &later, "C0 81 00 00 34 02 07 01 0A 00")
        else {
            panic!("the delay measurement leads to the write");
        };
        assert_eq!(
            written(&mut task, &later, 1),
            hex("C1 02 32 01 07 01 79 04 00 00 00 00")
        );
        assert!(matches!(
            respond(task, &later, "C1 81 00 00"),
            Outcome::Done(Ok(()))
        ));
    }

    #[test]
    fn a_delay_measurement_without_g52_fails() {
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(0),
        };
        let mut task = TimeSyncTask::automatic(TimeSyncMode::NonLan);
        written(&mut task, &now, 0);
        assert!(matches!(
            respond(task, &now, "C0 81 00 00"),
            Outcome::Failed(_, TaskError::BadResponse(_))
        ));
    }
}
