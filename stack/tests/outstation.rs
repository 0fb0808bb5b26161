//! End-to-end tests of the sans-I/O outstation session, reads and events: static reads of
//! every kind, event reads, confirms and the event buffer, and multi-fragment responses.
//! Request fragments in, response fragments out, time driven by `Now::after`. Known answers
//! follow the procedures of IEEE 1815-2012, clause 4, and fragments published in opendnp3's
//! unit tests. The other procedures are in `outstation_requests.rs`, `outstation_controls.rs`,
//! `outstation_unsolicited.rs` and `outstation_robustness.rs`.

mod outstation_util;

use outstation_util::*;
use rdnp3_stack::objects::{flags, DoubleBit, Timestamp, Variation};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::Session;
use std::time::Duration;

// ---- reads ----------------------------------------------------------------------------

#[test]
fn class_0_read_reports_online_binaries_packed() {
    let c = online().with_static_variation(Variation::Group1Var1);
    let mut o = binaries(10, c);
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 01 00 00 09 00 00"
    );
}

#[test]
fn class_0_read_promotes_packed_binaries_that_are_not_online() {
    let c = PointConfig::default().with_static_variation(Variation::Group1Var1);
    let mut o = binaries(2, c);
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 02 00 00 01 02 02"
    );
}

#[test]
fn read_by_index_is_answered_with_ranged_headers() {
    let mut o = binaries(3, PointConfig::default());
    assert_eq!(
        o.ask("C0 01 01 02 17 02 00 02").unwrap(),
        "C0 81 80 00 01 02 00 00 00 02 01 02 00 02 02 02"
    );
}

#[test]
fn read_of_an_analog_range_returns_the_values() {
    let c = online().with_static_variation(Variation::Group30Var2);
    let mut o = Outstation::new(config(), database(&[(PointType::AnalogInput, 0..10, c)]));
    o.apply(&[Update::analog(5, 42.0), Update::analog(6, 41.0)]);
    assert_eq!(
        o.ask("C2 01 1E 02 00 05 06").unwrap(),
        "C2 81 80 00 1E 02 00 05 06 01 2A 00 01 29 00"
    );
}

#[test]
fn read_of_a_type_uses_each_points_configured_variation() {
    let db = DatabaseBuilder::new()
        .add(
            PointType::AnalogInput,
            [0],
            online().with_static_variation(Variation::Group30Var5),
        )
        .add(PointType::Counter, [0], online())
        .build()
        .unwrap();
    let mut o = Outstation::new(config(), db);
    o.apply(&[Update::analog(0, 95.6), Update::counter(0, 5)]);
    assert_eq!(
        o.ask("C0 01 1E 00 06").unwrap(),
        "C0 81 80 00 1E 05 00 00 00 01 33 33 BF 42"
    );
    assert_eq!(
        o.ask("C1 01 14 00 06").unwrap(),
        "C1 81 80 00 14 01 00 00 00 01 05 00 00 00"
    );
    o.apply(&[Update::analog(0, -20.0)]);
    assert_eq!(
        o.ask("C2 01 1E 06 06").unwrap(),
        "C2 81 80 00 1E 06 00 00 00 01 00 00 00 00 00 00 34 C0"
    );
}

#[test]
fn reading_missing_points_sets_parameter_error_and_unknown_types_object_unknown() {
    let mut o = binaries(3, online());
    assert_eq!(
        o.ask("C0 01 01 02 00 02 03").unwrap(),
        "C0 81 80 04 01 02 00 02 02 01"
    );
    assert_eq!(o.ask("C1 01 1E 00 06").unwrap(), "C1 81 80 02");
    assert_eq!(o.ask("C2 01 00 00 06").unwrap(), "C2 81 80 02");
}

#[test]
fn read_of_g80_reports_the_iin_bits() {
    let mut o = binaries(1, online());
    assert_eq!(
        o.ask("C0 01 50 01 00 00 0F").unwrap(),
        "C0 81 80 00 50 01 00 00 0F 80 00"
    );
}

