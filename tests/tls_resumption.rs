//! TLS session resumption: after a reconnect the client presents its last session and both
//! sides skip the certificate exchange — counted on both channels — so that a reconnect storm
//! costs little crypto; with resumption off every connection authenticates in full.

mod util;

use rdnp3::stack::master::{MasterConfig, ReadRequest};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{Manager, TlsConfig, TlsVersion};
use rdnp3_testkit::fault_proxy::{FaultProxy, Faults};
use rdnp3_testkit::pki::{Pki, Validity};
use util::*;

/// Connects a TLS master to a TLS outstation through a proxy, cuts the connection twice, and
/// returns the resumed-handshake counts of (master, outstation).
fn reconnects(version: TlsVersion, resumption: bool) -> (u64, u64) {
    let manager = Manager::new(1).expect("manager");
    let pki = Pki::new("resumption");
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let tls = |id: &rdnp3_testkit::pki::Identity, peer: &str| {
        TlsConfig::ca_chain(&id.cert, &id.key, &ca.path)
            .with_peer_name(peer)
            .with_min_version(version)
            .with_max_version(version)
            .with_session_resumption(resumption)
    };
    let address = free_address();
    let server = manager
        .add_tls_server(
            channel_config("outstation"),
            address,
            tls(&outstation, "master.test"),
            None,
        )
        .expect("TLS server");
    let _outstation = server
        .add_outstation(
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation");
    let proxy = FaultProxy::start(free_address(), address, Faults::none(), 1);
    let client = manager
        .add_tls_client(
            channel_config("master"),
            proxy.address(),
            tls(&master, "outstation.test"),
            None,
        )
        .expect("TLS client");
    let recorder = Recorder::default();
    let handle = client
        .add_master(MasterConfig::default(), recorder.handler())
        .expect("master");
    wait_startup(&handle);
    for round in 2..=3 {
        proxy.cut_all();
        wait_until(
            "the master to reconnect",
            || client.stats(),
            |s| s.connects >= round,
        );
        read(&handle, ReadRequest::integrity());
    }
    let counts = (client.stats().tls_resumed, server.stats().tls_resumed);
    manager.shutdown();
    counts
}

#[test]
fn a_tls_1_3_reconnect_resumes_its_session_on_both_sides() {
    let (master, outstation) = reconnects(TlsVersion::V1_3, true);
    assert_eq!((master, outstation), (2, 2));
}

#[test]
fn a_tls_1_2_reconnect_resumes_its_session_on_both_sides() {
    let (master, outstation) = reconnects(TlsVersion::V1_2, true);
    assert_eq!((master, outstation), (2, 2));
}

#[test]
fn without_resumption_every_reconnect_authenticates_in_full() {
    assert_eq!(reconnects(TlsVersion::V1_3, false), (0, 0));
}
