//! The scripts' thread: a plain thread (never an executor: scripts sleep) that fires each
//! script from a timer wheel and posts the updates due at one tick to each outstation in one
//! batch.

use super::config::{number_update, Script, ScriptKind};
use rdnp3::stack::outstation::{PointType, Update};
use rdnp3::Outstation;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Slots of the wheel, one millisecond each; deadlines further out wait in their slot for
/// the wheel to come round again.
const SLOTS: u64 = 256;

/// The longest the thread sleeps, so that it notices a stop request.
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// A hashed timer wheel of 1 ms ticks: O(1) insert, and each tick looks at one slot.
pub struct TimerWheel {
    slots: Vec<Vec<(u64, usize)>>,
    /// The first tick not yet expired.
    next_tick: u64,
}

impl TimerWheel {
    /// An empty wheel at tick 0.
    pub fn new() -> Self {
        TimerWheel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            next_tick: 0,
        }
    }

    /// Fires `id` at tick `deadline` (at the next expiry if it is past).
    pub fn schedule(&mut self, deadline: u64, id: usize) {
        let deadline = deadline.max(self.next_tick);
        self.slots[(deadline % SLOTS) as usize].push((deadline, id));
    }

    /// The earliest deadline, if any timer is set.
    pub fn next_deadline(&self) -> Option<u64> {
        // The first slot from now whose timer is due in this turn of the wheel…
        for k in 0..SLOTS {
            let tick = self.next_tick + k;
            if self.slots[(tick % SLOTS) as usize]
                .iter()
                .any(|(d, _)| *d == tick)
            {
                return Some(tick);
            }
        }
        // …or else the earliest of the later turns.
        self.slots.iter().flatten().map(|(d, _)| *d).min()
    }

    /// Removes the timers due at or before tick `to` into `fired`, in deadline order.
    pub fn expire(&mut self, to: u64, fired: &mut Vec<(u64, usize)>) {
        if to < self.next_tick {
            return;
        }
        let start = fired.len();
        let ticks = (to - self.next_tick + 1).min(SLOTS);
        for k in 0..ticks {
            let slot = &mut self.slots[((self.next_tick + k) % SLOTS) as usize];
            slot.retain(|&(d, id)| {
                let due = d <= to;
                if due {
                    fired.push((d, id));
                }
                !due
            });
        }
        fired[start..].sort_unstable();
        self.next_tick = to + 1;
    }
}

/// A script with its running state, bound to one outstation.
struct Running {
    outstation: usize,
    script: Script,
    /// The walk's or ramp's current value.
    value: f64,
    /// The random walk's generator state.
    rng: u64,
    /// The replay's next row and the tick its cycle started at.
    row: usize,
    cycle_start: u64,
}

impl Running {
    /// Fires at tick `now`: pushes its updates, returns its next deadline.
    fn fire(&mut self, now: u64, batch: &mut Vec<Update>) -> Option<u64> {
        let period = self.script.period_ms;
        match &self.script.kind {
            ScriptKind::RandomWalk { step, min, max, .. } => {
                // xorshift64*: a uniform draw in [-1, 1).
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let r = (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64
                    / (1u64 << 53) as f64;
                self.value = (self.value + step * (2.0 * r - 1.0)).clamp(*min, *max);
                self.post(batch);
                Some(now + period)
            }
            ScriptKind::Ramp { from, to, step } => {
                self.post(batch);
                let step = step.abs() * if to >= from { 1.0 } else { -1.0 };
                let next = self.value + step;
                let past = if step >= 0.0 { next > *to } else { next < *to };
                self.value = if past || step == 0.0 { *from } else { next };
                Some(now + period)
            }
            ScriptKind::Replay { rows, repeat } => {
                while let Some((at, update)) = rows.get(self.row) {
                    if self.cycle_start + at > now {
                        return Some(self.cycle_start + at);
                    }
                    batch.push(update.clone());
                    self.row += 1;
                }
                let last = rows.last().map_or(0, |r| r.0);
                if *repeat && !rows.is_empty() {
                    self.row = 0;
                    self.cycle_start += last.max(1);
                    Some(self.cycle_start + rows[0].0)
                } else {
                    None
                }
            }
        }
    }

    fn post(&self, batch: &mut Vec<Update>) {
        let Some((ty, index)) = self.script.point else {
            return;
        };
        let x = match ty {
            PointType::Counter | PointType::FrozenCounter => {
                self.value.round().clamp(0.0, f64::from(u32::MAX))
            }
            _ => self.value,
        };
        batch.extend(number_update(ty, index, x));
    }
}

/// Runs `scripts` (outstation index, script, the point's initial value) for `outstations`
/// until `stop` is set.
pub fn run(
    outstations: Vec<(String, Outstation)>,
    scripts: Vec<(usize, Script, Option<f64>)>,
    stop: Arc<AtomicBool>,
) {
    let mut wheel = TimerWheel::new();
    let mut running: Vec<Running> = scripts
        .into_iter()
        .map(|(outstation, script, initial)| {
            let (value, rng) = match &script.kind {
                ScriptKind::RandomWalk { min, max, seed, .. } => {
                    (initial.unwrap_or(0.0).clamp(*min, *max), seed | 1)
                }
                ScriptKind::Ramp { from, .. } => (*from, 1),
                ScriptKind::Replay { .. } => (0.0, 1),
            };
            Running {
                outstation,
                script,
                value,
                rng,
                row: 0,
                cycle_start: 0,
            }
        })
        .collect();
    for (id, r) in running.iter().enumerate() {
        // Walks first move after one period; ramps start at `from` now; replays at their
        // first row.
        let first = match r.script.kind {
            ScriptKind::RandomWalk { .. } => r.script.period_ms,
            _ => 0,
        };
        wheel.schedule(first, id);
    }
    let start = Instant::now();
    let mut fired = Vec::new();
    let mut batches: Vec<Vec<Update>> = vec![Vec::new(); outstations.len()];
    let mut failed = vec![false; outstations.len()];
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed().as_millis() as u64;
        fired.clear();
        wheel.expire(now, &mut fired);
        for &(_, id) in &fired {
            let r = &mut running[id];
            if let Some(next) = r.fire(now, &mut batches[r.outstation]) {
                wheel.schedule(next, id);
            }
        }
        for (i, batch) in batches.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            let (name, outstation) = &outstations[i];
            if let Err(e) = outstation.update(std::mem::take(batch)) {
                if !failed[i] {
                    eprintln!("serve: {name}: updates refused: {e}");
                    failed[i] = true;
                }
            }
        }
        let wait = wheel.next_deadline().map_or(MAX_SLEEP, |d| {
            let due = start + Duration::from_millis(d);
            due.saturating_duration_since(Instant::now()).min(MAX_SLEEP)
        });
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wheel_fires_in_deadline_order_across_turns() {
        let mut w = TimerWheel::new();
        w.schedule(700, 1);
        w.schedule(3, 2);
        w.schedule(3 + SLOTS, 3);
        assert_eq!(w.next_deadline(), Some(3));
        let mut fired = Vec::new();
        w.expire(10, &mut fired);
        assert_eq!(fired, [(3, 2)]);
        assert_eq!(w.next_deadline(), Some(3 + SLOTS));
        fired.clear();
        w.expire(1000, &mut fired);
        assert_eq!(fired, [(3 + SLOTS, 3), (700, 1)]);
        assert_eq!(w.next_deadline(), None);
    }

