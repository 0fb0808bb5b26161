//! The event check: outstation i numbers its analog events 0, 1, 2, … (its own sequence; the
//! farm's `EventPacer` makes them), and the masters check per association that the values
//! arrive in order, with no gap and no repeat. With `--state FILE` the check outlives the
//! master process: a graceful stop writes the next value each association expects, and the
//! next master process starts from there, so events made while no master was connected must
//! all arrive after it is back. An outstation that restarts (DEVICE_RESTART rises, IIN1.7)
//! numbers its events from 0 again, and its check starts again there.

use rdnp3::stack::master::{
    AssociationListener, AssociationState, Measurement, MeasurementValue, ReadHandler,
    ResponseInfo, TaskError,
};
use rdnp3::stack::objects::PointType;
use rdnp3::Iin;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the associations of this process have seen, readable from any thread.
pub struct Sequences {
    /// Per association: the next value expected.
    next: Vec<AtomicU64>,
    /// Per association: an EVENT_BUFFER_OVERFLOW was reported.
    overflowed: Vec<AtomicBool>,
    /// Outstation restarts seen (their numbering starts again at 0).
    restarts: AtomicU64,
    /// Events received (every kind).
    pub received: AtomicU64,
    /// Analog events in sequence, or after a gap.
    delivered: AtomicU64,
    /// Values skipped (an event lost: each value missing counts once).
    gaps: AtomicU64,
    /// Values at or below one already received.
    repeats: AtomicU64,
}

/// The check's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckTotals {
    pub delivered: u64,
    pub gaps: u64,
    pub repeats: u64,
    /// Associations whose outstation reported an event buffer overflow.
    pub overflowed: usize,
    /// Outstation restarts seen.
    pub restarts: u64,
}

impl Sequences {
    /// `n` associations expecting `start[i]` (0 where `start` has no entry).
    pub fn new(n: usize, start: &[u64]) -> Arc<Sequences> {
        Arc::new(Sequences {
            next: (0..n)
                .map(|i| AtomicU64::new(start.get(i).copied().unwrap_or(0)))
                .collect(),
            overflowed: (0..n).map(|_| AtomicBool::new(false)).collect(),
            restarts: AtomicU64::new(0),
            received: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            repeats: AtomicU64::new(0),
        })
    }

    /// The handler of association `i`.
    pub fn handler(self: &Arc<Self>, i: usize) -> Box<dyn ReadHandler> {
        Box::new(SequenceCheck {
            shared: self.clone(),
            i,
        })
    }

    /// The association listener of association `i`: it restarts the check when the
    /// outstation restarts, and passes everything else on to `inner`.
    pub fn listener(
        self: &Arc<Self>,
        i: usize,
        inner: Option<Box<dyn AssociationListener>>,
    ) -> Box<dyn AssociationListener> {
        Box::new(RestartWatch {
            shared: self.clone(),
            i,
            inner,
        })
    }

    /// The next value each association expects.
    pub fn next_values(&self) -> Vec<u64> {
        self.next
            .iter()
            .map(|v| v.load(Ordering::Relaxed))
            .collect()
    }

    /// The totals so far.
    pub fn totals(&self) -> CheckTotals {
        CheckTotals {
            delivered: self.delivered.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
            repeats: self.repeats.load(Ordering::Relaxed),
            overflowed: self
                .overflowed
                .iter()
                .filter(|o| o.load(Ordering::Relaxed))
                .count(),
            restarts: self.restarts.load(Ordering::Relaxed),
        }
    }

