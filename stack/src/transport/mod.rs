//! Transport function (IEEE 1815-2012, clause 8): one header byte (FIN, FIR, SEQ) per link frame; the
//! segmenter cuts fragments into ≤ 249-byte segments and the reassembler joins them again.

mod reassembler;
mod segmenter;

pub use reassembler::{Reassembler, TransportError, TransportErrorKind};
pub use segmenter::{Segmenter, MAX_SEGMENT_PAYLOAD};

/// The transport header byte.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransportHeader {
    /// FIN: last segment of the fragment.
    pub fin: bool,
    /// FIR: first segment of the fragment.
    pub fir: bool,
    /// SEQ, 0..=63.
    pub seq: u8,
}

impl TransportHeader {
    /// Decodes the byte.
    pub fn from_byte(b: u8) -> Self {
        TransportHeader {
            fin: b & 0x80 != 0,
            fir: b & 0x40 != 0,
            seq: b & 0x3F,
        }
    }

    /// Encodes the byte.
    pub fn to_byte(self) -> u8 {
        (u8::from(self.fin) << 7) | (u8::from(self.fir) << 6) | (self.seq & 0x3F)
    }
}
