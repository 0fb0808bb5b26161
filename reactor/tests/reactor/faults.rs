//! Faults: refused and unanswered connects, a peer resetting mid-send, and a full send queue.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrIn,
};
use rdnp3_reactor::{
    completion, Actor, Backend, CloseReason, Context, Promise, SendError, SourceId,
};

use crate::util::{self, EchoServer};

/// Connects and reports the outcome of the connect.
struct Connector {
    addr: SocketAddr,
    timeout: Duration,
    done: Option<Promise<std::io::Result<()>>>,
}

impl Actor for Connector {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        if let Err(e) = cx.connect(self.addr, self.timeout) {
            if let Some(done) = self.done.take() {
                done.complete(Err(e));
            }
        }
    }

    fn on_connect(&mut self, cx: &mut Context<'_, ()>, _: SourceId, result: std::io::Result<()>) {
        if let Some(done) = self.done.take() {
            done.complete(result);
        }
        cx.stop();
    }
}

pub fn a_connect_to_a_closed_port_reports_an_error(backend: Backend) {
    let pool = util::pool(backend, 1);
    let (promise, done) = completion();
    pool.spawn(Connector {
        addr: util::closed_port(),
        timeout: Duration::from_secs(10),
        done: Some(promise),
    })
    .expect("spawn");
    let result = util::wait(done);
    assert_eq!(
        result.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
    pool.shutdown();
}

/// A loopback listener that drops every SYN: backlog 0 and one connection in its accept
/// queue that nobody accepts. The kernel answers a SYN unless the accept queue is full, so
/// this is how a peer that never answers looks on loopback. Keep both values alive.
fn listener_that_never_answers() -> (TcpListener, TcpStream) {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
    listen(&fd, Backlog::new(0).expect("backlog")).expect("listen");
    let listener = TcpListener::from(fd);
    let addr = listener.local_addr().expect("addr");
    let filler = TcpStream::connect_timeout(&addr, util::HANG_GUARD).expect("filler connects");
    // Readable means the filler sits in the accept queue: from now on the queue is full
    // (one waiting, backlog 0) and the kernel drops SYNs to this port.
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let ready = poll(
        &mut fds,
        PollTimeout::try_from(util::HANG_GUARD).expect("timeout"),
    )
    .expect("poll");
    assert_eq!(ready, 1, "the filler reached the accept queue");
    (listener, filler)
}

pub fn a_connect_the_peer_never_answers_reports_a_timeout(backend: Backend) {
    let (listener, _filler) = listener_that_never_answers();
    let pool = util::pool(backend, 1);
    let (promise, done) = completion();
    pool.spawn(Connector {
        addr: listener.local_addr().expect("addr"),
        timeout: Duration::from_millis(100),
        done: Some(promise),
    })
    .expect("spawn");
    let result = util::wait(done);
    assert_eq!(result.map_err(|e| e.kind()), Err(ErrorKind::TimedOut));
    // The timed-out connect was closed: the executor drives nothing any more.
    util::wait_until("the connector is gone", || {
        pool.stats().iter().all(|s| s.actors == 0 && s.sources == 0)
    });
    pool.shutdown();
}

/// Sends as fast as the queue allows until its connection fails; reports how it closed.
struct Flooder {
    addr: SocketAddr,
    conn: Option<SourceId>,
    chunk: Vec<u8>,
    saw_full: bool,
    done: Option<Promise<(Result<(), String>, bool)>>,
}

impl Flooder {
    fn flood(&mut self, cx: &mut Context<'_, ()>) {
        let Some(conn) = self.conn else { return };
        loop {
            match cx.send(conn, &self.chunk) {
                Ok(()) => {}
                Err(SendError::Full) => {
                    self.saw_full = true;
                    return;
                }
                // The failure itself arrives as `on_closed`.
                Err(_) => return,
            }
        }
    }

    fn report(&mut self, cx: &mut Context<'_, ()>, result: Result<(), String>) {
        if let Some(done) = self.done.take() {
            done.complete((result, self.saw_full));
        }
        cx.stop();
    }
}

impl Actor for Flooder {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        if cx.connect(self.addr, Duration::from_secs(10)).is_err() {
            self.report(cx, Err("connect failed".into()));
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
                self.flood(cx);
            }
            Err(e) => self.report(cx, Err(format!("connect: {e}"))),
        }
    }

    fn on_writable(&mut self, cx: &mut Context<'_, ()>, _: SourceId) {
        self.flood(cx);
    }

    fn on_closed(&mut self, cx: &mut Context<'_, ()>, _: SourceId, reason: CloseReason) {
        let result = match reason {
            CloseReason::Error(e) => Ok(e).and_then(|e| match e.kind() {
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => Ok(()),
                _ => Err(format!("unexpected error {e}")),
            }),
            other => Err(format!("closed without an error: {other}")),
        };
        self.report(cx, result);
    }
}

/// Pings an echo server on request and records any close it sees.
struct Bystander {
    addr: SocketAddr,
    conn: Option<SourceId>,
    pending: Option<Promise<Result<(), String>>>,
    ready: Option<Promise<()>>,
}

impl Actor for Bystander {
    type Message = Promise<Result<(), String>>;

    fn on_start(&mut self, cx: &mut Context<'_, Self::Message>) {
        self.conn = cx.connect(self.addr, Duration::from_secs(10)).ok();
    }

