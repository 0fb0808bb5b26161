//! Known-answer vectors (worked examples from public DNP3 references), controls, errors and
//! procedures: select and operate with their echoes, how the reference's malformed fragments
//! map to errors, and the request snippets of the reference's procedures section. Every
//! fragment parses to its stated objects and, where this stack writes it, is written
//! byte-identical.

mod vectors_util;

use rdnp3_stack::app::{AppControl, AppErrorKind, Fragment, FragmentWriter, FunctionCode, Iin};
use rdnp3_stack::objects::{OpType, Point, Value, Variation};
use rdnp3_testkit::hex::bytes as hex;
use vectors_util::*;

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
