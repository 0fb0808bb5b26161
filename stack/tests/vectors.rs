//! Known-answer vectors (worked examples and frames from public DNP3 references), link and
//! transport layers: the CRC, link control frames, and complete frames carrying application
//! fragments. Every complete frame parses to the stated content and formats back
//! byte-identical. Application fragments on their own are in `vectors_app.rs` and
//! `vectors_controls.rs`.

mod vectors_util;

use rdnp3_stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin, Range};
use rdnp3_stack::link::{crc, LinkFunction};
use rdnp3_stack::objects::{CommandStatus, OpType, Timestamp, Value, Variation};
use rdnp3_stack::transport::TransportHeader;
use rdnp3_testkit::hex::bytes as hex;
use vectors_util::*;

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
