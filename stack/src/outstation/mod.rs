//! The DNP3 outstation, sans-I/O: a [`Database`] of static points with fixed-capacity event
//! buffers, deadbands and classes the master may reassign (ASSIGN_CLASS, g34), control
//! handling with select-before-operate, command events and controls answered later
//! ([`ControlToken`]), time synchronisation, device attributes (g0, [`DeviceAttributes`]),
//! unsolicited reporting and broadcast handling, all driven through [`OutstationSession`],
//! which implements [`Session`](crate::session::Session). Nothing here does I/O, reads a
//! clock or blocks; everything is single-threaded and lock-free.
//!
//! ```
//! use rdnp3_stack::outstation::*;
//!
//! let class1 = PointConfig::new(EventClass::Class1);
//! let database = DatabaseBuilder::new()
//!     .add(PointType::BinaryInput, 0..10, class1)
//!     .add(PointType::AnalogInput, 0..10, class1.with_deadband(0.5))
//!     .build()
//!     .expect("valid database");
//! let session = OutstationSession::new(
//!     OutstationConfig::default(),
//!     database,
//!     Box::new(MirrorOutputs),
//!     Box::new(DefaultApplication),
//! );
//! assert_eq!(session.database().len(PointType::AnalogInput), 10);
//! ```

mod application;
mod assign;
mod attributes;
mod config;
mod control;
mod database;
mod deferred;
mod events;
mod point;
mod read;
mod requests;
mod session;
mod stats;
mod unsolicited;
mod update;

pub use crate::objects::{Classes, EventClass, PointType};
pub use application::{DefaultApplication, OutstationApplication, WriteOutcome};
pub use attributes::DeviceAttributes;
pub use config::{EventBufferConfig, OutstationConfig};
pub use control::{ControlHandler, MirrorOutputs, OperateType, RejectControls};
pub use database::{Database, DatabaseBuilder, DatabaseError, DatabaseHandle};
pub use deferred::ControlToken;
pub use point::{PointConfig, PointState, PointValue};
pub use session::OutstationSession;
pub use stats::OutstationStats;
pub use update::{ApplyReport, Update};
