//! Helpers shared by the end-to-end session tests. Here: bounded waits, one run per I/O
//! backend, unique loopback addresses and the set-up of server and client channels. In
//! `recorder`: what a master receives and how channel states change; in `points`: the event
//! script over the demo database (`rdnp3_testkit::demo`) and the checks against them; in
//! `wire`: a raw-socket DNP3 master and a recording proxy built from the codec.
#![allow(dead_code)]

mod points;
mod recorder;
mod wire;

// Not every test file uses every helper.
#[allow(unused_imports)]
pub use points::*;
#[allow(unused_imports)]
pub use rdnp3_testkit::demo::demo_database;
#[allow(unused_imports)]
pub use recorder::*;
#[allow(unused_imports)]
pub use wire::*;

use rdnp3::reactor::Backend;
use rdnp3::stack::master::{MasterConfig, MasterStats, ReadRequest};
use rdnp3::stack::outstation::{
    ControlHandler, Database, EventBufferConfig, OutstationApplication, OutstationConfig,
    OutstationStats, Update,
};
use rdnp3::{Channel, ChannelConfig, Manager, Master, Outstation};
use std::fmt::Debug;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The longest any condition is waited for before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often a condition is checked.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// Locks a mutex, ignoring poisoning (a panicking reactor callback must not hide the
/// assertion that follows).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `probe` every 10 ms until `done` accepts its value, up to [`WAIT`]; fails with
/// `what` and the last value seen.
pub fn wait_until<T: Debug>(
    what: &str,
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let end = Instant::now() + WAIT;
    loop {
        let value = probe();
        if done(&value) {
            return value;
        }
        if Instant::now() >= end {
            panic!("timed out after {WAIT:?} waiting for {what}; last seen: {value:#?}");
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `cond` every 10 ms up to [`WAIT`]; fails with `what`.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    wait_until(what, &mut cond, |ok| *ok);
}

/// A manager with two executor threads (the machine's core count) on the default backend.
pub fn manager() -> Manager {
    Manager::new(2).expect("the reactor pool starts")
}

/// Runs `test` once per I/O backend the kernel accepts (`rdnp3_testkit::backends`), each
/// time with a fresh two-thread manager (the machine's core count) that the test shuts down.
pub fn each_backend(test: impl Fn(Manager)) {
    rdnp3_testkit::backends::each_backend(|backend| test(manager_on(backend)));
}

/// A two-thread manager on `backend`.
pub fn manager_on(backend: Backend) -> Manager {
    Manager::builder()
        .threads(2)
        .backend(backend)
        .build()
        .expect("the reactor pool starts")
}

/// Seed of this process's addresses: the clock and the pid.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        (t ^ (u64::from(std::process::id()) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    })
}

/// A loopback address nobody listens on: a distinct 127.a.b.c per call (the second octet
/// is chosen per process) and a random port below the ephemeral range, checked free by
/// binding it once. The channel API does not report the port of a `:0` listener, so
/// servers get these instead.
pub fn free_address() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let s = seed();
    // 2..=99: clear of 127.0.0.1 and of the density example's 100..=199.
    let octet = 2 + (s >> 56) as u8 % 98;
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed) + 1;
        let ip = Ipv4Addr::new(127, octet, (n >> 8) as u8, n as u8);
        let mix = (s ^ u64::from(n)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let port = 20000 + ((mix >> 24) % 12000) as u16;
        let addr = SocketAddr::V4(SocketAddrV4::new(ip, port));
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free loopback address found");
}

/// Channel settings for tests: quick reconnects, no keep-alive.
pub fn channel_config(name: &str) -> ChannelConfig {
    ChannelConfig::named(name)
        .with_min_retry(Duration::from_millis(20))
        .with_max_retry(Duration::from_millis(200))
        .with_keep_alive(None)
        .with_connect_timeout(Duration::from_secs(2))
}

/// A master's counters.
pub fn master_stats(master: &Master) -> MasterStats {
    master
        .stats()
        .wait_timeout(WAIT)
        .expect("the master answers a stats request")
}

/// An outstation's counters.
pub fn outstation_stats(outstation: &Outstation) -> OutstationStats {
    outstation
        .stats()
        .wait_timeout(WAIT)
        .expect("the outstation answers a stats request")
}

/// Reads through `master` and waits until the read succeeded.
pub fn read(master: &Master, request: ReadRequest) {
    master
        .read(request)
        .wait_timeout(WAIT)
        .expect("the read completes")
        .expect("the read succeeds");
}

