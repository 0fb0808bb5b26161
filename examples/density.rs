//! `density`: the main job. Starts N outstations on loopback and one master association per
//! outstation on one Manager, polls them all, and prints what it measures: channels open,
//! polls/s, events/s received, timeouts and failures, CPU seconds, peak RSS and RSS per channel.
//! `--role outstations` and `--role master` run the two ends in separate processes.
//!
//! The benchmark itself is shared with `rdnp3 density`; `--help` lists its options.

#[path = "../src/bin/rdnp3/density/mod.rs"]
mod density;

fn main() -> std::process::ExitCode {
    // Logs to stderr at the level RUST_LOG gives (default: warnings).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    density::run(std::env::args().skip(1).collect())
}
