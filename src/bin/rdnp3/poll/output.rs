//! The JSON lines on stdout. Reactor callbacks format a line and hand it to one writer thread
//! through a bounded queue without ever waiting: a full queue (stdout not read fast enough)
//! drops the line and counts it, so a slow consumer never stalls the executors. The writer
//! flushes whenever the queue runs empty, so each line is out as soon as nothing else waits.

use super::metrics::OutstationMetrics;
use rdnp3::stack::master::UnsupportedObject;
use rdnp3::{
    AssociationListener, AssociationState, DialInAssociation, Measurement, MeasurementValue,
    ReadHandler, TaskError, TimeQuality, UnknownOutstation, UnknownOutstations,
};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines that may wait for the writer.
const QUEUE_LINES: usize = 65_536;

/// What the writer receives.
enum Msg {
    Line(String),
    /// Write what came before, then stop.
    End,
}

/// Where lines go: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Output {
    queue: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Output {
    /// Starts the writer on `out`; `on_error` runs once if writing fails (stdout closed).
    pub fn start(
        out: impl Write + Send + 'static,
        on_error: impl FnOnce() + Send + 'static,
    ) -> (Output, JoinHandle<()>) {
        let (queue, lines) = sync_channel(QUEUE_LINES);
        let writer = std::thread::Builder::new()
            .name("rdnp3-output".into())
            .spawn(move || write_lines(out, lines, on_error))
            .expect("the output thread starts");
        let output = Output {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (output, writer)
    }

    /// Queues `object` as one line; drops it (counted) when the queue is full.
    pub fn send(&self, object: &impl Serialize) {
        let Ok(line) = serde_json::to_string(object) else {
            return;
        };
        match self.queue.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer stopped (stdout closed): nothing to do.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Lines dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Asks the writer to finish what is queued and stop (waits for room, up to a second).
    pub fn end(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut msg = Msg::End;
        loop {
            match self.queue.try_send(msg) {
                Err(TrySendError::Full(m)) if std::time::Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => return,
            }
        }
    }
}

fn write_lines(out: impl Write, lines: Receiver<Msg>, on_error: impl FnOnce()) {
    let mut out = std::io::BufWriter::new(out);
    loop {
        let msg = match lines.try_recv() {
            Ok(msg) => msg,
            Err(TryRecvError::Empty) => {
                // Nothing else waits: the lines so far go out now.
                if out.flush().is_err() {
                    return on_error();
                }
                match lines.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match msg {
            Msg::Line(line) => {
                if writeln!(out, "{line}").is_err() {
                    return on_error();
                }
            }
            Msg::End => break,
        }
    }
    let _ = out.flush();
}

/// A measurement line: `time` and `quality` only when the object carries a time.
#[derive(Serialize)]
struct MeasurementLine<'a> {
    outstation: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    index: u16,
    value: Value,
    flags: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<&'static str>,
}

/// The JSON form of a value: booleans, numbers, a double-bit state's name, octet strings in
/// hex.
fn value_json(value: &MeasurementValue<'_>) -> Value {
    match value {
        MeasurementValue::Binary(b) => Value::Bool(*b),
        MeasurementValue::Counter(c) => Value::from(*c),
        MeasurementValue::Analog(a) => Value::from(*a),
        other => Value::String(other.to_string()),
    }
}

/// The association's read handler: one line per measurement.
pub struct MeasurementWriter {
    name: Arc<str>,
    out: Output,
}

impl MeasurementWriter {
    /// Lines for outstation `name`.
    pub fn new(name: Arc<str>, out: Output) -> Self {
        MeasurementWriter { name, out }
    }
}

impl ReadHandler for MeasurementWriter {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let timed = m.time.is_some() && m.time_quality != TimeQuality::NoTime;
        self.out.send(&MeasurementLine {
            outstation: &self.name,
            kind: m.kind.name(),
            index: m.index,
            value: value_json(&m.value),
            flags: m.flags,
            time: m.time.filter(|_| timed).map(|t| t.0),
            quality: timed.then(|| m.time_quality.name()),
        });
    }

    fn unsupported(&mut self, object: &UnsupportedObject) {
        self.out.send(&UnsupportedLine {
            outstation: &self.name,
            unsupported: format!("g{}v{}", object.group, object.variation),
            error: object.error.name(),
        });
    }
}

/// An object the master could not parse.
#[derive(Serialize)]
struct UnsupportedLine<'a> {
    outstation: &'a str,
    unsupported: String,
    error: &'static str,
}

/// A health change.
#[derive(Serialize)]
struct StateLine<'a> {
    outstation: &'a str,
    state: &'static str,
}

