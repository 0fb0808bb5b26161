//! The unsolicited reporting state machine (IEEE 1815-2012, clause 4). After a restart the outstation
//! sends a null unsolicited response and repeats it, each time with a new SEQ, until the
//! master confirms it; only then may event data go unsolicited, for the classes the master
//! enabled. An event response is repeated byte for byte on confirm timeout, up to the
//! configured retries; then its events wait, unreported, for the next response (next SEQ).
//!
//! The null response is sent once per restart: if the link drops before it is confirmed it
//! is sent again (next SEQ) on the next connection, otherwise not — a master that connects
//! later disables and re-enables unsolicited reporting in its start-up sequence anyway.
//! While an event response waits for its confirm, READ requests are deferred (the session
//! keeps them) and every other request is served at once, as long as the master confirms our
//! unsolicited responses: once one went unconfirmed, READs are answered at once (an event
//! response in flight is given up, its events go in the READ's response), so that a master
//! that never confirms unsolicited responses can still poll. The null response carries no
//! events: READs never wait for its confirm.

use crate::objects::Classes;
use std::time::{Duration, Instant};

/// Where unsolicited reporting stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum UnsolicitedState {
    /// Not allowed by the configuration.
    Disabled,
    /// The null response is due.
    NullPending,
    /// The null response waits for its confirm.
    NullWait { deadline: Instant },
    /// Handshake done; nothing in flight.
    Idle,
    /// An event response waits for its confirm.
    ConfirmWait {
        deadline: Instant,
        retries_left: Option<u32>,
    },
    /// A timed-out event response is to be sent again.
    Repeat { retries_left: Option<u32> },
}

/// What a confirm timeout means for the buffered events.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimeoutOutcome {
    /// Nothing for the events (the null response, or a repeat is due).
    Nothing,
    /// Give up on this response: its events go back to unreported.
    ReleaseEvents,
}

/// Unsolicited reporting: state, SEQ counter, enabled classes and the last response sent
/// (kept to repeat it byte for byte).
#[derive(Debug)]
pub(crate) struct Unsolicited {
    pub state: UnsolicitedState,
    /// SEQ of the response in flight, or of the next one.
    pub seq: u8,
    /// Classes the master enabled (none at start).
    pub enabled: Classes,
    /// The response in flight (`tx_len` bytes of it).
    pub tx: Vec<u8>,
    /// Length of the response in flight.
    pub tx_len: usize,
    /// The response in flight reported a broadcast that needs a confirm.
    pub carries_broadcast: bool,
    /// A response of ours timed out without its confirm since the master last confirmed one:
    /// READs no longer wait for a confirm that may never come.
    missed_confirm: bool,
    timeout: Duration,
    retries: Option<u32>,
}

impl Unsolicited {
    /// A state machine; `allowed` false keeps it disabled for good.
    pub fn new(allowed: bool, timeout: Duration, retries: Option<u32>) -> Self {
        Unsolicited {
            state: if allowed {
                UnsolicitedState::NullPending
            } else {
                UnsolicitedState::Disabled
            },
            seq: 0,
            enabled: Classes::NONE,
            tx: Vec::new(),
            tx_len: 0,
            carries_broadcast: false,
            missed_confirm: false,
            timeout,
            retries,
        }
    }

    /// True while a response is out and not confirmed (READs wait meanwhile).
    pub fn awaiting_confirm(&self) -> bool {
        matches!(
            self.state,
            UnsolicitedState::NullWait { .. }
                | UnsolicitedState::ConfirmWait { .. }
                | UnsolicitedState::Repeat { .. }
        )
    }

