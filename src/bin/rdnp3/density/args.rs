//! The benchmark's options: `--flag value` pairs and bare `--switch`es, checked per role.

use super::flood::FloodKind;
use rdnp3::reactor::Backend;
use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::str::FromStr;

pub const HELP: &str = "\
density: many master-outstation pairs over loopback on one reactor

USAGE:
    density [OPTIONS]
    density --role outstations --listen IP:PORT --outstations N [OPTIONS]
    density --role master --connect IP:PORT --outstations N [OPTIONS]
    density --dial-in [OPTIONS]
    density --role master --listen IP:PORT --outstations N [OPTIONS]
    density --role outstations --dial-in --connect IP:PORT --outstations N [OPTIONS]

OPTIONS:
    --outstations N       outstations, each with its own master association (default 1000)
    --threads T           reactor threads (default: available cores)
    --poll-ms MS          class 1/2/3 poll period of every master (default 1000)
    --integrity-s S       integrity poll period (default 60)
    --events-per-sec E    analog events each outstation makes per second (default 1)
    --seconds S           how long to run after every channel is open (default 10)
    --backend B           auto, epoll or io-uring (default auto)
    --tls                 every channel over TLS with mutual authentication (a throwaway CA and
                          certificates are made at start in a temporary directory; not
                          with --farms or dial-in)
    --tls-dir DIR         --tls in split roles: outstations write the CA and certificates to
                          DIR (kept; reused when already there), the master reads them
    --role R              both (default): outstations and masters in this process;
                          outstations: only the outstations (until killed without --seconds);
                          master: only the masters, connecting to a farm of outstations
                          (--connect) or listening for it to dial in (--listen)
    --listen IP:PORT      outstations: outstation i listens on IP:PORT+i, continuing at PORT on
                          the next IPv4 address when the port would reach 32768; with --farms,
                          where the first farm starts (default: a per-run address);
                          master: dial-in, one listener on IP:PORT that every outstation
                          connects to; both with --dial-in: where the master listens
    --connect IP:PORT     master: association i connects to outstation i of that mapping;
                          outstations with --dial-in: where the master listens
    --dial-in             both, outstations: the outstations connect to the master's listener
                          (outstation i on its own TCP client channel, link address A+i)
    --outstation-address A   link address of every outstation (default 1024); with dial-in
                          (--dial-in, or --role master --listen) outstation i has A+i
    --master-address M    link address of every master (default 1)
    --farms K             both: the outstations run in K child processes of this program
                          (`--role outstations`), killed when the master ends
    --report-every S      a progress line every S seconds:
                          t=<seconds> open=<channels open> polls/s=<last interval>
                          timeouts=<total> failures=<total>
    --exit-on-stdin-eof   outstations: exit when standard input closes (how --farms children
                          end with their parent)
    --flooders K          outstations, both: K of the N endpoints (i = floor(j*N/K), j < K)
                          answer no DNP3: each accepts the master's connection and sends
                          garbage at full speed until the master closes it, then accepts the
                          next; master, both: those K channels are reported apart (their polls
                          fail by design), with the channels' flood closes; the exit status
                          then counts the other outstations only (not with dial-in, --farms
                          or --tls)
    --flood-kind KIND     what the flooders send: garbage (random bytes, the default) or
                          frames (valid link frames addressed to no session)
    --event-buffer E      outstations, both: analog events each outstation buffers (default
                          100); what the masters do not read in time is dropped and reported
    --state FILE          master: the event check outlives this process: FILE (if it exists)
                          gives the next event value expected from each outstation, and a
                          graceful stop (SIGINT, SIGTERM or the end of --seconds) writes it
                          back, so a master started later continues the check
    -h, --help            this text

In --role both, outstations listen on 127.<a>.<b>.<c> addresses (one per outstation) on a port
chosen per run below the ephemeral range, so runs never share ports. Needs about 3 file
descriptors per outstation (listener, accepted connection, master connection) in one process,
or 1 per outstation for the master and 2 for the outstations when they run apart.

Event check: outstation i numbers its analog events (g32v7, timed) 0, 1, 2, ...; every master
association checks that the values arrive in order and prints
event check: events=<delivered> gaps=<values skipped> repeats=<values received again>
(a restarted outstation numbers from 0 again; the check follows it when DEVICE_RESTART rises).

Dial-in: the master registers one association per outstation link address A … A+N-1 on one
listener, which binds each connection by the link source address of the first frame the
outstation sends; a dial-in master counts an association open once it is online (its
outstation dialed in and answered), and prints the listener's counters. Needs about 1 file
descriptor per outstation in each process (2 in --role both), plus up to 2 per connection
waiting to be identified on the listener.
";

/// The `--backend` value that selects `backend`.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Epoll => "epoll",
        Backend::IoUring => "io-uring",
        _ => "auto",
    }
}

/// Which end(s) of the pairs this process runs.
pub enum Role {
    /// Outstations and masters; the outstations in `farms` child processes when not zero,
    /// listening from `listen` on (default: a per-run address).
    Both {
        farms: usize,
        listen: Option<SocketAddrV4>,
        dial_in: bool,
    },
    /// Only the outstations: listening from the `Connect` base on, or dialing in.
    Outstations {
        peers: Peers,
        exit_on_stdin_eof: bool,
    },
    /// Only the masters.
    Master { peers: Peers },
}

