//! The group/variation table (IEEE 1815-2012, Annex A): every object described once, with the layout
//! from which both the parser and the writer work.

use super::Field::{self, *};

/// How the objects of a variation are laid out on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// No object data: variation 0 and class headers; only meaningful in requests.
    NoData,
    /// One bit per point, packed LSB first (g1v1, g10v1, g80v1).
    Bits,
    /// Two bits per point, packed LSB pair first (g3v1).
    DoubleBits,
    /// A fixed-size object made of these fields, in order.
    Fields(&'static [Field]),
    /// An octet string whose length is the variation number (g110–g113).
    Sized,
    /// A free-format object whose size comes from its prefix (g70, qualifier 5B).
    FreeFormat,
    /// A device attribute: type u8, length u8, value (g0).
    Attribute,
}

macro_rules! variations {
    ($( $variant:ident = ($g:literal, $v:literal, $desc:literal, $layout:expr); )*) => {
        /// A group/variation this stack knows. The octet-string groups and device attributes
        /// carry their variation number, which is a length or an attribute number.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Variation {
            $( #[doc = $desc] $variant, )*
            /// g0vN: device attribute N of the set given by the index.
            DeviceAttribute(u8),
            /// g110vN: octet string of N bytes (0 = any length, requests only).
            OctetString(u8),
            /// g111vN: octet string event of N bytes.
            OctetStringEvent(u8),
            /// g112vN: virtual terminal output block of N bytes.
            VirtualTerminalOutput(u8),
            /// g113vN: virtual terminal event of N bytes.
            VirtualTerminalEvent(u8),
        }

        impl Variation {
            /// Every fixed variation of the table (the parameterised groups excluded).
            pub const FIXED: &'static [Variation] = &[$( Variation::$variant, )*];

            /// Looks up a group and variation; `None` when this stack does not know it.
            pub fn lookup(group: u8, variation: u8) -> Option<Variation> {
                Some(match (group, variation) {
                    $( ($g, $v) => Variation::$variant, )*
                    (0, 1..=255) => Variation::DeviceAttribute(variation),
                    (110, v) => Variation::OctetString(v),
                    (111, v) => Variation::OctetStringEvent(v),
                    (112, v) => Variation::VirtualTerminalOutput(v),
                    (113, v) => Variation::VirtualTerminalEvent(v),
                    _ => return None,
                })
            }

            /// The (group, variation) numbers.
            pub fn numbers(self) -> (u8, u8) {
                match self {
                    $( Variation::$variant => ($g, $v), )*
                    Variation::DeviceAttribute(v) => (0, v),
                    Variation::OctetString(v) => (110, v),
                    Variation::OctetStringEvent(v) => (111, v),
                    Variation::VirtualTerminalOutput(v) => (112, v),
                    Variation::VirtualTerminalEvent(v) => (113, v),
                }
            }

            /// A short description.
            pub fn description(self) -> &'static str {
                match self {
                    $( Variation::$variant => $desc, )*
                    Variation::DeviceAttribute(_) => "Device attribute",
                    Variation::OctetString(_) => "Octet string",
                    Variation::OctetStringEvent(_) => "Octet string event",
                    Variation::VirtualTerminalOutput(_) => "Virtual terminal output block",
                    Variation::VirtualTerminalEvent(_) => "Virtual terminal event",
                }
            }

            /// The wire layout of one object.
            pub fn layout(self) -> Layout {
                match self {
                    $( Variation::$variant => $layout, )*
                    Variation::DeviceAttribute(_) => Layout::Attribute,
                    Variation::OctetString(0)
                    | Variation::OctetStringEvent(0)
                    | Variation::VirtualTerminalOutput(0)
                    | Variation::VirtualTerminalEvent(0) => Layout::NoData,
                    Variation::OctetString(_)
                    | Variation::OctetStringEvent(_)
                    | Variation::VirtualTerminalOutput(_)
                    | Variation::VirtualTerminalEvent(_) => Layout::Sized,
                }
            }
        }
    };
}

const NONE: Layout = Layout::NoData;
const fn f(fields: &'static [Field]) -> Layout {
    Layout::Fields(fields)
}

