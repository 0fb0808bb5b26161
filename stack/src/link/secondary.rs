//! The secondary station's link state (IEEE 1815-2012, clause 9): whether the primary has reset
//! the link and which frame count bit (FCB) its next link-confirmed frame must carry. For every
//! primary frame received it decides whether the user data goes up to the transport function and
//! which reply (ACK, LINK_STATUS or none) is due, so that a repeated frame is acknowledged again
//! but never delivered twice.

use super::header::{LinkFunction, LinkHeader};

/// The reply a secondary station owes the primary for one received frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecondaryReply {
    /// ACK: the positive acknowledgement of RESET_LINK_STATES, TEST_LINK_STATES and
    /// CONFIRMED_USER_DATA.
    Ack,
    /// LINK_STATUS: the answer to REQUEST_LINK_STATUS (the keep-alive).
    LinkStatus,
}

impl SecondaryReply {
    /// The secondary link function to send, for building the reply's header.
    pub fn function(self) -> LinkFunction {
        match self {
            SecondaryReply::Ack => LinkFunction::Ack,
            SecondaryReply::LinkStatus => LinkFunction::LinkStatus,
        }
    }
}

/// What [`SecondaryLinkState::on_frame`] decided for one received frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecondaryAction {
    /// True when the frame's user data is passed up to the transport function; false for
    /// frames without user data, repeated frames and link-confirmed data before a reset.
    pub deliver: bool,
    /// The link-layer reply to send back to the frame's source, if any.
    pub reply: Option<SecondaryReply>,
}

impl SecondaryAction {
    const NOTHING: SecondaryAction = SecondaryAction {
        deliver: false,
        reply: None,
    };
}

/// Whether the primary has reset the link, and the FCB expected once it has.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
enum ResetState {
    /// No RESET_LINK_STATES since the connection opened: link-confirmed frames are ignored.
    #[default]
    NotReset,
    /// Reset: the next fresh TEST_LINK_STATES or CONFIRMED_USER_DATA carries this FCB.
    Reset { expected_fcb: bool },
}

/// The secondary link-state machine of one association: the receiving side of link-confirmed
/// data (IEEE 1815-2012, clause 9). Unconfirmed user data, the normal carrier of application
/// fragments, passes straight through; RESET_LINK_STATES, TEST_LINK_STATES and
/// CONFIRMED_USER_DATA are checked against the reset state and the expected FCB; nothing is
/// ever answered to a broadcast address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SecondaryLinkState {
    state: ResetState,
}

impl SecondaryLinkState {
    /// A link not yet reset by the primary.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new connection opened: the primary must reset the link again before link-confirmed
    /// data is accepted.
    pub fn on_open(&mut self) {
        self.state = ResetState::NotReset;
    }

    /// True once the primary has reset the link on this connection.
    pub fn is_reset(&self) -> bool {
        matches!(self.state, ResetState::Reset { .. })
    }

    /// The FCB the next fresh TEST_LINK_STATES or CONFIRMED_USER_DATA must carry; `None`
    /// before the link is reset.
    pub fn expected_fcb(&self) -> Option<bool> {
        match self.state {
            ResetState::NotReset => None,
            ResetState::Reset { expected_fcb } => Some(expected_fcb),
        }
    }

