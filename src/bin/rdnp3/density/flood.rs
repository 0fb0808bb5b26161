//! Flooders (`--flooders K`): K of the N outstation endpoints answer no DNP3 at all. Each
//! accepts the master's connection and sends garbage at full speed until the master closes
//! it, then accepts its next connection — how a master copes with a broken or hostile peer
//! among many good ones. Each flooder runs on a thread of its own, outside the reactor, so
//! that the farm's outstations never slow it down.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What a flooder sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodKind {
    /// Random bytes.
    Garbage,
    /// Valid link frames (unconfirmed user data with random contents) addressed to a link
    /// address no session of the master's channel has.
    Frames,
}

impl FloodKind {
    /// The `--flood-kind` value.
    pub fn name(self) -> &'static str {
        match self {
            FloodKind::Garbage => "garbage",
            FloodKind::Frames => "frames",
        }
    }

    /// From a `--flood-kind` value.
    pub fn parse(text: &str) -> Option<FloodKind> {
        match text {
            "garbage" => Some(FloodKind::Garbage),
            "frames" => Some(FloodKind::Frames),
            _ => None,
        }
    }
}

/// Whether endpoint `i` of `n` is one of the `k` flooders: endpoints ⌊j·n/k⌋ for j < k,
/// spread over the range (the farm and the master compute the same set).
pub fn is_flooder(i: usize, n: usize, k: usize) -> bool {
    if k == 0 || n == 0 {
        return false;
    }
    // i = ⌊j·n/k⌋ for some j  ⇔  the j = ⌈i·k/n⌉ maps back to i.
    let j = (i * k).div_ceil(n);
    j < k && j * n / k == i
}

/// One flooder's counters, shared with its thread.
#[derive(Default)]
pub struct FloodCounters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Bytes sent.
    pub bytes: AtomicU64,
}

/// The running flooders of a farm.
#[derive(Default)]
pub struct Flooders {
    counters: Vec<Arc<FloodCounters>>,
}

impl Flooders {
    /// Starts a flooder listening on `address`: bound before this returns.
    pub fn start(
        &mut self,
        address: SocketAddr,
        kind: FloodKind,
        master: u16,
        outstation: u16,
    ) -> std::io::Result<()> {
        let listener = TcpListener::bind(address)?;
        let counters = Arc::new(FloodCounters::default());
        let shared = counters.clone();
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (self.counters.len() as u64 + 1);
        let payload = match kind {
            FloodKind::Garbage => garbage(seed, 64 * 1024),
            FloodKind::Frames => frames(seed, 64 * 1024, master, outstation),
        };
        std::thread::Builder::new()
            .name(format!("flooder-{address}"))
            .spawn(move || flood(&listener, &payload, &shared))?;
        self.counters.push(counters);
        Ok(())
    }

    /// How many flooders run.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// Connections accepted and bytes sent, over every flooder.
    pub fn totals(&self) -> (u64, u64) {
        self.counters.iter().fold((0, 0), |(c, b), f| {
            (
                c + f.connections.load(Ordering::Relaxed),
                b + f.bytes.load(Ordering::Relaxed),
            )
        })
    }
}

/// Accepts connection after connection and writes `payload` to each, again and again, until
/// the peer closes it.
fn flood(listener: &TcpListener, payload: &[u8], counters: &FloodCounters) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        counters.connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        // Each write sends what the socket takes; an error (the master closed) ends it.
        while let Ok(n @ 1..) = stream.write(payload) {
            counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// A xorshift64 generator: repeatable filler, no cryptography.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// `len` random bytes.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = XorShift(seed | 1);
    (0..len).map(|_| rng.next() as u8).collect()
}

/// About `len` bytes of valid link frames from `outstation` (DIR 0, PRM 1, unconfirmed user
/// data, 1 to 250 random octets each) to a link address that is not `master`'s.
fn frames(seed: u64, len: usize, master: u16, outstation: u16) -> Vec<u8> {
    use rdnp3::stack::link::{format_frame, LinkFunction, LinkHeader, MAX_FRAME_SIZE};
    let nobody = if master == 2 { 3 } else { 2 };
    let header = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, nobody, outstation);
    let mut rng = XorShift(seed | 1);
    let mut out = Vec::with_capacity(len + MAX_FRAME_SIZE);
    let mut frame = [0u8; MAX_FRAME_SIZE];
    let mut data = [0u8; 250];
    while out.len() < len {
        let n = 1 + (rng.next() % 250) as usize;
        for b in &mut data[..n] {
            *b = rng.next() as u8;
        }
        if let Ok(size) = format_frame(&header, &data[..n], &mut frame) {
            out.extend_from_slice(&frame[..size]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdnp3::stack::link::LinkParser;

    #[test]
    fn flooders_are_spread_over_the_endpoints_and_counted_exactly() {
        let at = |n, k| (0..n).filter(|&i| is_flooder(i, n, k)).collect::<Vec<_>>();
        assert_eq!(at(1000, 4), vec![0, 250, 500, 750]);
        assert_eq!(at(20, 2), vec![0, 10]);
        assert_eq!(at(7, 3), vec![0, 2, 4]);
        assert_eq!(at(3, 3), vec![0, 1, 2]);
        assert!(at(5, 0).is_empty());
    }

    #[test]
    fn frame_floods_parse_as_valid_frames_to_nobody() {
        let bytes = frames(7, 4096, 1, 1024);
        let mut parser = LinkParser::new();
        let mut input = &bytes[..];
        let mut count = 0;
        while let Some(frame) = parser.parse(&mut input) {
            let frame = frame.expect("a valid frame");
            assert_eq!(frame.header.destination, 2);
            assert_eq!(frame.header.source, 1024);
            count += 1;
        }
        assert!(count >= 4096 / 292, "{count} frames");
        assert!(input.is_empty());
    }
}
