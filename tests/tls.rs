//! TLS channels end to end: certificates generated at test time (rcgen), a master polling an
//! outstation over TLS 1.3 and 1.2 with a CA chain or pinned certificates, every kind of bad
//! certificate refused with its own error, and no DNP3 byte from an unauthenticated peer
//! reaching the session.

mod util;

use rdnp3::stack::master::{MasterConfig, ReadRequest};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{
    Channel, ChannelError, ChannelListener, ChannelState, Manager, TlsConfig, TlsConfigError,
    TlsError, TlsVersion,
};
use rdnp3_testkit::pki::{Ca, Identity, Pki, Validity};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::*;

fn with_ca(id: &Identity, ca: &Path) -> TlsConfig {
    TlsConfig::ca_chain(&id.cert, &id.key, ca)
}

/// Records a channel's states and TLS errors.
#[derive(Clone, Default)]
struct Observer(Arc<Mutex<(Vec<ChannelState>, Vec<TlsError>)>>);

impl ChannelListener for Observer {
    fn on_state(&mut self, state: ChannelState) {
        lock(&self.0).0.push(state);
    }

    fn on_tls_error(&mut self, error: &TlsError) {
        lock(&self.0).1.push(error.clone());
    }
}

impl Observer {
    fn listener(&self) -> Option<Box<dyn ChannelListener>> {
        Some(Box::new(self.clone()))
    }

    fn states(&self) -> Vec<ChannelState> {
        lock(&self.0).0.clone()
    }

    fn errors(&self) -> Vec<TlsError> {
        lock(&self.0).1.clone()
    }

    /// Waits for a first TLS error and returns it.
    fn first_error(&self, side: &str) -> TlsError {
        wait_until(
            &format!("a TLS error on the {side}"),
            || self.errors(),
            |e| !e.is_empty(),
        )
        .remove(0)
    }
}

/// A TLS server channel carrying the demo outstation.
struct TlsStation {
    address: SocketAddr,
    channel: Channel,
    outstation: rdnp3::Outstation,
    observer: Observer,
}

