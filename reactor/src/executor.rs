//! One executor: a thread that owns an I/O driver, a timer wheel and the actors pinned to it,
//! and loops over "start new actors, deliver posted messages, poll the driver (sleeping in
//! the kernel when there is nothing to do), deliver I/O, fire timers".

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use crossbeam_deque::{Stealer, Worker};

use crate::actor::{Actor, CloseReason, SourceId};
use crate::driver::{AcceptOutcome, Driver, IoEvent, ReadOutcome, SourceKey};
use crate::error::SpawnError;
use crate::mailbox::{Handle, Home};
use crate::placement::{self, Waiting};
use crate::pool::{PoolShared, Spawner};
use crate::runner::{Event, Runner};
use crate::slab::{Key, Slab};
use crate::stats::StatsCounters;
use crate::sys::fd;
use crate::sys::waker::Waker;
use crate::timer::{TimerId, TimerWheel};

/// Actors started per loop iteration at most, so I/O keeps flowing during a spawn burst.
const START_BATCH: usize = 64;
/// Posted messages delivered to one actor per loop iteration at most.
const MESSAGE_BUDGET: usize = 64;

/// The part of an executor other threads touch: its ready queue, wake-up and counters.
pub(crate) struct ExecutorShared {
    ready_tx: Sender<u64>,
    ready_rx: Receiver<u64>,
    sleeping: AtomicBool,
    pub(crate) waker: Waker,
    pub(crate) stealer: Stealer<Waiting>,
    pub(crate) stats: StatsCounters,
}

impl ExecutorShared {
    /// Shared state for an executor whose local queue is `stealer`'s worker.
    pub(crate) fn new(stealer: Stealer<Waiting>) -> io::Result<Self> {
        // Unbounded in type only: an actor is queued at most once (its `scheduled` mark), so
        // the queue never holds more entries than the executor has actors.
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
        Ok(ExecutorShared {
            ready_tx,
            ready_rx,
            sleeping: AtomicBool::new(false),
            waker: Waker::new()?,
            stealer,
            stats: StatsCounters::default(),
        })
    }

    /// Queues actor `key` for message delivery and wakes the executor if it sleeps.
    pub(crate) fn notify(&self, key: u64) {
        let _ = self.ready_tx.send(key);
        self.wake();
    }

    /// Wakes the executor if it is (about to be) asleep in the kernel.
    pub(crate) fn wake(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.waker.wake();
        }
    }
}

/// What a timer in the wheel is for.
pub(crate) enum TimerTarget {
    /// An actor's own timer.
    Actor(u64),
    /// The deadline of a connect on this source.
    ConnectDeadline(SourceKey),
    /// The end of a listener's pause after an accept failed for want of descriptors.
    ResumeAccept(SourceKey),
}

/// How long a listener stops accepting after the process or the system ran out of
/// descriptors (or the kernel of memory): the connection waits in the backlog meanwhile,
/// instead of the executor spinning on an accept that fails at once.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The executor state callbacks may touch through their `Context`.
pub(crate) struct Core {
    pub(crate) driver: Driver,
    pub(crate) timers: TimerWheel<TimerTarget>,
    /// Ticks of timers set less than two grid steps ahead: the executor wakes for them on
    /// time instead of on the grid (a 1 ms poll must not wait 20 ms). Entries of cancelled
    /// timers stay until their tick passes; at worst they wake the executor once for nothing.
    near: BinaryHeap<Reverse<u64>>,
    pub(crate) connect_deadlines: HashMap<u64, TimerId>,
    /// Listeners pausing after running out of descriptors.
    paused_accepts: HashSet<u64>,
    epoch: Instant,
    pub(crate) now: Instant,
    pub(crate) stopping: Vec<u64>,
    pub(crate) spawner: Spawner,
    pub(crate) index: usize,
    pub(crate) shared: Arc<ExecutorShared>,
    local: Worker<Waiting>,
    /// The loop iteration running now (see [`Context::turn`](crate::Context::turn)).
    pub(crate) turn: u64,
}

