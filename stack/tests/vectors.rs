//! Known-answer vectors (worked examples and frames from public DNP3 references): every complete frame parses to the stated
//! content and formats back byte-identical; every complete application fragment parses to its
//! stated objects and, where this stack writes that fragment, is written byte-identical.

use rdnp3_stack::app::{
    AppControl, AppErrorKind, Fragment, FragmentWriter, FunctionCode, Iin, Range,
};
use rdnp3_stack::link::{crc, format_frame, LinkFrame, LinkFunction, LinkParser};
use rdnp3_stack::objects::{CommandStatus, DoubleBit, OpType, Point, Timestamp, Value, Variation};
use rdnp3_stack::transport::TransportHeader;
use rdnp3_testkit::hex::bytes as hex;

/// Parses exactly one frame from `s`, then formats it again and compares bytes.
fn frame(s: &str) -> (rdnp3_stack::link::LinkHeader, Vec<u8>) {
    let bytes = hex(s);
    let mut parser = LinkParser::new();
    let mut frames = Vec::new();
    parser.feed(&bytes, |f| {
        let f: LinkFrame<'_> = f.unwrap_or_else(|e| panic!("{s}: {e}"));
        frames.push((f.header, f.user_data.to_vec()));
    });
    assert_eq!(frames.len(), 1, "{s}");
    assert!(parser.finish().is_none());
    let (header, user) = frames.pop().unwrap();
    let mut out = [0u8; 292];
    let n = format_frame(&header, &user, &mut out).unwrap();
    assert_eq!(&out[..n], &bytes[..], "format back: {s}");
    (header, user)
}

/// The application fragment carried by a single-segment frame.
fn app(user: &[u8]) -> &[u8] {
    let t = TransportHeader::from_byte(user[0]);
    assert!(t.fir && t.fin);
    &user[1..]
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

fn points(fragment: &[u8]) -> Vec<(Variation, u8, Vec<Point<'_>>)> {
    let f = Fragment::parse(fragment).unwrap();
    f.objects()
        .map(|h| {
            let h = h.unwrap();
            (h.variation, h.qualifier, h.points().collect())
        })
        .collect()
}

#[test]
fn crc_vectors() {
    assert_eq!(crc(b"123456789"), 0xEA82);
    assert_eq!(crc(&hex("05 64 05 C0 01 00 00 04")), 0x21E9);
    assert_eq!(crc(&[0; 16]), 0xFFFF);
    assert_eq!(crc(&hex("C0 C0 01 3C 01 06")), 0x50FF);
}

#[test]
fn link_control_frames_from_the_reference() {
    let cases: &[(&str, bool, LinkFunction, u16, u16)] = &[
        (
            "05 64 05 C0 01 00 00 04 E9 21",
            true,
            LinkFunction::ResetLinkStates,
            1,
            1024,
        ),
        (
            "05 64 05 00 00 04 01 00 19 A6",
            false,
            LinkFunction::Ack,
            1024,
            1,
        ),
        (
            "05 64 05 10 00 04 01 00 8B 0C",
            false,
            LinkFunction::Ack,
            1024,
            1,
        ),
        (
            "05 64 05 80 01 00 00 04 53 11",
            true,
            LinkFunction::Ack,
            1,
            1024,
        ),
        (
            "05 64 05 90 01 00 00 04 C1 BB",
            true,
            LinkFunction::Ack,
            1,
            1024,
        ),
        (
            "05 64 05 49 01 00 00 04 D2 36",
            false,
            LinkFunction::RequestLinkStatus,
            1,
            1024,
        ),
        (
            "05 64 05 40 00 04 01 00 A3 96",
            false,
            LinkFunction::ResetLinkStates,
            1024,
            1,
        ),
        (
            "05 64 05 C9 03 00 04 00 BD 71",
            true,
            LinkFunction::RequestLinkStatus,
            3,
            4,
        ),
        (
            "05 64 05 C9 00 04 01 00 98 81",
            true,
            LinkFunction::RequestLinkStatus,
            1024,
            1,
        ),
        (
            "05 64 05 0B 01 00 00 04 64 40",
            false,
            LinkFunction::LinkStatus,
            1,
            1024,
        ),
        (
            "05 64 05 C0 00 04 01 00 D7 F7",
            true,
            LinkFunction::ResetLinkStates,
            1024,
            1,
        ),
        (
            "05 64 05 00 01 00 00 04 27 70",
            false,
            LinkFunction::Ack,
            1,
            1024,
        ),
        (
            "05 64 05 9B 01 00 00 04 82 8B",
            true,
            LinkFunction::LinkStatus,
            1,
            1024,
        ),
        (
            "05 64 05 1F 01 00 00 04 EE 66",
            false,
            LinkFunction::NotSupported,
            1,
            1024,
        ),
    ];
    for &(s, dir, function, dst, src) in cases {
        let (h, user) = frame(s);
        assert_eq!(h.control.dir, dir, "{s}");
        assert_eq!(h.control.function, function, "{s}");
        assert_eq!((h.destination, h.source), (dst, src), "{s}");
        assert!(user.is_empty());
    }
    let (h, _) = frame("05 64 05 10 00 04 01 00 8B 0C");
    assert!(h.control.dfc);
}

#[test]
fn l9_confirmed_integrity_poll() {
    let (h, user) =
        frame("05 64 14 F3 01 00 00 04 0A 3B C0 C3 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06 9A 12");
    assert_eq!(h.control.function, LinkFunction::ConfirmedUserData);
    assert!(h.control.fcb && h.control.fcv);
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(f.function, FunctionCode::Read);
    assert_eq!(f.control.seq, 3);
    let classes: Vec<_> = f.objects().map(|h| h.unwrap().variation).collect();
    assert_eq!(
        classes,
        [
            Variation::Group60Var2,
            Variation::Group60Var3,
            Variation::Group60Var4,
            Variation::Group60Var1
        ]
    );
    // The same request written by the writer.
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(3), FunctionCode::Read).unwrap();
    for v in classes {
        w.all(v).unwrap();
    }
    assert_eq!(w.as_bytes(), app(&user));
}

