//! `rdnp3 decode`: hex dumps, pcap and pcapng captures to JSON lines.

use std::path::PathBuf;
use std::process::ExitCode;

/// `rdnp3 decode` options.
#[derive(clap::Args)]
pub struct DecodeArgs {
    /// A hex dump, pcap or pcapng file (standard input when absent).
    pub file: Option<PathBuf>,
}

/// Decodes the input.
pub fn run(args: DecodeArgs) -> ExitCode {
    let _ = args.file;
    eprintln!("error: rdnp3 decode is not built yet");
    ExitCode::from(2)
}
