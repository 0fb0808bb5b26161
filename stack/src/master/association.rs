//! The master association: a sans-I/O state machine that runs one task at a time against one
//! outstation. It picks the next task (user requests first, then automatic tasks by priority,
//! then due periodic polls; a due one goes after a few user requests in a row), numbers its
//! requests, times them out, confirms responses and unsolicited responses (see `confirms.rs`),
//! reacts to IIN bits and hands each response to the task in flight, which judges it
//! (IEEE 1815-2012, clause 4).

use super::config::MasterConfig;
use super::confirms::{out_of_order, unsolicited_refusal, ConfirmQueue, UnsolicitedHistory};
use super::delivery::MeasurementSink;
use super::health::{AssociationListener, AssociationState, Health, StatsSlot};
use super::measurement::ReadHandler;
use super::polls::{PeriodicPolls, PollId};
use super::repeats::RepeatFilter;
use super::request::{ReadRequest, TaskError};
use super::scheduler::{AutoTask, Scheduler};
use super::stats::MasterStats;
use super::tasks::{Outcome, ReadTask, Task};
use crate::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use crate::link::AddressKind;
use crate::session::{Now, Session};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The task the association is running, whether the scheduler started it, and where its
/// exchange stands.
struct Current {
    task: Task,
    auto: Option<AutoTask>,
    stage: Stage,
}

/// Where the exchange of the current task stands.
enum Stage {
    /// Its next request goes out as soon as the line allows (OPERATE after SELECT, the time
    /// WRITE after RECORD_CURRENT_TIME or DELAY_MEASURE).
    ReadyToSend,
    /// A request went out: the response (or next fragment) with `seq` is due by `deadline`.
    AwaitingResponse { seq: u8, deadline: Instant },
}

/// One master association (master ↔ one outstation address).
pub struct MasterSession {
    config: MasterConfig,
    handler: Box<dyn ReadHandler>,
    pub(super) online: bool,
    /// The SEQ of the next request.
    seq: u8,
    pub(super) scheduler: Scheduler,
    pub(super) polls: PeriodicPolls,
    /// User requests, in order of arrival.
    pub(super) queue: VecDeque<Task>,
    current: Option<Current>,
    /// CONFIRMs to send before anything else, oldest first.
    confirms: ConfirmQueue,
    /// The last unsolicited response accepted, to recognise its repetition.
    unsolicited: UnsolicitedHistory,
    /// The rate of unsolicited responses taken.
    throttle: crate::rate::PerSecond,
    /// The timed events delivered lately, to recognise their repetition.
    repeats: RepeatFilter,
    pub(super) stats: MasterStats,
    health: Health,
}

impl std::fmt::Debug for MasterSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterSession")
            .field("outstation", &self.config.outstation_address)
            .field("online", &self.online)
            .field("stats", &self.stats)
            .finish()
    }
}

