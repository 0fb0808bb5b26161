//! Recognition of events an outstation reports twice. A solicited response is never
//! retransmitted, but when the master's CONFIRM is lost the outstation keeps the events it
//! carried and reports them again in its next response, solicited or unsolicited
//! (IEEE 1815-2012, clause 4). The master cannot tell a lost confirm from a received one, so
//! it remembers a compact fingerprint of every timed event it delivered in its last response
//! fragments and suppresses an identical timed event arriving again in a later fragment.
//!
//! Limits, by construction: an event without time cannot be told from a new event with the
//! same value, so it is always delivered; and two genuinely distinct events of one point with
//! the same value, flags and time in consecutive responses are taken for one (an outstation
//! whose clock ticks slower than the point changes).

use super::measurement::{Measurement, MeasurementValue};
use std::collections::VecDeque;

/// Fingerprints remembered for each byte of the largest fragment accepted: the smallest
/// timed event (g2v3 with a one-byte index) takes 4 bytes, so this covers the timed events
/// of two full fragments, enough for a repetition spread over the next fragment.
const FINGERPRINTS_PER_FRAGMENT_BYTE: usize = 2;
/// Each fragment holds at most this many timed events.
const SMALLEST_TIMED_EVENT: usize = 4;

/// The fingerprints of the timed events delivered in the last response fragments, oldest
/// first, bounded; those of the fragment being delivered are at the back and are not
/// compared with each other.
#[derive(Debug)]
pub(crate) struct RepeatFilter {
    enabled: bool,
    capacity: usize,
    fingerprints: VecDeque<u64>,
    /// How many fingerprints at the back belong to the fragment being delivered.
    current: usize,
}

impl RepeatFilter {
    /// A filter for fragments of at most `max_rx_fragment` bytes; `enabled: false` never
    /// suppresses (nor remembers) anything. Memory grows with use, up to
    /// `max_rx_fragment / 2` fingerprints of 8 bytes.
    pub(crate) fn new(enabled: bool, max_rx_fragment: usize) -> Self {
        let per_fragment = max_rx_fragment / SMALLEST_TIMED_EVENT;
        RepeatFilter {
            enabled,
            capacity: (per_fragment * FINGERPRINTS_PER_FRAGMENT_BYTE).max(1),
            fingerprints: VecDeque::new(),
            current: 0,
        }
    }

    /// A response fragment begins: the fingerprints remembered so far are what it is
    /// compared with.
    pub(crate) fn begin_fragment(&mut self) {
        self.current = 0;
    }

    /// True when `m` is a timed event identical to one delivered in an earlier fragment
    /// (and still remembered): it must not be delivered again. Every timed event is
    /// remembered, repeated or not, so that a third report is recognised as well.
    pub(crate) fn is_repeat(&mut self, m: &Measurement<'_>) -> bool {
        if !self.enabled || !m.event {
            return false;
        }
        let Some(fingerprint) = fingerprint(m) else {
            return false;
        };
        let earlier = self.fingerprints.len() - self.current;
        let repeat = self
            .fingerprints
            .range(..earlier)
            .any(|&f| f == fingerprint);
        if self.fingerprints.len() >= self.capacity {
            self.fingerprints.pop_front();
            self.current = self.current.min(self.fingerprints.len());
        }
        self.fingerprints.push_back(fingerprint);
        self.current += 1;
        repeat
    }
}

/// FNV-1a over what identifies a timed event: point type, index, value, flags, time and
/// command status; `None` for an event without time. 64 bits: two distinct events collide
/// with a probability of about 2^-64 per comparison.
fn fingerprint(m: &Measurement<'_>) -> Option<u64> {
    let time = m.time?;
    let mut h = Fnv::default();
    h.write(&[m.kind.ordinal() as u8, m.flags]);
    h.write(&m.index.to_le_bytes());
    h.write(&time.0.to_le_bytes());
    match m.value {
        MeasurementValue::Binary(b) => h.write(&[0, u8::from(b)]),
        MeasurementValue::DoubleBit(d) => h.write(&[1, d.to_bits()]),
        MeasurementValue::Counter(c) => {
            h.write(&[2]);
            h.write(&c.to_le_bytes());
        }
        MeasurementValue::Analog(a) => {
            h.write(&[3]);
            h.write(&a.to_bits().to_le_bytes());
        }
        MeasurementValue::OctetString(bytes) => {
            h.write(&[4, bytes.len() as u8]);
            h.write(bytes);
        }
    }
    if let Some(status) = m.status {
        h.write(&[5, status.to_u8()]);
    }
    Some(h.0)
}

/// The 64-bit FNV-1a hash.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{PointType, Timestamp};

    fn event(index: u16, value: f64, time: u64) -> Measurement<'static> {
        let mut m = Measurement::new(
            PointType::AnalogInput,
            index,
            MeasurementValue::Analog(value),
        );
        m.event = true;
        m.time = Some(Timestamp(time));
        m
    }

    #[test]
    fn an_event_seen_in_an_earlier_fragment_is_a_repeat_and_a_new_time_is_not() {
        let mut f = RepeatFilter::new(true, 2048);
        f.begin_fragment();
        assert!(!f.is_repeat(&event(1, 2.0, 100)));
        f.begin_fragment();
        assert!(f.is_repeat(&event(1, 2.0, 100)));
        assert!(!f.is_repeat(&event(1, 2.0, 101)));
        assert!(!f.is_repeat(&event(2, 2.0, 100)));
        assert!(!f.is_repeat(&event(1, 2.5, 100)));
        // A third report of the same event.
        f.begin_fragment();
        assert!(f.is_repeat(&event(1, 2.0, 100)));
    }

    #[test]
    fn events_of_one_fragment_are_not_compared_with_each_other() {
        let mut f = RepeatFilter::new(true, 2048);
        f.begin_fragment();
        assert!(!f.is_repeat(&event(1, 2.0, 100)));
        assert!(!f.is_repeat(&event(1, 2.0, 100)));
    }

    #[test]
    fn untimed_and_static_values_and_a_disabled_filter_never_repeat() {
        let mut f = RepeatFilter::new(true, 2048);
        let mut untimed = event(1, 2.0, 0);
        untimed.time = None;
        let mut static_value = event(1, 2.0, 100);
        static_value.event = false;
        for _ in 0..2 {
            f.begin_fragment();
            assert!(!f.is_repeat(&untimed));
            assert!(!f.is_repeat(&static_value));
        }
        let mut off = RepeatFilter::new(false, 2048);
        for _ in 0..2 {
            off.begin_fragment();
            assert!(!off.is_repeat(&event(1, 2.0, 100)));
        }
    }

    #[test]
    fn the_oldest_fingerprints_are_forgotten_beyond_the_bound() {
        // 8-byte fragments: 2 x 2 fingerprints.
        let mut f = RepeatFilter::new(true, 8);
        f.begin_fragment();
        for t in 0..5 {
            assert!(!f.is_repeat(&event(1, 2.0, t)));
        }
        assert_eq!(f.fingerprints.len(), 4);
        f.begin_fragment();
        assert!(!f.is_repeat(&event(1, 2.0, 0)));
        assert!(f.is_repeat(&event(1, 2.0, 4)));
    }
}
