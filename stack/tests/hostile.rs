//! Hostile input: over a million random and mutated frames, segments and fragments go through
//! every parser. None may panic, every failure must be a typed error, and an allocation counter
//! proves memory bounded: the application parser never allocates, and the link and transport
//! layers only take their small fixed buffers (a partial frame, a fragment of several
//! segments), never more.

use rdnp3_stack::app::{
    AppControl, Fragment, FragmentWriter, FunctionCode, Iin, ObjectParser, ParseMode,
};
use rdnp3_stack::link::{format_frame, LinkFunction, LinkHeader, LinkParser};
use rdnp3_stack::objects::{Point, Timestamp, Value, Variation};
use rdnp3_stack::transport::Reassembler;
use rdnp3_testkit::rng::Rng;
/// Runs `f` and returns how many heap allocations it made.
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// The most the link parser (its frame buffers) and a reassembler (one fragment buffer) hold
/// at once.
const LINK_PATH_BYTES: u64 = 1024 + 2048;

/// Flips, replaces, inserts or deletes a few bytes of `data` in place.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        if data.is_empty() {
            data.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(data.len());
        match rng.below(5) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next_u64() as u8,
            2 => data.insert(at, rng.next_u64() as u8),
            3 => {
                data.remove(at);
            }
            _ => data.truncate(at),
        }
    }
}

/// A corpus of valid fragments exercising many variations and qualifiers.
fn seed_fragments() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let mut w = FragmentWriter::response(
        &mut buf,
        AppControl::single(1),
        FunctionCode::Response,
        Iin::DEVICE_RESTART,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group1Var1, 0, 20).unwrap();
    for i in 0..20 {
        h.push(&Point::new(i, Value::Bool(i % 3 == 0))).unwrap();
    }
    drop(h);
    let mut h = w.ranged(Variation::Group30Var1, 0, 99).unwrap();
    for i in 0..30 {
        h.push(&Point::new(i, Value::Signed(i as i32 * 100)).with_flags(1))
            .unwrap();
    }
    drop(h);
    w.single(
        Variation::Group51Var1,
        &Point::new(0, Value::None).with_time(Timestamp(1000)),
    )
    .unwrap();
    let mut h = w.prefixed(Variation::Group2Var3, true).unwrap();
    h.set_cto(Timestamp(1000));
    for i in 0..5 {
        h.push(&Point::new(i, Value::Bool(true)).with_time(Timestamp(1000 + u64::from(i))))
            .unwrap();
    }
    drop(h);
    let mut h = w.prefixed(Variation::Group32Var7, false).unwrap();
    for i in 0..5 {
        h.push(
            &Point::new(i, Value::Float(1.5))
                .with_flags(1)
                .with_time(Timestamp(7)),
        )
        .unwrap();
    }
    drop(h);
    w.ranged(Variation::OctetString(3), 0, 0)
        .unwrap()
        .push(&Point::new(0, Value::Bytes(b"abc")))
        .unwrap();
    out.push(w.as_bytes().to_vec());
    for hex in [
        "C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
        "C0 05 29 03 28 02 00 01 00 00 00 C8 42 00 02 00 00 00 20 41 00",
        "C9 1B 46 03 5B 01 05 00 61 62 63 64 65",
        "C0 81 00 00 00 F2 00 00 00 01 03 31 2E 32 00 F0 00 00 00 02 02 00 08",
        "C0 81 80 00 32 04 00 00 00 09 00 00 00 00 00 03 00 00 00 05",
        "C0 01 01 02 17 02 00 02 3C 02 07 05 1E 00 06",
        "C1 02 50 01 00 07 07 00",
        "C0 81 80 00 03 01 00 00 03 E4 14 01 00 00 00 01 05 00 00 00",
    ] {
        out.push(
            hex.split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect(),
        );
    }
    out
}

/// Parses a fragment completely, touching every point; returns (headers, points, errors).
fn parse_fragment(bytes: &[u8]) -> (u64, u64, u64) {
    let (mut headers, mut points, mut errors) = (0, 0, 0);
    match Fragment::parse(bytes) {
        Err(e) => {
            assert!(!e.kind.name().is_empty());
            errors += 1;
        }
        Ok(f) => {
            for h in f.objects() {
                match h {
                    Ok(h) => {
                        headers += 1;
                        for p in h.points() {
                            points += 1;
                            std::hint::black_box(p);
                        }
                    }
                    Err(e) => {
                        assert!(e.offset <= bytes.len(), "error offset inside the fragment");
                        errors += 1;
                    }
                }
            }
        }
    }
    // The same body in READ mode must be just as safe.
    for h in ObjectParser::new(bytes, ParseMode::Read, 0).flatten() {
        points += h.points().count() as u64;
    }
    (headers, points, errors)
}

