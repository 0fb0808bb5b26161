//! An outstation on its default configuration polled by a master that does not confirm its
//! unsolicited responses: once one went unconfirmed, READs are answered at once instead of
//! waiting for a confirm that never comes (IEEE 1815-2012, clause 4).

mod common;

use common::{database, Harness};
use rdnp3_stack::objects::Variation;
use rdnp3_stack::outstation::*;
use std::time::Duration;

/// Unsolicited reporting on its default (allowed), class 1 binaries.
fn defaults() -> Harness {
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    Harness::new(
        OutstationConfig::default().with_need_time_at_start(false),
        database(&[(PointType::BinaryInput, 0..4, c)]),
    )
}

#[test]
fn reads_are_answered_at_once_after_the_null_unsolicited_response_went_unconfirmed() {
    let mut o = defaults();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    // Never confirmed: the null response is repeated.
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll().unwrap(), "F1 82 80 00");
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 02 00 00 03 02 02 02 02"
    );
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll().unwrap(), "F2 82 80 00");
    assert!(o.ask("C1 01 3C 01 06").unwrap().starts_with("C1 81"));
}

#[test]
fn a_read_after_an_unconfirmed_event_response_gets_its_events() {
    let mut o = defaults();
    o.poll().unwrap();
    o.send("D0 00");
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 80 00");
    o.apply(&[Update::binary(1, true)]);
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    // The master stops confirming: the response is repeated, and a READ gets the events.
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        "E1 81 80 00 02 01 28 01 00 01 00 81"
    );
    o.send("C1 00");
    assert_eq!(o.s.database().buffered_events(), 0);
    assert_eq!(o.poll(), None, "nothing left to report");
}
