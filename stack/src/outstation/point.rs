//! How an outstation reports each point type (default and accepted variations), per-point
//! configuration, and the conversion of a stored value into the codec's [`Point`] for a given
//! variation (IEEE 1815-2012, Annex A).

use crate::objects::{
    flags, DoubleBit, EventClass, Field, Layout, Point, PointType, Timestamp, Value, Variation,
};

impl PointType {
    /// The static variation used when none is configured: g1v2, g3v2, g10v2, g20v1, g21v1,
    /// g30v1, g40v1, g110.
    pub fn default_static_variation(self) -> Variation {
        use Variation::*;
        match self {
            PointType::BinaryInput => Group1Var2,
            PointType::DoubleBitInput => Group3Var2,
            PointType::BinaryOutputStatus => Group10Var2,
            PointType::Counter => Group20Var1,
            PointType::FrozenCounter => Group21Var1,
            PointType::AnalogInput => Group30Var1,
            PointType::AnalogOutputStatus => Group40Var1,
            PointType::OctetString => OctetString(0),
            PointType::FrozenAnalogInput => Group31Var1,
            // No static objects: the variation any.
            PointType::BinaryCommandEvent => Group13Var0,
            PointType::AnalogCommandEvent => Group43Var0,
        }
    }

    /// The event variation used when none is configured: g2v2, g4v2, g11v2, g22v1, g23v1,
    /// g32v3, g42v3, g111.
    pub fn default_event_variation(self) -> Variation {
        use Variation::*;
        match self {
            PointType::BinaryInput => Group2Var2,
            PointType::DoubleBitInput => Group4Var2,
            PointType::BinaryOutputStatus => Group11Var2,
            PointType::Counter => Group22Var1,
            PointType::FrozenCounter => Group23Var1,
            PointType::AnalogInput => Group32Var3,
            PointType::AnalogOutputStatus => Group42Var3,
            PointType::OctetString => OctetStringEvent(0),
            PointType::FrozenAnalogInput => Group33Var1,
            PointType::BinaryCommandEvent => Group13Var1,
            PointType::AnalogCommandEvent => Group43Var1,
        }
    }

    /// True when `v` is a static variation this outstation reports for the type. For octet
    /// strings the variation is the string's length and is chosen per value.
    pub fn accepts_static(self, v: Variation) -> bool {
        use Variation::*;
        match self {
            PointType::BinaryInput => matches!(v, Group1Var1 | Group1Var2),
            PointType::DoubleBitInput => matches!(v, Group3Var1 | Group3Var2),
            PointType::BinaryOutputStatus => matches!(v, Group10Var1 | Group10Var2),
            PointType::Counter => {
                matches!(v, Group20Var1 | Group20Var2 | Group20Var5 | Group20Var6)
            }
            PointType::FrozenCounter => matches!(
                v,
                Group21Var1 | Group21Var2 | Group21Var5 | Group21Var6 | Group21Var9 | Group21Var10
            ),
            PointType::AnalogInput => matches!(
                v,
                Group30Var1 | Group30Var2 | Group30Var3 | Group30Var4 | Group30Var5 | Group30Var6
            ),
            PointType::AnalogOutputStatus => {
                matches!(v, Group40Var1 | Group40Var2 | Group40Var3 | Group40Var4)
            }
            PointType::OctetString => matches!(v, OctetString(_)),
            // Not served by the outstation yet: a database holds no such points.
            PointType::FrozenAnalogInput
            | PointType::BinaryCommandEvent
            | PointType::AnalogCommandEvent => false,
        }
    }

    /// True when `v` is an event variation this outstation reports for the type (the
    /// relative-time variations g2v3 and g4v3 are written after a CTO).
    pub fn accepts_event(self, v: Variation) -> bool {
        use Variation::*;
        match self {
            PointType::BinaryInput => matches!(v, Group2Var1 | Group2Var2 | Group2Var3),
            PointType::DoubleBitInput => matches!(v, Group4Var1 | Group4Var2 | Group4Var3),
            PointType::BinaryOutputStatus => matches!(v, Group11Var1 | Group11Var2),
            PointType::Counter => {
                matches!(v, Group22Var1 | Group22Var2 | Group22Var5 | Group22Var6)
            }
            PointType::FrozenCounter => {
                matches!(v, Group23Var1 | Group23Var2 | Group23Var5 | Group23Var6)
            }
            PointType::AnalogInput => matches!(
                v,
                Group32Var1
                    | Group32Var2
                    | Group32Var3
                    | Group32Var4
                    | Group32Var5
                    | Group32Var6
                    | Group32Var7
                    | Group32Var8
            ),
            PointType::AnalogOutputStatus => matches!(
                v,
                Group42Var1
                    | Group42Var2
                    | Group42Var3
                    | Group42Var4
                    | Group42Var5
                    | Group42Var6
                    | Group42Var7
                    | Group42Var8
            ),
            PointType::OctetString => matches!(v, OctetStringEvent(_)),
            PointType::FrozenAnalogInput
            | PointType::BinaryCommandEvent
            | PointType::AnalogCommandEvent => false,
        }
    }

