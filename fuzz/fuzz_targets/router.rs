//! A router carrying a master (1 → 1024) and an outstation (1024 ← 1) fed arbitrary bytes,
//! with `poll_send`, timers and reconnections in between; at full decode level, so that the
//! logging decoder parses every fragment too. It never panics, never sends more than the room
//! it is given, and its output, looped back into it, lets the two sessions talk. Input: a
//! script (see the `rdnp3_fuzz` crate); data variants: 1 loops the router's output back
//! after the bytes, the others only deliver the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_fuzz::{start, Script, Step};
use rdnp3_stack::master::{MasterConfig, MasterSession, Measurement, ReadHandler};
use rdnp3_stack::outstation::{
    DefaultApplication, MirrorOutputs, OutstationConfig, OutstationSession,
};
use rdnp3_stack::router::{ChannelCounters, DecodeLevel, Router, SessionKind, TimerOutcome};
use rdnp3_stack::session::Now;
use rdnp3_testkit::demo::demo_database;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// The room offered to `poll_send`: enough for one maximum fragment per session and more.
const ROOM: usize = 16 * 1024;

struct Sink;

impl ReadHandler for Sink {
    fn measurement(&mut self, m: &Measurement<'_>) {
        black_box(m);
    }
}

fn send(router: &mut Router, now: &Now) -> Vec<u8> {
    let mut out = Vec::new();
    let n = router.poll_send(now, &mut out, ROOM);
    assert_eq!(n, out.len());
    assert!(n <= ROOM);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut now = start();
    let mut router = Router::new(
        "fuzz".into(),
        Arc::new(ChannelCounters::default()),
        DecodeLevel::Values,
        Some(Duration::from_secs(60)),
        Duration::from_secs(1),
    );
    let master = MasterSession::new(MasterConfig::default(), Box::new(Sink));
    let outstation = OutstationSession::new(
        OutstationConfig::default(),
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    );
    router
        .add(&now, SessionKind::Master(Box::new(master)))
        .expect("the master is added");
    router
        .add(&now, SessionKind::Outstation(Box::new(outstation)))
        .expect("the outstation is added");
    router.on_open(&now);
    for step in Script::new(data) {
        match step {
            Step::Data { variant, bytes } => {
                router.on_bytes(&now, bytes);
                if variant == 1 {
                    let out = send(&mut router, &now);
                    router.on_bytes(&now, &out);
                }
            }
            Step::Poll => {
                send(&mut router, &now);
            }
            Step::Advance(d) => {
                now = now.after(d);
                if router.deadline().is_some_and(|t| t <= now.instant)
                    && router.on_timer(&now) != TimerOutcome::Continue
                {
                    router.on_close(&now);
                    router.on_open(&now);
                }
            }
            Step::Reconnect => {
                router.on_close(&now);
                router.on_open(&now);
            }
        }
    }
    send(&mut router, &now);
});
