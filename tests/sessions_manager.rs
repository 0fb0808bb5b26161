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
