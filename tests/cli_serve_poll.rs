#![cfg(feature = "cli")]
//! The two halves of the binary against each other: `rdnp3 poll` reads `rdnp3 serve`. The
//! poller's JSON lines carry the simulator's initial values, its ramp moving as events, and the
//! result of a configured control echoed into the output status.

mod util;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use util::free_address;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdnp3-serve-poll-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn the_poller_reads_the_simulator_values_ramp_and_echoed_control() {
    let dir = temp_dir();
    let address = free_address();
    let serve_config = dir.join("serve.toml");
    std::fs::write(
        &serve_config,
        format!(
            r#"
threads = 1

[[outstation]]
name = "sim"
listen = "{address}"
address = 1024
master_address = 1

[[outstation.point]]
type = "analog"
index = 0
count = 2
class = 1
value = 2.5

[[outstation.point]]
type = "counter"
index = 0
class = 2
value = 7

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
period_ms = 50
step = 1
from = 10
to = 10000
"#
        ),
    )
    .expect("serve config");
    let poll_config = dir.join("poll.toml");
    std::fs::write(
        &poll_config,
        format!(
            r#"
[master]
threads = 1

[[outstation]]
name = "sim"
connect = "{address}"
address = 1024
poll_ms = 100
integrity_s = 1

[[outstation.command]]
kind = "crob"
index = 1
op = "LATCH_ON"
"#
        ),
    )
    .expect("poll config");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["serve", "--seconds", "30", "--config"])
        .arg(&serve_config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rdnp3 serve starts");
    let poll = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["poll", "--seconds", "4", "--config"])
        .arg(&poll_config)
        .output()
        .expect("rdnp3 poll runs");
    let _ = serve.kill();
    let _ = serve.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&poll.stdout);
    assert!(
        poll.status.success(),
        "{}",
        String::from_utf8_lossy(&poll.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let of = |kind: &str, index: u64| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .filter(|o| o["type"] == kind && o["index"] == index)
            .collect()
    };
    assert!(
        lines
            .iter()
            .any(|o| o["outstation"] == "sim" && o["state"] == "online"),
        "{stdout}"
    );
    assert_eq!(of("analog", 0)[0]["value"], 2.5, "{stdout}");
    assert_eq!(of("counter", 0)[0]["value"], 7, "{stdout}");
    // The ramp: several distinct values of analog 1, rising, some as timed events.
    let ramp: Vec<f64> = of("analog", 1)
        .iter()
        .filter_map(|o| o["value"].as_f64())
        .collect();
    let mut distinct = ramp.clone();
    distinct.dedup();
    assert!(distinct.len() >= 5, "the ramp moved: {ramp:?}");
    assert!(
        ramp.windows(2).filter(|w| w[1] < w[0]).count() == 0,
        "{ramp:?}"
    );
    assert!(
        of("analog", 1).iter().any(|o| o["time"].is_u64()),
        "{stdout}"
    );
    // The control, answered and echoed into the output status.
    let command = lines
        .iter()
        .position(|o| o["command"] == "crob" && o["index"] == 1)
        .unwrap_or_else(|| panic!("no command line: {stdout}"));
    assert_eq!(lines[command]["status"], "SUCCESS");
    assert!(
        lines[command..]
            .iter()
            .any(|o| o["type"] == "binary-output-status" && o["index"] == 1 && o["value"] == true),
        "{stdout}"
    );
}
