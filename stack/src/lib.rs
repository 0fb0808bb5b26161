//! rdnp3-stack: the DNP3 protocol. This crate holds the pure codec — link frames
//! ([`link`]), transport segments ([`transport`]), application fragments ([`app`]) and the
//! object library ([`objects`]) — which does no I/O, reads no clock and never allocates per
//! point.
#![deny(missing_docs)]

pub mod app;
pub mod channel;
pub mod link;
pub mod master;
pub mod objects;
pub mod outstation;
pub mod session;
pub mod transport;
