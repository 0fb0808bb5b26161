//! The master's work items: automatic tasks with their priorities and retry back-off, periodic
//! polls, and the bounded queue of user requests.

use super::request::{Command, CommandMode, ReadRequest, Reply, RestartKind, TimeSyncMode};
use crate::objects::CommandStatus;
use std::time::{Duration, Instant};

/// Automatic tasks, in priority order (PROTOCOL.md §6.1): the first pending one runs first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Auto {
    ClearRestart,
    DisableUnsolicited,
    Integrity,
    TimeSync,
    EnableUnsolicited,
}

impl Auto {
    pub(crate) const ALL: [Auto; 5] = [
        Auto::ClearRestart,
        Auto::DisableUnsolicited,
        Auto::Integrity,
        Auto::TimeSync,
        Auto::EnableUnsolicited,
    ];
}

/// Scheduling state of one automatic task.
#[derive(Copy, Clone, Debug)]
pub(crate) struct AutoState {
    pub(crate) pending: bool,
    pub(crate) retry_at: Option<Instant>,
    pub(crate) backoff: Duration,
}

impl AutoState {
    pub(crate) fn idle(backoff: Duration) -> Self {
        AutoState {
            pending: false,
            retry_at: None,
            backoff,
        }
    }

    pub(crate) fn ready(&self, now: Instant) -> bool {
        self.pending && self.retry_at.is_none_or(|t| t <= now)
    }
}

/// A periodic poll.
#[derive(Clone, Debug)]
pub(crate) struct PeriodicPoll {
    pub(crate) id: u32,
    pub(crate) request: ReadRequest,
    pub(crate) period: Duration,
    pub(crate) next: Instant,
}

/// A queued user request.
pub(crate) enum UserTask {
    Read {
        request: ReadRequest,
        reply: Reply<()>,
    },
    Command {
        mode: CommandMode,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    },
    TimeSync {
        mode: TimeSyncMode,
        reply: Reply<()>,
    },
    Restart {
        kind: RestartKind,
        reply: Reply<Duration>,
    },
}

/// Who gets the outcome of the request in flight.
pub(crate) enum Origin<T> {
    Auto(Auto),
    Periodic,
    User(Reply<T>),
}

/// The request in flight and what its response must look like.
pub(crate) enum Op {
    Poll {
        origin: Origin<()>,
        fragments: u32,
    },
    Null {
        auto: Option<Auto>,
        kind: NullKind,
        reply: Option<Reply<()>>,
    },
    Commands {
        mode: CommandMode,
        step: CommandStep,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    },
    RecordTime {
        origin: Origin<()>,
        recorded: crate::objects::Timestamp,
    },
    DelayMeasure {
        origin: Origin<()>,
        sent: Instant,
    },
    WriteTime {
        origin: Origin<()>,
    },
    Restart {
        kind: RestartKind,
        reply: Reply<Duration>,
    },
}

/// Null-response requests other than time writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum NullKind {
    ClearRestart,
    DisableUnsolicited,
    EnableUnsolicited,
}

/// Where a command request stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CommandStep {
    Select,
    Operate,
    Direct,
}

/// A request to send right after a response, without going through the queue.
pub(crate) enum FollowUp {
    Operate {
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    },
    WriteLanTime {
        origin: Origin<()>,
        recorded: crate::objects::Timestamp,
    },
    WriteTime {
        origin: Origin<()>,
        propagation: Duration,
    },
}

pub(crate) struct InFlight {
    pub(crate) seq: u8,
    pub(crate) deadline: Instant,
    pub(crate) op: Op,
}