impl Core {
    /// The first millisecond tick at or after `t` (timers never fire early).
    pub(crate) fn tick_at(&self, t: Instant) -> u64 {
        let nanos = t.saturating_duration_since(self.epoch).as_nanos();
        nanos.div_ceil(1_000_000) as u64
    }

    /// Notes a timer due at `tick`: one due within two grid steps fires on time, later ones
    /// are coalesced on the grid (see `Executor::timeout`).
    pub(crate) fn note_timer(&mut self, tick: u64) {
        if tick < self.now_tick() + 2 * TIMER_SLACK_MS {
            self.near.push(Reverse(tick));
        }
    }

    fn now_tick(&self) -> u64 {
        (self.now.saturating_duration_since(self.epoch).as_nanos() / 1_000_000) as u64
    }

    /// Queues an actor on this executor's local queue (others may steal it before it starts).
    pub(crate) fn spawn_local<C: Actor>(
        &mut self,
        actor: C,
    ) -> Result<Handle<C::Message>, SpawnError<C>> {
        let (runner, handle) = self.spawner.package(actor)?;
        self.local.push(runner);
        self.spawner.wake_all();
        Ok(handle)
    }
}

/// One executor thread's whole state.
pub(crate) struct Executor {
    core: Core,
    actors: Slab<Box<dyn Runner>>,
    pool: Arc<PoolShared>,
    ready: Vec<u64>,
    events: Vec<IoEvent>,
    fired: Vec<(TimerId, TimerTarget)>,
    declined_since: Option<Instant>,
}

impl Executor {
    /// An executor with its driver and local queue, not running yet.
    pub(crate) fn new(
        index: usize,
        driver: Driver,
        local: Worker<Waiting>,
        pool: Arc<PoolShared>,
    ) -> Self {
        let shared = pool.executors[index].clone();
        let now = Instant::now();
        let core = Core {
            driver,
            timers: TimerWheel::new(),
            near: BinaryHeap::new(),
            connect_deadlines: HashMap::new(),
            paused_accepts: HashSet::new(),
            epoch: now,
            now,
            stopping: Vec::new(),
            spawner: Spawner::new(pool.clone()),
            index,
            shared,
            local,
            turn: 0,
        };
        Executor {
            core,
            actors: Slab::default(),
            pool,
            ready: Vec::new(),
            events: Vec::new(),
            fired: Vec::new(),
            declined_since: None,
        }
    }