    fn on_connect(
        &mut self,
        _: &mut Context<'_, Self::Message>,
        _: SourceId,
        result: std::io::Result<()>,
    ) {
        if result.is_ok() {
            if let Some(ready) = self.ready.take() {
                ready.complete(());
            }
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self::Message>, reply: Self::Message) {
        let sent = self.conn.map(|c| cx.send(c, b"ping"));
        match sent {
            Some(Ok(())) => self.pending = Some(reply),
            other => reply.complete(Err(format!("could not ping: {other:?}"))),
        }
    }

    fn on_data(&mut self, _: &mut Context<'_, Self::Message>, _: SourceId, data: &[u8]) {
        if let Some(reply) = self.pending.take() {
            reply.complete(if data == b"ping" {
                Ok(())
            } else {
                Err("bad echo".into())
            });
        }
    }

    fn on_closed(&mut self, _: &mut Context<'_, Self::Message>, _: SourceId, reason: CloseReason) {
        if let Some(reply) = self.pending.take() {
            reply.complete(Err(format!("bystander closed: {reason}")));
        }
        panic!("the bystander's connection closed: {reason}");
    }
}

pub fn a_peer_reset_mid_send_closes_only_that_channel_with_an_error(backend: Backend) {
    let pool = util::pool(backend, 1);
    let echo = EchoServer::start(&pool);
    let (ready, is_ready) = completion();
    let bystander = pool
        .spawn(Bystander {
            addr: echo,
            conn: None,
            pending: None,
            ready: Some(ready),
        })
        .expect("spawn");
    util::wait(is_ready);

    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (promise, flood_done) = completion();
    let flooder = Flooder {
        addr: peer.local_addr().expect("addr"),
        conn: None,
        chunk: vec![0x5a; 4096],
        saw_full: false,
        done: Some(promise),
    };
    pool.spawn(flooder).expect("spawn");
    let (mut stream, _) = peer.accept().expect("accept");
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    while received < 256 * 1024 {
        received += stream.read(&mut buf).expect("read");
    }
    // Linger 0: closing now sends a reset instead of a clean end of stream.
    setsockopt(
        &stream.as_fd(),
        sockopt::Linger,
        &libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    )
    .expect("linger");
    drop(stream);

    let (result, _) = util::wait(flood_done);
    assert_eq!(result, Ok(()));
    let (ping, pong) = completion();
    bystander.post(ping).expect("post");
    assert_eq!(util::wait(pong), Ok(()), "the other actor did not notice");
    pool.shutdown();
}

pub fn a_full_send_queue_refuses_bytes_until_room_returns(backend: Backend) {
    let pool = rdnp3_reactor::Pool::builder()
        .backend(backend)
        .threads(1)
        .send_capacity(16 * 1024)
        .build()
        .expect("pool");
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (promise, done) = completion();
    let (full, is_full) = completion();
    let writer = Writer {
        addr: peer.local_addr().expect("addr"),
        total: TOTAL,
        sent: 0,
        fulls: 0,
        room: 0,
        full: Some(full),
        done: Some(promise),
    };
    pool.spawn(writer).expect("spawn");
    let (mut stream, _) = peer.accept().expect("accept");
    // The peer reads nothing until the writer's queue has filled (kernel buffers first).
    util::wait(is_full);
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0usize;
    let mut expected = 0u8;
    while received < TOTAL {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "writer closed early");
        for &b in &buf[..n] {
            assert_eq!(b, expected, "byte {received}");
            expected = expected.wrapping_add(1);
            received += 1;
        }
    }
    let (fulls, room) = util::wait(done);
    assert!(fulls > 0, "the queue never filled");
    assert!(room > 0, "room never returned");
    pool.shutdown();
}

/// Bytes the writer sends: far more than loopback socket buffers hold.
const TOTAL: usize = 16 << 20;

/// Writes `total` counting bytes as fast as the bounded queue allows.
struct Writer {
    addr: SocketAddr,
    total: usize,
    sent: usize,
    fulls: usize,
    room: usize,
    full: Option<Promise<()>>,
    done: Option<Promise<(usize, usize)>>,
}

impl Writer {
    fn pump(&mut self, cx: &mut Context<'_, ()>, conn: SourceId) {
        let mut chunk = [0u8; 1000];
        while self.sent < self.total {
            let len = chunk.len().min(self.total - self.sent);
            for (i, b) in chunk[..len].iter_mut().enumerate() {
                *b = (self.sent + i) as u8;
            }
            match cx.send(conn, &chunk[..len]) {
                Ok(()) => self.sent += len,
                Err(SendError::Full) => {
                    self.fulls += 1;
                    if let Some(full) = self.full.take() {
                        full.complete(());
                    }
                    return;
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
        if let Some(done) = self.done.take() {
            done.complete((self.fulls, self.room));
        }
    }
}

impl Actor for Writer {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        cx.connect(self.addr, Duration::from_secs(10))
            .expect("connect");
    }

    fn on_connect(
        &mut self,
        cx: &mut Context<'_, ()>,
        source: SourceId,
        result: std::io::Result<()>,
    ) {
        result.expect("connected");
        self.pump(cx, source);
    }

    fn on_writable(&mut self, cx: &mut Context<'_, ()>, source: SourceId) {
        self.room += 1;
        self.pump(cx, source);
    }
}
