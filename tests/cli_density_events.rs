#![cfg(feature = "cli")]
//! `rdnp3 density` event check: outstation i numbers its analog events 0, 1, 2, … and the
//! master checks that they arrive in order, with no gap and no repeat — across master
//! processes with `--state FILE`: events made while no master was connected all arrive, once,
//! after the next master starts.

#[path = "cli_density_util/mod.rs"]
mod cli_density_util;
use cli_density_util::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// The value after `name` on the line that starts with it.
fn figure<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} line in:\n{output}"))
        .trim()
}

/// `events=E gaps=G repeats=R` as numbers.
fn check(output: &str) -> (u64, u64, u64) {
    let line = figure(output, "event check:");
    let field = |name: &str| -> u64 {
        line.split(' ')
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    (field("events="), field("gaps="), field("repeats="))
}

/// The sum of the next values a state file holds.
fn state_sum(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .expect("the state file exists")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split(' ')
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .expect("INDEX NEXT")
        })
        .sum()
}

const MASTER: &[&str] = &[
    "--role",
    "master",
    "--connect",
    "127.214.2.1:31100",
    "--outstations",
    "3",
    "--poll-ms",
    "100",
];

#[test]
fn events_made_while_the_master_was_away_are_all_delivered_once_after_it_is_back() {
    let dir = std::env::temp_dir().join(format!("rdnp3-density-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let state = dir.join("state");
    let state_arg = state.to_str().expect("a UTF-8 path");
    let mut farm = density(&[
        "--role",
        "outstations",
        "--listen",
        "127.214.2.1:31100",
        "--outstations",
        "3",
        "--events-per-sec",
        "20",
    ])
    .stdout(Stdio::null())
    .spawn()
    .expect("the outstations start");

    // The first master: from the start of every sequence, stopped at the end of --seconds.
    let first = density(MASTER)
        .args(["--seconds", "1", "--state", state_arg])
        .output()
        .expect("the first master runs");
    let out = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(first.status.success(), "{out}");
    assert!(out.contains("does not exist yet"), "{out}");
    let (events, gaps, repeats) = check(&out);
    assert!(events > 0, "{out}");
    assert_eq!((gaps, repeats), (0, 0), "{out}");
    let after_first = state_sum(&state);
    assert_eq!(
        after_first, events,
        "the state continues from every value delivered"
    );

    // Away: the outstations go on making events, then the second master continues the check
    // from the state file and is stopped by SIGTERM.
    std::thread::sleep(Duration::from_millis(500));
    let mut second = density(MASTER)
        .args(["--seconds", "60", "--state", state_arg])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the second master starts");
    let mut stdout = BufReader::new(second.stdout.take().expect("its output"));
    let mut out = String::new();
    while !out.contains("channels open:") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("its output") == 0 {
            break;
        }
        out.push_str(&line);
    }
    std::thread::sleep(Duration::from_millis(500));
    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).expect("SIGTERM is sent");
    stdout.read_to_string(&mut out).expect("its output");
    let status = second.wait().expect("the second master ends");
    let _ = farm.kill();
    let _ = farm.wait();
    assert!(status.success(), "{out}");
    assert!(
        out.contains(&format!("next values {after_first} in all)")),
        "{out}"
    );
    let (events, gaps, repeats) = check(&out);
    assert_eq!((gaps, repeats), (0, 0), "{out}");
    // Every value from where the first master stopped to where the second did, once each:
    // those made while no master was connected included.
    let after_second = state_sum(&state);
    assert_eq!(after_second - after_first, events, "{out}");
    assert!(events > 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_event_buffer_overflow_is_reported_as_gaps_and_dropped_events_not_hidden() {
    // Two outstations buffering 5 events each and making 40 per second, with no master for
    // the first second: most of those events cannot be kept.
    let mut farm = density(&[
        "--role",
        "outstations",
        "--listen",
        "127.214.2.2:31150",
        "--outstations",
        "2",
        "--events-per-sec",
        "40",
        "--event-buffer",
        "5",
        "--seconds",
        "4",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("the outstations start");
    let mut farm_out = BufReader::new(farm.stdout.take().expect("its output"));
    let mut farm_text = String::new();
    while !farm_text.contains("listening:") {
        let mut line = String::new();
        if farm_out.read_line(&mut line).expect("its output") == 0 {
            break;
        }
        farm_text.push_str(&line);
    }
    std::thread::sleep(Duration::from_secs(1));
    let master = density(&[
        "--role",
        "master",
        "--connect",
        "127.214.2.2:31150",
        "--outstations",
        "2",
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("the master runs");
    farm_out
        .read_to_string(&mut farm_text)
        .expect("the farm's output");
    let _ = farm.wait();
    let out = String::from_utf8_lossy(&master.stdout).into_owned();
    assert!(master.status.success(), "{out}");
    let (events, gaps, repeats) = check(&out);
    assert!(events > 0, "{out}");
    assert!(gaps > 0, "the lost events are gaps:\n{out}");
    assert_eq!(repeats, 0, "{out}");
    assert!(
        figure(&out, "event overflow:").starts_with("2 outstations reported EVENT_BUFFER_OVERFLOW"),
        "{out}"
    );
    let dropped: u64 = figure(&farm_text, "events dropped:")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(dropped > 0, "{farm_text}");
}

#[test]
fn the_state_option_belongs_to_the_master_and_a_bad_file_is_refused() {
    let out = density(&["--outstations", "2", "--state", "/nonexistent/x"])
        .output()
        .expect("density runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--state does not apply to --role both"));

    let dir = std::env::temp_dir().join(format!("rdnp3-density-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let state = dir.join("state");
    std::fs::write(&state, "# header\n0 12\n7 3\n").expect("written");
    let out = density(MASTER)
        .args(["--seconds", "1", "--state", state.to_str().expect("UTF-8")])
        .output()
        .expect("density runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(":3: outstation 7 is not one of the 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
