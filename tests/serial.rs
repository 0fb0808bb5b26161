//! Serial channels end to end over pseudo-terminals: each channel opens the slave end of a
//! pty by path with `serialport`, exactly as it would open `/dev/ttyS0`, and a bus thread
//! copies bytes between the pty master ends — a null modem between two ports, or an RS-485
//! line where what the master's port sends reaches every outstation's port. The bus parses the
//! frames it carries to check that the master never has two requests on the line at once.

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rdnp3::reactor::Backend;
use rdnp3::stack::link::LinkParser;
use rdnp3::stack::master::{
    MasterConfig, MasterStats, Measurement, MeasurementValue, ReadHandler, ReadRequest,
};
use rdnp3::stack::outstation::{
    Database, DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, OutstationConfig,
    PointConfig, PointType, Update,
};
use rdnp3::{
    Channel, ChannelConfig, ChannelListener, ChannelState, Manager, Master, Outstation,
    SerialSettings,
};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest any condition is waited for before the test fails.
const WAIT: Duration = Duration::from_secs(10);
const MASTER_ADDRESS: u16 = 1;
const CONFIRM: u8 = 0x00;
const RESPONSE: u8 = 0x81;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks `cond` every 10 ms for up to [`WAIT`]; fails with `what`.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {WAIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Records a channel's state changes.
#[derive(Clone, Default)]
struct StateLog(Arc<Mutex<Vec<ChannelState>>>);

impl StateLog {
    fn listener(&self) -> Option<Box<dyn ChannelListener>> {
        let log = self.0.clone();
        Some(Box::new(move |s: ChannelState| lock(&log).push(s)))
    }

    fn states(&self) -> Vec<ChannelState> {
        lock(&self.0).clone()
    }

    fn last(&self) -> Option<ChannelState> {
        lock(&self.0).last().copied()
    }
}

/// Keeps the last value of counter 0 a master received.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Option<u32>>>);

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        if let (PointType::Counter, 0, MeasurementValue::Counter(v)) = (m.kind, m.index, &m.value) {
            *lock(&self.0) = Some(*v);
        }
    }
}

impl Recorder {
    fn counter_zero(&self) -> Option<u32> {
        *lock(&self.0)
    }
}

fn master_stats(master: &Master) -> MasterStats {
    master
        .stats()
        .wait_timeout(WAIT)
        .expect("the master answers a stats request")
}

/// Waits until the master's start-up sequence is over: the integrity poll done and no request
/// outstanding.
fn wait_startup(master: &Master) {
    wait_for("the master's start-up sequence", || {
        let s = master_stats(master);
        s.polls >= 1 && s.requests == s.responses && s.requests >= 3
    });
}

/// Quick reconnects, no keep-alive.
fn channel_config(name: &str) -> ChannelConfig {
    ChannelConfig::named(name)
        .with_min_retry(Duration::from_millis(20))
        .with_max_retry(Duration::from_millis(200))
        .with_keep_alive(None)
}

/// Binary inputs 0-3 and counters 0-3, counter i = `offset` + i.
fn database(offset: u32) -> Database {
    let class1 = PointConfig::new(EventClass::Class1);
    let mut db = DatabaseBuilder::new()
        .add(PointType::BinaryInput, 0..4, class1)
        .add(PointType::Counter, 0..4, class1)
        .build()
        .expect("a valid database");
    let values: Vec<Update> = (0..4u16)
        .map(|i| Update::counter(i, offset + u32::from(i)))
        .collect();
    db.load(&rdnp3_testkit::now(), &values);
    db
}

/// A pseudo-terminal in raw mode. The test keeps the slave end open too, so that the master
/// end never reads EIO while a channel has the device closed.
struct Pty {
    master: OwnedFd,
    _slave: OwnedFd,
    path: String,
}

impl Pty {
    fn open() -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        // Raw before any channel opens it: bytes arriving earlier must not be echoed back.
        let mut termios = tcgetattr(&pty.slave).expect("tcgetattr");
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).expect("tcsetattr");
        fcntl(pty.master.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
        let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
        Pty {
            master: pty.master,
            _slave: pty.slave,
            path: path.to_string_lossy().into_owned(),
        }
    }
}

