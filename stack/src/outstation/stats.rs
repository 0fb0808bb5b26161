//! Counters of what an outstation session did, for monitoring and tests.

/// Counters since the session was created.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutstationStats {
    /// Requests received (broadcasts included, confirms excluded).
    pub requests: u64,
    /// Solicited response fragments handed to the channel.
    pub responses: u64,
    /// Unsolicited response fragments handed to the channel (repeats included).
    pub unsolicited: u64,
    /// CONFIRMs received.
    pub confirms: u64,
    /// Solicited and unsolicited confirm timeouts.
    pub confirm_timeouts: u64,
    /// Fragments refused as malformed (bad header or control bits, unknown function).
    pub malformed_requests: u64,
    /// Fragments ignored: from another source, or responses sent to an outstation.
    pub ignored_fragments: u64,
    /// Requests recognised as repeats of the previous one.
    pub duplicate_requests: u64,
    /// Broadcast requests received.
    pub broadcasts: u64,
    /// Events created by updates.
    pub events_created: u64,
    /// Events dropped because a buffer was full.
    pub events_dropped: u64,
    /// Updates rejected (no such point).
    pub rejected_updates: u64,
}
