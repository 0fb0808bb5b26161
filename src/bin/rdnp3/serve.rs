//! `rdnp3 serve`: simulated outstations whose points follow scripts.

use std::path::PathBuf;
use std::process::ExitCode;

/// `rdnp3 serve` options.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The TOML file that lists the points, their scripts and where to listen.
    #[arg(long)]
    pub config: PathBuf,
}

/// Runs the simulator until interrupted.
pub fn run(args: ServeArgs) -> ExitCode {
    let _ = args.config;
    eprintln!("error: rdnp3 serve is not built yet");
    ExitCode::from(2)
}
