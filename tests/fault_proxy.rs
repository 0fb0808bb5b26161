//! End to end through a fault-injecting proxy (this kernel has no netem): a master polls an
//! outstation over TCP and over TLS while the proxy corrupts, duplicates, truncates, drops and
//! delays bytes and cuts connections. Once the faults stop, every event the outstation made
//! has reached the master (a lost CONFIRM makes the outstation send an event again, so the
//! check is on distinct events: each carries a unique time), and the channels counted what
//! they threw away.

mod util;

use rdnp3::stack::master::{Classes, MasterConfig, ReadRequest};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{Channel, Manager, Master, TlsConfig};
use rdnp3_testkit::fault_proxy::{FaultProxy, Faults};
use rdnp3_testkit::pki::{Pki, Validity};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use util::*;

/// The proxy's seed: `RDNP3_FAULT_SEED` replays a run; otherwise one per run, printed.
fn seed() -> u64 {
    let seed = std::env::var("RDNP3_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| wall_clock() ^ u64::from(std::process::id()));
    println!("fault proxy seed {seed} (RDNP3_FAULT_SEED={seed} replays it)");
    seed
}

/// Faults on about one chunk in five.
fn rough() -> Faults {
    Faults {
        delay: Duration::from_millis(1),
        corrupt_permille: 70,
        duplicate_permille: 50,
        truncate_permille: 40,
        drop_permille: 40,
        cut_permille: 10,
    }
}

fn master_config() -> MasterConfig {
    MasterConfig::default().with_response_timeout(Duration::from_millis(150))
}

/// Runs the event script through the proxy under `faults`, heals it, and checks delivery.
fn events_survive(proxy: &FaultProxy, station: &Station, master: &Master, recorder: &Recorder) {
    wait_startup(master);
    master
        .add_poll(
            ReadRequest::classes(Classes::EVENTS),
            Duration::from_millis(20),
        )
        .expect("poll added");
    proxy.set_faults(rough());
    // Events keep coming until the proxy has done damage enough times.
    let mut script = EventScript::default();
    let guard = Instant::now() + Duration::from_secs(60);
    while injected(proxy) < 20 {
        assert!(Instant::now() < guard, "no faults: {:?}", proxy.counts());
        // Within the outstation's buffer of 1000 events per type: none may overflow.
        if script.rounds() < 500 {
            apply(&station.outstation, script.next_round());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    proxy.set_faults(Faults::none());
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let missing: Vec<_> = ALL_KINDS
            .iter()
            .filter(|&&kind| distinct(received(recorder, kind)) != script.expected(kind))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < end,
            "events of {missing:?} never arrived in full after the faults stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{} rounds of events; {:?}", script.rounds(), proxy.counts());
}

/// Chunks the proxy has damaged, dropped or duplicated, and connections it cut.
fn injected(proxy: &FaultProxy) -> u64 {
    let c = proxy.counts();
    c.corrupted + c.truncated + c.dropped + c.duplicated + c.cut
}

/// The first arrival of each event, in arrival order.
fn distinct(events: Vec<Expected>) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for e in events {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

fn proxy_to(upstream: SocketAddr) -> FaultProxy {
    FaultProxy::start(free_address(), upstream, Faults::none(), seed())
}

#[test]
fn over_tcp_no_event_is_lost_to_corruption_loss_duplication_or_cuts() {
    let manager = Manager::new(1).expect("manager");
    let station = demo_station(&manager);
    let proxy = proxy_to(station.address);
    let client = start_master_direct(&manager, proxy.address(), master_config());
    events_survive(&proxy, &station, &client.master, &client.recorder);
    let stats = client.channel.stats();
    let outstation = station.channel.stats();
    let thrown_away = stats.link_errors
        + stats.transport_errors
        + stats.dropped_frames
        + outstation.link_errors
        + outstation.transport_errors
        + outstation.dropped_frames
        + stats.reconnects;
    assert!(thrown_away > 0, "{stats:?} {outstation:?}");
    manager.shutdown();
}

#[test]
fn over_tls_no_event_is_lost_to_corruption_loss_duplication_or_cuts() {
    let manager = Manager::new(1).expect("manager");
    let pki = Pki::new("faults");
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let address = free_address();
    let server_tls = TlsConfig::ca_chain(&outstation.cert, &outstation.key, &ca.path)
        .with_peer_name("master.test");
    let server: Channel = manager
        .add_tls_server(channel_config("outstation"), address, server_tls, None)
        .expect("TLS server");
    let station = Station {
        address,
        outstation: server
            .add_outstation(
                outstation_config(1024),
                demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )
            .expect("outstation"),
        channel: server,
        states: StateLog::default(),
    };
    let proxy = proxy_to(address);
    let client_tls =
        TlsConfig::ca_chain(&master.cert, &master.key, &ca.path).with_peer_name("outstation.test");
    let channel = manager
        .add_tls_client(channel_config("master"), proxy.address(), client_tls, None)
        .expect("TLS client");
    let recorder = Recorder::default();
    let handle = channel
        .add_master(master_config(), recorder.handler())
        .expect("master");
    events_survive(&proxy, &station, &handle, &recorder);
    // TLS tolerates no altered byte: each fault that reached a record cost a connection.
    let stats = channel.stats();
    assert!(stats.tls_errors + stats.reconnects > 0, "{stats:?}");
    manager.shutdown();
}
