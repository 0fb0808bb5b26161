//! TLS channels end to end, failures and errors: no DNP3 byte from a plaintext or
//! unauthenticated peer reaches the session, a peer that never finishes the handshake is
//! dropped, unreadable or mismatched PEM files are refused with what to fix, and strangers or
//! new masters connecting to a TLS outstation (certificates generated at test time, rcgen).

mod tls_util;
mod util;

use rdnp3::stack::master::{MasterConfig, ReadRequest};
use rdnp3::{ChannelError, ChannelState, TlsConfig, TlsConfigError, TlsError, TlsVersion};
use rdnp3_testkit::pki::Pki;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use tls_util::*;
use util::*;

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
