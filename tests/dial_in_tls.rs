//! Dial-in over TLS: outstations on TLS client channels connect to a TLS master listener,
//! which handshakes (and authenticates them) before it reads their first frame, then hands
//! connection and session to the association's channel.

mod util;

use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, PointConfig, PointType,
};
use rdnp3::{
    Classes, DialInAssociation, DialInBinding, ListenerConfig, Manager, Master, MasterConfig,
    MasterListener, Outstation, ReadRequest, TlsConfig, TlsVersion, Update,
};
use rdnp3_testkit::pki::{Ca, Identity, Pki, Validity};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;
use util::{
    channel_config, each_backend, free_address, outstation_config, wait_for, wait_until, Recorder,
    Val, WAIT,
};

const MASTER: u16 = 1;

fn with_ca(id: &Identity, ca: &Ca) -> TlsConfig {
    TlsConfig::ca_chain(&id.cert, &id.key, &ca.path)
}

/// A CA, the master's certificate (`master.test`) and an outstation's.
fn pki() -> (Pki, Ca, Identity, Identity) {
    let pki = Pki::new("dial-in-tls");
    let ca = pki.ca("ca");
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    (pki, ca, master, outstation)
}

fn tls_listener(manager: &Manager, config: ListenerConfig, tls: TlsConfig) -> MasterListener {
    let config = config.with_channel(channel_config("dial-in"));
    manager
        .add_tls_master_listener(config, free_address(), tls, None)
        .expect("the TLS listener listens")
}

fn master_config(address: u16) -> MasterConfig {
    MasterConfig::default()
        .with_local_address(MASTER)
        .with_outstation_address(address)
        .with_response_timeout(Duration::from_secs(2))
}

