//! `rdnp3 serve`: simulated outstations whose points follow scripts.
//!
//! - `config.rs`: the TOML file, checked into a plan (errors name the line and the key);
//! - `replay.rs`: CSV files of `timestamp,type,index,value` for replay scripts;
//! - `scripts.rs`: the scripts' thread and its timer wheel.

mod config;
mod replay;
mod scripts;

use config::{OutstationPlan, Plan, Transport};
use rdnp3::stack::objects::Timestamp;
use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventBufferConfig, MirrorOutputs, OutstationConfig,
    PointType, Update,
};
use rdnp3::stack::session::Now;
use rdnp3::{ChannelConfig, ChannelListener, ChannelState, Manager, Outstation, SerialSettings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `rdnp3 serve` options.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ServeArgs {
    /// The TOML file that lists the points, their scripts and where to listen.
    #[arg(long)]
    pub config: PathBuf,
    /// Exit after this many seconds (default: run until killed).
    #[arg(long)]
    pub seconds: Option<f64>,
}

const AFTER_HELP: &str = r#"CONFIG (TOML):
  threads = 1                      # reactor threads (default 1)

  [[outstation]]
  name = "rtu-1"
  listen = "127.0.0.1:20000"       # TCP; add tls = { ca = "ca.pem", cert = "c.pem",
                                   #   key = "k.pem", self_signed = false, name = "master",
                                   #   min_version = "1.2" } for TLS
  # serial = "/dev/ttyUSB0"        # instead of listen
  # baud = 9600
  address = 1024                   # default 1024
  master_address = 1               # default 1
  unsolicited = true               # default true
  event_buffer = 1000              # events per point type (default 1000)

  [[outstation.point]]
  type = "analog"                  # binary, double-bit, binary-output-status, counter,
                                   # frozen-counter, analog, analog-output-status, octet-string
  index = 0
  count = 10                       # indices index..index+count (default 1)
  class = 1                        # 0-3 (default 0: no events)
  deadband = 0.5
  value = 1.5                      # true/false, a number, "on"/"off"/… for double-bit
  flags = 1                        # default 1 (ONLINE)
                                   # analogs are reported as floats: g30v5/g32v7, g40v3/g42v7

  [[outstation.script]]
  kind = "random_walk"             # type, index, period_ms, step; min, max, seed
  # kind = "ramp"                  # type, index, period_ms, step, from, to (then from again)
  # kind = "replay"                # file = "rows.csv": timestamp,type,index,value rows, ms
  #                                # relative or since 1970, at their pace; repeat = true
  type = "analog"
  index = 0
  period_ms = 1000
  step = 0.5

Controls are accepted and echoed: a CROB sets its binary output status, an analog output its
analog output status (points that exist; others answer NOT_SUPPORTED).
Prints {"outstation":NAME,"listening":ADDR} (or "serial":PATH) per outstation once it is
set up, then channel states on standard error."#;

/// Runs the simulator until interrupted (or for `--seconds`).
pub fn run(args: ServeArgs) -> ExitCode {
    let plan = match config::load(&args.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let manager = match Manager::builder().threads(plan.threads).build() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let code = serve(&manager, plan, args.seconds);
    manager.shutdown();
    code
}

fn serve(manager: &Manager, plan: Plan, seconds: Option<f64>) -> ExitCode {
    let mut outstations = Vec::new();
    let mut scripts = Vec::new();
    for (i, o) in plan.outstations.into_iter().enumerate() {
        for s in &o.scripts {
            let initial = s.point.and_then(|p| initial_value(&o.initial, p));
            scripts.push((i, s.clone(), initial));
        }
        let name = o.name.clone();
        match start(manager, o) {
            Ok(outstation) => outstations.push((name, outstation)),
            Err(e) => {
                eprintln!("error: outstation {name:?}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("rdnp3-scripts".into())
            .spawn(move || scripts::run(outstations, scripts, stop))
    };
    let thread = match thread {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot start the scripts' thread: {e}");
            return ExitCode::from(1);
        }
    };
    let end = seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        match end {
            Some(end) => {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(200)));
            }
            None => std::thread::park(),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    ExitCode::SUCCESS
}

/// The value a walk starts from: the point's configured initial value.
fn initial_value(initial: &[Update], point: (PointType, u16)) -> Option<f64> {
    initial.iter().rev().find_map(|u| match (u, point.0) {
        (Update::Analog { index, value, .. }, PointType::AnalogInput)
        | (Update::AnalogOutputStatus { index, value, .. }, PointType::AnalogOutputStatus)
            if *index == point.1 =>
        {
            Some(*value)
        }
        (Update::Counter { index, value, .. }, PointType::Counter)
        | (Update::FrozenCounter { index, value, .. }, PointType::FrozenCounter)
            if *index == point.1 =>
        {
            Some(f64::from(*value))
        }
        _ => None,
    })
}

fn wall_clock() -> Now {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Now {
        instant: Instant::now(),
        wall: Timestamp(ms),
    }
}

/// Builds one outstation's database and channel.
fn start(manager: &Manager, o: OutstationPlan) -> Result<Outstation, String> {
    let mut builder = DatabaseBuilder::new();
    for (ty, index, config) in &o.points {
        builder = builder.add(*ty, [*index], *config);
    }
    let mut database = builder.build().map_err(|e| e.to_string())?;
    let report = database.load(&wall_clock(), &o.initial);
    if report.rejected > 0 {
        return Err(format!("{} initial values rejected", report.rejected));
    }
    let name = o.name.clone();
    let states: Box<dyn ChannelListener> = Box::new(move |s: ChannelState| {
        eprintln!("serve: {name}: channel {s:?}");
    });
    let channel_config = ChannelConfig::named(&o.name);
    let mut ready = serde_json::json!({
        "outstation": o.name,
        "address": o.address,
        "master_address": o.master_address,
    });
    let channel = match o.transport {
        Transport::Tcp(addr) => {
            ready["listening"] = addr.to_string().into();
            manager.add_tcp_server(channel_config, addr, Some(states))
        }
        Transport::Tls(addr, tls) => {
            ready["listening"] = addr.to_string().into();
            ready["tls"] = true.into();
            manager.add_tls_server(channel_config, addr, *tls, Some(states))
        }
        Transport::Serial(path, baud) => {
            ready["serial"] = path.clone().into();
            ready["baud"] = baud.into();
            let settings = SerialSettings::new(path.as_str(), baud);
            manager.add_serial(channel_config, settings, Some(states))
        }
    };
    let channel = channel.map_err(|e| e.to_string())?;
    let config = OutstationConfig::default()
        .with_local_address(o.address)
        .with_master_address(o.master_address)
        .with_allow_unsolicited(o.unsolicited)
        .with_event_buffer(EventBufferConfig::all(o.event_buffer));
    let outstation = channel
        .add_outstation(
            config,
            database,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .map_err(|e| e.to_string())?;
    println!("{ready}");
    Ok(outstation)
}
