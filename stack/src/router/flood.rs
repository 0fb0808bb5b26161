//! How much unusable input a connection may bring before the channel gives up on it: bytes
//! that were not a valid frame (garbage, frames with CRC or format errors) and valid frames
//! addressed to no session. A peer that floods such input would otherwise cost CPU for as
//! long as it keeps sending; past the limit the router reports the connection
//! [`Router::flooded`](super::Router::flooded) and the channel closes it and backs off.

use crate::rate::PerSecond;
use std::time::Instant;

/// Counts unusable bytes per one-second window.
#[derive(Debug, Default)]
pub(crate) struct FloodGuard {
    /// Unusable bytes allowed per second (`None`: no limit).
    limit: Option<u64>,
    unusable: PerSecond,
    flooded: bool,
    /// A valid frame reached a session since the connection opened.
    useful: bool,
}

impl FloodGuard {
    pub(crate) fn set_limit(&mut self, bytes_per_second: Option<u64>) {
        self.limit = bytes_per_second;
    }

    /// A new connection: nothing counted yet.
    pub(crate) fn reset(&mut self) {
        self.unusable.reset();
        self.flooded = false;
        self.useful = false;
    }

    /// `n` unusable bytes arrived at `now`.
    pub(crate) fn unusable(&mut self, now: Instant, n: u64) {
        let Some(limit) = self.limit else { return };
        if n == 0 {
            return;
        }
        if self.unusable.add(now, n) > limit {
            self.flooded = true;
        }
    }

    /// A valid frame reached a session.
    pub(crate) fn useful(&mut self) {
        self.useful = true;
    }

    pub(crate) fn is_flooded(&self) -> bool {
        self.flooded
    }

    pub(crate) fn had_useful_input(&self) -> bool {
        self.useful
    }
}

/// Bytes a link frame with `user_data` bytes of user data occupies on the wire: the 10-byte
/// header block and 16-byte data blocks, each with its 2-byte CRC (IEEE 1815-2012, clause 9).
pub(crate) fn wire_len(user_data: usize) -> u64 {
    (10 + user_data + 2 * user_data.div_ceil(16)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn unusable_bytes_past_the_limit_within_a_second_flood_the_connection() {
        let mut guard = FloodGuard::default();
        guard.set_limit(Some(1000));
        let t = Instant::now();
        guard.unusable(t, 600);
        guard.unusable(t + Duration::from_millis(500), 400);
        assert!(!guard.is_flooded(), "exactly the limit is allowed");
        guard.unusable(t + Duration::from_millis(900), 1);
        assert!(guard.is_flooded());
        guard.reset();
        assert!(!guard.is_flooded());
    }

    #[test]
    fn a_slow_trickle_of_noise_never_floods() {
        let mut guard = FloodGuard::default();
        guard.set_limit(Some(1000));
        let t = Instant::now();
        for second in 0..100 {
            guard.unusable(t + Duration::from_secs(second), 900);
        }
        assert!(!guard.is_flooded());
    }

    #[test]
    fn without_a_limit_nothing_floods() {
        let mut guard = FloodGuard::default();
        guard.unusable(Instant::now(), u64::MAX);
        assert!(!guard.is_flooded());
    }

    #[test]
    fn wire_lengths_count_every_block_crc() {
        assert_eq!(wire_len(0), 10);
        assert_eq!(wire_len(1), 13);
        assert_eq!(wire_len(16), 28);
        assert_eq!(wire_len(250), 292);
    }
}
