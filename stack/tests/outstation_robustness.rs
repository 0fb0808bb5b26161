//! End-to-end tests of the sans-I/O outstation session, robustness: mutated and random requests
//! never panic and are always answered with a response, and serving requests in the steady
//! state does not allocate.

mod outstation_util;

use outstation_util::*;
use rdnp3_stack::app::{Fragment, FunctionCode, Iin};
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::Session;
use rdnp3_testkit::demo::demo_database;
use rdnp3_testkit::hex::{bytes, spaced as hex};
use rdnp3_testkit::rng::Rng;
use std::time::Duration;

// ---- robustness -------------------------------------------------------------------------

const SEEDS: &[&str] = &[
    "C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
    "C0 01 3C 02 07 01",
    "C0 01 1E 02 00 05 06",
    "C0 01 01 02 17 02 00 02",
    "C0 01 50 01 00 00 0F",
    "C0 02 50 01 00 07 07 00",
    "C0 02 32 01 07 01 D2 04 00 00 00 00",
    "C0 02 32 03 07 01 D2 04 00 00 00 00",
    "C0 18",
    "C0 17",
    "C0 0D",
    "C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
    "C0 04 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
    "C0 05 29 03 28 01 00 01 00 00 00 C8 42 00",
    "C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00",
    "C0 07 14 00 06",
    "C0 09 14 00 00 01 05",
    "C0 14 3C 02 06 3C 03 06",
    "C0 15 3C 02 06",
    "C0 00",
    "D0 00",
    "C0 01 6E 00 06",
    "C0 01 15 00 06",
];

#[test]
fn hostile_requests_never_panic_and_every_answer_is_a_response() {
    let mut rng = Rng::new(0x5EED_0DD5_1234_5678);
    let cfg = OutstationConfig::default()
        .with_max_tx_fragment(249)
        .with_unsolicited_retries(Some(2));
    let mut o = Outstation::new(cfg, demo_database(0));
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| bytes(s)).collect();
    let destinations = [
        AddressKind::Station,
        AddressKind::Station,
        AddressKind::Station,
        AddressKind::BroadcastShallConfirm,
        AddressKind::BroadcastOptionalConfirm,
    ];
    let mut answered = 0;
    for round in 0..100_000u32 {
        let mut req = if rng.below(4) == 0 {
            let n = rng.below(40);
            (0..n).map(|_| rng.next_u64() as u8).collect()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..rng.below(4) {
            if req.is_empty() {
                break;
            }
            let at = rng.below(req.len());
            match rng.below(4) {
                0 => req[at] ^= 1 << rng.below(8),
                1 => req[at] = rng.next_u64() as u8,
                2 => req.truncate(at),
                _ => req.insert(at, rng.next_u64() as u8),
            }
        }
        if rng.below(3) > 0 {
            // Mostly well-formed request headers, so deeper paths are reached.
            if let Some(b) = req.first_mut() {
                *b = (*b & 0x0F) | if rng.below(8) == 0 { 0xD0 } else { 0xC0 };
            }
        }
        let dest = destinations[rng.below(destinations.len())];
        o.s.on_fragment(&o.now, MASTER, dest, &req);
        if round % 7 == 0 {
            let i = rng.below(10) as u16;
            o.apply(&[
                Update::binary(i, rng.below(2) == 0),
                Update::analog(i, rng.next_u64() as f64 / 1e12),
            ]);
        }
        if round % 11 == 0 {
            o.advance(Duration::from_millis(rng.below(6000) as u64));
        }
        if round % 5000 == 0 {
            o.s.on_link_down(&o.now);
            o.s.on_link_up(&o.now);
        }
        while let Some(n) = o.s.next_fragment(&o.now, &mut o.out) {
            let f = Fragment::parse(&o.out[..n]).expect("a parseable response");
            assert!(
                matches!(
                    f.function,
                    FunctionCode::Response | FunctionCode::UnsolicitedResponse
                ),
                "{}",
                hex(&o.out[..n])
            );
            assert!(!f.iin.unwrap().intersects(Iin::RESERVED_1 | Iin::RESERVED_2));
            f.objects().validate().expect("well-formed objects");
            answered += 1;
            // Confirm now and then so events move on.
            if f.control.con && rng.below(2) == 0 {
                let uns = if f.control.uns { 0xD0 } else { 0xC0 };
                o.s.on_fragment(
                    &o.now,
                    MASTER,
                    AddressKind::Station,
                    &[uns | f.control.seq, 0],
                );
            }
            if answered % 1000 == 0 {
                break;
            }
        }
    }
    assert!(answered > 10_000, "{answered}");
    assert!(o.s.database().buffered_events() <= 8 * 100);
}

/// Feeds `request` and confirms whatever asks for it, until the session is quiet.
fn exchange(o: &mut Outstation, request: &[u8]) {
    o.s.on_fragment(&o.now, MASTER, AddressKind::Station, request);
    while let Some(n) = o.s.next_fragment(&o.now, &mut o.out) {
        let c = o.out[0];
        assert!(n >= 4);
        if c & 0x20 != 0 {
            let confirm = [(c & 0x1F) | 0xC0, 0];
            o.s.on_fragment(&o.now, MASTER, AddressKind::Station, &confirm);
        }
    }
}

#[test]
fn serving_requests_in_the_steady_state_does_not_allocate() {
    let cfg = OutstationConfig::default().with_need_time_at_start(false);
    let mut o = Outstation::new(cfg, demo_database(0));
    exchange(&mut o, &bytes("C0 14 3C 02 06"));
    let mut requests: Vec<Vec<u8>> = SEEDS.iter().map(|s| bytes(s)).collect();
    let mut seq = 1u8;
    let mut cycle = |o: &mut Outstation, k: u32| {
        o.apply(&[
            Update::analog(3, f64::from(k)),
            Update::binary(1, k % 2 == 0),
        ]);
        exchange(o, &[]);
        for req in requests.iter_mut() {
            if req[0] & 0x10 == 0 {
                req[0] = 0xC0 | (seq & 0x0F);
                seq = seq.wrapping_add(1);
            }
            exchange(o, req);
        }
    };
    for k in 0..10 {
        cycle(&mut o, k);
    }
    let allocations = allocation_counter::measure(|| {
        for k in 10..200 {
            cycle(&mut o, k);
        }
    })
    .count_total;
    assert_eq!(allocations, 0);
}
