//! [`Update`]: a change to one point posted by the application, and what applying a batch
//! of them did ([`ApplyReport`]).

use super::point::PointValue;
use crate::objects::PointType;
use crate::objects::{flags, DoubleBit, Timestamp};

/// A change to one point: its new value, flags and optional time (the time of the change;
/// `None` uses the wall clock at `apply`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// Binary input.
    Binary {
        /// Point index.
        index: u16,
        /// State.
        value: bool,
        /// Quality flags (the state bit is taken from `value`).
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Double-bit input.
    DoubleBit {
        /// Point index.
        index: u16,
        /// State.
        value: DoubleBit,
        /// Quality flags (the state bits are taken from `value`).
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Binary output status.
    BinaryOutputStatus {
        /// Point index.
        index: u16,
        /// State.
        value: bool,
        /// Quality flags.
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Counter.
    Counter {
        /// Point index.
        index: u16,
        /// Count.
        value: u32,
        /// Quality flags.
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Frozen counter.
    FrozenCounter {
        /// Point index.
        index: u16,
        /// Frozen count.
        value: u32,
        /// Quality flags.
        flags: u8,
        /// Time of freeze.
        time: Option<Timestamp>,
    },
    /// Analog input.
    Analog {
        /// Point index.
        index: u16,
        /// Value.
        value: f64,
        /// Quality flags.
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Analog output status.
    AnalogOutputStatus {
        /// Point index.
        index: u16,
        /// Value.
        value: f64,
        /// Quality flags.
        flags: u8,
        /// Time of the change.
        time: Option<Timestamp>,
    },
    /// Octet string of 1..=255 bytes.
    OctetString {
        /// Point index.
        index: u16,
        /// The bytes.
        value: Vec<u8>,
        /// Time of the change.
        time: Option<Timestamp>,
    },
}

impl Update {
    /// A binary input change, ONLINE.
    pub fn binary(index: u16, value: bool) -> Self {
        Update::Binary {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// A double-bit input change, ONLINE.
    pub fn double_bit(index: u16, value: DoubleBit) -> Self {
        Update::DoubleBit {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// A binary output status change, ONLINE.
    pub fn binary_output_status(index: u16, value: bool) -> Self {
        Update::BinaryOutputStatus {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// A counter change, ONLINE.
    pub fn counter(index: u16, value: u32) -> Self {
        Update::Counter {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// A frozen counter change, ONLINE.
    pub fn frozen_counter(index: u16, value: u32) -> Self {
        Update::FrozenCounter {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// An analog input change, ONLINE.
    pub fn analog(index: u16, value: f64) -> Self {
        Update::Analog {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// An analog output status change, ONLINE.
    pub fn analog_output_status(index: u16, value: f64) -> Self {
        Update::AnalogOutputStatus {
            index,
            value,
            flags: flags::ONLINE,
            time: None,
        }
    }

    /// An octet string change.
    pub fn octet_string(index: u16, value: &[u8]) -> Self {
        Update::OctetString {
            index,
            value: value.to_vec(),
            time: None,
        }
    }

    /// The same update with other quality flags (no effect on octet strings).
    pub fn with_flags(mut self, new: u8) -> Self {
        match &mut self {
            Update::Binary { flags, .. }
            | Update::DoubleBit { flags, .. }
            | Update::BinaryOutputStatus { flags, .. }
            | Update::Counter { flags, .. }
            | Update::FrozenCounter { flags, .. }
            | Update::Analog { flags, .. }
            | Update::AnalogOutputStatus { flags, .. } => *flags = new,
            Update::OctetString { .. } => {}
        }
        self
    }

    /// The same update with an explicit time.
    pub fn with_time(mut self, t: Timestamp) -> Self {
        match &mut self {
            Update::Binary { time, .. }
            | Update::DoubleBit { time, .. }
            | Update::BinaryOutputStatus { time, .. }
            | Update::Counter { time, .. }
            | Update::FrozenCounter { time, .. }
            | Update::Analog { time, .. }
            | Update::AnalogOutputStatus { time, .. }
            | Update::OctetString { time, .. } => *time = Some(t),
        }
        self
    }

    /// Type, index, value, flags (state bits removed), time and octet bytes.
    pub(super) fn parts(&self) -> (PointType, u16, PointValue, u8, Option<Timestamp>, &[u8]) {
        match self {
            Update::Binary {
                index,
                value,
                flags,
                time,
            } => (
                PointType::BinaryInput,
                *index,
                PointValue::Binary(*value),
                flags & 0x7F,
                *time,
                &[],
            ),
            Update::DoubleBit {
                index,
                value,
                flags,
                time,
            } => (
                PointType::DoubleBitInput,
                *index,
                PointValue::DoubleBit(*value),
                flags & 0x3F,
                *time,
                &[],
            ),
            Update::BinaryOutputStatus {
                index,
                value,
                flags,
                time,
            } => (
                PointType::BinaryOutputStatus,
                *index,
                PointValue::Binary(*value),
                flags & 0x7F,
                *time,
                &[],
            ),
            Update::Counter {
                index,
                value,
                flags,
                time,
            } => (
                PointType::Counter,
                *index,
                PointValue::Counter(*value),
                *flags,
                *time,
                &[],
            ),
            Update::FrozenCounter {
                index,
                value,
                flags,
                time,
            } => (
                PointType::FrozenCounter,
                *index,
                PointValue::Counter(*value),
                *flags,
                *time,
                &[],
            ),
            Update::Analog {
                index,
                value,
                flags,
                time,
            } => (
                PointType::AnalogInput,
                *index,
                PointValue::Analog(*value),
                *flags,
                *time,
                &[],
            ),
            Update::AnalogOutputStatus {
                index,
                value,
                flags,
                time,
            } => (
                PointType::AnalogOutputStatus,
                *index,
                PointValue::Analog(*value),
                *flags,
                *time,
                &[],
            ),
            Update::OctetString { index, value, time } => (
                PointType::OctetString,
                *index,
                PointValue::OctetString {
                    len: value.len().min(255) as u8,
                },
                0,
                *time,
                value,
            ),
        }
    }
}

/// What [`Database::apply`](super::Database::apply) did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyReport {
    /// Updates applied.
    pub applied: usize,
    /// Updates ignored: no such point, or an octet string of 0 or more than 255 bytes.
    pub rejected: usize,
    /// Events created.
    pub events: usize,
}
