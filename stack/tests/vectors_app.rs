//! Known-answer vectors (worked examples from public DNP3 references), application layer and
//! objects: reads and their responses, counters, analogs and frozen counters, time and
//! restarts, octet strings, events, multi-fragment responses, relative-time events, packed
//! bits and device attributes. Every complete application fragment parses to its stated
//! objects and, where this stack writes that fragment, is written byte-identical.

mod vectors_util;

use rdnp3_stack::app::{AppControl, AppErrorKind, Fragment, FragmentWriter, FunctionCode, Iin};
use rdnp3_stack::objects::{DoubleBit, Point, Timestamp, Value, Variation};
use rdnp3_testkit::hex::bytes as hex;
use vectors_util::*;

#[test]
fn class0_read_and_packed_binary_response() {
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(0), FunctionCode::Read).unwrap();
    w.all(Variation::Group60Var1).unwrap();
    assert_written(&w, "C0 01 3C 01 06");

    let resp = hex("C0 81 80 00 01 01 00 00 09 00 00");
    let objs = points(&resp);
    assert_eq!(objs[0].2.len(), 10);
    assert!(objs[0]
        .2
        .iter()
        .enumerate()
        .all(|(i, p)| p.index == i as u32 && p.value == Value::Bool(false)));
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group1Var1, 0, 9).unwrap();
    for i in 0..10 {
        h.push(&Point::new(i, Value::Bool(false))).unwrap();
    }
    h.finish();
    assert_written(&w, "C0 81 80 00 01 01 00 00 09 00 00");

    let resp = hex("C0 81 80 00 01 02 00 00 01 02 02");
    let objs = points(&resp);
    assert!(objs[0]
        .2
        .iter()
        .all(|p| p.flags == Some(0x02) && p.value == Value::Bool(false)));
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group1Var2, 0, 1).unwrap();
    for i in 0..2 {
        h.push(&Point::new(i, Value::Bool(false)).with_flags(2))
            .unwrap();
    }
    drop(h);
    assert_written(&w, "C0 81 80 00 01 02 00 00 01 02 02");
}

#[test]
fn read_by_range_and_g30v2_response() {
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(2), FunctionCode::Read).unwrap();
    w.range_only(Variation::Group30Var2, 5, 6).unwrap();
    assert_written(&w, "C2 01 1E 02 00 05 06");
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(2),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group30Var2, 5, 6).unwrap();
    h.push(&Point::new(5, Value::Signed(42)).with_flags(1))
        .unwrap();
    h.push(&Point::new(6, Value::Signed(41)).with_flags(1))
        .unwrap();
    h.finish();
    assert_written(&w, "C2 81 80 00 1E 02 00 05 06 01 2A 00 01 29 00");
    let objs = points(w.as_bytes());
    let vals: Vec<_> = objs[0].2.iter().map(|p| (p.index, p.value)).collect();
    assert_eq!(vals, [(5, Value::Signed(42)), (6, Value::Signed(41))]);
}

#[test]
fn read_by_index_prefix_has_indices_but_no_data() {
    let req = hex("C0 01 01 02 17 02 00 02");
    let f = Fragment::parse(&req).unwrap();
    let h = f.objects().next().unwrap().unwrap();
    let idx: Vec<_> = h.points().map(|p| (p.index, p.value)).collect();
    assert_eq!(idx, [(0, Value::None), (2, Value::None)]);
    let resp = hex("C0 81 80 00 01 02 00 00 00 02 01 02 00 02 02 02");
    let objs = points(&resp);
    assert_eq!(objs.len(), 2);
    assert_eq!((objs[0].2[0].index, objs[1].2[0].index), (0, 2));
}

