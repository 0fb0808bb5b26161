//! Identifying a dial-in connection by its first link frame: the bytes a new connection sends
//! are kept (to be handed to the association's channel) and parsed until the first valid
//! frame, within a byte budget.

use rdnp3_stack::link::LinkParser;
use std::fmt;

/// Why a new connection was not identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotAFrame {
    /// The first bytes are not the start of a link frame (`05 64`).
    NoStart,
    /// A link-layer error came before any valid frame.
    Link(String),
    /// The first valid frame was sent by a master (DIR set), not by an outstation.
    FromMaster(u16),
    /// The budget of bytes ran out before a frame was complete.
    OverBudget(usize),
}

impl fmt::Display for NotAFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAFrame::NoStart => f.write_str("not a DNP3 outstation: no 05 64 at the start"),
            NotAFrame::Link(e) => write!(f, "not a DNP3 outstation: {e}"),
            NotAFrame::FromMaster(source) => {
                write!(
                    f,
                    "not a DNP3 outstation: a master frame from address {source}"
                )
            }
            NotAFrame::OverBudget(n) => write!(f, "no valid link frame in the first {n} bytes"),
        }
    }
}

/// What the bytes so far tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Identified {
    /// No complete frame yet.
    NeedMore,
    /// The first valid frame came from this outstation link address.
    Outstation(u16),
    /// The connection is not a DNP3 outstation (or not within the budget).
    Garbage(NotAFrame),
}

/// The first bytes of a connection, parsed until its first valid link frame.
pub(crate) struct FirstFrame {
    parser: Box<LinkParser>,
    received: Vec<u8>,
    budget: usize,
}

impl FirstFrame {
    /// Accepts at most `budget` bytes before the first frame must be complete.
    pub(crate) fn new(budget: usize) -> Self {
        FirstFrame {
            parser: Box::new(LinkParser::new()),
            received: Vec::new(),
            budget,
        }
    }

    /// Everything received so far.
    pub(crate) fn into_received(self) -> Vec<u8> {
        self.received
    }

    /// Takes more bytes. The first valid frame must come first: bytes that do not start
    /// with `05 64`, any link error before the frame (a bad CRC) and a frame with DIR set
    /// (IEEE 1815-2012, clause 9: DIR is set by masters) mark the connection as garbage.
    pub(crate) fn push(&mut self, data: &[u8]) -> Identified {
        let room = self.budget.saturating_sub(self.received.len());
        let take = data.len().min(room);
        let mut input = &data[..take];
        self.received.extend_from_slice(input);
        // The parser would skip such bytes quietly while hunting for a frame: at the start
        // of a connection they are enough to tell.
        let start = &self.received[..self.received.len().min(2)];
        if !start.is_empty() && start != &[0x05, 0x64][..start.len()] {
            return Identified::Garbage(NotAFrame::NoStart);
        }
        // One call consumes the input up to the first frame or error, or all of it.
        if let Some(event) = self.parser.parse(&mut input) {
            return match event {
                Ok(frame) if frame.header.control.dir => {
                    Identified::Garbage(NotAFrame::FromMaster(frame.header.source))
                }
                Ok(frame) => Identified::Outstation(frame.header.source),
                Err(e) => Identified::Garbage(NotAFrame::Link(e.to_string())),
            };
        }
        if take < data.len() || self.received.len() >= self.budget {
            return Identified::Garbage(NotAFrame::OverBudget(self.budget));
        }
        Identified::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdnp3_stack::link::{LinkFunction, LinkHeader};

    fn frame(master: bool, source: u16) -> Vec<u8> {
        let header = LinkHeader::new(master, LinkFunction::RequestLinkStatus, 1, source);
        let mut out = [0u8; 292];
        let n = rdnp3_stack::link::format_frame(&header, &[], &mut out).expect("a valid frame");
        out[..n].to_vec()
    }

    #[test]
    fn an_outstation_frame_in_two_pieces_is_identified_by_its_source_address() {
        let bytes = frame(false, 1234);
        let mut first = FirstFrame::new(1024);
        assert_eq!(first.push(&bytes[..4]), Identified::NeedMore);
        assert_eq!(first.push(&bytes[4..]), Identified::Outstation(1234));
        assert_eq!(first.into_received(), bytes);
    }

    #[test]
    fn a_master_frame_is_not_an_outstation() {
        let mut first = FirstFrame::new(1024);
        assert_eq!(
            first.push(&frame(true, 7)),
            Identified::Garbage(NotAFrame::FromMaster(7))
        );
    }

    #[test]
    fn garbage_before_the_first_frame_is_refused_at_its_first_bytes() {
        let mut first = FirstFrame::new(1024);
        assert_eq!(first.push(b"G"), Identified::Garbage(NotAFrame::NoStart));
        let mut first = FirstFrame::new(1024);
        assert_eq!(first.push(&[0x05]), Identified::NeedMore);
        assert_eq!(
            first.push(&[0x05, 0x64]),
            Identified::Garbage(NotAFrame::NoStart)
        );
    }

    #[test]
    fn a_frame_with_a_bad_header_crc_is_refused() {
        let mut bytes = frame(false, 3);
        bytes[8] ^= 0xFF;
        let mut first = FirstFrame::new(1024);
        assert!(matches!(
            first.push(&bytes),
            Identified::Garbage(NotAFrame::Link(_))
        ));
    }

    #[test]
    fn bytes_past_the_budget_without_a_frame_are_refused() {
        let header = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 3);
        let mut out = [0u8; 292];
        let n = rdnp3_stack::link::format_frame(&header, &[0xC0; 200], &mut out)
            .expect("a valid frame");
        let mut first = FirstFrame::new(16);
        assert_eq!(first.push(&out[..10]), Identified::NeedMore);
        assert_eq!(
            first.push(&out[10..n]),
            Identified::Garbage(NotAFrame::OverBudget(16))
        );
        assert_eq!(first.into_received(), out[..16].to_vec());
    }
}
