//! The automatic tasks of a master association: which are pending, in which order they run,
//! when a failed one is retried, which IIN bits schedule them (on their rising edge, or for
//! as long as they stay set), and how many user requests may go before a due one
//! (IEEE 1815-2012, clause 4: master startup and IIN reactions).

use super::association::MasterSession;
use super::config::MasterConfig;
use super::functions::{assign_class_headers, ObjectHeaders};
use super::request::TaskError;
use super::tasks::{ClearRestartTask, FunctionTask, ReadTask, Task, TimeSyncTask, UnsolicitedTask};
use crate::app::{FunctionCode, Iin};
use crate::objects::Classes;
use std::time::{Duration, Instant};

impl MasterSession {
    /// Holds the startup sequence, automatic tasks and periodic polls (true) until let go,
    /// so that the I/O layer can limit startups under way at once; user requests still run.
    pub fn hold_startup(&mut self, hold: bool) {
        self.scheduler.set_held(hold);
    }

    /// True while online with a startup task pending and not waiting out a back-off.
    pub fn is_starting(&self) -> bool {
        self.online && self.scheduler.starting()
    }
}

/// The tasks a master runs on its own, in priority order: the first pending one runs first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AutoTask {
    /// WRITE g80v1 index 7 after the outstation restarted.
    ClearRestart,
    /// DISABLE_UNSOLICITED at startup.
    DisableUnsolicited,
    /// ASSIGN_CLASS of the configured points, at startup and after a restart.
    AssignClass,
    /// Integrity poll at startup, after a restart or an event buffer overflow.
    Integrity,
    /// Time synchronisation when the outstation asks for it.
    TimeSync,
    /// ENABLE_UNSOLICITED once the integrity poll is done.
    EnableUnsolicited,
    /// READ of the configured event classes when a response reports class data available.
    EventScan,
}

impl AutoTask {
    /// Every automatic task, in priority order.
    const ALL: [AutoTask; 7] = [
        AutoTask::ClearRestart,
        AutoTask::DisableUnsolicited,
        AutoTask::AssignClass,
        AutoTask::Integrity,
        AutoTask::TimeSync,
        AutoTask::EnableUnsolicited,
        AutoTask::EventScan,
    ];

    /// The name used in logs.
    fn name(self) -> &'static str {
        match self {
            AutoTask::ClearRestart => "clear restart",
            AutoTask::DisableUnsolicited => "disable unsolicited",
            AutoTask::AssignClass => "assign class",
            AutoTask::Integrity => "integrity poll",
            AutoTask::TimeSync => "time sync",
            AutoTask::EnableUnsolicited => "enable unsolicited",
            AutoTask::EventScan => "event scan",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// The task that carries out this automatic task with this configuration (`None` for a
    /// time synchronisation the configuration does not ask for).
    pub(crate) fn task(self, config: &MasterConfig) -> Option<Task> {
        Some(match self {
            AutoTask::ClearRestart => ClearRestartTask.into(),
            AutoTask::DisableUnsolicited => UnsolicitedTask::disable().into(),
            AutoTask::AssignClass => FunctionTask::automatic(
                "assign class",
                FunctionCode::AssignClass,
                // A list too long for one fragment fails the task, which drops it.
                assign_class_headers(&config.startup_assign_class)
                    .map_err(|_| "the startup class assignments do not fit one fragment"),
                None,
            )
            .into(),
            AutoTask::Integrity => ReadTask::integrity().into(),
            AutoTask::TimeSync => TimeSyncTask::automatic(config.time_sync?).into(),
            AutoTask::EnableUnsolicited => {
                UnsolicitedTask::enable(config.unsolicited_classes).into()
            }
            AutoTask::EventScan => {
                let mut headers = ObjectHeaders::new();
                for v in config.event_scan.event_variations() {
                    // Three 3-byte headers always fit.
                    headers.all(v).ok()?;
                }
                FunctionTask::automatic("event scan", FunctionCode::Read, Ok(headers), None).into()
            }
        })
    }
}

/// Scheduling state of one automatic task.
#[derive(Copy, Clone, Debug)]
struct Slot {
    pending: bool,
    /// After a timeout: not before this moment.
    retry_at: Option<Instant>,
    /// The delay before the next retry after a timeout.
    backoff: Duration,
}

/// IIN bits whose rising edge schedules an automatic task.
const WATCHED: Iin = Iin(Iin::DEVICE_RESTART.0 | Iin::NEED_TIME.0 | Iin::EVENT_BUFFER_OVERFLOW.0);

/// At most this many user requests start in a row while an automatic task or a periodic poll
/// is due: a steady stream of user requests must not starve the polls.
const USER_REQUESTS_IN_A_ROW: u8 = 3;

/// Which automatic tasks are pending and when they may run.
#[derive(Debug)]
pub(crate) struct Scheduler {
    slots: [Slot; AutoTask::ALL.len()],
    /// The watched IIN bits of the last response, for edge detection.
    seen: Iin,
    /// Class data was reported available while an event scan was pending (or running: its
    /// own response is judged after the IIN): scan again once it is done.
    rescan: bool,
    /// User requests started since the last automatic task or periodic poll.
    user_streak: u8,
    /// No automatic task (nor periodic poll) starts: the startup sequence waits its turn
    /// under a limit of the I/O layer on startups at once.
    held: bool,
}

/// The automatic tasks of the startup sequence.
const STARTUP: [AutoTask; 4] = [
    AutoTask::DisableUnsolicited,
    AutoTask::AssignClass,
    AutoTask::Integrity,
    AutoTask::EnableUnsolicited,
];

impl Scheduler {
    /// Nothing pending.
    pub(crate) fn new(config: &MasterConfig) -> Self {
        let idle = Slot {
            pending: false,
            retry_at: None,
            backoff: config.task_retry_min,
        };
        Scheduler {
            slots: [idle; AutoTask::ALL.len()],
            seen: Iin::NONE,
            rescan: false,
            user_streak: 0,
            held: false,
        }
    }

