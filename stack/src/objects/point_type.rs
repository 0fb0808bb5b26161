//! Point types: binary inputs, counters, analogs and the rest, with their static and event
//! groups (IEEE 1815-2012, Annex A). The master names its measurements with them and the
//! outstation keeps its database by them.

use super::Variation;
use std::fmt;

/// The point types of the object library: what a measurement is, and what an outstation
/// database holds, in the order class 0 reports them. The frozen analogs and the command
/// events are delivered by the master; an outstation database holds none of them yet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PointType {
    /// Binary input (g1, events g2).
    BinaryInput,
    /// Double-bit binary input (g3, events g4).
    DoubleBitInput,
    /// Binary output status (g10, events g11).
    BinaryOutputStatus,
    /// Counter (g20, events g22).
    Counter,
    /// Frozen counter (g21, events g23).
    FrozenCounter,
    /// Analog input (g30, events g32).
    AnalogInput,
    /// Analog output status (g40, events g42).
    AnalogOutputStatus,
    /// Octet string (g110, events g111).
    OctetString,
    /// Frozen analog input (g31, events g33).
    FrozenAnalogInput,
    /// Binary output command event (events g13 only): a control an outstation received on a
    /// binary output, with the commanded state and its command status.
    BinaryCommandEvent,
    /// Analog output command event (events g43 only): a set-point an outstation received on
    /// an analog output, with its value and command status.
    AnalogCommandEvent,
}

/// Number of point types.
pub(crate) const TYPE_COUNT: usize = 11;

impl PointType {
    /// Every type, in class 0 order.
    pub const ALL: [PointType; TYPE_COUNT] = [
        PointType::BinaryInput,
        PointType::DoubleBitInput,
        PointType::BinaryOutputStatus,
        PointType::Counter,
        PointType::FrozenCounter,
        PointType::AnalogInput,
        PointType::AnalogOutputStatus,
        PointType::OctetString,
        PointType::FrozenAnalogInput,
        PointType::BinaryCommandEvent,
        PointType::AnalogCommandEvent,
    ];

    /// Position in [`PointType::ALL`].
    pub(crate) fn ordinal(self) -> usize {
        match self {
            PointType::BinaryInput => 0,
            PointType::DoubleBitInput => 1,
            PointType::BinaryOutputStatus => 2,
            PointType::Counter => 3,
            PointType::FrozenCounter => 4,
            PointType::AnalogInput => 5,
            PointType::AnalogOutputStatus => 6,
            PointType::OctetString => 7,
            PointType::FrozenAnalogInput => 8,
            PointType::BinaryCommandEvent => 9,
            PointType::AnalogCommandEvent => 10,
        }
    }

    /// The group of its static objects; 0 for the command events, which have none (group 0
    /// holds device attributes, never points).
    pub fn static_group(self) -> u8 {
        [1, 3, 10, 20, 21, 30, 40, 110, 31, 0, 0][self.ordinal()]
    }

    /// The group of its event objects.
    pub fn event_group(self) -> u8 {
        [2, 4, 11, 22, 23, 32, 42, 111, 33, 13, 43][self.ordinal()]
    }

    /// The type whose static objects are group `g`.
    pub fn from_static_group(g: u8) -> Option<PointType> {
        if g == 0 {
            return None;
        }
        PointType::ALL.into_iter().find(|t| t.static_group() == g)
    }

    /// The type whose event objects are group `g`.
    pub fn from_event_group(g: u8) -> Option<PointType> {
        PointType::ALL.into_iter().find(|t| t.event_group() == g)
    }

    /// The lower-case name used in logs and in the examples' output.
    pub fn name(self) -> &'static str {
        [
            "binary",
            "double-bit",
            "binary-output-status",
            "counter",
            "frozen-counter",
            "analog",
            "analog-output-status",
            "octet-string",
            "frozen-analog",
            "binary-command-event",
            "analog-command-event",
        ][self.ordinal()]
    }

    /// The type of a response object, and whether it is an event; `None` for objects that
    /// are not measurements (time, IIN, control echoes, attributes …).
    pub fn of(variation: Variation) -> Option<(PointType, bool)> {
        let (group, _) = variation.numbers();
        if let Some(ty) = PointType::from_static_group(group) {
            return Some((ty, false));
        }
        PointType::from_event_group(group).map(|ty| (ty, true))
    }
}

impl fmt::Display for PointType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_found_from_its_static_and_event_groups() {
        for ty in PointType::ALL {
            let g = ty.static_group();
            if g != 0 {
                let s = Variation::lookup(g, 0).or(Variation::lookup(g, 1));
                assert_eq!(
                    PointType::of(s.expect("static variation")),
                    Some((ty, false))
                );
            }
            let e =
                Variation::lookup(ty.event_group(), 0).or(Variation::lookup(ty.event_group(), 1));
            assert_eq!(PointType::of(e.expect("event variation")), Some((ty, true)));
        }
        assert_eq!(
            PointType::of(Variation::Group31Var1),
            Some((PointType::FrozenAnalogInput, false))
        );
        assert_eq!(
            PointType::of(Variation::Group43Var5),
            Some((PointType::AnalogCommandEvent, true))
        );
        assert_eq!(PointType::of(Variation::Group12Var1), None);
        assert_eq!(PointType::of(Variation::Group41Var1), None);
        assert_eq!(PointType::from_static_group(0), None);
        assert_eq!(PointType::of(Variation::Group50Var1), None);
        assert_eq!(PointType::AnalogInput.to_string(), "analog");
    }
}
