//! What the benchmark measures and prints: channel states, this process's CPU time and memory,
//! the masters' totals, progress lines and the final figures.

use super::masters::{FloodReport, FLOODED};
use rdnp3::stack::master::{AssociationListener, AssociationState};
use rdnp3::{ChannelListener, ChannelState, ListenerStats, Manager};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`), 0 when it cannot be read.
pub fn proc_status(field: &str) -> u64 {
    let read = || -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    read().unwrap_or(0)
}

/// CPU seconds (user + system) used by process `pid` (`self` for this one), from
/// `/proc/<pid>/stat`; 0 when it cannot be read. The fields count clock ticks of `USER_HZ`,
/// taken as 100 per second: what every mainstream Linux configuration uses (reading it would
/// need `sysconf`), so the resolution is 10 ms.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the parenthesised command name: state is field 0, utime 11 and stime 12.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Counts channels open and server channels listening, from their listeners.
#[derive(Clone, Default)]
pub struct StateCounter {
    open: Arc<AtomicUsize>,
    listening: Arc<AtomicUsize>,
}

impl StateCounter {
    /// A listener for one more channel.
    pub fn listener(&self) -> Option<Box<dyn ChannelListener>> {
        let open = self.open.clone();
        let listening = self.listening.clone();
        let mut was_open = false;
        let mut has_listened = false;
        Some(Box::new(move |s: ChannelState| {
            let now_open = s == ChannelState::Open;
            if now_open && !was_open {
                open.fetch_add(1, Ordering::Relaxed);
            } else if !now_open && was_open {
                open.fetch_sub(1, Ordering::Relaxed);
            }
            was_open = now_open;
            // A server reports Connecting once it listens.
            if s == ChannelState::Connecting && !has_listened {
                has_listened = true;
                listening.fetch_add(1, Ordering::Relaxed);
            }
        }))
    }

    /// An association listener for one more dial-in association: it counts as open while
    /// the association is online (a dial-in association has no channel listener).
    pub fn association(&self) -> Box<dyn AssociationListener> {
        Box::new(Online {
            open: self.open.clone(),
            online: false,
        })
    }

    /// Channels open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Server channels that have listened.
    pub fn listening(&self) -> usize {
        self.listening.load(Ordering::Relaxed)
    }
}

/// Counts a dial-in association in `open` while it is online.
struct Online {
    open: Arc<AtomicUsize>,
    online: bool,
}

impl AssociationListener for Online {
    fn state_changed(&mut self, state: AssociationState) {
        let online = state == AssociationState::Online;
        if online && !self.online {
            self.open.fetch_add(1, Ordering::Relaxed);
        } else if !online && self.online {
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
        self.online = online;
    }
}

/// The listener's counters, on one line.
pub fn print_listener(s: &ListenerStats) {
    println!(
        "listener:           {} accepted, {} identified, {} pending, {} over limit, {} first-frame timeouts, {} garbage, {} abandoned, {} replaced, {} refused, {} accept errors",
        s.accepted,
        s.identified,
        s.pending,
        s.over_limit,
        s.timeouts,
        s.garbage,
        s.abandoned,
        s.replaced,
        s.refused_unknown + s.refused_peer + s.refused_duplicate,
        s.accept_errors
    );
}

/// The masters' counters summed over every association of the manager.
#[derive(Clone, Copy, Default)]
pub struct Totals {
    pub polls: u64,
    pub timeouts: u64,
    pub failures: u64,
}

impl Totals {
    /// As every association last published them (no round trip to the executors).
    pub fn of(manager: &Manager) -> Totals {
        Totals::split(manager).0
    }

    /// [`Totals::of`] every association, and of those whose channel goes to a flooder
    /// (named `flooded-…`).
    pub fn split(manager: &Manager) -> (Totals, Totals) {
        let mut all = Totals::default();
        let mut flooded = Totals::default();
        manager.for_each_master_stats(|a| {
            let add = |t: &mut Totals| {
                t.polls += a.stats.polls;
                t.timeouts += a.stats.timeouts;
                t.failures += a.stats.failures;
            };
            add(&mut all);
            if a.channel.starts_with(FLOODED) {
                add(&mut flooded);
            }
        });
        (all, flooded)
    }
}

/// The flooders' figures (`--flooders`): their channels apart, and the other outstations'.
pub fn print_flood(r: &FloodReport, all: &Totals, flooded: &Totals, n: usize) {
    println!(
        "flooded channels:   {} of {n}: {} flood closes, {} bytes received, {} connects, {} timeouts, {} failures",
        r.channels, r.flood_closes, r.bytes_rx, r.connects, flooded.timeouts, flooded.failures
    );
    println!(
        "other outstations:  {}: timeouts={} failures={}",
        n - r.channels,
        all.timeouts - flooded.timeouts,
        all.failures - flooded.failures
    );
    println!("flood closes:       {} (every channel)", r.all_flood_closes);
}

/// Prints `t=… open=… polls/s=… timeouts=… failures=…` every `every` seconds.
pub struct Progress {
    every: Option<f64>,
    start: Instant,
    last: Instant,
    last_polls: u64,
    next: f64,
}

impl Progress {
    /// Times from now.
    pub fn new(every: Option<f64>) -> Self {
        let now = Instant::now();
        Progress {
            every,
            start: now,
            last: now,
            last_polls: 0,
            next: every.unwrap_or(0.0),
        }
    }

    /// Prints a line when one is due; `totals` reads the masters' counters.
    pub fn tick(&mut self, open: usize, totals: impl FnOnce() -> Totals) {
        let Some(every) = self.every else { return };
        let t = self.start.elapsed().as_secs_f64();
        if t < self.next {
            return;
        }
        while self.next <= t {
            self.next += every;
        }
        let totals = totals();
        let interval = self.last.elapsed().as_secs_f64().max(1e-9);
        let rate = totals.polls.saturating_sub(self.last_polls) as f64 / interval;
        self.last = Instant::now();
        self.last_polls = totals.polls;
        println!(
            "t={t:.1} open={open} polls/s={rate:.0} timeouts={} failures={}",
            totals.timeouts, totals.failures
        );
    }
}

/// Link counters summed over channels.
pub fn print_link(stats: impl Iterator<Item = rdnp3::ChannelStats>) {
    let mut link = rdnp3::ChannelStats::default();
    for s in stats {
        link.reconnects += s.reconnects;
        link.link_errors += s.link_errors;
        link.dropped_frames += s.dropped_frames;
        link.transport_errors += s.transport_errors;
        link.connects += s.connects;
    }
    println!(
        "link:               {} connects, {} reconnects, {} link errors, {} dropped frames, {} transport errors",
        link.connects, link.reconnects, link.link_errors, link.dropped_frames, link.transport_errors
    );
}

/// The CPU lines: over the window (per 1000 polls) and since `cpu_start`.
pub fn print_cpu(cpu: f64, elapsed: f64, polls: u64, cpu_start: f64) {
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
        cpu_seconds("self") - cpu_start
    );
}
