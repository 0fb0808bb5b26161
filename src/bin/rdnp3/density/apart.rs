//! The two ends apart: `--role outstations` (a farm of outstations listening from one
//! endpoint, or dialing in to the master's listener) and `--role master` (one association per
//! outstation of such a farm, connecting to it or listening for it), each in its own process,
//! so that the master's figures are its own.

use super::args::{Options, Peers};
use super::events::{self, Sequences};
use super::farm::{mapped, EventPacer, Farm, FarmPlan, LinkAddresses};
use super::masters::{Masters, Polling};
use super::pki::ThrowawayPki;
use super::report::{self, cpu_seconds, proc_status, Progress, StateCounter, Totals};
use super::{fail, start_manager};
use nix::sys::signal::{SigSet, Signal};
use std::io::Read;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The addresses of `n` outstations from `base`, or an error when they pass the last IPv4
/// address.
fn addresses(base: SocketAddrV4, n: usize) -> Result<Vec<SocketAddr>, ExitCode> {
    (0..n)
        .map(|i| mapped(base, i))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| fail(&format!("{n} outstations from {base} pass 255.255.255.255")))
}

fn link(options: &Options) -> LinkAddresses {
    LinkAddresses {
        outstation: options.outstation_address,
        master: options.master_address,
    }
}

/// The farm's outstations as the options describe them.
pub fn plan(options: &Options) -> FarmPlan {
    FarmPlan {
        link: link(options),
        event_buffer: options.event_buffer,
        flooders: options.flooders,
        flood_kind: options.flood_kind,
    }
}

