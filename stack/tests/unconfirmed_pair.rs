//! A master that never confirms unsolicited responses against an outstation on its defaults,
//! wired back to back without I/O: the master's polls are answered, none times out.

mod common;

use common::database;
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{Classes, MasterConfig, MasterSession, NullReadHandler, ReadRequest};
use rdnp3_stack::objects::{Timestamp, Variation};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::{Now, Session};
use std::time::{Duration, Instant};

/// True for a CONFIRM with UNS set: the confirm of an unsolicited response.
fn unsolicited_confirm(fragment: &[u8]) -> bool {
    matches!(fragment, [control, 0x00, ..] if control & 0x10 != 0)
}

struct Pair {
    master: MasterSession,
    outstation: OutstationSession,
    now: Now,
}

impl Pair {
    /// Carries fragments both ways until both sides are quiet, dropping unsolicited confirms.
    fn exchange(&mut self) {
        let mut buf = vec![0u8; 4096];
        loop {
            let mut moved = false;
            if let Some(n) = self.master.next_fragment(&self.now, &mut buf) {
                moved = true;
                if !unsolicited_confirm(&buf[..n]) {
                    self.outstation
                        .on_fragment(&self.now, 1, AddressKind::Station, &buf[..n]);
                }
            }
            if let Some(n) = self.outstation.next_fragment(&self.now, &mut buf) {
                moved = true;
                self.master
                    .on_fragment(&self.now, 1024, AddressKind::Station, &buf[..n]);
            }
            if !moved {
                break;
            }
        }
    }

    /// Moves time on in small steps, firing due timers and exchanging after each.
    fn run_for(&mut self, d: Duration) {
        let end = self.now.instant + d;
        while self.now.instant < end {
            self.now = self.now.after(Duration::from_millis(100));
            let now = self.now;
            if self.master.deadline().is_some_and(|t| t <= now.instant) {
                self.master.on_timer(&now);
            }
            if self.outstation.deadline().is_some_and(|t| t <= now.instant) {
                self.outstation.on_timer(&now);
            }
            self.exchange();
        }
    }
}

#[test]
fn a_master_that_never_confirms_unsolicited_responses_can_still_poll_a_default_outstation() {
    let now = Now {
        instant: Instant::now(),
        wall: Timestamp(1_000_000),
    };
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    let outstation = OutstationSession::new(
        OutstationConfig::default(),
        database(&[(PointType::BinaryInput, 0..4, c)]),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    );
    // A response timeout shorter than the outstation's unsolicited confirm timeout (5 s).
    let config = MasterConfig::default().with_response_timeout(Duration::from_secs(2));
    let master = MasterSession::new(config, Box::new(NullReadHandler));
    let mut p = Pair {
        master,
        outstation,
        now,
    };
    p.outstation.on_link_up(&p.now);
    p.master.on_link_up(&p.now);
    p.master.add_poll(
        &p.now,
        ReadRequest::classes(Classes::CLASS0),
        Duration::from_secs(2),
    );
    p.exchange();
    p.run_for(Duration::from_secs(60));
    let stats = p.master.stats();
    assert_eq!(stats.timeouts, 0, "{stats:?}");
    assert!(stats.polls >= 30, "{stats:?}");
}
