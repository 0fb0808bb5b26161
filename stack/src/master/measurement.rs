//! Measurements as the master delivers them: typed values with flags and time, handed to the
//! user's [`ReadHandler`] one by one straight from the response bytes.

use super::device_data::{DeviceAttribute, SecurityStatistic, TimeObject};
use crate::app::{AppErrorKind, Iin};
use crate::objects::{
    flags, CommandStatus, DoubleBit, Point, PointType, Timestamp, Value, Variation,
};

/// A measurement's value, typed by its kind.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MeasurementValue<'a> {
    /// Binary input, binary output status, or the commanded state of a binary command event.
    Binary(bool),
    /// Double-bit input.
    DoubleBit(DoubleBit),
    /// Counter or frozen counter.
    Counter(u32),
    /// Analog input, frozen analog input, analog output status, or the value of an analog
    /// command event.
    Analog(f64),
    /// Octet string bytes.
    OctetString(&'a [u8]),
}

impl std::fmt::Display for MeasurementValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeasurementValue::Binary(b) => write!(f, "{b}"),
            MeasurementValue::DoubleBit(d) => f.write_str(d.name()),
            MeasurementValue::Counter(c) => write!(f, "{c}"),
            MeasurementValue::Analog(a) => write!(f, "{a}"),
            MeasurementValue::OctetString(b) => {
                for x in *b {
                    write!(f, "{x:02X}")?;
                }
                Ok(())
            }
        }
    }
}

/// One measurement of a response.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Measurement<'a> {
    /// Point type.
    pub kind: PointType,
    /// Point index.
    pub index: u16,
    /// Typed value.
    pub value: MeasurementValue<'a>,
    /// Quality flags; variations without flags report ONLINE (plus the state bit for binaries).
    pub flags: u8,
    /// Time of the event or freeze, where the variation carries one.
    pub time: Option<Timestamp>,
    /// Whether `time` came from a synchronized clock.
    pub time_quality: TimeQuality,
    /// True for event objects (g2, g4, g11, g13, g22, g23, g32, g33, g42, g43, g111).
    pub event: bool,
    /// The command status of a command event (g13, g43); `None` for the other kinds.
    pub status: Option<CommandStatus>,
}

/// How far a measurement's time can be trusted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeQuality {
    /// The time was set by a synchronized clock.
    Synchronized,
    /// The outstation's clock was not synchronized: the time came relative to an
    /// unsynchronized CTO (g51v2), or the response's IIN asked for time (NEED_TIME).
    Unsynchronized,
    /// The object carries no time.
    NoTime,
}

impl TimeQuality {
    /// Lower-case name for logs and examples.
    pub fn name(self) -> &'static str {
        match self {
            TimeQuality::Synchronized => "synchronized",
            TimeQuality::Unsynchronized => "unsynchronized",
            TimeQuality::NoTime => "none",
        }
    }
}

impl<'a> Measurement<'a> {
    /// A static measurement with flags ONLINE and no time; set the other fields as needed.
    /// For handler tests: the master builds its measurements from the response bytes.
    pub fn new(kind: PointType, index: u16, value: MeasurementValue<'a>) -> Self {
        Measurement {
            kind,
            index,
            value,
            flags: flags::ONLINE,
            time: None,
            time_quality: TimeQuality::NoTime,
            event: false,
            status: None,
        }
    }

