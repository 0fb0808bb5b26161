//! Shared pieces of the fuzz targets: how a fuzzer input is read as a script of steps (data
//! to deliver, polls, clock advances, connection drops), and the fixed clock they start from.
//!
//! The script format is simple enough that seeds can be written by hand (see `seed.py`):
//! a tag byte, then for data steps a little-endian `u16` length and that many bytes (fewer
//! when the input ends first).
#![deny(missing_docs)]

use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::Now;
use std::time::{Duration, Instant};

/// The tag of a data step to the session's own address from its peer.
pub const TAG_DATA: u8 = 0;

/// One step of a fuzz script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Bytes to deliver; `variant` (0..=3) picks how (own address, broadcast, other source…).
    Data {
        /// Which delivery the target makes of it.
        variant: u8,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// Ask for output until there is none.
    Poll,
    /// Move the clock on and run due timers.
    Advance(Duration),
    /// The connection drops and comes back.
    Reconnect,
}

/// Reads a fuzzer input as a sequence of [`Step`]s.
#[derive(Debug, Clone)]
pub struct Script<'a> {
    input: &'a [u8],
}

impl<'a> Script<'a> {
    /// A script over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Script { input }
    }
}

impl<'a> Iterator for Script<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        let (&tag, rest) = self.input.split_first()?;
        self.input = rest;
        Some(match tag % 8 {
            t @ 0..=3 => {
                let len = match *self.input {
                    [lo, hi, ..] => {
                        self.input = &self.input[2..];
                        usize::from(u16::from_le_bytes([lo, hi]))
                    }
                    _ => self.input.len(),
                };
                let (bytes, rest) = self.input.split_at(len.min(self.input.len()));
                self.input = rest;
                Step::Data { variant: t, bytes }
            }
            4 | 7 => Step::Poll,
            5 => {
                // Up to ~11 minutes in 10 ms steps: past every response, confirm and
                // keep-alive timeout.
                let steps = match *self.input {
                    [lo, hi, ..] => {
                        self.input = &self.input[2..];
                        u64::from(u16::from_le_bytes([lo, hi]))
                    }
                    _ => 1000,
                };
                Step::Advance(Duration::from_millis(steps * 10))
            }
            _ => Step::Reconnect,
        })
    }
}

/// A fixed starting time: runs are reproducible.
pub fn start() -> Now {
    Now {
        instant: Instant::now(),
        wall: Timestamp(1_600_000_000_000),
    }
}

/// The most fragments a session may hand out in one poll: a session that never stops
/// producing would stall its channel forever.
pub const MAX_FRAGMENTS_PER_POLL: usize = 256;