#[test]
fn a_million_hostile_inputs_never_panic_or_allocate() {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let fragments = seed_fragments();
    let mut frames = Vec::new();
    for f in &fragments {
        let h = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024);
        let mut user = vec![0xC0];
        user.extend_from_slice(&f[..f.len().min(249)]);
        let mut out = [0u8; 292];
        let n = format_frame(&h, &user, &mut out).unwrap();
        frames.push(out[..n].to_vec());
    }
    let mut parser = LinkParser::new();
    let mut reassembler = Reassembler::new(2048);
    let (mut link_events, mut app_points, mut app_errors) = (0u64, 0u64, 0u64);
    let mut buf = Vec::with_capacity(4096);
    let mut inputs = 0u64;

    // 400 000 link streams: random bytes, and valid frames mutated, fed in random chunks.
    for round in 0..400_000u32 {
        buf.clear();
        if round % 4 == 0 {
            buf.resize(1 + rng.below(300), 0);
            rng.fill(&mut buf);
        } else {
            for _ in 0..=rng.below(3) {
                buf.extend_from_slice(&frames[rng.below(frames.len())]);
            }
            mutate(&mut rng, &mut buf);
        }
        let chunk = 1 + rng.below(64);
        let pieces = buf.len().div_ceil(chunk) as u64;
        let info = allocation_counter::measure(|| {
            for piece in buf.chunks(chunk) {
                parser.feed(piece, |e| {
                    link_events += 1;
                    if let Ok(f) = e {
                        if let Ok(Some(fragment)) =
                            reassembler.push(f.user_data, f.header.source, f.header.destination)
                        {
                            let (_, p, e) = parse_fragment(fragment);
                            app_points += p;
                            app_errors += e;
                        }
                    }
                });
            }
        });
        assert!(
            info.bytes_max <= LINK_PATH_BYTES,
            "the link path held {} bytes",
            info.bytes_max
        );
        assert!(
            info.count_total <= 2 * pieces,
            "the link path allocated {} times for {pieces} reads",
            info.count_total
        );
        inputs += 1;
    }
    assert!(parser.stats().total_errors() > 100_000);
    assert!(parser.stats().frames > 100_000);

    // 300 000 transport segments: random headers and sizes, with address changes.
    let mut segment = [0u8; 251];
    for _ in 0..300_000u32 {
        let len = rng.below(251);
        rng.fill(&mut segment[..len]);
        let info = allocation_counter::measure(|| {
            let _ = std::hint::black_box(reassembler.push(&segment[..len], rng.below(3) as u16, 1));
        });
        assert!(
            info.count_total <= 1 && info.bytes_max <= 2048,
            "the reassembler grew"
        );
        inputs += 1;
    }

    // 300 000 fragments: random, and valid fragments mutated.
    for round in 0..300_000u32 {
        buf.clear();
        if round % 3 == 0 {
            buf.resize(rng.below(64), 0);
            rng.fill(&mut buf);
            if buf.len() > 2 && round % 2 == 0 {
                buf[1] = 0x81; // make it a response more often
            }
        } else {
            buf.extend_from_slice(&fragments[rng.below(fragments.len())]);
            mutate(&mut rng, &mut buf);
        }
        let allocs = allocations_during(|| {
            let (_, p, e) = parse_fragment(&buf);
            app_points += p;
            app_errors += e;
        });
        assert_eq!(allocs, 0, "the application parser allocated");
        inputs += 1;
    }
    assert!(inputs >= 1_000_000);
    assert!(link_events > 0 && app_points > 0 && app_errors > 0);
}

#[test]
fn huge_counts_in_a_tiny_fragment_are_truncation_errors() {
    // count = 0xFFFFFFFF with qualifier 39 and no data: must fail fast, not loop or allocate.
    let bytes = [
        0xC0, 0x81, 0x00, 0x00, 0x1E, 0x01, 0x39, 0xFF, 0xFF, 0xFF, 0xFF, 0x00,
    ];
    let f = Fragment::parse(&bytes).unwrap();
    let e = f.objects().validate().unwrap_err();
    assert_eq!(e.kind, rdnp3_stack::app::AppErrorKind::Truncated);
    let bytes = [0xC0, 0x81, 0x00, 0x00, 0x46, 0x05, 0x5B, 0xFF, 0x00, 0x00];
    let e = Fragment::parse(&bytes)
        .unwrap()
        .objects()
        .validate()
        .unwrap_err();
    assert_eq!(e.kind, rdnp3_stack::app::AppErrorKind::Truncated);
    // A READ of 2^32 indices is one header; its range says so and no point is iterated.
    let bytes = [
        0xC0, 0x01, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    let f = Fragment::parse(&bytes).unwrap();
    let h = f.objects().next().unwrap().unwrap();
    assert_eq!(h.range.count(), Some(1 << 32));
    assert_eq!(h.points().count(), 0);
}
