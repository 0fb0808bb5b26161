//! `--metrics`: Prometheus' text exposition format on `GET /metrics`, served by tiny_http on a
//! thread of its own. Everything it reports is read without asking an executor: the
//! association listeners keep per-outstation atomics, the channels' counters and the
//! associations' published statistics are snapshots, and the reactor's executor counters are
//! atomics too.

use super::output::Output;
use rdnp3::reactor::ExecutorStats;
use rdnp3::{AssociationStats, Channel, ChannelStats, ListenerStats, MasterListener};
use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Upper bounds of the response-time histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What the association listener of one outstation records for the metrics.
#[derive(Debug)]
pub struct OutstationMetrics {
    /// The outstation's name.
    pub name: Arc<str>,
    online: AtomicBool,
    task_failures: AtomicU64,
    /// Responses per bucket (not cumulative); the last one counts those above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl OutstationMetrics {
    /// Nothing recorded yet: offline.
    pub fn new(name: Arc<str>) -> Self {
        OutstationMetrics {
            name,
            online: AtomicBool::new(false),
            task_failures: AtomicU64::new(0),
            buckets: Default::default(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// The association went online or offline.
    pub fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::Relaxed);
    }

    /// Whether the association is online.
    pub fn online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// A task failed.
    pub fn task_failed(&self) {
        self.task_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A response arrived `rtt` after its request.
    pub fn response_time(&self, rtt: Duration) {
        let seconds = rtt.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Where an outstation's association lives.
#[derive(Clone)]
pub enum Link {
    /// On a channel of its own: its counters are read from the handle.
    Channel(Channel),
    /// On the dial-in listener, on the channel of this name: its association's statistics
    /// come from the manager's snapshot; its channel counters are not reported.
    DialIn(Arc<str>),
}

/// Everything `/metrics` reports on.
pub struct Registry {
    /// Each outstation with where it lives.
    pub outstations: Vec<(Arc<OutstationMetrics>, Link)>,
    /// The dial-in listener, if any.
    pub listener: Option<MasterListener>,
    /// The output, for its dropped lines.
    pub output: Output,
}

/// Builds one exposition: families with `# HELP` and `# TYPE`, then their samples.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{key}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// How one channel counter is read from a snapshot.
type ReadChannel = fn(&ChannelStats) -> u64;

/// One channel counter family: its name, help and how it is read.
type ChannelCounter = (&'static str, &'static str, ReadChannel);

const CHANNEL_COUNTERS: [ChannelCounter; 6] = [
    (
        "rdnp3_channel_bytes_received_total",
        "Bytes received.",
        |s| s.bytes_rx,
    ),
    ("rdnp3_channel_bytes_sent_total", "Bytes sent.", |s| {
        s.bytes_tx
    }),
    (
        "rdnp3_channel_frames_received_total",
        "Valid link frames received.",
        |s| s.frames_rx,
    ),
    (
        "rdnp3_channel_frames_sent_total",
        "Link frames sent.",
        |s| s.frames_tx,
    ),
    ("rdnp3_channel_connects_total", "Connections opened.", |s| {
        s.connects
    }),
    (
        "rdnp3_channel_dropped_frames_total",
        "Valid frames dropped: unknown address, wrong direction or unexpected function.",
        |s| s.dropped_frames,
    ),
];

/// The error kinds of `rdnp3_channel_errors_total`.
const CHANNEL_ERRORS: [(&str, ReadChannel); 5] = [
    ("crc", |s| s.crc_errors),
    ("link", |s| s.link_errors),
    ("transport", |s| s.transport_errors),
    ("keep_alive", |s| s.keep_alive_failures),
    ("tls", |s| s.tls_errors),
];

impl Registry {
    /// The exposition text for the current state, `executors` and the manager's
    /// `associations`.
    pub fn render(&self, executors: &[ExecutorStats], associations: &[AssociationStats]) -> String {
        let mut e = Exposition::default();
        self.render_outstations(&mut e, associations);
        self.render_channels(&mut e);
        if let Some(listener) = &self.listener {
            render_listener(&mut e, &listener.stats());
        }
        render_executors(&mut e, executors);
        e.family(
            "rdnp3_output_dropped_lines_total",
            "counter",
            "Output lines dropped because stdout was not read fast enough.",
        );
        e.sample(
            "rdnp3_output_dropped_lines_total",
            &[],
            self.output.dropped(),
        );
        e.text
    }

    fn render_outstations(&self, e: &mut Exposition, associations: &[AssociationStats]) {
        e.family(
            "rdnp3_outstation_online",
            "gauge",
            "1 while the association is online (link up, tasks succeeding), else 0.",
        );
        for (m, _) in &self.outstations {
            e.sample(
                "rdnp3_outstation_online",
                &[("outstation", &m.name)],
                u8::from(m.online()),
            );
        }
        let stats: Vec<_> = self
            .outstations
            .iter()
            .map(|(_, link)| match link {
                Link::Channel(channel) => channel.master_stats().into_iter().next(),
                Link::DialIn(name) => associations.iter().find(|a| a.channel == *name).cloned(),
            })
            .map(|a| a.map(|a| a.stats))
            .collect();
        type Read = fn(&rdnp3::MasterStats) -> u64;
        let counters: [(&str, &str, Read); 4] = [
            ("rdnp3_outstation_polls_total", "Completed polls.", |s| {
                s.polls
            }),
            ("rdnp3_outstation_requests_total", "Requests sent.", |s| {
                s.requests
            }),
            (
                "rdnp3_outstation_timeouts_total",
                "Requests that timed out.",
                |s| s.timeouts,
            ),
            (
                "rdnp3_outstation_measurements_total",
                "Measurements received.",
                |s| s.measurements,
            ),
        ];
        for (name, help, read) in counters {
            e.family(name, "counter", help);
            for ((m, _), s) in self.outstations.iter().zip(&stats) {
                let value = s.as_ref().map_or(0, read);
                e.sample(name, &[("outstation", &m.name)], value);
            }
        }
        e.family(
            "rdnp3_outstation_task_failures_total",
            "counter",
            "Tasks (polls, commands, start-up steps) that failed.",
        );
        for (m, _) in &self.outstations {
            let failures = m.task_failures.load(Ordering::Relaxed);
            e.sample(
                "rdnp3_outstation_task_failures_total",
                &[("outstation", &m.name)],
                failures,
            );
        }
        let name = "rdnp3_outstation_response_seconds";
        e.family(
            name,
            "histogram",
            "Time from a request to the first fragment of its response.",
        );
        for (m, _) in &self.outstations {
            let mut cumulative = 0;
            for (i, count) in m.buckets.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or("+Inf".to_string(), f64::to_string);
                e.sample(
                    &format!("{name}_bucket"),
                    &[("outstation", &m.name), ("le", &le)],
                    cumulative,
                );
            }
            let sum = m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            e.sample(&format!("{name}_sum"), &[("outstation", &m.name)], sum);
            e.sample(
                &format!("{name}_count"),
                &[("outstation", &m.name)],
                cumulative,
            );
        }
    }

    fn render_channels(&self, e: &mut Exposition) {
        let channels: Vec<&Channel> = self
            .outstations
            .iter()
            .filter_map(|(_, link)| match link {
                Link::Channel(channel) => Some(channel),
                Link::DialIn(_) => None,
            })
            .collect();
        let stats: Vec<ChannelStats> = channels.iter().map(|c| c.stats()).collect();
        for (name, help, read) in CHANNEL_COUNTERS {
            e.family(name, "counter", help);
            for (channel, s) in channels.iter().zip(&stats) {
                e.sample(name, &[("channel", channel.name())], read(s));
            }
        }
        let name = "rdnp3_channel_errors_total";
        e.family(
            name,
            "counter",
            "Errors by kind: CRC, link (CRC included), transport, keep-alive and TLS.",
        );
        for (channel, s) in channels.iter().zip(&stats) {
            for (kind, read) in CHANNEL_ERRORS {
                e.sample(
                    name,
                    &[("channel", channel.name()), ("kind", kind)],
                    read(s),
                );
            }
        }
    }
}

/// The dial-in listener: connections accepted, identified, waiting, refused and closed.
fn render_listener(e: &mut Exposition, s: &ListenerStats) {
    let name = "rdnp3_listener_accepted_total";
    e.family(name, "counter", "Dial-in connections accepted.");
    e.sample(name, &[], s.accepted);
    let name = "rdnp3_listener_identified_total";
    e.family(
        name,
        "counter",
        "Dial-in connections handed to their outstation's association.",
    );
    e.sample(name, &[], s.identified);
    let name = "rdnp3_listener_pending";
    e.family(name, "gauge", "Dial-in connections not yet identified.");
    e.sample(name, &[], s.pending);
    let name = "rdnp3_listener_refused_total";
    e.family(
        name,
        "counter",
        "Dial-in connections refused: unknown outstation, unexpected peer IP, or already connected (policy refuse).",
    );
    for (reason, value) in [
        ("unknown", s.refused_unknown),
        ("peer", s.refused_peer),
        ("duplicate", s.refused_duplicate),
    ] {
        e.sample(name, &[("reason", reason)], value);
    }
    let name = "rdnp3_listener_closed_total";
    e.family(
        name,
        "counter",
        "Dial-in connections closed by the listener, by reason.",
    );
    for (reason, value) in [
        ("garbage", s.garbage),
        ("timeout", s.timeouts),
        ("abandoned", s.abandoned),
        ("over_limit", s.over_limit),
        ("replaced", s.replaced),
        ("handoff_failed", s.handoff_failed),
        ("tls", s.tls_errors),
    ] {
        e.sample(name, &[("reason", reason)], value);
    }
    let name = "rdnp3_listener_accept_errors_total";
    e.family(name, "counter", "Accepts that failed.");
    e.sample(name, &[], s.accept_errors);
}

/// The executors' load: what each one carries now and what it has done.
fn render_executors(e: &mut Exposition, executors: &[ExecutorStats]) {
    type Read = fn(&ExecutorStats) -> u64;
    let families: [(&str, &str, &str, Read); 6] = [
        (
            "rdnp3_executor_channels",
            "gauge",
            "Channels pinned to the executor.",
            |s| s.actors as u64,
        ),
        (
            "rdnp3_executor_sources",
            "gauge",
            "Descriptors (connections, listeners, serial ports) the executor drives.",
            |s| s.sources as u64,
        ),
        (
            "rdnp3_executor_timers",
            "gauge",
            "Timers pending in the executor's wheel.",
            |s| s.timers as u64,
        ),
        (
            "rdnp3_executor_wakeups_total",
            "counter",
            "Times the executor woke from sleeping in the kernel.",
            |s| s.wakeups,
        ),
        (
            "rdnp3_executor_polls_total",
            "counter",
            "Loop iterations of the executor (one driver poll each).",
            |s| s.polls,
        ),
        (
            "rdnp3_executor_messages_total",
            "counter",
            "Messages posted to the executor's channels and delivered.",
            |s| s.messages,
        ),
    ];
    for (name, kind, help, read) in families {
        e.family(name, kind, help);
        for s in executors {
            e.sample(name, &[("executor", &s.index.to_string())], read(s));
        }
    }
    let name = "rdnp3_executor_busy_seconds_total";
    e.family(
        name,
        "counter",
        "Time the executor spent working rather than waiting; its rate is the executor's load.",
    );
    for s in executors {
        let busy = s.busy.as_secs_f64();
        e.sample(name, &[("executor", &s.index.to_string())], busy);
    }
}

/// Serves `GET /metrics` until `stop` is set; other paths get 404, other methods 405.
pub fn serve(
    server: &tiny_http::Server,
    registry: &Registry,
    snapshot: impl Fn() -> (Vec<ExecutorStats>, Vec<AssociationStats>),
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let request = match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(_) => return,
        };
        let path = request.url().split('?').next().unwrap_or("");
        let response = if path != "/metrics" {
            tiny_http::Response::from_string("not found\n").with_status_code(404)
        } else if *request.method() != tiny_http::Method::Get {
            tiny_http::Response::from_string("only GET\n").with_status_code(405)
        } else {
            let content_type = tiny_http::Header::from_bytes(
                "Content-Type",
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .expect("a valid header");
            let (executors, associations) = snapshot();
            tiny_http::Response::from_string(registry.render(&executors, &associations))
                .with_header(content_type)
        };
        let _ = request.respond(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslashes_quotes_and_line_feeds() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("a\nb"), "a\\nb");
        let mut e = Exposition::default();
        e.sample("m", &[("outstation", "x\"y")], 1);
        assert_eq!(e.text, "m{outstation=\"x\\\"y\"} 1\n");
    }

    #[test]
    fn response_times_fall_into_cumulative_buckets() {
        let m = OutstationMetrics::new("rtu".into());
        m.response_time(Duration::from_micros(500));
        m.response_time(Duration::from_millis(30));
        m.response_time(Duration::from_secs(9));
        let counts: Vec<u64> = m
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 1, "0.5 ms <= 1 ms");
        assert_eq!(counts[5], 1, "30 ms <= 50 ms");
        assert_eq!(counts[BUCKETS.len()], 1, "9 s above every bound");
        assert_eq!(m.sum_micros.load(Ordering::Relaxed), 9_030_500);
    }
}
