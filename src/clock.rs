//! The one place the I/O crate reads the clocks: the protocol crate takes time as an argument.

use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::Now;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Reads the monotonic clock (for timers) and the wall clock (for DNP3 time stamps).
pub(crate) fn now() -> Now {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Now {
        instant: Instant::now(),
        wall: Timestamp(wall),
    }
}