    /// The value a point of this type starts with.
    pub(crate) fn initial_value(self) -> PointValue {
        match self {
            PointType::BinaryInput
            | PointType::BinaryOutputStatus
            | PointType::BinaryCommandEvent => PointValue::Binary(false),
            PointType::DoubleBitInput => PointValue::DoubleBit(DoubleBit::Indeterminate),
            PointType::Counter | PointType::FrozenCounter => PointValue::Counter(0),
            PointType::AnalogInput
            | PointType::AnalogOutputStatus
            | PointType::FrozenAnalogInput
            | PointType::AnalogCommandEvent => PointValue::Analog(0.0),
            PointType::OctetString => PointValue::OctetString { len: 1 },
        }
    }
}

/// How one point is reported: its event class, the variations used when the master asks for
/// the default variation, the analog deadband and the flags it starts with.
#[derive(Copy, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct PointConfig {
    /// Event class (`None`: no events).
    pub class: EventClass,
    /// Static variation for class 0 and variation-0 reads (`None`: the type's default).
    pub static_variation: Option<Variation>,
    /// Event variation (`None`: the type's default).
    pub event_variation: Option<Variation>,
    /// Analogs, counters and frozen counters: a change creates an event only when
    /// |new − last reported| > deadband (0: every change does; a frozen counter with 0
    /// reports every freeze).
    pub deadband: f64,
    /// Flags until the first update: RESTART by default, e.g. ONLINE for points that are
    /// valid from the start.
    pub initial_flags: u8,
}

impl Default for PointConfig {
    fn default() -> Self {
        PointConfig {
            class: EventClass::None,
            static_variation: None,
            event_variation: None,
            deadband: 0.0,
            initial_flags: flags::RESTART,
        }
    }
}

impl PointConfig {
    /// Defaults with event class `class`.
    pub fn new(class: EventClass) -> Self {
        PointConfig {
            class,
            ..PointConfig::default()
        }
    }

    /// Sets the event class.
    pub fn with_class(mut self, class: EventClass) -> Self {
        self.class = class;
        self
    }

    /// Sets the static variation.
    pub fn with_static_variation(mut self, v: Variation) -> Self {
        self.static_variation = Some(v);
        self
    }

    /// Sets the event variation.
    pub fn with_event_variation(mut self, v: Variation) -> Self {
        self.event_variation = Some(v);
        self
    }

    /// Sets the deadband (analogs, counters, frozen counters).
    pub fn with_deadband(mut self, deadband: f64) -> Self {
        self.deadband = deadband;
        self
    }

    /// Sets the initial flags.
    pub fn with_initial_flags(mut self, flags: u8) -> Self {
        self.initial_flags = flags;
        self
    }
}

/// The value of a point. Octet strings carry only their length here: read their bytes with
/// [`Database::octet_string`](super::Database::octet_string).
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PointValue {
    /// Binary input or binary output status.
    Binary(bool),
    /// Double-bit input.
    DoubleBit(DoubleBit),
    /// Counter or frozen counter.
    Counter(u32),
    /// Analog input or analog output status.
    Analog(f64),
    /// Octet string of `len` bytes (1..=255).
    OctetString {
        /// Length in bytes.
        len: u8,
    },
}

/// A point's current value, flags and time (the time of its last update).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PointState {
    /// The value.
    pub value: PointValue,
    /// Quality flags (the binary state bit is not included).
    pub flags: u8,
    /// Time of the last update.
    pub time: Timestamp,
}

/// The packed static variations that cannot carry flags, with the variation used instead
/// when a point's flags are anything but ONLINE.
fn promoted(v: Variation) -> Option<Variation> {
    match v {
        Variation::Group1Var1 => Some(Variation::Group1Var2),
        Variation::Group3Var1 => Some(Variation::Group3Var2),
        Variation::Group10Var1 => Some(Variation::Group10Var2),
        _ => None,
    }
}

