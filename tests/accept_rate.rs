//! Listening sockets take at most so many connections per second: a burst of connections to
//! an outstation's server channel, or to a dial-in listener, past the limit is closed at once
//! and counted, and the listener keeps serving.

mod util;

use rdnp3::stack::master::{MasterConfig, ReadRequest};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{ListenerConfig, Manager};
use std::net::TcpStream;
use std::time::Duration;
use util::*;

#[test]
fn a_burst_of_connections_to_a_server_channel_is_cut_at_the_accept_rate() {
    let manager = Manager::new(1).expect("manager");
    let address = free_address();
    let channel = manager
        .add_tcp_server(
            channel_config("outstation").with_max_accepts_per_second(Some(3)),
            address,
            None,
        )
        .expect("server channel");
    let outstation = channel
        .add_outstation(
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation");
    let burst: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(address).expect("connect"))
        .collect();
    // Ten in one burst: within at most two one-second windows, at most six are taken.
    let stats = wait_until(
        "the burst to be refused past the limit",
        || channel.stats(),
        |s| s.rate_refused >= 4,
    );
    assert!(stats.rate_refused <= 7, "{stats:?}");
    drop(burst);
    // A second later a master is served as usual.
    std::thread::sleep(Duration::from_millis(1100));
    let client = start_master_direct(&manager, address, MasterConfig::default());
    wait_startup(&client.master);
    read(&client.master, ReadRequest::integrity());
    drop(outstation);
    manager.shutdown();
}

#[test]
fn a_burst_of_connections_to_a_dial_in_listener_is_cut_at_the_accept_rate() {
    let manager = Manager::new(1).expect("manager");
    let config = ListenerConfig::default().with_max_accepts_per_second(Some(3));
    let listener = manager
        .add_master_listener(config, free_address(), None)
        .expect("listener");
    let address = listener.local_addr();
    let _burst: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(address).expect("connect"))
        .collect();
    let stats = wait_until(
        "every connection of the burst to be taken or refused",
        || listener.stats(),
        |s| s.accepted + s.rate_refused == 10,
    );
    assert!(stats.accepted <= 6 && stats.rate_refused >= 4, "{stats:?}");
    manager.shutdown();
}
