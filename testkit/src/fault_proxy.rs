//! A userspace TCP proxy that injects faults, since this kernel has no netem: it delays,
//! corrupts, duplicates and truncates what it relays, and cuts or refuses connections on
//! demand. Faults can change while it runs; every decision comes from a seeded RNG, so a
//! failing test can be replayed with the seed it prints.
//!
//! Each relayed connection has two threads (one per direction): it is for tests with a
//! handful of connections, not for load.

use crate::rng::Rng;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the proxy does to the bytes it relays. Probabilities are per chunk read (one
/// `read()` of up to 4 KiB, usually one DNP3 frame or a few), in parts per thousand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Holds every chunk this long before passing it on.
    pub delay: Duration,
    /// Flips one random bit of the chunk.
    pub corrupt_permille: u32,
    /// Sends the chunk twice.
    pub duplicate_permille: u32,
    /// Sends only a random prefix of the chunk (the rest is lost).
    pub truncate_permille: u32,
    /// Drops the chunk.
    pub drop_permille: u32,
    /// Cuts the connection (both directions) instead of relaying the chunk.
    pub cut_permille: u32,
}

impl Faults {
    /// A clean relay.
    pub fn none() -> Self {
        Faults::default()
    }
}

/// What the proxy has done, for assertions that the faults really happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Connections accepted and relayed.
    pub connections: u64,
    /// Connections refused while refusing.
    pub refused: u64,
    /// Chunks relayed (each direction).
    pub chunks: u64,
    /// Chunks corrupted.
    pub corrupted: u64,
    /// Chunks duplicated.
    pub duplicated: u64,
    /// Chunks truncated.
    pub truncated: u64,
    /// Chunks dropped.
    pub dropped: u64,
    /// Connections cut by a fault or by [`FaultProxy::cut_all`].
    pub cut: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    chunks: AtomicU64,
    corrupted: AtomicU64,
    duplicated: AtomicU64,
    truncated: AtomicU64,
    dropped: AtomicU64,
    cut: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    refusing: AtomicBool,
    rng: Mutex<Rng>,
    /// Both ends of every live connection, so that they can be cut from outside.
    live: Mutex<Vec<(TcpStream, TcpStream)>>,
    counters: Counters,
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn faults(&self) -> Faults {
        *lock(&self.faults)
    }

    /// True with probability `permille`/1000.
    fn chance(&self, permille: u32) -> bool {
        permille > 0 && (lock(&self.rng).below(1000) as u32) < permille
    }

    fn below(&self, n: usize) -> usize {
        lock(&self.rng).below(n)
    }
}

