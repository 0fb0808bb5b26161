//! Interop: opendnp3 outstations (tests/interop/opendnp3_dial_in.py, each a TCP or TLS
//! client channel with unsolicited responses allowed) dial in to one master listener and
//! every association polls the demo database from its own outstation. Run by tests/interop/run.sh
//! (`INTEROP_PY` names the Python that has the `yadnp3` wheel); ignored otherwise.

mod util;

use rdnp3::stack::outstation::PointType;
use rdnp3::{Classes, ListenerConfig, Master, MasterConfig, ReadRequest, TlsConfig};
use rdnp3_testkit::pki::{Pki, Validity};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use util::{channel_config, Recorder, Val, WAIT};

const MASTER: u16 = 1;
const OUTSTATIONS: [u16; 5] = [10, 11, 12, 500, 1024];

/// Stops the Python peers when the test ends, passed or not.
struct Peers(Child);

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Checks a class 0 response against the demo database of tests/interop/README.md:
/// binary i true when i is odd, counter i = 100 × i, analog i = 1.5 × i (indices 0–9).
fn check_demo_values(address: u16, recorder: &Recorder) {
    let statics = recorder.statics();
    for index in 0..10u16 {
        let find = |kind: PointType| {
            statics
                .iter()
                .rev()
                .find(|m| m.kind == kind && m.index == index)
                .map(|m| m.value.clone())
                .unwrap_or_else(|| panic!("outstation {address}: no {kind} {index}"))
        };
        assert_eq!(find(PointType::BinaryInput), Val::Binary(index % 2 == 1));
        assert_eq!(
            find(PointType::Counter),
            Val::Counter(100 * u32::from(index))
        );
        assert_eq!(
            find(PointType::AnalogInput),
            Val::Analog(1.5 * f64::from(index))
        );
    }
}

/// Listens (over TLS when `tls` gives the listener's settings and the outstations' extra
/// arguments), starts the opendnp3 outstations, and polls each one.
fn dial_in_and_poll(tls: Option<(TlsConfig, Vec<String>)>) {
    let python = std::env::var("INTEROP_PY").expect("INTEROP_PY: the Python with yadnp3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/opendnp3_dial_in.py");
    let manager = util::manager();
    let config = ListenerConfig::default()
        .with_name("interop".into())
        .with_channel(channel_config("dial-in"));
    let local = "127.0.0.1:0".parse().expect("address");
    let (listener, peer_args) = match tls {
        Some((tls, args)) => (
            manager.add_tls_master_listener(config, local, tls, None),
            args,
        ),
        None => (manager.add_master_listener(config, local, None), Vec::new()),
    };
    let listener = listener.expect("the listener listens");
    let masters: Vec<(u16, Master, Recorder)> = OUTSTATIONS
        .iter()
        .map(|&address| {
            let recorder = Recorder::default();
            let config = MasterConfig::default()
                .with_local_address(MASTER)
                .with_outstation_address(address)
                .with_response_timeout(Duration::from_secs(5));
            let master = listener
                .add_master(config, recorder.handler())
                .expect("association added");
            (address, master, recorder)
        })
        .collect();
    let addresses: Vec<String> = OUTSTATIONS.iter().map(u16::to_string).collect();
    let child = Command::new(python)
        .arg("-u")
        .arg(script)
        .arg("--connect")
        .arg(listener.local_addr().to_string())
        .arg("--outstations")
        .arg(addresses.join(","))
        .arg("--master")
        .arg(MASTER.to_string())
        .arg("--seconds")
        .arg("120")
        .args(peer_args)
        .stdin(Stdio::null())
        .spawn()
        .expect("the opendnp3 outstations start");
    let _peers = Peers(child);

    for (address, master, recorder) in &masters {
        let end = Instant::now() + 3 * WAIT;
        loop {
            recorder.clear();
            let read = master
                .read(ReadRequest::classes(Classes::CLASS0))
                .wait_timeout(WAIT);
            if matches!(read, Ok(Ok(()))) {
                break;
            }
            assert!(
                Instant::now() < end,
                "outstation {address} never answered a poll: {read:?}; listener: {:?}",
                listener.stats()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        check_demo_values(*address, recorder);
        println!("PASS outstation {address} dialed in and was polled");
    }
    let stats = listener.stats();
    assert_eq!(stats.identified, OUTSTATIONS.len() as u64, "{stats:?}");
    let failures = stats.garbage + stats.timeouts + stats.refused_unknown + stats.tls_errors;
    assert_eq!(failures, 0, "{stats:?}");
    manager.shutdown();
}

#[test]
#[ignore = "needs the yadnp3 wheel: run by tests/interop/run.sh"]
fn opendnp3_outstations_dial_in_and_are_polled() {
    dial_in_and_poll(None);
}

/// opendnp3's TLS client (OpenSSL) against the listener's handshake and hand-over.
fn tls_dial_in(version: &str) {
    let pki = Pki::new("dial-in-interop");
    let ca = pki.ca("ca");
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let args = vec![
        "--tls-cert".into(),
        path(&outstation.cert),
        "--tls-key".into(),
        path(&outstation.key),
        "--tls-ca".into(),
        path(&ca.path),
        "--tls-max".into(),
        version.into(),
    ];
    dial_in_and_poll(Some((
        TlsConfig::ca_chain(&master.cert, &master.key, &ca.path),
        args,
    )));
}

#[test]
#[ignore = "needs the yadnp3 wheel: run by tests/interop/run.sh"]
fn opendnp3_tls_1_3_outstations_dial_in_and_are_polled() {
    tls_dial_in("1.3");
}

#[test]
#[ignore = "needs the yadnp3 wheel: run by tests/interop/run.sh"]
fn opendnp3_tls_1_2_outstations_dial_in_and_are_polled() {
    tls_dial_in("1.2");
}