    /// Handles one valid frame addressed to this station (`broadcast` when it was sent to a
    /// broadcast address) and says whether its user data is delivered and which reply is due.
    /// Secondary frames (ACK, LINK_STATUS …) answer our own requests and change nothing here.
    pub fn on_frame(&mut self, header: &LinkHeader, broadcast: bool) -> SecondaryAction {
        let fcb = header.control.fcb;
        // Broadcasts are never answered (IEEE 1815-2012, clause 9).
        let ack = (!broadcast).then_some(SecondaryReply::Ack);
        match (header.control.function, self.state) {
            (LinkFunction::UnconfirmedUserData, _) => SecondaryAction {
                deliver: true,
                reply: None,
            },
            (LinkFunction::ConfirmedUserData, ResetState::NotReset) => SecondaryAction::NOTHING,
            (LinkFunction::ConfirmedUserData, ResetState::Reset { expected_fcb }) => {
                // A repeat (the primary missed our ACK) is acknowledged again but its data
                // was delivered already.
                let fresh = fcb == expected_fcb;
                if fresh {
                    self.state = ResetState::Reset {
                        expected_fcb: !expected_fcb,
                    };
                }
                SecondaryAction {
                    deliver: fresh,
                    reply: ack,
                }
            }
            (LinkFunction::ResetLinkStates, _) => {
                self.state = ResetState::Reset { expected_fcb: true };
                SecondaryAction {
                    deliver: false,
                    reply: ack,
                }
            }
            (LinkFunction::TestLinkStates, ResetState::Reset { expected_fcb })
                if fcb == expected_fcb && !broadcast =>
            {
                self.state = ResetState::Reset {
                    expected_fcb: !expected_fcb,
                };
                SecondaryAction {
                    deliver: false,
                    reply: ack,
                }
            }
            (LinkFunction::RequestLinkStatus, _) => SecondaryAction {
                deliver: false,
                reply: (!broadcast).then_some(SecondaryReply::LinkStatus),
            },
            _ => SecondaryAction::NOTHING,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: u16 = 1;
    const OUTSTATION: u16 = 1024;

    /// A primary frame from the master with the given FCB.
    fn frame(function: LinkFunction, fcb: bool) -> LinkHeader {
        let mut h = LinkHeader::new(true, function, OUTSTATION, MASTER);
        h.control.fcb = fcb;
        h
    }

    fn on(link: &mut SecondaryLinkState, function: LinkFunction, fcb: bool) -> SecondaryAction {
        link.on_frame(&frame(function, fcb), false)
    }

    fn acked(deliver: bool) -> SecondaryAction {
        SecondaryAction {
            deliver,
            reply: Some(SecondaryReply::Ack),
        }
    }

    fn reset() -> SecondaryLinkState {
        let mut link = SecondaryLinkState::new();
        on(&mut link, LinkFunction::ResetLinkStates, false);
        link
    }

    #[test]
    fn reset_link_states_is_acked_and_then_expects_fcb_set() {
        let mut link = SecondaryLinkState::new();
        assert!(!link.is_reset());
        assert_eq!(link.expected_fcb(), None);
        assert_eq!(
            on(&mut link, LinkFunction::ResetLinkStates, false),
            acked(false)
        );
        assert!(link.is_reset());
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn a_second_reset_sets_the_expected_fcb_back_to_true() {
        let mut link = reset();
        on(&mut link, LinkFunction::ConfirmedUserData, true);
        assert_eq!(link.expected_fcb(), Some(false));
        assert_eq!(
            on(&mut link, LinkFunction::ResetLinkStates, true),
            acked(false)
        );
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn test_link_states_before_a_reset_is_ignored() {
        let mut link = SecondaryLinkState::new();
        assert_eq!(
            on(&mut link, LinkFunction::TestLinkStates, true),
            SecondaryAction::NOTHING
        );
        assert!(!link.is_reset());
    }

    #[test]
    fn test_link_states_with_the_expected_fcb_is_acked_and_toggles_it() {
        let mut link = reset();
        assert_eq!(
            on(&mut link, LinkFunction::TestLinkStates, true),
            acked(false)
        );
        assert_eq!(link.expected_fcb(), Some(false));
        assert_eq!(
            on(&mut link, LinkFunction::TestLinkStates, false),
            acked(false)
        );
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn test_link_states_with_the_wrong_fcb_is_not_acked() {
        let mut link = reset();
        assert_eq!(
            on(&mut link, LinkFunction::TestLinkStates, false),
            SecondaryAction::NOTHING
        );
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn confirmed_user_data_before_a_reset_is_neither_delivered_nor_acked() {
        let mut link = SecondaryLinkState::new();
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, true),
            SecondaryAction::NOTHING
        );
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, false),
            SecondaryAction::NOTHING
        );
    }

    #[test]
    fn fresh_confirmed_user_data_is_delivered_and_a_repeat_is_acked_but_not_delivered_again() {
        let mut link = reset();
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, true),
            acked(true)
        );
        assert_eq!(link.expected_fcb(), Some(false));
        // Our ACK was lost: the primary repeats the frame with the same FCB.
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, true),
            acked(false)
        );
        assert_eq!(link.expected_fcb(), Some(false));
        // The next frame toggles the FCB and is fresh again.
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, false),
            acked(true)
        );
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn unconfirmed_user_data_is_always_delivered_without_reply() {
        let delivered = SecondaryAction {
            deliver: true,
            reply: None,
        };
        let mut link = SecondaryLinkState::new();
        assert_eq!(
            on(&mut link, LinkFunction::UnconfirmedUserData, false),
            delivered
        );
        let mut link = reset();
        assert_eq!(
            on(&mut link, LinkFunction::UnconfirmedUserData, true),
            delivered
        );
        assert_eq!(link.expected_fcb(), Some(true), "FCB is not checked");
    }

    #[test]
    fn request_link_status_is_answered_with_link_status_whatever_the_reset_state() {
        let status = SecondaryAction {
            deliver: false,
            reply: Some(SecondaryReply::LinkStatus),
        };
        let mut link = SecondaryLinkState::new();
        assert_eq!(
            on(&mut link, LinkFunction::RequestLinkStatus, false),
            status
        );
        assert!(!link.is_reset());
        let mut link = reset();
        assert_eq!(
            on(&mut link, LinkFunction::RequestLinkStatus, false),
            status
        );
        assert_eq!(link.expected_fcb(), Some(true));
        assert_eq!(
            SecondaryReply::LinkStatus.function(),
            LinkFunction::LinkStatus
        );
        assert_eq!(SecondaryReply::Ack.function(), LinkFunction::Ack);
    }

    #[test]
    fn broadcasts_get_no_reply() {
        let mut link = SecondaryLinkState::new();
        let broadcast = |link: &mut SecondaryLinkState, function, fcb| {
            link.on_frame(&frame(function, fcb), true)
        };
        // A broadcast reset still resets the link, silently.
        let r = broadcast(&mut link, LinkFunction::ResetLinkStates, false);
        assert_eq!(r, SecondaryAction::NOTHING);
        assert_eq!(link.expected_fcb(), Some(true));
        // A broadcast test is neither answered nor counted.
        let r = broadcast(&mut link, LinkFunction::TestLinkStates, true);
        assert_eq!(r, SecondaryAction::NOTHING);
        assert_eq!(link.expected_fcb(), Some(true));
        // Broadcast confirmed data is delivered once, without an ACK.
        let r = broadcast(&mut link, LinkFunction::ConfirmedUserData, true);
        assert_eq!(
            r,
            SecondaryAction {
                deliver: true,
                reply: None
            }
        );
        let r = broadcast(&mut link, LinkFunction::ConfirmedUserData, true);
        assert_eq!(r, SecondaryAction::NOTHING);
        let r = broadcast(&mut link, LinkFunction::RequestLinkStatus, false);
        assert_eq!(r, SecondaryAction::NOTHING);
    }

    #[test]
    fn secondary_frames_change_nothing() {
        let mut link = reset();
        for function in [
            LinkFunction::Ack,
            LinkFunction::Nack,
            LinkFunction::LinkStatus,
        ] {
            let h = LinkHeader::new(true, function, OUTSTATION, MASTER);
            assert_eq!(link.on_frame(&h, false), SecondaryAction::NOTHING);
        }
        assert_eq!(link.expected_fcb(), Some(true));
    }

    #[test]
    fn a_new_connection_forgets_the_reset() {
        let mut link = reset();
        link.on_open();
        assert!(!link.is_reset());
        assert_eq!(
            on(&mut link, LinkFunction::ConfirmedUserData, true),
            SecondaryAction::NOTHING
        );
    }
}
