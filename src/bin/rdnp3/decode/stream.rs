//! One direction of a DNP3 byte stream to JSON lines: every link frame, every reassembled
//! application fragment and every error as one JSON object.
//!
//! The one decoding core of `rdnp3 decode` and of the `decode` example (which includes this file
//! by path), so it uses only the `rdnp3` crate and std.

use rdnp3::stack::app::{Fragment, ObjectHeader, Range};
use rdnp3::stack::link::{LinkError, LinkFrame, LinkParser};
use rdnp3::stack::objects::{CommandStatus, Point, Value};
use rdnp3::stack::transport::Reassembler;
use std::fmt::{self, Write as _};

/// Why hex text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// A character that is neither a hex digit, white space nor part of a `#` comment.
    NotADigit {
        /// The 1-based line of the character.
        line: usize,
        /// The character.
        found: char,
    },
    /// The digits do not pair up into whole bytes.
    OddDigits,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::NotADigit { line, found } => {
                write!(f, "line {line}: {found:?} is not a hex digit")
            }
            HexError::OddDigits => f.write_str("odd number of hex digits"),
        }
    }
}

/// Hex digits to bytes, ignoring white space and `#` comments to the end of a line.
pub fn hex_decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for c in line.chars().filter(|c| !c.is_whitespace()) {
            let d = c.to_digit(16).ok_or(HexError::NotADigit {
                line: n + 1,
                found: c,
            })?;
            digits.push(d as u8);
        }
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddDigits);
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// Decodes one direction of a link, fed in pieces split anywhere; each call hands back the
/// JSON lines of what the new bytes completed.
pub struct StreamDecoder {
    parser: LinkParser,
    reassembler: Reassembler,
    line: String,
}

impl StreamDecoder {
    /// A decoder at stream offset 0 that reassembles fragments of up to `max_fragment` bytes.
    pub fn new(max_fragment: usize) -> Self {
        StreamDecoder {
            parser: LinkParser::new(),
            reassembler: Reassembler::new(max_fragment),
            line: String::new(),
        }
    }

    /// Feeds the next bytes of the stream; pushes a JSON line for each frame, fragment and
    /// error they complete.
    pub fn feed(&mut self, bytes: &[u8], lines: &mut Vec<String>) {
        let StreamDecoder {
            parser,
            reassembler,
            line,
        } = self;
        parser.feed(bytes, |event| {
            fragment_event(reassembler, line, event, lines);
        });
    }

    /// Ends the stream: pushes the error for bytes left over in an unfinished frame, if any.
    pub fn finish(&mut self, lines: &mut Vec<String>) {
        if let Some(e) = self.parser.finish() {
            fragment_event(&mut self.reassembler, &mut self.line, Err(e), lines);
        }
    }
}

fn fragment_event(
    reassembler: &mut Reassembler,
    line: &mut String,
    event: Result<LinkFrame<'_>, LinkError>,
    lines: &mut Vec<String>,
) {
    match event {
        Err(e) => lines.push(error("link", e.kind.name(), e.offset as usize)),
        Ok(frame) => {
            lines.push(link_json(&frame));
            if !frame.header.control.function.carries_data() {
                return;
            }
            let h = frame.header;
            match reassembler.push(frame.user_data, h.source, h.destination) {
                Err(e) => lines.push(error("transport", e.kind.name(), frame.offset as usize)),
                Ok(None) => {}
                Ok(Some(fragment)) => {
                    line.clear();
                    let app_error = app_json(fragment, line);
                    lines.push(line.clone());
                    if let Some((kind, offset)) = app_error {
                        lines.push(error("app", kind, offset));
                    }
                }
            }
        }
    }
}

/// An `{"error":…}` line.
pub fn error(layer: &str, kind: &str, offset: usize) -> String {
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
    for byte in b {
        let _ = write!(s, "{byte:02X}");
    }
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
