//! `decode`: reads the hex dump of one direction of a DNP3 link from stdin and prints every link
//! frame, every reassembled application fragment and every error as one JSON object per line.
//!
//! ```text
//! cargo run --example decode < examples/captures/sample.hex
//! ```

use rdnp3::stack::app::{Fragment, ObjectHeader, Range};
use rdnp3::stack::link::{LinkError, LinkFrame, LinkParser};
use rdnp3::stack::objects::{CommandStatus, Point, Value};
use rdnp3::stack::transport::Reassembler;
use rdnp3_testkit::hex;
use std::fmt::Write as _;
use std::io::{Read, Write};

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
    let bytes = match hex::decode(&text) {
        Ok(b) => b,
        Err(e) => fail(&e.to_string()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut decoder = Decoder {
        reassembler: Reassembler::new(max_fragment),
        line: String::new(),
    };
    let mut parser = LinkParser::new();
    let mut lines = Vec::new();
    parser.feed(&bytes, |event| {
        decoder.event(event, &mut lines);
    });
    if let Some(e) = parser.finish() {
        decoder.event(Err(e), &mut lines);
    }
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

struct Decoder {
    reassembler: Reassembler,
    line: String,
}

impl Decoder {
    fn event(&mut self, event: Result<LinkFrame<'_>, LinkError>, lines: &mut Vec<String>) {
        match event {
            Err(e) => lines.push(error("link", e.kind.name(), e.offset as usize)),
            Ok(frame) => {
                lines.push(link_json(&frame));
                if !frame.header.control.function.carries_data() {
                    return;
                }
                let h = frame.header;
                match self
                    .reassembler
                    .push(frame.user_data, h.source, h.destination)
                {
                    Err(e) => lines.push(error("transport", e.kind.name(), frame.offset as usize)),
                    Ok(None) => {}
                    Ok(Some(fragment)) => {
                        self.line.clear();
                        let app_error = app_json(fragment, &mut self.line);
                        lines.push(self.line.clone());
                        if let Some((kind, offset)) = app_error {
                            lines.push(error("app", kind, offset));
                        }
                    }
                }
            }
        }
    }
}

fn error(layer: &str, kind: &str, offset: usize) -> String {
    format!("{{\"error\":{{\"layer\":\"{layer}\",\"kind\":\"{kind}\",\"offset\":{offset}}}}}")
}

fn link_json(f: &LinkFrame<'_>) -> String {
    let c = f.header.control;
    let prm = c.prm();
    format!(
        "{{\"link\":{{\"dir\":{},\"prm\":{},\"fcb\":{},\"fcv\":{},\"dfc\":{},\"func\":\"{}\",\"dest\":{},\"src\":{},\"len\":{}}}}}",
        c.dir,
        prm,
        prm && c.fcb,
        c.fcv,
        c.dfc,
        c.function.name(),
        f.header.destination,
        f.header.source,
        5 + f.user_data.len()
    )
}

/// Writes the fragment's JSON into `s`; returns the parse error, if any, for its own line.
fn app_json(bytes: &[u8], s: &mut String) -> Option<(&'static str, usize)> {
    let fragment = match Fragment::parse(bytes) {
        Ok(f) => f,
        Err(e) => {
            s.push_str("{\"app\":null}");
            return Some((e.kind.name(), e.offset));
        }
    };
    let c = fragment.control;
    let _ = write!(
        s,
        "{{\"app\":{{\"fir\":{},\"fin\":{},\"con\":{},\"uns\":{},\"seq\":{},\"func\":\"{}\"",
        c.fir,
        c.fin,
        c.con,
        c.uns,
        c.seq,
        fragment.function.name()
    );
    if let Some(iin) = fragment.iin {
        s.push_str(",\"iin\":[");
        for (i, name) in iin.names().enumerate() {
            let _ = write!(s, "{}\"{name}\"", if i > 0 { "," } else { "" });
        }
        s.push(']');
    }
    s.push_str(",\"objects\":[");
    let mut failure = None;
    for (i, header) in fragment.objects().enumerate() {
        match header {
            Ok(h) => {
                if i > 0 {
                    s.push(',');
                }
                header_json(&h, s);
            }
            Err(e) => failure = Some((e.kind.name(), e.offset)),
        }
    }
    s.push_str("]}}");
    failure
}

fn header_json(h: &ObjectHeader<'_>, s: &mut String) {
    let (g, v) = h.variation.numbers();
    let _ = write!(
        s,
        "{{\"group\":{g},\"variation\":{v},\"qualifier\":{}",
        h.qualifier
    );
    match h.range {
        Range::StartStop { start, stop } => {
            let _ = write!(s, ",\"start\":{start},\"stop\":{stop}");
        }
        Range::Count(n) => {
            let _ = write!(s, ",\"count\":{n}");
        }
        Range::All => {}
    }
    s.push_str(",\"points\":[");
    for (i, p) in h.points().enumerate() {
        if i > 0 {
            s.push(',');
        }
        point_json(&p, s);
    }
    s.push_str("]}");
}

fn hex_string(b: &[u8], s: &mut String) {
    s.push('"');
    s.push_str(&hex::compact(b));
    s.push('"');
}

fn float(f: f64, s: &mut String) {
    if f.is_finite() {
        let _ = write!(s, "{f}");
    } else {
        let _ = write!(s, "\"{f}\"");
    }
}

fn point_json(p: &Point<'_>, s: &mut String) {
    let _ = write!(s, "{{\"index\":{}", p.index);
    match p.value {
        Value::None => {}
        Value::Bool(b) => {
            let _ = write!(s, ",\"value\":{b}");
        }
        Value::DoubleBit(d) => {
            let _ = write!(s, ",\"value\":\"{}\"", d.name());
        }
        Value::Unsigned(u) => {
            let _ = write!(s, ",\"value\":{u}");
        }
        Value::Signed(i) => {
            let _ = write!(s, ",\"value\":{i}");
        }
        Value::Float(f) => {
            s.push_str(",\"value\":");
            float(f, s);
        }
        Value::Crob(c) => {
            let _ = write!(
                s,
                ",\"crob\":{{\"code\":{},\"op\":\"{}\",\"tcc\":\"{}\",\"clear\":{},\"queue\":{},\"count\":{},\"on_time\":{},\"off_time\":{}}}",
                c.code.0,
                c.code.op_type().name(),
                c.code.trip_close().name(),
                c.code.clear(),
                c.code.queue(),
                c.count,
                c.on_time,
                c.off_time
            );
        }
        Value::Interval { interval, units } => {
            let _ = write!(s, ",\"interval\":{interval},\"units\":{units}");
        }
        Value::SecurityStatistic { association, value } => {
            let _ = write!(s, ",\"association\":{association},\"value\":{value}");
        }
        Value::Bytes(b) => {
            s.push_str(",\"value\":");
            hex_string(b, s);
        }
        Value::Attribute(a) => {
            let _ = write!(s, ",\"attribute\":{{\"type\":{},\"value\":", a.data_type);
            if let Some(u) = a.as_unsigned() {
                let _ = write!(s, "{u}");
            } else if let Some(i) = a.as_signed() {
                let _ = write!(s, "{i}");
            } else if let Some(f) = a.as_float() {
                float(f, s);
            } else if let Some(text) = a.as_str() {
                json_string(text, s);
            } else {
                hex_string(a.data, s);
            }
            s.push('}');
        }
        _ => {}
    }
    if let Some(f) = p.flags {
        let _ = write!(s, ",\"flags\":{f}");
    }
    if let Some(t) = p.time {
        let _ = write!(s, ",\"time\":{}", t.0);
    }
    if let Some(st) = p.status {
        let _ = write!(s, ",\"status\":\"{}\"", CommandStatus::from_u8(st).name());
    }
    s.push('}');
}

fn json_string(text: &str, s: &mut String) {
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}