#[test]
fn l10_l11_direct_operate_crob_and_echo() {
    let (h, user) = frame("05 64 1A C4 02 00 01 00 A5 E9 FF C9 05 0C 01 28 01 00 00 00 01 01 01 00 00 00 72 EF 00 00 00 00 00 FF FF");
    assert_eq!(TransportHeader::from_byte(user[0]).seq, 63);
    assert_eq!((h.destination, h.source), (2, 1));
    let objs = points(app(&user));
    assert_eq!(objs.len(), 1);
    let (v, q, pts) = &objs[0];
    assert_eq!((*v, *q), (Variation::Group12Var1, 0x28));
    let Value::Crob(c) = pts[0].value else {
        panic!()
    };
    assert_eq!(
        (
            pts[0].index,
            c.code.op_type(),
            c.count,
            c.on_time,
            c.off_time
        ),
        (0, OpType::PulseOn, 1, 1, 0)
    );
    assert_eq!(pts[0].status, Some(0));
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(9), FunctionCode::DirectOperate)
            .unwrap();
    let mut hw = w.prefixed(Variation::Group12Var1, true).unwrap();
    hw.push(&pts[0]).unwrap();
    hw.finish();
    assert_eq!(w.as_bytes(), app(&user));

    let (_, user) = frame("05 64 1C 44 01 00 02 00 E2 59 C3 C9 81 00 00 0C 01 28 01 00 00 00 01 01 01 00 7A 65 00 00 00 00 00 00 00 FF FF");
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(
        (f.function, f.iin),
        (FunctionCode::Response, Some(Iin::NONE))
    );
    let objs = points(app(&user));
    assert_eq!(
        CommandStatus::from_u8(objs[0].2[0].status.unwrap()),
        CommandStatus::Success
    );
}

