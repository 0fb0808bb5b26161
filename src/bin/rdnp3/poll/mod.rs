//! `rdnp3 poll`: a master for every outstation in a config file. One manager; per
//! outstation one channel and one association, with its event and integrity polls. What the
//! associations read and how their health changes goes to stdout as JSON lines (`output`);
//! `--metrics` serves Prometheus metrics (`metrics`); configured controls are sent by
//! `commands`. It runs until SIGINT or SIGTERM (or `--seconds`), then shuts down cleanly.

mod check;
mod commands;
mod config;
mod metrics;
mod output;

use crate::config_file;
use config::{ListenSection, OutstationEntry, PollConfig};
use metrics::{Link, OutstationMetrics, Registry};
use nix::sys::signal::{SigSet, Signal};
use output::{HealthWriter, MeasurementWriter, Output, RefuseUnknown};
use rdnp3::{
    ChannelConfig, ChannelError, Classes, DialInAssociation, ListenerConfig, Manager, Master,
    MasterConfig, MasterListener, PeerAuthentication, ReadRequest, SerialSettings, TlsConfig,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// `rdnp3 poll` options.
#[derive(clap::Args)]
#[command(after_help = "\
CONFIG (TOML; unknown keys are errors):
  [master]                  address (1), threads (0: one per core)
  [[outstation]]            name, connect = \"IP:PORT\" | serial = \"PATH\" + baud (9600)
                            | dial_in = true (+ peer_ip = \"IP\"; needs [listen]),
                            address (1024), poll_ms (1000; 0: none), integrity_s (3600;
                            0: at start-up only), response_timeout_ms (5000),
                            time_sync (\"none\", \"lan\", \"non-lan\"),
                            unsolicited (classes to enable, e.g. [1, 2, 3]; default none)
  [outstation.tls]          cert, key, ca | peer_cert, server_name
  [listen]                  the endpoint dial_in outstations connect to: address =
                            \"IP:PORT\", binding (\"link-address\": the source of the first
                            frame | \"peer-ip\": peer_ip), policy (a second connection:
                            \"replace\" | \"refuse\"), first_frame_timeout_ms (10000),
                            tls = { cert, key, ca | peer_cert, server_name }
  [[outstation.command]]    kind (\"crob\" | \"analog\"), index, op (LATCH_ON, LATCH_OFF,
                            PULSE_ON, PULSE_OFF) | value, on_ms, off_ms, mode
                            (\"select-before-operate\" | \"direct-operate\"), every_s (absent: once)

OUTPUT (stdout), one JSON object per line:
  {\"outstation\":\"rtu-1\",\"type\":\"analog\",\"index\":1,\"value\":1.5,\"flags\":1}
      a measurement; objects that carry a time add \"time\" (ms since 1970 UTC) and
      \"quality\" (\"synchronized\" or \"unsynchronized\")
  {\"outstation\":\"rtu-1\",\"state\":\"online\"}          or \"offline\"
  {\"outstation\":\"rtu-1\",\"task\":\"integrity poll\",\"error\":\"...\"}   a failed task
  {\"outstation\":\"rtu-1\",\"command\":\"crob\",\"index\":0,\"status\":\"SUCCESS\"}
      the result of a configured command
  {\"outstation\":\"rtu-1\",\"unsupported\":\"g1v99\",\"error\":\"...\"}
      an object the master could not parse
  {\"listener\":\"0.0.0.0:20000\",\"refused\":\"unknown outstation\",\"link_address\":9,
   \"peer\":\"10.1.2.3:40000\"}   a dial-in connection that matches no outstation")]
pub struct PollArgs {
    /// The TOML file that lists the outstations.
    #[arg(long)]
    pub config: PathBuf,
    /// Serve Prometheus metrics on GET /metrics at this address (IP:PORT).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Stop after this many seconds (default: run until SIGINT or SIGTERM).
    #[arg(long)]
    pub seconds: Option<u64>,
}

/// One outstation once started.
struct Started {
    metrics: Arc<OutstationMetrics>,
    link: Link,
    master: Master,
}

/// The name every dial-in association's channel starts with (`dial-in/ADDRESS`).
const LISTENER_NAME: &str = "dial-in";

/// Runs the poller until interrupted.
pub fn run(args: PollArgs) -> ExitCode {
    let file = args.config.display().to_string();
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::from(2);
        }
    };
    let config: PollConfig = match config_file::parse(&file, &text) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = check::check(&config, &file, &text) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    // Before any thread starts, so that every thread inherits the mask and the signals wait
    // for the one thread that takes them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    if let Err(e) = signals.thread_block() {
        eprintln!("error: cannot block SIGINT and SIGTERM: {e}");
        return ExitCode::from(1);
    }
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let on_signal = stop_tx.clone();
    std::thread::Builder::new()
        .name("rdnp3-signals".into())
        .spawn(move || {
            if signals.wait().is_ok() {
                let _ = on_signal.send(());
            }
        })
        .expect("the signal thread starts");
    let on_closed = stop_tx.clone();
    let (output, writer) = Output::start(std::io::stdout(), move || {
        let _ = on_closed.send(());
    });
    let code = poll(&config, &args, &output, &stop_rx);
    output.end();
    let _ = writer.join();
    code
}

/// Starts everything, waits for the stop, shuts down.
fn poll(
    config: &PollConfig,
    args: &PollArgs,
    output: &Output,
    stop_rx: &mpsc::Receiver<()>,
) -> ExitCode {
    let server = match args.metrics.map(tiny_http::Server::http).transpose() {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "error: cannot serve metrics on {}: {e}",
                args.metrics.unwrap()
            );
            return ExitCode::from(1);
        }
    };
    let manager = match Manager::new(config.master.threads) {
        Ok(manager) => manager,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match config.listen.as_ref().map(|l| listen(&manager, l, output)) {
        None => None,
        Some(Ok(listener)) => Some(listener),
        Some(Err(e)) => {
            let address = config.listen.as_ref().map(|l| l.address);
            eprintln!("error: [listen] on {}: {e}", address.unwrap());
            manager.shutdown();
            return ExitCode::from(1);
        }
    };
    let mut started = Vec::new();
    for entry in &config.outstation {
        match start(
            &manager,
            listener.as_ref(),
            config.master.address,
            entry,
            output,
        ) {
            Ok(s) => started.push(s),
            Err(e) => {
                eprintln!("error: outstation `{}`: {e}", entry.name);
                manager.shutdown();
                return ExitCode::from(1);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let scheduled: Vec<_> = config
        .outstation
        .iter()
        .zip(&started)
        .flat_map(|(entry, s)| {
            entry
                .command
                .iter()
                .map(|c| commands::Scheduled::new(s.metrics.clone(), s.master.clone(), c.clone()))
        })
        .collect();
    let registry = Registry {
        outstations: started
            .iter()
            .map(|s| (s.metrics.clone(), s.link.clone()))
            .collect(),
        listener: listener.clone(),
        output: output.clone(),
    };
    std::thread::scope(|scope| {
        if !scheduled.is_empty() {
            let (out, stop) = (output.clone(), stop.clone());
            std::thread::Builder::new()
                .name("rdnp3-commands".into())
                .spawn_scoped(scope, move || commands::run(scheduled, out, stop))
                .expect("the command thread starts");
        }
        if let Some(server) = &server {
            let (registry, manager, stop) = (&registry, &manager, &*stop);
            std::thread::Builder::new()
                .name("rdnp3-metrics".into())
                .spawn_scoped(scope, move || {
                    let snapshot = || (manager.pool().stats(), manager.master_stats());
                    metrics::serve(server, registry, snapshot, stop)
                })
                .expect("the metrics thread starts");
        }
        let _ = match args.seconds {
            Some(s) => stop_rx.recv_timeout(Duration::from_secs(s)).ok(),
            None => stop_rx.recv().ok(),
        };
        stop.store(true, Ordering::Relaxed);
    });
    drop(registry);
    drop(started);
    if let Some(listener) = listener {
        listener.shutdown();
    }
    manager.shutdown();
    ExitCode::SUCCESS
}

/// Opens the dial-in endpoint: outstations without a `dial_in` entry are refused.
fn listen(
    manager: &Manager,
    listen: &ListenSection,
    output: &Output,
) -> Result<MasterListener, ChannelError> {
    let timeout = Duration::from_millis(listen.first_frame_timeout_ms.max(1));
    let config = ListenerConfig::default()
        .with_name(LISTENER_NAME.into())
        .with_binding(listen.binding.binding())
        .with_policy(listen.policy.policy())
        .with_first_frame_timeout(timeout);
    let unknown = Box::new(RefuseUnknown::new(listen.address, output.clone()));
    match &listen.tls {
        Some(tls) => {
            manager.add_tls_master_listener(config, listen.address, tls_config(tls), Some(unknown))
        }
        None => manager.add_master_listener(config, listen.address, Some(unknown)),
    }
}

/// Adds the outstation's association (on a channel of its own, or on the dial-in listener)
/// and its polls.
fn start(
    manager: &Manager,
    listener: Option<&MasterListener>,
    local_address: u16,
    entry: &OutstationEntry,
    output: &Output,
) -> Result<Started, ChannelError> {
    let name: Arc<str> = entry.name.as_str().into();
    let master_config = MasterConfig::default()
        .with_local_address(local_address)
        .with_outstation_address(entry.address)
        .with_response_timeout(Duration::from_millis(entry.response_timeout_ms.max(1)))
        .with_time_sync(entry.time_sync.mode())
        .with_unsolicited_classes(entry.unsolicited_classes());
    let metrics = Arc::new(OutstationMetrics::new(name.clone()));
    let handler = Box::new(MeasurementWriter::new(name, output.clone()));
    let health = Box::new(HealthWriter::new(metrics.clone(), output.clone()));
    let (link, master) = match listener {
        Some(listener) if entry.dial_in => {
            let mut association =
                DialInAssociation::new(master_config, handler).with_listener(health);
            if let Some(ip) = entry.peer_ip {
                association = association.with_peer_ip(ip);
            }
            let master = listener.add(association)?;
            let channel = format!("{LISTENER_NAME}/{}", entry.address);
            (Link::DialIn(channel.into()), master)
        }
        _ => {
            let channel = own_channel(manager, entry)?;
            let master = channel.add_master_with_listener(master_config, handler, health)?;
            (Link::Channel(channel), master)
        }
    };
    if entry.poll_ms > 0 {
        let period = Duration::from_millis(entry.poll_ms);
        master.add_poll(ReadRequest::classes(Classes::EVENTS), period)?;
    }
    if entry.integrity_s > 0 {
        let period = Duration::from_secs(entry.integrity_s);
        master.add_poll(ReadRequest::integrity(), period)?;
    }
    Ok(Started {
        metrics,
        link,
        master,
    })
}

/// The outstation's own channel: TCP, TLS or serial.
fn own_channel(manager: &Manager, entry: &OutstationEntry) -> Result<rdnp3::Channel, ChannelError> {
    let channel_config = ChannelConfig::named(entry.name.as_str());
    Ok(match (&entry.connect, &entry.serial, &entry.tls) {
        (Some(remote), _, Some(tls)) => {
            manager.add_tls_client(channel_config, *remote, tls_config(tls), None)?
        }
        (Some(remote), _, None) => manager.add_tcp_client(channel_config, *remote, None)?,
        (None, Some(path), _) => manager.add_serial(
            channel_config,
            SerialSettings::new(path.as_str(), entry.baud),
            None,
        )?,
        // `check` refused it.
        (None, None, _) => return Err(ChannelError::Closed),
    })
}

/// The channel's TLS settings.
fn tls_config(tls: &config::TlsSection) -> TlsConfig {
    let peer = match (&tls.ca, &tls.peer_cert) {
        (Some(ca), _) => PeerAuthentication::CaChain(ca.clone()),
        (None, Some(pinned)) => PeerAuthentication::SelfSigned(pinned.clone()),
        // `check` refused it; loading an empty path fails with a clear error.
        (None, None) => PeerAuthentication::CaChain(PathBuf::new()),
    };
    let config = TlsConfig::default()
        .with_certificate(&tls.cert)
        .with_private_key(&tls.key)
        .with_peer(peer);
    match &tls.server_name {
        Some(name) => config.with_peer_name(name.as_str()),
        None => config,
    }
}
