//! The engine fed TLS records: a client TLS filter carrying a master router (1 → 1024) and a
//! server TLS filter carrying an outstation router (1024 ← 1), the filters the channels use,
//! joined by two in-memory "wires" the script reads, cuts, corrupts and truncates.
//!
//! The script drives both the handshake and the session after it: it can feed either side
//! arbitrary bytes from the very start (the server's ClientHello parsing, the client's
//! ServerHello parsing, record framing), deliver the real flights whole or split anywhere,
//! encrypt arbitrary plaintext that then reaches the routers behind the filters, flip and drop
//! bytes of records in flight, and send close_notify. Bytes reach a filter through the
//! executor's per-turn handshake budget as on a channel (a turn lasts until the next
//! `Advance`; held bytes retry before every step). Checked on every step: no panic; no
//! plaintext before the handshake finished; the plaintext of one `receive` bounded by its input
//! plus one record carried over; the ciphertext a `receive` queues bounded by its input; an
//! error after the handshake is classified as a protocol failure or the peer's alert (never a
//! certificate or "not TLS" error); an established session never waits for a turn; routers
//! never handed more than their room.
//!
//! Certificates are generated once per process (a CA, a server and a client certificate);
//! both sides keep their session caches across runs, so after the first full handshake the
//! others resume (no certificate signatures: cheap iterations). The handshake's randomness is
//! the OS's, so record bytes differ between runs; the operations (offsets, lengths) do not.
//!
//! Input: the first byte picks TLS 1.3 (even) or TLS 1.2 (odd) on both sides; then steps of a
//! tag byte (`tag & 7` the operation, `tag >> 3 & 1` the side: 0 client, 1 server) and
//! little-endian `u16` arguments (shorter when the input ends first):
//! 0 `Write len bytes` (the side encrypts plaintext), 1 `Deliver count` (the side's wire passes
//! `count` bytes, 0 = all, to the other side), 2 `Corrupt offset xor` (a byte of the side's
//! wire), 3 `Truncate keep` (the side's wire), 4 `Raw len bytes` (fed to the side as from its
//! peer), 5 `Close` (the side sends close_notify and closes), 6 `Exchange` (both wires and both routers
//! until quiet), 7 `Advance steps` (the clock moves `steps` × 10 ms, a new executor turn
//! begins, router timers run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3::fuzzing::{TlsContext, TlsLayer};
use rdnp3::{TlsConfig, TlsError, TlsVersion};
use rdnp3_fuzz::start;
use rdnp3_stack::master::{MasterConfig, MasterSession, Measurement, ReadHandler};
use rdnp3_stack::outstation::{
    DefaultApplication, MirrorOutputs, OutstationConfig, OutstationSession,
};
use rdnp3_stack::router::{ChannelCounters, DecodeLevel, Router, SessionKind, TimerOutcome};
use rdnp3_stack::session::Now;
use rdnp3_testkit::demo::demo_database;
use rdnp3_testkit::pki::{Pki, Validity};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The send room the routers are offered (before the records' overhead).
const ROOM: usize = 16 * 1024;

/// Ciphertext one `receive` may carry over from earlier calls: one incomplete record of the
/// largest size (2^14 plaintext + 2 048, TLS 1.2's limit; TLS 1.3's is smaller).
const CARRIED: usize = 16 * 1024 + 2048;

/// Ciphertext a `receive` may queue beyond twice its input: a server's first flight with its
/// certificate, or alerts.
const FLIGHT: usize = 32 * 1024;

/// Rounds of one `Exchange` step: a DNP3 startup (integrity poll, confirms) takes a handful.
const EXCHANGE_ROUNDS: usize = 16;

struct Contexts {
    client: TlsContext,
    server: TlsContext,
}

/// TLS 1.3 and TLS 1.2 contexts of both sides, built once per process; the certificate files
/// are removed once loaded.
fn contexts() -> &'static [Contexts; 2] {
    static CONTEXTS: OnceLock<[Contexts; 2]> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        let pki = Pki::new("fuzz-tls");
        let ca = pki.ca("ca");
        let server = pki.issue(&ca, "server", &["outstation.test"], Validity::Now);
        let client = pki.issue(&ca, "client", &["master.test"], Validity::Now);
        let remote = "127.0.0.1:20000".parse().expect("an address");
        let build = |version| {
            let s = TlsConfig::ca_chain(&server.cert, &server.key, &ca.path)
                .with_min_version(version)
                .with_max_version(version);
            let c = TlsConfig::ca_chain(&client.cert, &client.key, &ca.path)
                .with_peer_name("outstation.test")
                .with_min_version(version)
                .with_max_version(version);
            Contexts {
                client: TlsContext::client(&c, remote).expect("the client context loads"),
                server: TlsContext::server(&s).expect("the server context loads"),
            }
        };
        [build(TlsVersion::V1_3), build(TlsVersion::V1_2)]
    })
}

