//! Echo: many concurrent clients send random-size messages written at random split points
//! and verify every byte that comes back.

use std::net::SocketAddr;
use std::time::Duration;

use rdnp3_reactor::{
    completion, Actor, Backend, CloseReason, Context, Pool, Promise, SendError, SourceId,
};

use crate::util::{self, EchoServer, Rng};

const CLIENTS: usize = 1000;
const MESSAGES: usize = 1000;
/// Messages a client keeps in flight (bytes in flight stay far below the send queue).
const WINDOW: usize = 8;

/// One client: sends `MESSAGES` messages of 1..=300 random bytes, each in 1 to 3 pieces
/// split at random points, and checks the echo byte for byte.
struct EchoClient {
    addr: SocketAddr,
    rng: Rng,
    conn: Option<SourceId>,
    sent: usize,
    echoed: usize,
    /// Sizes of messages sent and not fully echoed, oldest first.
    in_flight: std::collections::VecDeque<usize>,
    /// Bytes of the oldest message already echoed.
    partial: usize,
    /// Bytes sent and not yet echoed back, oldest first.
    expected: Vec<u8>,
    verified: usize,
    /// Most bytes one `on_data` may carry (the pool's receive buffer), if checked.
    read_limit: Option<usize>,
    /// Pieces refused by a full queue, retried on `on_writable`.
    unsent: Vec<u8>,
    done: Option<Promise<Result<usize, String>>>,
}

impl EchoClient {
    fn finish(&mut self, cx: &mut Context<'_, ()>, result: Result<usize, String>) {
        if let Some(done) = self.done.take() {
            done.complete(result);
        }
        cx.stop();
    }

    fn send_piece(&mut self, cx: &mut Context<'_, ()>, conn: SourceId, piece: &[u8]) {
        if !self.unsent.is_empty() {
            self.unsent.extend_from_slice(piece);
            return;
        }
        match cx.send(conn, piece) {
            Ok(()) => {}
            Err(SendError::Full) => self.unsent.extend_from_slice(piece),
            Err(e) => self.finish(cx, Err(format!("send failed: {e}"))),
        }
    }

    fn fill_window(&mut self, cx: &mut Context<'_, ()>) {
        let Some(conn) = self.conn else { return };
        let mut message = [0u8; 300];
        while self.sent < MESSAGES && self.in_flight.len() < WINDOW {
            let len = self.rng.range(1, 300);
            self.rng.fill(&mut message[..len]);
            self.expected.extend_from_slice(&message[..len]);
            let mut at = 0;
            for _ in 0..self.rng.range(0, 2) {
                let split = self.rng.range(at, len);
                let piece = message[at..split].to_vec();
                self.send_piece(cx, conn, &piece);
                at = split;
            }
            let rest = message[at..len].to_vec();
            self.send_piece(cx, conn, &rest);
            self.in_flight.push_back(len);
            self.sent += 1;
        }
    }
}

impl Actor for EchoClient {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        if let Err(e) = cx.connect(self.addr, Duration::from_secs(30)) {
            self.finish(cx, Err(format!("connect: {e}")));
        }
    }

    fn on_connect(
        &mut self,
        cx: &mut Context<'_, ()>,
        source: SourceId,
        result: std::io::Result<()>,
    ) {
        match result {
            Ok(()) => {
                self.conn = Some(source);
                self.fill_window(cx);
            }
            Err(e) => self.finish(cx, Err(format!("connect: {e}"))),
        }
    }

    fn on_data(&mut self, cx: &mut Context<'_, ()>, _: SourceId, data: &[u8]) {
        if let Some(limit) = self.read_limit {
            if data.len() > limit {
                return self.finish(cx, Err(format!("read of {} bytes", data.len())));
            }
        }
        let end = self.verified + data.len();
        if end > self.expected.len() || self.expected[self.verified..end] != *data {
            return self.finish(cx, Err(format!("echo mismatch at byte {}", self.verified)));
        }
        self.verified = end;
        let mut got = data.len();
        while got > 0 {
            let Some(&oldest) = self.in_flight.front() else {
                break;
            };
            let take = got.min(oldest - self.partial);
            self.partial += take;
            got -= take;
            if self.partial == oldest {
                self.in_flight.pop_front();
                self.partial = 0;
                self.echoed += 1;
            }
        }
        if self.verified > 64 * 1024 {
            self.expected.drain(..self.verified);
            self.verified = 0;
        }
        if self.echoed == MESSAGES {
            let echoed = self.echoed;
            return self.finish(cx, Ok(echoed));
        }
        self.fill_window(cx);
    }

    fn on_writable(&mut self, cx: &mut Context<'_, ()>, source: SourceId) {
        let unsent = std::mem::take(&mut self.unsent);
        self.send_piece(cx, source, &unsent);
    }

    fn on_closed(&mut self, cx: &mut Context<'_, ()>, _: SourceId, reason: CloseReason) {
        self.finish(
            cx,
            Err(format!("connection {reason} after {} echoes", self.echoed)),
        );
    }
}

fn echo(backend: Backend, threads: usize) {
    echo_through(util::pool(backend, threads), CLIENTS, None);
}

fn echo_through(pool: Pool, clients: usize, read_limit: Option<usize>) {
    echo_clients(&pool, clients, read_limit);
    pool.shutdown();
}

fn echo_clients(pool: &Pool, clients: usize, read_limit: Option<usize>) {
    let addr = EchoServer::start(pool);
    let mut results = Vec::with_capacity(clients);
    for seed in 0..clients as u64 {
        let (promise, done) = completion();
        let client = EchoClient {
            addr,
            rng: Rng::new(seed + 1),
            conn: None,
            sent: 0,
            echoed: 0,
            in_flight: Default::default(),
            partial: 0,
            expected: Vec::new(),
            verified: 0,
            read_limit,
            unsent: Vec::new(),
            done: Some(promise),
        };
        pool.spawn(client).expect("spawn");
        results.push(done);
    }
    for (i, done) in results.into_iter().enumerate() {
        assert_eq!(util::wait(done), Ok(MESSAGES), "client {i}");
    }
}

pub fn a_thousand_clients_echo_a_thousand_random_messages_on_one_executor(backend: Backend) {
    echo(backend, 1);
}

pub fn a_thousand_clients_echo_a_thousand_random_messages_on_two_executors(backend: Backend) {
    echo(backend, 2);
}

/// Receive buffers far smaller than what a client keeps in flight (up to 8 × 300 bytes): no
/// read carries more than 1 KiB and the rest arrives in the next ones, byte for byte.
pub fn clients_echo_through_one_kibibyte_receive_buffers(backend: Backend) {
    let pool = Pool::builder()
        .backend(backend)
        .threads(2)
        .recv_buffer(1024)
        .build()
        .expect("pool starts");
    echo_through(pool, 100, Some(1024));
}

/// Two shared receive buffers per executor for 200 busy clients: on io_uring most receives
/// find the ring empty and wait in their sockets; every byte still arrives, in order.
pub fn clients_echo_when_the_shared_receive_buffers_run_out(backend: Backend) {
    let pool = Pool::builder()
        .backend(backend)
        .threads(2)
        .recv_buffers(2)
        .build()
        .expect("pool starts");
    echo_clients(&pool, 200, None);
    if backend == Backend::IoUring {
        let waits: u64 = pool.stats().iter().map(|s| s.recv_waits).sum();
        assert!(
            waits > 0,
            "the ring never ran out: the test did not test it"
        );
    }
    pool.shutdown();
}
