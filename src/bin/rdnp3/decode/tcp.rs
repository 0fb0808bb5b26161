//! TCP stream reassembly, one byte stream per direction: segments are delivered in sequence
//! order, retransmitted and duplicate bytes are dropped, segments that arrive early wait in a
//! bounded buffer, and the number of streams is bounded (captures are hostile input).

use super::packet::{Segment, FIN, RST, SYN};
use std::collections::HashMap;
use std::net::SocketAddr;

/// At most this many out-of-order segments wait per stream…
const MAX_PENDING_SEGMENTS: usize = 32;
/// …holding at most this many bytes.
const MAX_PENDING_BYTES: usize = 64 * 1024;
/// A segment further ahead than this is not of this stream's window: dropped.
const MAX_AHEAD: u32 = 1 << 30;

/// What a stream delivers: its bytes in order, and the gaps it had to skip.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// The next bytes of the stream.
    Bytes(&'a [u8]),
    /// Bytes that never arrived (lost, or outside the capture): `missing` of them at stream
    /// offset `offset`; the stream resumes after them.
    Gap {
        /// Stream offset of the first missing byte.
        offset: u64,
        /// How many bytes are missing.
        missing: u64,
    },
}

/// Counters of what reassembly dropped.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpStats {
    /// Segments whose bytes had all been delivered already (retransmissions, duplicates).
    pub duplicates: u64,
    /// Segments too far ahead of the stream to belong to it.
    pub out_of_window: u64,
    /// Gaps skipped.
    pub gaps: u64,
}

/// One direction of a connection.
#[derive(Debug, Default)]
pub struct Direction {
    /// Sequence number of the next byte to deliver; `None` until the first segment.
    next: Option<u32>,
    /// Stream offset of `next`.
    offset: u64,
    /// Early segments: (sequence number, bytes).
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
    /// FIN or RST seen.
    pub closed: bool,
}

