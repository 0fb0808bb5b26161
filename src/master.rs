//! The handle on one master association: requests posted to its channel's executor, answered
//! through completions.

use crate::channel::{ChannelMsg, MasterOp};
use crate::error::ChannelError;
use rdnp3_reactor::{completion, Completion, Handle, PostError};
use rdnp3_stack::master::{
    Command, CommandMode, CommandResult, MasterStats, PollId, ReadRequest, Reply, RestartKind,
    TaskError, TimeSyncMode,
};
use std::fmt;
use std::time::Duration;

/// A handle on one master association; requests return completions that can be waited on
/// from a plain thread or awaited. Cheap to clone.
#[derive(Clone)]
pub struct Master {
    handle: Handle<ChannelMsg>,
    id: u32,
}

impl fmt::Debug for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Master").field("id", &self.id).finish()
    }
}

impl Master {
    pub(crate) fn new(handle: Handle<ChannelMsg>, id: u32) -> Self {
        Master { handle, id }
    }

    fn request<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> MasterOp,
    ) -> Completion<Result<T, TaskError>> {
        let (promise, done) = completion();
        let reply: Reply<T> = Box::new(move |r| promise.complete(r));
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

    /// Adds a periodic poll.
    pub fn add_poll(&self, request: ReadRequest, period: Duration) -> Result<PollId, ChannelError> {
        let (promise, done) = completion();
        self.handle.post(ChannelMsg::Master(
            self.id,
            MasterOp::AddPoll(request, period, promise),
        ))?;
        done.wait().map_err(|_| ChannelError::Closed)
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
    /// Blocks until done: do not call it from a reactor callback.
    pub fn remove(self) -> Result<bool, ChannelError> {
        let (promise, done) = completion();
        self.handle
            .post(ChannelMsg::RemoveSession(self.id, promise))?;
        done.wait().map_err(|_| ChannelError::Closed)
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