fn start_tls_outstation(manager: &Manager, address: SocketAddr, tls: TlsConfig) -> TlsStation {
    let observer = Observer::default();
    let channel = manager
        .add_tls_server(
            channel_config("outstation"),
            address,
            tls,
            observer.listener(),
        )
        .expect("TLS server channel");
    let outstation = channel
        .add_outstation(
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    TlsStation {
        address,
        channel,
        outstation,
        observer,
    }
}

/// A TLS client channel carrying a master association.
struct TlsMaster {
    channel: Channel,
    master: rdnp3::Master,
    recorder: Recorder,
    observer: Observer,
}

fn start_tls_master(manager: &Manager, address: SocketAddr, tls: TlsConfig) -> TlsMaster {
    let observer = Observer::default();
    let recorder = Recorder::default();
    let channel = manager
        .add_tls_client(channel_config("master"), address, tls, observer.listener())
        .expect("TLS client channel");
    let master = channel
        .add_master(MasterConfig::default(), recorder.handler())
        .expect("master added");
    TlsMaster {
        channel,
        master,
        recorder,
        observer,
    }
}

/// The master completes its start-up (integrity poll included) over TLS and sees the
/// outstation's whole database.
fn assert_master_polls(station: &TlsStation, client: &TlsMaster) {
    wait_startup(&client.master);
    let statics = client.recorder.statics();
    assert!(!statics.is_empty(), "the integrity poll returned points");
    assert!(station.channel.stats().fragments_rx >= 3);
    assert!(client.channel.stats().fragments_rx >= 3);
    assert!(client.states().contains(&ChannelState::Open));
    assert!(
        station.observer.errors().is_empty(),
        "{:?}",
        station.observer.errors()
    );
    assert!(
        client.observer.errors().is_empty(),
        "{:?}",
        client.observer.errors()
    );
}

impl TlsMaster {
    fn states(&self) -> Vec<ChannelState> {
        self.observer.states()
    }
}

/// A CA, an outstation certificate for `outstation.test` and a master certificate.
fn ca_pair(pki: &Pki) -> (Ca, Identity, Identity) {
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    (ca, outstation, master)
}

fn polls_over_version(version: TlsVersion) {
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let manager = manager();
    let server_tls = with_ca(&outstation, &ca.path)
        .with_min_version(version)
        .with_max_version(version);
    let station = start_tls_outstation(&manager, free_address(), server_tls);
    let client_tls = with_ca(&master, &ca.path)
        .with_peer_name("outstation.test")
        .with_min_version(version)
        .with_max_version(version);
    let client = start_tls_master(&manager, station.address, client_tls);
    assert_master_polls(&station, &client);
    manager.shutdown();
}

#[test]
fn a_master_polls_an_outstation_over_tls_1_3_with_a_ca_chain_and_name_verification() {
    polls_over_version(TlsVersion::V1_3);
}

#[test]
fn a_master_polls_an_outstation_over_tls_1_2_with_a_ca_chain_and_name_verification() {
    polls_over_version(TlsVersion::V1_2);
}

#[test]
fn pinned_self_signed_certificates_authenticate_both_ends() {
    let pki = Pki::new("tls");
    let outstation = pki.self_signed("outstation", &["outstation.test"], Validity::Now);
    let master = pki.self_signed("master", &["master.test"], Validity::Now);
    let manager = manager();
    let server_tls = TlsConfig::self_signed(&outstation.cert, &outstation.key, &master.cert);
    let station = start_tls_outstation(&manager, free_address(), server_tls);
    let client_tls = TlsConfig::self_signed(&master.cert, &master.key, &outstation.cert);
    let client = start_tls_master(&manager, station.address, client_tls);
    assert_master_polls(&station, &client);
    manager.shutdown();
}

#[test]
fn with_name_verification_off_an_outstation_reached_by_ip_is_accepted() {
    let pki = Pki::new("tls");
    let ca = pki.ca("ca");
    // The certificate names neither the IP nor anything the master knows.
    let outstation = pki.issue(&ca, "outstation", &["substation-7.example"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    let client = start_tls_master(&manager, station.address, with_ca(&master, &ca.path));
    assert_master_polls(&station, &client);
    manager.shutdown();
}

/// Runs a master with `client_tls` against an outstation with `server_tls` and returns the
/// first TLS error of the side that refuses (`client_refuses`), after checking that nothing
/// opened, the client retried, and no fragment reached either session.
fn refused(server_tls: TlsConfig, client_tls: TlsConfig, client_refuses: bool) -> TlsError {
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), server_tls);
    let client = start_tls_master(&manager, station.address, client_tls);
    let error = if client_refuses {
        client.observer.first_error("master")
    } else {
        station.observer.first_error("outstation")
    };
    // The client retries with its back-off, and never gets through.
    wait_until(
        "a retried handshake",
        || client.channel.stats(),
        |s| s.reconnects >= 2,
    );
    let refuser = if client_refuses {
        &client.observer
    } else {
        &station.observer
    };
    assert!(refuser.errors().len() >= 2, "{:?}", refuser.errors());
    assert!(
        refuser.errors().iter().all(|e| *e == error),
        "{:?}",
        refuser.errors()
    );
    assert_eq!(station.channel.stats().fragments_rx, 0);
    assert_eq!(station.channel.stats().bytes_rx, 0);
    assert_eq!(outstation_stats(&station.outstation).requests, 0);
    assert_eq!(client.channel.stats().fragments_rx, 0);
    if client_refuses {
        assert!(!client.states().contains(&ChannelState::Open));
    }
    assert!(!station.observer.states().contains(&ChannelState::Open));
    manager.shutdown();
    error
}

#[test]
fn an_expired_outstation_certificate_is_refused_as_expired() {
    let pki = Pki::new("tls");
    let (ca, _, master) = ca_pair(&pki);
    let old = pki.issue(&ca, "old", &["outstation.test"], Validity::Expired);
    let error = refused(with_ca(&old, &ca.path), with_ca(&master, &ca.path), true);
    assert!(
        matches!(&error, TlsError::CertificateExpired { not_after: Some(t) } if t.starts_with("2002-01-01")),
        "{error:?}"
    );
    assert!(error.to_string().contains("expired"), "{error}");
}

#[test]
fn a_master_certificate_not_yet_valid_is_refused_as_not_yet_valid() {
    let pki = Pki::new("tls");
    let (ca, outstation, _) = ca_pair(&pki);
    let early = pki.issue(&ca, "early", &["master.test"], Validity::Future);
    let error = refused(
        with_ca(&outstation, &ca.path),
        with_ca(&early, &ca.path),
        false,
    );
    assert!(
        matches!(&error, TlsError::CertificateNotYetValid { not_before: Some(t) } if t.starts_with("2090-01-01")),
        "{error:?}"
    );
}

#[test]
fn an_outstation_certificate_from_an_unknown_ca_is_refused_as_unknown_issuer() {
    let pki = Pki::new("tls");
    let (ca, _, master) = ca_pair(&pki);
    let rogue_ca = pki.ca("rogue");
    let rogue = pki.issue(
        &rogue_ca,
        "rogue-outstation",
        &["outstation.test"],
        Validity::Now,
    );
    let error = refused(with_ca(&rogue, &ca.path), with_ca(&master, &ca.path), true);
    assert_eq!(error, TlsError::UnknownIssuer);
}

#[test]
fn a_master_certificate_from_an_unknown_ca_is_refused_as_unknown_issuer() {
    let pki = Pki::new("tls");
    let (ca, outstation, _) = ca_pair(&pki);
    let rogue_ca = pki.ca("rogue");
    let rogue = pki.issue(&rogue_ca, "rogue-master", &["master.test"], Validity::Now);
    // The rogue master trusts the real CA, so only the outstation can refuse.
    let error = refused(
        with_ca(&outstation, &ca.path),
        with_ca(&rogue, &ca.path),
        false,
    );
    assert_eq!(error, TlsError::UnknownIssuer);
}

#[test]
fn an_outstation_certificate_for_another_name_is_refused_as_wrong_name() {
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let client_tls = with_ca(&master, &ca.path).with_peer_name("other.test");
    let error = refused(with_ca(&outstation, &ca.path), client_tls, true);
    assert_eq!(
        error,
        TlsError::WrongName {
            expected: "other.test".into()
        }
    );
}

#[test]
fn with_name_verification_on_an_ip_missing_from_the_certificate_is_a_wrong_name() {
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    let ip = station.address.ip().to_string();
    let client_tls = with_ca(&master, &ca.path).with_peer_name(ip.clone());
    let client = start_tls_master(&manager, station.address, client_tls);
    let error = client.observer.first_error("master");
    assert_eq!(error, TlsError::WrongName { expected: ip });
    manager.shutdown();
}

#[test]
fn a_certificate_other_than_the_pinned_one_is_refused_as_not_pinned() {
    let pki = Pki::new("tls");
    let outstation = pki.self_signed("outstation", &["outstation.test"], Validity::Now);
    let master = pki.self_signed("master", &["master.test"], Validity::Now);
    let impostor = pki.self_signed("impostor", &["outstation.test"], Validity::Now);
    let server_tls = TlsConfig::self_signed(&impostor.cert, &impostor.key, &master.cert);
    let client_tls = TlsConfig::self_signed(&master.cert, &master.key, &outstation.cert);
    let error = refused(server_tls, client_tls, true);
    assert_eq!(error, TlsError::NotPinned);
}

#[test]
fn an_expired_pinned_certificate_is_refused_as_expired() {
    let pki = Pki::new("tls");
    let outstation = pki.self_signed("outstation", &["outstation.test"], Validity::Now);
    let master = pki.self_signed("master", &["master.test"], Validity::Expired);
    let server_tls = TlsConfig::self_signed(&outstation.cert, &outstation.key, &master.cert);
    let client_tls = TlsConfig::self_signed(&master.cert, &master.key, &outstation.cert);
    let error = refused(server_tls, client_tls, false);
    assert!(
        matches!(error, TlsError::CertificateExpired { .. }),
        "{error:?}"
    );
}

/// A DNP3 READ class 0 request from master 1 to outstation 1024, as link frames.
fn plaintext_read_request() -> Vec<u8> {
    use rdnp3::stack::link::{LinkFunction, LinkHeader};
    use rdnp3::stack::transport::Segmenter;
    let fragment = [0xC0, 0x01, 0x3C, 0x01, 0x06];
    let header = LinkHeader::new(true, LinkFunction::UnconfirmedUserData, 1024, 1);
    let mut out = vec![0u8; Segmenter::wire_size(fragment.len())];
    let n = Segmenter::default()
        .write_frames(&header, &fragment, &mut out)
        .expect("frames");
    out.truncate(n);
    out
}

/// Reads until the peer closes the connection (bounded by the read timeout).
fn assert_closed_by_peer(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue, // an alert, perhaps
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the connection was not closed: {e}"),
        }
    }
}