variations! {
    Group1Var0 = (1, 0, "Binary input - any variation", NONE);
    Group1Var1 = (1, 1, "Binary input - packed", Layout::Bits);
    Group1Var2 = (1, 2, "Binary input - with flags", f(&[BinaryFlags]));
    Group2Var0 = (2, 0, "Binary input event - any variation", NONE);
    Group2Var1 = (2, 1, "Binary input event - without time", f(&[BinaryFlags]));
    Group2Var2 = (2, 2, "Binary input event - with absolute time", f(&[BinaryFlags, Time48]));
    Group2Var3 = (2, 3, "Binary input event - with relative time", f(&[BinaryFlags, Time16]));
    Group3Var0 = (3, 0, "Double-bit input - any variation", NONE);
    Group3Var1 = (3, 1, "Double-bit input - packed", Layout::DoubleBits);
    Group3Var2 = (3, 2, "Double-bit input - with flags", f(&[DoubleBitFlags]));
    Group4Var0 = (4, 0, "Double-bit input event - any variation", NONE);
    Group4Var1 = (4, 1, "Double-bit input event - without time", f(&[DoubleBitFlags]));
    Group4Var2 = (4, 2, "Double-bit input event - with absolute time", f(&[DoubleBitFlags, Time48]));
    Group4Var3 = (4, 3, "Double-bit input event - with relative time", f(&[DoubleBitFlags, Time16]));
    Group10Var0 = (10, 0, "Binary output status - any variation", NONE);
    Group10Var1 = (10, 1, "Binary output status - packed", Layout::Bits);
    Group10Var2 = (10, 2, "Binary output status - with flags", f(&[BinaryFlags]));
    Group11Var0 = (11, 0, "Binary output event - any variation", NONE);
    Group11Var1 = (11, 1, "Binary output event - without time", f(&[BinaryFlags]));
    Group11Var2 = (11, 2, "Binary output event - with time", f(&[BinaryFlags, Time48]));
    Group12Var1 = (12, 1, "Control relay output block", f(&[CrobBody, Status]));
    Group13Var0 = (13, 0, "Binary output command event - any variation", NONE);
    Group13Var1 = (13, 1, "Binary output command event - without time", f(&[CommandEventFlags]));
    Group13Var2 = (13, 2, "Binary output command event - with time", f(&[CommandEventFlags, Time48]));
    Group20Var0 = (20, 0, "Counter - any variation", NONE);
    Group20Var1 = (20, 1, "Counter - 32-bit with flags", f(&[Flags, U32]));
    Group20Var2 = (20, 2, "Counter - 16-bit with flags", f(&[Flags, U16]));
    Group20Var3 = (20, 3, "Delta counter - 32-bit with flags (obsolete)", f(&[Flags, U32]));
    Group20Var4 = (20, 4, "Delta counter - 16-bit with flags (obsolete)", f(&[Flags, U16]));
    Group20Var5 = (20, 5, "Counter - 32-bit without flags", f(&[U32]));
    Group20Var6 = (20, 6, "Counter - 16-bit without flags", f(&[U16]));
    Group20Var7 = (20, 7, "Delta counter - 32-bit without flags (obsolete)", f(&[U32]));
    Group20Var8 = (20, 8, "Delta counter - 16-bit without flags (obsolete)", f(&[U16]));
    Group21Var0 = (21, 0, "Frozen counter - any variation", NONE);
    Group21Var1 = (21, 1, "Frozen counter - 32-bit with flags", f(&[Flags, U32]));
    Group21Var2 = (21, 2, "Frozen counter - 16-bit with flags", f(&[Flags, U16]));
    Group21Var3 = (21, 3, "Frozen delta counter - 32-bit with flags (obsolete)", f(&[Flags, U32]));
    Group21Var4 = (21, 4, "Frozen delta counter - 16-bit with flags (obsolete)", f(&[Flags, U16]));
    Group21Var5 = (21, 5, "Frozen counter - 32-bit with flags and time", f(&[Flags, U32, Time48]));
    Group21Var6 = (21, 6, "Frozen counter - 16-bit with flags and time", f(&[Flags, U16, Time48]));
    Group21Var7 = (21, 7, "Frozen delta counter - 32-bit with flags and time (obsolete)", f(&[Flags, U32, Time48]));
    Group21Var8 = (21, 8, "Frozen delta counter - 16-bit with flags and time (obsolete)", f(&[Flags, U16, Time48]));
    Group21Var9 = (21, 9, "Frozen counter - 32-bit without flags", f(&[U32]));
    Group21Var10 = (21, 10, "Frozen counter - 16-bit without flags", f(&[U16]));
    Group21Var11 = (21, 11, "Frozen delta counter - 32-bit without flags (obsolete)", f(&[U32]));
    Group21Var12 = (21, 12, "Frozen delta counter - 16-bit without flags (obsolete)", f(&[U16]));
    Group22Var0 = (22, 0, "Counter event - any variation", NONE);
    Group22Var1 = (22, 1, "Counter event - 32-bit with flags", f(&[Flags, U32]));
    Group22Var2 = (22, 2, "Counter event - 16-bit with flags", f(&[Flags, U16]));
    Group22Var3 = (22, 3, "Delta counter event - 32-bit with flags (obsolete)", f(&[Flags, U32]));
    Group22Var4 = (22, 4, "Delta counter event - 16-bit with flags (obsolete)", f(&[Flags, U16]));
    Group22Var5 = (22, 5, "Counter event - 32-bit with flags and time", f(&[Flags, U32, Time48]));
    Group22Var6 = (22, 6, "Counter event - 16-bit with flags and time", f(&[Flags, U16, Time48]));
    Group22Var7 = (22, 7, "Delta counter event - 32-bit with flags and time (obsolete)", f(&[Flags, U32, Time48]));
    Group22Var8 = (22, 8, "Delta counter event - 16-bit with flags and time (obsolete)", f(&[Flags, U16, Time48]));
    Group23Var0 = (23, 0, "Frozen counter event - any variation", NONE);
    Group23Var1 = (23, 1, "Frozen counter event - 32-bit with flags", f(&[Flags, U32]));
    Group23Var2 = (23, 2, "Frozen counter event - 16-bit with flags", f(&[Flags, U16]));
    Group23Var3 = (23, 3, "Frozen delta counter event - 32-bit with flags (obsolete)", f(&[Flags, U32]));
    Group23Var4 = (23, 4, "Frozen delta counter event - 16-bit with flags (obsolete)", f(&[Flags, U16]));
    Group23Var5 = (23, 5, "Frozen counter event - 32-bit with flags and time", f(&[Flags, U32, Time48]));
    Group23Var6 = (23, 6, "Frozen counter event - 16-bit with flags and time", f(&[Flags, U16, Time48]));
    Group23Var7 = (23, 7, "Frozen delta counter event - 32-bit with flags and time (obsolete)", f(&[Flags, U32, Time48]));
    Group23Var8 = (23, 8, "Frozen delta counter event - 16-bit with flags and time (obsolete)", f(&[Flags, U16, Time48]));
    Group30Var0 = (30, 0, "Analog input - any variation", NONE);
    Group30Var1 = (30, 1, "Analog input - 32-bit with flags", f(&[Flags, I32]));
    Group30Var2 = (30, 2, "Analog input - 16-bit with flags", f(&[Flags, I16]));
    Group30Var3 = (30, 3, "Analog input - 32-bit without flags", f(&[I32]));
    Group30Var4 = (30, 4, "Analog input - 16-bit without flags", f(&[I16]));
    Group30Var5 = (30, 5, "Analog input - single-precision float with flags", f(&[Flags, F32]));
    Group30Var6 = (30, 6, "Analog input - double-precision float with flags", f(&[Flags, F64]));
    Group31Var0 = (31, 0, "Frozen analog input - any variation", NONE);
    Group31Var1 = (31, 1, "Frozen analog input - 32-bit with flags", f(&[Flags, I32]));
    Group31Var2 = (31, 2, "Frozen analog input - 16-bit with flags", f(&[Flags, I16]));
    Group31Var3 = (31, 3, "Frozen analog input - 32-bit with time of freeze", f(&[Flags, I32, Time48]));
    Group31Var4 = (31, 4, "Frozen analog input - 16-bit with time of freeze", f(&[Flags, I16, Time48]));
    Group31Var5 = (31, 5, "Frozen analog input - 32-bit without flags", f(&[I32]));
    Group31Var6 = (31, 6, "Frozen analog input - 16-bit without flags", f(&[I16]));
    Group31Var7 = (31, 7, "Frozen analog input - single-precision float with flags", f(&[Flags, F32]));
    Group31Var8 = (31, 8, "Frozen analog input - double-precision float with flags", f(&[Flags, F64]));
    Group32Var0 = (32, 0, "Analog input event - any variation", NONE);
    Group32Var1 = (32, 1, "Analog input event - 32-bit", f(&[Flags, I32]));
    Group32Var2 = (32, 2, "Analog input event - 16-bit", f(&[Flags, I16]));
    Group32Var3 = (32, 3, "Analog input event - 32-bit with time", f(&[Flags, I32, Time48]));
    Group32Var4 = (32, 4, "Analog input event - 16-bit with time", f(&[Flags, I16, Time48]));
    Group32Var5 = (32, 5, "Analog input event - single-precision float", f(&[Flags, F32]));
    Group32Var6 = (32, 6, "Analog input event - double-precision float", f(&[Flags, F64]));
    Group32Var7 = (32, 7, "Analog input event - single-precision float with time", f(&[Flags, F32, Time48]));
    Group32Var8 = (32, 8, "Analog input event - double-precision float with time", f(&[Flags, F64, Time48]));
    Group33Var0 = (33, 0, "Frozen analog input event - any variation", NONE);
    Group33Var1 = (33, 1, "Frozen analog input event - 32-bit", f(&[Flags, I32]));
    Group33Var2 = (33, 2, "Frozen analog input event - 16-bit", f(&[Flags, I16]));
    Group33Var3 = (33, 3, "Frozen analog input event - 32-bit with time", f(&[Flags, I32, Time48]));
    Group33Var4 = (33, 4, "Frozen analog input event - 16-bit with time", f(&[Flags, I16, Time48]));
    Group33Var5 = (33, 5, "Frozen analog input event - single-precision float", f(&[Flags, F32]));
    Group33Var6 = (33, 6, "Frozen analog input event - double-precision float", f(&[Flags, F64]));
    Group33Var7 = (33, 7, "Frozen analog input event - single-precision float with time", f(&[Flags, F32, Time48]));
    Group33Var8 = (33, 8, "Frozen analog input event - double-precision float with time", f(&[Flags, F64, Time48]));
    Group34Var0 = (34, 0, "Analog input deadband - any variation", NONE);
    Group34Var1 = (34, 1, "Analog input deadband - 16-bit", f(&[U16]));
    Group34Var2 = (34, 2, "Analog input deadband - 32-bit", f(&[U32]));
    Group34Var3 = (34, 3, "Analog input deadband - single-precision float", f(&[F32]));
    Group40Var0 = (40, 0, "Analog output status - any variation", NONE);
    Group40Var1 = (40, 1, "Analog output status - 32-bit with flags", f(&[Flags, I32]));
    Group40Var2 = (40, 2, "Analog output status - 16-bit with flags", f(&[Flags, I16]));
    Group40Var3 = (40, 3, "Analog output status - single-precision float with flags", f(&[Flags, F32]));
    Group40Var4 = (40, 4, "Analog output status - double-precision float with flags", f(&[Flags, F64]));
    Group41Var1 = (41, 1, "Analog output block - 32-bit", f(&[I32, Status]));
    Group41Var2 = (41, 2, "Analog output block - 16-bit", f(&[I16, Status]));
    Group41Var3 = (41, 3, "Analog output block - single-precision float", f(&[F32, Status]));
    Group41Var4 = (41, 4, "Analog output block - double-precision float", f(&[F64, Status]));
    Group42Var0 = (42, 0, "Analog output event - any variation", NONE);
    Group42Var1 = (42, 1, "Analog output event - 32-bit", f(&[Flags, I32]));
    Group42Var2 = (42, 2, "Analog output event - 16-bit", f(&[Flags, I16]));
    Group42Var3 = (42, 3, "Analog output event - 32-bit with time", f(&[Flags, I32, Time48]));
    Group42Var4 = (42, 4, "Analog output event - 16-bit with time", f(&[Flags, I16, Time48]));
    Group42Var5 = (42, 5, "Analog output event - single-precision float", f(&[Flags, F32]));
    Group42Var6 = (42, 6, "Analog output event - double-precision float", f(&[Flags, F64]));
    Group42Var7 = (42, 7, "Analog output event - single-precision float with time", f(&[Flags, F32, Time48]));
    Group42Var8 = (42, 8, "Analog output event - double-precision float with time", f(&[Flags, F64, Time48]));
    Group43Var0 = (43, 0, "Analog output command event - any variation", NONE);
    Group43Var1 = (43, 1, "Analog output command event - 32-bit", f(&[Status, I32]));
    Group43Var2 = (43, 2, "Analog output command event - 16-bit", f(&[Status, I16]));
    Group43Var3 = (43, 3, "Analog output command event - 32-bit with time", f(&[Status, I32, Time48]));
    Group43Var4 = (43, 4, "Analog output command event - 16-bit with time", f(&[Status, I16, Time48]));
    Group43Var5 = (43, 5, "Analog output command event - single-precision float", f(&[Status, F32]));
    Group43Var6 = (43, 6, "Analog output command event - double-precision float", f(&[Status, F64]));
    Group43Var7 = (43, 7, "Analog output command event - single-precision float with time", f(&[Status, F32, Time48]));
    Group43Var8 = (43, 8, "Analog output command event - double-precision float with time", f(&[Status, F64, Time48]));
    Group50Var1 = (50, 1, "Time and date", f(&[Time48]));
    Group50Var2 = (50, 2, "Time and date with interval", f(&[Time48, U32]));
    Group50Var3 = (50, 3, "Time of last recorded time", f(&[Time48]));
    Group50Var4 = (50, 4, "Indexed absolute time and long interval", f(&[Time48, IntervalUnits]));
    Group51Var1 = (51, 1, "Common time of occurrence, synchronised", f(&[Time48]));
    Group51Var2 = (51, 2, "Common time of occurrence, unsynchronised", f(&[Time48]));
    Group52Var1 = (52, 1, "Time delay - coarse (s)", f(&[U16]));
    Group52Var2 = (52, 2, "Time delay - fine (ms)", f(&[U16]));
    Group60Var1 = (60, 1, "Class 0 data", NONE);
    Group60Var2 = (60, 2, "Class 1 data", NONE);
    Group60Var3 = (60, 3, "Class 2 data", NONE);
    Group60Var4 = (60, 4, "Class 3 data", NONE);
    Group70Var2 = (70, 2, "File control - authentication", Layout::FreeFormat);
    Group70Var3 = (70, 3, "File control - file command", Layout::FreeFormat);
    Group70Var4 = (70, 4, "File control - file command status", Layout::FreeFormat);
    Group70Var5 = (70, 5, "File control - file transport", Layout::FreeFormat);
    Group70Var6 = (70, 6, "File control - file transport status", Layout::FreeFormat);
    Group70Var7 = (70, 7, "File control - file descriptor", Layout::FreeFormat);
    Group70Var8 = (70, 8, "File control - file specification string", Layout::FreeFormat);
    Group80Var1 = (80, 1, "Internal indications - packed", Layout::Bits);
    Group102Var1 = (102, 1, "Unsigned 8-bit integer", f(&[U8]));
    Group121Var0 = (121, 0, "Security statistic - any variation", NONE);
    Group121Var1 = (121, 1, "Security statistic - 32-bit with flags", f(&[Flags, SecurityStatistic]));
    Group122Var0 = (122, 0, "Security statistic event - any variation", NONE);
    Group122Var1 = (122, 1, "Security statistic event - 32-bit with flags", f(&[Flags, SecurityStatistic]));
    Group122Var2 = (122, 2, "Security statistic event - 32-bit with flags and time", f(&[Flags, SecurityStatistic, Time48]));
}

