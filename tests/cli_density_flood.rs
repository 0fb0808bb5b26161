#![cfg(feature = "cli")]
//! `rdnp3 density --flooders K`: K outstation endpoints flood the master with garbage instead
//! of answering; the master closes those connections (counted as flood closes) and keeps
//! polling the other outstations without a timeout.

#[path = "cli_density_util/mod.rs"]
mod cli_density_util;
use cli_density_util::*;
use std::process::Stdio;

/// The value after `name` on the line that starts with it.
fn figure<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} line in:\n{output}"))
        .trim()
}

/// The number before `what` in `line` ("… 7 flood closes, …").
fn count_before(line: &str, what: &str) -> u64 {
    let head = line
        .split(what)
        .next()
        .unwrap_or_else(|| panic!("no {what:?} in {line:?}"));
    head.rsplit([' ', ':'])
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number before {what:?} in {line:?}"))
}

#[test]
fn a_master_process_closes_flooding_peers_and_polls_the_others_without_timeouts() {
    let mut farm = density(&[
        "--role",
        "outstations",
        "--listen",
        "127.214.1.1:31000",
        "--outstations",
        "20",
        "--flooders",
        "2",
    ])
    .stdout(Stdio::null())
    .spawn()
    .expect("the outstations start");
    let master = density(&[
        "--role",
        "master",
        "--connect",
        "127.214.1.1:31000",
        "--outstations",
        "20",
        "--flooders",
        "2",
        "--poll-ms",
        "100",
        "--seconds",
        "2",
    ])
    .output()
    .expect("the master runs");
    let _ = farm.kill();
    let _ = farm.wait();
    let out = text(&master);
    // The flooders' polls fail by design; the exit status counts the others only.
    assert!(master.status.success(), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("18"));
    let flooded = figure(&out, "flooded channels:");
    assert!(flooded.starts_with("2 of 20:"), "{out}");
    assert!(count_before(flooded, " flood closes") >= 1, "{out}");
    assert!(
        count_before(flooded, " bytes received") >= 64 * 1024,
        "{out}"
    );
    assert_eq!(
        figure(&out, "other outstations:"),
        "18: timeouts=0 failures=0"
    );
    // Only the flooders' channels were closed for flooding.
    assert_eq!(
        count_before(figure(&out, "flood closes:"), " (every channel)"),
        count_before(flooded, " flood closes"),
        "{out}"
    );
    let polls: f64 = figure(&out, "polls/s:").parse().expect("a number");
    assert!(polls > 0.0, "{out}");
    assert!(
        figure(&out, "event check:").ends_with(" gaps=0 repeats=0"),
        "{out}"
    );
}

#[test]
fn flooders_of_valid_frames_to_nobody_are_closed_too_in_one_process() {
    let run = density(&[
        "--outstations",
        "6",
        "--flooders",
        "2",
        "--flood-kind",
        "frames",
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("density runs");
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    // Four outstation channels and their four masters.
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("8"));
    let flooded = figure(&out, "flooded channels:");
    assert!(count_before(flooded, " flood closes") >= 1, "{out}");
    assert_eq!(
        figure(&out, "other outstations:"),
        "4: timeouts=0 failures=0"
    );
    // The frames are valid: dropped for their address, not link errors.
    let link = figure(&out, "link:");
    assert!(count_before(link, " dropped frames") > 0, "{out}");
    assert_eq!(count_before(link, " link errors"), 0, "{out}");
    assert!(
        figure(&out, "flooders:").starts_with("2 sent frames ("),
        "{out}"
    );
}

#[test]
fn flooders_are_refused_where_they_do_not_apply() {
    for (args, message) in [
        (
            &["--outstations", "4", "--flooders", "4"][..],
            "--flooders must be less than --outstations",
        ),
        (
            &["--dial-in", "--outstations", "4", "--flooders", "1"][..],
            "--flooders does not go with dial-in",
        ),
        (
            &[
                "--role",
                "master",
                "--connect",
                "127.214.1.9:20000",
                "--outstations",
                "4",
                "--flood-kind",
                "frames",
            ][..],
            "--flood-kind does not apply to --role master",
        ),
        (
            &[
                "--outstations",
                "4",
                "--flooders",
                "1",
                "--flood-kind",
                "noise",
            ][..],
            "--flood-kind must be garbage or frames",
        ),
    ] {
        let out = density(args).output().expect("density runs");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(message), "{}", text(&out));
    }
}