    /// Outstation `i` (re)started: its numbering starts again at 0. Counted when it had
    /// numbered events before (not the first start of a fresh farm).
    fn restarted(&self, i: usize) {
        if let Some(next) = self.next.get(i) {
            if next.swap(0, Ordering::Relaxed) > 0 {
                self.restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Takes one analog event value of association `i`.
    fn check(&self, i: usize, value: f64) {
        let Some(next) = self.next.get(i) else { return };
        let expected = next.load(Ordering::Relaxed);
        // Values are whole numbers below 2^24 (exact in a 32-bit float); anything else is
        // no value of the sequence and counts as a gap.
        if !(value >= 0.0 && value.fract() == 0.0 && value < 16_777_216.0) {
            self.gaps.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let value = value as u64;
        if value < expected {
            self.repeats.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.gaps.fetch_add(value - expected, Ordering::Relaxed);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        next.store(value + 1, Ordering::Relaxed);
    }
}

/// The read handler of one association: counts events and checks the analog sequence.
struct SequenceCheck {
    shared: Arc<Sequences>,
    i: usize,
}

/// Follows an association's outstation restarts (DEVICE_RESTART rising, which the master
/// reports before the events of the restarted outstation arrive).
struct RestartWatch {
    shared: Arc<Sequences>,
    i: usize,
    inner: Option<Box<dyn AssociationListener>>,
}

impl AssociationListener for RestartWatch {
    fn state_changed(&mut self, state: AssociationState) {
        if let Some(inner) = &mut self.inner {
            inner.state_changed(state);
        }
    }

    fn task_completed(&mut self, task: &'static str, result: &Result<(), TaskError>) {
        if let Some(inner) = &mut self.inner {
            inner.task_completed(task, result);
        }
    }

    fn iin_changed(&mut self, iin: Iin) {
        if let Some(inner) = &mut self.inner {
            inner.iin_changed(iin);
        }
    }

    fn restart_detected(&mut self) {
        self.shared.restarted(self.i);
        if let Some(inner) = &mut self.inner {
            inner.restart_detected();
        }
    }

    fn unsolicited(&mut self, with_data: bool) {
        if let Some(inner) = &mut self.inner {
            inner.unsolicited(with_data);
        }
    }

    fn response_received(&mut self, round_trip: Duration) {
        if let Some(inner) = &mut self.inner {
            inner.response_received(round_trip);
        }
    }
}

impl ReadHandler for SequenceCheck {
    fn begin(&mut self, info: ResponseInfo) {
        if info.iin.contains(Iin::EVENT_BUFFER_OVERFLOW) {
            if let Some(o) = self.shared.overflowed.get(self.i) {
                o.store(true, Ordering::Relaxed);
            }
        }
    }

    fn measurement(&mut self, m: &Measurement<'_>) {
        if !m.event {
            return;
        }
        self.shared.received.fetch_add(1, Ordering::Relaxed);
        if let (PointType::AnalogInput, MeasurementValue::Analog(v)) = (m.kind, m.value) {
            self.shared.check(self.i, v);
        }
    }
}

/// The first line of a state file.
const STATE_HEADER: &str =
    "# rdnp3 density event state: per outstation, its index and the next event value expected";

/// Reads a state file: `index next` per line after the header. `Ok(None)` when the file does
/// not exist (a first run: every sequence starts at 0).
pub fn load_state(path: &Path, n: usize) -> Result<Option<Vec<u64>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut next = vec![0; n];
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("{}:{}: expected `INDEX NEXT`", path.display(), number + 1);
        let mut words = line.split_whitespace();
        let (Some(i), Some(value), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        let (Ok(i), Ok(value)) = (i.parse::<usize>(), value.parse::<u64>()) else {
            return Err(bad());
        };
        match next.get_mut(i) {
            Some(slot) => *slot = value,
            None => {
                return Err(format!(
                    "{}:{}: outstation {i} is not one of the {n} outstations",
                    path.display(),
                    number + 1
                ))
            }
        }
    }
    Ok(Some(next))
}

/// Writes a state file (to a temporary file first, then renamed over `path`).
pub fn save_state(path: &Path, next: &[u64]) -> Result<(), String> {
    let mut text = String::with_capacity(16 * next.len() + 100);
    text.push_str(STATE_HEADER);
    text.push('\n');
    for (i, value) in next.iter().enumerate() {
        text.push_str(&format!("{i} {value}\n"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The check's line: `event check:        events=… gaps=… repeats=…`.
pub fn print_check(t: &CheckTotals) {
    println!(
        "event check:        events={} gaps={} repeats={}",
        t.delivered, t.gaps, t.repeats
    );
    if t.restarts > 0 {
        println!(
            "event restarts:     {} outstation restarts seen (DEVICE_RESTART): each numbering started again at 0",
            t.restarts
        );
    }
    if t.overflowed > 0 {
        println!(
            "event overflow:     {} outstations reported EVENT_BUFFER_OVERFLOW (events lost before they were read)",
            t.overflowed
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_order_are_delivered_and_skips_and_repeats_are_counted() {
        let s = Sequences::new(2, &[5]);
        for v in [5.0, 6.0, 9.0, 9.0, 7.0, 10.0] {
            s.check(0, v);
        }
        s.check(1, 0.0);
        s.check(1, 0.5);
        let t = s.totals();
        assert_eq!((t.delivered, t.gaps, t.repeats), (5, 2 + 1, 2));
        assert_eq!(s.next_values(), vec![11, 1]);
    }

    #[test]
    fn a_restarted_outstation_is_followed_from_0_again() {
        let s = Sequences::new(1, &[]);
        let mut h = s.handler(0);
        let mut l = s.listener(0, None);
        let event = |v: f64| {
            let mut m = Measurement::new(PointType::AnalogInput, 1, MeasurementValue::Analog(v));
            m.event = true;
            m
        };
        // A fresh outstation: no restart counted.
        l.restart_detected();
        h.measurement(&event(0.0));
        h.measurement(&event(1.0));
        h.measurement(&event(2.0));
        // It restarts: 0 again, no repeat.
        l.restart_detected();
        h.measurement(&event(0.0));
        h.measurement(&event(1.0));
        let t = s.totals();
        assert_eq!((t.delivered, t.gaps, t.repeats, t.restarts), (5, 0, 0, 1));
    }

    #[test]
    fn a_state_file_round_trips_and_a_missing_one_means_a_first_run() {
        let dir = std::env::temp_dir().join(format!("density-state-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("state");
        let _ = std::fs::remove_file(&path);
        assert_eq!(load_state(&path, 3), Ok(None));
        save_state(&path, &[4, 0, 17]).expect("written");
        assert_eq!(load_state(&path, 3), Ok(Some(vec![4, 0, 17])));
        assert!(load_state(&path, 2)
            .expect_err("index 2 is out of range")
            .contains("outstation 2"));
        std::fs::write(&path, "0 x\n").expect("written");
        assert!(load_state(&path, 3)
            .expect_err("not a number")
            .ends_with(":1: expected `INDEX NEXT`"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
