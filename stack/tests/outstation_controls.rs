//! End-to-end tests of the sans-I/O outstation session, controls: select before operate, its
//! timeout and cancellation, repeated selects and operates, the limit on controls per request,
//! analog outputs, direct operate no ack and the output status events that operations create
//! (IEEE 1815-2012, clause 4).

mod outstation_util;

use outstation_util::*;
use rdnp3_stack::outstation::*;
use std::time::Duration;

// ---- controls -------------------------------------------------------------------------

#[test]
fn select_then_operate_executes_the_control() {
    let mut o = outputs();
    assert_eq!(o.ask(SELECT_3).unwrap(), format!("C0 81 80 00 {ECHO_3} 00"));
    assert_eq!(o.operations(), 0);
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C1 81 80 00 {ECHO_3} 00"));
    assert_eq!(o.operations(), 1);
    let s =
        o.s.database()
            .get(PointType::BinaryOutputStatus, 3)
            .unwrap();
    assert_eq!(s.value, PointValue::Binary(true));
}

#[test]
fn operate_with_a_skipped_seq_is_answered_no_select() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    let operate = SELECT_3.replacen("C0 03", "C2 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C2 81 80 00 {ECHO_3} 02"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn operate_after_the_select_timeout_is_rejected() {
    let mut cfg = config();
    cfg.select_timeout = Duration::from_secs(5);
    let mut o = Outstation::new(
        cfg,
        database(&[(PointType::BinaryOutputStatus, 0..8, PointConfig::default())]),
    );
    o.ask(SELECT_3).unwrap();
    o.advance(Duration::from_millis(5001));
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C1 81 80 00 {ECHO_3} 01"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn operate_with_different_objects_is_rejected_and_cancels_the_selection() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    let other = "C1 04 0C 01 17 01 03 01 02 01 00 00 00 01 00 00 00 00";
    assert!(o.ask(other).unwrap().ends_with(" 02"));
    let operate = SELECT_3.replacen("C0 03", "C2 04", 1);
    assert!(o.ask(&operate).unwrap().ends_with(" 02"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn any_other_request_between_select_and_operate_cancels_the_selection() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    o.ask("C1 17").unwrap();
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert!(o.ask(&operate).unwrap().ends_with(" 02"));
}

#[test]
fn a_repeated_select_keeps_the_selection_and_a_repeated_operate_runs_once() {
    let mut o = outputs();
    let first = o.ask(SELECT_3).unwrap();
    assert_eq!(o.ask(SELECT_3).unwrap(), first);
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    let answer = o.ask(&operate).unwrap();
    assert!(answer.ends_with(" 00"));
    assert_eq!(o.ask(&operate).unwrap(), answer);
    assert_eq!(o.operations(), 1);
}

#[test]
fn controls_beyond_the_limit_are_answered_too_many_ops() {
    let mut cfg = config();
    cfg.max_controls_per_request = Some(1);
    let mut o = Outstation::new(
        cfg,
        database(&[(PointType::BinaryOutputStatus, 0..8, PointConfig::default())]),
    );
    let two =
        "C0 03 0C 01 17 02 03 01 01 01 00 00 00 01 00 00 00 00 04 01 01 01 00 00 00 01 00 00 00 00";
    assert_eq!(
        o.ask(two).unwrap(),
        "C0 81 80 00 0C 01 17 02 03 01 01 01 00 00 00 01 00 00 00 00 04 01 01 01 00 00 00 01 00 00 00 08"
    );
}

#[test]
fn crob_with_the_queue_bit_is_not_supported() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 03 0C 01 17 01 03 51 01 01 00 00 00 01 00 00 00 00")
            .unwrap(),
        "C0 81 80 04 0C 01 17 01 03 51 01 01 00 00 00 01 00 00 00 04"
    );
    assert_eq!(
        o.ask("C1 05 0C 01 28 01 00 03 00 AA 01 01 00 00 00 01 00 00 00 00")
            .unwrap(),
        "C1 81 80 04 0C 01 28 01 00 03 00 AA 01 01 00 00 00 01 00 00 00 04"
    );
    assert_eq!(o.operations(), 0);
}

#[test]
fn a_control_request_with_another_header_executes_nothing() {
    let mut o = outputs();
    let mixed = "C0 05 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00 01 02 00 00 00 81";
    assert_eq!(o.ask(mixed).unwrap(), "C0 81 80 04");
    let wrong_qualifier = "C1 05 0C 01 07 01 03 01 00 00 00 00 00 00 00 00 00";
    assert_eq!(o.ask(wrong_qualifier).unwrap(), "C1 81 80 04");
    assert_eq!(o.operations(), 0);
}

#[test]
fn analog_output_select_is_echoed() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 03 29 02 17 01 03 00 00 00").unwrap(),
        "C0 81 80 00 29 02 17 01 03 00 00 00"
    );
    assert_eq!(
        o.ask("C1 05 29 03 17 01 01 00 00 C8 42 00").unwrap(),
        "C1 81 80 00 29 03 17 01 01 00 00 C8 42 00"
    );
    let s =
        o.s.database()
            .get(PointType::AnalogOutputStatus, 1)
            .unwrap();
    assert_eq!(s.value, PointValue::Analog(100.0));
}

#[test]
fn direct_operate_no_ack_executes_silently() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00"),
        None
    );
    assert_eq!(o.operations(), 1);
    let s =
        o.s.database()
            .get(PointType::BinaryOutputStatus, 2)
            .unwrap();
    assert_eq!(s.value, PointValue::Binary(true));
}

#[test]
fn operating_an_output_creates_its_status_event() {
    let c = PointConfig::new(EventClass::Class1);
    let mut o = Outstation::new(
        config(),
        database(&[(PointType::BinaryOutputStatus, 0..4, c)]),
    );
    o.ask("C0 05 0C 01 17 01 01 03 01 00 00 00 00 00 00 00 00 00")
        .unwrap();
    let events = o.ask("C1 01 3C 02 06").unwrap();
    assert!(
        events.starts_with("E1 81 80 00 0B 02 28 01 00 01 00 81"),
        "{events}"
    );
}
