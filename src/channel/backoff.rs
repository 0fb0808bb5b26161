//! Reconnect delays with jitter. After an outage thousands of channels fail at the same
//! moment; without jitter they would all retry in lockstep, and every outstation (or the
//! master's listener) would be hit at once on every round.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seeds each channel's generator differently, even for channels made in the same instant.
static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

/// Reconnect delays: `min` first, doubling after every failure up to `max`, each drawn at
/// random from its upper half ("equal jitter": at least half the nominal delay, at most all
/// of it).
#[derive(Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
    /// Set after a connection was dropped for unusable input: a later connection that opens
    /// does not reset the delays until it brings something useful.
    held: bool,
    /// xorshift64* state; never zero.
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        // The wall clock's nanoseconds tell processes started together apart; the counter
        // tells this process's channels apart.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        let seed = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
        Backoff {
            min,
            max,
            current: min,
            held: false,
            rng: seed | 1,
        }
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The delay before the next attempt, in the upper half of the nominal delay; the nominal
    /// delay after it is doubled (up to `max`).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let nominal = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = nominal / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let extra = match spread.checked_add(1) {
            Some(n) => self.random() % n,
            None => self.random(),
        };
        half + Duration::from_nanos(extra)
    }

    /// A connection succeeded: the next failure waits about `min` again (unless held).
    pub(crate) fn reset(&mut self) {
        if !self.held {
            self.current = self.min;
        }
    }

    /// The connection was dropped for unusable input: keep growing the delays across
    /// connections until [`Backoff::release`].
    pub(crate) fn hold(&mut self) {
        self.held = true;
    }

    /// The connection brought useful input: delays may reset again.
    pub(crate) fn release(&mut self) {
        if self.held {
            self.held = false;
            self.current = self.min;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_each_in_the_upper_half_of_its_nominal_value() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        for nominal in [100, 200, 400, 800, 800, 800] {
            let d = b.next_delay();
            let nominal = Duration::from_millis(nominal);
            assert!(d >= nominal / 2 && d <= nominal, "{d:?} for {nominal:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn channels_that_fail_together_retry_apart() {
        let delays = |_| {
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        let runs: Vec<_> = (0..100).map(delays).collect();
        let first: std::collections::HashSet<_> = runs.iter().map(|r| r[0]).collect();
        // 100 draws from half a second at nanosecond resolution: all but never distinct.
        assert!(first.len() > 90, "{} distinct first delays", first.len());
        let spread =
            runs.iter().map(|r| r[0]).max().unwrap() - runs.iter().map(|r| r[0]).min().unwrap();
        assert!(
            spread > Duration::from_millis(100),
            "first retries spread over {spread:?}"
        );
    }

    #[test]
    fn after_a_flood_close_delays_keep_growing_across_connections_until_useful_input() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(60));
        b.next_delay();
        b.hold();
        b.reset(); // the next connection opened: still held
        assert!(
            b.next_delay() >= Duration::from_millis(100),
            "200 ms nominal"
        );
        b.reset();
        assert!(
            b.next_delay() >= Duration::from_millis(200),
            "400 ms nominal"
        );
        b.release(); // a useful frame arrived
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn a_zero_minimum_retries_at_once() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::ZERO);
    }
}
