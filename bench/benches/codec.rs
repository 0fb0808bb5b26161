//! Codec throughput: link frame streams and a full response fragment of 100 analog inputs
//! (g30v1) and 100 analog events (g32v3), parsed and formatted.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rdnp3_stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode, Iin};
use rdnp3_stack::link::{format_frame, LinkFunction, LinkHeader, LinkParser};
use rdnp3_stack::objects::{Point, Timestamp, Value, Variation};
use rdnp3_stack::transport::{Reassembler, Segmenter};

/// 100 frames: every 4th a small link-control frame, the rest carrying 250 octets of user data.
fn frame_stream() -> (Vec<(LinkHeader, Vec<u8>)>, Vec<u8>) {
    let mut frames = Vec::new();
    let mut stream = Vec::new();
    for i in 0..100u16 {
        let (header, user) = if i % 4 == 0 {
            (
                LinkHeader::new(true, LinkFunction::RequestLinkStatus, 1024, 1),
                Vec::new(),
            )
        } else {
            let user: Vec<u8> = (0..250u16).map(|b| (b ^ i) as u8).collect();
            (
                LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024),
                user,
            )
        };
        let mut out = [0u8; 292];
        let n = format_frame(&header, &user, &mut out).unwrap();
        stream.extend_from_slice(&out[..n]);
        frames.push((header, user));
    }
    (frames, stream)
}

/// Writes the response: 100 × g30v1 (ranged) then 100 × g32v3 (index-prefixed, with time).
fn write_analog_response(buf: &mut [u8]) -> usize {
    let mut w = FragmentWriter::response(
        buf,
        AppControl::single(3),
        FunctionCode::Response,
        Iin::NONE,
    )
    .unwrap();
    let mut h = w.ranged(Variation::Group30Var1, 0, 99).unwrap();
    for i in 0..100u32 {
        h.push(&Point::new(i, Value::Signed(i as i32 * 1000 - 7)).with_flags(1))
            .unwrap();
    }
    h.finish();
    let mut h = w.prefixed(Variation::Group32Var3, true).unwrap();
    for i in 0..100u32 {
        let p = Point::new(i, Value::Signed(-(i as i32)))
            .with_flags(1)
            .with_time(Timestamp(1_700_000_000_000 + u64::from(i)));
        h.push(&p).unwrap();
    }
    h.finish();
    w.len()
}

fn link(c: &mut Criterion) {
    let (frames, stream) = frame_stream();
    let mut g = c.benchmark_group("link");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("parse_100_frames", |b| {
        let mut parser = LinkParser::new();
        b.iter(|| {
            let mut n = 0usize;
            parser.feed(black_box(&stream), |f| {
                n += f.map(|f| f.user_data.len()).unwrap_or(0)
            });
            black_box(n)
        })
    });
    g.bench_function("format_100_frames", |b| {
        let mut out = vec![0u8; stream.len()];
        b.iter(|| {
            let mut pos = 0;
            for (h, user) in &frames {
                pos += format_frame(h, user, &mut out[pos..]).unwrap();
            }
            black_box(pos)
        })
    });
    g.finish();
}

fn fragment(c: &mut Criterion) {
    let mut buf = [0u8; 2048];
    let len = write_analog_response(&mut buf);
    let bytes = buf[..len].to_vec();
    let mut g = c.benchmark_group("fragment_100_g30v1_100_g32v3");
    g.throughput(Throughput::Bytes(len as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            let f = Fragment::parse(black_box(&bytes)).unwrap();
            let mut sum = 0.0;
            for h in f.objects() {
                for p in h.unwrap().points() {
                    sum += p.value.as_f64().unwrap_or(0.0);
                }
            }
            black_box(sum)
        })
    });
    g.bench_function("format", |b| {
        let mut out = [0u8; 2048];
        b.iter(|| black_box(write_analog_response(&mut out)))
    });
    // The whole receive path: link parse + transport reassembly + object parse.
    let header = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024);
    let mut wire = vec![0u8; Segmenter::wire_size(len)];
    let wire_len = Segmenter::new()
        .write_frames(&header, &bytes, &mut wire)
        .unwrap();
    wire.truncate(wire_len);
    g.bench_function("receive_path_from_wire", |b| {
        let mut parser = LinkParser::new();
        let mut rx = Reassembler::new(2048);
        b.iter(|| {
            let mut points = 0usize;
            parser.feed(black_box(&wire), |f| {
                let f = f.unwrap();
                if let Ok(Some(fragment)) = rx.push(f.user_data, 1024, 1) {
                    for h in Fragment::parse(fragment).unwrap().objects() {
                        points += h.unwrap().points().count();
                    }
                }
            });
            black_box(points)
        })
    });
    g.bench_function("send_path_to_wire", |b| {
        let mut seg = Segmenter::new();
        let mut out = vec![0u8; wire_len];
        let mut frag = [0u8; 2048];
        b.iter(|| {
            let n = write_analog_response(&mut frag);
            black_box(seg.write_frames(&header, &frag[..n], &mut out).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, link, fragment);
criterion_main!(benches);
