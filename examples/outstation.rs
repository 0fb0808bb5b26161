//! `outstation`: a DNP3 outstation serving a demo database over TCP or a serial port; prints
//! connection changes
//! and every control it receives.

mod common;

use common::{Args, OrExit};
use rdnp3::stack::outstation::{DefaultApplication, OutstationConfig, Update};
use rdnp3::{ChannelConfig, ChannelListener, ChannelState, Manager, SerialSettings};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const HELP: &str = "\
outstation: a DNP3 outstation over TCP or a serial port with a demo database

USAGE:
    outstation [OPTIONS]

OPTIONS:
    --listen ADDR          address to listen on (default 127.0.0.1:20000)
    --serial PATH          serve on this serial port instead of TCP (e.g. /dev/ttyUSB0)
    --baud N               serial line speed, 8N1, no flow control (default 9600)
    --tls-cert PEM         serve over TLS with this certificate (then its chain); needs
                           --tls-key and --tls-ca; masters must present a valid certificate
    --tls-key PEM          the private key of --tls-cert
    --tls-ca PEM           CA certificate(s) the master's certificate must chain to
    --tls-self-signed      pin instead: --tls-ca is the master's own certificate
    --tls-name NAME        the DNS name or IP the master's certificate must be valid for
                           (default: names are not checked, the chain or pin is)
    --tls-min V            oldest TLS version allowed: 1.2 or 1.3 (default 1.2)
    --outstation N         this outstation's link address (default 1024)
    --master N             the master's link address (default 1)
    --events-per-sec N     change analog inputs N times per second to make events (default 0)
    --seconds S            exit after S seconds (default: run until killed)
    --backend B            auto, epoll or io-uring (default auto)
    --threads T            reactor threads (default 1)
    -h, --help             this text

DATABASE (every point class 1, flags ONLINE):
    binary inputs 0-9 (true when the index is odd), double-bit inputs 0-3 (intermediate, off,
    on, indeterminate), counters 0-9 (100 x index), frozen counters 0-9 (0), analog inputs 0-9
    (1.5 x index), binary output status 0-9 (false), analog output status 0-9 (0.0).

CONTROLS:
    A CROB on index i < 10 sets binary output status i (LATCH_ON/PULSE_ON true,
    LATCH_OFF/PULSE_OFF false); an analog output on index i < 10 sets analog output status i;
    both answer SUCCESS. Index 10 or more answers NOT_SUPPORTED.
";

fn main() {
    common::init_logging();
    let mut args = Args::read(HELP);
    let listen: SocketAddr = args.get("--listen", "127.0.0.1:20000".parse().unwrap());
    let serial = args.all("--serial").pop();
    let baud: u32 = args.get("--baud", 9600);
    let local: u16 = args.get("--outstation", 1024);
    let master: u16 = args.get("--master", 1);
    let events_per_sec: f64 = args.get("--events-per-sec", 0.0);
    let seconds: Option<u64> = args
        .all("--seconds")
        .pop()
        .map(|s| s.parse().unwrap_or_else(|_| args.fail("bad --seconds")));
    let backend = args.backend();
    let threads: usize = args.get("--threads", 1);
    let tls = args.tls();
    args.finish();

    let manager = Manager::builder()
        .threads(threads)
        .backend(backend)
        .build()
        .or_exit();
    let states: Box<dyn ChannelListener> = Box::new(|s: ChannelState| println!("channel {s:?}"));
    let channel = match &serial {
        Some(path) => manager.add_serial(
            ChannelConfig::named("outstation"),
            SerialSettings::new(path.as_str(), baud),
            Some(states),
        ),
        None => match tls {
            Some(tls) => manager.add_tls_server(
                ChannelConfig::named("outstation"),
                listen,
                tls,
                Some(states),
            ),
            None => {
                manager.add_tcp_server(ChannelConfig::named("outstation"), listen, Some(states))
            }
        },
    }
    .or_exit();
    let config = OutstationConfig::default()
        .with_local_address(local)
        .with_master_address(master);
    let outstation = channel
        .add_outstation(
            config,
            common::demo_database(),
            Box::new(common::DemoControls::printing()),
            Box::new(DefaultApplication),
        )
        .or_exit();
    match &serial {
        Some(path) => {
            println!("serial {path} at {baud} baud as outstation {local} for master {master}")
        }
        None => println!("listening on {listen} as outstation {local} for master {master}"),
    }
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let period = if events_per_sec > 0.0 {
        Duration::from_secs_f64(1.0 / events_per_sec)
    } else {
        Duration::from_millis(200)
    };
    let mut k = 0u64;
    loop {
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        std::thread::sleep(period);
        if events_per_sec > 0.0 {
            k += 1;
            let index = (k % 10) as u16;
            let value = 1.5 * f64::from(index) + (k % 7) as f64;
            if let Err(e) = outstation.update(vec![Update::analog(index, value)]) {
                eprintln!("update failed: {e}");
            }
        }
    }
    manager.shutdown();
}