#[test]
fn a_plaintext_dnp3_request_to_a_tls_outstation_never_reaches_the_session() {
    let pki = Pki::new("tls");
    let (ca, outstation, _) = ca_pair(&pki);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    wait_for("the outstation to listen", || {
        station
            .observer
            .states()
            .contains(&ChannelState::Connecting)
    });
    let mut stream = wait_until(
        "a TCP connection",
        || TcpStream::connect(station.address).ok(),
        Option::is_some,
    )
    .unwrap();
    stream.write_all(&plaintext_read_request()).unwrap();
    assert_closed_by_peer(&mut stream);
    assert_eq!(station.observer.first_error("outstation"), TlsError::NotTls);
    assert_eq!(station.channel.stats().bytes_rx, 0);
    assert_eq!(station.channel.stats().fragments_rx, 0);
    assert_eq!(outstation_stats(&station.outstation).requests, 0);
    manager.shutdown();
}

#[test]
fn a_tls_client_without_a_certificate_is_refused_and_its_request_never_reaches_the_session() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let pki = Pki::new("tls");
    let (ca, outstation, _) = ca_pair(&pki);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&ca.path).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("outstation.test").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let stream = wait_until(
        "a TCP connection",
        || TcpStream::connect(station.address).ok(),
        Option::is_some,
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, stream);
    // TLS 1.3: the client finishes its side and sends the request before the server checks
    // its (empty) certificate; the server must refuse before reading any application data.
    let _ = tls.write_all(&plaintext_read_request());
    let _ = tls.flush();
    let mut buf = [0u8; 256];
    tls.sock.set_read_timeout(Some(WAIT)).unwrap();
    let outcome = tls.read(&mut buf);
    assert!(
        !matches!(outcome, Ok(n) if n > 0),
        "no DNP3 answer may come back: {outcome:?}"
    );
    assert_eq!(
        station.observer.first_error("outstation"),
        TlsError::NoClientCertificate
    );
    assert_eq!(station.channel.stats().bytes_rx, 0);
    assert_eq!(station.channel.stats().fragments_rx, 0);
    assert_eq!(station.channel.stats().tls_errors, 1);
    assert_eq!(outstation_stats(&station.outstation).requests, 0);
    assert!(!station.observer.states().contains(&ChannelState::Open));
    manager.shutdown();
}

