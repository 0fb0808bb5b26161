//! The application control byte (IEEE 1815-2012, clause 4).

/// FIR, FIN, CON, UNS and the 4-bit SEQ of an application fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AppControl {
    /// First fragment of a message.
    pub fir: bool,
    /// Final fragment of a message.
    pub fin: bool,
    /// The receiver must answer with CONFIRM.
    pub con: bool,
    /// Unsolicited response, or the confirm of one.
    pub uns: bool,
    /// Sequence number 0..=15.
    pub seq: u8,
}

impl AppControl {
    /// A single-fragment request or response (FIR, FIN) with `seq`.
    pub fn single(seq: u8) -> Self {
        AppControl {
            fir: true,
            fin: true,
            con: false,
            uns: false,
            seq: seq & 0x0F,
        }
    }

    /// Decodes the byte.
    pub fn from_byte(b: u8) -> Self {
        AppControl {
            fir: b & 0x80 != 0,
            fin: b & 0x40 != 0,
            con: b & 0x20 != 0,
            uns: b & 0x10 != 0,
            seq: b & 0x0F,
        }
    }

    /// Encodes the byte.
    pub fn to_byte(self) -> u8 {
        (u8::from(self.fir) << 7)
            | (u8::from(self.fin) << 6)
            | (u8::from(self.con) << 5)
            | (u8::from(self.uns) << 4)
            | (self.seq & 0x0F)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_values_decode() {
        let c = AppControl::from_byte(0xF3);
        assert!(c.fir && c.fin && c.con && c.uns);
        assert_eq!(c.seq, 3);
        for b in 0..=255u8 {
            assert_eq!(AppControl::from_byte(b).to_byte(), b);
        }
        assert_eq!(AppControl::single(0x12).to_byte(), 0xC2);
    }
}
