//! `decode`: reads the hex dump of one direction of a DNP3 link from stdin and prints every link
//! frame, every reassembled application fragment and every error as one JSON object per line.
//!
//! ```text
//! cargo run --example decode < examples/captures/sample.hex
//! ```

#[allow(dead_code)] // `rdnp3 decode` uses all of it; the example only hex input.
#[path = "../src/bin/rdnp3/decode/stream.rs"]
mod stream;

use std::io::{Read, Write};
use stream::{hex_decode, StreamDecoder};

const HELP: &str = "\
decode: print a DNP3 byte stream as JSON lines

USAGE:
    decode [--max-fragment BYTES] < capture.hex

INPUT (stdin):
    Hex digits of the raw byte stream of one direction of a link (serial or TCP): several
    frames, frames split anywhere, garbage between them. White space and newlines are ignored,
    as is everything from '#' to the end of a line.

OUTPUT (stdout), one JSON object per line, in stream order:
    {\"link\":{\"dir\":bool,\"prm\":bool,\"fcb\":bool,\"fcv\":bool,\"dfc\":bool,\"func\":\"NAME\",
              \"dest\":N,\"src\":N,\"len\":N}}
        each valid link frame; len is the LENGTH field (5 + user data octets).
    {\"app\":{\"fir\":bool,\"fin\":bool,\"con\":bool,\"uns\":bool,\"seq\":N,\"func\":\"NAME\",
             \"iin\":[\"NAME\",...],\"objects\":[{\"group\":G,\"variation\":V,\"qualifier\":Q,
             \"start\":N,\"stop\":N | \"count\":N,\"points\":[{\"index\":I,\"value\":V,\"flags\":F,
             \"time\":T,\"status\":\"NAME\"}]}]}}
        each completed application fragment. iin only on responses; start/stop or count as the
        qualifier has them; flags, time (ms since 1970 UTC) and status where the variation has
        them. Binary values are true/false, double-bit states names, octet strings and
        free-format objects hex strings; CROBs show \"crob\":{\"op\",\"tcc\",\"clear\",\"queue\",
        \"count\",\"on_time\",\"off_time\"}; device attributes \"attribute\":{\"type\",\"value\"}; security statistics
        \"association\" and \"value\".
        Headers without object data (READ requests) list only prefixed indices.
    {\"error\":{\"layer\":\"link|transport|app\",\"kind\":\"NAME\",\"offset\":N}}
        link errors: offset in the input stream of the rejected bytes; transport errors: offset
        of the frame whose segment was dropped; app errors: offset inside the fragment.

Function and IIN names are the upper-case names of the DNP3 reference (READ, RESPONSE,
UNSOLICITED_RESPONSE, DEVICE_RESTART, ...).

OPTIONS:
    --max-fragment BYTES   largest fragment reassembled (default 2048)
    -h, --help             this text
";

fn main() {
    let mut max_fragment = 2048usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return;
            }
            "--max-fragment" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => max_fragment = n,
                None => fail("--max-fragment needs a number of bytes"),
            },
            other => fail(&format!("unknown argument {other:?} (try --help)")),
        }
    }
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        fail(&format!("cannot read stdin: {e}"));
    }
    let bytes = match hex_decode(&text) {
        Ok(b) => b,
        Err(e) => fail(&e.to_string()),
    };
    let mut decoder = StreamDecoder::new(max_fragment);
    let mut lines = Vec::new();
    decoder.feed(&bytes, &mut lines);
    decoder.finish(&mut lines);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

fn fail(message: &str) -> ! {
    eprintln!("decode: {message}");
    std::process::exit(2);
}
