//! What user threads post to a channel's executor: one message per request, answered through
//! the promise or reply it carries.

use super::dial_in::DialInConnection;
use rdnp3_reactor::Promise;
use rdnp3_stack::app::FunctionCode;
use rdnp3_stack::master::{
    ClassAssignment, Command, CommandMode, FreezeRequest, MasterStats, ObjectHeaders, PollId,
    ReadRequest, Reply, RestartKind, TaskError, TimeSyncMode, WriteRequest,
};
use rdnp3_stack::objects::Classes;
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
    /// A master listener hands over an identified dial-in connection.
    DialIn(Box<DialInConnection>),
    Shutdown,
    /// A manager-wide limit granted the permit this channel waited for.
    PermitGranted,
    /// Posted to itself: a handshake deferred over the executor's budget tries again.
    #[cfg(feature = "tls")]
    HandshakeTurn,
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
    Freeze(FreezeRequest, Reply<()>),
    /// ENABLE_UNSOLICITED (true) or DISABLE_UNSOLICITED for these classes.
    Unsolicited(bool, Classes, Reply<()>),
    AssignClass(Vec<ClassAssignment>, Reply<()>),
    Write(WriteRequest, Reply<()>),
    /// READ of device attributes: set, variation.
    ReadAttributes(u8, u8, Reply<()>),
    Request(FunctionCode, ObjectHeaders, Reply<()>),
    AddPoll(ReadRequest, Duration, Promise<PollId>),
    RemovePoll(PollId),
    DemandPoll(PollId),
    Stats(Promise<MasterStats>),
}

impl MasterOp {
    /// Answers a request that cannot run (its session is gone, or the mailbox refused it).
    pub(crate) fn fail(self, error: TaskError) {
        match self {
            MasterOp::Read(_, r)
            | MasterOp::TimeSync(_, r)
            | MasterOp::Freeze(_, r)
            | MasterOp::Unsolicited(_, _, r)
            | MasterOp::AssignClass(_, r)
            | MasterOp::Write(_, r)
            | MasterOp::ReadAttributes(_, _, r)
            | MasterOp::Request(_, _, r) => r.send(Err(error)),
            MasterOp::Command(_, _, r) => r.send(Err(error)),
            MasterOp::Restart(_, r) => r.send(Err(error)),
            MasterOp::AddPoll(..)
            | MasterOp::Stats(_)
            | MasterOp::RemovePoll(_)
            | MasterOp::DemandPoll(_) => {}
        }
    }
}