#[test]
fn section7_unsolicited_g2v2_and_its_confirm() {
    let (h, user) = frame("05 64 16 44 01 00 02 00 89 E5 C4 FA 82 00 00 02 02 17 01 01 81 A7 75 D8 32 4C 81 3E 01 A1 C9");
    assert!(!h.control.dir);
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(f.function, FunctionCode::UnsolicitedResponse);
    assert!(f.control.fir && f.control.fin && f.control.con && f.control.uns);
    assert_eq!(f.control.seq, 10);
    let objs = points(app(&user));
    let p = objs[0].2[0];
    assert_eq!(
        (objs[0].0, p.index, p.flags, p.value),
        (Variation::Group2Var2, 1, Some(0x81), Value::Bool(true))
    );
    assert_eq!(p.time, Some(Timestamp(1_426_782_188_967)));
    let mut buf = [0u8; 64];
    let control = AppControl {
        fir: true,
        fin: true,
        con: true,
        uns: true,
        seq: 10,
    };
    let mut w = FragmentWriter::response(
        &mut buf,
        control,
        FunctionCode::UnsolicitedResponse,
        Iin::NONE,
    )
    .unwrap();
    let mut hw = w.prefixed(Variation::Group2Var2, false).unwrap();
    hw.push(&p).unwrap();
    hw.finish();
    assert_eq!(w.as_bytes(), app(&user));

    let (_, user) = frame("05 64 08 C4 02 00 01 00 D3 B7 C0 DA 00 6A 3D");
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(f.function, FunctionCode::Confirm);
    assert!(f.control.uns);
    assert_eq!(f.control.seq, 10);
}

#[test]
fn l13_next_unsolicited_response() {
    let (_, user) = frame("05 64 16 44 01 00 02 00 89 E5 C5 FB 82 00 00 02 02 17 01 0C 01 D8 75 D8 32 4C C9 3C 01 A1 C9");
    assert_eq!(TransportHeader::from_byte(user[0]).seq, 5);
    let objs = points(app(&user));
    let p = objs[0].2[0];
    assert_eq!(
        (p.index, p.flags, p.value),
        (12, Some(0x01), Value::Bool(false))
    );
    assert_eq!(p.time, Some(Timestamp(0x014C32D875D8)));
}

#[test]
fn l14_read_all_binary_inputs_from_the_highest_address() {
    let (h, user) = frame("05 64 0B C4 17 00 EF FF C4 8F E1 C8 01 01 00 06 77 6E");
    assert_eq!((h.destination, h.source), (23, 0xFFEF));
    let f = Fragment::parse(app(&user)).unwrap();
    let hdr = f.objects().next().unwrap().unwrap();
    assert_eq!(
        (hdr.variation, hdr.range),
        (Variation::Group1Var0, Range::All)
    );
}

#[test]
fn l15_delete_file_free_format_object() {
    let s = "05 64 63 C4 04 00 03 00 C7 EE C7 C9 1B 46 03 5B 01 55 00 1A 00 3B 00 00 00 00 9E C7 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 00 1E 00 43 3A 2F 74 65 6D 70 2F 44 4E 50 44 65 67 7D 76 69 63 65 43 6F 6E 66 69 67 75 72 61 74 69 6F 93 0C 6E 20 77 72 69 74 74 65 6E 20 74 6F 20 52 65 6D 35 20 6F 74 65 20 44 65 76 69 63 65 2E 78 6D 6C C4 8B";
    let (_, user) = frame(s);
    assert_eq!(user.len(), 94);
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(f.function, FunctionCode::DeleteFile);
    let objs = points(app(&user));
    assert_eq!((objs[0].0, objs[0].1), (Variation::Group70Var3, 0x5B));
    let Value::Bytes(b) = objs[0].2[0].value else {
        panic!()
    };
    assert_eq!(b.len(), 85);
    assert!(b.ends_with(b"C:/temp/DNPDeviceConfiguration written to Remote Device.xml"));
}

#[test]
fn l16_multi_block_confirmed_response() {
    let s = "05 64 53 73 00 04 01 00 03 FC C1 E3 81 96 00 02 01 28 01 00 00 00 01 02 01 28 05 24 01 00 01 00 01 02 01 28 01 00 02 00 01 02 01 28 B4 77 01 00 03 00 01 20 02 28 01 00 00 00 01 00 00 20 A5 25 02 28 01 00 01 00 01 00 00 01 01 01 00 00 03 00 2F AC 00 1E 02 01 00 00 01 00 01 00 00 01 00 00 16 ED";
    let (h, user) = frame(s);
    assert_eq!(user.len(), 78);
    assert_eq!(h.control.function, LinkFunction::ConfirmedUserData);
    let f = Fragment::parse(app(&user)).unwrap();
    assert_eq!(f.control.seq, 3);
    assert!(f.control.con);
    let iin = f.iin.unwrap();
    assert!(iin.contains(
        Iin::CLASS_1_EVENTS | Iin::CLASS_2_EVENTS | Iin::NEED_TIME | Iin::DEVICE_RESTART
    ));
    let objs = points(app(&user));
    let summary: Vec<_> = objs.iter().map(|(v, q, p)| (*v, *q, p.len())).collect();
    assert_eq!(
        summary,
        [
            (Variation::Group2Var1, 0x28, 1),
            (Variation::Group2Var1, 0x28, 1),
            (Variation::Group2Var1, 0x28, 1),
            (Variation::Group2Var1, 0x28, 1),
            (Variation::Group32Var2, 0x28, 1),
            (Variation::Group32Var2, 0x28, 1),
            (Variation::Group1Var1, 0x01, 4),
            (Variation::Group30Var2, 0x01, 2),
        ]
    );
    let idx: Vec<u32> = objs[..4].iter().map(|o| o.2[0].index).collect();
    assert_eq!(idx, [0, 1, 2, 3]);
    assert_eq!(objs[5].2[0].index, 1);
    assert!(objs[6].2.iter().all(|p| p.value == Value::Bool(false)));
    assert!(objs[7]
        .2
        .iter()
        .all(|p| p.value == Value::Signed(0) && p.flags == Some(1)));
}

