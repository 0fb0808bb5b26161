//! Channels: a transport (TCP client or server) on the reactor, carrying one or more DNP3
//! sessions routed by link address. The [`ChannelEngine`] does the DNP3 work without I/O;
//! the reactor task moves bytes, keeps one timer and reconnects; [`Manager`], [`Channel`] and
//! [`Master`] are the handles user threads hold.

mod config;
mod engine;
mod manager;
mod stats;
mod task;

pub use config::{ChannelConfig, ChannelListener, ChannelState, DecodeLevel, ServerPolicy};
pub use engine::{AddSessionError, ChannelEngine, SessionKind, TimerOutcome};
pub use manager::{Channel, ChannelError, Manager, ManagerBuilder, Master, Outstation};
pub use stats::{ChannelCounters, ChannelStats};