/// The variation a static point is written with: the requested one, or the configured one,
/// promoted from a packed variation to the one with flags when the point is not just ONLINE
/// (as opendnp3 does).
pub(crate) fn static_variation(
    requested: Option<Variation>,
    configured: Variation,
    state: &PointState,
) -> Variation {
    if let PointValue::OctetString { len } = state.value {
        return Variation::OctetString(len);
    }
    if let Some(v) = requested {
        return v;
    }
    match promoted(configured) {
        Some(with_flags) if state.flags != flags::ONLINE => with_flags,
        _ => configured,
    }
}

/// The variation an event is written with (octet strings: by length).
pub(crate) fn event_variation(configured: Variation, value: &PointValue) -> Variation {
    match value {
        PointValue::OctetString { len } => Variation::OctetStringEvent(*len),
        _ => configured,
    }
}

/// The integer range of the variation's value field, if it is an integer field.
fn integer_range(v: Variation) -> Option<(f64, f64)> {
    let Layout::Fields(fields) = v.layout() else {
        return None;
    };
    if fields.contains(&Field::I16) {
        Some((f64::from(i16::MIN), f64::from(i16::MAX)))
    } else if fields.contains(&Field::I32) {
        Some((f64::from(i32::MIN), f64::from(i32::MAX)))
    } else {
        None
    }
}

/// True for variations whose counter field is 16 bits wide.
fn is_16_bit_counter(v: Variation) -> bool {
    matches!(v.layout(), Layout::Fields(fields) if fields.contains(&Field::U16))
}

/// The codec point for `state` written as `variation`. Analogs written with an integer
/// variation saturate and get OVER_RANGE; 16-bit counters wrap (they are counters).
pub(crate) fn to_point<'a>(
    index: u16,
    variation: Variation,
    state: &PointState,
    octets: &'a [u8],
) -> Point<'a> {
    let mut flags = state.flags;
    let value = match state.value {
        PointValue::Binary(b) => Value::Bool(b),
        PointValue::DoubleBit(d) => Value::DoubleBit(d),
        PointValue::Counter(c) if is_16_bit_counter(variation) => Value::Unsigned(c & 0xFFFF),
        PointValue::Counter(c) => Value::Unsigned(c),
        PointValue::Analog(a) => {
            if let Some((min, max)) = integer_range(variation) {
                if a.is_nan() || a.round() < min || a.round() > max {
                    flags |= flags::OVER_RANGE;
                }
            }
            Value::Float(a)
        }
        PointValue::OctetString { len } => {
            Value::Bytes(octets.get(..usize::from(len)).unwrap_or(octets))
        }
    };
    Point::new(u32::from(index), value)
        .with_flags(flags)
        .with_time(state.time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_back_to_their_types() {
        for t in PointType::ALL {
            assert_eq!(PointType::from_event_group(t.event_group()), Some(t));
            if t.static_group() != 0 {
                assert_eq!(PointType::from_static_group(t.static_group()), Some(t));
            }
            let served = t.accepts_static(t.default_static_variation());
            assert_eq!(served, t.accepts_event(t.default_event_variation()), "{t}");
        }
        assert_eq!(PointType::from_static_group(2), None);
    }

    #[test]
    fn packed_variations_are_promoted_when_flags_are_not_just_online() {
        let mut s = PointState {
            value: PointValue::Binary(true),
            flags: flags::RESTART,
            time: Timestamp(0),
        };
        assert_eq!(
            static_variation(None, Variation::Group1Var1, &s),
            Variation::Group1Var2
        );
        s.flags = flags::ONLINE;
        assert_eq!(
            static_variation(None, Variation::Group1Var1, &s),
            Variation::Group1Var1
        );
        assert_eq!(
            static_variation(Some(Variation::Group1Var1), Variation::Group1Var2, &s),
            Variation::Group1Var1
        );
    }

    #[test]
    fn analogs_out_of_an_integer_range_saturate_with_over_range() {
        let s = PointState {
            value: PointValue::Analog(1e6),
            flags: flags::ONLINE,
            time: Timestamp(0),
        };
        let p = to_point(3, Variation::Group30Var2, &s, &[]);
        assert_eq!(p.flags, Some(flags::ONLINE | flags::OVER_RANGE));
        let p = to_point(3, Variation::Group30Var5, &s, &[]);
        assert_eq!(p.flags, Some(flags::ONLINE));
        let p = to_point(3, Variation::Group30Var1, &s, &[]);
        assert_eq!(p.flags, Some(flags::ONLINE));
    }
}
