//! End-to-end tests of the sans-I/O outstation session: request fragments in, response
//! fragments out, time driven by `Now::after`. Known answers follow the procedures of
//! IEEE 1815-2012, clause 4, and fragments published in opendnp3's unit tests.

use rdnp3_stack::app::{Fragment, FunctionCode, Iin};
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::objects::{flags, CommandStatus, Crob, DoubleBit, Timestamp, Variation};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::demo::demo_database;
use rdnp3_testkit::hex::{bytes, spaced as hex};
use rdnp3_testkit::rng::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MASTER: u16 = 1;

/// Opendnp3's test settings: no unsolicited reporting, no NEED_TIME at start.
fn config() -> OutstationConfig {
    OutstationConfig::default()
        .with_allow_unsolicited(false)
        .with_need_time_at_start(false)
}

fn database(points: &[(PointType, std::ops::Range<u16>, PointConfig)]) -> Database {
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
struct CountingControls(Arc<AtomicUsize>);

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
struct TestApp {
    times: Option<Arc<Mutex<Vec<Timestamp>>>>,
    cold: Option<Duration>,
    warm: Option<Duration>,
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
struct Outstation {
    s: OutstationSession,
    now: Now,
    out: Vec<u8>,
    operations: Arc<AtomicUsize>,
}

impl Outstation {
    fn new(config: OutstationConfig, db: Database) -> Self {
        Self::with_app(config, db, TestApp::default())
    }

    fn with_app(config: OutstationConfig, db: Database, app: TestApp) -> Self {
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

    fn send_to(&mut self, request: &str, destination: AddressKind) {
        let b = bytes(request);
        self.s.on_fragment(&self.now, MASTER, destination, &b);
    }

    fn send(&mut self, request: &str) {
        self.send_to(request, AddressKind::Station);
    }

    fn poll(&mut self) -> Option<String> {
        let n = self.s.next_fragment(&self.now, &mut self.out)?;
        Some(hex(&self.out[..n]))
    }

    fn ask(&mut self, request: &str) -> Option<String> {
        self.send(request);
        self.poll()
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
        if self.s.deadline().is_some_and(|t| t <= self.now.instant) {
            self.s.on_timer(&self.now);
        }
    }

    fn apply(&mut self, updates: &[Update]) -> ApplyReport {
        self.s.apply(&self.now, updates)
    }

    fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }
}

fn online() -> PointConfig {
    PointConfig::default().with_initial_flags(flags::ONLINE)
}

fn binaries(n: u16, c: PointConfig) -> Outstation {
    Outstation::new(config(), database(&[(PointType::BinaryInput, 0..n, c)]))
}

fn outputs() -> Outstation {
    Outstation::new(
        config(),
        database(&[
            (PointType::BinaryOutputStatus, 0..8, PointConfig::default()),
            (PointType::AnalogOutputStatus, 0..8, PointConfig::default()),
        ]),
    )
}

// ---- reads ----------------------------------------------------------------------------

#[test]
fn class_0_read_reports_online_binaries_packed() {
    let c = online().with_static_variation(Variation::Group1Var1);
    let mut o = binaries(10, c);
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 01 00 00 09 00 00"
    );
}

#[test]
fn class_0_read_promotes_packed_binaries_that_are_not_online() {
    let c = PointConfig::default().with_static_variation(Variation::Group1Var1);
    let mut o = binaries(2, c);
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 02 00 00 01 02 02"
    );
}

#[test]
fn read_by_index_is_answered_with_ranged_headers() {
    let mut o = binaries(3, PointConfig::default());
    assert_eq!(
        o.ask("C0 01 01 02 17 02 00 02").unwrap(),
        "C0 81 80 00 01 02 00 00 00 02 01 02 00 02 02 02"
    );
}

#[test]
fn read_of_an_analog_range_returns_the_values() {
    let c = online().with_static_variation(Variation::Group30Var2);
    let mut o = Outstation::new(config(), database(&[(PointType::AnalogInput, 0..10, c)]));
    o.apply(&[Update::analog(5, 42.0), Update::analog(6, 41.0)]);
    assert_eq!(
        o.ask("C2 01 1E 02 00 05 06").unwrap(),
        "C2 81 80 00 1E 02 00 05 06 01 2A 00 01 29 00"
    );
}

#[test]
fn read_of_a_type_uses_each_points_configured_variation() {
    let db = DatabaseBuilder::new()
        .add(
            PointType::AnalogInput,
            [0],
            online().with_static_variation(Variation::Group30Var5),
        )
        .add(PointType::Counter, [0], online())
        .build()
        .unwrap();
    let mut o = Outstation::new(config(), db);
    o.apply(&[Update::analog(0, 95.6), Update::counter(0, 5)]);
    assert_eq!(
        o.ask("C0 01 1E 00 06").unwrap(),
        "C0 81 80 00 1E 05 00 00 00 01 33 33 BF 42"
    );
    assert_eq!(
        o.ask("C1 01 14 00 06").unwrap(),
        "C1 81 80 00 14 01 00 00 00 01 05 00 00 00"
    );
    o.apply(&[Update::analog(0, -20.0)]);
    assert_eq!(
        o.ask("C2 01 1E 06 06").unwrap(),
        "C2 81 80 00 1E 06 00 00 00 01 00 00 00 00 00 00 34 C0"
    );
}