    fn ramp() -> Running {
        Running {
            outstation: 0,
            script: Script {
                kind: ScriptKind::Ramp {
                    from: 0.0,
                    to: 2.0,
                    step: 1.0,
                },
                point: Some((PointType::AnalogInput, 4)),
                period_ms: 10,
            },
            value: 0.0,
            rng: 1,
            row: 0,
            cycle_start: 0,
        }
    }

    #[test]
    fn a_ramp_climbs_by_its_step_then_starts_again() {
        let mut r = ramp();
        let mut batch = Vec::new();
        for t in 0..5 {
            assert_eq!(r.fire(t * 10, &mut batch), Some(t * 10 + 10));
        }
        let values: Vec<Update> = [0.0, 1.0, 2.0, 0.0, 1.0]
            .iter()
            .map(|v| Update::analog(4, *v))
            .collect();
        assert_eq!(batch, values);
    }

    #[test]
    fn a_random_walk_moves_at_most_its_step_and_stays_within_its_bounds() {
        let mut r = ramp();
        r.script.kind = ScriptKind::RandomWalk {
            step: 2.0,
            min: -3.0,
            max: 3.0,
            seed: 7,
        };
        r.rng = 7;
        let mut batch = Vec::new();
        for t in 0..500 {
            r.fire(t, &mut batch);
        }
        let values: Vec<f64> = batch
            .iter()
            .map(|u| match u {
                Update::Analog { value, .. } => *value,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(values.iter().all(|v| (-3.0..=3.0).contains(v)));
        assert!(values.windows(2).all(|w| (w[1] - w[0]).abs() <= 2.0));
        assert!(values.iter().any(|v| *v < -1.0) && values.iter().any(|v| *v > 1.0));
    }

    #[test]
    fn a_replay_posts_rows_when_due_and_ends() {
        let mut r = ramp();
        r.script.kind = ScriptKind::Replay {
            rows: vec![(0, Update::analog(1, 1.0)), (50, Update::analog(1, 2.0))],
            repeat: false,
        };
        let mut batch = Vec::new();
        assert_eq!(r.fire(0, &mut batch), Some(50));
        assert_eq!(batch.len(), 1);
        assert_eq!(r.fire(50, &mut batch), None);
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn a_repeated_replay_starts_again_after_its_last_row() {
        let mut r = ramp();
        r.script.kind = ScriptKind::Replay {
            rows: vec![(10, Update::analog(1, 1.0)), (50, Update::analog(1, 2.0))],
            repeat: true,
        };
        let mut batch = Vec::new();
        assert_eq!(r.fire(0, &mut batch), Some(10));
        assert_eq!(r.fire(10, &mut batch), Some(50));
        assert_eq!(r.fire(50, &mut batch), Some(60));
        assert_eq!(r.fire(60, &mut batch), Some(100));
        assert_eq!(batch.len(), 3);
    }
}
