//! Manager-wide limits: connection attempts and TLS handshakes past the limit wait their turn,
//! never more are under way at once, and every channel gets its turn.

mod util;

use rdnp3::stack::master::NullReadHandler;
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{ChannelListener, ChannelState, Manager, MasterConfig};
use rdnp3_testkit::pki::{Pki, Validity};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use util::*;

/// Counts channels open.
fn open_counter(open: &Arc<AtomicUsize>) -> Option<Box<dyn ChannelListener>> {
    let open = open.clone();
    let mut was = false;
    Some(Box::new(move |s: ChannelState| {
        let now = s == ChannelState::Open;
        if now && !was {
            open.fetch_add(1, Ordering::Relaxed);
        } else if was && !now {
            open.fetch_sub(1, Ordering::Relaxed);
        }
        was = now;
    }))
}

#[test]
fn two_hundred_channels_connect_with_never_more_than_four_attempts_in_flight() {
    rdnp3_testkit::backends::each_backend(|backend| {
        let manager = Manager::builder()
            .threads(2)
            .backend(backend)
            .max_connecting(4)
            .build()
            .expect("the reactor pool starts");
        let address = free_address();
        let listener = TcpListener::bind(address).expect("listener");
        let acceptor = std::thread::spawn(move || {
            (0..200)
                .map(|_| listener.accept().expect("accept").0)
                .collect::<Vec<_>>()
        });
        let open = Arc::new(AtomicUsize::new(0));
        // Forty threads add the channels at once, so that attempts overlap (each executor
        // starts a few attempts per wake-up: a limit of 4 is well below what they reach).
        let channels: Vec<_> = std::thread::scope(|s| {
            let adders: Vec<_> = (0..40)
                .map(|t| {
                    let (manager, open) = (&manager, &open);
                    s.spawn(move || {
                        (0..5)
                            .map(|i| {
                                let name = format!("client-{t}-{i}");
                                let channel = manager
                                    .add_tcp_client(
                                        channel_config(&name),
                                        address,
                                        open_counter(open),
                                    )
                                    .expect("client channel");
                                let master = channel
                                    .add_master(MasterConfig::default(), Box::new(NullReadHandler))
                                    .expect("master");
                                (channel, master)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            adders
                .into_iter()
                .flat_map(|a| a.join().expect("adder"))
                .collect()
        });
        wait_for("200 channels open", || open.load(Ordering::Relaxed) == 200);
        let stats = manager.limit_stats().connects;
        assert_eq!(stats.limit, 4);
        assert!((1..=4).contains(&stats.peak), "{stats:?}");
        assert!(
            stats.queued > 0,
            "forty threads adding at once never had to wait: {stats:?}"
        );
        assert_eq!(stats.in_flight, 0, "every permit was given back");
        let streams = acceptor.join().expect("acceptor");
        assert_eq!(streams.len(), 200);
        drop(channels);
        manager.shutdown();
    });
}

#[test]
fn tls_clients_past_the_handshake_limit_wait_their_turn_and_all_open() {
    let pki = Pki::new("limits");
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let client = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let server_tls = rdnp3::TlsConfig::ca_chain(&server.cert, &server.key, &ca.path);
    let client_tls = rdnp3::TlsConfig::ca_chain(&client.cert, &client.key, &ca.path)
        .with_peer_name("outstation.test");
    let manager = Manager::builder()
        .threads(2)
        .max_tls_handshakes(2)
        .build()
        .expect("the reactor pool starts");
    let open = Arc::new(AtomicUsize::new(0));
    let mut held = Vec::new();
    for i in 0..12 {
        let address = free_address();
        let server = manager
            .add_tls_server(
                channel_config(&format!("outstation-{i}")),
                address,
                server_tls.clone(),
                None,
            )
            .expect("server channel");
        let outstation = server
            .add_outstation(
                outstation_config(1024),
                rdnp3_testkit::demo::demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )
            .expect("outstation");
        let client = manager
            .add_tls_client(
                channel_config(&format!("master-{i}")),
                address,
                client_tls.clone(),
                open_counter(&open),
            )
            .expect("client channel");
        let master = client
            .add_master(MasterConfig::default(), Box::new(NullReadHandler))
            .expect("master");
        held.push((server, outstation, client, master));
    }
    wait_for("12 TLS clients open", || open.load(Ordering::Relaxed) == 12);
    let stats = manager.limit_stats().tls_handshakes;
    assert_eq!(stats.limit, 2);
    assert!((1..=2).contains(&stats.peak), "{stats:?}");
    assert_eq!(stats.in_flight, 0, "every permit was given back");
    drop(held);
    manager.shutdown();
}

#[test]
fn masters_past_the_startup_limit_start_in_turn_and_all_complete() {
    each_backend_with(
        |builder| builder.max_starting(2),
        |manager| {
            let stations: Vec<_> = (0..20)
                .map(|_| {
                    start_outstation(
                        &manager,
                        outstation_config(1024),
                        rdnp3_testkit::demo::demo_database(0),
                        Box::new(MirrorOutputs),
                        Box::new(DefaultApplication),
                    )
                })
                .collect();
            // Each master reaches its outstation through a proxy that relays nothing until
            // opened: every connection is up and every startup sequence has begun (or waits
            // for a permit) before any of them can finish.
            let proxies: Vec<_> = stations.iter().map(|s| Proxy::start(s.address)).collect();
            let clients: Vec<_> = proxies
                .iter()
                .map(|p| start_master_direct(&manager, p.address(), MasterConfig::default()))
                .collect();
            wait_until(
                "startups queued behind the limit",
                || manager.limit_stats().startups,
                |s| s.in_flight == 2 && s.queued > 0,
            );
            for p in &proxies {
                p.open();
            }
            for c in &clients {
                wait_startup(&c.master);
            }
            let stats = wait_until(
                "every startup permit given back",
                || manager.limit_stats().startups,
                |s| s.in_flight == 0,
            );
            assert_eq!(stats.limit, 2);
            assert!((1..=2).contains(&stats.peak), "{stats:?}");
            assert!(
                stats.queued > 0,
                "twenty masters started at once never waited: {stats:?}"
            );
            drop(clients);
            drop(stations);
            manager.shutdown();
        },
    );
}

/// Runs `test` on each backend with a two-thread manager built with `options`.
fn each_backend_with(
    options: impl Fn(rdnp3::ManagerBuilder) -> rdnp3::ManagerBuilder,
    test: impl Fn(Manager),
) {
    rdnp3_testkit::backends::each_backend(|backend| {
        let builder = Manager::builder().threads(2).backend(backend);
        test(options(builder).build().expect("the reactor pool starts"))
    });
}
