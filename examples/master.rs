//! `master`: a DNP3 master that connects to an outstation over TCP or a serial port, prints
//! every measurement and can send controls.

mod common;

use common::{Args, OrExit};
use rdnp3::stack::master::{
    AnalogOutput, Classes, Command, CommandMode, MasterConfig, Measurement, ReadHandler,
    ReadRequest, TaskError, UnsupportedObject,
};
use rdnp3::stack::objects::{CommandStatus, Crob, OpType, PointType, Variation};
use rdnp3::{
    AssociationListener, AssociationState, ChannelConfig, ChannelListener, ChannelState,
    ClassAssignment, EventClass, FreezeKind, FreezeRequest, Manager, Master, PointRange,
    SerialSettings,
};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

const HELP: &str = "\
master: a DNP3 master over TCP or a serial port

USAGE:
    master [OPTIONS]

OPTIONS:
    --connect ADDR          outstation address (default 127.0.0.1:20000)
    --serial PATH           talk over this serial port instead of TCP (e.g. /dev/ttyUSB0)
    --baud N                serial line speed, 8N1, no flow control (default 9600)
    --tls-cert PEM          connect over TLS with this certificate (then its chain); needs
                            --tls-key and --tls-ca; the handshake is mutually authenticated
    --tls-key PEM           the private key of --tls-cert
    --tls-ca PEM            CA certificate(s) the outstation's certificate must chain to
    --tls-self-signed       pin instead: --tls-ca is the outstation's own certificate
    --tls-name NAME         the DNS name or IP the outstation's certificate must be valid for
                            (default: names are not checked, the chain or pin is)
    --tls-min V             oldest TLS version allowed: 1.2 or 1.3 (default 1.2)
    --outstation N          outstation link address (default 1024)
    --master N              this master's link address (default 1)
    --poll-ms MS            class 1/2/3 event poll period (default 1000; integrity every 60 s)
    --crob INDEX:OP         send a CROB; OP is LATCH_ON, LATCH_OFF, PULSE_ON or PULSE_OFF
                            (repeatable)
    --analog INDEX:VALUE    send an analog output (g41v3 float; repeatable)
    --direct                direct operate instead of select-before-operate
    --assign-class C:TYPE   ASSIGN_CLASS of every point of TYPE (a type name as printed, e.g.
                            analog) to class C (0-3); repeatable, all sent in one request
                            after the commands
    --freeze                IMMEDIATE_FREEZE of all counters (g20v0, qualifier 06), then an
                            integrity poll that reports the frozen counters
    --freeze-clear          FREEZE_AND_CLEAR of all counters, then an integrity poll
    --once                  exit after the startup integrity poll, the commands and the
                            freezes; exit code 0 only if everything succeeded
    --seconds S             exit after S seconds (default: run until killed)
    --backend B             auto, epoll or io-uring (default auto)
    --threads T             reactor threads (default 1)
    -h, --help              this text

OUTPUT (stdout):
    <type> <index> <value> <flags as 0xNN>   for every measurement, types binary, double-bit,
        counter, frozen-counter, analog, frozen-analog, binary-output-status,
        analog-output-status, binary-command-event, analog-command-event (command events:
        the commanded state or value); failed freezes are reported on stderr
    unsupported g<G>v<V>                     for an object the master cannot parse (the
        objects before it are printed; the fragment is not confirmed)
    command <index> <STATUS>                 for every control sent (NOT_OPERATED for a
        control that was selected but not operated because another one of the request was
        refused)
    state online | state offline             when the association goes online (the link is up
        and a request succeeded) or offline (the link dropped or 3 requests failed in a row)
";

/// Prints measurements as lines on stdout.
struct Printer;

impl ReadHandler for Printer {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{} {} {} 0x{:02X}",
            m.kind.name(),
            m.index,
            m.value,
            m.flags
        );
    }

    fn unsupported(&mut self, object: &UnsupportedObject) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "unsupported g{}v{}", object.group, object.variation);
    }
}

/// Prints the association's online/offline transitions on stdout.
struct StatePrinter;

