//! The contract between a channel and the DNP3 sessions (master or outstation associations) it
//! carries. Sessions are sans-I/O state machines: the channel hands them complete application
//! fragments, the current time and timer expiries, and asks them for fragments to send. This
//! keeps every protocol rule testable without sockets, threads or clocks.

use crate::link::AddressKind;
use crate::objects::Timestamp;
use std::time::Instant;

/// The time at one step of a session: a monotonic instant for timers and the wall clock for
/// DNP3 timestamps (events, time synchronisation).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time: deadlines are expressed against it.
    pub instant: Instant,
    /// Wall-clock time, milliseconds since 1970 UTC.
    pub wall: Timestamp,
}

impl Now {
    /// This moment advanced by `d` on both clocks (for deterministic tests).
    pub fn after(&self, d: std::time::Duration) -> Self {
        Now {
            instant: self.instant + d,
            wall: Timestamp(self.wall.0 + d.as_millis() as u64),
        }
    }
}

/// What a channel needs from each session it carries.
pub trait Session {
    /// This session's own link address.
    fn local_address(&self) -> u16;

    /// The peer's link address (fragments are sent to it; others' frames are not for us).
    fn remote_address(&self) -> u16;

    /// True for a master association (sets DIR on the link).
    fn is_master(&self) -> bool;

    /// A complete application fragment from `source`, sent to our address or to a broadcast
    /// address (`destination` tells which).
    fn on_fragment(&mut self, now: &Now, source: u16, destination: AddressKind, fragment: &[u8]);

    /// Writes the next fragment this session wants to send into `out` (whose length is the
    /// maximum transmit fragment size) and returns its length, or `None` when it has nothing
    /// to send now. The channel calls it after every event until it returns `None`.
    fn next_fragment(&mut self, now: &Now, out: &mut [u8]) -> Option<usize>;

    /// The earliest moment `on_timer` must be called, if any.
    fn deadline(&self) -> Option<Instant>;

    /// Called at or after `deadline()`.
    fn on_timer(&mut self, now: &Now);

    /// The channel's connection is open (a TCP connection or serial port): start talking.
    fn on_link_up(&mut self, now: &Now);

    /// The channel's connection closed: in-flight exchanges fail, state is kept for the next
    /// connection where the protocol says so (e.g. buffered events).
    fn on_link_down(&mut self, now: &Now);
}

/// Builder-style setters for a config struct's public fields: `with_x(value) -> Self`. Config structs are
/// `#[non_exhaustive]` so that adding a field is not a breaking change; these setters are how
/// code outside the crate builds them.
#[macro_export]
#[doc(hidden)]
macro_rules! setters {
    ($ty:ident { $( $field:ident: $t:ty => $setter:ident ),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see the field).")]
                pub fn $setter(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}
