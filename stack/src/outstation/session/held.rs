//! Control responses held for controls answered later (see the `deferred` module): completed
//! one by one, expired at the deadline, or dropped when the exchange is abandoned.

use super::OutstationSession;
use crate::app::{AppControl, Iin};
use crate::objects::CommandStatus;
use crate::outstation::deferred::{CommandEvent, ControlToken, HeldResponse, EXPIRED};
use crate::session::Now;

impl OutstationSession {
    /// Completes a control deferred with [`DatabaseHandle::defer`](crate::outstation::DatabaseHandle::defer):
    /// its status goes into the held response, which is sent once no control of the request
    /// is open. False when the token is not open (already completed, expired, or its
    /// request was abandoned because the master sent another one or the link went down).
    pub fn complete_control(
        &mut self,
        now: &Now,
        token: ControlToken,
        status: CommandStatus,
    ) -> bool {
        if self.held.is_none() {
            return false;
        }
        let Some((offset, event)) = self.db.deferrals.close(token) else {
            return false;
        };
        tracing::debug!(?token, status = status.name(), "deferred control completed");
        self.write_held_status(now, offset, event, status);
        if !self.db.deferrals.any_open() {
            self.release_held(now);
        }
        true
    }

    /// Holds the control response of `len` bytes in the transmit buffer until its deferred
    /// controls complete.
    pub(super) fn hold(&mut self, now: &Now, seq: u8, len: usize, iin: Iin) {
        let deadline = now.instant + self.config.async_control_timeout;
        self.held = Some(HeldResponse {
            seq,
            len,
            iin,
            deadline,
        });
    }

    /// Answers TIMEOUT for the controls still open when the deadline has passed.
    pub(super) fn expire_held(&mut self, now: &Now) {
        let Some(held) = self.held.filter(|h| now.instant >= h.deadline) else {
            return;
        };
        tracing::debug!(seq = held.seq, "deferred controls not completed in time");
        while let Some((offset, event)) = self.db.deferrals.close_any() {
            self.write_held_status(now, offset, event, EXPIRED);
        }
        self.release_held(now);
    }

    /// Forgets a held response (the master moved on or the link went down).
    pub(super) fn drop_held(&mut self) {
        if self.held.take().is_some() {
            tracing::debug!("held control response abandoned");
        }
        self.db.deferrals.clear();
    }

    /// Writes a completed control's status into the held response and buffers its command
    /// event, if any.
    fn write_held_status(
        &mut self,
        now: &Now,
        offset: usize,
        event: Option<CommandEvent>,
        status: CommandStatus,
    ) {
        if let Some(event) = event {
            self.db.command_event(now, event, status.to_u8());
        }
        // The echo starts after the 4-byte response header.
        if let Some(b) = self.tx.get_mut(4 + offset) {
            *b = status.to_u8();
        }
        if status == CommandStatus::NotSupported {
            if let Some(h) = &mut self.held {
                h.iin |= Iin::PARAMETER_ERROR;
            }
        }
    }

    fn release_held(&mut self, now: &Now) {
        if let Some(h) = self.held.take() {
            let c = AppControl::single(h.seq);
            self.finish_response(now, h.len, c, h.iin, false, None);
        }
    }
}
