//! When a master association polls: first runs of periodic polls spread over their period,
//! and a startup sequence held by the I/O layer (its limit on startups at once) runs nothing
//! until let go.

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{Classes, MasterConfig, MasterSession, NullReadHandler, ReadRequest};
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::time::{Duration, Instant};

struct Harness {
    master: MasterSession,
    now: Now,
}

impl Harness {
    fn new(config: MasterConfig) -> Self {
        let master = MasterSession::new(config, Box::new(NullReadHandler));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(100),
        };
        Harness { master, now }
    }

    /// The next fragment the master sends, as hex ("" when nothing).
    fn sent(&mut self) -> String {
        let mut out = [0u8; 2048];
        match self.master.next_fragment(&self.now, &mut out) {
            Some(n) => to_hex(&out[..n]),
            None => String::new(),
        }
    }

    fn respond(&mut self, s: &str) {
        let bytes = hex(s);
        self.master
            .on_fragment(&self.now, 1024, AddressKind::Station, &bytes);
    }
}

#[test]
fn a_first_poll_due_at_link_up_waits_for_the_startup_sequence() {
    let mut h = Harness::new(MasterConfig::default());
    // Seed 0 puts the first run at the very start of the period.
    h.master.set_poll_seed(0);
    let now = h.now;
    h.master.add_poll(
        &now,
        ReadRequest::classes(Classes::EVENTS),
        Duration::from_secs(10),
    );
    h.master.on_link_up(&now);
    run_startup_then(&mut h, "C4 01 3C 02 06 3C 03 06 3C 04 06");
}

/// The startup sequence, then what the master sends next.
fn run_startup_then(h: &mut Harness, next: &str) {
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C0 81 80 00");
    assert_eq!(h.sent(), "C1 02 50 01 00 07 07 00");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "C2 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("C2 81 00 00");
    assert_eq!(h.sent(), "C3 14 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C3 81 00 00");
    assert_eq!(h.sent(), next);
}

#[test]
fn first_polls_of_many_associations_connected_together_spread_over_the_period() {
    let quiet = MasterConfig::default()
        .with_disable_unsolicited_at_startup(false)
        .with_startup_integrity(false)
        .with_unsolicited_classes(Classes::NONE);
    let period = Duration::from_secs(1);
    let mut tenths = [0u32; 10];
    for seed in 0..200 {
        let mut h = Harness::new(quiet.clone());
        h.master.set_poll_seed(seed);
        let now = h.now;
        h.master.add_poll(&now, ReadRequest::integrity(), period);
        h.master.on_link_up(&now);
        let first = h.master.deadline().expect("a poll is scheduled") - now.instant;
        assert!(first < period, "seed {seed}: first run after {first:?}");
        tenths[(first.as_millis() / 100) as usize] += 1;
    }
    assert!(tenths.iter().all(|n| (18..=22).contains(n)), "{tenths:?}");
    let mut h = Harness::new(quiet.with_poll_spread(false));
    let now = h.now;
    h.master.add_poll(&now, ReadRequest::integrity(), period);
    h.master.on_link_up(&now);
    assert_eq!(
        h.master.deadline(),
        Some(now.instant + period),
        "spread off"
    );
}

#[test]
fn a_held_startup_sends_nothing_and_wakes_for_nothing_until_let_go() {
    let mut h = Harness::new(MasterConfig::default());
    h.master.set_poll_seed(0);
    let now = h.now;
    h.master.add_poll(
        &now,
        ReadRequest::classes(Classes::EVENTS),
        Duration::from_secs(1),
    );
    h.master.on_link_up(&now);
    h.master.hold_startup(true);
    assert!(h.master.is_starting());
    assert_eq!(h.sent(), "");
    assert_eq!(
        h.master.deadline(),
        None,
        "a due poll must not spin the timer"
    );
    h.master.hold_startup(false);
    run_startup_then(&mut h, "C4 01 3C 02 06 3C 03 06 3C 04 06");
    assert!(!h.master.is_starting());
}
