//! Shared helpers of the reactor's integration tests: a runner that executes every case once
//! per backend and reports a backend the kernel refuses as ignored (with the reason), a small
//! deterministic random generator, an echo server actor, and process-level probes.
#![allow(dead_code)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rdnp3_reactor::{
    completion, Actor, Backend, CloseReason, Completion, Context, Pool, Promise, SendError,
    SourceId,
};

/// Backends every case runs on.
pub const BACKENDS: [Backend; 2] = [Backend::IoUring, Backend::Epoll];

/// One test case: a name that reads as a sentence and a body run once per backend.
pub struct Case {
    pub name: &'static str,
    pub run: fn(Backend),
}

/// Runs `cases` on every backend with libtest-style output; exits non-zero on failure.
///
/// Arguments: an optional substring filter, `--skip PATTERN` (repeatable), `--exact`, and
/// `--list`; other libtest flags such as `--nocapture` are accepted and ignored.
pub fn run_suite(cases: &[Case]) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter: Option<&String> = None;
    let mut skips: Vec<&String> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--skip" {
            skips.extend(rest.next());
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg);
        }
    }
    let exact = args.iter().any(|a| a == "--exact");
    let names: Vec<(String, &Case, Backend)> = cases
        .iter()
        .flat_map(|case| {
            BACKENDS
                .iter()
                .map(move |b| (format!("{}::{}", case.name, b), case, *b))
        })
        .collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _, _) in &names {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    let selected: Vec<_> = names
        .iter()
        .filter(|(name, _, _)| match filter {
            None => true,
            Some(f) if exact => name == f,
            Some(f) => name.contains(f.as_str()),
        })
        .filter(|(name, _, _)| !skips.iter().any(|s| name.contains(s.as_str())))
        .collect();
    let filtered_out = names.len() - selected.len();
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, case, backend) in selected {
        if let Err(reason) = backend.check() {
            println!("test {name} ... ignored, {backend} unavailable: {reason}");
            ignored += 1;
            continue;
        }
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| (case.run)(*backend)));
        match result {
            Ok(()) => {
                println!("test {name} ... ok ({:.2}s)", t.elapsed().as_secs_f64());
                passed += 1;
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("test {name} ... FAILED");
                failures.push((name.clone(), message));
                failed += 1;
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, message) in &failures {
            println!("    {name}: {message}");
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; \
         {filtered_out} filtered out; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if failed == 0 { 0 } else { 101 });
}

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

/// A deterministic xorshift generator: same seed, same test.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("procfs").count()
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

/// Raises this process's soft descriptor limit to its hard limit and returns the new soft
/// limit (tests that hold thousands of sockets need more than the usual 1024).
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    }
    hard.max(soft)
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
