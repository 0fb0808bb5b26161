//! Per-channel counters, updated by the code that drives the channel and readable from any
//! thread.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $field:ident: $doc:literal, )*) => {
        /// Live counters of a channel (relaxed atomics: each is exact, a snapshot of several
        /// may straddle an update).
        #[derive(Debug, Default)]
        pub struct ChannelCounters {
            $( #[doc = $doc] pub $field: AtomicU64, )*
        }

        /// A snapshot of a channel's counters.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct ChannelStats {
            $( #[doc = $doc] pub $field: u64, )*
        }

        impl ChannelCounters {
            /// Reads every counter.
            pub fn snapshot(&self) -> ChannelStats {
                ChannelStats { $( $field: self.$field.load(Ordering::Relaxed), )* }
            }
        }
    };
}

counters! {
    bytes_rx: "Bytes received.",
    bytes_tx: "Bytes sent.",
    frames_rx: "Valid link frames received.",
    frames_tx: "Link frames sent.",
    crc_errors: "Frames rejected for a header or block CRC error.",
    link_errors: "Link-layer errors of every kind, CRC errors included.",
    transport_errors: "Transport segments dropped.",
    dropped_frames: "Valid frames dropped: unknown address, wrong direction, unexpected function.",
    fragments_rx: "Application fragments received.",
    fragments_tx: "Application fragments sent.",
    connects: "Connections opened.",
    reconnects: "Connection attempts after the first (retries).",
    keep_alive_failures: "Keep-alive requests left unanswered.",
    tls_errors: "TLS handshakes or connections that failed (each closed its connection).",
    tls_resumed: "TLS handshakes that resumed an earlier session (no certificate exchange).",
    tls_deferred: "TLS handshake steps deferred to a later turn of the executor, its per-turn handshake budget spent (a flood of handshakes waits; established channels go on).",
    flood_closes: "Connections closed for bringing more unusable input than the channel allows.",
    rate_refused: "Servers: connections closed at once for arriving faster than the accept rate limit.",
}

impl ChannelCounters {
    /// Adds `n` to one counter (relaxed: counters order nothing).
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
