//! The two ends apart: `--role outstations` (a farm of outstations listening from one
//! endpoint, or dialing in to the master's listener) and `--role master` (one association per
//! outstation of such a farm, connecting to it or listening for it), each in its own process,
//! so that the master's figures are its own.

use super::args::{Options, Peers};
use super::farm::{mapped, EventPacer, Farm, LinkAddresses};
use super::masters::{Masters, Polling};
use super::report::{self, cpu_seconds, proc_status, Progress, StateCounter, Totals};
use super::{fail, start_manager};
use std::io::Read;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;
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
    let link = link(options);
    let states = StateCounter::default();
    let setup = Instant::now();
    let farm = match peers {
        Peers::Connect(_) => Farm::start(&manager, addresses.iter().copied(), link, None, &states),
        Peers::DialIn(target) => Farm::dial_in(&manager, (*target).into(), n, link, &states),
    };
    let farm = match farm {
        Ok(farm) => farm,
        Err(e) => return fail(&e),
    };
    match peers {
        Peers::Connect(listen) => {
            let wait_until = Instant::now() + Duration::from_secs(60);
            while states.listening() < n && Instant::now() < wait_until {
                std::thread::sleep(Duration::from_millis(10));
            }
            println!(
                "outstations:        {n} from {listen} to {} (link addresses {} → {})",
                addresses[n - 1],
                link.outstation,
                link.master
            );
            // A farm started by `--farms` waits for this line.
            println!(
                "listening:          {} of {n} after {:.2} s",
                states.listening(),
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
    let cpu_start = cpu_seconds("self");
    let manager = match start_manager(options, fds, &format!("{n} masters")) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let link = link(options);
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
    let mut progress = Progress::new(options.report_every);
    let polling = Polling {
        poll_ms: options.poll_ms,
        integrity_s: options.integrity_s,
        link,
    };
    let rss_start = proc_status("VmRSS:");
    let setup = Instant::now();
    let masters = match peers {
        Peers::Connect(_) => {
            Masters::start(&manager, addresses.into_iter(), &polling, None, &states)
        }
        Peers::DialIn(local) => Masters::dial_in(&manager, (*local).into(), n, &polling, &states),
    };
    let masters = match masters {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    let wait_until = Instant::now() + Duration::from_secs(60);
    while states.open() < n && Instant::now() < wait_until {
        progress.tick(states.open(), || Totals::of(&manager));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "channels open:      {} of {n} after {:.2} s",
        states.open(),
        setup.elapsed().as_secs_f64()
    );
    let before = Totals::of(&manager);
    let events_before = masters.events();
    let cpu_before = cpu_seconds("self");
    let window = Instant::now();
    let end = window + Duration::from_secs(options.window());
    while Instant::now() < end {
        progress.tick(states.open(), || Totals::of(&manager));
        let left = end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    let elapsed = window.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    let events_rx = masters.events() - events_before;
    let totals = Totals::of(&manager);
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
    drop(masters);
    manager.shutdown();
    if totals.timeouts > 0 || totals.failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
