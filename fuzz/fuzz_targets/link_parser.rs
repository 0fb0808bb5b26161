//! The FT3 link parser on arbitrary bytes in arbitrary chunkings: it never panics, counts
//! every byte and every error, and reports the same frames and errors however the stream is
//! cut. Input: one byte `k`, then `k` chunk lengths (one byte each), then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_stack::link::{LinkErrorKind, LinkParser};

/// What the parser reported: Ok(user data) or Err((kind, offset, skipped)).
type Event = Result<Vec<u8>, (LinkErrorKind, u64, u64)>;

fn run<'a>(pieces: impl Iterator<Item = &'a [u8]>, len: usize) -> Vec<Event> {
    let mut parser = LinkParser::new();
    let mut events = Vec::new();
    for piece in pieces {
        parser.feed(piece, |e| {
            events.push(
                e.map(|f| {
                    assert!(f.user_data.len() <= 250);
                    f.user_data.to_vec()
                })
                .map_err(|e| (e.kind, e.offset, e.skipped)),
            );
        });
    }
    if let Some(e) = parser.finish() {
        events.push(Err((e.kind, e.offset, e.skipped)));
    }
    let errors = events.iter().filter(|e| e.is_err()).count() as u64;
    assert_eq!(parser.stats().total_errors(), errors);
    assert_eq!(parser.stats().bytes, len as u64);
    events
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(k).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let whole = run(std::iter::once(stream), stream.len());
    // The chunk lengths in turn (0 counts as 1), the last chunk taking what is left.
    let mut cuts = Vec::new();
    let mut left = stream;
    for &s in sizes {
        let (a, b) = left.split_at(usize::from(s).max(1).min(left.len()));
        cuts.push(a);
        left = b;
    }
    cuts.push(left);
    let chunked = run(cuts.into_iter(), stream.len());
    assert_eq!(whole, chunked, "the chunking changed what was reported");
});
