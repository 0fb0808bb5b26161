//! A peer that floods garbage costs bounded work: its channel reads past the unusable-input
//! limit only by a receive buffer, closes the connection, counts it and backs off, while a
//! channel on the same executor is polled as usual.

mod util;

use rdnp3::stack::master::{MasterConfig, NullReadHandler, ReadRequest};
use rdnp3::Manager;
use rdnp3_testkit::rng::Rng;
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::*;

/// Accepts connections and answers each with random bytes for as long as it stays open.
fn garbage_peer() -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let address = free_address();
    let listener = TcpListener::bind(address).expect("garbage peer listens");
    let connections = Arc::new(AtomicU64::new(0));
    let count = connections.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().flatten().enumerate() {
            count.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || {
                let mut rng = Rng::new(n as u64 + 1);
                let mut buf = vec![0u8; 16 * 1024];
                let mut stream = stream;
                loop {
                    rng.fill(&mut buf);
                    if stream.write_all(&buf).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (address, connections)
}

#[test]
fn a_garbage_flood_is_cut_off_after_the_limit_and_its_neighbour_is_polled_meanwhile() {
    let manager = Manager::new(1).expect("manager");
    let station = demo_station(&manager);
    let neighbour = start_master(&manager, station.address, MasterConfig::default());
    wait_startup(&neighbour.master);

    let (garbage, connections) = garbage_peer();
    let limit = 32 * 1024;
    let config = channel_config("flooded")
        .with_min_retry(Duration::from_millis(20))
        .with_max_retry(Duration::from_millis(200))
        .with_unusable_limit(Some(limit));
    let channel = manager
        .add_tcp_client(config, garbage, None)
        .expect("client channel");
    let _master = channel
        .add_master(MasterConfig::default(), Box::new(NullReadHandler))
        .expect("master added");
    let stats = wait_until(
        "three flood closes",
        || channel.stats(),
        |s| s.flood_closes >= 3,
    );
    // Each connection is read up to the limit plus at most one receive buffer (8 KiB).
    let closes = stats.flood_closes + 1; // the connection open now may be mid-way
    assert!(
        stats.bytes_rx <= closes * (limit + 8 * 1024),
        "{} bytes read over {} closes",
        stats.bytes_rx,
        stats.flood_closes
    );
    assert!(connections.load(Ordering::Relaxed) >= 3);
    // The neighbour on the same executor is polled meanwhile.
    read(&neighbour.master, ReadRequest::integrity());
    assert_eq!(neighbour.channel.stats().flood_closes, 0);
    manager.shutdown();
}

#[test]
fn occasional_noise_on_a_working_link_is_tolerated() {
    let manager = Manager::new(1).expect("manager");
    let station = demo_station(&manager);
    let proxy = rdnp3_testkit::fault_proxy::FaultProxy::start(
        free_address(),
        station.address,
        rdnp3_testkit::fault_proxy::Faults {
            corrupt_permille: 100,
            ..Default::default()
        },
        7,
    );
    let config = MasterConfig::default().with_response_timeout(Duration::from_millis(200));
    let client = start_master_direct(&manager, proxy.address(), config);
    for _ in 0..20 {
        let _ = client.master.read(ReadRequest::integrity()).wait();
    }
    assert_eq!(client.channel.stats().flood_closes, 0);
    manager.shutdown();
}
