//! rdnp3-stack: the DNP3 (IEEE 1815-2012) protocol, master and outstation, without I/O.
//!
//! The crate is sans-I/O in the manner of `quinn-proto` or `rustls`: it never opens a socket or
//! a serial port, never reads a clock, never starts a thread and never blocks. The caller passes
//! the current time ([`session::Now`]) and the received bytes in, takes the bytes to send out,
//! and asks when the next timer is due. An I/O crate (or your own event loop) only moves bytes
//! and timers, which is also how the tests wire a master to an outstation with no network.
//!
//! Data flows one way, layer by layer: bytes → [`link`] → [`transport`] → [`app`] →
//! [`session`] → the user's handler, and back down for requests and responses.
//!
//! - [`link`]: the data link layer (FT3 frames, IEEE 1815-2012, clause 9): CRC, header and
//!   control byte, frame formatting, the incremental stream parser, the secondary link-state
//!   machine (reset and FCB checking of link-confirmed frames) and the keep-alive timer.
//! - [`transport`]: the transport function (clause 8): fragments cut into segments of one link
//!   frame each, and joined again.
//! - [`app`]: the application layer (clause 4): fragment headers, function codes, IIN, object
//!   headers and qualifiers, parsed and formatted in place in caller buffers.
//! - [`objects`]: the object library (Annex A): the group/variation table and value types, one
//!   description from which both parsing and formatting come.
//! - [`session`]: the [`Session`](session::Session) contract between a channel and the
//!   associations it carries, and [`Now`](session::Now), the time passed in at every step.
//! - [`master`]: [`MasterSession`](master::MasterSession), one association with an outstation:
//!   startup sequence, polls, unsolicited responses, commands, time synchronisation.
//! - [`outstation`]: [`OutstationSession`](outstation::OutstationSession) over a
//!   [`Database`](outstation::Database) of points and event buffers: reads, controls,
//!   unsolicited reporting, broadcasts.
//! - [`router`]: [`Router`](router::Router), the DNP3 side of one channel: bytes in, frames
//!   routed by address to its sessions (multi-drop), link-layer replies and keep-alive, and all
//!   sessions' fragments framed into one output buffer.
//!
//! The parsers never allocate; sessions allocate their buffers once, when built.
//!
//! # A master and an outstation wired by hand
//!
//! Two routers, one per end of the line, and a loop that carries each one's output to the
//! other until both are quiet: on opening, the master runs its startup sequence, whose
//! integrity poll reads the outstation's analog input.
//!
//! ```
//! use rdnp3_stack::master::{
//!     MasterConfig, MasterSession, Measurement, MeasurementValue, ReadHandler,
//! };
//! use rdnp3_stack::objects::Timestamp;
//! use rdnp3_stack::outstation::{
//!     DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, OutstationConfig,
//!     OutstationSession, PointConfig, PointType, Update,
//! };
//! use rdnp3_stack::router::{ChannelCounters, DecodeLevel, Router, SessionKind};
//! use rdnp3_stack::session::Now;
//! use std::sync::{Arc, Mutex};
//! use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
//!
//! /// Keeps the analog inputs the master reads.
//! struct Analogs(Arc<Mutex<Vec<(u16, f64)>>>);
//!
//! impl ReadHandler for Analogs {
//!     fn measurement(&mut self, m: &Measurement<'_>) {
//!         if let MeasurementValue::Analog(value) = m.value {
//!             self.0.lock().unwrap().push((m.index, value));
//!         }
//!     }
//! }
//!
//! // The caller reads the clocks; the crate only ever gets them passed in.
//! let wall = SystemTime::now()
//!     .duration_since(UNIX_EPOCH)
//!     .map_or(0, |d| d.as_millis() as u64);
//! let now = Now { instant: Instant::now(), wall: Timestamp(wall) };
//!
//! let router = |name: &str| {
//!     let counters = Arc::new(ChannelCounters::default());
//!     let keep_alive = None;
//!     Router::new(name.into(), counters, DecodeLevel::Nothing, keep_alive, Duration::from_secs(1))
//! };
//!
//! // The outstation (link address 1024) with one analog input. Its default static variation,
//! // group 30 variation 1, carries a 32-bit integer: a whole value survives the trip.
//! let mut database = DatabaseBuilder::new()
//!     .add(PointType::AnalogInput, 0..1, PointConfig::new(EventClass::Class1))
//!     .build()?;
//! database.load(&now, &[Update::analog(0, 42.0)]);
//! let outstation = OutstationSession::new(
//!     OutstationConfig::default(),
//!     database,
//!     Box::new(MirrorOutputs),
//!     Box::new(DefaultApplication),
//! );
//! let mut outstation_end = router("outstation");
//! outstation_end.add(&now, SessionKind::Outstation(Box::new(outstation)))?;
//!
//! // The master (link address 1), talking to outstation 1024.
//! let analogs = Arc::new(Mutex::new(Vec::new()));
//! let master = MasterSession::new(MasterConfig::default(), Box::new(Analogs(analogs.clone())));
//! let mut master_end = router("master");
//! master_end.add(&now, SessionKind::Master(Box::new(master)))?;
//!
//! // The "connection" opens at both ends.
//! master_end.on_open(&now);
//! outstation_end.on_open(&now);
//!
//! // The line: move bytes both ways until neither end has anything to say.
//! let mut quiet = false;
//! for _ in 0..32 {
//!     let mut down = Vec::new();
//!     master_end.poll_send(&now, &mut down, 64 * 1024);
//!     outstation_end.on_bytes(&now, &down);
//!     let mut up = Vec::new();
//!     outstation_end.poll_send(&now, &mut up, 64 * 1024);
//!     master_end.on_bytes(&now, &up);
//!     if down.is_empty() && up.is_empty() {
//!         quiet = true;
//!         break;
//!     }
//! }
//! assert!(quiet, "the exchange never settled");
//! assert_eq!(*analogs.lock().unwrap(), [(0, 42.0)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod app;
pub mod link;
pub mod master;
pub mod objects;
pub mod outstation;
pub mod rate;
pub mod router;
#[cfg(feature = "serde")]
pub mod serde_support;
pub mod session;
pub mod transport;
