//! The pool: N executor threads sharing an injector of new actors, its builder, and the
//! [`Spawner`] that starts actors from any thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_deque::{Injector, Steal, Worker};

use crate::actor::Actor;
use crate::backend::Backend;
use crate::driver::{Driver, DriverConfig};
use crate::error::{PoolError, SpawnError};
use crate::executor::{Executor, ExecutorShared};
use crate::mailbox::{Handle, Mailbox};
use crate::placement::Waiting;
use crate::runner::Cell;
use crate::stats::ExecutorStats;

/// State shared by the pool, its executors and its spawners.
pub(crate) struct PoolShared {
    pub(crate) injector: Injector<Waiting>,
    pub(crate) executors: Vec<Arc<ExecutorShared>>,
    running: AtomicBool,
    mailbox_capacity: usize,
}

impl PoolShared {
    /// Whether the pool still runs (false once shutdown began).
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// Starts actors on a pool from any thread (including from inside an actor's callback).
#[derive(Clone)]
pub struct Spawner {
    shared: Arc<PoolShared>,
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner")
            .field("executors", &self.shared.executors.len())
            .finish()
    }
}

impl Spawner {
    pub(crate) fn new(shared: Arc<PoolShared>) -> Self {
        Spawner { shared }
    }

    /// Wraps an actor with a new mailbox, unless the pool is shutting down.
    pub(crate) fn package<C: Actor>(
        &self,
        actor: C,
    ) -> Result<(Waiting, Handle<C::Message>), SpawnError<C>> {
        if !self.shared.is_running() {
            return Err(SpawnError(actor));
        }
        let mailbox = Arc::new(Mailbox::new(self.shared.mailbox_capacity));
        let handle = Handle::new(mailbox.clone());
        Ok((Box::new(Cell::new(actor, mailbox)), handle))
    }

    /// Hands an actor to the pool; the least loaded executor starts it and keeps it for life.
    /// The handle posts to it (messages wait in its mailbox until it starts).
    pub fn spawn<C: Actor>(&self, actor: C) -> Result<Handle<C::Message>, SpawnError<C>> {
        let (runner, handle) = self.package(actor)?;
        self.shared.injector.push(runner);
        self.wake_all();
        Ok(handle)
    }

    /// Wakes every sleeping executor so the least loaded one picks up new actors.
    pub(crate) fn wake_all(&self) {
        for executor in &self.shared.executors {
            executor.wake();
        }
    }
}

/// Configures and starts a [`Pool`].
///
/// # Memory per connection
///
/// What the reactor itself keeps for each open connection (the kernel's socket buffers and
/// the actor's own state come on top):
///
/// | | io_uring | epoll |
/// |---|---|---|
/// | source record | about 200 bytes | 88 bytes |
/// | receive buffer | none: a ring of [`recv_buffers`](Self::recv_buffers) shared per executor | none (one per executor) |
/// | send queue | the bytes waiting or in flight (given back once drained), at most 2 × [`send_capacity`](Self::send_capacity) | only bytes the kernel refused at once, usually none |
///
/// and for each actor, its mailbox: about 100 bytes while empty, and room for the messages
/// actually waiting during a burst (given back once drained), never more than
/// [`mailbox_capacity`](Self::mailbox_capacity) messages. On io_uring each socket keeps one
/// multishot receive armed without a buffer: the kernel takes one from the executor's ring
/// only when bytes arrive, and the executor puts it back as soon as the actor's `on_data`
/// returns, so idle connections cost no receive buffer on either backend (kernels without
/// buffer rings or multishot receive, before Linux 6.0, fall back to a buffer per
/// connection). A DNP3 link frame is at most 292 bytes, so a 1–2 KiB receive buffer
/// loses nothing but a few extra receive rounds on bulk transfers.
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    threads: Option<usize>,
    backend: Backend,
    mailbox_capacity: usize,
    send_capacity: usize,
    recv_buffer: usize,
    recv_buffers: u16,
    ring_entries: u32,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            threads: None,
            backend: Backend::Auto,
            mailbox_capacity: 1024,
            send_capacity: 64 * 1024,
            recv_buffer: 8 * 1024,
            recv_buffers: 256,
            ring_entries: 1024,
        }
    }
}

