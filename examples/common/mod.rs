//! Small helpers shared by the examples: argument parsing, logging set-up, the demo database
//! (from `rdnp3_testkit::demo`) and the demo's controls.
#![allow(dead_code)]

use rdnp3::reactor::Backend;
use rdnp3::{TlsConfig, TlsVersion};
use std::str::FromStr;

/// Command-line arguments as `--flag value` pairs and bare `--switch`es.
pub struct Args {
    args: Vec<String>,
    help: &'static str,
}

impl Args {
    /// Reads the process arguments; prints `help` and exits on `-h`/`--help`.
    pub fn read(help: &'static str) -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "-h" || a == "--help") {
            print!("{help}");
            std::process::exit(0);
        }
        Args { args, help }
    }

    /// Exits with a message and status 2.
    pub fn fail(&self, message: &str) -> ! {
        eprintln!("error: {message}\n\n{}", self.help);
        std::process::exit(2);
    }

    /// True when `--name` is present; removes it.
    pub fn switch(&mut self, name: &str) -> bool {
        match self.args.iter().position(|a| a == name) {
            Some(i) => {
                self.args.remove(i);
                true
            }
            None => false,
        }
    }

    /// Every value of a repeatable `--name value`; removes them.
    pub fn all(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(i) = self.args.iter().position(|a| a == name) {
            if i + 1 >= self.args.len() {
                self.fail(&format!("{name} needs a value"));
            }
            out.push(self.args.remove(i + 1));
            self.args.remove(i);
        }
        out
    }

    /// The value of `--name value`, parsed, or `default`.
    pub fn get<T: FromStr>(&mut self, name: &str, default: T) -> T {
        match self.all(name).pop() {
            None => default,
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| self.fail(&format!("bad value for {name}: {v:?}"))),
        }
    }

    /// Fails if any argument was not consumed.
    pub fn finish(&self) {
        if let Some(a) = self.args.first() {
            self.fail(&format!("unknown argument {a:?}"));
        }
    }

    /// `--backend auto|epoll|io-uring` (default auto).
    pub fn backend(&mut self) -> Backend {
        match self.get("--backend", "auto".to_string()).as_str() {
            "auto" => Backend::Auto,
            "epoll" => Backend::Epoll,
            "io-uring" | "io_uring" => Backend::IoUring,
            other => self.fail(&format!(
                "unknown backend {other:?} (auto, epoll, io-uring)"
            )),
        }
    }
}

impl Args {
    /// `--tls-cert PEM --tls-key PEM --tls-ca PEM [--tls-self-signed] [--tls-name NAME]
    /// [--tls-min 1.2|1.3]`: TLS settings, or `None` when no `--tls-*` flag is given.
    pub fn tls(&mut self) -> Option<TlsConfig> {
        let cert = self.all("--tls-cert").pop();
        let key = self.all("--tls-key").pop();
        let ca = self.all("--tls-ca").pop();
        let pinned = self.switch("--tls-self-signed");
        let name = self.all("--tls-name").pop();
        let min = self.all("--tls-min").pop();
        let (cert, key, ca) = match (cert, key, ca) {
            (None, None, None) if !pinned && name.is_none() && min.is_none() => return None,
            (Some(cert), Some(key), Some(ca)) => (cert, key, ca),
            _ => self.fail("TLS needs --tls-cert, --tls-key and --tls-ca"),
        };
        let mut tls = if pinned {
            TlsConfig::self_signed(cert, key, ca)
        } else {
            TlsConfig::ca_chain(cert, key, ca)
        };
        if let Some(name) = name {
            tls = tls.with_peer_name(name);
        }
        match min.as_deref() {
            None | Some("1.2") => {}
            Some("1.3") => tls = tls.with_min_version(TlsVersion::V1_3),
            Some(other) => self.fail(&format!("unknown TLS version {other:?} (1.2, 1.3)")),
        }
        Some(tls)
    }
}

/// Ends the example with a message when set-up fails.
pub trait OrExit<T> {
    /// The value, or "error: …" on stderr and exit status 1.
    fn or_exit(self) -> T;
}

impl<T, E: std::fmt::Display> OrExit<T> for Result<T, E> {
    fn or_exit(self) -> T {
        self.unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1);
        })
    }
}

/// Logs to stderr at the level RUST_LOG gives (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

use rdnp3::stack::objects::{CommandStatus, Crob, Variation};
use rdnp3::stack::outstation::{
    ControlHandler, Database, DatabaseHandle, MirrorOutputs, OperateType,
};

/// The demo database, as `tests/interop/demo_db.py` describes it (the opendnp3 interop peers
/// check the `outstation` example against it).
#[allow(unused_imports)] // not every example serves it
pub use rdnp3_testkit::demo::interop_database as demo_database;

/// The demo's controls: mirrors CROBs and analog outputs into the output status points
/// (indices 0–9; others NOT_SUPPORTED), optionally printing each control received.
pub struct DemoControls {
    print: bool,
}

impl DemoControls {
    /// Prints every control on stdout.
    pub fn printing() -> Self {
        DemoControls { print: true }
    }

    /// Prints nothing.
    pub fn quiet() -> Self {
        DemoControls { print: false }
    }
}

impl ControlHandler for DemoControls {
    fn select_crob(&mut self, index: u16, crob: &Crob, db: &Database) -> CommandStatus {
        let status = MirrorOutputs.select_crob(index, crob, db);
        if self.print {
            println!(
                "control select crob {index} {} -> {}",
                crob.code.op_type().name(),
                status.name()
            );
        }
        status
    }

    fn operate_crob(
        &mut self,
        index: u16,
        crob: &Crob,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        let status = MirrorOutputs.operate_crob(index, crob, op, db);
        if self.print {
            println!(
                "control operate crob {index} {} -> {}",
                crob.code.op_type().name(),
                status.name()
            );
        }
        status
    }

    fn select_analog(
        &mut self,
        index: u16,
        value: f64,
        variation: Variation,
        db: &Database,
    ) -> CommandStatus {
        let status = MirrorOutputs.select_analog(index, value, variation, db);
        if self.print {
            println!("control select analog {index} {value} -> {}", status.name());
        }
        status
    }

    fn operate_analog(
        &mut self,
        index: u16,
        value: f64,
        variation: Variation,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        let status = MirrorOutputs.operate_analog(index, value, variation, op, db);
        if self.print {
            println!(
                "control operate analog {index} {value} -> {}",
                status.name()
            );
        }
        status
    }
}
