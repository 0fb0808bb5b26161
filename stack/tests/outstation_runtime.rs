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

// ---- controls answered later ------------------------------------------------------------

use rdnp3_stack::objects::{CommandStatus, Crob};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Defers every CROB operate and keeps the tokens; returns `NotSupported` when it cannot.
#[derive(Clone, Default)]
struct LaterControls(Arc<Mutex<Vec<ControlToken>>>);

impl ControlHandler for LaterControls {
    fn operate_crob(
        &mut self,
        _index: u16,
        _crob: &Crob,
        _op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        match db.defer() {
            Some(token) => {
                self.0.lock().unwrap().push(token);
                CommandStatus::Success
            }
            None => CommandStatus::NotSupported,
        }
    }
}

fn later() -> (Harness, LaterControls) {
    let controls = LaterControls::default();
    let mut h = Harness::with(
        config().with_async_control_timeout(Duration::from_secs(3)),
        database(&[(PointType::BinaryOutputStatus, 0..2, online())]),
        Box::new(controls.clone()),
        Box::new(DefaultApplication),
    );
    h.clear_restart();
    (h, controls)
}

const TWO_CROBS: &str = "0C 01 17 02 00 03 01 64 00 00 00 64 00 00 00 00 \
                         01 03 01 64 00 00 00 64 00 00 00 00";

#[test]
fn a_deferred_operate_is_answered_once_every_control_is_completed() {
    let (mut h, controls) = later();
    assert_eq!(
        h.ask(&format!("C1 05 {TWO_CROBS}")),
        None,
        "the response waits"
    );
    let tokens = controls.0.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    let now = h.now;
    assert!(h
        .s
        .complete_control(&now, tokens[0], CommandStatus::Success));
    assert_eq!(h.poll(), None, "one control is still open");
    assert!(h
        .s
        .complete_control(&now, tokens[1], CommandStatus::HardwareError));
    assert!(!h
        .s
        .complete_control(&now, tokens[1], CommandStatus::Success));
    assert_eq!(
        h.poll().unwrap(),
        "C1 81 00 00 0C 01 17 02 00 03 01 64 00 00 00 64 00 00 00 00 \
         01 03 01 64 00 00 00 64 00 00 00 06"
    );
}

#[test]
fn deferred_operates_not_completed_in_time_are_answered_timeout() {
    let (mut h, controls) = later();
    assert_eq!(h.ask(&format!("C1 05 {TWO_CROBS}")), None);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.poll(), None);
    let now = h.now;
    let first = controls.0.lock().unwrap()[0];
    assert!(h.s.complete_control(&now, first, CommandStatus::Success));
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.poll().unwrap(),
        "C1 81 00 00 0C 01 17 02 00 03 01 64 00 00 00 64 00 00 00 00 \
         01 03 01 64 00 00 00 64 00 00 00 01"
    );
    let second = controls.0.lock().unwrap()[1];
    let now = h.now;
    assert!(!h.s.complete_control(&now, second, CommandStatus::Success));
}

#[test]
fn a_new_request_abandons_a_held_control_response() {
    let (mut h, controls) = later();
    assert_eq!(h.ask(&format!("C1 05 {TWO_CROBS}")), None);
    assert_eq!(
        h.ask("C2 01 50 01 00 07 07").unwrap(),
        "C2 81 00 00 50 01 00 07 07 00"
    );
    let token = controls.0.lock().unwrap()[0];
    let now = h.now;
    assert!(!h.s.complete_control(&now, token, CommandStatus::Success));
    assert_eq!(h.poll(), None);
}

#[test]
fn an_operate_without_response_cannot_be_deferred() {
    let (mut h, controls) = later();
    // DIRECT_OPERATE_NR: the handler's own status stands and nothing is held.
    assert_eq!(h.ask(&format!("C1 06 {TWO_CROBS}")), None);
    assert!(controls.0.lock().unwrap().is_empty());
    assert_eq!(
        h.ask("C2 01 50 01 00 07 07").unwrap(),
        "C2 81 00 00 50 01 00 07 07 00"
    );
}

#[test]
fn a_deferred_operate_creates_its_command_event_with_the_final_status() {
    let controls = LaterControls::default();
    let mut h = Harness::with(
        config().with_command_events(true),
        database(&[(
            PointType::BinaryOutputStatus,
            0..2,
            online().with_class(EventClass::Class1),
        )]),
        Box::new(controls.clone()),
        Box::new(DefaultApplication),
    );
    h.clear_restart();
    let crob = "0C 01 17 01 01 03 01 64 00 00 00 64 00 00 00 00";
    assert_eq!(h.ask(&format!("C1 05 {crob}")), None);
    assert_eq!(
        h.s.database().buffered_events(),
        0,
        "the status is not known yet"
    );
    let token = controls.0.lock().unwrap()[0];
    let now = h.now;
    assert!(h
        .s
        .complete_control(&now, token, CommandStatus::HardwareError));
    assert!(h.poll().unwrap().ends_with("00 00 00 06"));
    // g13v2: state on (bit 7) with status 6 (HARDWARE_ERROR).
    assert_eq!(
        h.ask("C2 01 3C 02 06").unwrap(),
        "E2 81 00 00 0D 02 28 01 00 01 00 86 40 42 0F 00 00 00"
    );
}