#[test]
fn counters_analogs_and_frozen_counters() {
    let objs = points(leak(hex("C0 81 80 00 14 01 00 00 00 01 05 00 00 00")));
    assert_eq!(
        (objs[0].2[0].value, objs[0].2[0].flags),
        (Value::Unsigned(5), Some(1))
    );
    let objs = points(leak(hex("C0 81 80 00 1E 05 00 00 00 01 33 33 BF 42")));
    assert_eq!(objs[0].2[0].value, Value::Float(f64::from(95.6f32)));
    let objs = points(leak(hex(
        "C0 81 80 00 1E 06 00 00 00 01 00 00 00 00 00 00 34 C0",
    )));
    assert_eq!(objs[0].2[0].value, Value::Float(-20.0));

    let cases: &[(Variation, Point<'_>, &str)] = &[
        (
            Variation::Group20Var1,
            Point::new(0, Value::Unsigned(5)).with_flags(1),
            "14 01 00 00 00 01 05 00 00 00",
        ),
        (
            Variation::Group30Var5,
            Point::new(0, Value::Float(95.6)).with_flags(1),
            "1E 05 00 00 00 01 33 33 BF 42",
        ),
        (
            Variation::Group30Var6,
            Point::new(0, Value::Float(-20.0)).with_flags(1),
            "1E 06 00 00 00 01 00 00 00 00 00 00 34 C0",
        ),
        (
            Variation::Group21Var5,
            Point::new(0, Value::Unsigned(41))
                .with_flags(1)
                .with_time(Timestamp(240_607_800_000)),
            "15 05 00 00 00 01 29 00 00 00 C0 AA 57 05 38 00",
        ),
    ];
    for (v, p, expect) in cases {
        let mut buf = [0u8; 64];
        let mut w = FragmentWriter::response(
            &mut buf,
            AppControl::single(0),
            FunctionCode::Response,
            Iin::DEVICE_RESTART,
        )
        .unwrap();
        w.ranged(*v, 0, 0).unwrap().push(p).unwrap();
        assert_written(&w, &format!("C0 81 80 00 {expect}"));
    }
    let objs = points(leak(hex(
        "C4 81 80 00 15 05 00 00 00 01 29 00 00 00 C0 AA 57 05 38 00",
    )));
    assert_eq!(objs[0].2[0].time, Some(Timestamp(240_607_800_000)));
}

#[test]
fn time_delay_restart_and_time_writes() {
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.single(Variation::Group52Var2, &Point::new(0, Value::Unsigned(0)))
        .unwrap();
    assert_written(&w, "C0 81 80 00 34 02 07 01 00 00");
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(1),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.single(Variation::Group52Var2, &Point::new(0, Value::Unsigned(1)))
        .unwrap();
    assert_written(&w, "C1 81 80 00 34 02 07 01 01 00");
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(1),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.single(
        Variation::Group52Var1,
        &Point::new(0, Value::Unsigned(65535)),
    )
    .unwrap();
    assert_written(&w, "C1 81 80 00 34 01 07 01 FF FF");

    for (v, expect) in [
        (
            Variation::Group50Var3,
            "C1 02 32 03 07 01 D2 04 00 00 00 00",
        ),
        (
            Variation::Group50Var1,
            "C1 02 32 01 07 01 D2 04 00 00 00 00",
        ),
    ] {
        let mut buf = [0u8; 64];
        let mut w =
            FragmentWriter::request(&mut buf, AppControl::single(1), FunctionCode::Write).unwrap();
        w.single(v, &Point::new(0, Value::None).with_time(Timestamp(1234)))
            .unwrap();
        assert_written(&w, expect);
        let objs = points(w.as_bytes());
        assert_eq!(objs[0].2[0].time, Some(Timestamp(1234)));
    }
    let mut buf = [0u8; 64];
    let w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    assert_written(&w, "C0 81 80 00");

    let objs = points(leak(hex(
        "C0 81 80 00 32 04 00 00 00 09 00 00 00 00 00 03 00 00 00 05",
    )));
    let p = objs[0].2[0];
    assert_eq!(
        (p.time, p.value),
        (
            Some(Timestamp(9)),
            Value::Interval {
                interval: 3,
                units: 5
            }
        )
    );
}

#[test]
fn octet_strings() {
    let bytes = hex("C0 81 80 00 6E 01 00 00 00 61 6E 02 00 01 01 62 62");
    let objs = points(&bytes);
    assert_eq!(objs[0].2[0].value, Value::Bytes(b"a"));
    assert_eq!(
        (objs[1].2[0].index, objs[1].2[0].value),
        (1, Value::Bytes(b"bb"))
    );
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.ranged(Variation::OctetString(1), 0, 0)
        .unwrap()
        .push(&Point::new(0, Value::Bytes(b"a")))
        .unwrap();
    w.ranged(Variation::OctetString(2), 1, 1)
        .unwrap()
        .push(&Point::new(1, Value::Bytes(b"bb")))
        .unwrap();
    assert_eq!(w.as_bytes(), &bytes[..]);
    let req = hex("C0 01 6E 00 06");
    assert_eq!(points(&req)[0].0, Variation::OctetString(0));
}

#[test]
fn class1_read_limited_to_one_event() {
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(0), FunctionCode::Read).unwrap();
    w.count_only(Variation::Group60Var2, 1).unwrap();
    assert_written(&w, "C0 01 3C 02 07 01");
    let resp = hex("E0 81 82 00 02 01 28 01 00 02 00 01");
    let f = Fragment::parse(&resp).unwrap();
    assert!(f.control.con);
    assert!(f.iin.unwrap().contains(Iin::CLASS_1_EVENTS));
    let mut buf = [0u8; 64];
    let control = AppControl {
        con: true,
        ..AppControl::single(0)
    };
    let mut w = FragmentWriter::response(
        &mut buf,
        control,
        FunctionCode::Response,
        Iin::DEVICE_RESTART | Iin::CLASS_1_EVENTS,
    )
    .unwrap();
    w.prefixed(Variation::Group2Var1, true)
        .unwrap()
        .push(&Point::new(2, Value::Bool(false)).with_flags(1))
        .unwrap();
    assert_eq!(w.as_bytes(), &resp[..]);
}