impl AssociationListener for StatePrinter {
    fn state_changed(&mut self, state: AssociationState) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "state {}", state.name());
    }
}

fn parse_command(args: &Args, spec: &str, crob: bool) -> Command {
    let Some((index, what)) = spec.split_once(':') else {
        args.fail(&format!("expected INDEX:VALUE, got {spec:?}"));
    };
    let index: u16 = index
        .parse()
        .unwrap_or_else(|_| args.fail(&format!("bad index in {spec:?}")));
    if crob {
        let op = match what {
            "LATCH_ON" => OpType::LatchOn,
            "LATCH_OFF" => OpType::LatchOff,
            "PULSE_ON" => OpType::PulseOn,
            "PULSE_OFF" => OpType::PulseOff,
            other => args.fail(&format!("unknown CROB operation {other:?}")),
        };
        let on_time = if matches!(op, OpType::PulseOn | OpType::PulseOff) {
            100
        } else {
            0
        };
        Command::Crob {
            index,
            crob: Crob::new(op, on_time, 0),
        }
    } else {
        let value: f32 = what
            .parse()
            .unwrap_or_else(|_| args.fail(&format!("bad value in {spec:?}")));
        Command::Analog {
            index,
            value: AnalogOutput::F32(value),
        }
    }
}

/// `C:TYPE`: every point of a type to a class.
fn parse_assignment(args: &Args, spec: &str) -> ClassAssignment {
    let Some((class, name)) = spec.split_once(':') else {
        args.fail(&format!("expected CLASS:TYPE, got {spec:?}"));
    };
    let class = match class {
        "0" => EventClass::None,
        "1" => EventClass::Class1,
        "2" => EventClass::Class2,
        "3" => EventClass::Class3,
        other => args.fail(&format!("bad class {other:?} (0-3)")),
    };
    let variation = PointType::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .and_then(|t| Variation::lookup(t.static_group(), 0))
        .unwrap_or_else(|| args.fail(&format!("unknown point type {name:?}")));
    ClassAssignment::new(class, vec![(variation, PointRange::All)])
}

