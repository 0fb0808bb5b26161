//! A flood of unauthenticated TLS handshakes does not starve the channels established on the
//! same executor: each executor runs a bounded number of handshake steps per turn and defers
//! the rest to later turns (counted), while an established TLS channel keeps being polled.

mod tls_util;
mod util;

use rdnp3::stack::master::{MasterConfig, Measurement, ReadHandler};
use rdnp3::{Backend, Classes, ListenerConfig, Manager, ReadRequest};
use rdnp3_testkit::backends::each_backend;
use rdnp3_testkit::pki::{Identity, Pki};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use tls_util::{ca_pair, start_tls_outstation, with_ca};
use util::{channel_config, free_address, lock, master_stats, wait_startup, WAIT};

/// Connections of the flood: several times the per-turn budget.
const FLOOD: usize = 40;

/// TLS outstations flooded at once, one connection each: more than the per-turn budget.
const SERVERS: usize = 16;

/// A read handler that, once armed, holds the executor inside the callback until released:
/// while it waits, the flood's ClientHellos pile up so that the executor finds them all in
/// one turn.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<(bool, bool)>, Condvar)>);

impl Gate {
    fn arm(&self) {
        *lock(&self.0 .0) = (true, false);
    }

    fn wait_entered(&self) {
        let (state, signal) = &*self.0;
        let mut s = lock(state);
        while !s.1 {
            s = signal.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self) {
        lock(&self.0 .0).0 = false;
        self.0 .1.notify_all();
    }
}

impl ReadHandler for Gate {
    fn measurement(&mut self, _: &Measurement<'_>) {
        let (state, signal) = &*self.0;
        let mut s = lock(state);
        if s.0 {
            s.1 = true;
            signal.notify_all();
            while s.0 {
                s = signal.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// A TLS 1.3 ClientHello, as a client that will never go on sends it.
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = "master.test".try_into().expect("a DNS name");
    let mut client = rustls::ClientConnection::new(Arc::new(config), name).expect("a client");
    let mut hello = Vec::new();
    client.write_tls(&mut hello).expect("the hello");
    hello
}

/// Connects and sends a ClientHello, never more.
fn half_open(address: SocketAddr, hello: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("the listener accepts");
    stream.write_all(hello).expect("the hello is sent");
    stream
}

/// A TLS master polling the demo outstation over TLS, on a one-executor manager whose
/// callbacks the gate can hold.
struct Established {
    manager: Manager,
    channel: rdnp3::Channel,
    master: rdnp3::Master,
    gate: Gate,
    // Keeps the outstation's channel up.
    _station: tls_util::TlsStation,
}

fn established(
    backend: Backend,
    ca: &Path,
    outstation: &Identity,
    master: &Identity,
) -> Established {
    let manager = Manager::builder()
        .threads(1)
        .backend(backend)
        .build()
        .expect("the reactor starts");
    let station = start_tls_outstation(&manager, free_address(), with_ca(outstation, ca));
    let gate = Gate::default();
    let channel = manager
        .add_tls_client(
            channel_config("master"),
            station.address,
            with_ca(master, ca).with_peer_name("outstation.test"),
            None,
        )
        .expect("TLS client channel");
    let master = channel
        .add_master(MasterConfig::default(), Box::new(gate.clone()))
        .expect("master added");
    wait_startup(&master);
    Established {
        manager,
        channel,
        master,
        gate,
        _station: station,
    }
}

impl Established {
    /// Holds the executor while a ClientHello reaches each of `targets` from a new
    /// connection, then keeps polling through the flood. Checks that every poll succeeded
    /// without a timeout, that the established channel never waited, and that every hello
    /// was answered (its handshake ran, in a later turn if deferred).
    fn flood(&self, targets: &[SocketAddr]) {
        let hello = client_hello();
        self.gate.arm();
        let mut read = self.master.read(ReadRequest::classes(Classes::CLASS0));
        self.gate.wait_entered();
        let mut flood: Vec<TcpStream> = targets.iter().map(|&t| half_open(t, &hello)).collect();
        self.gate.release();
        read.wait_timeout(WAIT)
            .expect("answered")
            .expect("the read held by the gate succeeds");
        for _ in 0..20 {
            self.master
                .read(ReadRequest::classes(Classes::CLASS0))
                .wait_timeout(WAIT)
                .expect("answered")
                .expect("a read during the flood succeeds");
        }
        for stream in &mut flood {
            stream.set_read_timeout(Some(WAIT)).expect("a timeout");
            let mut answer = [0u8; 512];
            let n = stream
                .read(&mut answer)
                .expect("the server answers the hello");
            assert!(
                n > 0 && answer[0] == 22,
                "a handshake record answers the hello"
            );
        }
        let polled = master_stats(&self.master);
        assert_eq!(polled.timeouts, 0, "no read timed out: {polled:?}");
        assert_eq!(polled.failures, 0, "{polled:?}");
        assert_eq!(
            self.channel.stats().tls_deferred,
            0,
            "the established channel never waits"
        );
    }
}

#[test]
fn a_flood_of_client_hellos_to_a_dial_in_listener_is_deferred_over_turns_while_an_established_channel_is_polled(
) {
    let pki = Pki::new("tls-budget-listener");
    let (ca, outstation_id, master_id) = ca_pair(&pki);
    each_backend(|backend| {
        let setup = established(backend, &ca.path, &outstation_id, &master_id);
        let config = ListenerConfig::default()
            .with_channel(channel_config("dial-in"))
            .with_max_accepts_per_second(None);
        let listener = setup
            .manager
            .add_tls_master_listener(config, free_address(), with_ca(&master_id, &ca.path), None)
            .expect("the TLS listener listens");
        setup.flood(&vec![listener.local_addr(); FLOOD]);
        let stats = listener.stats();
        assert!(
            stats.tls_deferred > 0,
            "handshakes over the budget were deferred: {stats:?}"
        );
        assert_eq!(stats.tls_errors, 0, "{stats:?}");
        setup.manager.shutdown();
    });
}

#[test]
fn client_hellos_to_many_tls_outstations_at_once_are_deferred_over_turns_while_an_established_channel_is_polled(
) {
    let pki = Pki::new("tls-budget-servers");
    let (ca, outstation_id, master_id) = ca_pair(&pki);
    each_backend(|backend| {
        let setup = established(backend, &ca.path, &outstation_id, &master_id);
        let stations: Vec<tls_util::TlsStation> = (0..SERVERS)
            .map(|_| {
                start_tls_outstation(
                    &setup.manager,
                    free_address(),
                    with_ca(&outstation_id, &ca.path),
                )
            })
            .collect();
        let addresses: Vec<SocketAddr> = stations.iter().map(|s| s.address).collect();
        setup.flood(&addresses);
        let deferred: u64 = stations
            .iter()
            .map(|s| s.channel.stats().tls_deferred)
            .sum();
        assert!(deferred > 0, "handshakes over the budget were deferred");
        setup.manager.shutdown();
    });
}
