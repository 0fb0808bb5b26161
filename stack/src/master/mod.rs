//! The DNP3 master: one [`MasterSession`] per outstation association — startup sequence,
//! periodic polls, unsolicited responses with confirms, IIN reactions, commands (select before
//! operate, direct operate, direct operate without ack), time synchronisation (LAN and
//! non-LAN), restarts and arbitrary reads — as a sans-I/O state machine (see [`crate::session`]).

mod association;
mod config;
mod measurement;
mod request;
mod response;
mod tasks;

pub use association::{MasterSession, MasterStats, PollId};
pub use config::MasterConfig;
pub use measurement::{
    Measurement, MeasurementKind, MeasurementValue, NullReadHandler, ReadHandler, ResponseInfo,
};
pub use request::{
    AnalogOutput, Classes, Command, CommandMode, CommandResult, ReadHeader, ReadRequest, Reply,
    RestartKind, TaskError, TimeSyncMode,
};
