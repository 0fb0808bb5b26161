//! An outstation over the demo database fed arbitrary request fragments, with polls, point
//! updates, clock advances and reconnections in between: it never panics, every response
//! fits its buffer and parses, and it stops producing fragments. Input: a script (see the
//! `rdnp3_fuzz` crate); data variants: 0 from the master, 1 broadcast, 2 from an unknown
//! source, 3 point updates (two bytes each) applied to the database.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_fuzz::{start, Script, Step, MAX_FRAGMENTS_PER_POLL};
use rdnp3_stack::app::Fragment;
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::outstation::{
    DefaultApplication, MirrorOutputs, OutstationConfig, OutstationSession, Update,
};
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::demo::demo_database;

fn drain(outstation: &mut OutstationSession, now: &Now, out: &mut [u8]) {
    for _ in 0..MAX_FRAGMENTS_PER_POLL {
        let Some(n) = outstation.next_fragment(now, out) else {
            return;
        };
        assert!(n <= out.len());
        Fragment::parse(&out[..n]).expect("the outstation sends fragments it can parse");
    }
    panic!("the outstation never stopped sending");
}

/// Two bytes per update: the point type and index in the first, the value in the second.
fn updates(bytes: &[u8]) -> Vec<Update> {
    bytes
        .chunks_exact(2)
        .map(|b| {
            let index = u16::from(b[0] & 0x0F);
            match b[0] >> 4 & 3 {
                0 => Update::binary(index, b[1] & 1 != 0),
                1 => Update::counter(index, u32::from(b[1])),
                2 => Update::analog(index, f64::from(b[1])),
                _ => Update::binary_output_status(index, b[1] & 1 != 0),
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let config = OutstationConfig::default();
    let mut out = vec![0; config.max_tx_fragment];
    let mut outstation = OutstationSession::new(
        config,
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    );
    let mut now = start();
    outstation.on_link_up(&now);
    for step in Script::new(data) {
        match step {
            Step::Data { variant: 3, bytes } => {
                outstation.apply(&now, &updates(bytes));
                drain(&mut outstation, &now, &mut out);
            }
            Step::Data { variant, bytes } => {
                let (source, destination) = match variant {
                    1 => (
                        outstation.remote_address(),
                        AddressKind::BroadcastDontConfirm,
                    ),
                    2 => (outstation.remote_address() ^ 2, AddressKind::Station),
                    _ => (outstation.remote_address(), AddressKind::Station),
                };
                outstation.on_fragment(&now, source, destination, bytes);
                drain(&mut outstation, &now, &mut out);
            }
            Step::Poll => drain(&mut outstation, &now, &mut out),
            Step::Advance(d) => {
                now = now.after(d);
                if outstation.deadline().is_some_and(|t| t <= now.instant) {
                    outstation.on_timer(&now);
                }
            }
            Step::Reconnect => {
                outstation.on_link_down(&now);
                outstation.on_link_up(&now);
            }
        }
    }
    drain(&mut outstation, &now, &mut out);
});