/// Signed distance from `b` to `a` in sequence space (RFC 793 modular arithmetic).
fn ahead(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Direction {
    /// Takes in one segment; calls `deliver` for each run of in-order bytes (or gap) it
    /// completes.
    pub fn push(
        &mut self,
        segment: &Segment<'_>,
        stats: &mut TcpStats,
        deliver: &mut dyn FnMut(Delivery<'_>),
    ) {
        let mut seq = segment.seq;
        if segment.flags & SYN != 0 {
            // The SYN takes one sequence number; data starts after it.
            seq = seq.wrapping_add(1);
            if self.offset == 0 && self.pending.is_empty() {
                self.next = Some(seq);
            }
        }
        if segment.flags & (FIN | RST) != 0 {
            self.closed = true;
        }
        let next = *self.next.get_or_insert(seq);
        let payload = segment.payload;
        if payload.is_empty() {
            return;
        }
        let distance = ahead(seq, next);
        if distance > 0 {
            if distance as u64 >= u64::from(MAX_AHEAD) {
                stats.out_of_window += 1;
                return;
            }
            self.hold(seq, payload, stats, deliver);
            return;
        }
        let overlap = distance.unsigned_abs();
        if overlap >= payload.len() as u64 {
            stats.duplicates += 1;
            return;
        }
        self.emit(&payload[overlap as usize..], deliver);
        self.drain(stats, deliver);
    }

    /// Delivers what is waiting after a gap (at the end of the capture).
    pub fn flush(&mut self, stats: &mut TcpStats, deliver: &mut dyn FnMut(Delivery<'_>)) {
        while !self.pending.is_empty() {
            self.skip_gap(stats, deliver);
            self.drain(stats, deliver);
        }
    }

    fn emit(&mut self, bytes: &[u8], deliver: &mut dyn FnMut(Delivery<'_>)) {
        deliver(Delivery::Bytes(bytes));
        self.offset += bytes.len() as u64;
        self.next = self.next.map(|n| n.wrapping_add(bytes.len() as u32));
    }

    /// Keeps an early segment; when the buffer is full, gives up on the oldest gap.
    fn hold(
        &mut self,
        seq: u32,
        payload: &[u8],
        stats: &mut TcpStats,
        deliver: &mut dyn FnMut(Delivery<'_>),
    ) {
        while !self.pending.is_empty()
            && (self.pending.len() >= MAX_PENDING_SEGMENTS
                || self.pending_bytes + payload.len() > MAX_PENDING_BYTES)
        {
            self.skip_gap(stats, deliver);
            self.drain(stats, deliver);
        }
        let Some(next) = self.next else { return };
        let distance = ahead(seq, next);
        if distance <= 0 {
            // The gap skip reached this segment: deliver what is new of it now.
            let overlap = distance.unsigned_abs();
            if overlap < payload.len() as u64 {
                self.emit(&payload[overlap as usize..], deliver);
                self.drain(stats, deliver);
            } else {
                stats.duplicates += 1;
            }
            return;
        }
        let kept = payload.len().min(MAX_PENDING_BYTES);
        self.pending_bytes += kept;
        self.pending.push((seq, payload[..kept].to_vec()));
    }

    /// Jumps `next` to the earliest waiting segment, reporting the bytes skipped.
    fn skip_gap(&mut self, stats: &mut TcpStats, deliver: &mut dyn FnMut(Delivery<'_>)) {
        let Some(next) = self.next else { return };
        let Some(earliest) = self
            .pending
            .iter()
            .map(|(s, _)| *s)
            .min_by_key(|s| ahead(*s, next))
        else {
            return;
        };
        let missing = ahead(earliest, next);
        if missing > 0 {
            stats.gaps += 1;
            deliver(Delivery::Gap {
                offset: self.offset,
                missing: missing as u64,
            });
            self.offset += missing as u64;
            self.next = Some(earliest);
        }
    }

    /// Delivers waiting segments that the stream has reached.
    fn drain(&mut self, stats: &mut TcpStats, deliver: &mut dyn FnMut(Delivery<'_>)) {
        loop {
            let Some(next) = self.next else { return };
            let Some(i) = self.pending.iter().position(|(s, _)| ahead(*s, next) <= 0) else {
                return;
            };
            let (seq, bytes) = self.pending.swap_remove(i);
            self.pending_bytes -= bytes.len();
            let overlap = ahead(seq, next).unsigned_abs();
            if overlap < bytes.len() as u64 {
                self.emit(&bytes[overlap as usize..], deliver);
            } else {
                stats.duplicates += 1;
            }
        }
    }
}

/// A direction of a connection: (sender, receiver).
pub type StreamKey = (SocketAddr, SocketAddr);

/// The streams of a capture, each with its state `T` (the decoder), bounded in number.
pub struct Streams<T> {
    index: HashMap<StreamKey, usize>,
    /// In order of first appearance (slots of closed streams are reused when full).
    slots: Vec<(StreamKey, Direction, T)>,
    limit: usize,
    /// Streams seen so far (including closed ones whose slot was reused).
    pub created: u64,
}

impl<T> Streams<T> {
    /// At most `limit` streams at once.
    pub fn new(limit: usize) -> Self {
        Streams {
            index: HashMap::new(),
            slots: Vec::new(),
            limit,
            created: 0,
        }
    }

    /// The stream `key`, created with `make` if new; `None` when `limit` open streams exist
    /// already.
    pub fn get_or_insert(
        &mut self,
        key: StreamKey,
        make: impl FnOnce() -> T,
    ) -> Option<(&mut Direction, &mut T)> {
        if let Some(&i) = self.index.get(&key) {
            let (_, dir, state) = &mut self.slots[i];
            return Some((dir, state));
        }
        let i = if self.slots.len() < self.limit {
            self.slots.push((key, Direction::default(), make()));
            self.slots.len() - 1
        } else {
            let i = self.slots.iter().position(|(_, d, _)| d.closed)?;
            self.index.remove(&self.slots[i].0);
            self.slots[i] = (key, Direction::default(), make());
            i
        };
        self.index.insert(key, i);
        self.created += 1;
        let (_, dir, state) = &mut self.slots[i];
        Some((dir, state))
    }

    /// Every stream in order of first appearance.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&StreamKey, &mut Direction, &mut T)> {
        self.slots.iter_mut().map(|(k, d, t)| (&*k, d, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32, flags: u8, payload: &[u8]) -> Segment<'_> {
        Segment {
            src: "10.0.0.1:1".parse().unwrap(),
            dst: "10.0.0.2:2".parse().unwrap(),
            seq,
            flags,
            payload,
        }
    }

    fn run(dir: &mut Direction, segments: &[Segment<'_>]) -> (Vec<u8>, Vec<(u64, u64)>) {
        let (mut bytes, mut gaps) = (Vec::new(), Vec::new());
        let mut stats = TcpStats::default();
        let mut deliver = |d: Delivery<'_>| match d {
            Delivery::Bytes(b) => bytes.extend_from_slice(b),
            Delivery::Gap { offset, missing } => gaps.push((offset, missing)),
        };
        for s in segments {
            dir.push(s, &mut stats, &mut deliver);
        }
        dir.flush(&mut stats, &mut deliver);
        (bytes, gaps)
    }

    #[test]
    fn out_of_order_overlapping_and_repeated_segments_come_out_in_order_once() {
        let mut d = Direction::default();
        let (bytes, gaps) = run(
            &mut d,
            &[
                seg(u32::MAX - 1, SYN, b""),
                seg(2, 0, b"def"),
                seg(u32::MAX, 0, b"abcd"),
                seg(u32::MAX, 0, b"abcd"),
                seg(0, 0, b"bcdefgh"),
            ],
        );
        assert_eq!(
            (bytes.as_slice(), gaps.as_slice()),
            (&b"abcdefgh"[..], &[][..])
        );
    }

    #[test]
    fn a_missing_segment_becomes_a_gap_at_the_end() {
        let mut d = Direction::default();
        let (bytes, gaps) = run(&mut d, &[seg(100, 0, b"ab"), seg(105, 0, b"xy")]);
        assert_eq!(
            (bytes.as_slice(), gaps.as_slice()),
            (&b"abxy"[..], &[(2, 3)][..])
        );
    }

    #[test]
    fn a_full_buffer_skips_the_gap_instead_of_growing() {
        let mut d = Direction::default();
        let mut segments = vec![seg(0, 0, b"a")];
        let data: Vec<[u8; 1]> = (0..200).map(|i| [i as u8]).collect();
        for (i, b) in data.iter().enumerate() {
            segments.push(seg(10 + i as u32, 0, b));
        }
        let (bytes, gaps) = run(&mut d, &segments);
        assert_eq!(bytes.len(), 201);
        assert_eq!(gaps, [(1, 9)]);
        assert!(d.pending.is_empty());
    }

    #[test]
    fn the_stream_table_is_bounded_and_reuses_closed_streams() {
        let mut streams: Streams<u32> = Streams::new(2);
        let key = |p: u16| -> StreamKey {
            (
                format!("10.0.0.1:{p}").parse().unwrap(),
                "10.0.0.2:2".parse().unwrap(),
            )
        };
        assert!(streams.get_or_insert(key(1), || 1).is_some());
        assert!(streams.get_or_insert(key(2), || 2).is_some());
        assert!(streams.get_or_insert(key(3), || 3).is_none());
        streams.get_or_insert(key(1), || 0).unwrap().0.closed = true;
        assert_eq!(*streams.get_or_insert(key(3), || 3).unwrap().1, 3);
    }
}
