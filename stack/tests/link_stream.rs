//! The link parser on streams: any chunking, several frames at once, garbage, and every error
//! kind reported, counted and followed by re-synchronisation.

use rdnp3_stack::link::{format_frame, LinkErrorKind, LinkFunction, LinkHeader, LinkParser};
use rdnp3_testkit::hex::bytes as hex;

const C1: &str = "05 64 0B C4 00 04 01 00 CA 8A C0 C0 01 3C 01 06 FF 50";
const L16: &str = "05 64 53 73 00 04 01 00 03 FC C1 E3 81 96 00 02 01 28 01 00 00 00 01 02 01 28 05 24 01 00 01 00 01 02 01 28 01 00 02 00 01 02 01 28 B4 77 01 00 03 00 01 20 02 28 01 00 00 00 01 00 00 20 A5 25 02 28 01 00 01 00 01 00 00 01 01 01 00 00 03 00 2F AC 00 1E 02 01 00 00 01 00 01 00 00 01 00 00 16 ED";
const C3: &str = "05 64 05 C9 00 04 01 00 98 81";

/// What the parser reported, as comparable values: Ok(user data) or Err((kind, offset)).
type Event = Result<Vec<u8>, (LinkErrorKind, u64)>;

fn run(stream: &[u8], chunk: usize) -> Vec<Event> {
    let mut parser = LinkParser::new();
    let mut events = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        parser.feed(piece, |e| {
            events.push(
                e.map(|f| f.user_data.to_vec())
                    .map_err(|e| (e.kind, e.offset)),
            );
        });
    }
    if let Some(e) = parser.finish() {
        events.push(Err((e.kind, e.offset)));
    }
    let errors = events.iter().filter(|e| e.is_err()).count() as u64;
    assert_eq!(parser.stats().total_errors(), errors);
    assert_eq!(parser.stats().bytes, stream.len() as u64);
    events
}

fn user(frame: &str) -> Vec<u8> {
    let mut p = LinkParser::new();
    let mut out = Vec::new();
    p.feed(&hex(frame), |f| out = f.unwrap().user_data.to_vec());
    out
}

#[test]
fn frames_parse_in_any_chunking() {
    let mut stream = hex(C1);
    stream.extend(hex(L16));
    stream.extend(hex(C3));
    let expect: Vec<Event> = vec![Ok(user(C1)), Ok(user(L16)), Ok(vec![])];
    for chunk in [1, 2, 3, 7, 10, 11, 17, 100, stream.len()] {
        assert_eq!(run(&stream, chunk), expect, "chunk {chunk}");
    }
}

#[test]
fn the_parser_holds_frame_buffers_only_while_a_frame_is_split_across_reads() {
    let l16 = hex(L16);
    let mut parser = LinkParser::new();
    parser.feed(&l16, |e| assert!(e.is_ok()));
    assert!(
        !parser.holds_buffers(),
        "a whole frame leaves nothing behind"
    );
    parser.feed(&l16[..40], |_| panic!("half a frame is no event"));
    assert!(parser.holds_buffers(), "half a frame waits in a buffer");
    let mut frames = 0;
    parser.feed(&l16[40..], |e| {
        assert_eq!(e.expect("the frame completes").user_data, user(L16));
        frames += 1;
    });
    assert_eq!(frames, 1);
    assert!(!parser.holds_buffers());
}

#[test]
fn garbage_before_a_frame_is_reported_once_with_its_offset() {
    let mut stream = hex("00 11 05 22 64 33");
    stream.extend(hex(C1));
    for chunk in [1, 4, 1000] {
        let events = run(&stream, chunk);
        assert_eq!(
            events,
            vec![Err((LinkErrorKind::Garbage, 0)), Ok(user(C1))],
            "chunk {chunk}"
        );
    }
}

#[test]
fn trailing_garbage_and_truncated_frames_are_reported_at_the_end() {
    let mut stream = hex(C1);
    stream.extend(hex("AA BB"));
    assert_eq!(
        run(&stream, 5),
        vec![Ok(user(C1)), Err((LinkErrorKind::Garbage, 18))]
    );
    let mut stream = hex(C1);
    stream.extend(&hex(L16)[..40]);
    assert_eq!(
        run(&stream, 5),
        vec![Ok(user(C1)), Err((LinkErrorKind::Truncated, 18))]
    );
}

#[test]
fn a_bad_header_crc_is_reported_and_the_next_frame_still_parses() {
    let mut bad = hex(C1);
    bad[8] ^= 0xFF;
    let mut stream = bad.clone();
    stream.extend(hex(C3));
    for chunk in [1, 3, 1000] {
        assert_eq!(
            run(&stream, chunk),
            vec![Err((LinkErrorKind::HeaderCrc, 0)), Ok(vec![])],
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_bad_block_crc_is_reported_and_the_parser_resynchronises_inside_it() {
    // A corrupted data block; a valid frame hidden inside the rejected bytes is found again.
    let mut bad = hex(L16);
    bad[30] ^= 0x01;
    let mut stream = bad;
    stream.extend(hex(C3));
    let events = run(&stream, 13);
    assert_eq!(events, vec![Err((LinkErrorKind::BodyCrc, 0)), Ok(vec![])]);
}

#[test]
fn frame_rule_violations_have_their_own_kinds() {
    fn with_control(control: u8, length: u8) -> Vec<u8> {
        let mut h = vec![0x05, 0x64, length, control, 0x00, 0x04, 0x01, 0x00];
        let c = rdnp3_stack::link::crc(&h);
        h.extend(c.to_le_bytes());
        h
    }
    let cases = [
        (with_control(0xC4, 4), LinkErrorKind::BadLength),
        (with_control(0xC5, 5), LinkErrorKind::UnknownFunction),
        (with_control(0xC1, 5), LinkErrorKind::UnknownFunction),
        (with_control(0xD4, 6), LinkErrorKind::BadFcv),
        (with_control(0xC3, 6), LinkErrorKind::BadFcv),
        (with_control(0xA0, 5), LinkErrorKind::ReservedBit),
        (with_control(0xC4, 5), LinkErrorKind::MissingData),
        (with_control(0xC9, 6), LinkErrorKind::UnexpectedData),
    ];
    for (frame, kind) in cases {
        let mut stream = frame.clone();
        stream.extend(hex(C3));
        let events = run(&stream, 1000);
        assert_eq!(events.first(), Some(&Err((kind, 0))), "{frame:02X?}");
        assert_eq!(events.last(), Some(&Ok(vec![])), "{frame:02X?}");
    }
}

#[test]
fn counters_track_frames_and_errors_per_kind() {
    let mut stream = hex(C1);
    let mut bad = hex(C3);
    bad[9] ^= 1;
    stream.extend(&bad);
    stream.extend(hex(C1));
    let mut parser = LinkParser::new();
    parser.feed(&stream, |_| {});
    assert_eq!(parser.stats().frames, 2);
    assert_eq!(parser.stats().errors(LinkErrorKind::HeaderCrc), 1);
    assert_eq!(parser.stats().discarded_bytes, 10);
}

#[test]
fn every_user_data_length_round_trips() {
    let mut stream = Vec::new();
    let mut expect = Vec::new();
    for n in 1..=250usize {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
        let h = LinkHeader::new(n % 2 == 0, LinkFunction::UnconfirmedUserData, n as u16, 7);
        let mut out = [0u8; 292];
        let len = format_frame(&h, &data, &mut out).unwrap();
        stream.extend_from_slice(&out[..len]);
        expect.push(Ok(data));
    }
    assert_eq!(run(&stream, 97), expect);
}
