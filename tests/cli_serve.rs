#![cfg(feature = "cli")]
//! `rdnp3 serve` end to end: the binary runs a config written here and the library's master,
//! in this process, reads it: initial values, a ramp moving, a CSV replay arriving as events,
//! controls echoed; bad configs are refused with the line and the key.

mod util;

use rdnp3::stack::master::{Command, CommandMode, MasterConfig, ReadRequest};
use rdnp3::stack::objects::{CommandStatus, Crob, DoubleBit, OpType};
use rdnp3::stack::outstation::PointType;
use rdnp3::TlsConfig;
use rdnp3_testkit::pki::{Pki, Validity};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command as Process, Stdio};
use util::*;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("rdnp3-cli-serve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running simulator, killed on drop.
struct Serve {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Serve {
    fn start(config: &Path) -> Serve {
        let mut child = Process::new(env!("CARGO_BIN_EXE_rdnp3"))
            .args(["serve", "--seconds", "60", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Serve { child, stdout }
    }

    /// The next line the simulator prints, as JSON.
    fn line(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(address: SocketAddr) -> String {
    format!(
        r#"
threads = 1

[[outstation]]
name = "sim-1"
listen = "{address}"
address = 1024
master_address = 1

[[outstation.point]]
type = "analog"
index = 0
count = 3
class = 1
value = 2.5

[[outstation.point]]
type = "counter"
index = 0
count = 2
class = 2
value = 7

[[outstation.point]]
type = "binary"
index = 0
count = 2
class = 1
value = true

[[outstation.point]]
type = "double-bit"
index = 0
value = "on"

[[outstation.point]]
type = "binary-output-status"
index = 0
count = 2
class = 1
value = false

[[outstation.script]]
kind = "ramp"
type = "analog"
index = 1
period_ms = 40
step = 1
from = 10
to = 10000

[[outstation.script]]
kind = "replay"
file = "rows.csv"
"#
    )
}

const ROWS: &str = "timestamp,type,index,value\n\
                    1733590000000,analog,2,100.5\n\
                    1733590000150,analog,2,101.5\n\
                    1733590000300,binary,1,false\n";

fn values(m: &[Recorded], kind: PointType, index: u16) -> Vec<Val> {
    m.iter()
        .filter(|r| r.kind == kind && r.index == index)
        .map(|r| r.value.clone())
        .collect()
}

#[test]
fn a_master_reads_initial_values_a_moving_ramp_and_replayed_events_and_controls_echo() {
    let dir = TempDir::new("values");
    let address = free_address();
    dir.write("rows.csv", ROWS);
    let path = dir.write("serve.toml", &config(address));
    let mut serve = Serve::start(&path);
    let ready = serve.line();
    assert_eq!(ready["outstation"], "sim-1");
    assert_eq!(ready["listening"], address.to_string());

    let manager = manager();
    let client = start_master_direct(&manager, address, MasterConfig::default());
    wait_startup(&client.master);

    // Initial values of points no script touches.
    let statics = client.recorder.statics();
    assert_eq!(
        values(&statics, PointType::AnalogInput, 0),
        [Val::Analog(2.5)]
    );
    assert_eq!(values(&statics, PointType::Counter, 1), [Val::Counter(7)]);
    assert_eq!(
        values(&statics, PointType::BinaryInput, 0),
        [Val::Binary(true)]
    );
    assert_eq!(
        values(&statics, PointType::DoubleBitInput, 0),
        [Val::DoubleBit(DoubleBit::DeterminedOn)]
    );
    assert!(statics
        .iter()
        .filter(|m| m.kind == PointType::AnalogInput && m.index == 0)
        .all(|m| m.flags == 1));

    // The replayed rows arrive as events, in order, with their values.
    let events = wait_until(
        "the replayed events",
        || {
            read(&client.master, ReadRequest::classes(rdnp3::Classes::EVENTS));
            client.recorder.events()
        },
        |e| {
            values(e, PointType::AnalogInput, 2).len() >= 2
                && !values(e, PointType::BinaryInput, 1).is_empty()
        },
    );
    assert_eq!(
        values(&events, PointType::AnalogInput, 2),
        [Val::Analog(100.5), Val::Analog(101.5)]
    );
    assert_eq!(
        values(&events, PointType::BinaryInput, 1),
        [Val::Binary(false)]
    );

    // The ramp moves by its step.
    let ramp = wait_until(
        "three ramp events",
        || {
            read(&client.master, ReadRequest::classes(rdnp3::Classes::EVENTS));
            values(&client.recorder.events(), PointType::AnalogInput, 1)
        },
        |v| v.len() >= 3,
    );
    let ramp: Vec<f64> = ramp
        .iter()
        .map(|v| match v {
            Val::Analog(x) => *x,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(ramp[0] >= 10.0, "{ramp:?}");
    for pair in ramp.windows(2) {
        assert_eq!(pair[1] - pair[0], 1.0, "{ramp:?}");
    }

    // A CROB is accepted and echoed into the binary output status.
    let result = client
        .master
        .operate(
            CommandMode::DirectOperate,
            vec![Command::Crob {
                index: 1,
                crob: Crob::new(OpType::LatchOn, 0, 0),
            }],
        )
        .wait_timeout(WAIT)
        .expect("the command completes")
        .expect("the command succeeds");
    assert_eq!(result, [CommandStatus::Success]);
    client.recorder.clear();
    read(&client.master, ReadRequest::integrity());
    assert_eq!(
        values(&client.recorder.statics(), PointType::BinaryOutputStatus, 1),
        [Val::Binary(true)]
    );
    manager.shutdown();
}

fn refused(tag: &str, text: &str) -> String {
    let dir = TempDir::new(tag);
    dir.write("rows.csv", "0,analog,0,1\n5,analog,7,2\n");
    let path = dir.write("bad.toml", text);
    let out = Process::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["serve", "--seconds", "5", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8(out.stderr)
        .unwrap()
        .replace(&path.display().to_string(), "bad.toml")
        .replace(&dir.0.display().to_string(), "DIR")
}

const HEAD: &str =
    "[[outstation]]\nname = \"x\"\nlisten = \"127.0.0.1:1\"\n\n[[outstation.point]]\n";

#[test]
fn a_bad_config_is_refused_naming_the_line_and_the_key() {
    let err = refused(
        "syntax",
        &format!("{HEAD}type = \"analog\"\nindex = \"zero\"\n"),
    );
    assert!(err.starts_with("error: bad.toml:7: key `index`: "), "{err}");
    let err = refused(
        "unknown",
        &format!("{HEAD}type = \"analog\"\nindex = 0\nclas = 1\n"),
    );
    assert!(err.starts_with("error: bad.toml:8: key `clas`: "), "{err}");
    let err = refused(
        "class",
        &format!("{HEAD}type = \"analog\"\nindex = 0\nclass = 5\n"),
    );
    assert!(
        err.starts_with("error: bad.toml:8: key `class`: class 5 is not 0-3"),
        "{err}"
    );
    let err = refused("type", &format!("{HEAD}type = \"analogue\"\nindex = 0\n"));
    assert!(
        err.starts_with("error: bad.toml:6: key `type`: unknown point type"),
        "{err}"
    );
    let script = "\n[[outstation.script]]\nkind = \"ramp\"\ntype = \"analog\"\nindex = 0\n";
    let err = refused(
        "ramp",
        &format!("{HEAD}type = \"analog\"\nindex = 0\n{script}"),
    );
    assert!(
        err.starts_with("error: bad.toml:10: key `period_ms`: ramp needs period_ms"),
        "{err}"
    );
    let replay = "\n[[outstation.script]]\nkind = \"replay\"\nfile = \"rows.csv\"\n";
    let err = refused(
        "replay",
        &format!("{HEAD}type = \"analog\"\nindex = 0\n{replay}"),
    );
    assert!(
        err.starts_with("error: bad.toml:11: key `file`: DIR/rows.csv:2: no analog point 7"),
        "{err}"
    );
}

#[test]
fn a_master_polls_the_simulator_over_tls_with_a_ca_chain() {
    let pki = Pki::new("cli-serve");
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let address = free_address();
    let text = format!(
        "[[outstation]]\nname = \"tls-1\"\nlisten = \"{address}\"\n\
         tls = {{ ca = {:?}, cert = {:?}, key = {:?}, name = \"master.test\" }}\n\n\
         [[outstation.point]]\ntype = \"counter\"\nindex = 4\nvalue = 44\n",
        ca.path, outstation.cert, outstation.key
    );
    let dir = TempDir::new("tls");
    let mut serve = Serve::start(&dir.write("tls.toml", &text));
    assert_eq!(serve.line()["tls"], true);

    let manager = manager();
    let tls =
        TlsConfig::ca_chain(&master.cert, &master.key, &ca.path).with_peer_name("outstation.test");
    let recorder = Recorder::default();
    let channel = manager
        .add_tls_client(channel_config("master"), address, tls, None)
        .expect("TLS client channel");
    let client = channel
        .add_master(MasterConfig::default(), recorder.handler())
        .expect("master added");
    wait_startup(&client);
    assert_eq!(
        values(&recorder.statics(), PointType::Counter, 4),
        [Val::Counter(44)]
    );
    manager.shutdown();
}
