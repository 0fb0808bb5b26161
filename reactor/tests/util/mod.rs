//! Shared helpers of the reactor's integration tests: pools, bounded waits, an echo server
//! actor and a loopback port nobody listens on. The both-backends runner, the seeded RNG and
//! the process probes come from `rdnp3_testkit`, re-exported here.
#![allow(dead_code)]

pub use rdnp3_testkit::backends::{run_suite, Case};
pub use rdnp3_testkit::process::{open_fds, raise_fd_limit};
pub use rdnp3_testkit::rng::Rng;

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rdnp3_reactor::{
    completion, Actor, Backend, CloseReason, Completion, Context, Pool, Promise, SendError,
    SourceId,
};

/// A pool on `backend` with `threads` executors, checked to run that backend.
pub fn pool(backend: Backend, threads: usize) -> Pool {
    let pool = Pool::builder()
        .backend(backend)
        .threads(threads)
        .build()
        .expect("pool starts");
    assert_eq!(pool.backend(), backend);
    pool
}

/// Generous bound for waits that only guard against a hang; never the thing tested.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Waits for a completion, failing the test (not hanging) if it never comes.
pub fn wait<T>(mut done: Completion<T>) -> T {
    done.wait_timeout(HANG_GUARD).expect("completion arrives")
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Runs a future to completion on this thread (proves `Completion` works as a `Future`
/// without any async runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Listens on 127.0.0.1:0 and starts an [`EchoConn`] actor per accepted connection
/// (spawned from the callback, so any executor may take it).
pub struct EchoServer {
    pub ready: Option<Promise<SocketAddr>>,
}

impl EchoServer {
    /// Spawns a server on `pool` and returns its address.
    pub fn start(pool: &Pool) -> SocketAddr {
        let (promise, done) = completion();
        pool.spawn(EchoServer {
            ready: Some(promise),
        })
        .expect("spawn");
        wait(done)
    }
}

impl Actor for EchoServer {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        let (_, addr) = cx
            .listen("127.0.0.1:0".parse().expect("addr"))
            .expect("listen");
        if let Some(ready) = self.ready.take() {
            ready.complete(addr);
        }
    }

    fn on_accept(
        &mut self,
        cx: &mut Context<'_, ()>,
        _: SourceId,
        stream: TcpStream,
        _: SocketAddr,
    ) {
        let _ = cx.spawn(EchoConn {
            stream: Some(stream),
            conn: None,
            backlog: Vec::new(),
        });
    }
}

/// Sends back every byte it receives, pausing reads while its send queue is full.
pub struct EchoConn {
    pub stream: Option<TcpStream>,
    pub conn: Option<SourceId>,
    pub backlog: Vec<u8>,
}

impl Actor for EchoConn {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        match self.stream.take().map(|s| cx.adopt_tcp(s)) {
            Some(Ok(conn)) => self.conn = Some(conn),
            _ => cx.stop(),
        }
    }

    fn on_data(&mut self, cx: &mut Context<'_, ()>, source: SourceId, data: &[u8]) {
        if !self.backlog.is_empty() {
            self.backlog.extend_from_slice(data);
            return;
        }
        match cx.send(source, data) {
            Ok(()) => {}
            Err(SendError::Full) => {
                self.backlog.extend_from_slice(data);
                cx.pause_reading(source);
            }
            Err(_) => cx.stop(),
        }
    }

    fn on_writable(&mut self, cx: &mut Context<'_, ()>, source: SourceId) {
        match cx.send(source, &self.backlog) {
            Ok(()) => {
                self.backlog.clear();
                cx.resume_reading(source);
            }
            Err(SendError::Full) => {}
            Err(_) => cx.stop(),
        }
    }

    fn on_closed(&mut self, cx: &mut Context<'_, ()>, _: SourceId, _: CloseReason) {
        cx.stop();
    }
}

/// Waits until `done()` holds, re-checking every millisecond; fails the test after
/// [`HANG_GUARD`] with `what`. For waiting on a condition, never as the assertion itself.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
