//! Cuts an application fragment into transport segments, each the user data of one link frame.

use super::TransportHeader;
use crate::link::{format_frame, FormatError, LinkHeader, MAX_FRAME_SIZE, MAX_USER_DATA};

/// Application bytes per segment: a link frame carries 250 user octets, one is the header.
pub const MAX_SEGMENT_PAYLOAD: usize = 249;

/// Keeps the running transport SEQ (one counter across fragments, as IEEE 1815-2012, clause 8 allows).
#[derive(Clone, Debug, Default)]
pub struct Segmenter {
    seq: u8,
}

impl Segmenter {
    /// A segmenter starting at SEQ 0.
    pub fn new() -> Self {
        Segmenter { seq: 0 }
    }

    /// The SEQ the next segment will carry.
    pub fn next_seq(&self) -> u8 {
        self.seq
    }

    /// Writes `fragment` as a sequence of link frames with `header` into `out`, returning the
    /// octets written. `out` must hold [`Segmenter::wire_size`] bytes; nothing is consumed from
    /// the SEQ counter if it does not.
    pub fn write_frames(
        &mut self,
        header: &LinkHeader,
        fragment: &[u8],
        out: &mut [u8],
    ) -> Result<usize, FormatError> {
        let need = Self::wire_size(fragment.len());
        if out.len() < need {
            return Err(FormatError::BufferTooSmall(need));
        }
        let mut pos = 0;
        let mut user = [0u8; MAX_USER_DATA];
        let count = Self::segment_count(fragment.len());
        for (i, chunk) in chunks(fragment).enumerate() {
            user[0] = TransportHeader {
                fir: i == 0,
                fin: i + 1 == count,
                seq: self.seq,
            }
            .to_byte();
            user[1..=chunk.len()].copy_from_slice(chunk);
            pos += format_frame(header, &user[..=chunk.len()], &mut out[pos..])?;
            self.seq = (self.seq + 1) & 0x3F;
        }
        Ok(pos)
    }

    /// How many segments a fragment of `len` bytes needs (at least one, even when empty).
    pub fn segment_count(len: usize) -> usize {
        len.div_ceil(MAX_SEGMENT_PAYLOAD).max(1)
    }

    /// Wire size of a fragment of `len` bytes once segmented and framed.
    pub fn wire_size(len: usize) -> usize {
        let full = len / MAX_SEGMENT_PAYLOAD;
        let rest = len % MAX_SEGMENT_PAYLOAD;
        let mut size = full * MAX_FRAME_SIZE;
        if rest > 0 || len == 0 {
            size += crate::link::frame_size(rest + 1);
        }
        size
    }
}

fn chunks(fragment: &[u8]) -> impl Iterator<Item = &[u8]> {
    let empty: &[u8] = &[];
    let first_empty = fragment.is_empty().then_some(empty);
    first_empty
        .into_iter()
        .chain(fragment.chunks(MAX_SEGMENT_PAYLOAD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{LinkFunction, LinkParser};

    #[test]
    fn a_fragment_is_cut_into_249_byte_segments_with_fir_fin_and_rolling_seq() {
        let mut s = Segmenter { seq: 62 };
        let fragment: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let h = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024);
        let mut out = vec![0u8; Segmenter::wire_size(600)];
        let n = s.write_frames(&h, &fragment, &mut out).unwrap();
        assert_eq!(n, out.len());
        let mut parser = LinkParser::new();
        let mut headers = Vec::new();
        let mut body = Vec::new();
        parser.feed(&out, |f| {
            let f = f.unwrap();
            headers.push(TransportHeader::from_byte(f.user_data[0]));
            body.extend_from_slice(&f.user_data[1..]);
        });
        assert_eq!(body, fragment);
        let expect = [(true, false, 62), (false, false, 63), (false, true, 0)];
        let got: Vec<_> = headers.iter().map(|h| (h.fir, h.fin, h.seq)).collect();
        assert_eq!(got, expect);
        assert_eq!(s.next_seq(), 1);
    }

    #[test]
    fn segment_counts_follow_ceil_of_249() {
        assert_eq!(Segmenter::segment_count(249), 1);
        assert_eq!(Segmenter::segment_count(250), 2);
        assert_eq!(Segmenter::segment_count(2048), 9);
        assert_eq!(Segmenter::wire_size(249), MAX_FRAME_SIZE);
    }
}