impl PoolBuilder {
    /// Number of executor threads (default: the machine's available parallelism; 1 is fine).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Which I/O backend to use (default [`Backend::Auto`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Messages each actor's mailbox holds before posts fail with `Full` (default 1024).
    /// Only waiting messages take memory (see [`PoolBuilder`]).
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = capacity.max(1);
        self
    }

    /// Bytes each source's send queue holds before sends fail with `Full` (default 64 KiB).
    /// The queue allocates as bytes wait, not up front.
    pub fn send_capacity(mut self, bytes: usize) -> Self {
        self.send_capacity = bytes.max(1);
        self
    }

    /// Size of a receive buffer (default 8 KiB, at least 64 bytes). Executors share them
    /// (see [`PoolBuilder`]); bytes beyond the buffer stay in the socket and arrive in the
    /// next `on_data`.
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes.max(64);
        self
    }

    /// io_uring: receive buffers in each executor's ring (default 256, rounded up to a power
    /// of two, at most 32 768), so `recv_buffers × recv_buffer` bytes per executor. Receives
    /// completing in one wake-up beyond this wait in their sockets for the next one.
    pub fn recv_buffers(mut self, count: u16) -> Self {
        self.recv_buffers = count.clamp(1, 32_768).next_power_of_two();
        self
    }

    /// io_uring submission queue entries per executor (default 1024, rounded up to a power of
    /// two; the kernel caps it at 32 768). The completion queue gets 32 times as many, capped
    /// at 65 536: room for a receive, a send and a connect or accept in flight on ten thousand
    /// connections per executor. Should more completions arrive than it holds, the kernel
    /// keeps the excess and the executor drains it before it sleeps again
    /// ([`crate::ExecutorStats::cq_overflows`] counts those times); submissions that find the
    /// submission queue full wait for the next loop iteration instead of spinning.
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring_entries = entries.clamp(1, 32_768);
        self
    }

    /// Starts the executors.
    pub fn build(self) -> Result<Pool, PoolError> {
        let threads = match self.threads {
            Some(0) => return Err(PoolError::NoThreads),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let backend = self.backend.resolve()?;
        let config = DriverConfig {
            send_capacity: self.send_capacity,
            recv_buffer: self.recv_buffer,
            recv_buffers: self.recv_buffers,
            ring_entries: self.ring_entries,
        };
        let mut workers = Vec::with_capacity(threads);
        let mut executors = Vec::with_capacity(threads);
        for _ in 0..threads {
            let worker = Worker::new_fifo();
            executors.push(Arc::new(
                ExecutorShared::new(worker.stealer()).map_err(PoolError::Driver)?,
            ));
            workers.push(worker);
        }
        let shared = Arc::new(PoolShared {
            injector: Injector::new(),
            executors,
            running: AtomicBool::new(true),
            mailbox_capacity: self.mailbox_capacity,
        });
        let mut pool = Pool {
            shared: shared.clone(),
            threads: Vec::with_capacity(threads),
            backend,
        };
        // Each executor sets up its own driver on its own thread: an io_uring ring delivers
        // completion work to the thread that set it up, and that must never be the
        // application's thread (its blocking system calls would fail with EINTR).
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for (index, worker) in workers.into_iter().enumerate() {
            let shared = shared.clone();
            let ready = ready_tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("reactor-{index}"))
                .spawn(move || {
                    let wake_fd = shared.executors[index].waker.raw_fd();
                    match Driver::new(backend, config, wake_fd) {
                        Ok(driver) => {
                            let _ = ready.send(Ok(()));
                            drop(ready);
                            Executor::new(index, driver, worker, shared).run();
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            match thread {
                Ok(t) => pool.threads.push(t),
                Err(e) => {
                    pool.stop();
                    return Err(PoolError::Thread(e));
                }
            }
        }
        drop(ready_tx);
        for _ in 0..threads {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    pool.stop();
                    return Err(PoolError::Driver(e));
                }
                Err(_) => {
                    pool.stop();
                    return Err(PoolError::Driver(std::io::Error::other(
                        "an executor thread ended during start-up",
                    )));
                }
            }
        }
        tracing::info!(backend = %backend, threads, "reactor pool started");
        Ok(pool)
    }
}

/// A pool of executor threads, each owning an I/O driver, a timer wheel and its actors.
/// Dropping it is the same as [`Pool::shutdown`].
pub struct Pool {
    shared: Arc<PoolShared>,
    threads: Vec<JoinHandle<()>>,
    backend: Backend,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("backend", &self.backend)
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Pool {
    /// A pool with default settings: one executor per available core, [`Backend::Auto`].
    pub fn new() -> Result<Pool, PoolError> {
        PoolBuilder::default().build()
    }

    /// A builder to choose threads, backend and queue sizes.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The backend the executors run (never `Auto`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Number of executor threads.
    pub fn threads(&self) -> usize {
        self.shared.executors.len()
    }

    /// Hands an actor to the pool (see [`Spawner::spawn`]).
    pub fn spawn<C: Actor>(&self, actor: C) -> Result<Handle<C::Message>, SpawnError<C>> {
        self.spawner().spawn(actor)
    }

    /// A cloneable spawner for other threads and for actors.
    pub fn spawner(&self) -> Spawner {
        Spawner::new(self.shared.clone())
    }

    /// A snapshot of every executor's counters.
    pub fn stats(&self) -> Vec<ExecutorStats> {
        self.shared
            .executors
            .iter()
            .enumerate()
            .map(|(i, e)| e.stats.snapshot(i))
            .collect()
    }

    /// Stops every actor (`on_stop`), closes every descriptor the executors own and joins
    /// the threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.running.store(false, Ordering::SeqCst);
        for executor in &self.shared.executors {
            executor.wake();
            executor.waker.wake();
        }
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("an executor thread panicked");
            }
        }
        loop {
            match self.shared.injector.steal() {
                Steal::Success(mut waiting) => waiting.abandon(),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}
