//! The counters an association keeps, published to its handle after every task.

use crate::objects::Timestamp;
use std::time::Duration;

/// Counters of one association.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MasterStats {
    /// Requests sent (confirms excluded).
    pub requests: u64,
    /// Solicited response fragments accepted.
    pub responses: u64,
    /// Unsolicited responses accepted.
    pub unsolicited: u64,
    /// Unsolicited responses ignored unconfirmed for coming faster than
    /// `MasterConfig::max_unsolicited_per_second` (the outstation repeats them).
    pub unsolicited_dropped: u64,
    /// Confirms sent.
    pub confirms: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests that failed otherwise (rejected, bad response, link down).
    pub failures: u64,
    /// Fragments ignored: wrong source, unexpected SEQ or function, malformed.
    pub ignored: u64,
    /// Measurements delivered to the read handler.
    pub measurements: u64,
    /// Timed events not delivered again because an earlier response fragment delivered them
    /// already (the outstation repeats events whose CONFIRM it missed; see
    /// `MasterConfig::suppress_repeated_events`). Untimed events are never counted here.
    pub repeated_events: u64,
    /// Object headers the master could not parse (unknown group/variation or malformed); the
    /// fragments that carried them were not confirmed.
    pub unsupported: u64,
    /// Completed polls (periodic, automatic and user reads).
    pub polls: u64,
    /// User requests skipped unsent because their requester dropped the completion.
    pub canceled: u64,
    /// Wall-clock time (the `Now::wall` of the step) of the last task the outstation
    /// answered; wall clock so that it can be shown and compared across threads and restarts.
    pub last_success: Option<Timestamp>,
    /// Wall-clock time of the last task whose exchange failed (timeout, rejection, bad or
    /// unsupported response).
    pub last_failure: Option<Timestamp>,
    /// Round-trip time of the last request answered: from sending it to its first response
    /// fragment, on the monotonic clock.
    pub last_rtt: Option<Duration>,
    /// Smoothed round-trip time: each sample moves it 1/8 of the way (as TCP's SRTT).
    pub rtt_average: Option<Duration>,
}
