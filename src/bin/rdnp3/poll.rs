//! `rdnp3 poll`: a master for every outstation in a config file.

use std::path::PathBuf;
use std::process::ExitCode;

/// `rdnp3 poll` options.
#[derive(clap::Args)]
pub struct PollArgs {
    /// The TOML file that lists the outstations.
    #[arg(long)]
    pub config: PathBuf,
    /// Serve Prometheus metrics on GET /metrics at this address (IP:PORT).
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
}

/// Runs the poller until interrupted.
pub fn run(args: PollArgs) -> ExitCode {
    let _ = (args.config, args.metrics);
    eprintln!("error: rdnp3 poll is not built yet");
    ExitCode::from(2)
}