#[test]
fn unsolicited_event_and_confirm() {
    let resp = hex("F1 82 80 00 02 01 28 01 00 00 00 81");
    let objs = points(&resp);
    assert_eq!(objs[0].2[0].value, Value::Bool(true));
    let mut buf = [0u8; 8];
    let w = FragmentWriter::request(
        &mut buf,
        AppControl {
            uns: true,
            ..AppControl::single(1)
        },
        FunctionCode::Confirm,
    )
    .unwrap();
    assert_written(&w, "D1 00");
}

#[test]
fn last_fragment_of_a_multi_fragment_response() {
    let objs = points(leak(hex(
        "43 81 80 00 1E 01 00 06 07 01 00 00 00 00 01 00 00 00 00",
    )));
    let v: Vec<_> = objs[0]
        .2
        .iter()
        .map(|p| (p.index, p.value, p.flags))
        .collect();
    assert_eq!(
        v,
        [
            (6, Value::Signed(0), Some(1)),
            (7, Value::Signed(0), Some(1))
        ]
    );
    let f = Fragment::parse(leak(hex("43 81 80 00"))).unwrap();
    assert!(!f.control.fir && f.control.fin && !f.control.con);
}

#[test]
fn relative_time_events_resolve_against_the_cto() {
    let bytes = hex(
        "C0 81 00 00 33 01 07 01 AA 00 00 00 00 00 02 03 28 02 00 06 00 81 0B 00 07 00 81 0C 00",
    );
    let objs = points(&bytes);
    let ev: Vec<_> = objs[1].2.iter().map(|p| (p.index, p.time)).collect();
    assert_eq!(
        ev,
        [
            (6, Some(Timestamp(0xAA + 0x0B))),
            (7, Some(Timestamp(0xAA + 0x0C)))
        ]
    );
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::NONE,
    )
    .unwrap();
    w.single(
        Variation::Group51Var1,
        &Point::new(0, Value::None).with_time(Timestamp(0xAA)),
    )
    .unwrap();
    let mut h = w.prefixed(Variation::Group2Var3, true).unwrap();
    h.set_cto(Timestamp(0xAA));
    for p in &objs[1].2 {
        h.push(p).unwrap();
    }
    h.finish();
    assert_eq!(w.as_bytes(), &bytes[..]);

    let objs = points(leak(hex(
        "C0 81 00 00 33 01 07 01 03 00 00 00 00 00 02 03 17 01 07 81 02 00 02 03 17 01 08 81 03 00",
    )));
    assert_eq!(
        (objs[1].2[0].index, objs[1].2[0].time),
        (7, Some(Timestamp(5)))
    );
    assert_eq!(
        (objs[2].2[0].index, objs[2].2[0].time),
        (8, Some(Timestamp(6)))
    );

    let e = Fragment::parse(&hex("C0 81 00 00 02 03 17 01 07 81 02 00"))
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(e.kind, AppErrorKind::MissingCto);
}

#[test]
fn packed_bits_and_double_bits_decode_lsb_first() {
    let objs = points(leak(hex("C0 81 80 00 01 01 00 03 06 09")));
    let v: Vec<_> = objs[0].2.iter().map(|p| (p.index, p.value)).collect();
    assert_eq!(
        v,
        [
            (3, Value::Bool(true)),
            (4, Value::Bool(false)),
            (5, Value::Bool(false)),
            (6, Value::Bool(true))
        ]
    );
    // Double-bit: indices 0..3 = intermediate, off, on, indeterminate → 0b11_10_01_00.
    let objs = points(leak(hex("C0 81 80 00 03 01 00 00 03 E4")));
    let v: Vec<_> = objs[0].2.iter().map(|p| p.value).collect();
    assert_eq!(
        v,
        [
            Value::DoubleBit(DoubleBit::Intermediate),
            Value::DoubleBit(DoubleBit::DeterminedOff),
            Value::DoubleBit(DoubleBit::DeterminedOn),
            Value::DoubleBit(DoubleBit::Indeterminate)
        ]
    );
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group3Var1, 0, 3).unwrap();
    for (i, v) in v.iter().enumerate() {
        h.push(&Point::new(i as u32, *v)).unwrap();
    }
    h.finish();
    assert_written(&w, "C0 81 80 00 03 01 00 00 03 E4");
}

#[test]
fn device_attributes_parse() {
    // Set 0, attribute 242 (software version) = VSTR "1.2".
    let bytes = hex("C0 81 00 00 00 F2 00 00 00 01 03 31 2E 32 00 F0 00 00 00 02 02 00 08");
    let objs = points(&bytes);
    let Value::Attribute(a) = objs[0].2[0].value else {
        panic!()
    };
    assert_eq!(a.as_str(), Some("1.2"));
    let Value::Attribute(a) = objs[1].2[0].value else {
        panic!()
    };
    assert_eq!(a.as_unsigned(), Some(2048));
}
