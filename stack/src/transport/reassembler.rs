//! Joins transport segments into application fragments (IEEE 1815-2012, clause 8 receive rules).

use super::TransportHeader;
use std::fmt;

/// Kinds of transport error; each means a segment or a partial fragment was dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// A frame without even the transport header byte.
    EmptySegment,
    /// FIR=0 with nothing under assembly: the segment was dropped.
    NoFirstSegment,
    /// SEQ was not the previous + 1: the segment was dropped, the partial fragment kept.
    BadSequence,
    /// The link addresses changed mid-fragment: the segment was dropped.
    AddressChange,
    /// The fragment grew past the configured maximum: the whole fragment was discarded.
    Overflow,
}

impl TransportErrorKind {
    /// Upper-case name used in logs and the decoder output.
    pub fn name(self) -> &'static str {
        match self {
            TransportErrorKind::EmptySegment => "EMPTY_SEGMENT",
            TransportErrorKind::NoFirstSegment => "NO_FIRST_SEGMENT",
            TransportErrorKind::BadSequence => "BAD_SEQUENCE",
            TransportErrorKind::AddressChange => "ADDRESS_CHANGE",
            TransportErrorKind::Overflow => "OVERFLOW",
        }
    }
}

/// A transport error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// What went wrong.
    pub kind: TransportErrorKind,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transport segment dropped: {}", self.kind.name())
    }
}

impl std::error::Error for TransportError {}

/// Reassembles one stream of segments. A fragment that fits one segment (FIR and FIN: every
/// request and most responses) is handed over from the frame itself; a buffer of the maximum
/// size exists only while a fragment of several segments is under assembly, and goes again with
/// [`Reassembler::release`], so an idle channel holds none.
#[derive(Debug)]
pub struct Reassembler {
    buf: Vec<u8>,
    max: usize,
    /// (next expected SEQ, source, destination) while a fragment is under assembly.
    state: Option<(u8, u16, u16)>,
    errors: u64,
    interrupted: u64,
}

impl Reassembler {
    /// A reassembler for fragments of at most `max_fragment` bytes (2048 is the usual size).
    pub fn new(max_fragment: usize) -> Self {
        Reassembler {
            buf: Vec::new(),
            max: max_fragment,
            state: None,
            errors: 0,
            interrupted: 0,
        }
    }

    /// How many errors were reported so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// How many partial fragments were dropped because a new FIR segment began (a normal rule
    /// of IEEE 1815-2012, clause 8, counted rather than reported as an error).
    pub fn interrupted(&self) -> u64 {
        self.interrupted
    }