#[test]
fn a_peer_that_never_finishes_the_handshake_is_dropped_after_the_connect_timeout() {
    let pki = Pki::new("tls");
    let (ca, outstation, _) = ca_pair(&pki);
    let manager = manager();
    let observer = Observer::default();
    let config = channel_config("outstation").with_connect_timeout(Duration::from_millis(200));
    let address = free_address();
    let tls = with_ca(&outstation, &ca.path);
    let _channel = manager
        .add_tls_server(config, address, tls, observer.listener())
        .expect("TLS server channel");
    let mut stream = wait_until(
        "a TCP connection",
        || TcpStream::connect(address).ok(),
        Option::is_some,
    )
    .unwrap();
    assert_closed_by_peer(&mut stream);
    assert_eq!(
        observer.first_error("outstation"),
        TlsError::HandshakeTimeout(Duration::from_millis(200))
    );
    manager.shutdown();
}

fn config_error(tls: TlsConfig) -> TlsConfigError {
    let manager = manager();
    let address = free_address();
    let result = manager.add_tls_server(channel_config("outstation"), address, tls, None);
    manager.shutdown();
    match result {
        Err(ChannelError::Tls(e)) => e,
        other => panic!("expected a TLS configuration error, got {other:?}"),
    }
}

#[test]
fn unreadable_invalid_or_mismatched_pem_files_are_refused_with_what_to_fix() {
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let missing = pki.path("missing.pem");

    let e = config_error(with_ca(&outstation, &missing));
    assert!(
        matches!(&e, TlsConfigError::Unreadable { what: "CA certificate", path, .. } if *path == missing),
        "{e:?}"
    );
    assert!(e.to_string().contains("missing.pem"), "{e}");

    let garbage = pki.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n",
    );
    let e = config_error(TlsConfig::ca_chain(&garbage, &outstation.key, &ca.path));
    assert!(
        matches!(
            e,
            TlsConfigError::InvalidPem {
                what: "certificate",
                ..
            }
        ),
        "{e:?}"
    );

    let empty = pki.write("empty.pem", "nothing to see here\n");
    let e = config_error(with_ca(&outstation, &empty));
    assert!(
        matches!(
            e,
            TlsConfigError::NoCertificate {
                what: "CA certificate",
                ..
            }
        ),
        "{e:?}"
    );

    // A certificate file given as the key.
    let e = config_error(TlsConfig::ca_chain(
        &outstation.cert,
        &outstation.cert,
        &ca.path,
    ));
    assert!(matches!(e, TlsConfigError::NoPrivateKey(_)), "{e:?}");

    // Another certificate's key.
    let e = config_error(TlsConfig::ca_chain(&outstation.cert, &master.key, &ca.path));
    assert!(matches!(e, TlsConfigError::KeyMismatch { .. }), "{e:?}");

    let e = config_error(
        with_ca(&outstation, &ca.path)
            .with_min_version(TlsVersion::V1_3)
            .with_max_version(TlsVersion::V1_2),
    );
    assert!(matches!(e, TlsConfigError::NoVersion { .. }), "{e:?}");

    let e = config_error(with_ca(&outstation, &ca.path).with_peer_name("not a name!"));
    assert!(matches!(e, TlsConfigError::InvalidPeerName(_)), "{e:?}");
}

