//! Object header qualifiers: prefix and range codes (IEEE 1815-2012, clause 4).

/// What precedes each object (qualifier bits 6..4).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// No prefix: objects packed, index implied by the range.
    None,
    /// An index of 1, 2 or 4 bytes.
    Index(u8),
    /// An object size of 1, 2 or 4 bytes.
    Size(u8),
}

impl Prefix {
    /// Width of the prefix in bytes.
    pub fn width(self) -> usize {
        match self {
            Prefix::None => 0,
            Prefix::Index(w) | Prefix::Size(w) => usize::from(w),
        }
    }
}

/// The range specifier (qualifier bits 3..0).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RangeCode {
    /// Start and stop indices of 1, 2 or 4 bytes each (codes 0, 1, 2).
    StartStop(u8),
    /// No range: all objects (code 6).
    All,
    /// A count of 1, 2 or 4 bytes (codes 7, 8, 9).
    Count(u8),
    /// A 1-byte count of variable-format objects (code 0xB).
    FreeFormatCount,
}

impl RangeCode {
    /// Width of the range field in bytes.
    pub fn width(self) -> usize {
        match self {
            RangeCode::StartStop(w) => 2 * usize::from(w),
            RangeCode::All => 0,
            RangeCode::Count(w) => usize::from(w),
            RangeCode::FreeFormatCount => 1,
        }
    }
}

/// The decoded range field of a header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Range {
    /// Inclusive start and stop indices.
    StartStop {
        /// First index.
        start: u32,
        /// Last index (≥ start).
        stop: u32,
    },
    /// All objects (qualifier 06).
    All,
    /// A count of objects.
    Count(u32),
}

impl Range {
    /// Number of objects the range announces (`None` for "all").
    pub fn count(self) -> Option<u64> {
        match self {
            Range::StartStop { start, stop } => Some(u64::from(stop) - u64::from(start) + 1),
            Range::All => None,
            Range::Count(n) => Some(u64::from(n)),
        }
    }
}

/// A qualifier byte split into its codes; `None` for reserved or unsupported combinations
/// (range codes 3..5 are refused: implementations disagree on their meaning).
pub fn split(qualifier: u8) -> Option<(Prefix, RangeCode)> {
    if qualifier & 0x80 != 0 {
        return None;
    }
    let prefix = match (qualifier >> 4) & 7 {
        0 => Prefix::None,
        1 => Prefix::Index(1),
        2 => Prefix::Index(2),
        3 => Prefix::Index(4),
        4 => Prefix::Size(1),
        5 => Prefix::Size(2),
        6 => Prefix::Size(4),
        _ => return None,
    };
    let range = match qualifier & 0x0F {
        0 => RangeCode::StartStop(1),
        1 => RangeCode::StartStop(2),
        2 => RangeCode::StartStop(4),
        6 => RangeCode::All,
        7 => RangeCode::Count(1),
        8 => RangeCode::Count(2),
        9 => RangeCode::Count(4),
        0x0B => RangeCode::FreeFormatCount,
        _ => return None,
    };
    // Prefixes go with counts only; the free-format count needs a size prefix.
    match (prefix, range) {
        (Prefix::None, RangeCode::FreeFormatCount) => None,
        (Prefix::Index(_), RangeCode::FreeFormatCount) => None,
        (Prefix::None, _) => Some((prefix, range)),
        (_, RangeCode::Count(_) | RangeCode::FreeFormatCount) => Some((prefix, range)),
        _ => None,
    }
}

/// Reads a little-endian unsigned integer of `width` (1, 2 or 4) bytes.
pub(crate) fn read_uint(b: &[u8], width: usize) -> Option<u32> {
    Some(match width {
        1 => u32::from(*b.first()?),
        2 => u32::from(u16::from_le_bytes(b.get(..2)?.try_into().ok()?)),
        4 => u32::from_le_bytes(b.get(..4)?.try_into().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_qualifiers_split() {
        assert_eq!(split(0x00), Some((Prefix::None, RangeCode::StartStop(1))));
        assert_eq!(split(0x01), Some((Prefix::None, RangeCode::StartStop(2))));
        assert_eq!(split(0x06), Some((Prefix::None, RangeCode::All)));
        assert_eq!(split(0x07), Some((Prefix::None, RangeCode::Count(1))));
        assert_eq!(split(0x08), Some((Prefix::None, RangeCode::Count(2))));
        assert_eq!(split(0x17), Some((Prefix::Index(1), RangeCode::Count(1))));
        assert_eq!(split(0x28), Some((Prefix::Index(2), RangeCode::Count(2))));
        assert_eq!(split(0x39), Some((Prefix::Index(4), RangeCode::Count(4))));
        assert_eq!(
            split(0x5B),
            Some((Prefix::Size(2), RangeCode::FreeFormatCount))
        );
        assert_eq!(split(0x18), Some((Prefix::Index(1), RangeCode::Count(2))));
    }

    #[test]
    fn reserved_and_unsupported_qualifiers_are_refused() {
        for q in [
            0x03, 0x04, 0x05, 0x0A, 0x0C, 0x0F, 0x70, 0x80, 0x10, 0x16, 0x0B, 0x1B,
        ] {
            assert_eq!(split(q), None, "{q:02X}");
        }
    }
}
