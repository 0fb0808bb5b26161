//! Helpers shared by the known-answer vector tests (`vectors.rs`, `vectors_app.rs`,
//! `vectors_controls.rs`): one frame parsed and formatted back, the fragment a single segment
//! carries, the objects of a fragment, and a written fragment compared with its bytes.

#![allow(dead_code)]

use rdnp3_stack::app::{Fragment, FragmentWriter};
use rdnp3_stack::link::{format_frame, LinkFrame, LinkParser};
use rdnp3_stack::objects::{Point, Variation};
use rdnp3_stack::transport::TransportHeader;
use rdnp3_testkit::hex::bytes as hex;

/// Parses exactly one frame from `s`, then formats it again and compares bytes.
pub fn frame(s: &str) -> (rdnp3_stack::link::LinkHeader, Vec<u8>) {
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
pub fn app(user: &[u8]) -> &[u8] {
    let t = TransportHeader::from_byte(user[0]);
    assert!(t.fir && t.fin);
    &user[1..]
}

pub fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

pub fn points(fragment: &[u8]) -> Vec<(Variation, u8, Vec<Point<'_>>)> {
    let f = Fragment::parse(fragment).unwrap();
    f.objects()
        .map(|h| {
            let h = h.unwrap();
            (h.variation, h.qualifier, h.points().collect())
        })
        .collect()
}

/// Writes `w` and compares with `expect`.
pub fn assert_written(w: &FragmentWriter<'_>, expect: &str) {
    assert_eq!(w.as_bytes(), &hex(expect)[..], "expected {expect}");
}
