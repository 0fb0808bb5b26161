//! An accept rate limit for listening sockets: at most so many connections taken per second,
//! the rest closed at once. A flood of connections (unauthenticated TLS peers above all, each
//! of which would cost a handshake) then costs an accept and a close each, and the channels of
//! the executor keep their time.

use std::time::{Duration, Instant};

/// Counts accepted connections per one-second window.
#[derive(Debug, Default)]
pub(crate) struct AcceptRate {
    window_start: Option<Instant>,
    taken: u32,
}

impl AcceptRate {
    /// Whether one more connection may be taken at `now` under `limit` per second (`None`:
    /// always).
    pub(crate) fn admit(&mut self, now: Instant, limit: Option<u32>) -> bool {
        let Some(limit) = limit else { return true };
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.taken = 0;
            }
        }
        if self.taken >= limit {
            return false;
        }
        self.taken += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_limit_is_taken_per_second() {
        let mut rate = AcceptRate::default();
        let t = Instant::now();
        assert_eq!((0..10).filter(|_| rate.admit(t, Some(3))).count(), 3);
        assert!(!rate.admit(t + Duration::from_millis(999), Some(3)));
        assert!(rate.admit(t + Duration::from_secs(1), Some(3)));
        assert!((0..100).all(|_| rate.admit(t, None)));
    }
}
