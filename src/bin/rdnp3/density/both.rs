//! `--role both`: the outstations and their masters, in this process or with the outstations
//! in child processes (`--farms K`); the masters connecting to the outstations, or (with
//! `--dial-in`) the outstations connecting to one listener of the masters.

use super::apart::plan;
use super::args::backend_name;
use super::args::{Options, Peers};
use super::children::Farms;
use super::events::{self, Sequences};
use super::farm::{EventPacer, Farm};
use super::masters::{Masters, Polling};
use super::pki::ThrowawayPki;
use super::report::{self, cpu_seconds, proc_status, Progress, StateCounter, Totals};
use super::{fail, start_manager};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// Outstation `i` in one process: one 127.<octet>.x.y address each.
fn address(octet: u8, port: u16, i: usize) -> SocketAddr {
    let i = i + 1;
    let ip = Ipv4Addr::new(127, octet, (i >> 8) as u8, (i & 0xFF) as u8);
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Runs both ends; `own_args` counts the benchmark's arguments (to re-run it for farms).
pub fn run(
    options: &Options,
    farms: usize,
    listen: Option<SocketAddrV4>,
    dial_in: bool,
    own_args: usize,
) -> ExitCode {
    let n = options.outstations;
    let fds = match (dial_in, farms > 0) {
        (false, true) => n as u64 + 64,
        (false, false) => 3 * n as u64 + 64,
        // Plus the listener's pending connections, 2 descriptors each.
        (true, true) => n as u64 + 64 + 2 * 64,
        (true, false) => 2 * n as u64 + 64 + 2 * 64,
    };
    let rss_start = proc_status("VmRSS:");
    let cpu_start = cpu_seconds("self");
    let manager = match start_manager(options, fds, &format!("{n} outstations")) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let (octet, port) = run_base();
    let plan = plan(options);
    let link = plan.link;
    let sequences = Sequences::new(n, &[]);
    let states = StateCounter::default();
    let flood_states = StateCounter::default();
    let mut progress = Progress::new(options.report_every);
    let setup = Instant::now();
    let pki = match options.tls.then(ThrowawayPki::new).transpose() {
        Ok(pki) => pki,
        Err(e) => return fail(&e),
    };

    let polling = Polling {
        poll_ms: options.poll_ms,
        integrity_s: options.integrity_s,
        link,
    };
    let extra = vec![
        "--events-per-sec".to_string(),
        options.events_per_sec.to_string(),
        "--master-address".to_string(),
        link.master.to_string(),
        "--backend".to_string(),
        backend_name(options.backend).to_string(),
        "--event-buffer".to_string(),
        options.event_buffer.to_string(),
    ];

    // Dial-in: the masters' listener first, then the outstations, here or in the farms.
    let mut dial_in_masters = None;
    if dial_in {
        let local = listen.unwrap_or(SocketAddrV4::new(Ipv4Addr::new(127, octet, 0, 1), port));
        let masters =
            match Masters::dial_in(&manager, local.into(), n, &polling, &states, &sequences) {
                Ok(m) => m,
                Err(e) => return fail(&e),
            };
        dial_in_masters = Some(masters);
        let last = usize::from(link.outstation) + n - 1;
        if farms > 0 {
            println!(
                "dial-in:            listener on {local}, link addresses {} to {last}, {farms} farm processes",
                link.outstation
            );
        } else {
            println!(
                "dial-in:            listener on {local}, link addresses {} to {last}",
                link.outstation
            );
        }
    }
    let dialed = dial_in_masters.as_ref().and_then(|m| m.listener.as_ref());
    let (farm, children) = if let Some(listener) = dialed {
        let local = listener.local_addr();
        if farms > 0 {
            let SocketAddr::V4(local) = local else {
                return fail(&"the dial-in listener is not on IPv4");
            };
            match Farms::start(
                farms,
                n,
                &Peers::DialIn(local),
                link.outstation,
                own_args,
                &extra,
            ) {
                Ok(children) => (None, Some(children)),
                Err(e) => return fail(&e),
            }
        } else {
            match Farm::dial_in(&manager, local, n, &plan, &states) {
                Ok(farm) => (Some(farm), None),
                Err(e) => return fail(&e),
            }
        }
    } else if farms > 0 {
        let base = listen.unwrap_or(SocketAddrV4::new(Ipv4Addr::new(127, octet, 0, 1), port));
        println!("addresses:          {base} onwards, {farms} farm processes");
        match Farms::start(
            farms,
            n,
            &Peers::Connect(base),
            link.outstation,
            own_args,
            &extra,
        ) {
            Ok(children) => (None, Some(children)),
            Err(e) => return fail(&e),
        }
    } else {
        println!("addresses:          127.{octet}.x.y:{port}");
        if let Some(pki) = &pki {
            println!(
                "transport:          TLS, mutual authentication (CA in {})",
                pki.dir().display()
            );
        }
        let addresses = (0..n).map(|i| address(octet, port, i));
        match Farm::start(
            &manager,
            addresses,
            &plan,
            pki.as_ref().map(|p| &p.outstation),
            &states,
        ) {
            Ok(farm) => (Some(farm), None),
            Err(e) => return fail(&e),
        }
    };
    let master_tls = pki.as_ref().map(|p| &p.master);
    let masters = match (dial_in_masters, &children) {
        (Some(m), _) => Ok(m),
        (None, Some(c)) => Masters::start(
            &manager,
            c.addresses(),
            &polling,
            master_tls,
            &states,
            &sequences,
            0,
            &flood_states,
        ),
        (None, None) => {
            let addresses = (0..n).map(|i| address(octet, port, i));
            Masters::start(
                &manager,
                addresses,
                &polling,
                master_tls,
                &states,
                &sequences,
                options.flooders,
                &flood_states,
            )
        }
    };
    let masters = match masters {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    // Wait until every channel (2 per pair here, 1 with farms) is open; a dial-in master
    // association counts once it is online.
    // The flooders have no outstation channel, and their masters' channels are not waited for.
    let channels = if farms > 0 {
        n
    } else {
        2 * (n - options.flooders)
    };
    let wait_until = Instant::now() + Duration::from_secs(60);
    while states.open() < channels && Instant::now() < wait_until {
        progress.tick(states.open(), || Totals::of(&manager));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "channels open:      {} of {} after {:.2} s",
        states.open(),
        channels,
        setup.elapsed().as_secs_f64()
    );

    // Measure: counters at the start of the window, events made by this thread.
    let before = Totals::of(&manager);
    let events_before = masters.events();
    let cpu_before = cpu_seconds("self");
    let farm_cpu_before = children.as_ref().map(Farms::cpu_seconds);
    let mut pacer = EventPacer::new(options.events_per_sec);
    let window = Instant::now();
    let end = window + Duration::from_secs(options.window());
    let tick = Duration::from_millis(100);
    let mut next = window;
    while Instant::now() < end {
        if let Some(farm) = &farm {
            pacer.catch_up(farm);
        }
        progress.tick(states.open(), || Totals::of(&manager));
        next += tick;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let elapsed = window.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    let events_rx = masters.events() - events_before;
    let (totals, flooded) = Totals::split(&manager);
    let polls = totals.polls - before.polls;
    println!("window:             {elapsed:.2} s");
    println!("polls/s:            {:.0}", polls as f64 / elapsed);
    if farm.is_some() {
        println!("events/s made:      {:.0}", pacer.made as f64 / elapsed);
    }
    println!("events/s received:  {:.0}", events_rx as f64 / elapsed);
    println!("timeouts:           {}", totals.timeouts);
    println!("failures:           {}", totals.failures);
    let outstation_stats = farm
        .iter()
        .flat_map(|f| f.outstations.iter().map(|(c, _)| c.stats()));
    report::print_link(outstation_stats.chain(masters.link_stats()));
    if let Some(listener) = &masters.listener {
        report::print_listener(&listener.stats());
    }
    if options.flooders > 0 {
        report::print_flood(&masters.flood_report(), &totals, &flooded, n);
        if let Some(farm) = &farm {
            let (connections, bytes) = farm.flooders.totals();
            println!(
                "flooders:           {} sent {} ({bytes} bytes) over {connections} connections",
                farm.flooders.len(),
                options.flood_kind.name()
            );
        }
    }
    report::print_cpu(cpu, elapsed, polls, cpu_start);
    if let (Some(c), Some(before)) = (&children, farm_cpu_before) {
        println!(
            "farm cpu seconds:   {:.2} (the {farms} farm processes, over the window)",
            c.cpu_seconds() - before
        );
    }
    let rss_peak = proc_status("VmHWM:");
    let rss_now = proc_status("VmRSS:");
    let grown = rss_now.saturating_sub(rss_start) as f64;
    println!("peak rss:           {:.1} MiB", rss_peak as f64 / 1024.0);
    println!(
        "rss per channel:    {:.1} KiB ({channels} channels; {:.1} KiB per master-outstation pair)",
        grown / channels as f64,
        grown / masters.len() as f64
    );
    events::print_check(&masters.sequences.totals());
    if let Some(farm) = &farm {
        println!(
            "events dropped:     {} (event buffers full; {} analog events each)",
            farm.events_dropped(),
            options.event_buffer
        );
    }
    drop(masters);
    drop(farm);
    drop(children);
    manager.shutdown();
    if totals.timeouts - flooded.timeouts > 0 || totals.failures - flooded.failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