#[test]
fn reading_missing_points_sets_parameter_error_and_unknown_types_object_unknown() {
    let mut o = binaries(3, online());
    assert_eq!(
        o.ask("C0 01 01 02 00 02 03").unwrap(),
        "C0 81 80 04 01 02 00 02 02 01"
    );
    assert_eq!(o.ask("C1 01 1E 00 06").unwrap(), "C1 81 80 02");
    assert_eq!(o.ask("C2 01 00 00 06").unwrap(), "C2 81 80 02");
}

#[test]
fn read_of_g80_reports_the_iin_bits() {
    let mut o = binaries(1, online());
    assert_eq!(
        o.ask("C0 01 50 01 00 00 0F").unwrap(),
        "C0 81 80 00 50 01 00 00 0F 80 00"
    );
}

#[test]
fn frozen_counters_carry_the_time_of_freeze() {
    let fc = online().with_static_variation(Variation::Group21Var5);
    let mut o = Outstation::new(
        config(),
        database(&[
            (PointType::Counter, 0..1, online()),
            (PointType::FrozenCounter, 0..1, fc),
        ]),
    );
    o.now.wall = Timestamp(240_607_800_000);
    o.apply(&[Update::counter(0, 41)]);
    assert_eq!(o.ask("C3 07 14 00 06").unwrap(), "C3 81 80 00");
    assert_eq!(
        o.ask("C4 01 15 00 06").unwrap(),
        "C4 81 80 00 15 05 00 00 00 01 29 00 00 00 C0 AA 57 05 38 00"
    );
}

#[test]
fn freeze_clear_resets_the_counters() {
    let mut o = Outstation::new(
        config(),
        database(&[
            (PointType::Counter, 0..2, online()),
            (PointType::FrozenCounter, 0..2, online()),
        ]),
    );
    o.apply(&[Update::counter(0, 7), Update::counter(1, 9)]);
    assert_eq!(o.ask("C0 09 14 00 00 01 01").unwrap(), "C0 81 80 00");
    let db = o.s.database();
    assert_eq!(
        db.get(PointType::Counter, 1).unwrap().value,
        PointValue::Counter(0)
    );
    assert_eq!(
        db.get(PointType::Counter, 0).unwrap().value,
        PointValue::Counter(7)
    );
    assert_eq!(
        db.get(PointType::FrozenCounter, 1).unwrap().value,
        PointValue::Counter(9)
    );
    assert_eq!(o.ask("C1 07 1E 00 06").unwrap(), "C1 81 80 01");
    assert_eq!(o.ask("C2 07 14 00 17 01 00").unwrap(), "C2 81 80 04");
}

#[test]
fn octet_strings_are_reported_with_their_length_as_variation() {
    let mut o = Outstation::new(
        config(),
        database(&[(PointType::OctetString, 0..2, PointConfig::default())]),
    );
    o.apply(&[
        Update::octet_string(0, b"a"),
        Update::octet_string(1, b"bb"),
    ]);
    assert_eq!(
        o.ask("C0 01 6E 00 06").unwrap(),
        "C0 81 80 00 6E 01 00 00 00 61 6E 02 00 01 01 62 62"
    );
}

#[test]
fn double_bit_inputs_are_reported_with_their_state_bits() {
    let c = PointConfig::new(EventClass::Class2);
    let mut o = Outstation::new(config(), database(&[(PointType::DoubleBitInput, 0..2, c)]));
    o.apply(&[Update::double_bit(1, DoubleBit::DeterminedOn).with_time(Timestamp(5))]);
    assert_eq!(
        o.ask("C0 01 3C 03 06 3C 01 06").unwrap(),
        "E0 81 80 00 04 02 28 01 00 01 00 81 05 00 00 00 00 00 03 02 00 00 01 C2 81"
    );
}

// ---- events ---------------------------------------------------------------------------

fn class1_binaries() -> Outstation {
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    binaries(4, c)
}

#[test]
fn count_limited_event_read_leaves_the_class_bit_set() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(2, false), Update::binary(3, true)]);
    assert_eq!(
        o.ask("C0 01 3C 02 07 01").unwrap(),
        "E0 81 82 00 02 01 28 01 00 02 00 01"
    );
    o.send("C0 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        "E1 81 80 00 02 01 28 01 00 03 00 81"
    );
    o.send("C1 00");
    assert_eq!(o.s.database().buffered_events(), 0);
    assert_eq!(o.ask("C2 01 3C 02 06").unwrap(), "C2 81 80 00");
}