#[test]
fn a_stranger_connecting_to_a_tls_outstation_does_not_drop_the_authenticated_master() {
    // With the default policy a new connection replaces the established one; over TLS it does
    // so only once it has authenticated.
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    let client = start_tls_master(
        &manager,
        station.address,
        with_ca(&master, &ca.path).with_peer_name("outstation.test"),
    );
    assert_master_polls(&station, &client);
    let mut stranger = TcpStream::connect(station.address).unwrap();
    stranger.write_all(&plaintext_read_request()).unwrap();
    assert_closed_by_peer(&mut stranger);
    assert_eq!(station.observer.first_error("outstation"), TlsError::NotTls);
    let read = client
        .master
        .read(ReadRequest::integrity())
        .wait_timeout(Duration::from_secs(10));
    assert_eq!(read.ok(), Some(Ok(())), "the master is still served");
    assert_eq!(
        station.channel.stats().connects,
        1,
        "the master's connection was kept"
    );
    assert_eq!(client.channel.stats().connects, 1);
    manager.shutdown();
}

#[test]
fn an_authenticated_new_master_replaces_the_established_one_over_tls() {
    let pki = Pki::new("tls");
    let (ca, outstation, master) = ca_pair(&pki);
    let manager = manager();
    let station = start_tls_outstation(&manager, free_address(), with_ca(&outstation, &ca.path));
    let client_tls = with_ca(&master, &ca.path).with_peer_name("outstation.test");
    // The first master retries only after a minute, so once replaced it stays away.
    let first_observer = Observer::default();
    let first_config = channel_config("master-1")
        .with_min_retry(Duration::from_secs(60))
        .with_max_retry(Duration::from_secs(60));
    let first_channel = manager
        .add_tls_client(
            first_config,
            station.address,
            client_tls.clone(),
            first_observer.listener(),
        )
        .expect("TLS client channel");
    let first_recorder = Recorder::default();
    let first = first_channel
        .add_master(MasterConfig::default(), first_recorder.handler())
        .expect("master added");
    wait_startup(&first);
    let second = start_tls_master(&manager, station.address, client_tls);
    wait_startup(&second.master);
    wait_for("the first master to be replaced", || {
        first_observer.states().contains(&ChannelState::Closed)
    });
    assert_eq!(station.channel.stats().connects, 2);
    assert!(
        station.observer.errors().is_empty(),
        "{:?}",
        station.observer.errors()
    );
    manager.shutdown();
}
