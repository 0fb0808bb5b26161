//! `density`: the main job. Starts N outstations on loopback and one master association per
//! outstation on one Manager, polls them all, and prints what it measures: channels open,
//! polls/s, events/s received, timeouts and failures, CPU seconds, peak RSS and RSS per channel.

mod common;

use common::{Args, OrExit};
use rdnp3::stack::master::{Classes, MasterConfig, Measurement, ReadHandler, ReadRequest};
use rdnp3::stack::outstation::{OutstationConfig, Update};
use rdnp3::{Channel, ChannelConfig, ChannelState, Manager, Outstation, TlsConfig};
use rdnp3_testkit::pki::{Pki, Validity};
use rdnp3_testkit::process::{cpu_time, raise_fd_limit};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HELP: &str = "\
density: many master-outstation pairs over loopback on one reactor

USAGE:
    density [OPTIONS]

OPTIONS:
    --outstations N       outstations, each with its own master association (default 1000)
    --threads T           reactor threads (default: available cores)
    --poll-ms MS          class 1/2/3 poll period of every master (default 1000)
    --integrity-s S       integrity poll period (default 60)
    --events-per-sec E    analog events each outstation makes per second (default 1)
    --seconds S           how long to run after every channel is open (default 10)
    --backend B           auto, epoll or io-uring (default auto)
    --tls                 every channel over TLS with mutual authentication (a throwaway CA and
                          certificates are made at start in a temporary directory)
    -h, --help            this text

Outstations listen on 127.<a>.<b>.<c> addresses (one per outstation) on a port chosen per run
below the ephemeral range, so runs never share ports. Needs about 3 file descriptors per
outstation (listener, accepted connection, master connection).
";

/// Counts what the masters receive.
struct Counter {
    events: Arc<AtomicU64>,
    values: Arc<AtomicU64>,
}