    /// Converts one decoded point of `variation`; `None` for non-measurement objects.
    pub fn from_point(variation: Variation, p: &Point<'a>) -> Option<Self> {
        let (kind, event) = PointType::of(variation)?;
        let index = u16::try_from(p.index).ok()?;
        let value = match (kind, p.value) {
            (PointType::BinaryInput | PointType::BinaryOutputStatus, Value::Bool(b)) => {
                MeasurementValue::Binary(b)
            }
            (PointType::DoubleBitInput, Value::DoubleBit(d)) => MeasurementValue::DoubleBit(d),
            (PointType::Counter | PointType::FrozenCounter, v) => {
                MeasurementValue::Counter(v.as_i64()?.clamp(0, u32::MAX.into()) as u32)
            }
            (PointType::BinaryCommandEvent, Value::Bool(b)) => MeasurementValue::Binary(b),
            (
                PointType::AnalogInput
                | PointType::AnalogOutputStatus
                | PointType::FrozenAnalogInput
                | PointType::AnalogCommandEvent,
                v,
            ) => MeasurementValue::Analog(v.as_f64()?),
            (PointType::OctetString, Value::Bytes(b)) => MeasurementValue::OctetString(b),
            _ => return None,
        };
        let flags = p.flags.unwrap_or(match value {
            MeasurementValue::Binary(true) => flags::ONLINE | flags::STATE,
            MeasurementValue::DoubleBit(d) => flags::ONLINE | (d.to_bits() << 6),
            _ => flags::ONLINE,
        });
        Some(Measurement {
            kind,
            index,
            value,
            flags,
            time: p.time,
            time_quality: if p.time.is_some() {
                TimeQuality::Synchronized
            } else {
                TimeQuality::NoTime
            },
            event,
            status: p.status.map(CommandStatus::from_u8).filter(|_| {
                matches!(
                    kind,
                    PointType::BinaryCommandEvent | PointType::AnalogCommandEvent
                )
            }),
        })
    }
}

/// What a response carried the measurements in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseInfo {
    /// True for unsolicited responses.
    pub unsolicited: bool,
    /// First fragment of the response.
    pub fir: bool,
    /// Final fragment of the response.
    pub fin: bool,
    /// The response's IIN.
    pub iin: Iin,
}

impl ResponseInfo {
    /// A response's description, for handler tests.
    pub fn new(unsolicited: bool, fir: bool, fin: bool, iin: Iin) -> Self {
        ResponseInfo {
            unsolicited,
            fir,
            fin,
            iin,
        }
    }
}

/// An object header of a response that the master could not parse.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsupportedObject {
    /// Its group (0 when the fragment ended before the group byte).
    pub group: u8,
    /// Its variation (0 when the fragment ended before the variation byte).
    pub variation: u8,
    /// Why it could not be parsed: `UnknownObject` for a group/variation this stack does not
    /// know, another kind for a malformed header.
    pub error: AppErrorKind,
}

impl std::fmt::Display for UnsupportedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "g{}v{} ({})",
            self.group,
            self.variation,
            self.error.name()
        )
    }
}

/// Receives measurements. Runs on the channel's executor: it must not block (hand slow work
/// to another thread, e.g. over a bounded queue).
pub trait ReadHandler: Send {
    /// A response fragment with measurements begins.
    fn begin(&mut self, _info: ResponseInfo) {}

    /// One measurement, in the order of the response.
    fn measurement(&mut self, m: &Measurement<'_>);

    /// A time object (g50) of a response.
    fn time(&mut self, _time: &TimeObject) {}

    /// A security statistic (g121) or security statistic event (g122).
    fn security_statistic(&mut self, _statistic: &SecurityStatistic) {}

    /// A device attribute (g0), e.g. in the response to a read of g0v254.
    fn device_attribute(&mut self, _attribute: &DeviceAttribute<'_>) {}

    /// An object header this master cannot parse (an unknown group/variation, or a malformed
    /// header). The headers before it were delivered; the rest of the fragment is dropped and
    /// the fragment is not confirmed, so the outstation keeps its events.
    fn unsupported(&mut self, _object: &UnsupportedObject) {}

    /// The fragment ends.
    fn end(&mut self, _info: ResponseInfo) {}
}

/// A handler that ignores everything (for associations whose data nobody reads).
#[derive(Copy, Clone, Debug, Default)]
pub struct NullReadHandler;

impl ReadHandler for NullReadHandler {
    fn measurement(&mut self, _m: &Measurement<'_>) {}
}
