//! Helpers shared by rdnp3's tests, examples and benchmarks: clocks, hex, a seeded RNG, the
//! demo database, certificates, process limits and probes, and a runner for both reactor
//! backends. Not published: nothing here is part of rdnp3's API.
//!
//! Only integration tests (`tests/`), benchmarks and examples may use this crate: it depends
//! on `rdnp3-stack` and `rdnp3-reactor`, so a crate's own unit tests would see two copies of
//! their types.
#![deny(missing_docs)]

#[cfg(feature = "full")]
pub mod backends;
pub mod demo;
pub mod fault_proxy;
pub mod hex;
#[cfg(feature = "pki")]
pub mod pki;
#[cfg(feature = "full")]
pub mod process;
pub mod rng;

use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::Now;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Reads both clocks, as the I/O crate does for every event: tests and examples that drive
/// the protocol crate by hand pass this in.
pub fn now() -> Now {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Now {
        instant: Instant::now(),
        wall: Timestamp(wall),
    }
}
