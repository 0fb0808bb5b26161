//! Event classes and deadbands of the sans-I/O outstation: ASSIGN_CLASS (IEEE 1815-2012,
//! clause 4) and the change tests that decide when a point creates an event.

mod common;

use common::*;
use rdnp3_stack::outstation::*;

fn binaries() -> Harness {
    let mut h = Harness::new(
        config(),
        database(&[(PointType::BinaryInput, 0..4, online())]),
    );
    h.clear_restart();
    h
}

fn set_all(h: &mut Harness, value: bool) -> usize {
    let updates: Vec<_> = (0..4).map(|i| Update::binary(i, value)).collect();
    h.apply(&updates).events
}

#[test]
fn assign_class_by_range_makes_those_points_report_events() {
    let mut h = binaries();
    assert_eq!(set_all(&mut h, true), 0, "no class: no events");
    // ASSIGN_CLASS class 1: g1v0 indices 1..2.
    assert_eq!(
        h.ask("C1 16 3C 02 06 01 00 00 01 02").unwrap(),
        "C1 81 00 00"
    );
    assert_eq!(set_all(&mut h, false), 2);
    assert_eq!(h.s.iin(), rdnp3_stack::app::Iin::CLASS_1_EVENTS);
    // A class 1 read returns g2v2 events (state 0, ONLINE) of indices 1 and 2.
    assert_eq!(
        h.ask("C2 01 3C 02 06").unwrap(),
        "E2 81 00 00 02 02 28 02 00 01 00 01 40 42 0F 00 00 00 02 00 01 40 42 0F 00 00 00"
    );
}

#[test]
fn assign_class_0_by_index_stops_events_and_all_assigns_every_point() {
    let mut h = binaries();
    assert_eq!(h.ask("C1 16 3C 04 06 01 00 06").unwrap(), "C1 81 00 00");
    assert_eq!(set_all(&mut h, true), 4);
    // Class 0 (no events) for indices 0 and 3 (qualifier 17).
    assert_eq!(
        h.ask("C2 16 3C 01 06 01 00 17 02 00 03").unwrap(),
        "C2 81 08 00"
    );
    assert_eq!(set_all(&mut h, false), 2);
    // A count without indices selects the first points: 0 and 1 go to class 2.
    assert_eq!(h.ask("C3 16 3C 03 06 01 00 07 02").unwrap(), "C3 81 08 00");
    assert_eq!(set_all(&mut h, true), 3);
}

#[test]
fn assign_class_of_missing_points_is_a_parameter_error_and_changes_nothing() {
    let mut h = binaries();
    // Indices 2..5 of which 4 and 5 do not exist; the first header alone would be valid.
    assert_eq!(
        h.ask("C1 16 3C 02 06 01 00 06 3C 03 06 01 00 00 02 05")
            .unwrap(),
        "C1 81 00 04"
    );
    assert_eq!(set_all(&mut h, true), 0);
    // Point headers before any class header.
    assert_eq!(h.ask("C2 16 01 00 06").unwrap(), "C2 81 00 04");
}

#[test]
fn assign_class_of_unknown_objects_is_object_unknown() {
    let mut h = binaries();
    // An event group is not a point type's static group.
    assert_eq!(h.ask("C1 16 3C 02 06 02 00 06").unwrap(), "C1 81 00 02");
    // Counters: a type this outstation has no points of.
    assert_eq!(h.ask("C2 16 3C 02 06 14 00 06").unwrap(), "C2 81 00 02");
    assert_eq!(set_all(&mut h, true), 0);
}

#[test]
fn points_without_a_class_at_start_get_events_after_assign_class() {
    // No point has a class when the session starts: the buffer still exists.
    let mut h = binaries();
    assert_eq!(h.ask("C1 16 3C 02 06 01 00 06").unwrap(), "C1 81 00 00");
    assert_eq!(set_all(&mut h, true), 4);
    assert_eq!(h.s.database().buffered_events(), 4);
    assert_eq!(h.s.stats().events_dropped, 0);
}

fn counters(deadband: f64) -> Harness {
    let c = online()
        .with_class(EventClass::Class1)
        .with_deadband(deadband);
    let mut h = Harness::new(
        config(),
        database(&[
            (PointType::Counter, 0..1, c),
            (PointType::FrozenCounter, 0..1, c),
        ]),
    );
    h.clear_restart();
    h
}