    /// Drops any partial fragment, and its buffer.
    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.state = None;
    }

    /// Gives the buffer back unless a fragment is under assembly: call it once the fragment
    /// [`Reassembler::push`] returned has been used.
    pub fn release(&mut self) {
        if self.state.is_none() && self.buf.capacity() > 0 {
            self.buf = Vec::new();
        }
    }

    /// Whether a buffer is held (a fragment of several segments under assembly, or one just
    /// completed and not released yet).
    pub fn holds_buffer(&self) -> bool {
        self.buf.capacity() > 0
    }

    /// Takes the user data of one link frame from `source` to `destination`. Returns the
    /// complete fragment when this segment ends one; an error means the segment was dropped.
    pub fn push<'a>(
        &'a mut self,
        user_data: &'a [u8],
        source: u16,
        destination: u16,
    ) -> Result<Option<&'a [u8]>, TransportError> {
        let Some((&byte, payload)) = user_data.split_first() else {
            return Err(self.fail(TransportErrorKind::EmptySegment));
        };
        let header = TransportHeader::from_byte(byte);
        if header.fir {
            if self.state.take().is_some() {
                self.interrupted += 1;
            }
            self.buf.clear();
            if header.fin {
                // One segment, one fragment: no copy, no buffer.
                self.release();
                if payload.len() > self.max {
                    self.reset();
                    return Err(self.fail(TransportErrorKind::Overflow));
                }
                return Ok(Some(payload));
            }
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(self.max);
            }
        } else {
            match self.state {
                None => return Err(self.fail(TransportErrorKind::NoFirstSegment)),
                Some((seq, src, dst)) => {
                    if src != source || dst != destination {
                        return Err(self.fail(TransportErrorKind::AddressChange));
                    }
                    if seq != header.seq {
                        return Err(self.fail(TransportErrorKind::BadSequence));
                    }
                }
            }
        }
        if self.buf.len() + payload.len() > self.max {
            self.reset();
            return Err(self.fail(TransportErrorKind::Overflow));
        }
        self.buf.extend_from_slice(payload);
        if header.fin {
            self.state = None;
            return Ok(Some(&self.buf));
        }
        self.state = Some(((header.seq + 1) & 0x3F, source, destination));
        Ok(None)
    }

    fn fail(&mut self, kind: TransportErrorKind) -> TransportError {
        self.errors += 1;
        TransportError { kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(fir: bool, fin: bool, seq: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![TransportHeader { fir, fin, seq }.to_byte()];
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn segments_join_into_one_fragment() {
        let mut r = Reassembler::new(2048);
        assert_eq!(r.push(&seg(true, false, 63, b"ab"), 1, 2), Ok(None));
        assert_eq!(r.push(&seg(false, false, 0, b"cd"), 1, 2), Ok(None));
        assert_eq!(
            r.push(&seg(false, true, 1, b"e"), 1, 2),
            Ok(Some(&b"abcde"[..]))
        );
    }

    #[test]
    fn a_wrong_sequence_drops_the_segment_and_keeps_the_partial_fragment() {
        let mut r = Reassembler::new(2048);
        r.push(&seg(true, false, 5, b"ab"), 1, 2).unwrap();
        let e = r.push(&seg(false, true, 9, b"xx"), 1, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::BadSequence);
        assert_eq!(
            r.push(&seg(false, true, 6, b"c"), 1, 2),
            Ok(Some(&b"abc"[..]))
        );
    }

    #[test]
    fn a_segment_from_another_address_is_dropped() {
        let mut r = Reassembler::new(2048);
        r.push(&seg(true, false, 5, b"ab"), 1, 2).unwrap();
        let e = r.push(&seg(false, true, 6, b"xx"), 3, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::AddressChange);
    }

    #[test]
    fn a_middle_segment_without_a_first_is_dropped() {
        let mut r = Reassembler::new(2048);
        let e = r.push(&seg(false, true, 6, b"xx"), 1, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NoFirstSegment);
        assert_eq!(
            r.push(&[], 1, 2).unwrap_err().kind,
            TransportErrorKind::EmptySegment
        );
        assert_eq!(r.errors(), 2);
    }

    #[test]
    fn a_new_first_segment_replaces_the_partial_fragment() {
        let mut r = Reassembler::new(2048);
        r.push(&seg(true, false, 5, b"ab"), 1, 2).unwrap();
        assert_eq!(r.push(&seg(true, true, 9, b"z"), 1, 2), Ok(Some(&b"z"[..])));
        assert_eq!(r.interrupted(), 1);
    }

    #[test]
    fn a_buffer_is_held_only_while_a_fragment_of_several_segments_is_assembled() {
        let mut r = Reassembler::new(2048);
        assert_eq!(
            r.push(&seg(true, true, 1, b"one"), 1, 2),
            Ok(Some(&b"one"[..]))
        );
        assert!(!r.holds_buffer());
        r.push(&seg(true, false, 2, b"ab"), 1, 2).unwrap();
        r.release();
        assert!(r.holds_buffer(), "a partial fragment keeps its buffer");
        assert_eq!(
            r.push(&seg(false, true, 3, b"c"), 1, 2),
            Ok(Some(&b"abc"[..]))
        );
        r.release();
        assert!(!r.holds_buffer());
        r.push(&seg(true, false, 4, b"ab"), 1, 2).unwrap();
        r.push(&seg(true, true, 9, b"z"), 1, 2).unwrap();
        assert!(!r.holds_buffer(), "an interrupted fragment's buffer goes");
    }

    #[test]
    fn an_oversized_single_segment_is_discarded() {
        let mut r = Reassembler::new(2);
        let e = r.push(&seg(true, true, 0, b"abc"), 1, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Overflow);
    }

    #[test]
    fn an_oversized_fragment_is_discarded_whole() {
        let mut r = Reassembler::new(4);
        r.push(&seg(true, false, 0, b"abc"), 1, 2).unwrap();
        let e = r.push(&seg(false, true, 1, b"de"), 1, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Overflow);
        let e = r.push(&seg(false, true, 2, b"f"), 1, 2).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NoFirstSegment);
    }
}