#[test]
fn frozen_counters_carry_the_time_of_freeze() {
    let fc = online().with_static_variation(Variation::Group21Var5);
    let mut o = Outstation::new(
        config(),
        database(&[
            (PointType::Counter, 0..1, online()),
            (PointType::FrozenCounter, 0..1, fc),
        ]),
    );
    o.now.wall = Timestamp(240_607_800_000);
    o.apply(&[Update::counter(0, 41)]);
    assert_eq!(o.ask("C3 07 14 00 06").unwrap(), "C3 81 80 00");
    assert_eq!(
        o.ask("C4 01 15 00 06").unwrap(),
        "C4 81 80 00 15 05 00 00 00 01 29 00 00 00 C0 AA 57 05 38 00"
    );
}

#[test]
fn freeze_clear_resets_the_counters() {
    let mut o = Outstation::new(
        config(),
        database(&[
            (PointType::Counter, 0..2, online()),
            (PointType::FrozenCounter, 0..2, online()),
        ]),
    );
    o.apply(&[Update::counter(0, 7), Update::counter(1, 9)]);
    assert_eq!(o.ask("C0 09 14 00 00 01 01").unwrap(), "C0 81 80 00");
    let db = o.s.database();
    assert_eq!(
        db.get(PointType::Counter, 1).unwrap().value,
        PointValue::Counter(0)
    );
    assert_eq!(
        db.get(PointType::Counter, 0).unwrap().value,
        PointValue::Counter(7)
    );
    assert_eq!(
        db.get(PointType::FrozenCounter, 1).unwrap().value,
        PointValue::Counter(9)
    );
    assert_eq!(o.ask("C1 07 1E 00 06").unwrap(), "C1 81 80 01");
    assert_eq!(o.ask("C2 07 14 00 17 01 00").unwrap(), "C2 81 80 04");
}

#[test]
fn octet_strings_are_reported_with_their_length_as_variation() {
    let mut o = Outstation::new(
        config(),
        database(&[(PointType::OctetString, 0..2, PointConfig::default())]),
    );
    o.apply(&[
        Update::octet_string(0, b"a"),
        Update::octet_string(1, b"bb"),
    ]);
    assert_eq!(
        o.ask("C0 01 6E 00 06").unwrap(),
        "C0 81 80 00 6E 01 00 00 00 61 6E 02 00 01 01 62 62"
    );
}

#[test]
fn double_bit_inputs_are_reported_with_their_state_bits() {
    let c = PointConfig::new(EventClass::Class2);
    let mut o = Outstation::new(config(), database(&[(PointType::DoubleBitInput, 0..2, c)]));
    o.apply(&[Update::double_bit(1, DoubleBit::DeterminedOn).with_time(Timestamp(5))]);
    assert_eq!(
        o.ask("C0 01 3C 03 06 3C 01 06").unwrap(),
        "E0 81 80 00 04 02 28 01 00 01 00 81 05 00 00 00 00 00 03 02 00 00 01 C2 81"
    );
}

// ---- events ---------------------------------------------------------------------------

#[test]
fn count_limited_event_read_leaves_the_class_bit_set() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(2, false), Update::binary(3, true)]);
    assert_eq!(
        o.ask("C0 01 3C 02 07 01").unwrap(),
        "E0 81 82 00 02 01 28 01 00 02 00 01"
    );
    o.send("C0 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        "E1 81 80 00 02 01 28 01 00 03 00 81"
    );
    o.send("C1 00");
    assert_eq!(o.s.database().buffered_events(), 0);
    assert_eq!(o.ask("C2 01 3C 02 06").unwrap(), "C2 81 80 00");
}

#[test]
fn unconfirmed_events_are_sent_again_on_the_next_poll() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    let first = o.ask("C0 01 3C 02 06").unwrap();
    assert_eq!(first, "E0 81 80 00 02 01 28 01 00 01 00 81");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.s.stats().confirm_timeouts, 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        first.replacen("E0", "E1", 1)
    );
    // A new request instead of the confirm also keeps them.
    assert_eq!(
        o.ask("C2 01 3C 02 06").unwrap(),
        first.replacen("E0", "E2", 1)
    );
    o.send("C2 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn a_confirm_with_the_wrong_seq_is_ignored() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    o.ask("C5 01 3C 02 06").unwrap();
    o.send("C4 00");
    o.send("D5 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    o.send("C5 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn integrity_poll_writes_events_before_static_data() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(0, true)]);
    assert_eq!(
        o.ask("C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06").unwrap(),
        "E0 81 80 00 02 01 28 01 00 00 00 81 01 02 00 00 03 81 02 02 02"
    );
}