/// An outstation at `address` dialing in over TLS; its counter 0 holds `address`.
fn dial_in(manager: &Manager, listener: SocketAddr, address: u16, tls: TlsConfig) -> Outstation {
    let channel = manager
        .add_tls_client(channel_config("rtu"), listener, tls, None)
        .expect("TLS client channel");
    let database = DatabaseBuilder::new()
        .add(
            PointType::Counter,
            0..1,
            PointConfig::new(EventClass::Class1),
        )
        .build()
        .expect("a valid database");
    let outstation = channel
        .add_outstation(
            outstation_config(address).with_master_address(MASTER),
            database,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    util::apply(&outstation, vec![Update::counter(0, u32::from(address))]);
    outstation
}

/// Reads class 0 until it succeeds; counter 0 as read.
fn poll_counter(master: &Master, recorder: &Recorder) -> u32 {
    wait_for("a class 0 read over TLS", || {
        recorder.clear();
        master
            .read(ReadRequest::classes(Classes::CLASS0))
            .wait_timeout(WAIT)
            .is_ok_and(|r| r.is_ok())
    });
    recorder
        .statics()
        .iter()
        .rev()
        .find_map(|m| match (m.kind, m.index, &m.value) {
            (PointType::Counter, 0, Val::Counter(c)) => Some(*c),
            _ => None,
        })
        .expect("counter 0 in the response")
}

#[test]
fn tls_outstations_dial_in_and_are_polled_over_tls_1_3_and_1_2() {
    let (_pki, ca, master_id, outstation_id) = pki();
    each_backend(|manager| {
        let listener = tls_listener(
            &manager,
            ListenerConfig::default(),
            with_ca(&master_id, &ca),
        );
        let masters: Vec<(u16, Master, Recorder)> = [60u16, 61]
            .iter()
            .map(|&a| {
                let recorder = Recorder::default();
                let master = listener
                    .add_master(master_config(a), recorder.handler())
                    .expect("association added");
                (a, master, recorder)
            })
            .collect();
        let client = |version| {
            with_ca(&outstation_id, &ca)
                .with_peer_name("master.test")
                .with_min_version(version)
                .with_max_version(version)
        };
        let _a = dial_in(
            &manager,
            listener.local_addr(),
            60,
            client(TlsVersion::V1_3),
        );
        let _b = dial_in(
            &manager,
            listener.local_addr(),
            61,
            client(TlsVersion::V1_2),
        );
        for (address, master, recorder) in &masters {
            assert_eq!(poll_counter(master, recorder), u32::from(*address));
        }
        let stats = listener.stats();
        assert_eq!((stats.identified, stats.tls_errors), (2, 0), "{stats:?}");
        manager.shutdown();
    });
}

#[test]
fn a_tls_outstation_bound_by_peer_ip_is_polled() {
    let (_pki, ca, master_id, outstation_id) = pki();
    each_backend(|manager| {
        let config = ListenerConfig::default().with_binding(DialInBinding::PeerIp);
        let listener = tls_listener(&manager, config, with_ca(&master_id, &ca));
        let recorder = Recorder::default();
        let master = listener
            .add(
                DialInAssociation::new(master_config(62), recorder.handler())
                    .with_peer_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            )
            .expect("association added");
        // TLS 1.2: the server's last handshake flight is sent by the association's channel.
        let tls = with_ca(&outstation_id, &ca)
            .with_peer_name("master.test")
            .with_max_version(TlsVersion::V1_2);
        let _outstation = dial_in(&manager, listener.local_addr(), 62, tls);
        assert_eq!(poll_counter(&master, &recorder), 62);
        assert_eq!(listener.stats().identified, 1);
        manager.shutdown();
    });
}

#[test]
fn a_plaintext_connection_to_a_tls_listener_is_closed_and_counted() {
    let (_pki, ca, master_id, _) = pki();
    each_backend(|manager| {
        let listener = tls_listener(
            &manager,
            ListenerConfig::default(),
            with_ca(&master_id, &ca),
        );
        listener
            .add_master(master_config(63), Recorder::default().handler())
            .expect("association added");
        let mut raw = TcpStream::connect(listener.local_addr()).expect("connect");
        // A REQUEST_LINK_STATUS from outstation 63, in the clear.
        raw.write_all(&[0x05, 0x64, 0x05, 0x49, 0x01, 0x00, 0x3F, 0x00, 0x00, 0x00])
            .expect("send");
        raw.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut buf = [0u8; 1024];
        while matches!(raw.read(&mut buf), Ok(n) if n > 0) {}
        let stats = wait_until(
            "the TLS error counted",
            || listener.stats(),
            |s| s.tls_errors == 1,
        );
        assert_eq!(stats.identified, 0, "{stats:?}");
        manager.shutdown();
    });
}

#[test]
fn an_outstation_certificate_from_another_ca_is_refused_and_counted() {
    let (pki, ca, master_id, _) = pki();
    let rogue_ca = pki.ca("rogue");
    let rogue = pki.issue(&rogue_ca, "rogue", &["outstation.test"], Validity::Now);
    each_backend(|manager| {
        let listener = tls_listener(
            &manager,
            ListenerConfig::default(),
            with_ca(&master_id, &ca),
        );
        let recorder = Recorder::default();
        let master = listener
            .add_master(master_config(64), recorder.handler())
            .expect("association added");
        // The rogue outstation trusts the listener's CA, the listener does not trust its own.
        let tls =
            TlsConfig::ca_chain(&rogue.cert, &rogue.key, &ca.path).with_peer_name("master.test");
        let _outstation = dial_in(&manager, listener.local_addr(), 64, tls);
        wait_until(
            "the refused handshake counted",
            || listener.stats(),
            |s| s.tls_errors >= 1,
        );
        assert_eq!(listener.stats().identified, 0);
        let read = master
            .read(ReadRequest::classes(Classes::CLASS0))
            .wait_timeout(WAIT)
            .expect("the read completes");
        assert!(read.is_err(), "no outstation is connected: {read:?}");
        manager.shutdown();
    });
}
