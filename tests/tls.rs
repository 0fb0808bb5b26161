//! TLS channels end to end, handshake and authentication: certificates generated at test time
//! (rcgen), a master polling an outstation over TLS 1.3 and 1.2 with a CA chain or pinned
//! certificates, and every kind of bad certificate refused with its own error. Unauthenticated
//! peers, configuration errors and connection replacement are in `tls_failures.rs`.

mod tls_util;
mod util;

use rdnp3::{ChannelState, TlsConfig, TlsError, TlsVersion};
use rdnp3_testkit::pki::{Pki, Validity};
use tls_util::*;
use util::*;

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