#[test]
fn class_bits_announce_unreported_events() {
    let c3 = PointConfig::new(EventClass::Class3);
    let mut o = Outstation::new(
        config(),
        database(&[
            (
                PointType::BinaryInput,
                0..2,
                PointConfig::new(EventClass::Class2),
            ),
            (PointType::AnalogInput, 0..2, c3),
        ]),
    );
    assert_eq!(o.ask("C0 17").unwrap(), "C0 81 80 00 34 02 07 01 00 00");
    o.apply(&[Update::binary(0, true), Update::analog(1, 3.0)]);
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 8C 00 34 02 07 01 00 00");
}

#[test]
fn event_reads_by_type_override_the_variation() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true).with_time(Timestamp(0x0102))]);
    assert_eq!(
        o.ask("C0 01 02 02 06").unwrap(),
        "E0 81 80 00 02 02 28 01 00 01 00 81 02 01 00 00 00 00"
    );
}

#[test]
fn a_full_event_buffer_drops_the_oldest_and_reports_overflow_until_read() {
    let mut cfg = config();
    cfg.event_buffer = EventBufferConfig::all(2);
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    let mut o = Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]));
    o.apply(&[
        Update::binary(0, true),
        Update::binary(1, true),
        Update::binary(2, true),
    ]);
    assert_eq!(o.s.stats().events_dropped, 1);
    assert_eq!(
        o.ask("C0 01 3C 02 06").unwrap(),
        "E0 81 80 08 02 01 28 02 00 01 00 81 02 00 81"
    );
    o.send("C0 00");
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 80 00 34 02 07 01 00 00");
}

#[test]
fn analog_events_respect_the_deadband() {
    let c = online().with_deadband(2.0);
    let c = c.with_class(EventClass::Class2);
    let mut o = Outstation::new(config(), database(&[(PointType::AnalogInput, 0..1, c)]));
    assert_eq!(o.apply(&[Update::analog(0, 1.5)]).events, 0);
    assert_eq!(o.apply(&[Update::analog(0, 2.5)]).events, 1);
    assert_eq!(o.apply(&[Update::analog(0, 4.0)]).events, 0);
    assert_eq!(
        o.apply(&[Update::analog(0, 4.0).with_flags(flags::COMM_LOST)])
            .events,
        1
    );
    assert_eq!(o.apply(&[Update::analog(9, 4.0)]).rejected, 1);
}

// ---- multi-fragment responses ---------------------------------------------------------

fn analogs_in_20_byte_fragments() -> Outstation {
    let mut cfg = config();
    cfg.max_tx_fragment = 20;
    let c = online().with_static_variation(Variation::Group30Var1);
    Outstation::new(cfg, database(&[(PointType::AnalogInput, 0..8, c)]))
}

#[test]
fn large_class_0_response_is_sent_in_confirmed_fragments() {
    let mut o = analogs_in_20_byte_fragments();
    let two = |a: u8, b: u8| format!("1E 01 00 {a:02X} {b:02X} 01 00 00 00 00 01 00 00 00 00");
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        format!("A0 81 80 00 {}", two(0, 1))
    );
    assert_eq!(o.poll(), None, "the next fragment waits for the confirm");
    assert_eq!(
        o.ask("C0 00").unwrap(),
        format!("21 81 80 00 {}", two(2, 3))
    );
    assert_eq!(
        o.ask("C1 00").unwrap(),
        format!("22 81 80 00 {}", two(4, 5))
    );
    assert_eq!(
        o.ask("C2 00").unwrap(),
        format!("43 81 80 00 {}", two(6, 7))
    );
    assert_eq!(o.ask("C3 00"), None);
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 80 00 34 02 07 01 00 00");
}

#[test]
fn confirm_timeout_stops_a_multi_fragment_response() {
    let mut o = analogs_in_20_byte_fragments();
    assert!(o.ask("C0 01 3C 01 06").unwrap().starts_with("A0"));
    o.advance(Duration::from_secs(5));
    assert_eq!(o.ask("C0 00"), None);
    assert_eq!(o.s.deadline(), None);
}