#[test]
fn unconfirmed_events_are_sent_again_on_the_next_poll() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    let first = o.ask("C0 01 3C 02 06").unwrap();
    assert_eq!(first, "E0 81 80 00 02 01 28 01 00 01 00 81");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.s.stats().confirm_timeouts, 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        first.replacen("E0", "E1", 1)
    );
    // A new request instead of the confirm also keeps them.
    assert_eq!(
        o.ask("C2 01 3C 02 06").unwrap(),
        first.replacen("E0", "E2", 1)
    );
    o.send("C2 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn a_confirm_with_the_wrong_seq_is_ignored() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    o.ask("C5 01 3C 02 06").unwrap();
    o.send("C4 00");
    o.send("D5 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    o.send("C5 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn integrity_poll_writes_events_before_static_data() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(0, true)]);
    assert_eq!(
        o.ask("C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06").unwrap(),
        "E0 81 80 00 02 01 28 01 00 00 00 81 01 02 00 00 03 81 02 02 02"
    );
}

#[test]
fn class_bits_announce_unreported_events() {
    let c3 = PointConfig::new(EventClass::Class3);
    let mut o = Outstation::new(
        config(),
        database(&[
            (
                PointType::BinaryInput,
                0..2,
                PointConfig::new(EventClass::Class2),
            ),
            (PointType::AnalogInput, 0..2, c3),
        ]),
    );
    assert_eq!(o.ask("C0 17").unwrap(), "C0 81 80 00 34 02 07 01 00 00");
    o.apply(&[Update::binary(0, true), Update::analog(1, 3.0)]);
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 8C 00 34 02 07 01 00 00");
}

#[test]
fn event_reads_by_type_override_the_variation() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true).with_time(Timestamp(0x0102))]);
    assert_eq!(
        o.ask("C0 01 02 02 06").unwrap(),
        "E0 81 80 00 02 02 28 01 00 01 00 81 02 01 00 00 00 00"
    );
}

#[test]
fn a_full_event_buffer_drops_the_oldest_and_reports_overflow_until_read() {
    let mut cfg = config();
    cfg.event_buffer = EventBufferConfig::all(2);
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    let mut o = Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]));
    o.apply(&[
        Update::binary(0, true),
        Update::binary(1, true),
        Update::binary(2, true),
    ]);
    assert_eq!(o.s.stats().events_dropped, 1);
    assert_eq!(
        o.ask("C0 01 3C 02 06").unwrap(),
        "E0 81 80 08 02 01 28 02 00 01 00 81 02 00 81"
    );
    o.send("C0 00");
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 80 00 34 02 07 01 00 00");
}

#[test]
fn analog_events_respect_the_deadband() {
    let c = online().with_deadband(2.0);
    let c = c.with_class(EventClass::Class2);
    let mut o = Outstation::new(config(), database(&[(PointType::AnalogInput, 0..1, c)]));
    assert_eq!(o.apply(&[Update::analog(0, 1.5)]).events, 0);
    assert_eq!(o.apply(&[Update::analog(0, 2.5)]).events, 1);
    assert_eq!(o.apply(&[Update::analog(0, 4.0)]).events, 0);
    assert_eq!(
        o.apply(&[Update::analog(0, 4.0).with_flags(flags::COMM_LOST)])
            .events,
        1
    );
    assert_eq!(o.apply(&[Update::analog(9, 4.0)]).rejected, 1);
}

// ---- multi-fragment responses ---------------------------------------------------------

fn analogs_in_20_byte_fragments() -> Outstation {
    let mut cfg = config();
    cfg.max_tx_fragment = 20;
    let c = online().with_static_variation(Variation::Group30Var1);
    Outstation::new(cfg, database(&[(PointType::AnalogInput, 0..8, c)]))
}

#[test]
fn large_class_0_response_is_sent_in_confirmed_fragments() {
    let mut o = analogs_in_20_byte_fragments();
    let two = |a: u8, b: u8| format!("1E 01 00 {a:02X} {b:02X} 01 00 00 00 00 01 00 00 00 00");
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        format!("A0 81 80 00 {}", two(0, 1))
    );
    assert_eq!(o.poll(), None, "the next fragment waits for the confirm");
    assert_eq!(
        o.ask("C0 00").unwrap(),
        format!("21 81 80 00 {}", two(2, 3))
    );
    assert_eq!(
        o.ask("C1 00").unwrap(),
        format!("22 81 80 00 {}", two(4, 5))
    );
    assert_eq!(
        o.ask("C2 00").unwrap(),
        format!("43 81 80 00 {}", two(6, 7))
    );
    assert_eq!(o.ask("C3 00"), None);
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 80 00 34 02 07 01 00 00");
}

#[test]
fn confirm_timeout_stops_a_multi_fragment_response() {
    let mut o = analogs_in_20_byte_fragments();
    assert!(o.ask("C0 01 3C 01 06").unwrap().starts_with("A0"));
    o.advance(Duration::from_secs(5));
    assert_eq!(o.ask("C0 00"), None);
    assert_eq!(o.s.deadline(), None);
}

// ---- IIN, time, restart ---------------------------------------------------------------

