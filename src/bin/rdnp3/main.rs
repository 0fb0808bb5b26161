//! `rdnp3`: the command-line face of the stack, for integrators who run it rather than link it.
//!
//! - `rdnp3 poll --config FILE.toml [--metrics IP:PORT]`: a master for every outstation in the
//!   file; measurements, health changes and task failures as JSON lines on stdout, Prometheus
//!   metrics on `GET /metrics`.
//! - `rdnp3 serve --config FILE.toml`: an outstation simulator with scripted points.
//! - `rdnp3 decode [FILE]`: decodes hex dumps, pcap and pcapng captures to JSON lines.
//! - `rdnp3 density …`: the density benchmark.

#[allow(dead_code)] // Used by poll and serve.
mod config_file;
mod decode;
mod density;
mod poll;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// DNP3 (IEEE 1815) poller, outstation simulator, capture decoder and density benchmark.
#[derive(Parser)]
#[command(name = "rdnp3", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Polls every outstation in a config file and writes what it reads as JSON lines.
    Poll(poll::PollArgs),
    /// Runs simulated outstations whose points follow scripts.
    Serve(serve::ServeArgs),
    /// Decodes DNP3 from a hex dump, pcap or pcapng capture into JSON lines.
    Decode(decode::DecodeArgs),
    /// Many outstations polled by one master over loopback; prints what it measures
    /// (`rdnp3 density --help` lists its options).
    #[command(disable_help_flag = true)]
    Density {
        /// The density benchmark's options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Poll(args) => poll::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Density { args } => density::run(args),
    }
}
