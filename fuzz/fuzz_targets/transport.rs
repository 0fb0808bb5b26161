//! The transport reassembler fed arbitrary segments: it never panics, never hands out more
//! than its maximum fragment, and counts every dropped segment. Input: a script of data steps
//! (see the `rdnp3_fuzz` crate); the variant picks one of four (source, destination) pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_fuzz::{Script, Step};
use rdnp3_stack::transport::Reassembler;

/// A small maximum, so that overflow is reached by short inputs.
const MAX_FRAGMENT: usize = 600;

fuzz_target!(|data: &[u8]| {
    let mut reassembler = Reassembler::new(MAX_FRAGMENT);
    let mut failures = 0;
    for step in Script::new(data) {
        match step {
            Step::Data { variant, bytes } => {
                let source = u16::from(variant & 1);
                let destination = 1024 + u16::from(variant >> 1);
                match reassembler.push(bytes, source, destination) {
                    Ok(Some(fragment)) => assert!(fragment.len() <= MAX_FRAGMENT),
                    Ok(None) => {}
                    Err(_) => failures += 1,
                }
            }
            Step::Reconnect => reassembler.reset(),
            Step::Poll | Step::Advance(_) => {}
        }
    }
    assert_eq!(reassembler.errors(), failures);
});