/// What the bus saw: request destinations in order, and requests sent while another one was
/// still unanswered.
#[derive(Clone, Debug, Default)]
struct BusLog {
    requests: Vec<u16>,
    overlaps: Vec<(u16, u16)>,
    outstanding: Option<u16>,
}

impl BusLog {
    fn requests_to(&self) -> BTreeMap<u16, usize> {
        let mut counts = BTreeMap::new();
        for d in &self.requests {
            *counts.entry(*d).or_insert(0) += 1;
        }
        counts
    }
}

/// A serial bus emulated by a thread: bytes from the hub's pty go to every drop, bytes from
/// any drop go to the hub. A byte that does not fit a pty's buffer is lost, as on a line.
struct Bus {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(Pty, Vec<Pty>)>>,
    log: Arc<Mutex<BusLog>>,
}

impl Bus {
    fn start(hub: Pty, drops: Vec<Pty>) -> Bus {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(BusLog::default()));
        let (s, l) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || carry(hub, drops, &s, &l));
        Bus {
            stop,
            thread: Some(thread),
            log,
        }
    }

    fn log(&self) -> BusLog {
        lock(&self.log).clone()
    }

    /// Stops the thread and gives the ptys back.
    fn stop(mut self) -> (Pty, Vec<Pty>) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("running");
        thread.join().expect("the bus thread does not panic")
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn carry(hub: Pty, drops: Vec<Pty>, stop: &AtomicBool, log: &Mutex<BusLog>) -> (Pty, Vec<Pty>) {
    let mut down = LinkParser::new();
    let mut up: Vec<LinkParser> = drops.iter().map(|_| LinkParser::new()).collect();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = vec![PollFd::new(hub.master.as_fd(), PollFlags::POLLIN)];
        fds.extend(
            drops
                .iter()
                .map(|d| PollFd::new(d.master.as_fd(), PollFlags::POLLIN)),
        );
        if nix::poll::poll(&mut fds, 20u16).unwrap_or(0) <= 0 {
            continue;
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            if let Ok(n @ 1..) = nix::unistd::read(hub.master.as_raw_fd(), &mut buf) {
                observe_requests(&mut down, &buf[..n], &mut lock(log));
                for d in &drops {
                    write_all(&d.master, &buf[..n]);
                }
            }
        }
        for (i, d) in drops.iter().enumerate() {
            if ready[i + 1] {
                if let Ok(n @ 1..) = nix::unistd::read(d.master.as_raw_fd(), &mut buf) {
                    observe_responses(&mut up[i], &buf[..n], &mut lock(log));
                    write_all(&hub.master, &buf[..n]);
                }
            }
        }
    }
    (hub, drops)
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(_) => return,
        }
    }
}

/// Master to outstations: a request's first frame (transport FIR, function not CONFIRM).
fn observe_requests(parser: &mut LinkParser, mut bytes: &[u8], log: &mut BusLog) {
    while let Some(frame) = parser.parse(&mut bytes) {
        let Ok(frame) = frame else { continue };
        let d = frame.user_data;
        if frame.header.control.dir && d.len() >= 3 && d[0] & 0x40 != 0 && d[2] != CONFIRM {
            let to = frame.header.destination;
            if let Some(pending) = log.outstanding {
                log.overlaps.push((pending, to));
            }
            log.outstanding = Some(to);
            log.requests.push(to);
        }
    }
}

/// Outstation to master: the final fragment of a solicited response ends the exchange.
fn observe_responses(parser: &mut LinkParser, mut bytes: &[u8], log: &mut BusLog) {
    while let Some(frame) = parser.parse(&mut bytes) {
        let Ok(frame) = frame else { continue };
        let d = frame.user_data;
        let final_response = d.len() >= 3 && d[0] & 0x40 != 0 && d[1] & 0x40 != 0;
        if final_response && d[2] == RESPONSE && log.outstanding == Some(frame.header.source) {
            log.outstanding = None;
        }
    }
}

fn settings(path: &str) -> SerialSettings {
    SerialSettings::new(path, 115_200)
}

