//! Internal indications, the two IIN bytes of every response (IEEE 1815-2012, clause 4).

use std::fmt;

/// The IIN field: bit `i` is g80v1 index `i` (IIN1.0 = 0 … IIN2.7 = 15).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Iin(pub u16);

macro_rules! iin_bits {
    ($( $index:literal => $konst:ident, $name:literal, $doc:literal; )*) => {
        impl Iin {
            $( #[doc = $doc] pub const $konst: Iin = Iin(1 << $index); )*

            /// Upper-case name of bit `index` (0..=15).
            pub fn bit_name(index: u8) -> &'static str {
                match index {
                    $( $index => $name, )*
                    _ => "INVALID",
                }
            }
        }
    };
}

iin_bits! {
    0 => BROADCAST, "BROADCAST", "IIN1.0: a broadcast request was received.";
    1 => CLASS_1_EVENTS, "CLASS_1_EVENTS", "IIN1.1: unreported class 1 events are buffered.";
    2 => CLASS_2_EVENTS, "CLASS_2_EVENTS", "IIN1.2: unreported class 2 events are buffered.";
    3 => CLASS_3_EVENTS, "CLASS_3_EVENTS", "IIN1.3: unreported class 3 events are buffered.";
    4 => NEED_TIME, "NEED_TIME", "IIN1.4: the outstation wants a time synchronisation.";
    5 => LOCAL_CONTROL, "LOCAL_CONTROL", "IIN1.5: some outputs are in local mode.";
    6 => DEVICE_TROUBLE, "DEVICE_TROUBLE", "IIN1.6: an abnormal device condition.";
    7 => DEVICE_RESTART, "DEVICE_RESTART", "IIN1.7: set at start-up until the master clears it.";
    8 => NO_FUNC_CODE_SUPPORT, "NO_FUNC_CODE_SUPPORT", "IIN2.0: function code not implemented.";
    9 => OBJECT_UNKNOWN, "OBJECT_UNKNOWN", "IIN2.1: unknown object or no such points.";
    10 => PARAMETER_ERROR, "PARAMETER_ERROR", "IIN2.2: bad qualifier, range or parameter.";
    11 => EVENT_BUFFER_OVERFLOW, "EVENT_BUFFER_OVERFLOW", "IIN2.3: events were lost.";
    12 => ALREADY_EXECUTING, "ALREADY_EXECUTING", "IIN2.4: the operation is already running.";
    13 => CONFIG_CORRUPT, "CONFIG_CORRUPT", "IIN2.5: the configuration is corrupt.";
    14 => RESERVED_1, "RESERVED_1", "IIN2.6: reserved, must be 0.";
    15 => RESERVED_2, "RESERVED_2", "IIN2.7: reserved, must be 0.";
}

impl Iin {
    /// No bit set.
    pub const NONE: Iin = Iin(0);

    /// From the two wire bytes (IIN1, IIN2).
    pub fn from_bytes(iin1: u8, iin2: u8) -> Self {
        Iin(u16::from(iin1) | (u16::from(iin2) << 8))
    }

    /// The two wire bytes (IIN1, IIN2).
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_le_bytes()
    }

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Iin) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// True when any bit of `other` is set.
    pub fn intersects(self, other: Iin) -> bool {
        self.0 & other.0 != 0
    }

    /// The names of the set bits, IIN1.0 first.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        (0..16u8)
            .filter(move |i| self.0 & (1 << i) != 0)
            .map(Iin::bit_name)
    }
}

impl std::ops::BitOr for Iin {
    type Output = Iin;
    fn bitor(self, rhs: Iin) -> Iin {
        Iin(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Iin {
    fn bitor_assign(&mut self, rhs: Iin) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for Iin {
    type Output = Iin;
    fn bitand(self, rhs: Iin) -> Iin {
        Iin(self.0 & rhs.0)
    }
}

impl std::ops::Not for Iin {
    type Output = Iin;
    fn not(self) -> Iin {
        Iin(!self.0)
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for name in self.names() {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("NONE")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_to_g80_indices() {
        let iin = Iin::from_bytes(0x96, 0x00);
        let names: Vec<_> = iin.names().collect();
        assert_eq!(
            names,
            [
                "CLASS_1_EVENTS",
                "CLASS_2_EVENTS",
                "NEED_TIME",
                "DEVICE_RESTART"
            ]
        );
        assert_eq!(
            Iin::from_bytes(0x80, 0x04),
            Iin::DEVICE_RESTART | Iin::PARAMETER_ERROR
        );
        assert_eq!((Iin::NO_FUNC_CODE_SUPPORT).to_bytes(), [0x00, 0x01]);
        assert_eq!(Iin::NONE.to_string(), "NONE");
    }
}
