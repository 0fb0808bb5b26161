//! A serial line that goes silent is closed and opened again by path: with keep-alive on,
//! the unanswered REQUEST_LINK_STATUS closes the port, every operation on it is cancelled
//! (the executor holds no stale descriptor afterwards), and the port is reopened by its path,
//! again and again, on both backends.

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rdnp3::reactor::Backend;
use rdnp3::stack::master::{MasterConfig, NullReadHandler};
use rdnp3::{ChannelConfig, ChannelState, Manager, SerialSettings};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A raw pseudo-terminal whose far end swallows every byte: a line nobody answers on.
fn silent_line() -> (String, OwnedFd, Arc<AtomicBool>) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut termios = tcgetattr(&pty.slave).expect("tcgetattr");
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).expect("tcsetattr");
    let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
    fcntl(pty.master.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let stop = Arc::new(AtomicBool::new(false));
    let running = stop.clone();
    let mut far_end = std::fs::File::from(pty.master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while !running.load(Ordering::Relaxed) {
            if far_end.read(&mut buf).unwrap_or(0) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    // The slave end stays open in the test, so the far end never reads EIO meanwhile.
    (path.to_string_lossy().into_owned(), pty.slave, stop)
}

fn silent_line_is_reopened(backend: Backend) {
    if let Err(e) = backend.check() {
        eprintln!("skipped: {backend:?} is not available here ({e})");
        return;
    }
    let manager = Manager::builder()
        .threads(1)
        .backend(backend)
        .build()
        .expect("manager");
    let (path, _slave, stop) = silent_line();
    let states = Arc::new(Mutex::new(Vec::new()));
    let log = states.clone();
    let config = ChannelConfig::named("silent")
        .with_min_retry(Duration::from_millis(20))
        .with_max_retry(Duration::from_millis(100))
        .with_keep_alive(Some(Duration::from_millis(100)))
        .with_link_timeout(Duration::from_millis(100));
    let channel = manager
        .add_serial(
            config,
            SerialSettings::new(path.as_str(), 115_200),
            Some(Box::new(move |s: ChannelState| log.lock().unwrap().push(s))),
        )
        .expect("serial channel");
    let _master = channel
        .add_master(MasterConfig::default(), Box::new(NullReadHandler))
        .expect("master");
    let opens = || {
        let states = states.lock().unwrap();
        states.iter().filter(|s| **s == ChannelState::Open).count()
    };
    let end = Instant::now() + Duration::from_secs(20);
    while opens() < 4 {
        assert!(
            Instant::now() < end,
            "the silent port was not reopened: {:?}",
            states.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = channel.stats();
    assert!(stats.keep_alive_failures >= 3, "{stats:?}");
    let log = states.lock().unwrap().clone();
    let closes = log.iter().filter(|s| **s == ChannelState::Closed).count();
    assert!(closes >= 3, "{log:?}");
    // Every closed port was let go: the executor drives at most the port open now.
    let sources: usize = manager.pool().stats().iter().map(|s| s.sources).sum();
    assert!(
        sources <= 1,
        "{sources} descriptors held after {closes} closes"
    );
    stop.store(true, Ordering::Relaxed);
    manager.shutdown();
}

#[test]
fn a_silent_serial_line_is_closed_and_reopened_by_path_over_epoll() {
    silent_line_is_reopened(Backend::Epoll);
}

#[test]
fn a_silent_serial_line_is_closed_and_reopened_by_path_over_io_uring() {
    silent_line_is_reopened(Backend::IoUring);
}
