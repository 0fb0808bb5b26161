//! A master association fed arbitrary fragments through the `Session` trait, with polls,
//! clock advances and reconnections in between: it never panics, every fragment it hands out
//! fits its buffer and parses, and it stops producing fragments. Input: a script (see the
//! `rdnp3_fuzz` crate); data variants: 0 and 3 from the outstation, 1 broadcast, 2 from an
//! unknown source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_fuzz::{start, Script, Step, MAX_FRAGMENTS_PER_POLL};
use rdnp3_stack::app::Fragment;
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{MasterConfig, MasterSession, Measurement, ReadHandler};
use rdnp3_stack::session::{Now, Session};
use std::hint::black_box;

/// Looks at every measurement, as a user's handler would.
struct Sink;

impl ReadHandler for Sink {
    fn measurement(&mut self, m: &Measurement<'_>) {
        black_box(m);
    }
}

fn drain(master: &mut MasterSession, now: &Now, out: &mut [u8]) {
    for _ in 0..MAX_FRAGMENTS_PER_POLL {
        let Some(n) = master.next_fragment(now, out) else {
            return;
        };
        assert!(n <= out.len());
        Fragment::parse(&out[..n]).expect("the master sends fragments it can parse");
    }
    panic!("the master never stopped sending");
}

fuzz_target!(|data: &[u8]| {
    let config = MasterConfig::default();
    let mut out = vec![0; config.max_tx_fragment];
    let mut master = MasterSession::new(config, Box::new(Sink));
    let mut now = start();
    master.on_link_up(&now);
    for step in Script::new(data) {
        match step {
            Step::Data { variant, bytes } => {
                let (source, destination) = match variant {
                    1 => (master.remote_address(), AddressKind::BroadcastShallConfirm),
                    2 => (master.remote_address() ^ 1, AddressKind::Station),
                    _ => (master.remote_address(), AddressKind::Station),
                };
                master.on_fragment(&now, source, destination, bytes);
                drain(&mut master, &now, &mut out);
            }
            Step::Poll => drain(&mut master, &now, &mut out),
            Step::Advance(d) => {
                now = now.after(d);
                if master.deadline().is_some_and(|t| t <= now.instant) {
                    master.on_timer(&now);
                }
            }
            Step::Reconnect => {
                master.on_link_down(&now);
                master.on_link_up(&now);
            }
        }
    }
    drain(&mut master, &now, &mut out);
});
