//! End-to-end tests of the sans-I/O outstation session, how requests are handled: unsupported
//! functions and IIN bits, time writes and restarts, repeated requests, invalid control bits
//! and strangers, broadcasts, and link down and up (IEEE 1815-2012, clause 4).

mod outstation_util;

use outstation_util::*;
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::Session;
use rdnp3_testkit::hex::bytes;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- IIN, time, restart ---------------------------------------------------------------

#[test]
fn unsupported_function_is_answered_with_iin2_0() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 10").unwrap(), "C0 81 80 01");
    assert_eq!(o.ask("C1 22").unwrap(), "C1 81 80 01");
    assert_eq!(o.ask("C2 1E").unwrap(), "C2 81 80 01");
    assert_eq!(o.ask("C3 0C"), None, "no-response codes are never answered");
}

#[test]
fn restart_iin_clears_only_by_writing_index_7_to_zero() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 02 50 01 00 04 04 01").unwrap(), "C0 81 80 04");
    assert_eq!(o.ask("C1 02 50 01 00 07 07 01").unwrap(), "C1 81 80 04");
    assert_eq!(o.ask("C2 02 01 02 00 07 07 00").unwrap(), "C2 81 80 01");
    assert_eq!(o.ask("C3 02 50 01 00 07 07 00").unwrap(), "C3 81 00 00");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 00 00 34 02 07 01 00 00");
}

#[test]
fn time_write_clears_need_time() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp {
        times: Some(times.clone()),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(OutstationConfig::default(), database(&[]), app);
    assert_eq!(o.poll().unwrap(), "F0 82 90 00", "null unsolicited first");
    assert_eq!(
        o.ask("C0 15 3C 02 06 3C 03 06 3C 04 06").unwrap(),
        "C0 81 90 00"
    );
    assert_eq!(
        o.ask("C1 02 32 01 07 01 D2 04 00 00 00 00").unwrap(),
        "C1 81 80 00"
    );
    assert_eq!(*times.lock().unwrap(), [Timestamp(1234)]);
    assert_eq!(
        o.ask("C2 02 32 01 07 02 D2 04 00 00 00 00 D2 04 00 00 00 00")
            .unwrap(),
        "C2 81 80 04",
        "more than one time object"
    );
}

