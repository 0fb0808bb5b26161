#![cfg(feature = "cli")]
//! `rdnp3 density`: its roles run apart in two processes, its farms in child processes, and
//! its outstations dial in to the master's listener, in one process or two.

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

#[test]
fn a_master_process_polls_an_outstation_process() {
    let mut farm = density(&[
        "--role",
        "outstations",
        "--listen",
        "127.200.5.1:32766",
        "--outstations",
        "4",
        "--outstation-address",
        "77",
        "--master-address",
        "3",
    ])
    .stdout(Stdio::null())
    .spawn()
    .expect("the outstations start");
    let master = density(&[
        "--role",
        "master",
        "--connect",
        "127.200.5.1:32766",
        "--outstations",
        "4",
        "--outstation-address",
        "77",
        "--master-address",
        "3",
        "--poll-ms",
        "100",
        "--seconds",
        "2",
        "--report-every",
        "0.5",
    ])
    .output()
    .expect("the master runs");
    let _ = farm.kill();
    let _ = farm.wait();
    let out = text(&master);
    assert!(master.status.success(), "{out}");
    // Outstations 2 and 3 listen on the next address: 127.200.5.2:32766 and :32767.
    assert!(out.contains("to 127.200.5.2:32767"), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("4"));
    assert_eq!(figure(&out, "timeouts:"), "0");
    assert_eq!(figure(&out, "failures:"), "0");
    let polls: f64 = figure(&out, "polls/s:").parse().expect("a number");
    assert!(polls > 0.0, "{out}");
    assert!(out
        .lines()
        .any(|l| l.starts_with("t=") && l.contains(" open=4 ")));
    assert!(out.contains("rss per channel:"), "{out}");
}

#[test]
fn farms_run_the_outstations_in_child_processes() {
    let run = density(&[
        "--outstations",
        "6",
        "--farms",
        "2",
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("density runs");
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("2 farm processes"), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("6"));
    assert!(out.contains("farm cpu seconds:"), "{out}");
    assert_eq!(figure(&out, "failures:"), "0");
}

#[test]
fn outstations_in_their_own_process_dial_in_to_a_master_process() {
    let master = density(&[
        "--role",
        "master",
        "--listen",
        "127.200.6.1:32700",
        "--outstations",
        "4",
        "--outstation-address",
        "500",
        "--master-address",
        "3",
        "--poll-ms",
        "100",
        "--seconds",
        "2",
        "--report-every",
        "0.5",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the master starts");
    let mut farm = density(&[
        "--role",
        "outstations",
        "--dial-in",
        "--connect",
        "127.200.6.1:32700",
        "--outstations",
        "4",
        "--outstation-address",
        "500",
        "--master-address",
        "3",
    ])
    .stdout(Stdio::null())
    .spawn()
    .expect("the outstations start");
    let master = master.wait_with_output().expect("the master runs");
    let _ = farm.kill();
    let _ = farm.wait();
    let out = text(&master);
    assert!(master.status.success(), "{out}");
    assert!(out.contains("link addresses 500 to 503"), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("4"));
    assert_eq!(figure(&out, "timeouts:"), "0");
    assert_eq!(figure(&out, "failures:"), "0");
    let polls: f64 = figure(&out, "polls/s:").parse().expect("a number");
    assert!(polls > 0.0, "{out}");
    // Every outstation was bound to its association by its first frame (an outstation that
    // dials in before its association is registered is refused and dials in again).
    assert!(
        figure(&out, "listener:").contains(" 4 identified,"),
        "{out}"
    );
    assert!(out
        .lines()
        .any(|l| l.starts_with("t=") && l.contains(" open=4 ")));
}

#[test]
fn both_ends_in_one_process_run_dial_in() {
    let run = density(&[
        "--dial-in",
        "--listen",
        "127.200.6.2:32701",
        "--outstations",
        "5",
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("density runs");
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("listener on 127.200.6.2:32701"), "{out}");
    // Five outstation channels and five associations online.
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("10"));
    assert_eq!(figure(&out, "timeouts:"), "0");
    assert_eq!(figure(&out, "failures:"), "0");
    assert!(
        figure(&out, "listener:").contains(" 5 identified,"),
        "{out}"
    );
}

#[test]
fn farms_dial_in_with_their_own_link_addresses() {
    let run = density(&[
        "--dial-in",
        "--farms",
        "2",
        "--listen",
        "127.200.6.3:32702",
        "--outstations",
        "5",
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("density runs");
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("2 farm processes"), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("5"));
    assert_eq!(figure(&out, "failures:"), "0");
    assert!(
        figure(&out, "listener:").contains(" 5 identified,"),
        "{out}"
    );
}

#[test]
fn dial_in_options_that_do_not_fit_are_refused() {
    for (args, message) in [
        (
            &[
                "--role",
                "master",
                "--listen",
                "127.200.6.9:20000",
                "--connect",
                "127.200.6.9:20001",
                "--outstations",
                "2",
            ][..],
            "either --connect IP:PORT or --listen IP:PORT",
        ),
        (
            &[
                "--role",
                "outstations",
                "--dial-in",
                "--listen",
                "127.200.6.9:20000",
                "--outstations",
                "2",
            ][..],
            "use --connect IP:PORT",
        ),
        (
            &[
                "--dial-in",
                "--outstations",
                "10",
                "--outstation-address",
                "65515",
            ][..],
            "at most 65519",
        ),
    ] {
        let out = density(args).output().expect("density runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out).contains(message), "{}", text(&out));
    }
}

#[test]
fn a_role_refuses_the_options_of_the_other() {
    let out = density(&[
        "--role",
        "master",
        "--connect",
        "127.200.5.9:20000",
        "--farms",
        "2",
    ])
    .output()
    .expect("density runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--farms does not apply to --role master"));
}

#[test]
fn split_roles_run_over_tls_with_certificates_the_outstations_write() {
    let dir = std::env::temp_dir().join(format!("rdnp3-density-tls-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().expect("a UTF-8 temporary path");
    let mut farm = density(&[
        "--role",
        "outstations",
        "--listen",
        "127.200.6.1:30000",
        "--outstations",
        "3",
        "--tls",
        "--tls-dir",
        dir_arg,
    ])
    .stdout(Stdio::null())
    .spawn()
    .expect("the outstations start");
    for _ in 0..500 {
        if dir.join("master.key").is_file() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let master = density(&[
        "--role",
        "master",
        "--connect",
        "127.200.6.1:30000",
        "--outstations",
        "3",
        "--tls",
        "--tls-dir",
        dir_arg,
        "--poll-ms",
        "100",
        "--seconds",
        "1",
    ])
    .output()
    .expect("the master runs");
    let _ = farm.kill();
    let _ = farm.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let out = text(&master);
    assert!(master.status.success(), "{out}");
    assert_eq!(figure(&out, "channels open:").split(' ').next(), Some("3"));
    assert_eq!(figure(&out, "timeouts:"), "0");
    let polls: f64 = figure(&out, "polls/s:").parse().expect("a number");
    assert!(polls > 0.0, "{out}");
}

#[test]
fn tls_in_split_roles_needs_a_certificate_directory() {
    let out = density(&[
        "--role",
        "master",
        "--connect",
        "127.200.6.9:30000",
        "--outstations",
        "1",
        "--tls",
    ])
    .output()
    .expect("runs");
    assert!(!out.status.success());
    assert!(text(&out).contains("needs --tls-dir DIR"), "{}", text(&out));
}
