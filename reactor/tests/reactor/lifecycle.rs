//! Pool life cycle: backend selection, clean shutdown (every descriptor closed, threads
//! joined) and sleeping in the kernel when idle.

use std::net::SocketAddr;
use std::time::Duration;

use rdnp3_reactor::{
    completion, Actor, Backend, Context, Pool, PoolError, Promise, SourceId, TimerId,
};

use crate::util::{self, EchoServer};

/// Connects, says when it is connected, then idles.
struct Parked {
    addr: SocketAddr,
    connected: Option<Promise<()>>,
}

impl Actor for Parked {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        cx.connect(self.addr, Duration::from_secs(10))
            .expect("connect");
    }

    fn on_connect(&mut self, _: &mut Context<'_, ()>, _: SourceId, result: std::io::Result<()>) {
        result.expect("connected");
        if let Some(connected) = self.connected.take() {
            connected.complete(());
        }
    }
}

fn park_connections(pool: &Pool, addr: SocketAddr, count: usize) {
    let waits: Vec<_> = (0..count)
        .map(|_| {
            let (promise, done) = completion();
            pool.spawn(Parked {
                addr,
                connected: Some(promise),
            })
            .expect("spawn");
            done
        })
        .collect();
    for done in waits {
        util::wait(done);
    }
}

pub fn a_pool_runs_the_backend_it_was_asked_for(backend: Backend) {
    let pool = util::pool(backend, 1);
    assert_eq!(pool.threads(), 1);
    drop(pool);
    let auto = Pool::builder().threads(1).build().expect("auto pool");
    let expected = if Backend::IoUring.check().is_ok() {
        Backend::IoUring
    } else {
        Backend::Epoll
    };
    assert_eq!(auto.backend(), expected);
    drop(auto);
    match Pool::builder().backend(backend).threads(0).build() {
        Err(e @ PoolError::NoThreads) => assert!(!e.to_string().is_empty()),
        other => panic!("zero threads accepted: {other:?}"),
    }
}

pub fn shutdown_closes_every_descriptor_and_joins_the_threads(backend: Backend) {
    // Cases run one at a time on this thread, so nothing else opens descriptors meanwhile.
    let before = util::open_fds();
    let pool = util::pool(backend, 2);
    let addr = EchoServer::start(&pool);
    park_connections(&pool, addr, 100);
    let during = util::open_fds();
    assert!(
        during >= before + 200,
        "connections are open ({before} -> {during})"
    );
    pool.shutdown();
    assert_eq!(
        util::open_fds(),
        before,
        "descriptors left open after shutdown"
    );
}

/// Fires one timer and reports it.
struct Alarm {
    delay: Duration,
    fired: Option<Promise<()>>,
}

impl Actor for Alarm {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        cx.set_timer(self.delay);
    }

    fn on_timer(&mut self, cx: &mut Context<'_, ()>, _: TimerId) {
        if let Some(fired) = self.fired.take() {
            fired.complete(());
        }
        cx.stop();
    }
}

pub fn an_idle_executor_with_open_connections_wakes_only_for_due_timers(backend: Backend) {
    let pool = util::pool(backend, 1);
    let addr = EchoServer::start(&pool);
    park_connections(&pool, addr, 200);
    let before = pool.stats()[0];
    let (fired, done) = completion();
    let delay = Duration::from_millis(300);
    pool.spawn(Alarm {
        delay,
        fired: Some(fired),
    })
    .expect("spawn");
    util::wait(done);
    let after = pool.stats()[0];
    let wakeups = after.wakeups - before.wakeups;
    // One wake for the spawn, a few for the timer wheel cascading towards the deadline.
    assert!(wakeups <= 8, "{wakeups} wake-ups while idle for one timer");
    // Busy time counts the work of setting up 200 connections, not the time asleep.
    assert!(before.busy > Duration::ZERO);
    let busy = after.busy - before.busy;
    assert!(busy < delay, "busy {busy:?} while asleep for {delay:?}");
    pool.shutdown();
}

/// Connections the idle test holds open: each has both ends in this process, a client actor
/// on one and a server actor on the other, so 10 000 actors and 10 000 descriptors.
const IDLE_CONNECTIONS: usize = 5_000;

/// The pool is meant to sit on ~10 000 open connections without using the CPU. Both ends of
/// every connection live in this process, so 10 000 connections would take 20 000 descriptors,
/// more than a usual hard limit leaves room for; this case holds 5 000 connections, that is
/// 10 000 open actors each driving one connection end (10 000 descriptors), over two
/// executors. "No CPU" is measured by the executors' own counters while the pool waits for
/// one 500 ms timer: each executor may wake for the spawn and for the timer wheel moving
/// towards the deadline, and nothing else; an executor that polled its connections would show
/// hundreds of loop iterations.
pub fn an_idle_pool_holding_ten_thousand_connection_ends_wakes_only_for_due_timers(
    backend: Backend,
) {
    let needed = 2 * IDLE_CONNECTIONS + util::open_fds() + 256;
    let limit = util::raise_fd_limit();
    assert!(
        limit >= needed as u64,
        "this case needs {needed} descriptors; the hard limit is {limit} (raise `ulimit -Hn`)"
    );
    // Nothing is posted to these actors; small mailboxes keep 10 000 of them cheap.
    let pool = Pool::builder()
        .backend(backend)
        .threads(2)
        .mailbox_capacity(16)
        .build()
        .expect("pool starts");
    let addr = EchoServer::start(&pool);
    park_connections(&pool, addr, IDLE_CONNECTIONS);
    // The server ends start as actors of their own once accepted; wait until all run.
    let actors = 2 * IDLE_CONNECTIONS + 1;
    util::wait_until("every server end runs as an actor", || {
        let stats = pool.stats();
        stats.iter().map(|s| s.actors).sum::<usize>() == actors
            && stats.iter().map(|s| s.sources).sum::<usize>() == actors
    });
    let before = pool.stats();
    let (fired, done) = completion();
    pool.spawn(Alarm {
        delay: Duration::from_millis(500),
        fired: Some(fired),
    })
    .expect("spawn");
    util::wait(done);
    let after = pool.stats();
    for (b, a) in before.iter().zip(&after) {
        let (wakeups, polls) = (a.wakeups - b.wakeups, a.polls - b.polls);
        assert!(
            wakeups <= 8 && polls <= 16,
            "executor {} woke {wakeups} times ({polls} polls) while idle for one timer \
             with {} sources",
            a.index,
            a.sources
        );
    }
    assert_eq!(after.iter().map(|s| s.sources).sum::<usize>(), actors);
    pool.shutdown();
}