impl Variation {
    /// Size in bytes of one object for fixed and sized layouts (`None` for the others).
    pub fn fixed_size(self) -> Option<usize> {
        match self.layout() {
            Layout::Fields(fields) => Some(fields.iter().map(|f| f.size()).sum()),
            Layout::Sized => Some(usize::from(self.numbers().1)),
            _ => None,
        }
    }

    /// True when the objects carry a relative time that needs a preceding CTO (g51).
    pub fn needs_cto(self) -> bool {
        matches!(self.layout(), Layout::Fields(fields) if fields.contains(&Time16))
    }

    /// True for the CTO objects g51v1 and g51v2.
    pub fn is_cto(self) -> bool {
        matches!(self, Variation::Group51Var1 | Variation::Group51Var2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_variation_round_trips_through_lookup() {
        for &v in Variation::FIXED {
            let (g, n) = v.numbers();
            assert_eq!(Variation::lookup(g, n), Some(v));
        }
        assert_eq!(Variation::lookup(110, 7), Some(Variation::OctetString(7)));
        assert_eq!(
            Variation::lookup(0, 242),
            Some(Variation::DeviceAttribute(242))
        );
        assert_eq!(Variation::lookup(1, 9), None);
        assert_eq!(Variation::lookup(0, 0), None);
        assert_eq!(Variation::lookup(120, 1), None);
        assert_eq!(Variation::lookup(31, 9), None);
    }

    #[test]
    fn object_sizes_match_the_reference_table() {
        // IEEE 1815-2012, Annex A sizes.
        let cases: &[((u8, u8), usize)] = &[
            ((1, 2), 1),
            ((2, 2), 7),
            ((2, 3), 3),
            ((4, 2), 7),
            ((11, 2), 7),
            ((12, 1), 11),
            ((13, 2), 7),
            ((20, 1), 5),
            ((20, 2), 3),
            ((20, 5), 4),
            ((20, 6), 2),
            ((21, 5), 11),
            ((21, 6), 9),
            ((21, 9), 4),
            ((21, 10), 2),
            ((22, 5), 11),
            ((23, 6), 9),
            ((30, 1), 5),
            ((30, 2), 3),
            ((30, 3), 4),
            ((30, 4), 2),
            ((30, 5), 5),
            ((30, 6), 9),
            ((31, 1), 5),
            ((31, 2), 3),
            ((31, 3), 11),
            ((31, 4), 9),
            ((31, 5), 4),
            ((31, 6), 2),
            ((31, 7), 5),
            ((31, 8), 9),
            ((33, 1), 5),
            ((33, 2), 3),
            ((33, 3), 11),
            ((33, 4), 9),
            ((33, 5), 5),
            ((33, 6), 9),
            ((33, 7), 11),
            ((33, 8), 15),
            ((121, 1), 7),
            ((122, 1), 7),
            ((122, 2), 13),
            ((32, 3), 11),
            ((32, 4), 9),
            ((32, 7), 11),
            ((32, 8), 15),
            ((34, 1), 2),
            ((34, 2), 4),
            ((34, 3), 4),
            ((40, 1), 5),
            ((40, 2), 3),
            ((40, 3), 5),
            ((40, 4), 9),
            ((41, 1), 5),
            ((41, 2), 3),
            ((41, 3), 5),
            ((41, 4), 9),
            ((42, 8), 15),
            ((43, 1), 5),
            ((43, 2), 3),
            ((43, 3), 11),
            ((43, 4), 9),
            ((43, 8), 15),
            ((50, 1), 6),
            ((50, 2), 10),
            ((50, 3), 6),
            ((50, 4), 11),
            ((51, 1), 6),
            ((52, 2), 2),
            ((102, 1), 1),
            ((110, 5), 5),
        ];
        for &((g, v), size) in cases {
            let var = Variation::lookup(g, v).unwrap();
            assert_eq!(var.fixed_size(), Some(size), "g{g}v{v}");
        }
    }
}
