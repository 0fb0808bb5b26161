//! Channels: a transport (TCP client or server, or a serial port) on the reactor, carrying
//! one or more DNP3 sessions routed by link address. The [`ChannelEngine`] does the DNP3 work
//! without I/O; the reactor task moves bytes, keeps one timer and reconnects; [`Manager`],
//! [`Channel`] and [`Master`] are the handles user threads hold.

mod config;
mod engine;
mod manager;
mod serial;
mod stats;
mod task;
mod tls;

pub use config::{ChannelConfig, ChannelListener, ChannelState, DecodeLevel, ServerPolicy};
pub use engine::{AddSessionError, ChannelEngine, SessionKind, TimerOutcome};
pub use manager::{Channel, ChannelError, Manager, ManagerBuilder, Master, Outstation};
pub use serial::{DataBits, FlowControl, Parity, SerialSettings, StopBits};
pub use stats::{ChannelCounters, ChannelStats};
pub use tls::{PeerAuthentication, TlsConfig, TlsConfigError, TlsError, TlsVersion};
