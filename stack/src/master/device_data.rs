//! Objects of a response that are not measurements but still matter to the application:
//! the outstation's time (g50), security statistics (g121, g122) and device attributes (g0),
//! each handed to its own [`ReadHandler`](super::ReadHandler) callback.

use super::measurement::TimeQuality;
use crate::objects::{Attribute, Point, Timestamp, Value, Variation};

/// A time object (g50v1 time and date, v2 with interval, v3 last recorded time, v4 indexed
/// time with a long interval).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeObject {
    /// Which g50 variation carried it.
    pub variation: Variation,
    /// Its index (the position in the header for count qualifiers).
    pub index: u32,
    /// The time.
    pub time: Timestamp,
    /// Interval and units code for g50v4 (IEEE 1815-2012, Annex A), interval in ms with
    /// units 1 for g50v2; `None` for v1 and v3.
    pub interval: Option<(u32, u8)>,
    /// Unsynchronized when the response asked for time (NEED_TIME).
    pub quality: TimeQuality,
}

/// A security statistic (g121 static, g122 event): how often something happened on one
/// secure-authentication association.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityStatistic {
    /// The statistic's index (which statistic it is).
    pub index: u32,
    /// The association it counts for.
    pub association: u16,
    /// Its count.
    pub value: u32,
    /// Quality flags.
    pub flags: u8,
    /// Time of the event (g122v2).
    pub time: Option<Timestamp>,
    /// True for events (g122).
    pub event: bool,
}

/// A device attribute (g0): the attribute number is the variation, the set the index.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeviceAttribute<'a> {
    /// The attribute set (0 for the standard attributes).
    pub set: u32,
    /// The attribute number, e.g. 242 for the software version.
    pub variation: u8,
    /// Its type and value.
    pub value: Attribute<'a>,
}

/// A decoded object that is not a measurement, ready for its callback.
pub(crate) enum DeviceData<'a> {
    Time(TimeObject),
    Statistic(SecurityStatistic),
    Attribute(DeviceAttribute<'a>),
}

impl<'a> DeviceData<'a> {
    /// Converts one decoded point of `variation`; `None` for objects no callback takes.
    pub(crate) fn from_point(
        variation: Variation,
        p: &Point<'a>,
        quality: TimeQuality,
    ) -> Option<Self> {
        use Variation::*;
        Some(match (variation, p.value) {
            (Group50Var1 | Group50Var2 | Group50Var3 | Group50Var4, value) => {
                let interval = match value {
                    Value::Interval { interval, units } => Some((interval, units)),
                    Value::Unsigned(ms) => Some((ms, 1)),
                    _ => None,
                };
                DeviceData::Time(TimeObject {
                    variation,
                    index: p.index,
                    time: p.time?,
                    interval,
                    quality,
                })
            }
            (
                Group121Var1 | Group122Var1 | Group122Var2,
                Value::SecurityStatistic { association, value },
            ) => DeviceData::Statistic(SecurityStatistic {
                index: p.index,
                association,
                value,
                flags: p.flags.unwrap_or(0),
                time: p.time,
                event: variation != Group121Var1,
            }),
            (DeviceAttribute(v), Value::Attribute(value)) => {
                DeviceData::Attribute(self::DeviceAttribute {
                    set: p.index,
                    variation: v,
                    value,
                })
            }
            _ => return None,
        })
    }
}
