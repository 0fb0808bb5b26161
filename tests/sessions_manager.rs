//! The manager as the application's threads see it: building one must not disturb the
//! building thread's own blocking I/O.

mod util;

use rdnp3::reactor::Backend;
use rdnp3::Manager;
use std::time::Duration;
use util::*;

#[test]
fn blocking_reads_on_the_thread_that_built_the_manager_are_not_interrupted() {
    // An application thread builds the manager and then does ordinary blocking I/O. Each
    // pool's executors are woken while it reads (a channel is added each time round).
    if let Err(e) = Backend::IoUring.check() {
        eprintln!("io_uring skipped: {e}");
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let mut stream =
        std::net::TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
    let _peer = listener.accept().expect("accept");
    stream
        .set_read_timeout(Some(Duration::from_millis(5)))
        .expect("read timeout");
    let mut interrupted = 0;
    for _ in 0..5 {
        let manager = Manager::builder()
            .threads(2)
            .backend(Backend::IoUring)
            .build()
            .expect("the reactor pool starts");
        for _ in 0..20 {
            let channel = manager
                .add_tcp_client(channel_config("idle"), free_address(), None)
                .expect("client channel");
            let mut buf = [0u8; 8];
            if let Err(e) = std::io::Read::read(&mut stream, &mut buf) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    interrupted += 1;
                }
            }
            channel.shutdown();
        }
        manager.shutdown();
    }
    assert_eq!(
        interrupted, 0,
        "blocking reads on the thread that built an io_uring manager failed with EINTR: \
         the pool sets up its rings and arms their wake-up reads on this thread"
    );
}

#[test]
fn a_blocking_call_from_a_callback_fails_with_on_executor_instead_of_deadlocking() {
    each_backend(|manager| {
        let other = manager
            .add_tcp_client(channel_config("other"), free_address(), None)
            .expect("client channel");
        let (tx, rx) = std::sync::mpsc::channel();
        let mut tx = Some(tx);
        let listener = move |_state: rdnp3::ChannelState| {
            // Runs on an executor: adding a master blocks until the channel answers.
            if let Some(tx) = tx.take() {
                let result = other.add_master(
                    rdnp3::MasterConfig::default(),
                    Box::new(rdnp3::stack::master::NullReadHandler),
                );
                let _ = tx.send(result.err().map(|e| e.to_string()));
            }
        };
        let channel = manager
            .add_tcp_client(
                channel_config("calls"),
                free_address(),
                Some(Box::new(listener)),
            )
            .expect("client channel");
        channel
            .add_master(
                rdnp3::MasterConfig::default(),
                Box::new(rdnp3::stack::master::NullReadHandler),
            )
            .expect("a master added from a plain thread");
        let error = rx.recv_timeout(WAIT).expect("the listener ran");
        let expected = rdnp3::ChannelError::OnExecutor.to_string();
        assert_eq!(error.as_deref(), Some(expected.as_str()));
    });
}

#[test]
fn a_manager_raises_the_open_file_limit_to_the_hard_limit_and_reports_it() {
    let manager = Manager::builder().threads(1).build().expect("manager");
    let limit = manager.fd_limit().expect("the limits can be read");
    assert_eq!(limit.soft, limit.hard);
    assert_eq!(rdnp3_testkit::process::fd_limit(), limit.soft);
    manager.shutdown();
}
