//! The DNP3 master: one [`MasterSession`] per outstation association — startup sequence,
//! periodic polls, unsolicited responses with confirms, IIN reactions, commands (select before
//! operate, direct operate, direct operate without ack), time synchronisation (LAN and
//! non-LAN), restarts, freezes, unsolicited enable/disable on demand, ASSIGN_CLASS, WRITEs,
//! device attribute reads and generic requests of any function code — as a sans-I/O state
//! machine (see [`crate::session`]).
//!
//! `association.rs` is the core (queue, SEQ, confirms, timeouts, the `Session` contract);
//! `confirms.rs` what is checked before a fragment is confirmed, and the confirms owed;
//! `repeats.rs` recognises events the outstation reports again after a lost confirm;
//! `scheduler.rs` and `polls.rs` decide what runs next; `tasks/` holds one file per master task,
//! each writing its own requests and judging its own responses; `functions.rs` builds the
//! object headers of the functions run by the generic function task; `health.rs` tells an
//! [`AssociationListener`] how the association fares (online/offline, task results, IIN,
//! restarts, unsolicited activity) and publishes its statistics for other threads.

mod association;
mod config;
mod confirms;
mod delivery;
mod device_data;
mod functions;
mod health;
mod measurement;
mod polls;
mod repeats;
mod request;
mod scheduler;
mod stats;
mod tasks;
mod user_requests;

pub use crate::objects::Classes;
pub use association::MasterSession;
pub use config::MasterConfig;
pub use device_data::{DeviceAttribute, SecurityStatistic, TimeObject};
pub use functions::{
    assign_class_headers, attributes_header, unsolicited_headers, ClassAssignment, Deadband,
    FreezeKind, FreezeRequest, ObjectHeaders, PointRange, WriteRequest, ALL_ATTRIBUTES,
    MAX_OBJECT_BYTES,
};
pub use health::{AssociationListener, AssociationState, NullAssociationListener, StatsSlot};
pub use measurement::{
    Measurement, MeasurementValue, NullReadHandler, ReadHandler, ResponseInfo, TimeQuality,
    UnsupportedObject,
};
pub use polls::PollId;
pub use request::{
    AnalogOutput, Command, CommandMode, CommandResult, ReadHeader, ReadRequest, Reply, RestartKind,
    TaskError, TimeSyncMode,
};
pub use stats::MasterStats;