/// Applies `updates` and returns once the outstation has them: updates travel through the
/// channel's mailbox, so a stats request answered after them is the barrier.
pub fn apply(outstation: &Outstation, updates: Vec<Update>) {
    outstation.update(updates).expect("updates posted");
    outstation_stats(outstation);
}

/// Waits until the master's start-up sequence is over: the integrity poll completed and no
/// request is outstanding (enable unsolicited follows the poll in the same executor turn).
/// `responses` counts fragments, so this expects single-fragment responses, as the demo
/// database gives; with a multi-fragment integrity response wait for `polls` instead.
pub fn wait_startup(master: &Master) -> MasterStats {
    wait_until(
        "the master's start-up sequence",
        || master_stats(master),
        |s| s.polls >= 1 && s.requests == s.responses && s.requests >= 3,
    )
}

/// Outstation settings for tests: large event buffers so that no test loses events by
/// overflow, short confirm timeouts.
pub fn outstation_config(local_address: u16) -> OutstationConfig {
    OutstationConfig::default()
        .with_local_address(local_address)
        .with_event_buffer(EventBufferConfig::all(1000))
        .with_solicited_confirm_timeout(Duration::from_secs(2))
        .with_unsolicited_confirm_timeout(Duration::from_secs(2))
}

/// A server channel with one outstation.
pub struct Station {
    pub address: SocketAddr,
    pub channel: Channel,
    pub outstation: Outstation,
    pub states: StateLog,
}

/// Starts a server channel on a fresh address carrying the demo outstation (address 1024,
/// the demo database, outputs mirrored into their status points).
pub fn demo_station(manager: &Manager) -> Station {
    start_outstation(
        manager,
        outstation_config(1024),
        demo_database(0),
        Box::new(rdnp3::stack::outstation::MirrorOutputs),
        Box::new(rdnp3::stack::outstation::DefaultApplication),
    )
}

/// Starts a server channel on a fresh address carrying one outstation.
pub fn start_outstation(
    manager: &Manager,
    config: OutstationConfig,
    database: Database,
    controls: Box<dyn ControlHandler + Send>,
    application: Box<dyn OutstationApplication + Send>,
) -> Station {
    let address = free_address();
    start_outstation_at(manager, address, config, database, controls, application)
}

/// Starts a server channel on `address` carrying one outstation.
pub fn start_outstation_at(
    manager: &Manager,
    address: SocketAddr,
    config: OutstationConfig,
    database: Database,
    controls: Box<dyn ControlHandler + Send>,
    application: Box<dyn OutstationApplication + Send>,
) -> Station {
    let states = StateLog::default();
    let channel = manager
        .add_tcp_server(channel_config("outstation"), address, states.listener())
        .expect("server channel");
    let outstation = channel
        .add_outstation(config, database, controls, application)
        .expect("outstation added");
    Station {
        address,
        channel,
        outstation,
        states,
    }
}

/// A client channel with one master association.
pub struct Client {
    pub channel: Channel,
    pub master: Master,
    pub recorder: Recorder,
    pub states: StateLog,
    /// The proxy the channel connects through, if any.
    pub proxy: Option<Proxy>,
}

/// Starts a client channel carrying one master association, connected to the outstation
/// at `address` through a [`Proxy`] that relays only once the master is added: a client
/// channel connects as soon as it exists, and what the outstation sends at once (its null
/// unsolicited response) would otherwise race the association being added and could be
/// dropped. The proxy relays one connection: for reconnects use [`start_master_direct`].
pub fn start_master(manager: &Manager, address: SocketAddr, config: MasterConfig) -> Client {
    let proxy = Proxy::start(address);
    let mut client = start_master_direct(manager, proxy.address(), config);
    proxy.open();
    client.proxy = Some(proxy);
    client
}

/// Starts a client channel to `address` carrying one master association, without a proxy.
pub fn start_master_direct(manager: &Manager, address: SocketAddr, config: MasterConfig) -> Client {
    let states = StateLog::default();
    let recorder = Recorder::default();
    let channel = manager
        .add_tcp_client(channel_config("master"), address, states.listener())
        .expect("client channel");
    let master = channel
        .add_master(config, recorder.handler())
        .expect("master added");
    Client {
        channel,
        master,
        recorder,
        states,
        proxy: None,
    }
}

/// Milliseconds since 1970 on the test's clock.
pub fn wall_clock() -> u64 {
    rdnp3_testkit::now().wall.0
}
