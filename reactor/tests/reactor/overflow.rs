//! More completions than the ring holds: with a tiny ring and the executor busy while hundreds
//! of connections receive at once, the completion queue overflows and the submission queue
//! fills on every re-arm. Every byte must still arrive, on both backends.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdnp3_reactor::{completion, Actor, Backend, Context, Pool, Promise, SourceId};

use crate::util::{wait, wait_until};

const CONNECTIONS: usize = 300;
const BYTES: usize = 10;

/// Counts the bytes its connections receive; a message stalls the executor for a while.
struct Sink {
    streams: Vec<TcpStream>,
    received: Arc<AtomicUsize>,
    ready: Option<Promise<()>>,
}

impl Actor for Sink {
    type Message = Duration;

    fn on_start(&mut self, cx: &mut Context<'_, Duration>) {
        for stream in self.streams.drain(..) {
            cx.adopt_tcp(stream).expect("adopt");
        }
        if let Some(ready) = self.ready.take() {
            ready.complete(());
        }
    }

    fn on_data(&mut self, _: &mut Context<'_, Duration>, _: SourceId, data: &[u8]) {
        self.received.fetch_add(data.len(), Ordering::Relaxed);
    }

    fn on_message(&mut self, _: &mut Context<'_, Duration>, stall: Duration) {
        // Busy on purpose: completions pile up in the kernel meanwhile.
        std::thread::sleep(stall);
    }
}

pub fn a_completion_queue_overflow_loses_no_completion(backend: Backend) {
    let pool = Pool::builder()
        .backend(backend)
        .threads(1)
        .ring_entries(2)
        .build()
        .expect("pool starts");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let address = listener.local_addr().expect("address");
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(TcpStream::connect(address).expect("connect"));
        servers.push(listener.accept().expect("accept").0);
    }
    let received = Arc::new(AtomicUsize::new(0));
    let (ready, started) = completion();
    let sink = pool
        .spawn(Sink {
            streams: servers,
            received: received.clone(),
            ready: Some(ready),
        })
        .map_err(|_| "spawn")
        .expect("spawn");
    wait(started);
    for round in 1..=3u8 {
        sink.post(Duration::from_millis(200)).expect("post");
        std::thread::sleep(Duration::from_millis(20));
        for client in &mut clients {
            client.write_all(&[round; BYTES]).expect("write");
        }
        let expected = CONNECTIONS * BYTES * usize::from(round);
        wait_until("every byte of the round", || {
            received.load(Ordering::Relaxed) == expected
        });
    }
    let stats = pool.stats()[0];
    assert_eq!(stats.cq_dropped, 0);
    if backend == Backend::IoUring {
        assert!(
            stats.cq_overflows > 0,
            "the test overflowed nothing: {stats:?}"
        );
    }
    pool.shutdown();
}
