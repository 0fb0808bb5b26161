//! `rdnp3 density`: the density benchmark.

use std::process::ExitCode;

/// Runs the density benchmark with its own options.
pub fn run(args: Vec<String>) -> ExitCode {
    let _ = args;
    eprintln!("error: rdnp3 density is not built yet");
    ExitCode::from(2)
}