struct Sink;

impl ReadHandler for Sink {
    fn measurement(&mut self, m: &Measurement<'_>) {
        black_box(m);
    }
}

fn router(now: &Now, session: SessionKind) -> Router {
    let mut router = Router::new(
        "fuzz-tls".into(),
        Arc::new(ChannelCounters::default()),
        DecodeLevel::Nothing,
        Some(Duration::from_secs(60)),
        Duration::from_secs(1),
    );
    router.add(now, session).expect("the session is added");
    router
}

/// One end of the connection: its filter, the router behind it, and the ciphertext it sent
/// that the other end has not received yet.
struct Side {
    layer: TlsLayer,
    router: Router,
    wire: Vec<u8>,
    /// The handshake finished (the router is open).
    open: bool,
    /// An error or close_notify ended the connection: the channel would close the socket
    /// after sending what is queued (an alert).
    closed: bool,
}

impl Side {
    fn new(context: &TlsContext, router: Router) -> Side {
        let mut layer = context.layer();
        layer
            .start(Instant::now() + Duration::from_secs(10))
            .expect("a handshake starts");
        Side {
            layer,
            router,
            wire: Vec::new(),
            open: false,
            closed: false,
        }
    }

    /// Moves what the filter queued onto the wire.
    fn flush(&mut self) {
        let out = self.layer.outgoing();
        let n = out.len();
        self.wire.extend_from_slice(out);
        self.layer.sent(n);
    }

    fn fail(&mut self, now: &Now, error: &TlsError) {
        assert!(!error.to_string().is_empty());
        if self.open {
            assert!(
                matches!(error, TlsError::Protocol(_) | TlsError::PeerRefused(_)),
                "an established session failed with {error:?}"
            );
            self.router.on_close(now);
        }
        self.closed = true;
    }

    /// Ciphertext from the peer at `turn`, as the channel's `tls_data` handles it: through
    /// the executor's handshake budget (held for a later turn when it is spent; an empty
    /// `data` retries what is held).
    fn receive(&mut self, now: &Now, turn: u64, data: &[u8]) {
        if self.closed || (data.is_empty() && !self.layer.holds()) {
            return;
        }
        let data = match self.layer.admit(turn, data) {
            Ok(Some(data)) => data,
            Ok(None) => {
                assert!(!self.open, "an established session waited for a turn");
                assert!(self.layer.holds());
                return;
            }
            Err(e) => return self.fail(now, &e),
        };
        let data = &data[..];
        let queued = self.layer.outgoing().len();
        let received = match self.layer.receive(data) {
            Ok(r) => r,
            Err(e) => return self.fail(now, &e),
        };
        let grown = self.layer.outgoing().len().saturating_sub(queued);
        assert!(
            grown <= 2 * data.len() + FLIGHT,
            "{} bytes in queued {grown} bytes out",
            data.len()
        );
        let plaintext = self.layer.plaintext();
        assert!(
            plaintext.len() <= data.len() + CARRIED,
            "{} bytes in gave {} bytes of plaintext",
            data.len(),
            plaintext.len()
        );
        if received.opened {
            assert!(!self.open, "a session opened twice");
            self.open = true;
            self.router.on_open(now);
        }
        if !plaintext.is_empty() {
            assert!(self.open, "plaintext before the handshake finished");
            self.router.on_bytes(now, plaintext);
        }
        if received.peer_closed {
            if self.open {
                self.router.on_close(now);
            }
            self.closed = true;
        }
    }

    /// The router's output into the filter, within the room, as the channel's `pump_tls`
    /// does; true if there was some.
    fn pump(&mut self, now: &Now) -> bool {
        if !self.open || self.closed {
            return false;
        }
        let room = self.layer.plaintext_room(ROOM);
        let mut out = Vec::new();
        let n = self.router.poll_send(now, &mut out, room);
        assert!(
            n == out.len() && n <= room,
            "{n} bytes sent in {room} of room"
        );
        if n > 0 {
            if let Err(e) = self.layer.write(&out) {
                self.fail(now, &e);
            }
        }
        n > 0
    }

