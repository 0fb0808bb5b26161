//! The filter alone, two of them joined in memory: the invariants the `tls` fuzz target checks
//! on arbitrary input, here on the inputs it starts from.

use super::*;
use crate::tls::budget;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A CA and two certificates it issued, as PEM files in a fresh temporary directory.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(label: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("rdnp3-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("a key");
        let ca_cert = ca.self_signed(&ca_key).expect("a CA");
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("written");
        for name in ["server", "client"] {
            let key = KeyPair::generate().expect("a key");
            let cert = CertificateParams::new(vec![format!("{name}.test")])
                .expect("parameters")
                .signed_by(&key, &ca_cert, &ca_key)
                .expect("a certificate");
            std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("written");
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("written");
        }
        Files { dir }
    }

    fn layers(&self, version: TlsVersion) -> (TlsLayer, TlsLayer) {
        let config = |name: &str| {
            TlsConfig::ca_chain(
                self.dir.join(format!("{name}.pem")),
                self.dir.join(format!("{name}.key")),
                self.dir.join("ca.pem"),
            )
            .with_min_version(version)
            .with_max_version(version)
        };
        let remote = "127.0.0.1:20000".parse().expect("an address");
        let client = config("client")
            .with_peer_name("server.test")
            .client_context(remote)
            .expect("the client loads");
        let server = config("server").server_context().expect("the server loads");
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut client, mut server) = (TlsLayer::new(client), TlsLayer::new(server));
        client.start(deadline).expect("the client starts");
        server.start(deadline).expect("the server starts");
        (client, server)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Moves `from`'s ciphertext to `to`; what `to` received.
fn deliver(from: &mut TlsLayer, to: &mut TlsLayer) -> Result<Received, TlsError> {
    let out = from.outgoing().to_vec();
    from.sent(out.len());
    to.receive(&out)
}

/// Flights back and forth until both sides have opened; no plaintext on the way.
fn handshake(client: &mut TlsLayer, server: &mut TlsLayer) {
    let (mut client_open, mut server_open) = (false, false);
    for _ in 0..4 {
        let r = deliver(client, server).expect("the server accepts the client's flight");
        assert!(server.plaintext().is_empty());
        server_open |= r.opened;
        let r = deliver(server, client).expect("the client accepts the server's flight");
        assert!(client.plaintext().is_empty());
        client_open |= r.opened;
    }
    assert!(client_open && server_open, "both sides opened");
}

#[test]
fn a_server_fed_plaintext_dnp3_reports_that_the_peer_does_not_speak_tls() {
    let files = Files::new("tls-not-tls");
    let (_, mut server) = files.layers(TlsVersion::V1_3);
    let frame = [0x05, 0x64, 0x05, 0xC0, 0x01, 0x00, 0x00, 0x04, 0xE9, 0x21];
    assert_eq!(server.receive(&frame).err(), Some(TlsError::NotTls));
    assert!(server.plaintext().is_empty());
}

#[test]
fn records_carry_plaintext_both_ways_after_an_in_memory_handshake() {
    let files = Files::new("tls-records");
    for version in [TlsVersion::V1_3, TlsVersion::V1_2] {
        let (mut client, mut server) = files.layers(version);
        handshake(&mut client, &mut server);
        client.write(b"request").expect("encrypted");
        deliver(&mut client, &mut server).expect("decrypted");
        assert_eq!(server.plaintext(), b"request");
        server.write(b"response").expect("encrypted");
        deliver(&mut server, &mut client).expect("decrypted");
        assert_eq!(client.plaintext(), b"response");
    }
}

#[test]
fn a_corrupted_record_after_the_handshake_is_a_protocol_failure_answered_with_an_alert() {
    let files = Files::new("tls-corrupt");
    for version in [TlsVersion::V1_3, TlsVersion::V1_2] {
        let (mut client, mut server) = files.layers(version);
        handshake(&mut client, &mut server);
        client.write(b"request").expect("encrypted");
        let mut record = client.outgoing().to_vec();
        let last = record.len() - 1;
        record[last] ^= 1;
        let error = server.receive(&record).expect_err("the tag does not match");
        assert!(matches!(error, TlsError::Protocol(_)), "{error:?}");
        assert!(server.plaintext().is_empty());
        assert!(
            !server.outgoing().is_empty(),
            "a bad_record_mac alert is queued"
        );
    }
}

#[test]
fn a_handshake_over_the_turns_budget_is_held_and_goes_on_whole_in_a_later_turn() {
    let files = Files::new("tls-held");
    let (mut client, mut server) = files.layers(TlsVersion::V1_3);
    // Turns no other test of this thread uses; the first one's budget is spent up front.
    let (spent, next) = (u64::MAX - 100, u64::MAX - 99);
    while budget::take_step_for_tests(spent) {}
    let hello = client.outgoing().to_vec();
    client.sent(hello.len());
    let (head, tail) = hello.split_at(hello.len() / 2);
    assert!(server.admit(spent, head).expect("held").is_none());
    assert!(server.admit(spent, tail).expect("held").is_none());
    assert!(server.holds());
    let admitted = server
        .admit(next, &[])
        .expect("admitted")
        .expect("a fresh budget");
    assert_eq!(
        &admitted[..],
        &hello[..],
        "the held bytes, whole and in order"
    );
    assert!(!server.holds());
    server.receive(&admitted).expect("the hello is answered");
    assert!(!server.outgoing().is_empty());
}

#[test]
fn held_handshake_bytes_past_the_limit_fail_with_a_clear_error() {
    let files = Files::new("tls-held-limit");
    let (_, mut server) = files.layers(TlsVersion::V1_3);
    let spent = u64::MAX - 200;
    while budget::take_step_for_tests(spent) {}
    let chunk = vec![0x16; 16 * 1024];
    let error = (0..=budget::HELD_LIMIT / chunk.len())
        .find_map(|_| server.admit(spent, &chunk).err())
        .expect("the limit is reached");
    assert!(matches!(error, TlsError::Protocol(_)), "{error:?}");
    assert!(!server.holds(), "nothing stays held");
}
