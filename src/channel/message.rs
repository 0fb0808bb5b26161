//! What user threads post to a channel's executor: one message per request, answered through
//! the promise or reply it carries.

use rdnp3_reactor::Promise;
use rdnp3_stack::master::{
    Command, CommandMode, MasterStats, PollId, ReadRequest, Reply, RestartKind, TaskError,
    TimeSyncMode,
};
use rdnp3_stack::objects::CommandStatus;
use rdnp3_stack::outstation::{ControlToken, OutstationStats, Update};
use rdnp3_stack::router::{AddSessionError, SessionKind};
use std::time::Duration;

/// Work posted to a channel.
pub(crate) enum ChannelMsg {
    AddSession(SessionKind, Promise<Result<u32, AddSessionError>>),
    RemoveSession(u32, Promise<bool>),
    Master(u32, MasterOp),
    Outstation(u32, OutstationOp),
    Shutdown,
}

/// Work for one outstation.
pub(crate) enum OutstationOp {
    Update(Vec<Update>),
    Stats(Promise<OutstationStats>),
    SetNeedTime(bool),
    SetRestart,
    CompleteControl(ControlToken, CommandStatus),
}

/// Work for one master association.
pub(crate) enum MasterOp {
    Read(ReadRequest, Reply<()>),
    Command(CommandMode, Vec<Command>, Reply<Vec<CommandStatus>>),
    TimeSync(TimeSyncMode, Reply<()>),
    Restart(RestartKind, Reply<Duration>),
    AddPoll(ReadRequest, Duration, Promise<PollId>),
    RemovePoll(PollId),
    DemandPoll(PollId),
    Stats(Promise<MasterStats>),
}

impl MasterOp {
    /// Answers a request that cannot run (its session is gone, or the mailbox refused it).
    pub(crate) fn fail(self, error: TaskError) {
        match self {
            MasterOp::Read(_, r) | MasterOp::TimeSync(_, r) => r(Err(error)),
            MasterOp::Command(_, _, r) => r(Err(error)),
            MasterOp::Restart(_, r) => r(Err(error)),
            MasterOp::AddPoll(..)
            | MasterOp::Stats(_)
            | MasterOp::RemovePoll(_)
            | MasterOp::DemandPoll(_) => {}
        }
    }
}