#[test]
fn unsupported_function_is_answered_with_iin2_0() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 10").unwrap(), "C0 81 80 01");
    assert_eq!(o.ask("C1 22").unwrap(), "C1 81 80 01");
    assert_eq!(o.ask("C2 1E").unwrap(), "C2 81 80 01");
    assert_eq!(o.ask("C3 0C"), None, "no-response codes are never answered");
}

#[test]
fn restart_iin_clears_only_by_writing_index_7_to_zero() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 02 50 01 00 04 04 01").unwrap(), "C0 81 80 04");
    assert_eq!(o.ask("C1 02 50 01 00 07 07 01").unwrap(), "C1 81 80 04");
    assert_eq!(o.ask("C2 02 01 02 00 07 07 00").unwrap(), "C2 81 80 01");
    assert_eq!(o.ask("C3 02 50 01 00 07 07 00").unwrap(), "C3 81 00 00");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 00 00 34 02 07 01 00 00");
}

#[test]
fn time_write_clears_need_time() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp {
        times: Some(times.clone()),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(OutstationConfig::default(), database(&[]), app);
    assert_eq!(o.poll().unwrap(), "F0 82 90 00", "null unsolicited first");
    assert_eq!(
        o.ask("C0 15 3C 02 06 3C 03 06 3C 04 06").unwrap(),
        "C0 81 90 00"
    );
    assert_eq!(
        o.ask("C1 02 32 01 07 01 D2 04 00 00 00 00").unwrap(),
        "C1 81 80 00"
    );
    assert_eq!(*times.lock().unwrap(), [Timestamp(1234)]);
    assert_eq!(
        o.ask("C2 02 32 01 07 02 D2 04 00 00 00 00 D2 04 00 00 00 00")
            .unwrap(),
        "C2 81 80 04",
        "more than one time object"
    );
}