#[test]
fn counter_changes_within_the_deadband_create_no_event() {
    let mut h = counters(10.0);
    assert_eq!(h.apply(&[Update::counter(0, 5)]).events, 0);
    assert_eq!(h.apply(&[Update::counter(0, 10)]).events, 0);
    assert_eq!(h.apply(&[Update::counter(0, 11)]).events, 1);
    // The reference is now 11.
    assert_eq!(h.apply(&[Update::counter(0, 20)]).events, 0);
    assert_eq!(h.apply(&[Update::counter(0, 22)]).events, 1);
    // A flags change is always an event.
    let lost = Update::counter(0, 22).with_flags(rdnp3_stack::objects::flags::COMM_LOST);
    assert_eq!(h.apply(&[lost]).events, 1);
}

#[test]
fn a_counter_without_deadband_reports_every_change() {
    let mut h = counters(0.0);
    assert_eq!(h.apply(&[Update::counter(0, 1)]).events, 1);
    assert_eq!(h.apply(&[Update::counter(0, 1)]).events, 0);
    assert_eq!(h.apply(&[Update::counter(0, 2)]).events, 1);
}

#[test]
fn frozen_counters_report_a_freeze_only_beyond_their_deadband() {
    let mut h = counters(10.0);
    h.apply(&[Update::counter(0, 11)]);
    let before = h.s.database().buffered_events_of(PointType::FrozenCounter);
    // IMMED_FREEZE of all counters: 11 − 0 > 10, an event.
    assert_eq!(h.ask("C1 07 14 00 06").unwrap(), "C1 81 02 00");
    let frozen = h.s.database().buffered_events_of(PointType::FrozenCounter);
    assert_eq!(frozen, before + 1);
    h.apply(&[Update::counter(0, 15)]);
    assert_eq!(h.ask("C2 07 14 00 06").unwrap(), "C2 81 02 00");
    let unchanged = h.s.database().buffered_events_of(PointType::FrozenCounter);
    assert_eq!(unchanged, frozen, "15 − 11 is within the deadband");

    let mut h = counters(0.0);
    h.ask("C1 07 14 00 06");
    h.ask("C2 07 14 00 06");
    assert_eq!(
        h.s.database().buffered_events_of(PointType::FrozenCounter),
        2,
        "without a deadband every freeze is an event"
    );
}

fn relative_time_binaries() -> Harness {
    let c = online()
        .with_class(EventClass::Class1)
        .with_event_variation(rdnp3_stack::objects::Variation::Group2Var3);
    let mut h = Harness::new(config(), database(&[(PointType::BinaryInput, 0..3, c)]));
    h.clear_restart();
    h
}

#[test]
fn relative_time_events_follow_one_cto_per_fragment() {
    use rdnp3_stack::objects::Timestamp;
    let mut h = relative_time_binaries();
    h.apply(&[
        Update::binary(0, true).with_time(Timestamp(1_000_000)),
        Update::binary(1, true).with_time(Timestamp(1_000_500)),
        // More than 65 535 ms after the CTO: the next fragment, with its own CTO.
        Update::binary(2, true).with_time(Timestamp(1_100_000)),
    ]);
    assert_eq!(
        h.ask("C1 01 3C 02 06").unwrap(),
        "A1 81 02 00 33 01 07 01 40 42 0F 00 00 00 02 03 28 02 00 00 00 81 00 00 01 00 81 F4 01"
    );
    assert_eq!(
        h.ask("C1 00").unwrap(),
        "62 81 00 00 33 01 07 01 E0 C8 10 00 00 00 02 03 28 01 00 02 00 81 00 00"
    );
}

#[test]
fn an_unsynchronized_outstation_sends_its_cto_as_g51v2() {
    use rdnp3_stack::objects::Timestamp;
    let mut h = relative_time_binaries();
    h.s.set_need_time(true);
    h.apply(&[Update::binary(1, true).with_time(Timestamp(1_000_000))]);
    assert_eq!(
        h.ask("C1 01 3C 02 06").unwrap(),
        "E1 81 10 00 33 02 07 01 40 42 0F 00 00 00 02 03 28 01 00 01 00 81 00 00"
    );
}