fn main() {
    common::init_logging();
    let mut args = Args::read(HELP);
    let connect: SocketAddr = args.get("--connect", "127.0.0.1:20000".parse().unwrap());
    let serial = args.all("--serial").pop();
    let baud: u32 = args.get("--baud", 9600);
    let outstation: u16 = args.get("--outstation", 1024);
    let local: u16 = args.get("--master", 1);
    let poll_ms: u64 = args.get("--poll-ms", 1000);
    let crobs = args.all("--crob");
    let analogs = args.all("--analog");
    let direct = args.switch("--direct");
    let assignments: Vec<ClassAssignment> = args
        .all("--assign-class")
        .iter()
        .map(|spec| parse_assignment(&args, spec))
        .collect();
    let mut freezes = Vec::new();
    if args.switch("--freeze") {
        freezes.push(FreezeKind::Immediate);
    }
    if args.switch("--freeze-clear") {
        freezes.push(FreezeKind::Clear);
    }
    let once = args.switch("--once");
    let seconds: Option<u64> = args
        .all("--seconds")
        .pop()
        .map(|s| s.parse().unwrap_or_else(|_| args.fail("bad --seconds")));
    let backend = args.backend();
    let threads: usize = args.get("--threads", 1);
    let tls = args.tls();
    args.finish();
    let mut commands: Vec<Command> = crobs
        .iter()
        .map(|s| parse_command(&args, s, true))
        .collect();
    commands.extend(analogs.iter().map(|s| parse_command(&args, s, false)));

    let manager = Manager::builder()
        .threads(threads)
        .backend(backend)
        .build()
        .or_exit();
    let (state_tx, state_rx) = mpsc::channel();
    // Where the outstation is, for error messages.
    let peer = serial.clone().unwrap_or_else(|| connect.to_string());
    let states: Box<dyn ChannelListener> = Box::new(move |s: ChannelState| {
        eprintln!("channel {s:?}");
        let _ = state_tx.send(s);
    });
    let channel = match &serial {
        Some(path) => manager.add_serial(
            ChannelConfig::named("master"),
            SerialSettings::new(path.as_str(), baud),
            Some(states),
        ),
        None => match tls {
            Some(tls) => {
                manager.add_tls_client(ChannelConfig::named("master"), connect, tls, Some(states))
            }
            None => manager.add_tcp_client(ChannelConfig::named("master"), connect, Some(states)),
        },
    }
    .or_exit();
    let config = MasterConfig::default()
        .with_local_address(local)
        .with_outstation_address(outstation)
        // With --once the integrity poll is asked for explicitly, so it runs exactly once.
        .with_startup_integrity(!once);
    let master = channel
        .add_master_with_listener(config, Box::new(Printer), Box::new(StatePrinter))
        .or_exit();
    let mut ok = true;
    if once {
        if !wait_open(&state_rx, Duration::from_secs(10)) {
            eprintln!("error: could not connect to {peer}");
            std::process::exit(1);
        }
        match master.read(ReadRequest::integrity()).wait() {
            Ok(Ok(())) => {}
            other => {
                eprintln!("integrity poll failed: {other:?}");
                ok = false;
            }
        }
    } else {
        let _ = master.add_poll(
            ReadRequest::classes(Classes::EVENTS),
            Duration::from_millis(poll_ms.max(1)),
        );
        let _ = master.add_poll(ReadRequest::integrity(), Duration::from_secs(60));
        let requests = !commands.is_empty() || !freezes.is_empty() || !assignments.is_empty();
        if requests && !wait_open(&state_rx, Duration::from_secs(10)) {
            eprintln!("error: could not connect to {peer}");
        }
    }
    if !commands.is_empty() {
        let mode = if direct {
            CommandMode::DirectOperate
        } else {
            CommandMode::SelectBeforeOperate
        };
        match master.operate(mode, commands.clone()).wait() {
            Ok(Ok(statuses)) => {
                for (c, s) in commands.iter().zip(&statuses) {
                    println!("command {} {}", c.index(), s.name());
                    ok &= *s == CommandStatus::Success;
                }
            }
            Ok(Err(TaskError::SelectFailed(statuses))) => {
                // Nothing was operated: controls that were selected report NOT_OPERATED.
                for (c, s) in commands.iter().zip(&statuses) {
                    let name = if *s == CommandStatus::Success {
                        "NOT_OPERATED"
                    } else {
                        s.name()
                    };
                    println!("command {} {name}", c.index());
                }
                ok = false;
            }
            other => {
                eprintln!("command request failed: {other:?}");
                for c in &commands {
                    println!("command {} FAILED", c.index());
                }
                ok = false;
            }
        }
    }
    if !assignments.is_empty() {
        if let Err(e) = flatten(master.assign_class(assignments).wait()) {
            eprintln!("assign class failed: {e}");
            ok = false;
        }
    }
    for kind in freezes {
        ok &= freeze_then_poll(&master, kind);
    }
    if once {
        manager.shutdown();
        std::process::exit(if ok { 0 } else { 1 });
    }
    match seconds {
        Some(s) => std::thread::sleep(Duration::from_secs(s)),
        None => loop {
            std::thread::park();
        },
    }
    manager.shutdown();
}

/// Freezes every counter, then reads everything so the frozen counters are printed; false
/// when either failed.
fn freeze_then_poll(master: &Master, kind: FreezeKind) -> bool {
    if let Err(e) = flatten(master.freeze(FreezeRequest::all(kind)).wait()) {
        eprintln!("freeze failed: {e}");
        return false;
    }
    if let Err(e) = flatten(master.read(ReadRequest::integrity()).wait()) {
        eprintln!("integrity poll after the freeze failed: {e}");
        return false;
    }
    true
}

/// A completion's result, with a completion dropped unanswered as a shutdown.
fn flatten<E>(r: Result<Result<(), TaskError>, E>) -> Result<(), TaskError> {
    r.unwrap_or(Err(TaskError::Shutdown))
}

/// Waits until the channel reports Open.
fn wait_open(states: &mpsc::Receiver<ChannelState>, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match states.recv_timeout(left) {
            Ok(ChannelState::Open) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}
