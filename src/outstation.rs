//! The handle on one outstation: updates and requests posted to its channel's executor.

use crate::channel::{ChannelMsg, OutstationOp};
use crate::error::ChannelError;
use rdnp3_reactor::{completion, Completion, Handle};
use rdnp3_stack::objects::CommandStatus;
use rdnp3_stack::outstation::{ControlToken, OutstationStats, Update};
use std::fmt;

/// A handle on one outstation: updates from any thread, applied atomically per call. Cheap
/// to clone.
#[derive(Clone)]
pub struct Outstation {
    handle: Handle<ChannelMsg>,
    id: u32,
}

impl fmt::Debug for Outstation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outstation").field("id", &self.id).finish()
    }
}

impl Outstation {
    pub(crate) fn new(handle: Handle<ChannelMsg>, id: u32) -> Self {
        Outstation { handle, id }
    }

    /// Applies `updates` as one transaction: no response is built between two of them.
    /// Fails with `Busy` when the channel's mailbox is full (the updates are not applied).
    pub fn update(&self, updates: Vec<Update>) -> Result<(), ChannelError> {
        Ok(self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::Update(updates),
        ))?)
    }

    /// Sets or clears IIN1.4 NEED_TIME in the outstation's responses, e.g. when the
    /// application knows its clock drifted (or was set by other means than the master).
    /// Fails with `Busy` when the channel's mailbox is full.
    pub fn set_need_time(&self, need: bool) -> Result<(), ChannelError> {
        Ok(self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::SetNeedTime(need),
        ))?)
    }

    /// Sets IIN1.7 DEVICE_RESTART again, e.g. after the application restarted, so the
    /// master clears it and re-reads the outstation's data. Fails with `Busy` when the
    /// channel's mailbox is full.
    pub fn set_restart(&self) -> Result<(), ChannelError> {
        Ok(self
            .handle
            .post(ChannelMsg::Outstation(self.id, OutstationOp::SetRestart))?)
    }

    /// Completes a control the `ControlHandler` deferred with `DatabaseHandle::defer`: its
    /// status goes into the held response, sent once every deferred control of the request
    /// is completed. Call it from any thread (e.g. the one that drove the hardware). A token
    /// no longer open (expired, or its request abandoned) is ignored. Fails with `Busy`
    /// when the channel's mailbox is full.
    pub fn complete_control(
        &self,
        token: ControlToken,
        status: CommandStatus,
    ) -> Result<(), ChannelError> {
        Ok(self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::CompleteControl(token, status),
        ))?)
    }

    /// The outstation's counters.
    pub fn stats(&self) -> Completion<OutstationStats> {
        let (promise, done) = completion();
        let _ = self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::Stats(promise),
        ));
        done
    }

    /// Removes the outstation from its channel. Blocks: from async code or a reactor callback
    /// use [`Outstation::remove_async`].
    pub fn remove(self) -> Result<bool, ChannelError> {
        self.remove_async().wait()?
    }

    /// [`Outstation::remove`] without blocking; true when the outstation was still there.
    /// Dropping the completion does not stop the removal.
    pub fn remove_async(self) -> Completion<Result<bool, ChannelError>> {
        crate::channel::remove_session(&self.handle, self.id)
    }
}