#[test]
fn lan_time_sync_adds_the_time_since_the_record() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp {
        times: Some(times.clone()),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(config(), database(&[]), app);
    assert_eq!(o.ask("C0 18").unwrap(), "C0 81 80 00");
    o.advance(Duration::from_millis(30));
    assert_eq!(
        o.ask("C1 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C1 81 80 00"
    );
    assert_eq!(*times.lock().unwrap(), [Timestamp(1264)]);
    // Without a preceding record, or not the very next request: parameter error.
    assert_eq!(
        o.ask("C2 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C2 81 80 04"
    );
    assert_eq!(o.ask("C3 18").unwrap(), "C3 81 80 00");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 80 00 34 02 07 01 00 00");
    assert_eq!(
        o.ask("C5 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C5 81 80 04"
    );
}

#[test]
fn requests_that_take_no_objects_refuse_them() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 17 DE AD BE EF").unwrap(), "C0 81 80 04");
    assert_eq!(o.ask("C1 18 01 02 06").unwrap(), "C1 81 80 04");
    assert_eq!(o.ask("C2 0D 01").unwrap(), "C2 81 80 04");
}

#[test]
fn restarts_are_answered_with_the_applications_delay() {
    let app = TestApp {
        cold: Some(Duration::from_millis(1)),
        warm: Some(Duration::from_secs(65535)),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(config(), database(&[]), app);
    assert_eq!(o.ask("C1 0D").unwrap(), "C1 81 80 00 34 02 07 01 01 00");
    assert_eq!(o.ask("C2 0E").unwrap(), "C2 81 80 00 34 01 07 01 FF FF");
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C1 0D").unwrap(), "C1 81 80 01");
}

#[test]
fn repeated_request_is_answered_from_history_without_executing_again() {
    let mut o = outputs();
    let op = "C3 05 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00";
    let answer = o.ask(op).unwrap();
    assert_eq!(
        answer,
        "C3 81 80 00 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00"
    );
    assert_eq!(o.ask(op).unwrap(), answer);
    assert_eq!(o.operations(), 1);
    assert_eq!(o.s.stats().duplicate_requests, 1);
    // After a confirm the same bytes are a new request.
    o.send("C3 00");
    assert_eq!(o.ask(op).unwrap(), answer);
    assert_eq!(o.operations(), 2);
}

#[test]
fn requests_with_invalid_control_bits_or_from_strangers_are_ignored() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("E0 17"), None, "CON set");
    assert_eq!(o.ask("40 17"), None, "FIR missing");
    assert_eq!(o.ask("D0 01 3C 01 06"), None, "UNS on a READ");
    assert_eq!(o.ask("C0 81 00 00"), None, "a response");
    o.s.on_fragment(&o.now, 7, AddressKind::Station, &bytes("C0 17"));
    assert_eq!(o.poll(), None, "another source");
    assert_eq!(o.ask("C0"), None, "too short");
    assert!(o.s.stats().malformed_requests >= 4);
}

// ---- broadcast and link -----------------------------------------------------------------

#[test]
fn broadcasts_are_acted_on_silently_and_reported_once() {
    let mut o = binaries(1, online());
    o.send_to(
        "C0 02 50 01 00 07 07 00",
        AddressKind::BroadcastOptionalConfirm,
    );
    assert_eq!(o.poll(), None);
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 01 00 34 02 07 01 00 00");
    assert_eq!(o.ask("C2 17").unwrap(), "C2 81 00 00 34 02 07 01 00 00");
    o.send_to("C3 17", AddressKind::BroadcastDontConfirm);
    assert_eq!(o.poll(), None, "not acted on, still reported");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 01 00 34 02 07 01 00 00");
}

#[test]
fn a_mandatory_confirm_broadcast_is_reported_until_confirmed() {
    let mut o = binaries(1, online());
    o.ask("C0 02 50 01 00 07 07 00").unwrap();
    o.send_to(
        "C1 02 50 01 00 07 07 00",
        AddressKind::BroadcastShallConfirm,
    );
    assert_eq!(o.ask("C2 01 3C 02 06").unwrap(), "E2 81 01 00");
    assert_eq!(o.ask("C3 01 3C 02 06").unwrap(), "E3 81 01 00");
    o.send("C3 00");
    assert_eq!(o.ask("C4 01 3C 02 06").unwrap(), "C4 81 00 00");
}

#[test]
fn broadcast_direct_operate_no_ack_is_executed() {
    let mut o = outputs();
    o.send_to(
        "C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00",
        AddressKind::BroadcastOptionalConfirm,
    );
    assert_eq!(o.operations(), 1);
    o.send_to(SELECT_3, AddressKind::BroadcastOptionalConfirm);
    assert_eq!((o.poll(), o.operations()), (None, 1));
}

#[test]
fn link_down_drops_the_exchange_and_keeps_the_events() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    let answer = o.ask("C0 01 3C 02 06").unwrap();
    o.s.on_link_down(&o.now);
    assert_eq!(o.s.deadline(), None);
    o.s.on_link_up(&o.now);
    o.send("C0 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        answer.replacen("E0", "E1", 1)
    );
}

#[test]
fn an_unconfirmed_null_response_is_sent_again_after_reconnecting() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    o.s.on_link_down(&o.now);
    assert_eq!(o.poll(), None);
    o.s.on_link_up(&o.now);
    assert_eq!(o.poll().unwrap(), "F1 82 80 00");
    o.send("D1 00");
    o.s.on_link_down(&o.now);
    o.s.on_link_up(&o.now);
    assert_eq!(o.poll(), None, "once per restart");
}
