//! Known-answer vectors for the objects of IEEE 1815-2012 Annex A that came to the table last
//! (frozen analogs g31/g33, security statistics g121/g122) and for the command events, time
//! objects and device attributes the master now delivers: each object parses to its values and
//! formats back to the same bytes.

use rdnp3_stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin};
use rdnp3_stack::objects::{Attribute, Point, Timestamp, Value, Variation};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

const T: Timestamp = Timestamp(1234);
const TIME: &str = "D2 04 00 00 00 00";

/// One object with index prefix (qualifier 17) or count (07), its bytes and what it decodes to.
struct Vector {
    header: String,
    object: String,
    expect: Point<'static>,
}

fn v(header: impl Into<String>, object: &str, expect: Point<'static>) -> Vector {
    Vector {
        header: header.into(),
        object: object.replace("TIME", TIME),
        expect,
    }
}

fn pt(value: Value<'static>) -> Point<'static> {
    Point::new(3, value)
}

fn vectors() -> Vec<Vector> {
    use Value::{Float, Signed};
    let on = |p: Point<'static>| p.with_flags(0x01);
    let stat = Value::SecurityStatistic {
        association: 2,
        value: 42,
    };
    let mut all = Vec::new();
    // g31 frozen analog input and g33 frozen analog input event share their value layouts
    // with g30 and g32 (IEEE 1815-2012, Annex A).
    for g in ["1F", "21"] {
        let name = |var: &str| format!("{g} {var} 17 01 03");
        all.extend([
            v(name("01"), "01 FB FF FF FF", on(pt(Signed(-5)))),
            v(name("02"), "01 2C 01", on(pt(Signed(300)))),
        ]);
        if g == "1F" {
            all.extend([
                v(
                    name("03"),
                    "01 A0 86 01 00 TIME",
                    on(pt(Signed(100_000))).with_time(T),
                ),
                v(name("04"), "01 FE FF TIME", on(pt(Signed(-2))).with_time(T)),
                v(name("05"), "07 00 00 00", pt(Signed(7))),
                v(name("06"), "07 00", pt(Signed(7))),
                v(name("07"), "01 00 00 20 40", on(pt(Float(2.5)))),
                v(name("08"), "01 00 00 00 00 00 00 04 40", on(pt(Float(2.5)))),
            ]);
        } else {
            all.extend([
                v(
                    name("03"),
                    "01 A0 86 01 00 TIME",
                    on(pt(Signed(100_000))).with_time(T),
                ),
                v(name("04"), "01 FE FF TIME", on(pt(Signed(-2))).with_time(T)),
                v(name("05"), "01 00 00 20 40", on(pt(Float(2.5)))),
                v(name("06"), "01 00 00 00 00 00 00 04 40", on(pt(Float(2.5)))),
                v(
                    name("07"),
                    "01 00 00 20 40 TIME",
                    on(pt(Float(2.5))).with_time(T),
                ),
                v(
                    name("08"),
                    "01 00 00 00 00 00 00 04 40 TIME",
                    on(pt(Float(2.5))).with_time(T),
                ),
            ]);
        }
    }
    all.extend([
        v("79 01 17 01 03", "01 02 00 2A 00 00 00", on(pt(stat))),
        v("7A 01 17 01 03", "01 02 00 2A 00 00 00", on(pt(stat))),
        v(
            "7A 02 17 01 03",
            "01 02 00 2A 00 00 00 TIME",
            on(pt(stat)).with_time(T),
        ),
        // Command events: g13 state bit 7 and status bits 6..0; g43 status then value.
        v("0D 01 17 01 03", "81", pt(Value::Bool(true)).with_status(1)),
        v(
            "0D 02 17 01 03",
            "04 TIME",
            pt(Value::Bool(false)).with_status(4).with_time(T),
        ),
        v(
            "2B 01 17 01 03",
            "00 07 00 00 00",
            pt(Signed(7)).with_status(0),
        ),
        v("2B 02 17 01 03", "02 07 00", pt(Signed(7)).with_status(2)),
        v(
            "2B 03 17 01 03",
            "00 07 00 00 00 TIME",
            pt(Signed(7)).with_status(0).with_time(T),
        ),
        v(
            "2B 04 17 01 03",
            "00 07 00 TIME",
            pt(Signed(7)).with_status(0).with_time(T),
        ),
        v(
            "2B 05 17 01 03",
            "00 00 00 20 40",
            pt(Float(2.5)).with_status(0),
        ),
        v(
            "2B 06 17 01 03",
            "00 00 00 00 00 00 00 04 40",
            pt(Float(2.5)).with_status(0),
        ),
        v(
            "2B 07 17 01 03",
            "00 00 00 20 40 TIME",
            pt(Float(2.5)).with_status(0).with_time(T),
        ),
        v(
            "2B 08 17 01 03",
            "00 00 00 00 00 00 00 04 40 TIME",
            pt(Float(2.5)).with_status(0).with_time(T),
        ),
    ]);
    // The obsolete delta counters (g20v3/4/7/8, g21v3/4/7/8/11/12, g22 and g23 v3/4/7/8)
    // share the counters' layouts: flags, a 32- or 16-bit value, and a time where they carry one.
    let count = |n: u32| pt(Value::Unsigned(n));
    for (g, var, object, expect) in [
        ("14", "03", "01 A0 86 01 00", on(count(100_000))),
        ("14", "04", "01 2C 01", on(count(300))),
        ("14", "07", "A0 86 01 00", count(100_000)),
        ("14", "08", "2C 01", count(300)),
        ("15", "03", "01 A0 86 01 00", on(count(100_000))),
        ("15", "04", "01 2C 01", on(count(300))),
        (
            "15",
            "07",
            "01 A0 86 01 00 TIME",
            on(count(100_000)).with_time(T),
        ),
        ("15", "08", "01 2C 01 TIME", on(count(300)).with_time(T)),
        ("15", "0B", "A0 86 01 00", count(100_000)),
        ("15", "0C", "2C 01", count(300)),
        ("16", "03", "01 A0 86 01 00", on(count(100_000))),
        ("16", "04", "01 2C 01", on(count(300))),
        (
            "16",
            "07",
            "01 A0 86 01 00 TIME",
            on(count(100_000)).with_time(T),
        ),
        ("16", "08", "01 2C 01 TIME", on(count(300)).with_time(T)),
        ("17", "03", "01 A0 86 01 00", on(count(100_000))),
        ("17", "04", "01 2C 01", on(count(300))),
        (
            "17",
            "07",
            "01 A0 86 01 00 TIME",
            on(count(100_000)).with_time(T),
        ),
        ("17", "08", "01 2C 01 TIME", on(count(300)).with_time(T)),
    ] {
        all.push(v(format!("{g} {var} 17 01 03"), object, expect));
    }
    all.extend([
        // Time and date, and indexed absolute time with a 3600 s interval (units 2).
        v(
            "32 01 07 01",
            "TIME",
            Point::new(0, Value::None).with_time(T),
        ),
        v(
            "32 04 17 01 03",
            "TIME 10 0E 00 00 02",
            pt(Value::Interval {
                interval: 3600,
                units: 2,
            })
            .with_time(T),
        ),
    ]);
    all
}

fn response(body: &str) -> Vec<u8> {
    hex(&format!("C0 81 00 00 {body}"))
}

#[test]
fn every_vector_parses_to_its_values() {
    for vector in vectors() {
        let bytes = response(&format!("{} {}", vector.header, vector.object));
        let f = Fragment::parse(&bytes).unwrap();
        let headers: Vec<_> = f.objects().collect::<Result<_, _>>().unwrap_or_else(|e| {
            panic!("{}: {e}", vector.header);
        });
        assert_eq!(headers.len(), 1, "{}", vector.header);
        let h = &headers[0];
        let (g, var) = h.variation.numbers();
        assert_eq!(
            h.variation.fixed_size(),
            Some(hex(&vector.object).len()),
            "g{g}v{var}: object size"
        );
        let points: Vec<_> = h.points().collect();
        assert_eq!(points, [vector.expect], "g{g}v{var}");
    }
}

#[test]
fn every_vector_formats_back_to_its_bytes() {
    for vector in vectors() {
        let expect = response(&format!("{} {}", vector.header, vector.object));
        let h = hex(&vector.header);
        let variation = Variation::lookup(h[0], h[1]).unwrap();
        let mut buf = [0u8; 64];
        let mut w = FragmentWriter::response(
            &mut buf,
            AppControl::single(0),
            FunctionCode::Response,
            Iin::NONE,
        )
        .unwrap();
        let mut hw = if h[2] == 0x07 {
            w.counted(variation).unwrap()
        } else {
            w.prefixed(variation, false).unwrap()
        };
        hw.push(&vector.expect).unwrap();
        hw.finish();
        assert_eq!(w.as_bytes(), expect, "{}", vector.header);
    }
}

#[test]
fn a_device_attribute_parses_to_its_type_and_value() {
    // g0v242 (software version) of set 0: visible string "1.0".
    let bytes = response("00 F2 00 00 00 01 03 31 2E 30");
    let f = Fragment::parse(&bytes).unwrap();
    let h = f.objects().next().unwrap().unwrap();
    assert_eq!(h.variation, Variation::DeviceAttribute(242));
    let p = h.points().next().unwrap();
    assert_eq!(p.index, 0);
    let Value::Attribute(a) = p.value else {
        panic!("not an attribute: {:?}", p.value);
    };
    assert_eq!(
        a,
        Attribute {
            data_type: 1,
            data: b"1.0"
        }
    );
    assert_eq!(a.as_str(), Some("1.0"));
}

#[test]
fn undefined_variations_of_the_new_groups_stay_unknown() {
    for (g, var) in [(31, 9), (33, 9), (121, 2), (122, 3)] {
        assert_eq!(Variation::lookup(g, var), None, "g{g}v{var}");
    }
}