    /// Holds (or lets go) every automatic task and periodic poll; user requests still run.
    pub(crate) fn set_held(&mut self, hold: bool) {
        self.held = hold;
    }

    /// True while held.
    pub(crate) fn held(&self) -> bool {
        self.held
    }

    /// True while tasks of the startup sequence are pending and none waits out a back-off (a
    /// startup that failed for now no longer counts as under way).
    pub(crate) fn starting(&self) -> bool {
        let mut pending = STARTUP
            .iter()
            .map(|t| &self.slots[t.slot()])
            .filter(|s| s.pending)
            .peekable();
        pending.peek().is_some() && pending.all(|s| s.retry_at.is_none())
    }

    /// A new connection: retries start afresh, IIN edges are detected anew and the startup
    /// tasks the configuration asks for are scheduled (tasks still pending from the last
    /// connection stay pending, except the level-triggered ones: they answered a bit of the
    /// last connection, and the first IIN of this one schedules them again if it is still
    /// set; clearing DEVICE_RESTART before that IIN is seen would hide the restart that
    /// may have caused the reconnection).
    pub(crate) fn on_link_up(&mut self, config: &MasterConfig) {
        self.seen = Iin::NONE;
        self.rescan = false;
        for s in self.slots.iter_mut() {
            s.retry_at = None;
            s.backoff = config.task_retry_min;
        }
        for task in [AutoTask::ClearRestart, AutoTask::TimeSync] {
            self.slots[task.slot()].pending = false;
        }
        if config.disable_unsolicited_at_startup {
            self.schedule(AutoTask::DisableUnsolicited);
        }
        if !config.startup_assign_class.is_empty() {
            self.schedule(AutoTask::AssignClass);
        }
        if config.startup_integrity {
            self.schedule(AutoTask::Integrity);
        }
        if !config.unsolicited_classes.is_empty() {
            self.schedule(AutoTask::EnableUnsolicited);
        }
    }

