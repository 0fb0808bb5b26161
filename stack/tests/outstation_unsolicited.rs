//! End-to-end tests of the sans-I/O outstation session, unsolicited responses: the null
//! response after the link comes up, event reports until confirmed, repeats, reads waiting for
//! confirms, and refusal when not allowed (IEEE 1815-2012, clause 4).

mod outstation_util;

use outstation_util::*;
use rdnp3_stack::objects::Variation;
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::Session;
use std::time::Duration;

// ---- unsolicited ----------------------------------------------------------------------

#[test]
fn a_null_unsolicited_response_follows_the_link_coming_up() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    assert_eq!(o.poll(), None);
    o.advance(Duration::from_secs(5));
    assert_eq!(
        o.poll().unwrap(),
        "F1 82 80 00",
        "retried with the next SEQ"
    );
    o.send("D1 00");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll(), None);
    assert_eq!(o.s.deadline(), None);
}

#[test]
fn reads_wait_for_the_confirm_of_an_unsolicited_event_response() {
    let mut o = unsolicited();
    o.poll().unwrap();
    o.send("D0 00");
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 80 00");
    o.apply(&[Update::binary(1, true)]);
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    assert_eq!(o.ask("C1 01 3C 01 06"), None);
    assert!(
        o.ask("C2 17").unwrap().starts_with("C2 81"),
        "other requests are served"
    );
    o.send("C3 01 3C 01 06");
    assert_eq!(
        o.ask("D1 00").unwrap(),
        "C3 81 80 00 01 02 00 00 03 02 81 02 02"
    );
}

#[test]
fn reads_do_not_wait_for_the_confirm_of_the_null_unsolicited_response() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 02 00 00 03 02 02 02 02"
    );
    assert_eq!(o.ask("D0 00"), None, "the null response is confirmed");
    assert_eq!(o.s.deadline(), None);
}

#[test]
fn events_of_enabled_classes_are_reported_unsolicited_until_confirmed() {
    let mut o = unsolicited();
    o.poll().unwrap();
    o.send("D0 00");
    o.apply(&[Update::binary(1, true)]);
    assert_eq!(o.poll(), None, "classes start disabled");
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 82 00");
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    assert_eq!(o.poll(), None);
    o.send("D1 00");
    assert_eq!(o.s.database().buffered_events(), 0);
    o.apply(&[Update::binary(1, false)]);
    assert_eq!(o.poll().unwrap(), "F2 82 80 00 02 01 28 01 00 01 00 01");
    // A solicited confirm does not confirm an unsolicited response.
    o.send("C2 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(o.ask("C1 15 3C 02 06").unwrap(), "C1 81 80 00");
}

#[test]
fn an_unconfirmed_unsolicited_response_is_repeated_then_its_events_wait() {
    let cfg = OutstationConfig::default()
        .with_need_time_at_start(false)
        .with_unsolicited_retries(Some(1));
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    let mut o = Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]));
    o.poll().unwrap();
    o.send("D0 00");
    o.ask("C0 14 3C 02 06").unwrap();
    o.apply(&[Update::binary(2, true)]);
    let first = o.poll().unwrap();
    assert_eq!(first, "F1 82 80 00 02 01 28 01 00 02 00 81");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll().unwrap(), first, "repeated byte for byte");
    o.advance(Duration::from_secs(5));
    assert_eq!(
        o.poll().unwrap(),
        first.replacen("F1", "F2", 1),
        "retries used up: the events go with the next SEQ"
    );
    o.send("D2 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn octet_string_events_carry_their_bytes() {
    let mut o = Outstation::new(
        config(),
        database(&[(
            PointType::OctetString,
            0..2,
            PointConfig::new(EventClass::Class1),
        )]),
    );
    o.apply(&[
        Update::octet_string(1, b"bb"),
        Update::octet_string(0, b"a"),
    ]);
    assert_eq!(
        o.ask("C0 01 3C 02 06").unwrap(),
        "E0 81 80 00 6F 02 28 01 00 01 00 62 62 6F 01 28 01 00 00 00 61"
    );
}

#[test]
fn unsolicited_reporting_refused_when_not_allowed() {
    let mut o = class1_binaries();
    assert_eq!(o.poll(), None);
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 80 01");
}
