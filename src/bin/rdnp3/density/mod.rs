//! `density`: the main job (`cargo run --release --example density`, or `rdnp3 density`).
//! Starts N outstations and one master association per outstation, polls them all, and prints
//! what it measures: channels open, polls/s, events/s received, timeouts and failures, CPU
//! seconds, peak RSS and RSS per channel.
//!
//! The two ends run in one process (`--role both`, the default; `both.rs`), or apart — the
//! outstations in child processes (`--farms`, `children.rs`), or each end started by hand
//! (`--role outstations`, `--role master`; `apart.rs`) — so that a master process can be
//! measured alone. Either the masters connect to listening outstations, or (dial-in) the
//! outstations connect to one listener of the master. `args.rs` holds the options, `farm.rs` the outstations, `masters.rs` the
//! masters, `report.rs` the probes and printed figures, `pki.rs` the throwaway certificates,
//! `events.rs` the event sequence check (and its state between master processes),
//! `flood.rs` the flooders that some endpoints run instead of an outstation.
//!
//! This module is shared by the `rdnp3` binary and the `density` example, so it uses only the
//! `rdnp3` crate, std, `rcgen`, `nix` (signals) and nothing else.

mod apart;
mod args;
mod both;
mod children;
mod events;
mod farm;
mod flood;
mod masters;
mod pki;
mod report;

use args::{Options, Role};
use rdnp3::Manager;
use std::process::ExitCode;

/// Runs the benchmark with its own options (`args` without the program name).
pub fn run(args: Vec<String>) -> ExitCode {
    let own_args = args.len();
    let options = Options::parse(args);
    match &options.role {
        Role::Both {
            farms,
            listen,
            dial_in,
        } => both::run(&options, *farms, *listen, *dial_in, own_args),
        Role::Outstations {
            peers,
            exit_on_stdin_eof,
        } => apart::run_outstations(&options, peers, *exit_on_stdin_eof),
        Role::Master { peers } => apart::run_master(&options, peers),
    }
}

/// Starts the manager and checks that the process may hold `fds` descriptors (the manager
/// raises the soft limit to the hard one first). Prints the backend line.
fn start_manager(options: &Options, fds: u64, what: &str) -> Result<Manager, ExitCode> {
    let manager = Manager::builder()
        .threads(options.threads)
        .backend(options.backend)
        .build()
        .map_err(|e| fail(&e))?;
    let limit = manager.fd_limit().map_or(1024, |l| l.soft);
    if fds > limit {
        return Err(fail(&format!(
            "{what} need about {fds} file descriptors; ulimit -n is {limit}"
        )));
    }
    println!(
        "backend:            {:?} ({} threads)",
        manager.backend(),
        manager.threads()
    );
    Ok(manager)
}

/// "error: …" on stderr; exit status 1.
fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}