    /// Schedules the automatic tasks that the IIN of a response calls for. Clearing the
    /// restart bit and the time synchronisation are level-triggered: they stay scheduled (with
    /// back-off after a failure) while DEVICE_RESTART or NEED_TIME stays set, and a retry is
    /// dropped once the bit is gone. The restart's other tasks (class assignment, integrity
    /// poll, enabling unsolicited) and the overflow's integrity poll run on the rising edge.
    pub(crate) fn react_to_iin(&mut self, iin: Iin, config: &MasterConfig) {
        let rising = iin & WATCHED & !self.seen;
        self.seen = iin & WATCHED;
        self.hold(
            iin,
            Iin::DEVICE_RESTART,
            "DEVICE_RESTART",
            AutoTask::ClearRestart,
        );
        if config.time_sync.is_some() {
            self.hold(iin, Iin::NEED_TIME, "NEED_TIME", AutoTask::TimeSync);
        }
        if rising.contains(Iin::DEVICE_RESTART) {
            if !config.startup_assign_class.is_empty() {
                self.react("DEVICE_RESTART", AutoTask::AssignClass);
            }
            if config.startup_integrity {
                self.react("DEVICE_RESTART", AutoTask::Integrity);
            }
            if !config.unsolicited_classes.is_empty() {
                self.react("DEVICE_RESTART", AutoTask::EnableUnsolicited);
            }
        }
        // Level, not edge: data left over after a scan calls for another one.
        let available = [
            (Iin::CLASS_1_EVENTS, Classes::CLASS1),
            (Iin::CLASS_2_EVENTS, Classes::CLASS2),
            (Iin::CLASS_3_EVENTS, Classes::CLASS3),
        ]
        .into_iter()
        .any(|(bit, class)| iin.contains(bit) && config.event_scan.contains(class));
        if available && self.pending(AutoTask::EventScan) {
            self.rescan = true;
        } else if available {
            self.react("CLASS_n_EVENTS", AutoTask::EventScan);
        }
        if rising.contains(Iin::EVENT_BUFFER_OVERFLOW) && config.integrity_on_overflow {
            self.react("EVENT_BUFFER_OVERFLOW", AutoTask::Integrity);
        }
    }

    /// A level-triggered reaction: `task` is scheduled while `bit` is set, and a retry still
    /// waiting out its back-off is dropped once the bit is clear.
    fn hold(&mut self, iin: Iin, bit: Iin, name: &'static str, task: AutoTask) {
        let s = &mut self.slots[task.slot()];
        if iin.contains(bit) {
            if !s.pending {
                self.react(name, task);
            }
        } else if s.pending && s.retry_at.is_some() {
            tracing::debug!(iin = name, task = task.name(), "bit clear: retry dropped");
            s.pending = false;
            s.retry_at = None;
        }
    }

    fn react(&mut self, bit: &'static str, task: AutoTask) {
        tracing::debug!(
            iin = bit,
            task = task.name(),
            "IIN reaction: task scheduled"
        );
        self.schedule(task);
    }

    fn schedule(&mut self, task: AutoTask) {
        self.slots[task.slot()].pending = true;
    }

    fn pending(&self, task: AutoTask) -> bool {
        self.slots[task.slot()].pending
    }

    /// The automatic tasks that may start now, in priority order. Startup order holds:
    /// ASSIGN_CLASS waits for DISABLE_UNSOLICITED, the integrity poll for both, and
    /// ENABLE_UNSOLICITED for all three.
    pub(crate) fn ready(&self, now: Instant) -> impl Iterator<Item = AutoTask> + '_ {
        AutoTask::ALL.into_iter().filter(move |&task| {
            if self.held {
                return false;
            }
            let s = &self.slots[task.slot()];
            let due = s.pending && s.retry_at.is_none_or(|t| t <= now);
            due && !self.waiting(task)
        })
    }

    /// True while a task that must run before `task` is pending.
    fn waiting(&self, task: AutoTask) -> bool {
        let before: &[AutoTask] = match task {
            AutoTask::AssignClass => &[AutoTask::DisableUnsolicited],
            AutoTask::Integrity => &[AutoTask::DisableUnsolicited, AutoTask::AssignClass],
            AutoTask::EnableUnsolicited => &[
                AutoTask::DisableUnsolicited,
                AutoTask::AssignClass,
                AutoTask::Integrity,
            ],
            // The integrity poll reads the events too.
            AutoTask::EventScan => &[AutoTask::DisableUnsolicited, AutoTask::Integrity],
            _ => &[],
        };
        before.iter().any(|&b| self.pending(b))
    }

