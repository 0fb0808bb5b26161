//! `rdnp3 decode`: hex dumps, pcap and pcapng captures to JSON lines.
//!
//! - `stream.rs`: one direction of a DNP3 byte stream to JSON lines (shared with the `decode`
//!   example);
//! - `capture.rs`: pcap and pcapng files to packets;
//! - `packet.rs`: packets to TCP segments;
//! - `tcp.rs`: TCP segments to in-order byte streams, one per direction.

mod capture;
mod packet;
mod stream;
mod tcp;

use capture::{Format, Packet, Timestamp};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use stream::StreamDecoder;
use tcp::{Delivery, Streams, TcpStats};

/// `rdnp3 decode` options.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct DecodeArgs {
    /// A hex dump, pcap or pcapng file (standard input when absent).
    pub file: Option<PathBuf>,
    /// Largest application fragment reassembled, in bytes.
    #[arg(long, default_value_t = 2048)]
    pub max_fragment: usize,
    /// At most this many TCP streams (directions) decoded at once; segments of further streams
    /// are counted and dropped until a stream closes. Each holds at most 64 KiB of segments
    /// that arrived ahead of a gap.
    #[arg(long, default_value_t = 1024)]
    pub max_streams: usize,
}

const AFTER_HELP: &str = "\
INPUT: recognised by its first bytes.
  pcap (either byte order, us or ns timestamps) and pcapng: Ethernet (802.1Q/802.1ad tags),
  Linux cooked (SLL, SLL2), raw IP and loopback packets carrying IPv4 or IPv6 TCP. Each TCP
  direction is reassembled by sequence number and decoded as one DNP3 byte stream.
  Anything else is a hex dump of one direction of a link, as the decode example reads: white
  space ignored, '#' starts a comment.