/// How masters and outstations run apart meet.
pub enum Peers {
    /// Association i connects to outstation i of the address mapping from this base, where
    /// the outstations listen.
    Connect(SocketAddrV4),
    /// The master listens on this one endpoint and the outstations (link addresses A, A+1 …)
    /// connect to it.
    DialIn(SocketAddrV4),
}

/// Everything the options say.
pub struct Options {
    pub role: Role,
    pub outstations: usize,
    pub threads: usize,
    pub poll_ms: u64,
    pub integrity_s: u64,
    pub events_per_sec: f64,
    /// `None`: the outstations role runs until killed.
    pub seconds: Option<u64>,
    pub backend: Backend,
    pub tls: bool,
    /// Split roles with `--tls`: where the certificates are written (outstations) or read.
    pub tls_dir: Option<PathBuf>,
    pub outstation_address: u16,
    pub master_address: u16,
    pub report_every: Option<f64>,
    /// Endpoints that flood instead of answering (`flood::is_flooder` picks them).
    pub flooders: usize,
    pub flood_kind: FloodKind,
    /// Analog event buffer of every outstation.
    pub event_buffer: u16,
    /// Master: where the event check's state is kept between processes.
    pub state: Option<PathBuf>,
}

/// Command-line arguments as `--flag value` pairs and bare `--switch`es.
pub struct Args {
    args: Vec<String>,
}

impl Args {
    /// Prints the help and exits on `-h`/`--help`.
    pub fn new(args: Vec<String>) -> Self {
        if args.iter().any(|a| a == "-h" || a == "--help") {
            print!("{HELP}");
            std::process::exit(0);
        }
        Args { args }
    }

