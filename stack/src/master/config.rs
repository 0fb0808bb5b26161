//! Master association settings.

use super::functions::ClassAssignment;
use super::request::TimeSyncMode;
use crate::objects::Classes;
use std::time::Duration;

/// How a master association behaves; `Default` gives the usual DNP3 defaults, and the
/// `with_*` setters change them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct MasterConfig {
    /// The master's own link address.
    pub local_address: u16,
    /// The outstation's link address.
    pub outstation_address: u16,
    /// How long to wait for each response fragment.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub response_timeout: Duration,
    /// Largest fragment the master sends.
    pub max_tx_fragment: usize,
    /// Largest fragment the master accepts.
    pub max_rx_fragment: usize,
    /// Send DISABLE_UNSOLICITED for classes 1–3 first on every new connection.
    pub disable_unsolicited_at_startup: bool,
    /// Run an integrity poll on every new connection and after an outstation restart.
    pub startup_integrity: bool,
    /// Points to move between event classes with ASSIGN_CLASS on every new connection and
    /// after an outstation restart, after DISABLE_UNSOLICITED and before the integrity poll
    /// (empty: none).
    pub startup_assign_class: Vec<ClassAssignment>,
    /// Classes to ENABLE_UNSOLICITED after the startup integrity poll (empty: leave disabled).
    pub unsolicited_classes: Classes,
    /// Event classes read (all of them, in one READ) whenever a response or unsolicited
    /// response reports data available in one of them (IIN1.1–1.3); empty (the default):
    /// never.
    pub event_scan: Classes,
    /// Time synchronisation to run when the outstation sets NEED_TIME (`None`: never).
    pub time_sync: Option<TimeSyncMode>,
    /// Run an integrity poll when the outstation reports EVENT_BUFFER_OVERFLOW.
    pub integrity_on_overflow: bool,
    /// First retry delay of an automatic task that timed out; doubles up to `task_retry_max`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub task_retry_min: Duration,
    /// Longest retry delay of automatic tasks.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub task_retry_max: Duration,
    /// Most user requests queued at once; more are refused with `QueueFull`.
    pub max_queued_requests: usize,
    /// Consecutive failed tasks (timeouts, rejections, bad responses) after which the
    /// association is reported offline although the link is up (at least 1).
    pub offline_after_failures: u32,
    /// Spread the first run of each periodic poll — after it is added and after every new
    /// connection — over its period, at a phase fixed per association (see
    /// [`MasterSession::set_poll_seed`](crate::master::MasterSession::set_poll_seed)), so that associations added or
    /// reconnected together do not poll in lockstep (default true). False: the first run
    /// comes one full period later, for every association alike.
    pub poll_spread: bool,
    /// Most unsolicited responses with new data accepted per second (`None`: no limit). An
    /// outstation that sends more is throttled: the excess is ignored without a CONFIRM and
    /// counted in `MasterStats::unsolicited_dropped`; the outstation keeps those events and
    /// repeats them, so nothing is lost and a flood costs the master little (default 100).
    pub max_unsolicited_per_second: Option<u32>,
    /// Recognise timed events the outstation reports again because our CONFIRM was lost
    /// (IEEE 1815-2012, clause 4: it keeps unconfirmed events and sends them in its next
    /// response) and do not deliver them twice; each is counted in
    /// `MasterStats::repeated_events` (default true). The master remembers a fingerprint
    /// (point type, index, value, flags, time) of each timed event of its last response
    /// fragments, at most `max_rx_fragment / 2` of them (8 bytes each), also across
    /// reconnections. Events without time cannot be recognised and are always delivered;
    /// two distinct events of one point with the same value, flags and time in consecutive
    /// responses are taken for one.
    pub suppress_repeated_events: bool,
}

crate::setters!(MasterConfig {
    local_address: u16 => with_local_address,
    outstation_address: u16 => with_outstation_address,
    response_timeout: Duration => with_response_timeout,
    max_tx_fragment: usize => with_max_tx_fragment,
    max_rx_fragment: usize => with_max_rx_fragment,
    disable_unsolicited_at_startup: bool => with_disable_unsolicited_at_startup,
    startup_integrity: bool => with_startup_integrity,
    startup_assign_class: Vec<ClassAssignment> => with_startup_assign_class,
    unsolicited_classes: Classes => with_unsolicited_classes,
    event_scan: Classes => with_event_scan,
    time_sync: Option<TimeSyncMode> => with_time_sync,
    integrity_on_overflow: bool => with_integrity_on_overflow,
    task_retry_min: Duration => with_task_retry_min,
    task_retry_max: Duration => with_task_retry_max,
    max_queued_requests: usize => with_max_queued_requests,
    offline_after_failures: u32 => with_offline_after_failures,
    poll_spread: bool => with_poll_spread,
    max_unsolicited_per_second: Option<u32> => with_max_unsolicited_per_second,
    suppress_repeated_events: bool => with_suppress_repeated_events,
});

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            local_address: 1,
            outstation_address: 1024,
            response_timeout: Duration::from_secs(5),
            max_tx_fragment: 2048,
            max_rx_fragment: 2048,
            disable_unsolicited_at_startup: true,
            startup_integrity: true,
            startup_assign_class: Vec::new(),
            unsolicited_classes: Classes::EVENTS,
            event_scan: Classes::NONE,
            time_sync: None,
            integrity_on_overflow: true,
            task_retry_min: Duration::from_secs(5),
            task_retry_max: Duration::from_secs(60),
            max_queued_requests: 64,
            offline_after_failures: 3,
            poll_spread: true,
            max_unsolicited_per_second: Some(100),
            suppress_repeated_events: true,
        }
    }
}