OUTPUT: one JSON object per line, as the decode example prints them ({\"link\":…}, {\"app\":…},
  {\"error\":…}); from a capture each also has \"stream\":\"SRC_IP:PORT>DST_IP:PORT\" and \"ts\",
  the capture time in seconds (null for pcapng simple packet blocks) of the packet that
  completed it. Capture errors have layer \"capture\" (TRUNCATED, BAD_BLOCK_LENGTH, …; offset
  in the file), lost TCP bytes layer \"tcp\" (GAP; offset: the
  stream bytes decoded before the hole, as link error offsets count). A summary goes to
  standard error.";

/// Decodes the input.
pub fn run(args: DecodeArgs) -> ExitCode {
    let mut input = Vec::new();
    let read = match &args.file {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut input)),
        None => std::io::stdin().read_to_end(&mut input),
    };
    if let Err(e) = read {
        let name = args
            .file
            .as_ref()
            .map_or("standard input".into(), |p| p.display().to_string());
        return fail(&format!("cannot read {name}: {e}"));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let format = capture::detect(&input);
    if format == Format::Hex {
        let Ok(text) = std::str::from_utf8(&input) else {
            return fail("the input is neither a pcap, a pcapng nor a hex dump");
        };
        let bytes = match stream::hex_decode(text) {
            Ok(b) => b,
            Err(e) => return fail(&e.to_string()),
        };
        let mut decoder = StreamDecoder::new(args.max_fragment);
        let mut lines = Vec::new();
        decoder.feed(&bytes, &mut lines);
        decoder.finish(&mut lines);
        for line in lines {
            if writeln!(out, "{line}").is_err() {
                return ExitCode::SUCCESS;
            }
        }
    } else {
        let mut session = CaptureDecoder::new(&args, &mut out);
        let result = match format {
            Format::Pcap => capture::read_pcap(&input, |p| session.packet(p)),
            _ => capture::read_pcapng(&input, |p| session.packet(p)),
        };
        if let Err(e) = result {
            session.write(None, stream::error("capture", e.kind, e.offset), None);
        }
        session.finish();
        eprintln!("decode: {}", session.summary());
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Per-stream DNP3 decoding of the TCP segments of a capture.
struct CaptureDecoder<'w, W: Write> {
    out: &'w mut W,
    streams: Streams<StreamState>,
    max_fragment: usize,
    stats: TcpStats,
    packets: u64,
    segments: u64,
    skipped: u64,
    over_limit: u64,
    lines: Vec<String>,
}

/// A direction's decoder, its label and the time of its latest packet.
struct StreamState {
    decoder: StreamDecoder,
    label: String,
    ts: Option<Timestamp>,
    /// Bytes fed to the decoder: the stream offsets its errors count in.
    fed: u64,
    finished: bool,
}

impl<'w, W: Write> CaptureDecoder<'w, W> {
    fn new(args: &DecodeArgs, out: &'w mut W) -> Self {
        CaptureDecoder {
            out,
            streams: Streams::new(args.max_streams.max(1)),
            max_fragment: args.max_fragment,
            stats: TcpStats::default(),
            packets: 0,
            segments: 0,
            skipped: 0,
            over_limit: 0,
            lines: Vec::new(),
        }
    }

    fn packet(&mut self, p: Packet<'_>) {
        self.packets += 1;
        let Ok(segment) = packet::tcp_segment(p.link_type, p.data) else {
            self.skipped += 1;
            return;
        };
        self.segments += 1;
        let max_fragment = self.max_fragment;
        let make = || StreamState {
            decoder: StreamDecoder::new(max_fragment),
            label: format!("{}>{}", segment.src, segment.dst),
            ts: p.ts,
            fed: 0,
            finished: false,
        };
        let Some((direction, state)) = self.streams.get_or_insert((segment.src, segment.dst), make)
        else {
            self.over_limit += 1;
            return;
        };
        if state.finished {
            if segment.flags & packet::SYN == 0 {
                // Bytes after FIN/RST, once the stream's decoder has been finished.
                self.stats.duplicates += 1;
                return;
            }
            // The same addresses and ports again: a new connection, a new stream.
            *direction = tcp::Direction::default();
            state.decoder = StreamDecoder::new(max_fragment);
            state.fed = 0;
            state.finished = false;
        }
        state.ts = p.ts;
        let lines = &mut self.lines;
        direction.push(&segment, &mut self.stats, &mut |d| deliver(state, d, lines));
        if direction.closed {
            direction.flush(&mut self.stats, &mut |d| deliver(state, d, lines));
            state.decoder.finish(lines);
            state.finished = true;
        }
        let (label, ts) = (state.label.clone(), state.ts);
        self.write_lines(&label, ts);
    }

    /// Flushes the streams still open at the end of the capture.
    fn finish(&mut self) {
        let mut pending = Vec::new();
        for (_, direction, state) in self.streams.iter_mut() {
            if state.finished {
                continue;
            }
            let mut lines = Vec::new();
            direction.flush(&mut self.stats, &mut |d| deliver(state, d, &mut lines));
            state.decoder.finish(&mut lines);
            state.finished = true;
            pending.push((state.label.clone(), state.ts, lines));
        }
        for (label, ts, lines) in pending {
            self.lines = lines;
            self.write_lines(&label, ts);
        }
    }

    fn write_lines(&mut self, label: &str, ts: Option<Timestamp>) {
        for line in std::mem::take(&mut self.lines) {
            self.write(Some(label), line, ts);
        }
    }

    /// Writes `line` with the stream's label and time added to its object.
    fn write(&mut self, label: Option<&str>, mut line: String, ts: Option<Timestamp>) {
        if let Some(label) = label {
            line.pop(); // The object's closing brace.
            line.push_str(",\"stream\":\"");
            line.push_str(label);
            line.push_str("\",\"ts\":");
            match ts {
                Some(ts) => line.push_str(&ts.to_string()),
                None => line.push_str("null"),
            }
            line.push('}');
        }
        let _ = writeln!(self.out, "{line}");
    }

    fn summary(&self) -> String {
        format!(
            "{} packets, {} TCP segments in {} streams; {} not TCP or malformed, {} \
             duplicate segments, {} out of window, {} gaps, {} dropped over --max-streams",
            self.packets,
            self.segments,
            self.streams.created,
            self.skipped,
            self.stats.duplicates,
            self.stats.out_of_window,
            self.stats.gaps,
            self.over_limit
        )
    }
}

fn deliver(state: &mut StreamState, d: Delivery<'_>, lines: &mut Vec<String>) {
    match d {
        Delivery::Bytes(bytes) => {
            state.decoder.feed(bytes, lines);
            state.fed += bytes.len() as u64;
        }
        Delivery::Gap { .. } => {
            // At the offset the decoder has reached; its parser resynchronises on the next
            // start octets after the hole.
            lines.push(stream::error("tcp", "GAP", state.fed as usize));
        }
    }
}
