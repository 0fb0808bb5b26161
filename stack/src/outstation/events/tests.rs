//! Unit tests of the event buffers: overflow, selection order, fragments and octet strings.

use super::*;
use crate::app::{AppControl, Fragment, FunctionCode, Iin};

fn event(ty: PointType, index: u16, class: EventClass, value: PointValue) -> NewEvent<'static> {
    NewEvent {
        ty,
        index,
        class,
        variation: ty.default_event_variation(),
        value,
        flags: 1,
        time: Timestamp(index.into()),
        bytes: &[],
    }
}

fn caps(n: usize) -> [usize; TYPE_COUNT] {
    [n; TYPE_COUNT]
}

#[test]
fn a_full_ring_drops_the_oldest_and_sets_overflow() {
    let mut b = EventBuffers::new(caps(2));
    for i in 0..3 {
        b.push(event(
            PointType::Counter,
            i,
            EventClass::Class1,
            PointValue::Counter(i.into()),
        ));
    }
    assert_eq!((b.len(), b.dropped(), b.overflow()), (2, 1, true));
    assert_eq!(b.select(EventFilter::Classes(Classes::EVENTS), Some(1)), 1);
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::NONE,
    )
    .unwrap();
    assert_eq!(b.write_selected(&mut w, false), (1, true));
    // The oldest kept event is index 1.
    assert_eq!(
        &w.as_bytes()[4..],
        &[22, 1, 0x28, 1, 0, 1, 0, 1, 1, 0, 0, 0]
    );
    assert_eq!(b.remove_written(), 1);
    assert!(!b.overflow(), "room again after the master read events");
}

#[test]
fn count_limited_selection_takes_the_oldest_across_types() {
    let mut b = EventBuffers::new(caps(10));
    b.push(event(
        PointType::AnalogInput,
        1,
        EventClass::Class1,
        PointValue::Analog(1.0),
    ));
    b.push(event(
        PointType::BinaryInput,
        2,
        EventClass::Class1,
        PointValue::Binary(true),
    ));
    b.push(event(
        PointType::AnalogInput,
        3,
        EventClass::Class1,
        PointValue::Analog(3.0),
    ));
    assert_eq!(b.select(EventFilter::Classes(Classes::CLASS1), Some(2)), 2);
    let selected: Vec<_> = b
        .records()
        .filter(|r| r.state == EventState::Selected)
        .map(|r| r.index)
        .collect();
    assert_eq!(selected, [2, 1]);
    assert_eq!(b.unreported_classes(), Classes::CLASS1);
    b.unselect_all();
    assert!(!b.has_selected());
}

#[test]
fn events_that_do_not_fit_stay_selected() {
    let mut b = EventBuffers::new(caps(10));
    for i in 0..5 {
        b.push(event(
            PointType::BinaryInput,
            i,
            EventClass::Class2,
            PointValue::Binary(true),
        ));
    }
    b.select(EventFilter::Classes(Classes::CLASS2), None);
    let mut buf = [0u8; 4 + 5 + 2 * 9];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::NONE,
    )
    .unwrap();
    assert_eq!(b.write_selected(&mut w, false), (2, false));
    let f = Fragment::parse(w.as_bytes()).unwrap();
    let h = f.objects().next().unwrap().unwrap();
    assert_eq!((h.variation, h.count), (Variation::Group2Var2, 2));
    assert!(b.has_selected());
    assert_eq!(b.unreported_classes(), Classes::CLASS2);
    assert_eq!(b.remove_written(), 2);
    assert_eq!(b.len(), 3);
}

#[test]
fn octet_string_events_keep_their_bytes() {
    let mut b = EventBuffers::new(caps(1));
    let mut e = event(
        PointType::OctetString,
        0,
        EventClass::Class3,
        PointValue::OctetString { len: 2 },
    );
    e.bytes = b"hi";
    b.push(e);
    e.bytes = b"yo";
    b.push(e);
    assert_eq!(b.first_octets(), Some(&b"yo"[..]));
    assert_eq!(b.dropped(), 1);
}

#[test]
fn relative_times_fit_only_within_16_bits_after_the_cto() {
    let cto = Timestamp(1_000);
    assert!(relative_fits(cto, Timestamp(1_000)));
    assert!(relative_fits(cto, Timestamp(1_000 + 0xFFFF)));
    assert!(!relative_fits(cto, Timestamp(1_000 + 0x1_0000)));
    assert!(!relative_fits(cto, Timestamp(999)));
}

#[test]
fn a_cto_is_not_written_without_room_for_an_event_after_it() {
    let mut b = EventBuffers::new(caps(4));
    let mut e = event(
        PointType::BinaryInput,
        0,
        EventClass::Class1,
        PointValue::Binary(true),
    );
    e.variation = Variation::Group2Var3;
    b.push(e);
    b.select(EventFilter::Classes(Classes::CLASS1), None);
    let mut buf = [0u8; 4 + CTO_ROOM - 1];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::NONE,
    )
    .unwrap();
    assert_eq!(b.write_selected(&mut w, false), (0, false));
    assert_eq!(w.len(), 4, "nothing written");
}
