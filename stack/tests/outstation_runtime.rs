//! Runtime control of the sans-I/O outstation by its application: the IIN bits it owns,
//! and controls answered later (IEEE 1815-2012, clause 4).

mod common;

use common::*;
use rdnp3_stack::outstation::*;

#[test]
fn need_time_and_device_restart_are_set_by_the_application() {
    let mut h = Harness::new(
        config(),
        database(&[(PointType::BinaryInput, 0..1, online())]),
    );
    h.clear_restart();
    h.s.set_need_time(true);
    assert_eq!(
        h.ask("C1 01 50 01 00 07 07").unwrap(),
        "C1 81 10 00 50 01 00 07 07 00"
    );
    h.s.set_restart();
    assert_eq!(
        h.ask("C2 01 50 01 00 07 07").unwrap(),
        "C2 81 90 00 50 01 00 07 07 01"
    );
    h.s.set_need_time(false);
    assert_eq!(h.ask("C3 02 50 01 00 07 07 00").unwrap(), "C3 81 00 00");
}

fn outputs_with_command_events() -> Harness {
    let mut h = Harness::new(
        config().with_command_events(true),
        database(&[
            (
                PointType::BinaryOutputStatus,
                0..2,
                online().with_class(EventClass::Class1),
            ),
            (
                PointType::AnalogOutputStatus,
                0..2,
                online().with_class(EventClass::Class2),
            ),
        ]),
    );
    h.clear_restart();
    h
}

#[test]
fn an_executed_crob_creates_a_binary_output_command_event_with_its_status() {
    let mut h = outputs_with_command_events();
    // DIRECT_OPERATE latch on, index 1.
    let crob = "0C 01 17 01 01 03 01 64 00 00 00 64 00 00 00 00";
    assert_eq!(
        h.ask(&format!("C1 05 {crob}")).unwrap(),
        format!("C1 81 02 00 {crob}")
    );
    // The output status change (g11v2) and the command event (g13v2: state on, status 0).
    assert_eq!(
        h.ask("C2 01 3C 02 06").unwrap(),
        "E2 81 00 00 0B 02 28 01 00 01 00 81 40 42 0F 00 00 00 \
         0D 02 28 01 00 01 00 80 40 42 0F 00 00 00"
    );
}

#[test]
fn an_executed_analog_output_creates_a_command_event_in_the_operated_width() {
    let mut h = outputs_with_command_events();
    // DIRECT_OPERATE g41v2 index 0 = 5.
    assert_eq!(
        h.ask("C1 05 29 02 17 01 00 05 00 00").unwrap(),
        "C1 81 04 00 29 02 17 01 00 05 00 00"
    );
    // g42v3 (flags, 32-bit, time) then g43v4 (status 0, 16-bit, time).
    assert_eq!(
        h.ask("C2 01 3C 03 06").unwrap(),
        "E2 81 00 00 2A 03 28 01 00 00 00 01 05 00 00 00 40 42 0F 00 00 00 \
         2B 04 28 01 00 00 00 00 05 00 40 42 0F 00 00 00"
    );
}

#[test]
fn without_the_switch_operates_create_no_command_events() {
    let mut h = Harness::new(
        config(),
        database(&[(
            PointType::BinaryOutputStatus,
            0..2,
            online().with_class(EventClass::Class1),
        )]),
    );
    h.clear_restart();
    h.ask("C1 05 0C 01 17 01 01 03 01 64 00 00 00 64 00 00 00 00");
    assert_eq!(
        h.s.database().buffered_events(),
        1,
        "only the output status change"
    );
}
