//! The sans-I/O outstation session harness shared by `outstation.rs`,
//! `outstation_requests.rs`, `outstation_controls.rs`, `outstation_unsolicited.rs` and
//! `outstation_robustness.rs`: opendnp3's test settings, a database builder, counting
//! controls, a recording application, a session with its clock and transmit buffer, and the
//! set-ups and control request that several procedures share.

#![allow(dead_code)]

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::objects::{flags, CommandStatus, Crob, Timestamp, Variation};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes, spaced as hex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MASTER: u16 = 1;

/// Opendnp3's test settings: no unsolicited reporting, no NEED_TIME at start.
pub fn config() -> OutstationConfig {
    OutstationConfig::default()
        .with_allow_unsolicited(false)
        .with_need_time_at_start(false)
}

pub fn database(points: &[(PointType, std::ops::Range<u16>, PointConfig)]) -> Database {
    points
        .iter()
        .fold(DatabaseBuilder::new(), |b, (t, r, c)| {
            b.add(*t, r.clone(), *c)
        })
        .build()
        .unwrap()
}

/// Counts operate calls and mirrors outputs.
#[derive(Clone, Default)]
pub struct CountingControls(pub Arc<AtomicUsize>);

impl ControlHandler for CountingControls {
    fn select_crob(&mut self, index: u16, crob: &Crob, db: &Database) -> CommandStatus {
        MirrorOutputs.select_crob(index, crob, db)
    }
    fn operate_crob(
        &mut self,
        index: u16,
        crob: &Crob,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        self.0.fetch_add(1, Ordering::SeqCst);
        MirrorOutputs.operate_crob(index, crob, op, db)
    }
    fn select_analog(&mut self, i: u16, v: f64, var: Variation, db: &Database) -> CommandStatus {
        MirrorOutputs.select_analog(i, v, var, db)
    }
    fn operate_analog(
        &mut self,
        i: u16,
        v: f64,
        var: Variation,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        self.0.fetch_add(1, Ordering::SeqCst);
        MirrorOutputs.operate_analog(i, v, var, op, db)
    }
}

/// Records time writes (when asked to); restarts as configured.
#[derive(Clone, Default)]
pub struct TestApp {
    pub times: Option<Arc<Mutex<Vec<Timestamp>>>>,
    pub cold: Option<Duration>,
    pub warm: Option<Duration>,
}

impl OutstationApplication for TestApp {
    fn on_time_write(&mut self, time: Timestamp) -> bool {
        if let Some(times) = &self.times {
            times.lock().unwrap().push(time);
        }
        true
    }
    fn cold_restart(&mut self) -> Option<Duration> {
        self.cold
    }
    fn warm_restart(&mut self) -> Option<Duration> {
        self.warm
    }
}

/// A session with its clock and transmit buffer.
pub struct Outstation {
    pub s: OutstationSession,
    pub now: Now,
    pub out: Vec<u8>,
    pub operations: Arc<AtomicUsize>,
}

impl Outstation {
    pub fn new(config: OutstationConfig, db: Database) -> Self {
        Self::with_app(config, db, TestApp::default())
    }

    pub fn with_app(config: OutstationConfig, db: Database, app: TestApp) -> Self {
        let controls = CountingControls::default();
        let operations = controls.0.clone();
        let out = vec![0; config.max_tx_fragment];
        let mut s = OutstationSession::new(config, db, Box::new(controls), Box::new(app));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(1_000_000),
        };
        s.on_link_up(&now);
        Outstation {
            s,
            now,
            out,
            operations,
        }
    }

    pub fn send_to(&mut self, request: &str, destination: AddressKind) {
        let b = bytes(request);
        self.s.on_fragment(&self.now, MASTER, destination, &b);
    }

    pub fn send(&mut self, request: &str) {
        self.send_to(request, AddressKind::Station);
    }

    pub fn poll(&mut self) -> Option<String> {
        let n = self.s.next_fragment(&self.now, &mut self.out)?;
        Some(hex(&self.out[..n]))
    }

    pub fn ask(&mut self, request: &str) -> Option<String> {
        self.send(request);
        self.poll()
    }

    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
        if self.s.deadline().is_some_and(|t| t <= self.now.instant) {
            self.s.on_timer(&self.now);
        }
    }

    pub fn apply(&mut self, updates: &[Update]) -> ApplyReport {
        self.s.apply(&self.now, updates)
    }

    pub fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }
}

pub fn online() -> PointConfig {
    PointConfig::default().with_initial_flags(flags::ONLINE)
}

pub fn binaries(n: u16, c: PointConfig) -> Outstation {
    Outstation::new(config(), database(&[(PointType::BinaryInput, 0..n, c)]))
}

pub fn outputs() -> Outstation {
    Outstation::new(
        config(),
        database(&[
            (PointType::BinaryOutputStatus, 0..8, PointConfig::default()),
            (PointType::AnalogOutputStatus, 0..8, PointConfig::default()),
        ]),
    )
}

pub fn class1_binaries() -> Outstation {
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    binaries(4, c)
}

pub const SELECT_3: &str = "C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00";
pub const ECHO_3: &str = "0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00";

pub fn unsolicited() -> Outstation {
    let cfg = OutstationConfig::default().with_need_time_at_start(false);
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]))
}