    /// Runs until the pool shuts down, then closes everything this executor owns.
    pub(crate) fn run(mut self) {
        crate::completion::mark_executor_thread();
        let _span = tracing::info_span!("executor", index = self.core.index).entered();
        while self.pool.is_running() {
            self.core.turn = self.core.turn.wrapping_add(1);
            self.start_channels();
            self.deliver_messages();
            let mut timeout = self.timeout();
            let sleeps = timeout != Some(Duration::ZERO);
            if sleeps {
                self.core.shared.sleeping.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if self.work_appeared() {
                    self.core.shared.sleeping.store(false, Ordering::SeqCst);
                    timeout = Some(Duration::ZERO);
                }
            }
            self.publish_gauges();
            // The work since the last poll returned: the executor's busy time (its load).
            let busy = self.core.now.elapsed();
            let busy = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
            self.core
                .shared
                .stats
                .busy_nanos
                .fetch_add(busy, Ordering::Relaxed);
            let polled = self.core.driver.poll(timeout, &mut self.events);
            self.core.shared.sleeping.store(false, Ordering::SeqCst);
            let stats = &self.core.shared.stats;
            stats.polls.fetch_add(1, Ordering::Relaxed);
            if timeout != Some(Duration::ZERO) {
                stats.wakeups.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = polled {
                tracing::error!(error = %e, "driver poll failed");
            }
            self.core.now = Instant::now();
            self.handle_events();
            self.fire_timers();
        }
        self.teardown();
    }

    /// Publishes the source and timer counts; done right before each poll, so they are exact
    /// whenever the executor sleeps.
    fn publish_gauges(&self) {
        let stats = &self.core.shared.stats;
        stats
            .sources
            .store(self.core.driver.source_count(), Ordering::Relaxed);
        stats
            .timers
            .store(self.core.timers.len(), Ordering::Relaxed);
        let (overflows, dropped) = self.core.driver.overflows();
        stats.cq_overflows.store(overflows, Ordering::Relaxed);
        stats.cq_dropped.store(dropped, Ordering::Relaxed);
        stats
            .recv_waits
            .store(self.core.driver.recv_waits(), Ordering::Relaxed);
    }

    fn work_appeared(&self) -> bool {
        !self.core.shared.ready_rx.is_empty()
            || !self.pool.is_running()
            || (placement::may_take(self.core.index, &self.pool.executors)
                && placement::any_waiting(
                    &self.core.local,
                    &self.pool.injector,
                    &self.pool.executors,
                ))
    }

    fn timeout(&mut self) -> Option<Duration> {
        if !self.ready.is_empty() || !self.core.stopping.is_empty() {
            return Some(Duration::ZERO);
        }
        let now_tick = self.core.now_tick();
        while self
            .core
            .near
            .peek()
            .is_some_and(|Reverse(t)| *t <= now_tick)
        {
            self.core.near.pop();
        }
        let near = self.core.near.peek().map(|Reverse(t)| *t);
        let mut timeout = self.core.timers.next_deadline().map(|tick| {
            // Timers are coalesced: the executor wakes on a grid of TIMER_SLACK_MS, so the
            // timers due within one step (periodic polls spread over their period, above all)
            // fire in one wake-up, each at most that late; a timer set less than two steps
            // ahead is waited for on time.
            let grid = tick.div_ceil(TIMER_SLACK_MS) * TIMER_SLACK_MS;
            let tick = near.map_or(grid, |n| n.clamp(tick, grid));
            let at = self.core.epoch + Duration::from_millis(tick);
            at.saturating_duration_since(Instant::now())
        });
        if let Some(since) = self.declined_since {
            let left = patience_left(since);
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        timeout
    }

    /// Starts waiting actors while placement allows. Executors that declined (too far above
    /// the least loaded) sleep until their patience runs out; each start here may make them
    /// eligible again, so while actors still wait the others are woken to look.
    fn start_channels(&mut self) {
        let before = self.actors.len();
        self.take_channels();
        if self.actors.len() > before {
            let pool = &self.pool;
            if placement::any_waiting(&self.core.local, &pool.injector, &pool.executors) {
                for (index, executor) in pool.executors.iter().enumerate() {
                    if index != self.core.index {
                        executor.wake();
                    }
                }
            }
        }
    }

    fn take_channels(&mut self) {
        let me = self.core.index;
        for _ in 0..START_BATCH {
            let may = placement::may_take(me, &self.pool.executors);
            if !may {
                match self.declined_since {
                    None => {
                        let pool = &self.pool;
                        if placement::any_waiting(&self.core.local, &pool.injector, &pool.executors)
                        {
                            self.declined_since = Some(Instant::now());
                        }
                        return;
                    }
                    Some(since) if since.elapsed() < placement::PATIENCE => return,
                    Some(_) => {}
                }
            }
            let pool = &self.pool;
            let Some(runner) =
                placement::take(me, &self.core.local, &pool.injector, &pool.executors)
            else {
                self.declined_since = None;
                return;
            };
            if may {
                self.declined_since = None;
            }
            self.start(runner);
        }
    }

    fn start(&mut self, runner: Box<dyn Runner>) {
        let key = self.actors.insert(runner).to_u64();
        let stats = &self.core.shared.stats;
        stats.actors.fetch_add(1, Ordering::Relaxed);
        stats.started.fetch_add(1, Ordering::Relaxed);
        let home = Home {
            executor: self.core.shared.clone(),
            key,
        };
        let Some(runner) = self.actors.get_mut(Key::from_u64(key)) else {
            return;
        };
        let core = &mut self.core;
        match catch_unwind(AssertUnwindSafe(|| runner.start(core, key, home))) {
            Ok(true) => {
                if runner.schedule() {
                    self.ready.push(key);
                }
            }
            Ok(false) => {}
            Err(payload) => {
                stop_panicked(runner.as_mut(), "on_start", payload.as_ref());
                core.stopping.push(key);
            }
        }
        self.finish_stops();
    }

    fn deliver_messages(&mut self) {
        while let Ok(key) = self.core.shared.ready_rx.try_recv() {
            self.ready.push(key);
        }
        for key in std::mem::take(&mut self.ready) {
            let Some(runner) = self.actors.get_mut(Key::from_u64(key)) else {
                continue;
            };
            runner.unschedule();
            let core = &mut self.core;
            match catch_unwind(AssertUnwindSafe(|| runner.drain(core, key, MESSAGE_BUDGET))) {
                Ok(true) => {
                    if runner.schedule() {
                        self.ready.push(key);
                    }
                }
                Ok(false) => {}
                Err(payload) => {
                    stop_panicked(runner.as_mut(), "on_message", payload.as_ref());
                    core.stopping.push(key);
                }
            }
            self.finish_stops();
        }
    }

    fn deliver(&mut self, key: u64, event: Event<'_>) {
        let Some(runner) = self.actors.get_mut(Key::from_u64(key)) else {
            return;
        };
        let core = &mut self.core;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| runner.dispatch(core, key, event))) {
            stop_panicked(runner.as_mut(), "a callback", payload.as_ref());
            core.stopping.push(key);
        }
        self.finish_stops();
    }

