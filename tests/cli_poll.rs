//! `rdnp3 poll` end to end: the binary polls an in-process demo outstation and writes JSON
//! lines; its metrics endpoint is scraped with a real HTTP client; a bad config names its
//! line and key; SIGTERM shuts it down cleanly; outstations on TCP client channels dial in
//! to its `[listen]` endpoint.
#![cfg(feature = "cli")]

mod util;

use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{Outstation, Timestamp, TlsConfig, Update};
use rdnp3_testkit::pki::{Pki, Validity};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;
use util::*;

/// A config file, removed (with its directory, once empty) when dropped.
struct ConfigFile(PathBuf);

impl std::ops::Deref for ConfigFile {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Writes `text` to a config file of its own for the test `name`.
fn config_file(name: &str, text: &str) -> ConfigFile {
    let dir = std::env::temp_dir().join(format!("rdnp3-cli-poll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    ConfigFile(path)
}

/// A config polling one outstation named `rtu-1` at `address`, with `extra` keys appended to
/// its table.
fn config_for(address: SocketAddr, extra: &str) -> String {
    format!(
        "[master]\naddress = 1\nthreads = 1\n\n[[outstation]]\nname = \"rtu-1\"\n\
         connect = \"{address}\"\naddress = 1024\npoll_ms = 100\nintegrity_s = 3600\n{extra}"
    )
}

/// A running `rdnp3 poll` and the lines of its stdout.
struct Poller {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line seen so far, for failure messages.
    seen: Vec<String>,
}

impl Poller {
    fn start(config: &PathBuf, extra_args: &[&str]) -> Poller {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
            .arg("poll")
            .arg("--config")
            .arg(config)
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rdnp3 starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Poller {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line (parsed) that `want` accepts, waiting up to [`WAIT`].
    fn expect(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "no line with {what} within {WAIT:?}; seen: {:#?}",
                    self.seen
                );
            };
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            self.seen.push(line);
            if want(&value) {
                return value;
            }
        }
    }

    /// A line seen already or still to come that `want` accepts.
    fn find(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let seen = self
            .seen
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| want(v));
        match seen {
            Some(value) => value,
            None => self.expect(what, want),
        }
    }

    /// Waits up to [`WAIT`] for the process to exit.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "rdnp3 poll did not exit");
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state_is(state: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["state"] == state
}

#[test]
fn poll_writes_measurements_and_health_changes_as_json_lines() {
    let manager = manager();
    let station = demo_station(&manager);
    let config = config_file("lines", &config_for(station.address, ""));
    let mut poller = Poller::start(&config, &[]);

    let online = poller.expect("the online state", state_is("online"));
    assert_eq!(
        online,
        serde_json::json!({"outstation":"rtu-1","state":"online"})
    );
    // The integrity poll, binaries before analogs.
    let binary = poller.expect("binary input 3", |v| {
        v["type"] == "binary" && v["index"] == 3
    });
    assert_eq!(binary["value"], true);
    // The integrity poll: analog input 1 is 1.5 in the demo database, static, without time.
    let analog = poller.expect("analog input 1", |v| {
        v["type"] == "analog" && v["index"] == 1
    });
    assert_eq!(
        analog,
        serde_json::json!({"outstation":"rtu-1","type":"analog","index":1,"value":1.5,"flags":1})
    );

    // An event with its time: the class poll reads it with time and quality.
    apply(
        &station.outstation,
        vec![Update::analog(4, 42.25).with_time(Timestamp(1_733_590_000_000))],
    );
    let event = poller.expect("the analog event", |v| {
        v["type"] == "analog" && v["index"] == 4 && v["value"] == 42.25
    });
    assert_eq!(event["time"], 1_733_590_000_000u64);
    // Without time sync the outstation keeps asking for time (NEED_TIME).
    assert_eq!(event["quality"], "unsynchronized", "{event}");

    // The outstation goes away: the association goes offline.
    manager.shutdown();
    poller.expect("the offline state", state_is("offline"));
}

#[test]
fn time_sync_and_unsolicited_classes_come_from_the_config() {
    let manager = manager();
    let station = demo_station(&manager);
    // No class poll: events can only come unsolicited.
    let text = config_for(
        station.address,
        "time_sync = \"lan\"\nunsolicited = [1, 2, 3]\n",
    )
    .replace("poll_ms = 100", "poll_ms = 0");
    let config = config_file("unsolicited", &text);
    let mut poller = Poller::start(&config, &[]);
    poller.expect("the online state", state_is("online"));
    // Once the master has written the time, events are reported as synchronized.
    let synchronized = (0..100u32).any(|n| {
        let value = 1000.0 + f64::from(n);
        apply(
            &station.outstation,
            vec![Update::analog(5, value).with_time(Timestamp(1_733_590_000_000))],
        );
        let event = poller.expect("the unsolicited event", |v| {
            v["type"] == "analog" && v["index"] == 5 && v["value"] == value
        });
        std::thread::sleep(POLL);
        event["quality"] == "synchronized"
    });
    assert!(synchronized, "{:#?}", poller.seen);
    drop(poller);
    manager.shutdown();
}

#[test]
fn metrics_are_served_in_the_prometheus_text_format() {
    let manager = manager();
    let station = demo_station(&manager);
    let config = config_file("metrics", &config_for(station.address, ""));
    let metrics = free_address();
    let mut poller = Poller::start(&config, &["--metrics", &metrics.to_string()]);
    poller.expect("the online state", state_is("online"));

    let url = format!("http://{metrics}/metrics");
    let text = wait_until(
        "a scrape with a response time",
        || {
            ureq::get(&url)
                .call()
                .expect("GET /metrics answers")
                .into_string()
                .unwrap()
        },
        |text| !text.contains("rdnp3_outstation_response_seconds_count{outstation=\"rtu-1\"} 0"),
    );
    for expected in [
        "# TYPE rdnp3_outstation_online gauge",
        "rdnp3_outstation_online{outstation=\"rtu-1\"} 1",
        "# TYPE rdnp3_outstation_response_seconds histogram",
        "rdnp3_outstation_response_seconds_bucket{outstation=\"rtu-1\",le=\"+Inf\"} ",
        "rdnp3_outstation_response_seconds_sum{outstation=\"rtu-1\"} ",
        "rdnp3_outstation_task_failures_total{outstation=\"rtu-1\"} 0",
        "rdnp3_executor_channels{executor=\"0\"} ",
        "# TYPE rdnp3_executor_busy_seconds_total counter",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    // Bytes were counted on the channel.
    let received = text
        .lines()
        .find_map(|l| l.strip_prefix("rdnp3_channel_bytes_received_total{channel=\"rtu-1\"} "))
        .expect("a byte counter");
    assert!(received.parse::<u64>().unwrap() > 0, "{text}");

    match ureq::get(&format!("http://{metrics}/other")).call() {
        Err(ureq::Error::Status(code, _)) => assert_eq!(code, 404),
        other => panic!("expected 404, got {other:?}"),
    }
    drop(poller);
    manager.shutdown();
}

#[test]
fn poll_connects_over_tls_with_the_files_of_its_tls_table() {
    let pki = Pki::new("cli-poll");
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["rtu-1.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    let manager = manager();
    let address = free_address();
    let channel = manager
        .add_tls_server(
            channel_config("outstation"),
            address,
            TlsConfig::ca_chain(&outstation.cert, &outstation.key, &ca.path),
            None,
        )
        .expect("TLS server channel");
    channel
        .add_outstation(
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    let tls = format!(
        "\n[outstation.tls]\ncert = {:?}\nkey = {:?}\nca = {:?}\nserver_name = \"rtu-1.test\"\n",
        master.cert.display().to_string(),
        master.key.display().to_string(),
        ca.path.display().to_string(),
    );
    let config = config_file("tls", &config_for(address, &tls));
    let mut poller = Poller::start(&config, &[]);
    poller.expect("the online state", state_is("online"));
    poller.expect("analog input 1", |v| {
        v["type"] == "analog" && v["index"] == 1 && v["value"] == 1.5
    });
    assert!(channel.stats().tls_errors == 0);
    drop(poller);
    manager.shutdown();
}

#[test]
fn a_configured_command_is_sent_once_the_outstation_is_online() {
    let manager = manager();
    let station = demo_station(&manager);
    let extra = "\n[[outstation.command]]\nkind = \"crob\"\nindex = 2\nop = \"LATCH_ON\"\n\
                 mode = \"direct-operate\"\n";
    let config = config_file("command", &config_for(station.address, extra));
    let mut poller = Poller::start(&config, &[]);
    let result = poller.expect("the command's result", |v| v["command"] == "crob");
    assert_eq!(
        result,
        serde_json::json!({"outstation":"rtu-1","command":"crob","index":2,"status":"SUCCESS"})
    );
    // MirrorOutputs reflects the latch in binary output status 2, reported as an event (which
    // a class poll may read before the command's result is written).
    poller.find("the output status", |v| {
        v["type"] == "binary-output-status" && v["index"] == 2 && v["value"] == true
    });
    drop(poller);
    manager.shutdown();
}

#[test]
fn sigterm_shuts_the_poller_down_cleanly() {
    let manager = manager();
    let station = demo_station(&manager);
    let config = config_file("sigterm", &config_for(station.address, ""));
    let mut poller = Poller::start(&config, &[]);
    poller.expect("the online state", state_is("online"));
    let pid = poller.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = poller.wait_exit();
    assert!(status.success(), "{status:?}");
    manager.shutdown();
}

#[test]
fn a_config_error_names_the_file_the_line_and_the_key() {
    let text = config_for("127.0.0.1:1".parse().unwrap(), "pol_ms = 5\n");
    let config = config_file("bad", &text);
    let out = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["poll", "--config"])
        .arg(&*config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:11: key `pol_ms`: ", config.display());
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn a_task_that_times_out_is_reported_as_a_failure_line() {
    let manager = manager();
    let station = demo_station(&manager);
    // Link address 1025: nobody answers on this channel.
    let text = config_for(station.address, "response_timeout_ms = 200\n")
        .replace("address = 1024", "address = 1025");
    let config = config_file("timeout", &text);
    let mut poller = Poller::start(&config, &[]);
    let failure = poller.expect("a task failure", |v| v.get("task").is_some());
    assert_eq!(failure["outstation"], "rtu-1");
    assert_eq!(failure["error"], "no response within the response timeout");
    assert!(
        !poller.seen.iter().any(|l| l.contains("online")),
        "{:#?}",
        poller.seen
    );
    drop(poller);
    manager.shutdown();
}

/// An outstation with link address `address` on a TCP client channel that dials in to
/// `listener`, speaking first (its null unsolicited response) so that it is identified.
fn dial_in(manager: &rdnp3::Manager, listener: SocketAddr, address: u16) -> Outstation {
    let channel = manager
        .add_tcp_client(channel_config(&format!("rtu-{address}")), listener, None)
        .expect("client channel");
    let config = outstation_config(address)
        .with_master_address(1)
        .with_allow_unsolicited(true);
    channel
        .add_outstation(
            config,
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added")
}

#[test]
fn an_outstation_that_dials_in_is_polled_and_an_unknown_one_is_refused() {
    let listen = free_address();
    let text = format!(
        "[master]\nthreads = 1\n\n[listen]\naddress = \"{listen}\"\n\n\
         [[outstation]]\nname = \"rtu-dial\"\ndial_in = true\naddress = 1024\npoll_ms = 100\n"
    );
    let config = config_file("dial-in", &text);
    let metrics = free_address();
    let mut poller = Poller::start(&config, &["--metrics", &metrics.to_string()]);
    let manager = manager();
    let _known = dial_in(&manager, listen, 1024);

    let online = poller.expect("the online state", state_is("online"));
    assert_eq!(
        online,
        serde_json::json!({"outstation":"rtu-dial","state":"online"})
    );
    let analog = poller.expect("analog input 1", |v| {
        v["type"] == "analog" && v["index"] == 1
    });
    assert_eq!(
        analog,
        serde_json::json!({"outstation":"rtu-dial","type":"analog","index":1,"value":1.5,"flags":1})
    );

    // An outstation the config does not list: refused, reported and counted.
    let _unknown = dial_in(&manager, listen, 1030);
    let refused = poller.expect("the refusal", |v| v.get("refused").is_some());
    assert_eq!(refused["listener"], listen.to_string());
    assert_eq!(refused["refused"], "unknown outstation");
    assert_eq!(refused["link_address"], 1030);
    let url = format!("http://{metrics}/metrics");
    // The refusal is counted once the callback has returned (and again each time the
    // unknown outstation reconnects); the association's statistics come from the manager.
    let positive = |text: &str, prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .is_some_and(|v| v.parse::<u64>().unwrap() > 0)
    };
    let text = wait_until(
        "a scrape that counts the refusal and the requests",
        || {
            ureq::get(&url)
                .call()
                .expect("GET /metrics answers")
                .into_string()
                .unwrap()
        },
        |text| {
            positive(text, "rdnp3_listener_refused_total{reason=\"unknown\"} ")
                && positive(
                    text,
                    "rdnp3_outstation_requests_total{outstation=\"rtu-dial\"} ",
                )
        },
    );
    for expected in [
        "rdnp3_outstation_online{outstation=\"rtu-dial\"} 1",
        "# TYPE rdnp3_listener_refused_total counter",
        "rdnp3_listener_identified_total 1",
        "rdnp3_outstation_polls_total{outstation=\"rtu-dial\"} ",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    drop(poller);
    manager.shutdown();
}

#[test]
fn dial_in_without_a_listen_table_is_a_config_error_naming_its_line() {
    let text = "[[outstation]]\nname = \"rtu-dial\"\ndial_in = true\n";
    let config = config_file("dial-in-no-listen", text);
    let out = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["poll", "--config"])
        .arg(&*config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:3: key `dial_in`: needs a [listen] table to dial in to",
        config.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}