    /// Records how an automatic task ended. Success clears it; a timeout keeps it pending and
    /// retries it after a delay that doubles from `task_retry_min` up to `task_retry_max`;
    /// link loss and shutdown keep it pending for the next connection; any other failure
    /// (rejection, bad response) drops it until its trigger comes again, except for the
    /// level-triggered clear-restart and time synchronisation, retried like a timeout (their
    /// retry is dropped when the IIN bit clears).
    pub(crate) fn finish(
        &mut self,
        task: AutoTask,
        result: &Result<(), TaskError>,
        now: Option<Instant>,
        config: &MasterConfig,
    ) {
        let rescan = task == AutoTask::EventScan && std::mem::take(&mut self.rescan);
        // The bit a level-triggered task answers went while the task ran: its retry would
        // answer nothing, or worse, clear the DEVICE_RESTART of an outstation that restarted
        // meanwhile before the master saw it.
        let bit_gone = match task {
            AutoTask::ClearRestart => !self.seen.contains(Iin::DEVICE_RESTART),
            AutoTask::TimeSync => !self.seen.contains(Iin::NEED_TIME),
            _ => false,
        };
        let s = &mut self.slots[task.slot()];
        match result {
            Ok(()) => {
                s.pending = rescan;
                s.retry_at = None;
                s.backoff = config.task_retry_min;
            }
            Err(TaskError::LinkDown | TaskError::Shutdown) => {}
            Err(_) if bit_gone => {
                s.pending = false;
                s.retry_at = None;
            }
            Err(_) if matches!(task, AutoTask::ClearRestart | AutoTask::TimeSync) => {
                s.retry_at = now.map(|n| n + s.backoff);
                s.backoff = (s.backoff * 2).min(config.task_retry_max);
            }
            Err(TaskError::Timeout) => {
                s.retry_at = now.map(|n| n + s.backoff);
                s.backoff = (s.backoff * 2).min(config.task_retry_max);
            }
            Err(_) => {
                s.pending = false;
                s.retry_at = None;
            }
        }
    }

    /// True when a queued user request may go before a due automatic task or periodic poll.
    pub(crate) fn user_turn(&self) -> bool {
        self.user_streak < USER_REQUESTS_IN_A_ROW
    }

    /// Records which kind of task started, for [`Scheduler::user_turn`].
    pub(crate) fn started(&mut self, user: bool) {
        self.user_streak = if user {
            self.user_streak.saturating_add(1)
        } else {
            0
        };
    }

    /// The earliest retry of a pending automatic task that is waiting out its back-off. A
    /// task that also waits for an earlier one of the sequence does not count: its back-off
    /// may end before the earlier task's, and a deadline that passes without a task to start
    /// would fire again and again.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        if self.held {
            return None;
        }
        AutoTask::ALL
            .into_iter()
            .filter(|&task| self.pending(task) && !self.waiting(task))
            .filter_map(|task| self.slots[task.slot()].retry_at)
            .min()
    }
}

