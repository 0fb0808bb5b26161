//! A listener whose accept fails for want of descriptors pauses and accepts again later: the
//! executor neither spins on the failing accept (io_uring re-armed it at once) nor forgets the
//! connection waiting in the backlog (epoll gets no new edge for it). Its own test binary: it
//! lowers the process's open-file limit.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
use rdnp3_reactor::{completion, Actor, Context, Promise, SourceId};
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Guards the waits against a hang; never the thing tested.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Listens on 127.0.0.1:0 and counts the connections it accepts and the accepts that fail.
struct Acceptor {
    ready: Option<Promise<SocketAddr>>,
    accepted: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
}

impl Actor for Acceptor {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        let (_, addr) = cx
            .listen("127.0.0.1:0".parse().expect("address"))
            .expect("listen");
        if let Some(ready) = self.ready.take() {
            ready.complete(addr);
        }
    }

    fn on_accept(
        &mut self,
        _cx: &mut Context<'_, ()>,
        _listener: SourceId,
        _stream: TcpStream,
        _peer: SocketAddr,
    ) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
    }

    fn on_accept_error(&mut self, _cx: &mut Context<'_, ()>, _: SourceId, _: std::io::Error) {
        self.failed.fetch_add(1, Ordering::SeqCst);
    }
}

/// The highest descriptor number open in this process.
fn highest_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn an_accept_out_of_descriptors_pauses_instead_of_spinning_and_resumes_once_they_are_free() {
    rdnp3_testkit::backends::each_backend(|backend| {
        // Lowered first: io_uring takes the limit an accept obeys when it is submitted.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        setrlimit(Resource::RLIMIT_NOFILE, highest_fd() + 64, hard).expect("setrlimit");
        let pool = rdnp3_reactor::Pool::builder()
            .backend(backend)
            .threads(1)
            .build()
            .expect("pool starts");
        let accepted = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let (ready, mut done) = completion();
        pool.spawn(Acceptor {
            ready: Some(ready),
            accepted: accepted.clone(),
            failed: failed.clone(),
        })
        .map_err(|_| "spawn")
        .expect("the acceptor starts");
        let SocketAddr::V4(addr) = done.wait_timeout(HANG_GUARD).expect("listening") else {
            panic!("an IPv4 listener");
        };
        // The client's socket exists before the table fills; connecting needs no descriptor.
        let client = socket::socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("socket");
        let mut filler = Vec::new();
        while let Ok(f) = File::open("/dev/null") {
            filler.push(f);
        }
        socket::connect(client.as_raw_fd(), &SockaddrIn::from(addr)).expect("connect");
        let polls_before = pool.stats()[0].polls;
        std::thread::sleep(Duration::from_millis(500));
        let polls = pool.stats()[0].polls - polls_before;
        let while_exhausted = accepted.load(Ordering::SeqCst);
        let failures = failed.load(Ordering::SeqCst);
        drop(filler);
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("restore the limit");
        assert_eq!(
            while_exhausted, 0,
            "{backend:?}: accepted with no descriptor left ({polls} polls)"
        );
        assert!(
            failures >= 1,
            "{backend:?}: the actor was told the accept failed"
        );
        // A spinning executor polls tens of thousands of times in half a second; pausing
        // 100 ms between attempts takes a handful.
        assert!(
            polls < 500,
            "{backend:?}: {polls} polls while out of descriptors"
        );
        let start = Instant::now();
        while accepted.load(Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < HANG_GUARD, "{backend:?}: never accepted");
            std::thread::sleep(Duration::from_millis(1));
        }
        pool.shutdown();
    });
}
