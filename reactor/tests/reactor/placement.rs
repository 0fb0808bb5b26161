//! Placement: new actors spread evenly over the executors and never move once started.

use std::net::SocketAddr;
use std::thread::ThreadId;
use std::time::Duration;

use rdnp3_reactor::{completion, Actor, Backend, Context, Promise, SourceId, TimerId};

use crate::util::{self, EchoServer};

/// Reports which executor started it.
struct Idle {
    started: Option<Promise<usize>>,
}

impl Actor for Idle {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        if let Some(started) = self.started.take() {
            started.complete(cx.executor_index());
        }
    }
}

pub fn a_thousand_channels_spread_evenly_over_the_executors(backend: Backend) {
    for threads in [2, 3] {
        let pool = util::pool(backend, threads);
        let mut started = Vec::new();
        for _ in 0..1000 {
            let (promise, done) = completion();
            pool.spawn(Idle {
                started: Some(promise),
            })
            .expect("spawn");
            started.push(done);
        }
        let mut counts = vec![0usize; threads];
        for done in started {
            counts[util::wait(done)] += 1;
        }
        let pinned: Vec<usize> = pool.stats().iter().map(|s| s.actors).collect();
        assert_eq!(pinned, counts, "stats agree with where actors started");
        let mean = 1000 / threads;
        for &count in &counts {
            assert!(
                // Placement is by work stealing and depends on which executor is awake: on a
                // loaded machine the spread varies, but a lopsided one (one executor taking
                // nearly everything) is caught.
                count.abs_diff(mean) <= mean / 4,
                "uneven spread {counts:?} on {threads} executors"
            );
        }
        pool.shutdown();
    }
}

enum Poke {
    Ping,
    Report(Promise<Result<Vec<ThreadId>, String>>),
}

/// Records the thread of every callback: start, connect, data, timer and message.
struct Recorder {
    addr: SocketAddr,
    threads: Vec<ThreadId>,
    conn: Option<SourceId>,
    /// How the connect ended, once it has.
    connect_outcome: Option<Result<(), String>>,
    /// A report asked for before the connect ended; answered when it does.
    report: Option<Promise<Result<Vec<ThreadId>, String>>>,
}

impl Recorder {
    fn note(&mut self) {
        self.threads.push(std::thread::current().id());
    }

    /// Answers a pending report once the connect has ended, one way or the other.
    fn answer(&mut self) {
        let Some(outcome) = &self.connect_outcome else {
            return;
        };
        if let Some(report) = self.report.take() {
            report.complete(outcome.clone().map(|()| self.threads.clone()));
        }
    }
}

impl Actor for Recorder {
    type Message = Poke;

    fn on_start(&mut self, cx: &mut Context<'_, Poke>) {
        self.note();
        cx.connect(self.addr, Duration::from_secs(10))
            .expect("connect");
        cx.set_timer(Duration::from_millis(1));
    }

    fn on_connect(
        &mut self,
        cx: &mut Context<'_, Poke>,
        source: SourceId,
        result: std::io::Result<()>,
    ) {
        self.note();
        // A failed connect fails the case: the listener is up with its accept armed, so
        // loopback has no reason to refuse it.
        self.connect_outcome = Some(match result {
            Ok(()) => {
                self.conn = Some(source);
                let _ = cx.send(source, b"hello");
                Ok(())
            }
            Err(e) => Err(format!("connect to {} failed: {e}", self.addr)),
        });
        self.answer();
    }

    fn on_data(&mut self, _: &mut Context<'_, Poke>, _: SourceId, _: &[u8]) {
        self.note();
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Poke>, _: TimerId) {
        self.note();
        if self.threads.len() < 20 {
            cx.set_timer(Duration::from_millis(1));
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_, Poke>, poke: Poke) {
        self.note();
        match poke {
            Poke::Ping => {
                if let Some(conn) = self.conn {
                    let _ = cx.send(conn, b"ping");
                }
            }
            Poke::Report(reply) => {
                self.report = Some(reply);
                self.answer();
            }
        }
    }
}

pub fn every_callback_of_a_channel_runs_on_the_same_thread(backend: Backend) {
    let pool = util::pool(backend, 2);
    let addr = EchoServer::start(&pool);
    let handles: Vec<_> = (0..100)
        .map(|_| {
            pool.spawn(Recorder {
                addr,
                threads: Vec::new(),
                conn: None,
                connect_outcome: None,
                report: None,
            })
            .expect("spawn")
        })
        .collect();
    for _ in 0..10 {
        for handle in &handles {
            handle.post(Poke::Ping).expect("post");
        }
    }
    let mut executors = std::collections::HashSet::new();
    for handle in &handles {
        let (reply, done) = completion();
        handle.post(Poke::Report(reply)).expect("post");
        let threads = util::wait(done).unwrap_or_else(|failure| panic!("{failure}"));
        assert!(
            threads.len() >= 3,
            "too few callbacks recorded: {}",
            threads.len()
        );
        assert!(
            threads.iter().all(|t| *t == threads[0]),
            "an actor ran on two threads"
        );
        executors.insert(threads[0]);
    }
    assert_eq!(executors.len(), 2, "both executors ran actors");
    pool.shutdown();
}