    /// When the confirm timer expires.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            UnsolicitedState::NullWait { deadline }
            | UnsolicitedState::ConfirmWait { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// The null response (SEQ `self.seq`) was sent.
    pub fn null_sent(&mut self, now: Instant) {
        self.state = UnsolicitedState::NullWait {
            deadline: now + self.timeout,
        };
    }

    /// An event response was sent (first time).
    pub fn events_sent(&mut self, now: Instant) {
        self.state = UnsolicitedState::ConfirmWait {
            deadline: now + self.timeout,
            retries_left: self.retries,
        };
    }

    /// The repeat of the response in flight was sent.
    pub fn repeat_sent(&mut self, now: Instant) {
        if let UnsolicitedState::Repeat { retries_left } = self.state {
            self.state = UnsolicitedState::ConfirmWait {
                deadline: now + self.timeout,
                retries_left,
            };
        }
    }

    fn next_seq(&mut self) {
        self.seq = (self.seq + 1) & 0x0F;
    }

    /// A CONFIRM with UNS=1 and `seq`. Returns `Some(true)` when it confirmed an event
    /// response (its events may go), `Some(false)` for the null response, `None` when it
    /// matched nothing (ignored).
    pub fn on_confirm(&mut self, seq: u8) -> Option<bool> {
        if seq != self.seq {
            return None;
        }
        let events = match self.state {
            UnsolicitedState::NullWait { .. } => false,
            UnsolicitedState::ConfirmWait { .. } | UnsolicitedState::Repeat { .. } => true,
            _ => return None,
        };
        self.next_seq();
        self.state = UnsolicitedState::Idle;
        self.missed_confirm = false;
        Some(events)
    }

    /// A READ arrived. `None`: it waits for the confirm of the event response in flight (the
    /// master confirms our responses); otherwise it is answered now, and the outcome says
    /// whether an event response in flight was given up (its events go in the READ's
    /// response instead).
    pub fn on_read(&mut self) -> Option<TimeoutOutcome> {
        match self.state {
            UnsolicitedState::ConfirmWait { .. } | UnsolicitedState::Repeat { .. } => {
                if self.missed_confirm {
                    Some(self.give_up())
                } else {
                    None
                }
            }
            // The null response carries no events: it goes on waiting meanwhile.
            _ => Some(TimeoutOutcome::Nothing),
        }
    }

    /// The confirm timer expired. `read_waiting`: a deferred READ stops further repeats.
    pub fn on_timeout(&mut self, now: Instant, read_waiting: bool) -> TimeoutOutcome {
        if self.deadline().is_some_and(|d| now >= d) {
            self.missed_confirm = true;
        }
        match self.state {
            UnsolicitedState::NullWait { deadline } if now >= deadline => {
                self.next_seq();
                self.state = UnsolicitedState::NullPending;
                TimeoutOutcome::Nothing
            }
            UnsolicitedState::ConfirmWait {
                deadline,
                retries_left,
            } if now >= deadline => match retries_left {
                Some(0) => self.give_up(),
                _ if read_waiting => self.give_up(),
                left => {
                    self.state = UnsolicitedState::Repeat {
                        retries_left: left.map(|n| n - 1),
                    };
                    TimeoutOutcome::Nothing
                }
            },
            _ => TimeoutOutcome::Nothing,
        }
    }

    fn give_up(&mut self) -> TimeoutOutcome {
        self.next_seq();
        self.state = UnsolicitedState::Idle;
        TimeoutOutcome::ReleaseEvents
    }

    /// The link closed: a null response not yet confirmed is sent again on the next
    /// connection; an event response in flight is abandoned (its events are released).
    pub fn on_link_down(&mut self) -> TimeoutOutcome {
        match self.state {
            UnsolicitedState::NullWait { .. } => {
                self.next_seq();
                self.state = UnsolicitedState::NullPending;
                TimeoutOutcome::Nothing
            }
            UnsolicitedState::ConfirmWait { .. } | UnsolicitedState::Repeat { .. } => {
                self.give_up()
            }
            _ => TimeoutOutcome::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsol(retries: Option<u32>) -> Unsolicited {
        Unsolicited::new(true, Duration::from_secs(5), retries)
    }

    #[test]
    fn an_unconfirmed_null_response_is_sent_again_with_the_next_seq() {
        let t = Instant::now();
        let mut u = unsol(None);
        u.null_sent(t);
        assert!(u.awaiting_confirm());
        assert_eq!(u.on_confirm(1), None);
        assert_eq!(
            u.on_timeout(t + Duration::from_secs(5), false),
            TimeoutOutcome::Nothing
        );
        assert_eq!((u.state, u.seq), (UnsolicitedState::NullPending, 1));
        u.null_sent(t);
        assert_eq!(u.on_confirm(1), Some(false));
        assert_eq!((u.state, u.seq), (UnsolicitedState::Idle, 2));
    }

    #[test]
    fn event_responses_are_repeated_until_the_retries_are_used_up() {
        let t = Instant::now();
        let later = t + Duration::from_secs(6);
        let mut u = unsol(Some(1));
        u.state = UnsolicitedState::Idle;
        u.events_sent(t);
        assert_eq!(u.on_timeout(later, false), TimeoutOutcome::Nothing);
        assert_eq!(
            u.state,
            UnsolicitedState::Repeat {
                retries_left: Some(0)
            }
        );
        u.repeat_sent(t);
        assert_eq!(u.on_timeout(later, false), TimeoutOutcome::ReleaseEvents);
        assert_eq!((u.state, u.seq), (UnsolicitedState::Idle, 1));
    }

    #[test]
    fn a_waiting_read_stops_the_repeats() {
        let t = Instant::now();
        let mut u = unsol(None);
        u.state = UnsolicitedState::Idle;
        u.events_sent(t);
        assert_eq!(
            u.on_timeout(t + Duration::from_secs(5), true),
            TimeoutOutcome::ReleaseEvents
        );
    }

    #[test]
    fn reads_wait_for_a_confirm_only_while_the_master_confirms() {
        let t = Instant::now();
        let mut u = unsol(None);
        u.state = UnsolicitedState::Idle;
        u.events_sent(t);
        assert_eq!(u.on_read(), None, "a master that confirms: the READ waits");
        u.on_timeout(t + Duration::from_secs(5), false);
        assert_eq!(u.on_read(), Some(TimeoutOutcome::ReleaseEvents));
        assert_eq!((u.state, u.seq), (UnsolicitedState::Idle, 1));
        u.events_sent(t);
        assert_eq!(u.on_read(), Some(TimeoutOutcome::ReleaseEvents), "still");
        u.events_sent(t);
        assert_eq!(u.on_confirm(2), Some(true));
        u.events_sent(t);
        assert_eq!(u.on_read(), None, "confirms again: READs wait again");
    }

    #[test]
    fn reads_never_wait_for_the_null_response() {
        let mut u = unsol(None);
        u.null_sent(Instant::now());
        assert_eq!(u.on_read(), Some(TimeoutOutcome::Nothing));
        assert!(u.awaiting_confirm(), "the null response still waits");
    }

    #[test]
    fn disabled_reporting_never_waits() {
        let u = Unsolicited::new(false, Duration::from_secs(5), None);
        assert_eq!(u.state, UnsolicitedState::Disabled);
        assert!(!u.awaiting_confirm());
        assert_eq!(u.deadline(), None);
    }
}