impl MasterSession {
    /// A new, offline association; it starts working on [`Session::on_link_up`].
    pub fn new(config: MasterConfig, handler: Box<dyn ReadHandler>) -> Self {
        MasterSession {
            scheduler: Scheduler::new(&config),
            repeats: RepeatFilter::new(config.suppress_repeated_events, config.max_rx_fragment),
            polls: PeriodicPolls::new(&config),
            health: Health::new(
                config.local_address,
                config.outstation_address,
                config.offline_after_failures,
            ),
            config,
            handler,
            online: false,
            seq: 0,
            queue: VecDeque::new(),
            current: None,
            confirms: ConfirmQueue::default(),
            unsolicited: UnsolicitedHistory::default(),
            throttle: crate::rate::PerSecond::default(),
            stats: MasterStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &MasterStats {
        &self.stats
    }

    /// True while the channel is connected.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// Reports online/offline changes, task results, IIN changes, restarts and unsolicited
    /// activity to `listener` from now on (see [`AssociationListener`]).
    pub fn set_listener(&mut self, listener: Box<dyn AssociationListener>) {
        self.health.set_listener(listener);
    }

    /// Whether the association is talking to its outstation (see [`AssociationState`]).
    pub fn state(&self) -> AssociationState {
        self.health.state()
    }

    /// The slot where the association publishes a copy of its counters, for other threads.
    pub fn stats_slot(&self) -> Arc<StatsSlot> {
        self.health.slot()
    }

    /// True while a request awaits its response or the second half of a two-step exchange
    /// (OPERATE after SELECT, the time WRITE after a delay measurement) is due. A half-duplex
    /// channel starts no other association's request meanwhile.
    pub fn is_busy(&self) -> bool {
        self.online && self.current.is_some()
    }

    /// True when a CONFIRM is waiting to be sent (it may go even while another association of
    /// a half-duplex channel has the line).
    pub fn confirm_pending(&self) -> bool {
        self.online && !self.confirms.is_empty()
    }

    /// Adds a poll run every `period`, first after one period (or less: see
    /// [`MasterConfig::poll_spread`]).
    pub fn add_poll(&mut self, now: &Now, request: ReadRequest, period: Duration) -> PollId {
        self.polls.add(now.instant, request, period)
    }

    /// Removes a periodic poll; false when it did not exist.
    pub fn remove_poll(&mut self, id: PollId) -> bool {
        self.polls.remove(id)
    }

    /// Runs a periodic poll as soon as possible (its schedule is unchanged otherwise).
    pub fn demand_poll(&mut self, now: &Now, id: PollId) -> bool {
        self.polls.demand(now.instant, id)
    }

    /// Ends the association: everything pending fails with `Shutdown`.
    pub fn shutdown(&mut self) {
        self.online = false;
        self.fail_all(TaskError::Shutdown);
    }

    /// Queues a user request, or ends it at once when the link is down or the queue full.
    pub(super) fn enqueue(&mut self, task: Task) {
        if !self.online {
            self.end(task, None, TaskError::LinkDown, None);
        } else if self.queue.len() >= self.config.max_queued_requests {
            self.end(task, None, TaskError::QueueFull, None);
        } else {
            self.queue.push_back(task);
        }
    }

    fn next_seq(&mut self) -> u8 {
        let s = self.seq;
        self.seq = (self.seq + 1) & 0x0F;
        s
    }

    /// The next task to start: user requests, then automatic tasks by priority, then the most
    /// overdue periodic poll; after a few user requests in a row, a due automatic task or poll
    /// goes first (see [`Scheduler::user_turn`]).
    fn next_task(&mut self, now: &Now) -> Option<(Task, Option<AutoTask>)> {
        if self.scheduler.user_turn() {
            if let Some(task) = self.pop_user() {
                self.scheduler.started(true);
                return Some((task, None));
            }
        }
        let config = &self.config;
        let auto = self
            .scheduler
            .ready(now.instant)
            .find_map(|a| Some((a.task(config)?, Some(a))));
        let held = self.scheduler.held();
        let other = auto.or_else(|| {
            let request = (!held).then(|| self.polls.take_due(now.instant))??;
            Some((ReadTask::periodic(request).into(), None))
        });
        if other.is_some() {
            self.scheduler.started(false);
            return other;
        }
        let task = self.pop_user()?;
        self.scheduler.started(true);
        Some((task, None))
    }

    /// Writes the task's next request with the next SEQ. A task whose request cannot be
    /// written ends with that error (not counted as a failure of the exchange).
    fn send(
        &mut self,
        now: &Now,
        mut task: Task,
        auto: Option<AutoTask>,
        out: &mut [u8],
    ) -> Option<usize> {
        let seq = self.next_seq();
        let function = task.function();
        match task.write(now, seq, out) {
            Ok(len) => {
                self.stats.requests += 1;
                self.health.sent(now);
                let name = task.name();
                tracing::debug!(task = name, seq, %function, len, "request");
                self.apply(now, task.sent(), auto, seq, name);
                Some(len)
            }
            Err(error) => {
                self.end(task, auto, error, Some(now.instant));
                None
            }
        }
    }

    /// Carries out what a task said after its request was sent or its response judged;
    /// `seq` is the SEQ of the response it waits for, if it waits.
    fn apply(
        &mut self,
        now: &Now,
        outcome: Outcome,
        auto: Option<AutoTask>,
        seq: u8,
        name: &'static str,
    ) {
        let (task, stage) = match outcome {
            Outcome::Await(task) => {
                let deadline = now.instant + self.config.response_timeout;
                (task, Stage::AwaitingResponse { seq, deadline })
            }
            Outcome::Next(task) => (task, Stage::ReadyToSend),
            Outcome::Failed(task, error) => return self.fail(task, auto, error, Some(now.instant)),
            Outcome::Done(result) => {
                match &result {
                    Ok(()) => tracing::debug!(task = name, "task done"),
                    // An answer that ends the task in error (a refused SELECT): the
                    // exchange worked, so it is not counted as a failure.
                    Err(error) => tracing::info!(task = name, %error, "task failed"),
                }
                if let Some(a) = auto {
                    let now = Some(now.instant);
                    self.scheduler.finish(a, &result, now, &self.config);
                }
                self.health.task_done(name, &result, &mut self.stats);
                return;
            }
        };
        self.current = Some(Current { task, auto, stage });
    }

    /// Ends a task whose exchange failed (timeout, bad or rejected response, link lost while
    /// waiting), counting the failure.
    fn fail(&mut self, task: Task, auto: Option<AutoTask>, error: TaskError, now: Option<Instant>) {
        if error == TaskError::Timeout {
            self.stats.timeouts += 1;
        } else {
            self.stats.failures += 1;
        }
        self.end(task, auto, error, now);
    }

    /// Ends a task with `error`: its requester is told, an automatic task is rescheduled or
    /// dropped as the error calls for.
    fn end(&mut self, task: Task, auto: Option<AutoTask>, error: TaskError, now: Option<Instant>) {
        let name = task.name();
        match error {
            TaskError::LinkDown | TaskError::Shutdown => {
                tracing::debug!(task = name, %error, "task failed")
            }
            _ => tracing::info!(task = name, %error, "task failed"),
        }
        if let Some(a) = auto {
            self.scheduler
                .finish(a, &Err(error.clone()), now, &self.config);
        }
        self.health
            .task_done(name, &Err(error.clone()), &mut self.stats);
        task.fail(error);
    }

    /// Fails the current task and every queued request (link down or shutdown).
    fn fail_all(&mut self, error: TaskError) {
        match self.current.take() {
            Some(Current {
                task,
                auto,
                stage: Stage::AwaitingResponse { .. },
            }) => self.fail(task, auto, error.clone(), None),
            Some(Current {
                task,
                auto,
                stage: Stage::ReadyToSend,
            }) => self.end(task, auto, error.clone(), None),
            None => {}
        }
        while let Some(task) = self.queue.pop_front() {
            self.end(task, None, error.clone(), None);
        }
    }

    fn on_unsolicited(&mut self, now: &Now, f: &Fragment<'_>, bytes: &[u8]) {
        if let Some(reason) = unsolicited_refusal(f) {
            tracing::debug!(seq = f.control.seq, reason, "unsolicited response ignored");
            self.stats.ignored += 1;
            return;
        }
        let iin = f.iin.unwrap_or_default();
        tracing::debug!(seq = f.control.seq, con = f.control.con, %iin, "unsolicited response");
        let uns_confirm = AppControl {
            uns: true,
            ..AppControl::single(f.control.seq)
        };
        if self.unsolicited.is_repeat(f.control.seq, bytes) {
            // Our confirm was lost: confirm again, deliver nothing twice.
            tracing::debug!(seq = f.control.seq, "repeated unsolicited response");
            if f.control.con {
                self.confirms.push(uns_confirm);
            }
            return;
        }
        let limit = self.config.max_unsolicited_per_second;
        if !self.throttle.admit(now.instant, limit) {
            // Not confirmed: the outstation keeps the events and repeats them later.
            tracing::debug!(
                seq = f.control.seq,
                "unsolicited response over the rate limit"
            );
            self.stats.unsolicited_dropped += 1;
            return;
        }
        let mut sink = MeasurementSink::new(self.handler.as_mut(), &mut self.stats.measurements)
            .with_repeats(&mut self.repeats, &mut self.stats.repeated_events);
        if sink.deliver(f, true).is_some() {
            // The objects before it were delivered; without a confirm the outstation keeps
            // its events and repeats them.
            self.stats.unsupported += 1;
        } else {
            self.stats.unsolicited += 1;
            self.unsolicited.accept(f.control.seq, bytes);
            if f.control.con {
                self.confirms.push(uns_confirm);
            }
        }
        self.scheduler.react_to_iin(iin, &self.config);
        let with_data = !f.body.is_empty();
        self.health.unsolicited(iin, with_data, &self.stats);
    }

    fn on_response(&mut self, now: &Now, f: &Fragment<'_>) {
        let awaited = matches!(
            self.current,
            Some(Current { stage: Stage::AwaitingResponse { seq, .. }, .. }) if seq == f.control.seq
        );
        if f.control.uns || !awaited {
            tracing::debug!(
                seq = f.control.seq,
                "response to no request in flight ignored"
            );
            self.stats.ignored += 1;
            return;
        }
        let Some(Current { task, auto, .. }) = self.current.take() else {
            return;
        };
        if out_of_order(f, task.first_fragment_expected()) {
            // Neither confirmed nor delivered: the response is broken (IEEE 1815-2012, clause 4).
            tracing::debug!(
                seq = f.control.seq,
                fir = f.control.fir,
                "response fragment out of order"
            );
            let error = TaskError::BadResponse("FIR out of order");
            self.fail(task, auto, error, Some(now.instant));
            return;
        }
        self.health
            .response(f.iin.unwrap_or_default(), &mut self.stats);
        // A read delivers the objects before one it cannot parse, then fails; the other tasks
        // judge only well-formed responses.
        let parsable = f.objects().validate().is_ok();
        if !parsable && !task.counts_as_poll() {
            let error = TaskError::BadResponse("malformed objects");
            self.fail(task, auto, error, Some(now.instant));
            return;
        }
        let iin = f.iin.unwrap_or_default();
        let c = f.control;
        tracing::debug!(seq = c.seq, fir = c.fir, fin = c.fin, con = c.con, %iin, "response");
        self.stats.responses += 1;
        // A further fragment of this response comes with the next SEQ.
        self.seq = (c.seq + 1) & 0x0F;
        // A fragment with an object the master cannot parse is not confirmed, so the
        // outstation keeps the events it carried (IEEE 1815-2012, clause 4); nor are objects
        // in the answer to a request that reads nothing (a stale response whose SEQ happens
        // to match): confirmed undelivered, its events would be lost.
        let deliverable = task.delivers_measurements() || f.body.is_empty();
        if c.con && parsable && deliverable {
            self.confirms.push(AppControl::single(c.seq));
        }
        self.scheduler.react_to_iin(iin, &self.config);
        let (name, is_poll) = (task.name(), task.counts_as_poll());
        let mut sink = MeasurementSink::new(self.handler.as_mut(), &mut self.stats.measurements)
            .with_repeats(&mut self.repeats, &mut self.stats.repeated_events);
        let outcome = task.on_response(now, f, &mut sink);
        let unsupported = sink.unsupported();
        self.stats.unsupported += unsupported;
        if is_poll && matches!(outcome, Outcome::Done(Ok(()))) {
            self.stats.polls += 1;
        }
        self.apply(now, outcome, auto, self.seq, name);
    }
}

impl Session for MasterSession {
    fn local_address(&self) -> u16 {
        self.config.local_address
    }

    fn remote_address(&self) -> u16 {
        self.config.outstation_address
    }

    fn is_master(&self) -> bool {
        true
    }

    fn on_fragment(&mut self, now: &Now, source: u16, destination: AddressKind, fragment: &[u8]) {
        self.health.step(now);
        if source != self.config.outstation_address
            || destination != AddressKind::Station
            || fragment.len() > self.config.max_rx_fragment
        {
            self.stats.ignored += 1;
            return;
        }
        let Ok(f) = Fragment::parse(fragment) else {
            self.stats.ignored += 1;
            return;
        };
        match f.function {
            FunctionCode::UnsolicitedResponse => self.on_unsolicited(now, &f, fragment),
            FunctionCode::Response => self.on_response(now, &f),
            _ => self.stats.ignored += 1,
        }
    }

    fn next_fragment(&mut self, now: &Now, out: &mut [u8]) -> Option<usize> {
        self.health.step(now);
        if !self.online {
            return None;
        }
        if let Some(c) = self.confirms.pop() {
            let w = FragmentWriter::request(out, c, FunctionCode::Confirm).ok()?;
            self.stats.confirms += 1;
            return Some(w.len());
        }
        match self.current.take() {
            Some(Current {
                task,
                auto,
                stage: Stage::ReadyToSend,
            }) => {
                if let Some(len) = self.send(now, task, auto, out) {
                    return Some(len);
                }
            }
            Some(awaiting) => {
                self.current = Some(awaiting);
                return None;
            }
            None => {}
        }
        // A task whose request cannot be written has ended: go on with the next one.
        loop {
            let (task, auto) = self.next_task(now)?;
            tracing::debug!(
                task = task.name(),
                automatic = auto.is_some(),
                "task started"
            );
            if let Some(len) = self.send(now, task, auto, out) {
                return Some(len);
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if !self.online {
            return None;
        }
        if let Some(Current {
            stage: Stage::AwaitingResponse { deadline, .. },
            ..
        }) = self.current
        {
            return Some(deadline);
        }
        let retries = self.scheduler.next_retry();
        let polls = self.polls.next_due().filter(|_| !self.scheduler.held());
        retries.into_iter().chain(polls).min()
    }

    fn on_timer(&mut self, now: &Now) {
        self.health.step(now);
        let expired = matches!(
            self.current,
            Some(Current { stage: Stage::AwaitingResponse { deadline, .. }, .. }) if now.instant >= deadline
        );
        if !expired {
            return;
        }
        if let Some(Current { task, auto, .. }) = self.current.take() {
            // The SEQ moved on when the request was sent: the next request takes the next
            // one (IEEE 1815-2012, clause 4).
            self.fail(task, auto, TaskError::Timeout, Some(now.instant));
        }
    }

    fn on_link_up(&mut self, now: &Now) {
        tracing::debug!(
            outstation = self.config.outstation_address,
            "association online"
        );
        self.online = true;
        self.confirms.clear();
        self.unsolicited.clear();
        self.scheduler.on_link_up(&self.config);
        self.polls.restart(now.instant);
        self.health.step(now);
        self.health.link_up(&self.stats);
    }

    fn on_link_down(&mut self, now: &Now) {
        self.online = false;
        self.confirms.clear();
        self.health.step(now);
        self.fail_all(TaskError::LinkDown);
        self.health.link_down(&self.stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_session_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<MasterSession>();
    }
}