#[test]
fn c_frames_built_for_the_reference() {
    let requests: &[(&str, &str)] = &[
        (
            "05 64 0B C4 00 04 01 00 CA 8A C0 C0 01 3C 01 06 FF 50",
            "C0 01 3C 01 06",
        ),
        (
            "05 64 14 C4 00 04 01 00 E9 B6 C0 C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06 8A 51",
            "C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
        ),
        (
            "05 64 0B F3 00 04 01 00 17 D1 C0 C0 01 3C 01 06 FF 50",
            "C0 01 3C 01 06",
        ),
        ("05 64 08 C4 00 04 01 00 9A 19 C1 C0 00 8B 8F", "C0 00"),
        (
            "05 64 0A 44 01 00 00 04 67 88 C0 F0 82 80 00 6B 7D",
            "F0 82 80 00",
        ),
        ("05 64 08 C4 00 04 01 00 9A 19 C2 D0 00 6B 7A", "D0 00"),
        (
            "05 64 0E C4 00 04 01 00 43 72 C3 C1 02 50 01 00 07 07 00 04 71",
            "C1 02 50 01 00 07 07 00",
        ),
        (
            "05 64 0D C4 00 04 01 00 13 E1 C4 C2 01 1E 02 00 05 06 B3 C2",
            "C2 01 1E 02 00 05 06",
        ),
        (
            "05 64 15 44 01 00 00 04 44 B4 C1 C2 81 80 00 1E 02 00 05 06 01 2A 00 01 29 00 B8 48",
            "C2 81 80 00 1E 02 00 05 06 01 2A 00 01 29 00",
        ),
        (
            "05 64 12 C4 00 04 01 00 30 DD C5 C2 02 32 01 07 01 F5 00 00 00 00 00 12 F5",
            "C2 02 32 01 07 01 F5 00 00 00 00 00",
        ),
    ];
    for &(f, fragment) in requests {
        let (_, user) = frame(f);
        assert_eq!(app(&user), &hex(fragment)[..], "{f}");
        Fragment::parse(app(&user))
            .unwrap()
            .objects()
            .validate()
            .unwrap();
    }
    let (_, user) =
        frame("05 64 12 C4 00 04 01 00 30 DD C5 C2 02 32 01 07 01 F5 00 00 00 00 00 12 F5");
    let objs = points(app(&user));
    assert_eq!(objs[0].2[0].time, Some(Timestamp(245)));
}

/// Writes `w` and compares with `expect`.
fn assert_written(w: &FragmentWriter<'_>, expect: &str) {
    assert_eq!(w.as_bytes(), &hex(expect)[..], "expected {expect}");
}

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
fn controls_select_and_echo() {
    let req = hex("C0 03 29 02 17 01 03 00 00 00");
    let objs = points(&req);
    let p = objs[0].2[0];
    assert_eq!((p.index, p.value, p.status), (3, Value::Signed(0), Some(0)));
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.prefixed(Variation::Group41Var2, false)
        .unwrap()
        .push(&p)
        .unwrap();
    assert_written(&w, "C0 81 80 00 29 02 17 01 03 00 00 00");

    let req = hex("C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00");
    let objs = points(&req);
    let Value::Crob(c) = objs[0].2[0].value else {
        panic!()
    };
    assert_eq!(
        (c.code.op_type(), c.count, c.on_time, c.off_time),
        (OpType::PulseOn, 1, 1, 1)
    );
    let f = Fragment::parse(&req).unwrap();
    let h = f.objects().next().unwrap().unwrap();
    let mut buf = [0u8; 64];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    w.put(h.raw()).unwrap();
    assert_written(
        &w,
        "C0 81 80 00 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
    );

    let req = hex("C0 03 0C 01 17 01 03 51 01 01 00 00 00 01 00 00 00 00");
    let Value::Crob(c) = points(&req)[0].2[0].value else {
        panic!()
    };
    assert!(c.code.queue());
    let req = hex("C0 03 29 03 17 01 01 00 00 C8 42 00");
    assert_eq!(points(&req)[0].2[0].value, Value::Float(100.0));
}

