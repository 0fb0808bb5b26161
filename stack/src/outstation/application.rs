//! The outstation's application callbacks other than controls: time written by the master,
//! restart requests and application-owned IIN bits. Called on the channel's executor: they
//! must not block (hand slow work to another thread and return).

use crate::app::Iin;
use crate::objects::Timestamp;
use std::time::Duration;

/// What the session asks of the application besides controls. Every method has a default,
/// so an application implements only what it supports.
pub trait OutstationApplication {
    /// The master wrote the time (WRITE g50v1, or g50v3 after RECORD_CURRENT_TIME, already
    /// corrected for the time since the record). Return false to refuse it (IIN2.2); when it
    /// is accepted NEED_TIME clears. The default accepts and ignores it.
    fn on_time_write(&mut self, time: Timestamp) -> bool {
        let _ = time;
        true
    }

    /// The master wrote an indexed absolute time and long interval (WRITE g50v4): what the
    /// outstation does with it (e.g. schedule the freeze or report numbered by `index`) is
    /// the application's. The default does not support it (IIN2.0).
    fn on_indexed_time_write(
        &mut self,
        index: u16,
        time: Timestamp,
        interval: u32,
        units: u8,
    ) -> WriteOutcome {
        let _ = (index, time, interval, units);
        WriteOutcome::Unsupported
    }

    /// COLD_RESTART was requested: start the restart and return the time until the master may
    /// talk to the outstation again, or `None` when unsupported (IIN2.0, the default).
    fn cold_restart(&mut self) -> Option<Duration> {
        None
    }

    /// WARM_RESTART was requested; as [`OutstationApplication::cold_restart`].
    fn warm_restart(&mut self) -> Option<Duration> {
        None
    }

    /// Application-owned IIN bits added to every response: only IIN1.5 LOCAL_CONTROL,
    /// IIN1.6 DEVICE_TROUBLE, IIN2.4 ALREADY_EXECUTING and IIN2.5 CONFIG_CORRUPT are taken.
    fn application_iin(&self) -> Iin {
        Iin::NONE
    }
}

/// What the application made of a written object.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Taken.
    Accepted,
    /// Refused as a bad value (IIN2.2 PARAMETER_ERROR).
    Refused,
    /// Not supported by this outstation (IIN2.0 NO_FUNC_CODE_SUPPORT).
    Unsupported,
}

impl WriteOutcome {
    /// The IIN bits the response carries.
    pub(crate) fn iin(self) -> Iin {
        match self {
            WriteOutcome::Accepted => Iin::NONE,
            WriteOutcome::Refused => Iin::PARAMETER_ERROR,
            WriteOutcome::Unsupported => Iin::NO_FUNC_CODE_SUPPORT,
        }
    }
}

/// An application that accepts time writes and supports no restart.
#[derive(Copy, Clone, Debug, Default)]
pub struct DefaultApplication;

impl OutstationApplication for DefaultApplication {}

/// The IIN bits an application may set.
pub(crate) const APPLICATION_IIN: Iin = Iin(Iin::LOCAL_CONTROL.0
    | Iin::DEVICE_TROUBLE.0
    | Iin::ALREADY_EXECUTING.0
    | Iin::CONFIG_CORRUPT.0);