    fn finish_stops(&mut self) {
        while let Some(key) = self.core.stopping.pop() {
            let Some(mut runner) = self.actors.remove(Key::from_u64(key)) else {
                continue;
            };
            if catch_unwind(AssertUnwindSafe(|| runner.finish())).is_err() {
                tracing::error!("an actor panicked in on_stop");
            }
            for source in self.core.driver.sources_of(key) {
                if let Some(timer) = self.core.connect_deadlines.remove(&source.to_u64()) {
                    self.core.timers.cancel(timer);
                }
                self.core.driver.close(source);
            }
            self.core
                .shared
                .stats
                .actors
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn handle_events(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        for event in events.drain(..) {
            match event {
                IoEvent::Read(source) => self.pump(source),
                IoEvent::Room(source) => {
                    if let Some(owner) = self.core.driver.owner(source) {
                        self.deliver(owner, Event::Writable(SourceId(source.to_u64())));
                    }
                }
                IoEvent::Connect(source, result) => {
                    if let Some(timer) = self.core.connect_deadlines.remove(&source.to_u64()) {
                        self.core.timers.cancel(timer);
                    }
                    let Some(owner) = self.core.driver.owner(source) else {
                        continue;
                    };
                    if result.is_err() {
                        self.core.driver.close(source);
                    }
                    self.deliver(owner, Event::Connected(SourceId(source.to_u64()), result));
                }
                IoEvent::Failed(source, error) => {
                    let Some(owner) = self.core.driver.owner(source) else {
                        continue;
                    };
                    self.core.driver.close(source);
                    let reason = CloseReason::Error(error);
                    self.deliver(owner, Event::Closed(SourceId(source.to_u64()), reason));
                }
            }
        }
        self.events = events;
    }

    /// Delivers everything a source has ready: bytes, end of stream, or accepted connections.
    fn pump(&mut self, source: SourceKey) {
        let Some(owner) = self.core.driver.owner(source) else {
            return;
        };
        let id = SourceId(source.to_u64());
        while self.actors.get(Key::from_u64(owner)).is_some() {
            match self.core.driver.read(source) {
                ReadOutcome::Data(chunk) => {
                    self.deliver(owner, Event::Data(id, chunk.bytes()));
                    self.core.driver.finish_read(source, chunk);
                }
                ReadOutcome::Eof => {
                    self.core.driver.close(source);
                    self.deliver(owner, Event::Closed(id, CloseReason::PeerClosed));
                    return;
                }
                ReadOutcome::Error(error) => {
                    self.core.driver.close(source);
                    self.deliver(owner, Event::Closed(id, CloseReason::Error(error)));
                    return;
                }
                ReadOutcome::WouldBlock => match self.core.driver.accept(source) {
                    AcceptOutcome::Accepted(stream, peer) => {
                        self.deliver(owner, Event::Accepted(id, stream, peer));
                    }
                    AcceptOutcome::WouldBlock => return,
                    AcceptOutcome::Error(error) => {
                        let exhausted = error.raw_os_error().is_some_and(fd::is_exhaustion);
                        if !exhausted {
                            tracing::warn!(error = %error, "accept failed");
                        } else if self.core.paused_accepts.insert(source.to_u64()) {
                            tracing::warn!(error = %error, "accept failed: pausing {ACCEPT_PAUSE:?}");
                            let tick = self.core.tick_at(self.core.now + ACCEPT_PAUSE);
                            self.core
                                .timers
                                .insert(tick, TimerTarget::ResumeAccept(source));
                        }
                        self.deliver(owner, Event::AcceptFailed(id, error));
                        return;
                    }
                },
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = self.core.now_tick();
        let mut fired = std::mem::take(&mut self.fired);
        self.core.timers.advance(now, &mut fired);
        let count = fired.len() as u64;
        for (id, target) in fired.drain(..) {
            match target {
                TimerTarget::Actor(owner) => self.deliver(owner, Event::Timer(id)),
                TimerTarget::ResumeAccept(source) => {
                    self.core.paused_accepts.remove(&source.to_u64());
                    self.core.driver.resume_accept(source);
                }
                TimerTarget::ConnectDeadline(source) => {
                    if self
                        .core
                        .connect_deadlines
                        .remove(&source.to_u64())
                        .is_none()
                    {
                        continue;
                    }
                    let Some(owner) = self.core.driver.owner(source) else {
                        continue;
                    };
                    self.core.driver.close(source);
                    let error = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                    self.deliver(
                        owner,
                        Event::Connected(SourceId(source.to_u64()), Err(error)),
                    );
                }
            }
        }
        self.fired = fired;
        if count > 0 {
            self.core
                .shared
                .stats
                .timers_fired
                .fetch_add(count, Ordering::Relaxed);
        }
    }

    fn teardown(self) {
        let Executor {
            core, mut actors, ..
        } = self;
        for key in actors.keys() {
            if let Some(mut runner) = actors.remove(key) {
                if catch_unwind(AssertUnwindSafe(|| runner.finish())).is_err() {
                    tracing::error!("an actor panicked in on_stop");
                }
            }
        }
        while let Some(mut waiting) = core.local.pop() {
            waiting.abandon();
        }
        core.shared.stats.actors.store(0, Ordering::Relaxed);
        let shared = core.shared.clone();
        drop(core);
        shared.waker.close();
        tracing::debug!("executor stopped");
    }
}

/// The grid, in milliseconds, that timer wake-ups are rounded up to (see `timeout`).
const TIMER_SLACK_MS: u64 = 20;

/// How much longer an executor defers waiting actors to less loaded executors.
fn patience_left(since: Instant) -> Duration {
    placement::PATIENCE
        .saturating_sub(since.elapsed())
        .max(Duration::from_millis(1))
}

/// Logs a panic caught in `during` with its message and tells the actor, which is stopped
/// next. A panic in `on_panic` itself is caught too.
fn stop_panicked(runner: &mut dyn Runner, during: &str, payload: &(dyn std::any::Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    tracing::error!(during, panic = %message, "an actor panicked; stopping it");
    if catch_unwind(AssertUnwindSafe(|| runner.panicked(&message))).is_err() {
        tracing::error!("an actor panicked in on_panic");
    }
}