#[test]
fn lan_time_sync_adds_the_time_since_the_record() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp {
        times: Some(times.clone()),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(config(), database(&[]), app);
    assert_eq!(o.ask("C0 18").unwrap(), "C0 81 80 00");
    o.advance(Duration::from_millis(30));
    assert_eq!(
        o.ask("C1 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C1 81 80 00"
    );
    assert_eq!(*times.lock().unwrap(), [Timestamp(1264)]);
    // Without a preceding record, or not the very next request: parameter error.
    assert_eq!(
        o.ask("C2 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C2 81 80 04"
    );
    assert_eq!(o.ask("C3 18").unwrap(), "C3 81 80 00");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 80 00 34 02 07 01 00 00");
    assert_eq!(
        o.ask("C5 02 32 03 07 01 D2 04 00 00 00 00").unwrap(),
        "C5 81 80 04"
    );
}

#[test]
fn requests_that_take_no_objects_refuse_them() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C0 17 DE AD BE EF").unwrap(), "C0 81 80 04");
    assert_eq!(o.ask("C1 18 01 02 06").unwrap(), "C1 81 80 04");
    assert_eq!(o.ask("C2 0D 01").unwrap(), "C2 81 80 04");
}

#[test]
fn restarts_are_answered_with_the_applications_delay() {
    let app = TestApp {
        cold: Some(Duration::from_millis(1)),
        warm: Some(Duration::from_secs(65535)),
        ..TestApp::default()
    };
    let mut o = Outstation::with_app(config(), database(&[]), app);
    assert_eq!(o.ask("C1 0D").unwrap(), "C1 81 80 00 34 02 07 01 01 00");
    assert_eq!(o.ask("C2 0E").unwrap(), "C2 81 80 00 34 01 07 01 FF FF");
    let mut o = binaries(1, online());
    assert_eq!(o.ask("C1 0D").unwrap(), "C1 81 80 01");
}

#[test]
fn repeated_request_is_answered_from_history_without_executing_again() {
    let mut o = outputs();
    let op = "C3 05 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00";
    let answer = o.ask(op).unwrap();
    assert_eq!(
        answer,
        "C3 81 80 00 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00"
    );
    assert_eq!(o.ask(op).unwrap(), answer);
    assert_eq!(o.operations(), 1);
    assert_eq!(o.s.stats().duplicate_requests, 1);
    // After a confirm the same bytes are a new request.
    o.send("C3 00");
    assert_eq!(o.ask(op).unwrap(), answer);
    assert_eq!(o.operations(), 2);
}

#[test]
fn requests_with_invalid_control_bits_or_from_strangers_are_ignored() {
    let mut o = binaries(1, online());
    assert_eq!(o.ask("E0 17"), None, "CON set");
    assert_eq!(o.ask("40 17"), None, "FIR missing");
    assert_eq!(o.ask("D0 01 3C 01 06"), None, "UNS on a READ");
    assert_eq!(o.ask("C0 81 00 00"), None, "a response");
    o.s.on_fragment(&o.now, 7, AddressKind::Station, &bytes("C0 17"));
    assert_eq!(o.poll(), None, "another source");
    assert_eq!(o.ask("C0"), None, "too short");
    assert!(o.s.stats().malformed_requests >= 4);
}

// ---- controls -------------------------------------------------------------------------

const SELECT_3: &str = "C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00";
const ECHO_3: &str = "0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00";

#[test]
fn select_then_operate_executes_the_control() {
    let mut o = outputs();
    assert_eq!(o.ask(SELECT_3).unwrap(), format!("C0 81 80 00 {ECHO_3} 00"));
    assert_eq!(o.operations(), 0);
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C1 81 80 00 {ECHO_3} 00"));
    assert_eq!(o.operations(), 1);
    let s =
        o.s.database()
            .get(PointType::BinaryOutputStatus, 3)
            .unwrap();
    assert_eq!(s.value, PointValue::Binary(true));
}

#[test]
fn operate_with_a_skipped_seq_is_answered_no_select() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    let operate = SELECT_3.replacen("C0 03", "C2 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C2 81 80 00 {ECHO_3} 02"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn operate_after_the_select_timeout_is_rejected() {
    let mut cfg = config();
    cfg.select_timeout = Duration::from_secs(5);
    let mut o = Outstation::new(
        cfg,
        database(&[(PointType::BinaryOutputStatus, 0..8, PointConfig::default())]),
    );
    o.ask(SELECT_3).unwrap();
    o.advance(Duration::from_millis(5001));
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert_eq!(o.ask(&operate).unwrap(), format!("C1 81 80 00 {ECHO_3} 01"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn operate_with_different_objects_is_rejected_and_cancels_the_selection() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    let other = "C1 04 0C 01 17 01 03 01 02 01 00 00 00 01 00 00 00 00";
    assert!(o.ask(other).unwrap().ends_with(" 02"));
    let operate = SELECT_3.replacen("C0 03", "C2 04", 1);
    assert!(o.ask(&operate).unwrap().ends_with(" 02"));
    assert_eq!(o.operations(), 0);
}

#[test]
fn any_other_request_between_select_and_operate_cancels_the_selection() {
    let mut o = outputs();
    o.ask(SELECT_3).unwrap();
    o.ask("C1 17").unwrap();
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    assert!(o.ask(&operate).unwrap().ends_with(" 02"));
}

#[test]
fn a_repeated_select_keeps_the_selection_and_a_repeated_operate_runs_once() {
    let mut o = outputs();
    let first = o.ask(SELECT_3).unwrap();
    assert_eq!(o.ask(SELECT_3).unwrap(), first);
    let operate = SELECT_3.replacen("C0 03", "C1 04", 1);
    let answer = o.ask(&operate).unwrap();
    assert!(answer.ends_with(" 00"));
    assert_eq!(o.ask(&operate).unwrap(), answer);
    assert_eq!(o.operations(), 1);
}

#[test]
fn controls_beyond_the_limit_are_answered_too_many_ops() {
    let mut cfg = config();
    cfg.max_controls_per_request = Some(1);
    let mut o = Outstation::new(
        cfg,
        database(&[(PointType::BinaryOutputStatus, 0..8, PointConfig::default())]),
    );
    let two =
        "C0 03 0C 01 17 02 03 01 01 01 00 00 00 01 00 00 00 00 04 01 01 01 00 00 00 01 00 00 00 00";
    assert_eq!(
        o.ask(two).unwrap(),
        "C0 81 80 00 0C 01 17 02 03 01 01 01 00 00 00 01 00 00 00 00 04 01 01 01 00 00 00 01 00 00 00 08"
    );
}

#[test]
fn crob_with_the_queue_bit_is_not_supported() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 03 0C 01 17 01 03 51 01 01 00 00 00 01 00 00 00 00")
            .unwrap(),
        "C0 81 80 04 0C 01 17 01 03 51 01 01 00 00 00 01 00 00 00 04"
    );
    assert_eq!(
        o.ask("C1 05 0C 01 28 01 00 03 00 AA 01 01 00 00 00 01 00 00 00 00")
            .unwrap(),
        "C1 81 80 04 0C 01 28 01 00 03 00 AA 01 01 00 00 00 01 00 00 00 04"
    );
    assert_eq!(o.operations(), 0);
}

#[test]
fn a_control_request_with_another_header_executes_nothing() {
    let mut o = outputs();
    let mixed = "C0 05 0C 01 17 01 03 03 01 00 00 00 00 00 00 00 00 00 01 02 00 00 00 81";
    assert_eq!(o.ask(mixed).unwrap(), "C0 81 80 04");
    let wrong_qualifier = "C1 05 0C 01 07 01 03 01 00 00 00 00 00 00 00 00 00";
    assert_eq!(o.ask(wrong_qualifier).unwrap(), "C1 81 80 04");
    assert_eq!(o.operations(), 0);
}

#[test]
fn analog_output_select_is_echoed() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 03 29 02 17 01 03 00 00 00").unwrap(),
        "C0 81 80 00 29 02 17 01 03 00 00 00"
    );
    assert_eq!(
        o.ask("C1 05 29 03 17 01 01 00 00 C8 42 00").unwrap(),
        "C1 81 80 00 29 03 17 01 01 00 00 C8 42 00"
    );
    let s =
        o.s.database()
            .get(PointType::AnalogOutputStatus, 1)
            .unwrap();
    assert_eq!(s.value, PointValue::Analog(100.0));
}