    /// Sends close_notify and closes, as a peer ending the session cleanly does. (Our channels
    /// never send it; rustls asserts, in debug builds, that nothing is received after it.)
    fn close(&mut self, now: &Now) {
        if !self.closed {
            self.layer.send_close_notify();
            if self.open {
                self.router.on_close(now);
            }
            self.closed = true;
        }
    }

    fn timer(&mut self, now: &Now) {
        if self.open
            && !self.closed
            && self.router.deadline().is_some_and(|t| t <= now.instant)
            && self.router.on_timer(now) != TimerOutcome::Continue
        {
            self.router.on_close(now);
            self.closed = true;
        }
    }
}

/// Reads the script's arguments; short when the input ends.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> usize {
        match *self.0 {
            [lo, hi, ..] => {
                self.0 = &self.0[2..];
                usize::from(u16::from_le_bytes([lo, hi]))
            }
            _ => self.byte().map_or(0, usize::from),
        }
    }

    fn bytes(&mut self) -> &'a [u8] {
        let len = self.u16().min(self.0.len());
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        bytes
    }
}

/// A turn of the executor no other run used: the handshake budget starts afresh.
fn next_turn() -> u64 {
    static TURN: AtomicU64 = AtomicU64::new(0);
    TURN.fetch_add(1, Ordering::Relaxed)
}

/// Both wires delivered and both routers pumped until nothing moves.
fn exchange(now: &Now, turn: u64, sides: &mut [Side; 2]) {
    for _ in 0..EXCHANGE_ROUNDS {
        let mut moved = false;
        for s in sides.iter_mut() {
            moved |= s.pump(now);
            s.flush();
        }
        for from in 0..2 {
            let wire = std::mem::take(&mut sides[from].wire);
            moved |= !wire.is_empty();
            sides[1 - from].receive(now, turn, &wire);
        }
        if !moved {
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Reader(data);
    let Some(version) = input.byte() else { return };
    let contexts = &contexts()[usize::from(version & 1)];
    let mut now = start();
    let mut turn = next_turn();
    let master = MasterSession::new(MasterConfig::default(), Box::new(Sink));
    let outstation = OutstationSession::new(
        OutstationConfig::default(),
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    );
    let mut sides = [
        Side::new(
            &contexts.client,
            router(&now, SessionKind::Master(Box::new(master))),
        ),
        Side::new(
            &contexts.server,
            router(&now, SessionKind::Outstation(Box::new(outstation))),
        ),
    ];
    while let Some(tag) = input.byte() {
        let side = usize::from(tag >> 3 & 1);
        for s in sides.iter_mut() {
            // Held handshake bytes try again, as the channel's posted retry does.
            s.receive(&now, turn, &[]);
            s.flush();
        }
        match tag & 7 {
            0 => {
                let bytes = input.bytes();
                if !sides[side].closed {
                    if let Err(e) = sides[side].layer.write(bytes) {
                        sides[side].fail(&now, &e);
                    }
                }
            }
            1 => {
                let count = match input.u16() {
                    0 => usize::MAX,
                    n => n,
                };
                let wire = &mut sides[side].wire;
                let bytes: Vec<u8> = wire.drain(..count.min(wire.len())).collect();
                sides[1 - side].receive(&now, turn, &bytes);
            }
            2 => {
                let offset = input.u16();
                let xor = input.byte().filter(|&x| x != 0).unwrap_or(0x80);
                let wire = &mut sides[side].wire;
                if !wire.is_empty() {
                    let at = offset % wire.len();
                    wire[at] ^= xor;
                }
            }
            3 => {
                let keep = input.u16();
                sides[side].wire.truncate(keep);
            }
            4 => {
                let bytes = input.bytes();
                sides[side].receive(&now, turn, bytes);
            }
            5 => sides[side].close(&now),
            6 => exchange(&now, turn, &mut sides),
            _ => {
                now = now.after(Duration::from_millis(input.u16() as u64 * 10));
                turn = next_turn();
                for s in sides.iter_mut() {
                    s.timer(&now);
                }
            }
        }
    }
    // No exchange at the end: the inputs that want one say so, the others stay cheap (a
    // handshake costs more than everything else an input does).
});
