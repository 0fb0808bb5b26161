//! rdnp3: a DNP3 (IEEE 1815) master and outstation stack running on its own per-core reactor.
//!
//! This facade re-exports the member crates: [`reactor`] (the event engine) and [`stack`]
//! (the DNP3 codec and sessions).
#![deny(missing_docs)]

pub use rdnp3_reactor as reactor;
pub use rdnp3_stack as stack;