#[test]
fn direct_operate_no_ack_executes_silently() {
    let mut o = outputs();
    assert_eq!(
        o.ask("C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00"),
        None
    );
    assert_eq!(o.operations(), 1);
    let s =
        o.s.database()
            .get(PointType::BinaryOutputStatus, 2)
            .unwrap();
    assert_eq!(s.value, PointValue::Binary(true));
}

#[test]
fn operating_an_output_creates_its_status_event() {
    let c = PointConfig::new(EventClass::Class1);
    let mut o = Outstation::new(
        config(),
        database(&[(PointType::BinaryOutputStatus, 0..4, c)]),
    );
    o.ask("C0 05 0C 01 17 01 01 03 01 00 00 00 00 00 00 00 00 00")
        .unwrap();
    let events = o.ask("C1 01 3C 02 06").unwrap();
    assert!(
        events.starts_with("E1 81 80 00 0B 02 28 01 00 01 00 81"),
        "{events}"
    );
}

// ---- unsolicited ----------------------------------------------------------------------

fn unsolicited() -> Outstation {
    let cfg = OutstationConfig::default().with_need_time_at_start(false);
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]))
}

#[test]
fn a_null_unsolicited_response_follows_the_link_coming_up() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    assert_eq!(o.poll(), None);
    o.advance(Duration::from_secs(5));
    assert_eq!(
        o.poll().unwrap(),
        "F1 82 80 00",
        "retried with the next SEQ"
    );
    o.send("D1 00");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll(), None);
    assert_eq!(o.s.deadline(), None);
}

#[test]
fn reads_wait_for_the_confirm_of_an_unsolicited_event_response() {
    let mut o = unsolicited();
    o.poll().unwrap();
    o.send("D0 00");
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 80 00");
    o.apply(&[Update::binary(1, true)]);
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    assert_eq!(o.ask("C1 01 3C 01 06"), None);
    assert!(
        o.ask("C2 17").unwrap().starts_with("C2 81"),
        "other requests are served"
    );
    o.send("C3 01 3C 01 06");
    assert_eq!(
        o.ask("D1 00").unwrap(),
        "C3 81 80 00 01 02 00 00 03 02 81 02 02"
    );
}

#[test]
fn reads_do_not_wait_for_the_confirm_of_the_null_unsolicited_response() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    assert_eq!(
        o.ask("C0 01 3C 01 06").unwrap(),
        "C0 81 80 00 01 02 00 00 03 02 02 02 02"
    );
    assert_eq!(o.ask("D0 00"), None, "the null response is confirmed");
    assert_eq!(o.s.deadline(), None);
}