impl ReadHandler for Counter {
    fn measurement(&mut self, m: &Measurement<'_>) {
        if m.event {
            self.events.fetch_add(1, Ordering::Relaxed);
        } else {
            self.values.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn proc_status(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A per-run base: a random second octet and port, from the clock and the pid.
fn run_base() -> (u8, u16) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 32);
    let mix = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (
        100 + (mix >> 56) as u8 % 100,
        20000 + ((mix >> 20) % 10000) as u16,
    )
}

fn address(octet: u8, port: u16, i: usize) -> SocketAddr {
    let i = i + 1;
    let ip = Ipv4Addr::new(127, octet, (i >> 8) as u8, (i & 0xFF) as u8);
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A CA and one certificate for the outstations and one for the masters, made for this run
/// in a temporary directory (removed when the `Pki` drops).
struct ThrowawayPki {
    files: Pki,
    outstation: TlsConfig,
    master: TlsConfig,
}

impl ThrowawayPki {
    fn new() -> Self {
        let files = Pki::new("density");
        let ca = files.ca("ca");
        let issue = |who: &str| {
            let id = files.issue(&ca, who, &[&format!("{who}.density")], Validity::Now);
            TlsConfig::ca_chain(id.cert, id.key, &ca.path)
        };
        let outstation = issue("outstation");
        let master = issue("master").with_peer_name("outstation.density");
        ThrowawayPki {
            files,
            outstation,
            master,
        }
    }
}

fn main() {
    common::init_logging();
    let mut args = Args::read(HELP);
    let n: usize = args.get("--outstations", 1000);
    let threads: usize = args.get("--threads", 0);
    let poll_ms: u64 = args.get("--poll-ms", 1000);
    let integrity_s: u64 = args.get("--integrity-s", 60);
    let events_per_sec: f64 = args.get("--events-per-sec", 1.0);
    let seconds: u64 = args.get("--seconds", 10);
    let backend = args.backend();
    let tls = args.switch("--tls");
    args.finish();
    if n == 0 || n > 60_000 {
        args.fail("--outstations must be between 1 and 60000");
    }
    let needed = 3 * n as u64 + 64;
    let limit = raise_fd_limit();
    if needed > limit {
        args.fail(&format!(
            "{n} outstations need about {needed} file descriptors; ulimit -n is {limit}"
        ));
    }

    let rss_start = proc_status("VmRSS:").unwrap_or(0);
    let cpu_start = cpu_time().as_secs_f64();
    let manager = Manager::builder()
        .threads(threads)
        .backend(backend)
        .build()
        .or_exit();
    println!(
        "backend:            {:?} ({} threads)",
        manager.backend(),
        manager.threads()
    );
    let (octet, port) = run_base();
    println!("addresses:          127.{octet}.x.y:{port}");
    let pki = tls.then(ThrowawayPki::new);
    if let Some(pki) = &pki {
        println!(
            "transport:          TLS, mutual authentication (CA in {})",
            pki.files.dir().display()
        );
    }

    let open = Arc::new(AtomicUsize::new(0));
    let count_open = |open: &Arc<AtomicUsize>| {
        let open = open.clone();
        let mut was_open = false;
        Some(Box::new(move |s: ChannelState| {
            let now_open = s == ChannelState::Open;
            if now_open && !was_open {
                open.fetch_add(1, Ordering::Relaxed);
            } else if !now_open && was_open {
                open.fetch_sub(1, Ordering::Relaxed);
            }
            was_open = now_open;
        }) as Box<dyn rdnp3::ChannelListener>)
    };

    let setup = Instant::now();
    let mut outstations: Vec<(Channel, Outstation)> = Vec::with_capacity(n);
    for i in 0..n {
        let config = ChannelConfig::named(format!("outstation-{i}")).with_keep_alive(None);
        let channel = match &pki {
            Some(pki) => manager.add_tls_server(
                config,
                address(octet, port, i),
                pki.outstation.clone(),
                count_open(&open),
            ),
            None => manager.add_tcp_server(config, address(octet, port, i), count_open(&open)),
        }
        .expect("server channel");
        let outstation = channel
            .add_outstation(
                OutstationConfig::default(),
                common::demo_database(),
                Box::new(common::DemoControls::quiet()),
                Box::new(rdnp3::stack::outstation::DefaultApplication),
            )
            .expect("outstation");
        outstations.push((channel, outstation));
    }
    let events = Arc::new(AtomicU64::new(0));
    let values = Arc::new(AtomicU64::new(0));
    let mut masters = Vec::with_capacity(n);
    for i in 0..n {
        let config = ChannelConfig::named(format!("master-{i}")).with_keep_alive(None);
        let channel = match &pki {
            Some(pki) => manager.add_tls_client(
                config,
                address(octet, port, i),
                pki.master.clone(),
                count_open(&open),
            ),
            None => manager.add_tcp_client(config, address(octet, port, i), count_open(&open)),
        }
        .expect("client channel");
        let handler = Counter {
            events: events.clone(),
            values: values.clone(),
        };
        let master = channel
            .add_master(MasterConfig::default(), Box::new(handler))
            .expect("master");
        master
            .add_poll(
                ReadRequest::classes(Classes::EVENTS),
                Duration::from_millis(poll_ms.max(1)),
            )
            .expect("poll");
        master
            .add_poll(
                ReadRequest::integrity(),
                Duration::from_secs(integrity_s.max(1)),
            )
            .expect("poll");
        masters.push((channel, master));
    }
    // Wait until every channel (2 per pair) is open.
    let wait_until = Instant::now() + Duration::from_secs(60);
    while open.load(Ordering::Relaxed) < 2 * n && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "channels open:      {} of {} after {:.2} s",
        open.load(Ordering::Relaxed),
        2 * n,
        setup.elapsed().as_secs_f64()
    );

    // Measure: counters at the start of the window, events made by a driver thread.
    let polls_before: u64 = masters
        .iter()
        .map(|(_, m)| m.stats().wait().map(|s| s.polls).unwrap_or(0))
        .sum();
    let events_before = events.load(Ordering::Relaxed);
    let cpu_before = cpu_time().as_secs_f64();
    let window = Instant::now();
    let end = window + Duration::from_secs(seconds);
    let tick = Duration::from_millis(100);
    let mut made = 0u64;
    let mut rounds = 0u64;
    let mut next = window;
    while Instant::now() < end {
        // Every outstation changes one analog input per round; rounds keep pace with the rate.
        // Round k is due at (k - 1) / rate seconds: the first at the start of the window.
        let due = if events_per_sec > 0.0 {
            (events_per_sec * window.elapsed().as_secs_f64()).floor() as u64 + 1
        } else {
            0
        };
        while rounds < due {
            rounds += 1;
            for (i, (_, o)) in outstations.iter().enumerate() {
                let index = (rounds % 10) as u16;
                let value = (rounds as f64) * 0.5 + i as f64;
                if o.update(vec![Update::analog(index, value)]).is_ok() {
                    made += 1;
                }
            }
        }
        next += tick;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let elapsed = window.elapsed().as_secs_f64();
    let cpu = cpu_time().as_secs_f64() - cpu_before;
    let events_rx = events.load(Ordering::Relaxed) - events_before;
    let stats: Vec<_> = masters
        .iter()
        .filter_map(|(_, m)| m.stats().wait().ok())
        .collect();
    let polls: u64 = stats.iter().map(|s| s.polls).sum::<u64>() - polls_before;
    let timeouts: u64 = stats.iter().map(|s| s.timeouts).sum();
    let failures: u64 = stats.iter().map(|s| s.failures).sum();
    let mut link = rdnp3::ChannelStats::default();
    for c in outstations
        .iter()
        .map(|(c, _)| c)
        .chain(masters.iter().map(|(c, _)| c))
    {
        let s = c.stats();
        link.reconnects += s.reconnects;
        link.link_errors += s.link_errors;
        link.dropped_frames += s.dropped_frames;
        link.transport_errors += s.transport_errors;
        link.connects += s.connects;
    }
    let rss_peak = proc_status("VmHWM:").unwrap_or(0);
    let rss_now = proc_status("VmRSS:").unwrap_or(0);
    let channels = 2 * n;
    println!("window:             {elapsed:.2} s");
    println!("polls/s:            {:.0}", polls as f64 / elapsed);
    println!("events/s made:      {:.0}", made as f64 / elapsed);
    println!("events/s received:  {:.0}", events_rx as f64 / elapsed);
    println!("timeouts:           {timeouts}");
    println!("failures:           {failures}");
    println!(
        "link:               {} connects, {} reconnects, {} link errors, {} dropped frames, {} transport errors",
        link.connects, link.reconnects, link.link_errors, link.dropped_frames, link.transport_errors
    );
    println!(
        "cpu seconds:        {cpu:.2} ({:.1} % of one core; {:.3} s per 1000 polls)",
        100.0 * cpu / elapsed,
        if polls > 0 {
            1000.0 * cpu / polls as f64
        } else {
            0.0
        }
    );
    println!(
        "cpu seconds total:  {:.2} (set-up included)",
        cpu_time().as_secs_f64() - cpu_start
    );
    println!("peak rss:           {:.1} MiB", rss_peak as f64 / 1024.0);
    println!(
        "rss per channel:    {:.1} KiB ({channels} channels; {:.1} KiB per master-outstation pair)",
        rss_now.saturating_sub(rss_start) as f64 / channels as f64,
        rss_now.saturating_sub(rss_start) as f64 / n as f64
    );
    drop(masters);
    drop(outstations);
    manager.shutdown();
    if timeouts > 0 || failures > 0 {
        std::process::exit(1);
    }
}
