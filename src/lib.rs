//! rdnp3: a DNP3 (IEEE 1815) master and outstation stack on its own per-core reactor.
//!
//! This crate is the front door for users of the reactor: a [`Manager`] owns one executor
//! thread per core; each [`Channel`] is one connection — a TCP client, a TCP server, a TLS
//! client or server (feature `tls`) or a serial port (feature `serial`) — carrying one or more
//! DNP3 sessions routed by link address: [`Master`] associations and [`Outstation`]s. Requests
//! return completions that can be waited on from a plain thread or awaited from any async
//! runtime; callbacks (measurement, control and state handlers, association listeners) run
//! on the channel's executor and must not block. [`Channel::master_stats`] and
//! [`Manager::master_stats`] read the statistics of every master association at once.
//!
//! The protocol itself lives in [`rdnp3_stack`] (re-exported as [`stack`]): a sans-I/O crate that
//! users with their own event loop drive directly. This crate only moves bytes and time between
//! it and the reactor ([`reactor`]).
//!
//! ```no_run
//! use rdnp3::{ChannelConfig, Classes, Manager, MasterConfig, Measurement, ReadHandler, ReadRequest};
//! use std::time::Duration;
//!
//! struct Print;
//!
//! impl ReadHandler for Print {
//!     fn measurement(&mut self, m: &Measurement<'_>) {
//!         println!("{} {} {} 0x{:02X}", m.kind.name(), m.index, m.value, m.flags);
//!     }
//! }
//!
//! let manager = Manager::new(0)?; // one executor per core, io_uring or epoll
//! let remote = "127.0.0.1:20000".parse()?;
//! let channel = manager.add_tcp_client(ChannelConfig::named("rtu-1"), remote, None)?;
//! let master = channel.add_master(MasterConfig::default(), Box::new(Print))?;
//! master.add_poll(ReadRequest::classes(Classes::EVENTS), Duration::from_secs(1))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Dial-in outstations
//!
//! Outstations that connect to the master (cellular links) all reach one
//! [`Manager::add_master_listener`] endpoint; the [`MasterListener`] hands each connection to
//! the association registered for it, identified by the link source address of the first
//! frame the outstation sends (or by peer IP: [`DialInBinding`]). Each association is an
//! ordinary [`Master`], offline until its outstation dials in. Outstations without an
//! association go to an [`UnknownOutstations`] callback; [`ListenerConfig`] bounds what waits
//! to be identified and chooses what a second connection of an outstation does.
//!
//! ```no_run
//! use rdnp3::stack::master::NullReadHandler;
//! use rdnp3::{Classes, ListenerConfig, Manager, MasterConfig, ReadRequest};
//! use std::time::Duration;
//!
//! let manager = Manager::new(0)?;
//! let local = "0.0.0.0:20000".parse()?;
//! let listener = manager.add_master_listener(ListenerConfig::default(), local, None)?;
//! for outstation in 10..20 {
//!     let config = MasterConfig::default().with_outstation_address(outstation);
//!     let master = listener.add_master(config, Box::new(NullReadHandler))?;
//!     master.add_poll(ReadRequest::classes(Classes::EVENTS), Duration::from_secs(10))?;
//! }
//! println!("{:?}", listener.stats());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//! - `tls` (default): [`Manager::add_tls_client`], [`Manager::add_tls_server`] and
//!   [`Manager::add_tls_master_listener`], with rustls.
//! - `serial` (default): [`Manager::add_serial`], with serialport.
//! - `serde`: `Serialize` and `Deserialize` for every config type ([`ChannelConfig`],
//!   [`MasterConfig`], [`OutstationConfig`], [`TlsConfig`], [`SerialSettings`] and what they
//!   hold), so applications load configs from files as the `rdnp3` CLI does; durations are
//!   milliseconds (see `rdnp3_stack::serde_support`).
//! - `cli`: the `rdnp3` command-line binary.
#![deny(missing_docs)]

mod channel;
mod clock;
mod config;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod listener;
mod manager;
mod master;
mod outstation;
#[cfg(feature = "serial")]
mod serial;
mod stats;
mod stream;
#[cfg(feature = "tls")]
mod tls;

pub use rdnp3_reactor as reactor;
pub use rdnp3_stack as stack;

pub use channel::Channel;
pub use config::{
    ChannelConfig, ChannelListener, ChannelState, DialInBinding, ListenerConfig, ServerPolicy,
};
pub use error::ChannelError;
pub use limits::{GateStats, LimitStats};
pub use listener::{
    DialInAssociation, DialInError, ListenerStats, MasterListener, UnknownOutstation,
    UnknownOutstations,
};
pub use manager::{Manager, ManagerBuilder};
pub use master::Master;
pub use outstation::Outstation;
#[cfg(feature = "serial")]
pub use serial::{DataBits, FlowControl, Parity, SerialSettings, StopBits};
pub use stats::AssociationStats;
pub use stream::{
    measurement_stream, MeasurementStream, Next, OwnedMeasurement, OwnedValue, StreamHandler,
};
#[cfg(feature = "tls")]
pub use tls::{PeerAuthentication, TlsConfig, TlsConfigError, TlsError, TlsVersion};

pub use rdnp3_reactor::{Backend, Completion, FdLimit};
pub use rdnp3_stack::app::{FunctionCode, Iin};
pub use rdnp3_stack::master::{
    AnalogOutput, AssociationListener, AssociationState, Classes, Command, CommandMode,
    CommandResult, MasterConfig, MasterStats, Measurement, MeasurementValue,
    NullAssociationListener, PollId, ReadHandler, ReadHeader, ReadRequest, ResponseInfo,
    RestartKind, TaskError, TimeQuality, TimeSyncMode, UnsupportedObject,
};
pub use rdnp3_stack::master::{
    ClassAssignment, Deadband, FreezeKind, FreezeRequest, ObjectHeaders, PointRange, WriteRequest,
    ALL_ATTRIBUTES,
};
pub use rdnp3_stack::objects::{CommandStatus, Crob, DoubleBit, OpType, Timestamp};
pub use rdnp3_stack::outstation::{
    ControlHandler, ControlToken, Database, DeviceAttributes, EventClass, OutstationApplication,
    OutstationConfig, OutstationStats, PointConfig, PointType, Update,
};
pub use rdnp3_stack::router::{ChannelStats, DecodeLevel};