#[test]
fn events_of_enabled_classes_are_reported_unsolicited_until_confirmed() {
    let mut o = unsolicited();
    o.poll().unwrap();
    o.send("D0 00");
    o.apply(&[Update::binary(1, true)]);
    assert_eq!(o.poll(), None, "classes start disabled");
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 82 00");
    assert_eq!(o.poll().unwrap(), "F1 82 80 00 02 01 28 01 00 01 00 81");
    assert_eq!(o.poll(), None);
    o.send("D1 00");
    assert_eq!(o.s.database().buffered_events(), 0);
    o.apply(&[Update::binary(1, false)]);
    assert_eq!(o.poll().unwrap(), "F2 82 80 00 02 01 28 01 00 01 00 01");
    // A solicited confirm does not confirm an unsolicited response.
    o.send("C2 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(o.ask("C1 15 3C 02 06").unwrap(), "C1 81 80 00");
}

#[test]
fn an_unconfirmed_unsolicited_response_is_repeated_then_its_events_wait() {
    let cfg = OutstationConfig::default()
        .with_need_time_at_start(false)
        .with_unsolicited_retries(Some(1));
    let c = PointConfig::new(EventClass::Class1).with_event_variation(Variation::Group2Var1);
    let mut o = Outstation::new(cfg, database(&[(PointType::BinaryInput, 0..4, c)]));
    o.poll().unwrap();
    o.send("D0 00");
    o.ask("C0 14 3C 02 06").unwrap();
    o.apply(&[Update::binary(2, true)]);
    let first = o.poll().unwrap();
    assert_eq!(first, "F1 82 80 00 02 01 28 01 00 02 00 81");
    o.advance(Duration::from_secs(5));
    assert_eq!(o.poll().unwrap(), first, "repeated byte for byte");
    o.advance(Duration::from_secs(5));
    assert_eq!(
        o.poll().unwrap(),
        first.replacen("F1", "F2", 1),
        "retries used up: the events go with the next SEQ"
    );
    o.send("D2 00");
    assert_eq!(o.s.database().buffered_events(), 0);
}

#[test]
fn octet_string_events_carry_their_bytes() {
    let mut o = Outstation::new(
        config(),
        database(&[(
            PointType::OctetString,
            0..2,
            PointConfig::new(EventClass::Class1),
        )]),
    );
    o.apply(&[
        Update::octet_string(1, b"bb"),
        Update::octet_string(0, b"a"),
    ]);
    assert_eq!(
        o.ask("C0 01 3C 02 06").unwrap(),
        "E0 81 80 00 6F 02 28 01 00 01 00 62 62 6F 01 28 01 00 00 00 61"
    );
}

#[test]
fn unsolicited_reporting_refused_when_not_allowed() {
    let mut o = class1_binaries();
    assert_eq!(o.poll(), None);
    assert_eq!(o.ask("C0 14 3C 02 06").unwrap(), "C0 81 80 01");
}

// ---- broadcast and link -----------------------------------------------------------------

#[test]
fn broadcasts_are_acted_on_silently_and_reported_once() {
    let mut o = binaries(1, online());
    o.send_to(
        "C0 02 50 01 00 07 07 00",
        AddressKind::BroadcastOptionalConfirm,
    );
    assert_eq!(o.poll(), None);
    assert_eq!(o.ask("C1 17").unwrap(), "C1 81 01 00 34 02 07 01 00 00");
    assert_eq!(o.ask("C2 17").unwrap(), "C2 81 00 00 34 02 07 01 00 00");
    o.send_to("C3 17", AddressKind::BroadcastDontConfirm);
    assert_eq!(o.poll(), None, "not acted on, still reported");
    assert_eq!(o.ask("C4 17").unwrap(), "C4 81 01 00 34 02 07 01 00 00");
}

#[test]
fn a_mandatory_confirm_broadcast_is_reported_until_confirmed() {
    let mut o = binaries(1, online());
    o.ask("C0 02 50 01 00 07 07 00").unwrap();
    o.send_to(
        "C1 02 50 01 00 07 07 00",
        AddressKind::BroadcastShallConfirm,
    );
    assert_eq!(o.ask("C2 01 3C 02 06").unwrap(), "E2 81 01 00");
    assert_eq!(o.ask("C3 01 3C 02 06").unwrap(), "E3 81 01 00");
    o.send("C3 00");
    assert_eq!(o.ask("C4 01 3C 02 06").unwrap(), "C4 81 00 00");
}

#[test]
fn broadcast_direct_operate_no_ack_is_executed() {
    let mut o = outputs();
    o.send_to(
        "C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00",
        AddressKind::BroadcastOptionalConfirm,
    );
    assert_eq!(o.operations(), 1);
    o.send_to(SELECT_3, AddressKind::BroadcastOptionalConfirm);
    assert_eq!((o.poll(), o.operations()), (None, 1));
}

#[test]
fn link_down_drops_the_exchange_and_keeps_the_events() {
    let mut o = class1_binaries();
    o.apply(&[Update::binary(1, true)]);
    let answer = o.ask("C0 01 3C 02 06").unwrap();
    o.s.on_link_down(&o.now);
    assert_eq!(o.s.deadline(), None);
    o.s.on_link_up(&o.now);
    o.send("C0 00");
    assert_eq!(o.s.database().buffered_events(), 1);
    assert_eq!(
        o.ask("C1 01 3C 02 06").unwrap(),
        answer.replacen("E0", "E1", 1)
    );
}

#[test]
fn an_unconfirmed_null_response_is_sent_again_after_reconnecting() {
    let mut o = unsolicited();
    assert_eq!(o.poll().unwrap(), "F0 82 80 00");
    o.s.on_link_down(&o.now);
    assert_eq!(o.poll(), None);
    o.s.on_link_up(&o.now);
    assert_eq!(o.poll().unwrap(), "F1 82 80 00");
    o.send("D1 00");
    o.s.on_link_down(&o.now);
    o.s.on_link_up(&o.now);
    assert_eq!(o.poll(), None, "once per restart");
}

// ---- robustness -------------------------------------------------------------------------

const SEEDS: &[&str] = &[
    "C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
    "C0 01 3C 02 07 01",
    "C0 01 1E 02 00 05 06",
    "C0 01 01 02 17 02 00 02",
    "C0 01 50 01 00 00 0F",
    "C0 02 50 01 00 07 07 00",
    "C0 02 32 01 07 01 D2 04 00 00 00 00",
    "C0 02 32 03 07 01 D2 04 00 00 00 00",
    "C0 18",
    "C0 17",
    "C0 0D",
    "C0 03 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
    "C0 04 0C 01 17 01 03 01 01 01 00 00 00 01 00 00 00 00",
    "C0 05 29 03 28 01 00 01 00 00 00 C8 42 00",
    "C0 06 0C 01 17 01 02 03 01 00 00 00 00 00 00 00 00 00",
    "C0 07 14 00 06",
    "C0 09 14 00 00 01 05",
    "C0 14 3C 02 06 3C 03 06",
    "C0 15 3C 02 06",
    "C0 00",
    "D0 00",
    "C0 01 6E 00 06",
    "C0 01 15 00 06",
];

#[test]
fn hostile_requests_never_panic_and_every_answer_is_a_response() {
    let mut rng = Rng::new(0x5EED_0DD5_1234_5678);
    let cfg = OutstationConfig::default()
        .with_max_tx_fragment(249)
        .with_unsolicited_retries(Some(2));
    let mut o = Outstation::new(cfg, demo_database(0));
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| bytes(s)).collect();
    let destinations = [
        AddressKind::Station,
        AddressKind::Station,
        AddressKind::Station,
        AddressKind::BroadcastShallConfirm,
        AddressKind::BroadcastOptionalConfirm,
    ];
    let mut answered = 0;
    for round in 0..100_000u32 {
        let mut req = if rng.below(4) == 0 {
            let n = rng.below(40);
            (0..n).map(|_| rng.next_u64() as u8).collect()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..rng.below(4) {
            if req.is_empty() {
                break;
            }
            let at = rng.below(req.len());
            match rng.below(4) {
                0 => req[at] ^= 1 << rng.below(8),
                1 => req[at] = rng.next_u64() as u8,
                2 => req.truncate(at),
                _ => req.insert(at, rng.next_u64() as u8),
            }
        }
        if rng.below(3) > 0 {
            // Mostly well-formed request headers, so deeper paths are reached.
            if let Some(b) = req.first_mut() {
                *b = (*b & 0x0F) | if rng.below(8) == 0 { 0xD0 } else { 0xC0 };
            }
        }
        let dest = destinations[rng.below(destinations.len())];
        o.s.on_fragment(&o.now, MASTER, dest, &req);
        if round % 7 == 0 {
            let i = rng.below(10) as u16;
            o.apply(&[
                Update::binary(i, rng.below(2) == 0),
                Update::analog(i, rng.next_u64() as f64 / 1e12),
            ]);
        }
        if round % 11 == 0 {
            o.advance(Duration::from_millis(rng.below(6000) as u64));
        }
        if round % 5000 == 0 {
            o.s.on_link_down(&o.now);
            o.s.on_link_up(&o.now);
        }
        while let Some(n) = o.s.next_fragment(&o.now, &mut o.out) {
            let f = Fragment::parse(&o.out[..n]).expect("a parseable response");
            assert!(
                matches!(
                    f.function,
                    FunctionCode::Response | FunctionCode::UnsolicitedResponse
                ),
                "{}",
                hex(&o.out[..n])
            );
            assert!(!f.iin.unwrap().intersects(Iin::RESERVED_1 | Iin::RESERVED_2));
            f.objects().validate().expect("well-formed objects");
            answered += 1;
            // Confirm now and then so events move on.
            if f.control.con && rng.below(2) == 0 {
                let uns = if f.control.uns { 0xD0 } else { 0xC0 };
                o.s.on_fragment(
                    &o.now,
                    MASTER,
                    AddressKind::Station,
                    &[uns | f.control.seq, 0],
                );
            }
            if answered % 1000 == 0 {
                break;
            }
        }
    }
    assert!(answered > 10_000, "{answered}");
    assert!(o.s.database().buffered_events() <= 8 * 100);
}

/// Feeds `request` and confirms whatever asks for it, until the session is quiet.
fn exchange(o: &mut Outstation, request: &[u8]) {
    o.s.on_fragment(&o.now, MASTER, AddressKind::Station, request);
    while let Some(n) = o.s.next_fragment(&o.now, &mut o.out) {
        let c = o.out[0];
        assert!(n >= 4);
        if c & 0x20 != 0 {
            let confirm = [(c & 0x1F) | 0xC0, 0];
            o.s.on_fragment(&o.now, MASTER, AddressKind::Station, &confirm);
        }
    }
}

#[test]
fn serving_requests_in_the_steady_state_does_not_allocate() {
    let cfg = OutstationConfig::default().with_need_time_at_start(false);
    let mut o = Outstation::new(cfg, demo_database(0));
    exchange(&mut o, &bytes("C0 14 3C 02 06"));
    let mut requests: Vec<Vec<u8>> = SEEDS.iter().map(|s| bytes(s)).collect();
    let mut seq = 1u8;
    let mut cycle = |o: &mut Outstation, k: u32| {
        o.apply(&[
            Update::analog(3, f64::from(k)),
            Update::binary(1, k % 2 == 0),
        ]);
        exchange(o, &[]);
        for req in requests.iter_mut() {
            if req[0] & 0x10 == 0 {
                req[0] = 0xC0 | (seq & 0x0F);
                seq = seq.wrapping_add(1);
            }
            exchange(o, req);
        }
    };
    for k in 0..10 {
        cycle(&mut o, k);
    }
    let allocations = allocation_counter::measure(|| {
        for k in 10..200 {
            cycle(&mut o, k);
        }
    })
    .count_total;
    assert_eq!(allocations, 0);
}