#[test]
fn error_mapping_of_the_reference() {
    let e = Fragment::parse(&hex("C0 01 00 00 06"))
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(e.kind.iin(), Iin::OBJECT_UNKNOWN);
    assert_eq!(
        Fragment::parse(&hex("C0 22")).unwrap_err().kind,
        AppErrorKind::UnknownFunction
    );
    let mut buf = [0u8; 8];
    let w = FragmentWriter::response(
        &mut buf,
        AppControl::single(0),
        FunctionCode::Response,
        Iin::DEVICE_RESTART | Iin::NO_FUNC_CODE_SUPPORT,
    )
    .unwrap();
    assert_written(&w, "C0 81 80 01");
    let bad_range = Fragment::parse(&hex("C0 01 1E 02 00 06 05"))
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(
        (bad_range.kind, bad_range.kind.iin()),
        (AppErrorKind::BadRange, Iin::PARAMETER_ERROR)
    );
    let zero = Fragment::parse(&hex("C0 01 3C 02 07 00"))
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(zero.kind, AppErrorKind::ZeroCount);
    let trunc = Fragment::parse(&hex("C0 02 32 01 07 01 F5 00"))
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(trunc.kind, AppErrorKind::Truncated);
}

#[test]
fn procedure_snippets_of_section6() {
    let cases: &[(FunctionCode, u8, &[Variation], &str)] = &[
        (
            FunctionCode::DisableUnsolicited,
            0,
            &[
                Variation::Group60Var2,
                Variation::Group60Var3,
                Variation::Group60Var4,
            ],
            "C0 15 3C 02 06 3C 03 06 3C 04 06",
        ),
        (
            FunctionCode::Read,
            1,
            &[
                Variation::Group60Var2,
                Variation::Group60Var3,
                Variation::Group60Var4,
                Variation::Group60Var1,
            ],
            "C1 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
        ),
        (
            FunctionCode::EnableUnsolicited,
            2,
            &[
                Variation::Group60Var2,
                Variation::Group60Var3,
                Variation::Group60Var4,
            ],
            "C2 14 3C 02 06 3C 03 06 3C 04 06",
        ),
        (
            FunctionCode::AssignClass,
            0,
            &[Variation::Group60Var3, Variation::Group1Var0],
            "C0 16 3C 03 06 01 00 06",
        ),
        (
            FunctionCode::ImmedFreeze,
            0,
            &[Variation::Group20Var0],
            "C0 07 14 00 06",
        ),
    ];
    for (function, seq, headers, expect) in cases {
        let mut buf = [0u8; 64];
        let mut w = FragmentWriter::request(&mut buf, AppControl::single(*seq), *function).unwrap();
        for v in *headers {
            w.all(*v).unwrap();
        }
        assert_written(&w, expect);
        Fragment::parse(w.as_bytes())
            .unwrap()
            .objects()
            .validate()
            .unwrap();
    }
    // Clear restart: write g80v1 index 7 = 0.
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(1), FunctionCode::Write).unwrap();
    w.ranged(Variation::Group80Var1, 7, 7)
        .unwrap()
        .push(&Point::new(7, Value::Bool(false)))
        .unwrap();
    assert_written(&w, "C1 02 50 01 00 07 07 00");
    // Device attribute read of set 0, attribute 242.
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(0), FunctionCode::Read).unwrap();
    w.range_only(Variation::DeviceAttribute(242), 0, 0).unwrap();
    assert_eq!(&w.as_bytes()[2..], &hex("00 F2 00 00 00")[..]);
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