    /// Exits with a message and status 2.
    pub fn fail(&self, message: &str) -> ! {
        eprintln!("error: {message}\n\n{HELP}");
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

    /// The last value of `--name value`, removing every occurrence.
    pub fn value(&mut self, name: &str) -> Option<String> {
        let mut out = None;
        while let Some(i) = self.args.iter().position(|a| a == name) {
            if i + 1 >= self.args.len() {
                self.fail(&format!("{name} needs a value"));
            }
            out = Some(self.args.remove(i + 1));
            self.args.remove(i);
        }
        out
    }

    /// The value of `--name value`, parsed, if given.
    pub fn parsed<T: FromStr>(&mut self, name: &str) -> Option<T> {
        self.value(name).map(|v| {
            v.parse()
                .unwrap_or_else(|_| self.fail(&format!("bad value for {name}: {v:?}")))
        })
    }

    /// The value of `--name value`, parsed, or `default`.
    pub fn get<T: FromStr>(&mut self, name: &str, default: T) -> T {
        self.parsed(name).unwrap_or(default)
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

    /// An `IP:PORT` with an IPv4 address and a port below 32768, if `--name` is given.
    fn endpoint(&mut self, name: &str) -> Option<SocketAddrV4> {
        let text = self.value(name)?;
        match text.parse::<SocketAddr>() {
            Ok(SocketAddr::V4(a)) if a.port() > 0 && a.port() < 32768 => Some(a),
            Ok(SocketAddr::V4(_)) => self.fail(&format!("{name}: the port must be 1 to 32767")),
            _ => self.fail(&format!("{name}: expected IPv4-ADDRESS:PORT, got {text:?}")),
        }
    }
}

impl Options {
    /// Parses and checks the options; exits with a message on an error.
    pub fn parse(args: Vec<String>) -> Options {
        let mut args = Args::new(args);
        let role = args.value("--role").unwrap_or_else(|| "both".into());
        let outstations: Option<usize> = args.parsed("--outstations");
        let listen = args.endpoint("--listen");
        let connect = args.endpoint("--connect");
        let farms: Option<usize> = args.parsed("--farms");
        let dial_in = args.switch("--dial-in");
        let exit_on_stdin_eof = args.switch("--exit-on-stdin-eof");
        let flood_kind = args.value("--flood-kind");
        let event_buffer: Option<u16> = args.parsed("--event-buffer");
        let state = args.value("--state").map(PathBuf::from);
        let options = Options {
            role: Role::Both {
                farms: 0,
                listen: None,
                dial_in: false,
            },
            outstations: outstations.unwrap_or(1000),
            threads: args.get("--threads", 0),
            poll_ms: args.get("--poll-ms", 1000),
            integrity_s: args.get("--integrity-s", 60),
            events_per_sec: args.get("--events-per-sec", 1.0),
            seconds: args.parsed("--seconds"),
            backend: args.backend(),
            tls: args.switch("--tls"),
            tls_dir: args.value("--tls-dir").map(PathBuf::from),
            outstation_address: args.get("--outstation-address", 1024),
            master_address: args.get("--master-address", 1),
            report_every: args.parsed("--report-every"),
            flooders: args.get("--flooders", 0),
            flood_kind: FloodKind::Garbage,
            event_buffer: event_buffer.unwrap_or(100),
            state,
        };
        let flood_kind = match flood_kind.as_deref().map(FloodKind::parse) {
            None => None,
            Some(Some(kind)) => Some(kind),
            Some(None) => args.fail("--flood-kind must be garbage or frames"),
        };
        args.finish();
        let n = options.outstations;
        if n == 0 || n > 60_000 {
            args.fail("--outstations must be between 1 and 60000");
        }
        let master_listens = role == "master" && listen.is_some();
        if dial_in || master_listens {
            // Outstation i has link address A+i: all of them valid (at most 0xFFEF) and none
            // the master's.
            let first = usize::from(options.outstation_address);
            let last = first + n - 1;
            if last > 0xFFEF {
                args.fail(
                    "with dial-in, --outstation-address + --outstations - 1 must be at most 65519",
                );
            }
            if (first..=last).contains(&usize::from(options.master_address)) {
                args.fail("with dial-in, --master-address must be outside the outstations' link addresses");
            }
            if options.tls {
                args.fail("--tls with dial-in is not supported");
            }
        }
        if options.report_every.is_some_and(|s| s.is_nan() || s <= 0.0) {
            args.fail("--report-every must be more than 0 seconds");
        }
        if options.flooders > 0 {
            if options.flooders >= n {
                args.fail("--flooders must be less than --outstations");
            }
            if dial_in || master_listens || farms.is_some() || options.tls {
                args.fail("--flooders does not go with dial-in, --farms or --tls");
            }
        }
        if options.event_buffer == 0 {
            args.fail("--event-buffer must be at least 1");
        }
        if options.outstation_address == options.master_address {
            args.fail("--outstation-address and --master-address must differ");
        }
        let only = |args: &Args, given: bool, what: &str, role: &str| {
            if given {
                args.fail(&format!("{what} does not apply to --role {role}"));
            }
        };
        let role = match role.as_str() {
            "both" => {
                only(&args, connect.is_some(), "--connect", "both");
                only(&args, options.tls_dir.is_some(), "--tls-dir", "both");
                only(&args, exit_on_stdin_eof, "--exit-on-stdin-eof", "both");
                only(&args, options.state.is_some(), "--state", "both");
                let farms = farms.unwrap_or(0);
                if farms > 64 || farms > n {
                    args.fail("--farms must be at most 64 and at most --outstations");
                }
                if farms > 0 && options.tls {
                    args.fail("--tls with --farms is not supported");
                }
                if farms == 0 && listen.is_some() && !dial_in {
                    args.fail("--listen in --role both needs --farms or --dial-in");
                }
                Role::Both {
                    farms,
                    listen,
                    dial_in,
                }
            }
            "outstations" => {
                only(&args, farms.is_some(), "--farms", "outstations");
                if options.tls && (dial_in || options.tls_dir.is_none()) {
                    args.fail("--tls in --role outstations needs --tls-dir DIR (not dial-in)");
                }
                only(&args, options.state.is_some(), "--state", "outstations");
                let peers = if dial_in {
                    if listen.is_some() {
                        args.fail("--role outstations --dial-in connects: use --connect IP:PORT (where the master listens)");
                    }
                    let Some(connect) = connect else {
                        args.fail("--role outstations --dial-in needs --connect IP:PORT")
                    };
                    Peers::DialIn(connect)
                } else {
                    only(
                        &args,
                        connect.is_some(),
                        "--connect without --dial-in",
                        "outstations",
                    );
                    let Some(listen) = listen else {
                        args.fail("--role outstations needs --listen IP:PORT")
                    };
                    Peers::Connect(listen)
                };
                if outstations.is_none() {
                    args.fail("--role outstations needs --outstations N");
                }
                Role::Outstations {
                    peers,
                    exit_on_stdin_eof,
                }
            }
            "master" => {
                only(&args, farms.is_some(), "--farms", "master");
                if options.tls && (listen.is_some() || options.tls_dir.is_none()) {
                    args.fail("--tls in --role master needs --tls-dir DIR (not --listen)");
                }
                only(&args, exit_on_stdin_eof, "--exit-on-stdin-eof", "master");
                only(&args, dial_in, "--dial-in (use --listen IP:PORT)", "master");
                only(&args, flood_kind.is_some(), "--flood-kind", "master");
                only(&args, event_buffer.is_some(), "--event-buffer", "master");
                let peers = match (listen, connect) {
                    (Some(listen), None) => Peers::DialIn(listen),
                    (None, Some(connect)) => Peers::Connect(connect),
                    _ => args
                        .fail("--role master needs either --connect IP:PORT or --listen IP:PORT"),
                };
                if outstations.is_none() {
                    args.fail("--role master needs --outstations N");
                }
                Role::Master { peers }
            }
            other => args.fail(&format!(
                "unknown role {other:?} (both, outstations, master)"
            )),
        };
        Options {
            role,
            flood_kind: flood_kind.unwrap_or(FloodKind::Garbage),
            ..options
        }
    }

    /// How long the measurement window lasts (`--seconds`, default 10).
    pub fn window(&self) -> u64 {
        self.seconds.unwrap_or(10)
    }
}
