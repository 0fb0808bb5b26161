//! The application-layer parser on arbitrary fragments: `Fragment::parse`, then every object
//! header and every point, in the fragment's own mode and in the other one. It never panics
//! and stops after the first error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdnp3_stack::app::{Fragment, ObjectParser, ParseMode};
use std::hint::black_box;

fn walk(parser: ObjectParser<'_>) {
    let mut failed = false;
    for header in parser {
        assert!(!failed, "the object parser went on after an error");
        match header {
            Ok(h) => {
                black_box(h.raw());
                for point in h.points() {
                    black_box(point.value.as_f64());
                    black_box(point.value.as_i64());
                    black_box(point);
                }
            }
            Err(e) => {
                black_box(e.kind.name());
                failed = true;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(fragment) = Fragment::parse(data) else {
        return;
    };
    walk(fragment.objects());
    let header_len = data.len() - fragment.body.len();
    for mode in [ParseMode::Read, ParseMode::Data] {
        let parser = ObjectParser::new(fragment.body, mode, header_len);
        let remaining_before = parser.remaining().len();
        assert_eq!(remaining_before, fragment.body.len());
        let _ = black_box(parser.clone().validate());
        walk(parser);
    }
});
