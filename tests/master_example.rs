//! The `master` example end to end against rdnp3's own outstation: `--freeze` and
//! `--freeze-clear` with `--once` print the frozen counters the integrity poll after the freeze
//! reads, then exit with success.

mod util;

use std::path::PathBuf;
use std::process::Command;
use util::*;

/// The example binary cargo builds next to the test binaries.
fn master_binary() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("master")
}

/// Runs the master example once against a fresh demo outstation with `flag`; its stdout lines.
fn run_once_with(flag: &str) -> Vec<String> {
    let manager = manager();
    let station = demo_station(&manager);
    let out = Command::new(master_binary())
        .args(["--connect", &station.address.to_string(), "--once", flag])
        .output()
        .expect("the master example is built by cargo test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    manager.shutdown();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[test]
fn freeze_prints_the_counters_copied_into_the_frozen_counters() {
    let lines = run_once_with("--freeze");
    // The demo database starts with frozen counter 3 at 21 and counter 3 at 300.
    assert!(has(&lines, "frozen-counter 3 21 0x01"), "{lines:#?}");
    assert!(has(&lines, "frozen-counter 3 300 0x01"), "{lines:#?}");
    assert!(!has(&lines, "counter 3 0 0x01"), "nothing cleared");
}

#[test]
fn freeze_clear_prints_the_frozen_values_and_the_cleared_counters() {
    let lines = run_once_with("--freeze-clear");
    assert!(has(&lines, "frozen-counter 3 300 0x01"), "{lines:#?}");
    assert!(has(&lines, "counter 3 0 0x01"), "{lines:#?}");
}

#[test]
fn the_association_state_is_printed_when_it_goes_online_and_offline() {
    let lines = run_once_with("--freeze");
    let states: Vec<&String> = lines.iter().filter(|l| l.starts_with("state ")).collect();
    assert_eq!(states, ["state online", "state offline"], "{lines:#?}");
    assert_eq!(lines.first().map(String::as_str), Some("state online"));
}
