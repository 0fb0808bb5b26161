//! A count per one-second window: the one mechanism behind the limits that bound what a peer
//! may cost per second — unsolicited responses a master takes, unusable input a connection
//! may bring, connections a listener accepts. The caller passes the time in; nothing here
//! reads a clock.

use std::time::{Duration, Instant};

/// What was counted in the current one-second window.
#[derive(Clone, Debug, Default)]
pub struct PerSecond {
    window_start: Option<Instant>,
    count: u64,
}

impl PerSecond {
    /// Starts a new window at `now` when the current one is a second old (or none began).
    fn roll(&mut self, now: Instant) {
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.count = 0;
            }
        }
    }

    /// Takes one more at `now` if the window holds fewer than `limit` (`None`: no limit);
    /// false, and nothing counted, otherwise.
    pub fn admit(&mut self, now: Instant, limit: Option<u32>) -> bool {
        let Some(limit) = limit else { return true };
        self.roll(now);
        if self.count >= u64::from(limit) {
            return false;
        }
        self.count += 1;
        true
    }

    /// Adds `n` at `now` and returns the window's total.
    pub fn add(&mut self, now: Instant, n: u64) -> u64 {
        self.roll(now);
        self.count = self.count.saturating_add(n);
        self.count
    }

    /// Forgets the window.
    pub fn reset(&mut self) {
        *self = PerSecond::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_limit_is_admitted_per_second() {
        let mut rate = PerSecond::default();
        let t = Instant::now();
        assert_eq!((0..10).filter(|_| rate.admit(t, Some(3))).count(), 3);
        assert!(!rate.admit(t + Duration::from_millis(999), Some(3)));
        assert!(rate.admit(t + Duration::from_secs(1), Some(3)));
        assert!((0..100).all(|_| rate.admit(t, None)));
    }

    #[test]
    fn the_throttle_takes_the_limit_per_second_and_no_more() {
        let mut t = PerSecond::default();
        let start = Instant::now();
        let taken = (0..10).filter(|_| t.admit(start, Some(4))).count();
        assert_eq!(taken, 4);
        assert!(!t.admit(start + Duration::from_millis(999), Some(4)));
        assert!(t.admit(start + Duration::from_secs(1), Some(4)));
        assert!((0..1000).all(|_| t.admit(start, None)));
    }

    #[test]
    fn amounts_add_up_within_a_second_and_start_over_after_it() {
        let mut rate = PerSecond::default();
        let t = Instant::now();
        assert_eq!(rate.add(t, 600), 600);
        assert_eq!(rate.add(t + Duration::from_millis(500), 400), 1000);
        assert_eq!(rate.add(t + Duration::from_secs(1), 5), 5);
    }
}
