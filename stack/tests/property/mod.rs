//! The "no event lost, none duplicated" property, sans-I/O: a master engine and an
//! outstation engine over a faulty line, driven by a seeded random scenario.

pub mod ledger;
pub mod pipe;
pub mod world;

use ledger::{verdict, Log};
use pipe::FaultRates;
use rdnp3_testkit::rng::Rng;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use world::{Setup, World};

/// Most simulated seconds the fault-free end of a scenario may take to settle.
const SETTLE_SECONDS: usize = 120;

/// What a passing scenario did, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub accepted: usize,
    pub delivered: usize,
    pub master_restarts: usize,
    pub outstation_restarts: usize,
    /// Events the masters recognised as repeated and did not deliver again.
    pub repeated: u64,
    /// Unsolicited responses the masters accepted.
    pub unsolicited: u64,
    /// Scenarios where an outstation dropped events for lack of room.
    pub overflowed: usize,
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, o: Summary) {
        self.accepted += o.accepted;
        self.delivered += o.delivered;
        self.master_restarts += o.master_restarts;
        self.outstation_restarts += o.outstation_restarts;
        self.repeated += o.repeated;
        self.unsolicited += o.unsolicited;
        self.overflowed += o.overflowed;
    }
}

/// Runs the scenario of `seed`: random set-up, fault rates and actions (updates, commands,
/// reads, time steps, faults on and off, restarts of either engine, reconnections), then a
/// fault-free stretch until every event is confirmed; checks the property.
pub fn scenario(seed: u64) -> Result<Summary, String> {
    scenario_with(seed, |_| {})
}

/// [`scenario`] with its random set-up changed by `tweak`.
pub fn scenario_with(seed: u64, tweak: impl FnOnce(&mut Setup)) -> Result<Summary, String> {
    let mut rng = Rng::new(seed);
    let mut setup = Setup::random(&mut rng);
    tweak(&mut setup);
    let rates = FaultRates::random(&mut rng);
    let log = Arc::new(Mutex::new(Log::default()));
    let mut w = World::new(setup, Rng::new(rng.next_u64()), log.clone());
    w.faults = (rng.below(2) == 0).then_some(rates);
    w.exchange();
    // Mostly short scenarios (cheap, many of them); one in twenty runs longer.
    let actions = if rng.below(20) == 0 {
        rng.range(24, 120)
    } else {
        rng.range(4, 24)
    };
    for _ in 0..actions {
        let action = rng.below(100);
        if w.trace {
            let faults = w.faults.is_some();
            eprintln!("{:>8} ms  action {action} (faults {faults})", w.elapsed());
        }
        match action {
            0..=39 => {
                for _ in 0..rng.range(1, 3) {
                    w.update();
                }
            }
            40..=64 => w.advance(Duration::from_millis(rng.range(1, 1500) as u64)),
            65..=72 => w.command(),
            73..=77 => w.read_events(),
            78..=87 => {
                w.faults = if w.faults.is_some() {
                    None
                } else {
                    Some(rates)
                }
            }
            88..=89 => w.restart_master(),
            90..=91 => w.restart_outstation(),
            92..=95 => w.reconnect(),
            _ => w.advance(Duration::from_millis(rng.range(1, 10_000) as u64)),
        }
        w.exchange();
    }
    w.faults = None;
    let settled = (0..SETTLE_SECONDS).any(|_| {
        w.advance(Duration::from_secs(1));
        w.settled()
    });
    if !settled {
        let held = w.outstation().database().buffered_events();
        let stats = w.master().stats().clone();
        return Err(format!(
            "not settled after {SETTLE_SECONDS} s without faults: {held} events held; {stats:?}"
        ));
    }
    let stats = w.master().stats().clone();
    let log = log.lock().unwrap();
    verdict(&log, &w.restarts)?;
    Ok(Summary {
        accepted: log.accepted.len(),
        delivered: log.delivered.len(),
        master_restarts: w.masters as usize,
        outstation_restarts: w.outstations as usize,
        repeated: w.retired.0 + stats.repeated_events,
        unsolicited: w.retired.1 + stats.unsolicited,
        overflowed: usize::from(w.restarts.dropped.iter().any(|&d| d > 0)),
    })
}
