//! Controls answered later: a [`ControlHandler`](super::ControlHandler) that cannot tell the
//! outcome of an operate at once (it drives hardware, or hands the work to another thread)
//! calls [`DatabaseHandle::defer`](super::DatabaseHandle::defer) and gets a
//! [`ControlToken`]. The session holds the response, without blocking anything, until every
//! deferred control of the request is completed through
//! [`OutstationSession::complete_control`](super::OutstationSession::complete_control), or
//! answers TIMEOUT for those still open when `async_control_timeout` runs out.

use super::point::PointValue;
use crate::objects::{CommandStatus, PointType, Variation};
use std::time::Instant;

/// Names one deferred control until the application completes it. Tokens are never reused
/// by a session, so completing a control whose response was abandoned (the master sent
/// another request, or the link went down) is recognised and ignored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ControlToken(u64);

/// The deferred controls of the request being executed or waited for.
#[derive(Debug, Default)]
pub(crate) struct Deferrals {
    next: u64,
    /// Where the status of the control being executed goes in the response, when that
    /// control may be deferred.
    offer: Option<usize>,
    /// Open controls.
    open: Vec<OpenControl>,
}

/// A deferred control not yet completed.
#[derive(Copy, Clone, Debug)]
struct OpenControl {
    token: ControlToken,
    /// Offset of its status byte in the response's echo.
    offset: usize,
    /// Its command event, created once the status is known.
    event: Option<CommandEvent>,
}

/// The command event (g13, g43) of an operate, without its status.
#[derive(Copy, Clone, Debug)]
pub(crate) struct CommandEvent {
    /// Binary or analog output status.
    pub ty: PointType,
    /// The output.
    pub index: u16,
    /// The event variation.
    pub variation: Variation,
    /// The commanded value.
    pub value: PointValue,
}

impl Deferrals {
    /// The control about to be executed may be deferred; its status is at `offset`.
    pub fn offer(&mut self, offset: Option<usize>) {
        self.offer = offset;
    }

    /// True while the control being executed may still be deferred (it was not).
    pub fn offered(&self) -> bool {
        self.offer.is_some()
    }

    /// Defers the offered control: its token, or `None` when it cannot be deferred.
    pub fn defer(&mut self) -> Option<ControlToken> {
        let offset = self.offer.take()?;
        let token = ControlToken(self.next);
        self.next += 1;
        self.open.push(OpenControl {
            token,
            offset,
            event: None,
        });
        Some(token)
    }

    /// Attaches the command event of the control just deferred.
    pub fn attach(&mut self, event: CommandEvent) {
        if let Some(last) = self.open.last_mut() {
            last.event = Some(event);
        }
    }

    /// True when a control of the last request was deferred and is still open.
    pub fn any_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Closes `token`: the offset of its status byte and its command event, `None` when it
    /// is not open.
    pub fn close(&mut self, token: ControlToken) -> Option<(usize, Option<CommandEvent>)> {
        let at = self.open.iter().position(|c| c.token == token)?;
        let c = self.open.swap_remove(at);
        Some((c.offset, c.event))
    }

    /// Closes one open control, any: as [`Deferrals::close`].
    pub fn close_any(&mut self) -> Option<(usize, Option<CommandEvent>)> {
        self.open.pop().map(|c| (c.offset, c.event))
    }

    /// Closes every open control.
    pub fn clear(&mut self) {
        self.offer = None;
        self.open.clear();
    }
}

/// A control response held until its deferred controls complete.
#[derive(Copy, Clone, Debug)]
pub(crate) struct HeldResponse {
    /// The request's SEQ.
    pub seq: u8,
    /// Length of the response in the transmit buffer.
    pub len: usize,
    /// IIN bits of the controls executed so far.
    pub iin: crate::app::Iin,
    /// When the open controls are answered TIMEOUT.
    pub deadline: Instant,
}

/// The status written for controls still open at the deadline.
pub(crate) const EXPIRED: CommandStatus = CommandStatus::Timeout;