/// A graceful stop on SIGINT or SIGTERM: the flag turns true when one arrives. Must run
/// before any other thread starts, so that every thread inherits the blocked mask and the
/// signals wait for the one thread that takes them (`sigwait`).
fn stop_on_signals() -> Result<Arc<AtomicBool>, ExitCode> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals
        .thread_block()
        .map_err(|e| fail(&format!("cannot block SIGINT and SIGTERM: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("density-signals".into())
        .spawn(move || {
            if signals.wait().is_ok() {
                flag.store(true, Ordering::Relaxed);
            }
        })
        .map_err(|e| fail(&format!("cannot start the signal thread: {e}")))?;
    Ok(stop)
}

/// For progress lines of the outstations: requests received (as polls) and confirm timeouts
/// (as timeouts), asked of every outstation.
fn requests(farm: &Farm) -> Totals {
    let mut t = Totals::default();
    for (_, o) in &farm.outstations {
        if let Ok(s) = o.stats().wait() {
            t.polls += s.requests;
            t.timeouts += s.confirm_timeouts;
        }
    }
    t
}

/// Runs the outstations until `--seconds` pass, or until killed (or, with
/// `exit_on_stdin_eof`, until standard input closes).
pub fn run_outstations(options: &Options, peers: &Peers, exit_on_stdin_eof: bool) -> ExitCode {
    let n = options.outstations;
    let (addresses, fds) = match peers {
        Peers::Connect(listen) => match addresses(*listen, n) {
            Ok(a) => (a, 2 * n as u64 + 64),
            Err(code) => return code,
        },
        Peers::DialIn(_) => (Vec::new(), n as u64 + 64),
    };
    if exit_on_stdin_eof {
        std::thread::spawn(|| {
            let mut sink = [0u8; 64];
            while matches!(std::io::stdin().read(&mut sink), Ok(1..)) {}
            std::process::exit(0);
        });
    }
    let cpu_start = cpu_seconds("self");
    let manager = match start_manager(options, fds, &format!("{n} outstations")) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let plan = plan(options);
    let link = plan.link;
    let pki = match options.tls_dir.as_deref().filter(|_| options.tls) {
        Some(dir) => match ThrowawayPki::create_in(dir) {
            Ok(pki) => Some(pki),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let states = StateCounter::default();
    let setup = Instant::now();
    let farm = match peers {
        Peers::Connect(_) => Farm::start(
            &manager,
            addresses.iter().copied(),
            &plan,
            pki.as_ref().map(|p| &p.outstation),
            &states,
        ),
        Peers::DialIn(target) => Farm::dial_in(&manager, (*target).into(), n, &plan, &states),
    };
    let farm = match farm {
        Ok(farm) => farm,
        Err(e) => return fail(&e),
    };
    match peers {
        Peers::Connect(listen) => {
            let flooders = farm.flooders.len();
            let wait_until = Instant::now() + Duration::from_secs(60);
            while states.listening() + flooders < n && Instant::now() < wait_until {
                std::thread::sleep(Duration::from_millis(10));
            }
            println!(
                "outstations:        {n} from {listen} to {} (link addresses {} → {})",
                addresses[n - 1],
                link.outstation,
                link.master
            );
            if flooders > 0 {
                println!(
                    "flooders:           {flooders} of the {n} endpoints send {} instead of answering",
                    options.flood_kind.name()
                );
            }
            // A farm started by `--farms` waits for this line.
            println!(
                "listening:          {} of {n} after {:.2} s",
                states.listening() + flooders,
                setup.elapsed().as_secs_f64()
            );
        }
        Peers::DialIn(target) => {
            println!(
                "outstations:        {n} dialing in to {target} (link addresses {} to {} → {})",
                link.outstation,
                usize::from(link.outstation) + n - 1,
                link.master
            );
            // A farm started by `--farms --dial-in` waits for this line.
            println!(
                "dialing in:         {n} client channels after {:.2} s",
                setup.elapsed().as_secs_f64()
            );
        }
    }
    let mut progress = Progress::new(options.report_every);
    let mut pacer = EventPacer::new(options.events_per_sec);
    let window = Instant::now();
    let end = options.seconds.map(|s| window + Duration::from_secs(s));
    let tick = Duration::from_millis(100);
    let mut next = window;
    while end.is_none_or(|end| Instant::now() < end) {
        pacer.catch_up(&farm);
        progress.tick(states.open(), || requests(&farm));
        next += tick;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let elapsed = window.elapsed().as_secs_f64();
    println!("window:             {elapsed:.2} s");
    println!("connections open:   {} of {n}", states.open());
    println!("events/s made:      {:.0}", pacer.made as f64 / elapsed);
    println!(
        "events dropped:     {} (event buffers full; {} analog events each)",
        farm.events_dropped(),
        options.event_buffer
    );
    if farm.flooders.len() > 0 {
        let (connections, bytes) = farm.flooders.totals();
        println!(
            "flooders:           {} sent {} ({bytes} bytes) over {connections} connections",
            farm.flooders.len(),
            options.flood_kind.name()
        );
    }
    report::print_link(farm.outstations.iter().map(|(c, _)| c.stats()));
    println!(
        "cpu seconds total:  {:.2} (set-up included)",
        cpu_seconds("self") - cpu_start
    );
    println!(
        "peak rss:           {:.1} MiB",
        proc_status("VmHWM:") as f64 / 1024.0
    );
    drop(farm);
    manager.shutdown();
    ExitCode::SUCCESS
}

/// Runs one association per outstation of the farm `peers` names, and prints the figures of
/// this process.
pub fn run_master(options: &Options, peers: &Peers) -> ExitCode {
    let n = options.outstations;
    let (addresses, fds) = match peers {
        Peers::Connect(base) => match addresses(*base, n) {
            Ok(a) => (a, n as u64 + 64),
            Err(code) => return code,
        },
        // Plus the listener's pending connections, 2 descriptors each.
        Peers::DialIn(_) => (Vec::new(), n as u64 + 64 + 2 * 64),
    };
    // The event check's state, and the graceful stop that writes it back.
    let start = match options.state.as_deref().map(|p| events::load_state(p, n)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(next))) => Some(next),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = match options.state.is_some().then(stop_on_signals).transpose() {
        Ok(stop) => stop,
        Err(code) => return code,
    };
    let stopped = || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
    let cpu_start = cpu_seconds("self");
    let manager = match start_manager(options, fds, &format!("{n} masters")) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let link = link(options);
    if let Some(path) = &options.state {
        match &start {
            Some(next) => println!(
                "event state:        read from {} ({n} outstations, next values {} in all)",
                path.display(),
                next.iter().sum::<u64>()
            ),
            None => println!(
                "event state:        {} does not exist yet: every sequence starts at 0",
                path.display()
            ),
        }
    }
    let sequences = Sequences::new(n, start.as_deref().unwrap_or(&[]));
    match peers {
        Peers::Connect(base) => println!(
            "connect:            {n} outstations from {base} to {}",
            addresses[n - 1]
        ),
        Peers::DialIn(local) => println!(
            "dial-in:            {n} outstations (link addresses {} to {}) on {local}",
            link.outstation,
            usize::from(link.outstation) + n - 1
        ),
    }
    let states = StateCounter::default();
    let flood_states = StateCounter::default();
    let mut progress = Progress::new(options.report_every);
    let polling = Polling {
        poll_ms: options.poll_ms,
        integrity_s: options.integrity_s,
        link,
    };
    let pki = match options.tls_dir.as_deref().filter(|_| options.tls) {
        Some(dir) => match ThrowawayPki::load(dir) {
            Ok(pki) => Some(pki),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let rss_start = proc_status("VmRSS:");
    let setup = Instant::now();
    let masters = match peers {
        Peers::Connect(_) => Masters::start(
            &manager,
            addresses.into_iter(),
            &polling,
            pki.as_ref().map(|p| &p.master),
            &states,
            &sequences,
            options.flooders,
            &flood_states,
        ),
        Peers::DialIn(local) => {
            Masters::dial_in(&manager, (*local).into(), n, &polling, &states, &sequences)
        }
    };
    let masters = match masters {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    // The channels to flooders open and close again: they are not waited for.
    let wanted = n - options.flooders;
    let wait_until = Instant::now() + Duration::from_secs(60);
    while states.open() < wanted && Instant::now() < wait_until && !stopped() {
        progress.tick(states.open(), || Totals::of(&manager));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "channels open:      {} of {wanted} after {:.2} s",
        states.open(),
        setup.elapsed().as_secs_f64()
    );
    let before = Totals::of(&manager);
    let events_before = masters.events();
    let cpu_before = cpu_seconds("self");
    let window = Instant::now();
    let end = window + Duration::from_secs(options.window());
    while Instant::now() < end && !stopped() {
        progress.tick(states.open(), || Totals::of(&manager));
        let left = end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    let elapsed = window.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    let events_rx = masters.events() - events_before;
    let (totals, flooded) = Totals::split(&manager);
    let polls = totals.polls - before.polls;
    println!("window:             {elapsed:.2} s");
    println!("polls/s:            {:.0}", polls as f64 / elapsed);
    println!("events/s received:  {:.0}", events_rx as f64 / elapsed);
    println!("timeouts:           {}", totals.timeouts);
    println!("failures:           {}", totals.failures);
    match &masters.listener {
        Some(listener) => report::print_listener(&listener.stats()),
        None => report::print_link(masters.link_stats()),
    }
    if options.flooders > 0 {
        report::print_flood(&masters.flood_report(), &totals, &flooded, n);
    }
    report::print_cpu(cpu, elapsed, polls, cpu_start);
    let rss_now = proc_status("VmRSS:");
    println!(
        "peak rss:           {:.1} MiB",
        proc_status("VmHWM:") as f64 / 1024.0
    );
    println!(
        "rss per channel:    {:.1} KiB ({n} channels, one association each)",
        rss_now.saturating_sub(rss_start) as f64 / n as f64
    );
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &options.state {
        let unanswered = masters.quiesce(Duration::from_secs(5));
        let next = masters.sequences.next_values();
        match events::save_state(path, &next) {
            Ok(()) => println!(
                "event state:        written to {} (next values {} in all; {unanswered} associations did not answer the stop)",
                path.display(),
                next.iter().sum::<u64>()
            ),
            Err(e) => code = fail(&e),
        }
    }
    events::print_check(&masters.sequences.totals());
    drop(masters);
    manager.shutdown();
    // With flooders, their channels fail by design: only the others count.
    let counted_timeouts = totals.timeouts - flooded.timeouts;
    let counted_failures = totals.failures - flooded.failures;
    if counted_timeouts > 0 || counted_failures > 0 {
        ExitCode::from(1)
    } else {
        code
    }
}