#[cfg(test)]
mod retry_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn startup() -> (Scheduler, MasterConfig) {
        let config = MasterConfig::default();
        let mut s = Scheduler::new(&config);
        s.on_link_up(&config);
        (s, config)
    }

    fn first(s: &Scheduler, now: Instant) -> Option<AutoTask> {
        s.ready(now).next()
    }

    #[test]
    fn startup_runs_disable_then_integrity_then_enable() {
        let (mut s, config) = startup();
        let now = Instant::now();
        for task in [
            AutoTask::DisableUnsolicited,
            AutoTask::Integrity,
            AutoTask::EnableUnsolicited,
        ] {
            assert_eq!(s.ready(now).collect::<Vec<_>>(), [task]);
            s.finish(task, &Ok(()), Some(now), &config);
        }
        assert_eq!(first(&s, now), None);
    }

    #[test]
    fn startup_assign_class_runs_after_disable_and_before_the_integrity_poll() {
        use crate::master::functions::{ClassAssignment, PointRange};
        use crate::objects::{EventClass, Variation};
        let config = MasterConfig::default().with_startup_assign_class(vec![ClassAssignment::new(
            EventClass::Class2,
            vec![(Variation::Group30Var0, PointRange::All)],
        )]);
        let mut s = Scheduler::new(&config);
        s.on_link_up(&config);
        let now = Instant::now();
        for task in [
            AutoTask::DisableUnsolicited,
            AutoTask::AssignClass,
            AutoTask::Integrity,
            AutoTask::EnableUnsolicited,
        ] {
            assert_eq!(s.ready(now).collect::<Vec<_>>(), [task]);
            s.finish(task, &Ok(()), Some(now), &config);
        }
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        let after_restart: Vec<_> = s.ready(now).collect();
        assert_eq!(
            after_restart,
            [AutoTask::ClearRestart, AutoTask::AssignClass]
        );
    }

    #[test]
    fn a_restart_bit_schedules_its_integrity_poll_on_the_rising_edge_only() {
        let config = MasterConfig::default().with_disable_unsolicited_at_startup(false);
        let mut s = Scheduler::new(&config);
        let now = Instant::now();
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        s.finish(AutoTask::ClearRestart, &Ok(()), Some(now), &config);
        s.finish(AutoTask::Integrity, &Ok(()), Some(now), &config);
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        assert!(!s.pending(AutoTask::Integrity), "still set");
        s.react_to_iin(Iin::NONE, &config);
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        assert!(s.pending(AutoTask::Integrity), "set again");
    }

    #[test]
    fn clearing_the_restart_bit_is_scheduled_while_the_bit_stays_set() {
        let (mut s, config) = startup();
        let now = Instant::now();
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        assert_eq!(first(&s, now), Some(AutoTask::ClearRestart));
        s.finish(AutoTask::ClearRestart, &Ok(()), Some(now), &config);
        s.react_to_iin(Iin::DEVICE_RESTART, &config);
        assert_eq!(first(&s, now), Some(AutoTask::ClearRestart), "still set");
    }

    #[test]
    fn a_held_startup_runs_nothing_until_let_go_and_a_back_off_ends_it() {
        let (mut s, config) = startup();
        let now = Instant::now();
        s.set_held(true);
        assert!(s.starting());
        assert_eq!(first(&s, now), None);
        s.set_held(false);
        assert_eq!(first(&s, now), Some(AutoTask::DisableUnsolicited));
        s.finish(AutoTask::DisableUnsolicited, &Ok(()), Some(now), &config);
        s.finish(
            AutoTask::Integrity,
            &Err(TaskError::Timeout),
            Some(now),
            &config,
        );
        assert!(!s.starting(), "waiting out a back-off");
        s.set_held(true);
        assert_eq!(s.next_retry(), None, "no wake-up while held");
    }

    #[test]
    fn timeouts_back_off_doubling_up_to_the_maximum() {
        let (mut s, config) = startup();
        let task = AutoTask::DisableUnsolicited;
        let mut now = Instant::now();
        for secs in [5, 10, 20, 40, 60, 60] {
            s.finish(task, &Err(TaskError::Timeout), Some(now), &config);
            let retry = now + Duration::from_secs(secs);
            assert_eq!(s.next_retry(), Some(retry));
            assert_eq!(first(&s, retry - Duration::from_millis(1)), None);
            assert_eq!(first(&s, retry), Some(task));
            now = retry;
        }
    }

    #[test]
    fn a_rejected_automatic_task_is_dropped_and_a_lost_link_keeps_it() {
        let (mut s, config) = startup();
        let now = Instant::now();
        s.finish(
            AutoTask::DisableUnsolicited,
            &Err(TaskError::LinkDown),
            None,
            &config,
        );
        assert_eq!(first(&s, now), Some(AutoTask::DisableUnsolicited));
        s.finish(
            AutoTask::DisableUnsolicited,
            &Err(TaskError::Rejected(Iin::NO_FUNC_CODE_SUPPORT)),
            Some(now),
            &config,
        );
        assert_eq!(first(&s, now), Some(AutoTask::Integrity));
    }
}