fn serial_channel(manager: &Manager, name: &str, path: &str) -> (Channel, StateLog) {
    let states = StateLog::default();
    let channel = manager
        .add_serial(channel_config(name), settings(path), states.listener())
        .expect("serial channel");
    (channel, states)
}

/// Adds an outstation at `address` whose counters and analogs are offset by `offset`.
fn add_outstation(channel: &Channel, address: u16, offset: u32) -> Outstation {
    let config = OutstationConfig::default()
        .with_local_address(address)
        .with_master_address(MASTER_ADDRESS)
        // Several outstations answering on one line without being asked would collide on a
        // real half-duplex bus; and an unconfirmed unsolicited response holds up the answers.
        .with_allow_unsolicited(false);
    channel
        .add_outstation(
            config,
            database(offset),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added")
}

fn add_master(channel: &Channel, outstation: u16) -> (Master, Recorder) {
    let recorder = Recorder::default();
    let config = MasterConfig::default()
        .with_local_address(MASTER_ADDRESS)
        .with_outstation_address(outstation);
    let master = channel
        .add_master(config, Box::new(recorder.clone()))
        .expect("master added");
    (master, recorder)
}

/// Integrity polls on every master at once; each must succeed.
fn poll_all(masters: &[Master]) {
    let mut pending: Vec<_> = masters
        .iter()
        .map(|m| m.read(ReadRequest::integrity()))
        .collect();
    for (i, p) in pending.iter_mut().enumerate() {
        let result = p.wait_timeout(WAIT).expect("the poll completes");
        assert_eq!(result, Ok(()), "integrity poll of master {i}");
    }
}

fn manager(backend: Backend) -> Option<Manager> {
    if let Err(e) = backend.check() {
        eprintln!("skipped: {backend:?} is not available here ({e})");
        return None;
    }
    Some(
        Manager::builder()
            .threads(2)
            .backend(backend)
            .build()
            .expect("the reactor pool starts"),
    )
}

fn null_modem(backend: Backend) {
    let Some(manager) = manager(backend) else {
        return;
    };
    let (a, b) = (Pty::open(), Pty::open());
    let (master_channel, master_states) = serial_channel(&manager, "master", &a.path);
    let (outstation_channel, outstation_states) = serial_channel(&manager, "outstation", &b.path);
    let bus = Bus::start(a, vec![b]);
    // One outstation channel carries two outstations; one master channel polls both.
    let _o10 = add_outstation(&outstation_channel, 10, 1000);
    let _o11 = add_outstation(&outstation_channel, 11, 2000);
    let (m10, r10) = add_master(&master_channel, 10);
    let (m11, r11) = add_master(&master_channel, 11);
    wait_startup(&m10);
    wait_startup(&m11);
    poll_all(&[m10.clone(), m11.clone()]);
    assert_eq!(r10.counter_zero(), Some(1000));
    assert_eq!(r11.counter_zero(), Some(2000));
    assert_eq!(master_states.last(), Some(ChannelState::Open));
    assert_eq!(outstation_states.last(), Some(ChannelState::Open));
    let log = bus.log();
    assert!(log.overlaps.is_empty(), "overlapping requests: {log:?}");
    manager.shutdown();
}

#[test]
fn a_master_and_an_outstation_talk_across_a_null_modem_over_epoll() {
    null_modem(Backend::Epoll);
}

#[test]
fn a_master_and_an_outstation_talk_across_a_null_modem_over_io_uring() {
    null_modem(Backend::IoUring);
}

#[test]
fn three_outstations_multi_dropped_on_one_line_are_polled_one_request_at_a_time() {
    let manager = manager(Backend::Auto).expect("the reactor pool starts");
    let hub = Pty::open();
    let drops: Vec<Pty> = (0..3).map(|_| Pty::open()).collect();
    let addresses = [10u16, 11, 12];
    let mut outstations = Vec::new();
    for (i, (pty, address)) in drops.iter().zip(addresses).enumerate() {
        let (channel, _) = serial_channel(&manager, &format!("outstation-{address}"), &pty.path);
        let outstation = add_outstation(&channel, address, 1000 * (i as u32 + 1));
        outstations.push((channel, outstation));
    }
    let (master_channel, master_states) = serial_channel(&manager, "master", &hub.path);
    let bus = Bus::start(hub, drops);
    let (masters, recorders): (Vec<Master>, Vec<Recorder>) = addresses
        .iter()
        .map(|&a| add_master(&master_channel, a))
        .unzip();
    for m in &masters {
        wait_startup(m);
    }
    for _ in 0..3 {
        poll_all(&masters);
    }
    for (i, r) in recorders.iter().enumerate() {
        assert_eq!(
            r.counter_zero(),
            Some(1000 * (i as u32 + 1)),
            "master {i} reads its own outstation"
        );
    }
    let log = bus.log();
    assert!(
        log.overlaps.is_empty(),
        "a request went out while another was unanswered: {:?}",
        log.overlaps
    );
    let per_outstation = log.requests_to();
    for a in addresses {
        // The start-up requests plus the three integrity polls.
        assert!(
            per_outstation.get(&a).copied().unwrap_or(0) >= 6,
            "requests per outstation: {per_outstation:?}"
        );
    }
    assert_eq!(master_states.last(), Some(ChannelState::Open));
    manager.shutdown();
}

/// A fresh empty directory under the system's temporary directory.
fn temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rdnp3-serial-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Points `link` at `target`, replacing what it pointed at.
fn point(link: &Path, target: &str) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// The index of the first `state` at or after `from` in the log.
fn find_state(states: &StateLog, state: ChannelState, from: usize) -> Option<usize> {
    states
        .states()
        .iter()
        .skip(from)
        .position(|s| *s == state)
        .map(|i| i + from)
}

#[test]
fn a_serial_device_that_is_missing_or_vanishes_is_opened_again_over_epoll() {
    missing_or_vanishing_device(Backend::Epoll);
}

#[test]
fn a_serial_device_that_is_missing_or_vanishes_is_opened_again_over_io_uring() {
    missing_or_vanishing_device(Backend::IoUring);
}

fn missing_or_vanishing_device(backend: Backend) {
    let Some(manager) = manager(backend) else {
        return;
    };
    let dir = temp_dir();
    let link = dir.join("ttyDNP");
    let link_path = link.to_string_lossy().into_owned();

    // The master's device does not exist yet: the channel keeps trying.
    let (master_channel, states) = serial_channel(&manager, "master", &link_path);
    let (master, _recorder) = add_master(&master_channel, 10);
    wait_for("failed opens to be retried", || {
        master_channel.stats().reconnects >= 2
    });
    assert_eq!(find_state(&states, ChannelState::Open, 0), None);

    let device = Pty::open();
    let outstation_pty = Pty::open();
    let (outstation_channel, _) = serial_channel(&manager, "outstation", &outstation_pty.path);
    let _outstation = add_outstation(&outstation_channel, 10, 1000);
    point(&link, &device.path);
    let bus = Bus::start(device, vec![outstation_pty]);
    wait_for("the device to open", || {
        states.last() == Some(ChannelState::Open)
    });
    wait_startup(&master);
    let first_open = find_state(&states, ChannelState::Open, 0).expect("opened");

    // The device vanishes: the link goes first (the kernel may hand the pty's number to
    // another test's pty at once, which the channel must not open instead), then the pty.
    let _ = std::fs::remove_file(&link);
    let (device, drops) = bus.stop();
    drop(device);
    wait_for("the channel to see the device vanish", || {
        find_state(&states, ChannelState::Closed, first_open).is_some()
    });
    let closed = find_state(&states, ChannelState::Closed, first_open).expect("closed");
    let failed = master.read(ReadRequest::integrity()).wait_timeout(WAIT);
    assert!(
        matches!(failed, Ok(Err(_))),
        "a poll without a device fails: {failed:?}"
    );

    // It comes back as a different pty behind the same path.
    let device = Pty::open();
    point(&link, &device.path);
    let _bus = Bus::start(device, drops);
    wait_for("the channel to reopen the device", || {
        find_state(&states, ChannelState::Open, closed).is_some()
    });
    let result = master
        .read(ReadRequest::integrity())
        .wait_timeout(WAIT)
        .expect("the poll completes");
    assert_eq!(result, Ok(()), "the master polls again after the reopen");
    manager.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