/// A failed task.
#[derive(Serialize)]
pub struct FailureLine<'a> {
    /// The outstation's name.
    pub outstation: &'a str,
    /// The task's name ("integrity poll", "select before operate" …).
    pub task: &'a str,
    /// Why it failed.
    pub error: String,
}

/// The association's health listener: state changes and task failures as lines, and the
/// outstation's metrics kept up to date.
pub struct HealthWriter {
    metrics: Arc<OutstationMetrics>,
    out: Output,
}

impl HealthWriter {
    /// Reports for the outstation of `metrics`.
    pub fn new(metrics: Arc<OutstationMetrics>, out: Output) -> Self {
        HealthWriter { metrics, out }
    }
}

impl AssociationListener for HealthWriter {
    fn state_changed(&mut self, state: AssociationState) {
        self.metrics.set_online(state == AssociationState::Online);
        self.out.send(&StateLine {
            outstation: &self.metrics.name,
            state: state.name(),
        });
    }

    fn task_completed(&mut self, task: &'static str, result: &Result<(), TaskError>) {
        // Tasks cut short by our own shutdown are no failure of the outstation.
        let Err(e) = result else { return };
        if matches!(e, TaskError::Shutdown) {
            return;
        }
        self.metrics.task_failed();
        self.out.send(&FailureLine {
            outstation: &self.metrics.name,
            task,
            error: e.to_string(),
        });
    }

    fn response_received(&mut self, round_trip: Duration) {
        self.metrics.response_time(round_trip);
    }
}

/// A connection refused because no `dial_in` outstation matches it.
#[derive(Serialize)]
pub struct RefusedLine {
    /// The `[listen]` address.
    pub listener: String,
    /// Why.
    pub refused: &'static str,
    /// The source address of its first frame (binding by link address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_address: Option<u16>,
    /// Where it connected from.
    pub peer: String,
}

/// The listener's callback for outstations that dial in without a `dial_in` entry: each is
/// refused (the listener closes the connection and counts it) and reported as a line.
pub struct RefuseUnknown {
    listener: String,
    out: Output,
}

impl RefuseUnknown {
    /// Reports refusals on the `[listen]` address `listener`.
    pub fn new(listener: std::net::SocketAddr, out: Output) -> Self {
        RefuseUnknown {
            listener: listener.to_string(),
            out,
        }
    }
}

impl UnknownOutstations for RefuseUnknown {
    fn on_unknown(&mut self, outstation: &UnknownOutstation) -> Option<DialInAssociation> {
        self.out.send(&RefusedLine {
            listener: self.listener.clone(),
            refused: "unknown outstation",
            link_address: outstation.link_address,
            peer: outstation.peer.to_string(),
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_come_out_whole_and_in_order() {
        let captured = Captured::default();
        let (out, writer) = Output::start(captured.clone(), || {});
        for i in 0..100u32 {
            out.send(&serde_json::json!({ "i": i }));
        }
        out.end();
        writer.join().unwrap();
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[42], r#"{"i":42}"#);
        assert_eq!(out.dropped(), 0);
    }

    /// A `Write` that blocks until the test lets it go.
    struct Stuck(std::sync::mpsc::Receiver<()>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stdout_drops_and_counts_lines_instead_of_blocking_the_sender() {
        let (release, stuck) = std::sync::mpsc::channel();
        let (out, writer) = Output::start(Stuck(stuck), || {});
        let extra = 10_000;
        for i in 0..QUEUE_LINES + extra {
            out.send(&i);
        }
        // The queue is full; the writer holds what its buffer took before it got stuck.
        let dropped = out.dropped();
        assert!(dropped > 0 && dropped <= extra as u64, "{dropped} dropped");
        drop(release);
        out.end();
        writer.join().unwrap();
    }

    #[test]
    fn values_are_json_booleans_numbers_and_names() {
        assert_eq!(
            value_json(&MeasurementValue::Binary(true)),
            Value::Bool(true)
        );
        assert_eq!(value_json(&MeasurementValue::Counter(7)), Value::from(7));
        assert_eq!(value_json(&MeasurementValue::Analog(1.5)), Value::from(1.5));
        assert_eq!(
            value_json(&MeasurementValue::OctetString(&[0xAB, 1])),
            Value::String("AB01".into())
        );
    }
}