/// The proxy: listens on `address()` and relays each connection to the upstream address.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0 picks one) and relays to `upstream` with `faults`; `seed`
    /// drives every random decision.
    pub fn start(listen: SocketAddr, upstream: SocketAddr, faults: Faults, seed: u64) -> Self {
        let listener = TcpListener::bind(listen).expect("fault proxy listens");
        let address = listener.local_addr().expect("fault proxy address");
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(faults),
            refusing: AtomicBool::new(false),
            rng: Mutex::new(Rng::new(seed)),
            live: Mutex::new(Vec::new()),
            counters: Counters::default(),
            stopped: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || accept_loop(listener, accepting));
        FaultProxy { address, shared }
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Changes the faults; relays already running see the change at their next chunk.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// While true, new connections are accepted and closed at once.
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Cuts every live connection now (both ends see the close).
    pub fn cut_all(&self) {
        let live = std::mem::take(&mut *lock(&self.shared.live));
        for (down, up) in live {
            let _ = down.shutdown(Shutdown::Both);
            let _ = up.shutdown(Shutdown::Both);
            self.shared.counters.cut.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What it has done so far.
    pub fn counts(&self) -> FaultCounts {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FaultCounts {
            connections: get(&c.connections),
            refused: get(&c.refused),
            chunks: get(&c.chunks),
            corrupted: get(&c.corrupted),
            duplicated: get(&c.duplicated),
            truncated: get(&c.truncated),
            dropped: get(&c.dropped),
            cut: get(&c.cut),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut_all();
        // Wake the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect(self.address);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for down in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(down) = down else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let Ok(up) = TcpStream::connect(shared.upstream) else {
            continue;
        };
        let _ = down.set_nodelay(true);
        let _ = up.set_nodelay(true);
        let clones = (
            down.try_clone(),
            up.try_clone(),
            down.try_clone(),
            up.try_clone(),
        );
        let (Ok(down2), Ok(up2), Ok(down3), Ok(up3)) = clones else {
            continue;
        };
        shared.counters.connections.fetch_add(1, Ordering::Relaxed);
        lock(&shared.live).push((down3, up3));
        let s = shared.clone();
        std::thread::spawn(move || relay(down, up, &s));
        let s = shared.clone();
        std::thread::spawn(move || relay(up2, down2, &s));
    }
}

/// Copies `from` to `to` chunk by chunk, applying the faults; on end of stream, an error or a
/// cut, closes both.
fn relay(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 4096];
    let c = &shared.counters;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        c.chunks.fetch_add(1, Ordering::Relaxed);
        let faults = shared.faults();
        if !faults.delay.is_zero() {
            std::thread::sleep(faults.delay);
        }
        if shared.chance(faults.cut_permille) {
            c.cut.fetch_add(1, Ordering::Relaxed);
            break;
        }
        if shared.chance(faults.drop_permille) {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let chunk = &mut buf[..n];
        if shared.chance(faults.corrupt_permille) {
            let bit = shared.below(n * 8);
            chunk[bit / 8] ^= 1 << (bit % 8);
            c.corrupted.fetch_add(1, Ordering::Relaxed);
        }
        let mut len = n;
        if shared.chance(faults.truncate_permille) {
            len = shared.below(n);
            c.truncated.fetch_add(1, Ordering::Relaxed);
        }
        let copies = if shared.chance(faults.duplicate_permille) {
            c.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        if (0..copies).any(|_| to.write_all(&chunk[..len]).is_err()) {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = stream;
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    }

    fn round_trip(proxy: &FaultProxy, bytes: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(proxy.address()).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        s.write_all(bytes).expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() >= bytes.len() * 4 {
                break;
            }
        }
        got
    }

    #[test]
    fn a_clean_proxy_relays_bytes_unchanged() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let proxy = FaultProxy::start(any, echo_server(), Faults::none(), 1);
        assert_eq!(round_trip(&proxy, b"hello"), b"hello");
        assert_eq!(proxy.counts().connections, 1);
    }

    #[test]
    fn certain_faults_corrupt_and_duplicate_every_chunk() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let faults = Faults {
            duplicate_permille: 1000,
            ..Faults::none()
        };
        let proxy = FaultProxy::start(any, echo_server(), faults, 2);
        // Duplicated on the way there and on the way back.
        assert_eq!(round_trip(&proxy, b"ab"), b"abababab");
        proxy.set_faults(Faults {
            corrupt_permille: 1000,
            ..Faults::none()
        });
        let got = round_trip(&proxy, b"abcdefgh");
        assert_eq!(got.len(), 8);
        assert_ne!(got, b"abcdefgh");
        let counts = proxy.counts();
        assert!(
            counts.duplicated >= 2 && counts.corrupted >= 2,
            "{counts:?}"
        );
    }

    #[test]
    fn refused_and_cut_connections_close() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let proxy = FaultProxy::start(any, echo_server(), Faults::none(), 3);
        proxy.set_refusing(true);
        assert_eq!(round_trip(&proxy, b"x"), b"");
        proxy.set_refusing(false);
        let mut s = TcpStream::connect(proxy.address()).expect("connect");
        s.write_all(b"y").unwrap();
        let mut one = [0u8; 1];
        s.read_exact(&mut one).unwrap();
        proxy.cut_all();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(s.read(&mut one).unwrap_or(0), 0, "cut");
        assert_eq!(proxy.counts().refused, 1);
    }
}
