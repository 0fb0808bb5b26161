//! The handle on one master association: requests posted to its channel's executor, answered
//! through completions.

use crate::channel::{ready, remove_session};
use crate::channel::{ChannelMsg, MasterOp};
use crate::error::ChannelError;
use crate::stats::ChannelMasters;
use rdnp3_reactor::{completion, Completion, Handle, PostError, Promise};
use rdnp3_stack::app::FunctionCode;
use rdnp3_stack::master::{
    ClassAssignment, Command, CommandMode, CommandResult, FreezeRequest, MasterStats,
    ObjectHeaders, PollId, ReadRequest, Reply, RestartKind, TaskError, TimeSyncMode, WriteRequest,
};
use rdnp3_stack::objects::Classes;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A handle on one master association; requests return completions that can be waited on
/// from a plain thread or awaited. Cheap to clone.
///
/// # Dropping a completion
/// A request's completion may be dropped (a timeout around `.await`, a `select!` that took
/// another branch, a thread that gave up). What that cancels:
/// - a request still queued on the association is skipped when its turn comes: it is never
///   sent, it counts in [`MasterStats::canceled`], and it does not count as a failure;
/// - a request already sent runs to its end (the outstation may already be acting on it; a
///   select-before-operate goes on to its OPERATE): its result is discarded;
/// - adding or removing an association or a poll is never undone by dropping its completion.
#[derive(Clone)]
pub struct Master {
    handle: Handle<ChannelMsg>,
    id: u32,
    /// Keeps its channel listed in the manager's statistics while the handle lives.
    _channel: Arc<ChannelMasters>,
}

impl fmt::Debug for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Master").field("id", &self.id).finish()
    }
}

impl Master {
    pub(crate) fn new(handle: Handle<ChannelMsg>, id: u32, channel: Arc<ChannelMasters>) -> Self {
        Master {
            handle,
            id,
            _channel: channel,
        }
    }

    fn request<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> MasterOp,
    ) -> Completion<Result<T, TaskError>> {
        let (promise, done) = completion();
        let wanted = promise.wanted_probe();
        let reply = Reply::new(move |r| promise.complete(r)).with_wanted(move || wanted());
        if let Err(e) = self.handle.post(ChannelMsg::Master(self.id, make(reply))) {
            let error = match e {
                PostError::Full(_) => TaskError::QueueFull,
                _ => TaskError::Shutdown,
            };
            // The message (and its reply) came back: answer through it.
            if let ChannelMsg::Master(_, op) = e.into_inner() {
                op.fail(error);
            }
        }
        done
    }

    /// Reads; measurements go to the association's handler.
    pub fn read(&self, request: ReadRequest) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Read(request, r))
    }

    /// Operates controls in one request.
    pub fn operate(&self, mode: CommandMode, commands: Vec<Command>) -> Completion<CommandResult> {
        self.request(|r| MasterOp::Command(mode, commands, r))
    }

    /// Synchronises the outstation's clock.
    pub fn time_sync(&self, mode: TimeSyncMode) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::TimeSync(mode, r))
    }

    /// Restarts the outstation; the result is the time until it is back.
    pub fn restart(&self, kind: RestartKind) -> Completion<Result<Duration, TaskError>> {
        self.request(|r| MasterOp::Restart(kind, r))
    }

    /// Freezes counters (IMMED_FREEZE, FREEZE_CLEAR, FREEZE_AT_TIME or their no-response
    /// forms, which complete once sent). Read the frozen counters afterwards.
    pub fn freeze(&self, request: FreezeRequest) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Freeze(request, r))
    }

    /// Asks the outstation to send unsolicited responses for the event classes of `classes`.
    pub fn enable_unsolicited(&self, classes: Classes) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Unsolicited(true, classes, r))
    }

    /// Asks the outstation to stop unsolicited responses for the event classes of `classes`.
    pub fn disable_unsolicited(&self, classes: Classes) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Unsolicited(false, classes, r))
    }

    /// Moves points between event classes with one ASSIGN_CLASS request.
    pub fn assign_class(
        &self,
        assignments: Vec<ClassAssignment>,
    ) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::AssignClass(assignments, r))
    }

    /// Writes deadbands, a time and interval, or clears an IIN bit.
    pub fn write(&self, request: WriteRequest) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Write(request, r))
    }

    /// Reads device attribute `variation` of attribute set `set` (0: the standard set;
    /// [`crate::ALL_ATTRIBUTES`]: all of them); the values go to the read handler.
    pub fn read_attributes(&self, set: u8, variation: u8) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::ReadAttributes(set, variation, r))
    }

    /// Sends a request of any function code with any object headers; objects in the
    /// responses go to the read handler. Response and CONFIRM codes are refused.
    pub fn send_request(
        &self,
        function: FunctionCode,
        headers: ObjectHeaders,
    ) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Request(function, headers, r))
    }

    /// Adds a periodic poll. Blocks until the association has it: from async code or a reactor
    /// callback use [`Master::add_poll_async`].
    pub fn add_poll(&self, request: ReadRequest, period: Duration) -> Result<PollId, ChannelError> {
        self.add_poll_async(request, period).wait()?
    }

    /// [`Master::add_poll`] without blocking. Dropping the completion does not remove the
    /// poll.
    pub fn add_poll_async(
        &self,
        request: ReadRequest,
        period: Duration,
    ) -> Completion<Result<PollId, ChannelError>> {
        let (promise, done) = completion();
        let added = Promise::map(promise, Ok);
        let op = MasterOp::AddPoll(request, period, added);
        match self.handle.post(ChannelMsg::Master(self.id, op)) {
            Ok(()) => done,
            Err(e) => ready(Err(e.into())),
        }
    }

    /// Runs a periodic poll now.
    pub fn demand_poll(&self, id: PollId) -> Result<(), ChannelError> {
        Ok(self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::DemandPoll(id)))?)
    }

    /// Removes a periodic poll.
    pub fn remove_poll(&self, id: PollId) -> Result<(), ChannelError> {
        Ok(self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::RemovePoll(id)))?)
    }

    /// Removes the association from its channel; what it had pending fails with `Shutdown`.
    /// Blocks until done: from async code or a reactor callback use [`Master::remove_async`].
    pub fn remove(self) -> Result<bool, ChannelError> {
        self.remove_async().wait()?
    }

    /// [`Master::remove`] without blocking; true when the association was still there.
    /// Dropping the completion does not stop the removal.
    pub fn remove_async(self) -> Completion<Result<bool, ChannelError>> {
        remove_session(&self.handle, self.id)
    }

    /// The association's counters.
    pub fn stats(&self) -> Completion<MasterStats> {
        let (promise, done) = completion();
        let _ = self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::Stats(promise)));
        done
    }
}
