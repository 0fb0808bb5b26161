//! The master association as a sans-I/O state machine: requests it writes are compared with the
//! reference's bytes, and scripted outstation responses drive it through every procedure.

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    AnalogOutput, Classes, Command, CommandMode, MasterConfig, MasterSession, Measurement,
    MeasurementValue, ReadHandler, ReadRequest, Reply, RestartKind, TaskError, TimeSyncMode,
};
use rdnp3_stack::objects::PointType;
use rdnp3_stack::objects::{CommandStatus, Crob, OpType, Timestamp};
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(PointType, u16, String, u8)>>>;

struct Recorder(Seen);

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((m.kind, m.index, m.value.to_string(), m.flags));
    }
}

struct Harness {
    master: MasterSession,
    now: Now,
    seen: Seen,
}

impl Harness {
    fn new(config: MasterConfig) -> Self {
        let seen: Seen = Arc::default();
        let master = MasterSession::new(config, Box::new(Recorder(seen.clone())));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(100),
        };
        Harness { master, now, seen }
    }

    fn online(config: MasterConfig) -> Self {
        let mut h = Self::new(config);
        h.master.on_link_up(&h.now.clone());
        h
    }

    /// The next fragment the master sends, as hex ("" when nothing).
    fn sent(&mut self) -> String {
        let mut out = [0u8; 2048];
        match self.master.next_fragment(&self.now, &mut out) {
            Some(n) => to_hex(&out[..n]),
            None => String::new(),
        }
    }

    fn respond(&mut self, s: &str) {
        let bytes = hex(s);
        self.master
            .on_fragment(&self.now, 1024, AddressKind::Station, &bytes);
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
        if self
            .master
            .deadline()
            .is_some_and(|t| t <= self.now.instant)
        {
            self.master.on_timer(&self.now.clone());
        }
    }
}

/// A startup with a fresh outstation: disable unsolicited, clear the restart IIN, integrity
/// poll, enable unsolicited.
fn run_startup(h: &mut Harness) {
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C0 81 80 00");
    assert_eq!(h.sent(), "C1 02 50 01 00 07 07 00");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "C2 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("C2 81 00 00 1E 02 00 05 06 01 2A 00 01 29 00");
    assert_eq!(h.sent(), "C3 14 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C3 81 00 00");
    assert_eq!(h.sent(), "");
}

#[test]
fn startup_disables_unsolicited_clears_restart_polls_then_enables_unsolicited() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (PointType::AnalogInput, 5, "42".to_string(), 1),
            (PointType::AnalogInput, 6, "41".to_string(), 1)
        ]
    );
    assert_eq!(h.master.stats().polls, 1);
}

#[test]
fn startup_without_restart_follows_the_reference_sequence() {
    let mut h = Harness::online(MasterConfig::default());
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C0 81 00 00");
    assert_eq!(h.sent(), "C1 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "C2 14 3C 02 06 3C 03 06 3C 04 06");
}

#[test]
fn a_timed_out_startup_task_is_retried_with_back_off_and_the_next_seq() {
    let mut h = Harness::online(MasterConfig::default());
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.advance(Duration::from_millis(4999));
    assert_eq!(h.sent(), "");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.master.stats().timeouts, 1);
    assert_eq!(h.sent(), "", "waits for the retry delay");
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), "C1 15 3C 02 06 3C 03 06 3C 04 06");
}

#[test]
fn a_multi_fragment_poll_is_confirmed_fragment_by_fragment() {
    let mut h = Harness::online(MasterConfig::default().with_disable_unsolicited_at_startup(false));
    assert_eq!(h.sent(), "C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("A0 81 00 00 1E 01 00 00 01 01 07 00 00 00 01 08 00 00 00");
    assert_eq!(h.sent(), "C0 00");
    h.respond("21 81 00 00 1E 01 00 02 03 01 09 00 00 00 01 0A 00 00 00");
    assert_eq!(h.sent(), "C1 00");
    h.respond("42 81 00 00 1E 01 00 04 04 01 0B 00 00 00");
    assert_eq!(
        h.sent(),
        "C3 14 3C 02 06 3C 03 06 3C 04 06",
        "next request after SEQ 2 uses 3"
    );
    let values: Vec<_> = h
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|m| (m.1, m.2.clone()))
        .collect();
    assert_eq!(
        values,
        [
            (0, "7".into()),
            (1, "8".into()),
            (2, "9".into()),
            (3, "10".into()),
            (4, "11".into())
        ]
    );
}

#[test]
fn a_response_with_the_wrong_seq_or_source_is_ignored() {
    let mut h = Harness::online(MasterConfig::default());
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C5 81 00 00");
    h.master.on_fragment(
        &h.now.clone(),
        99,
        AddressKind::Station,
        &hex("C0 81 00 00"),
    );
    assert_eq!(h.master.stats().ignored, 2);
    assert_eq!(h.sent(), "", "still waiting");
    h.respond("C0 81 00 00");
    assert!(h.sent().starts_with("C1 01"));
}

#[test]
fn unsolicited_responses_are_confirmed_and_delivered() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    h.seen.lock().unwrap().clear();
    h.respond("F1 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(h.sent(), "D1 00");
    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(PointType::BinaryInput, 0, "true".to_string(), 0x81)]
    );
    // Without UNS it is not an unsolicited response: ignored, not confirmed.
    h.respond("E2 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(h.sent(), "");
}

#[test]
fn a_restart_seen_in_unsolicited_data_clears_the_bit_and_polls_again() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    h.respond("F0 82 80 00");
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.sent(), "C4 02 50 01 00 07 07 00");
    h.respond("C4 81 00 00");
    assert_eq!(h.sent(), "C5 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("C5 81 00 00");
    assert_eq!(h.sent(), "C6 14 3C 02 06 3C 03 06 3C 04 06");
}

#[test]
fn event_buffer_overflow_triggers_an_integrity_poll() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    h.respond("F1 82 00 08");
    assert_eq!(h.sent(), "D1 00");
    assert_eq!(h.sent(), "C4 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
}

type Slot<T> = Arc<Mutex<Option<Result<T, TaskError>>>>;

/// A reply that stores the result where the test can read it.
fn reply_slot<T: Send + 'static>() -> (Slot<T>, Reply<T>) {
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    (slot, Box::new(move |r| *s.lock().unwrap() = Some(r)))
}

#[test]
fn select_before_operate_sends_identical_objects_and_reports_statuses() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    let crob = Crob::new(OpType::LatchOn, 0, 0);
    h.master.command(
        CommandMode::SelectBeforeOperate,
        vec![Command::Crob { index: 3, crob }],
        reply,
    );
    let select = h.sent();
    assert_eq!(
        select,
        "C4 03 0C 01 28 01 00 03 00 03 01 00 00 00 00 00 00 00 00 00"
    );
    h.respond("C4 81 00 00 0C 01 28 01 00 03 00 03 01 00 00 00 00 00 00 00 00 00");
    let operate = h.sent();
    assert_eq!(&operate[..5], "C5 04");
    assert_eq!(
        operate[5..],
        select[5..],
        "operate repeats the select's objects"
    );
    h.respond("C5 81 00 00 0C 01 28 01 00 03 00 03 01 00 00 00 00 00 00 00 00 00");
    assert_eq!(
        slot.lock().unwrap().take(),
        Some(Ok(vec![CommandStatus::Success]))
    );
}

#[test]
fn a_failed_select_is_reported_without_an_operate() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.command(
        CommandMode::SelectBeforeOperate,
        vec![Command::Analog {
            index: 12,
            value: AnalogOutput::F32(2.5),
        }],
        reply,
    );
    assert_eq!(h.sent(), "C4 03 29 03 28 01 00 0C 00 00 00 20 40 00");
    h.respond("C4 81 00 04 29 03 28 01 00 0C 00 00 00 20 40 04");
    assert_eq!(
        slot.lock().unwrap().take(),
        Some(Err(TaskError::SelectFailed(vec![
            CommandStatus::NotSupported
        ])))
    );
    assert_eq!(h.sent(), "");
}

#[test]
fn direct_operate_of_several_controls_in_one_request() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    let commands = vec![
        Command::Crob {
            index: 1,
            crob: Crob::new(OpType::PulseOn, 100, 0),
        },
        Command::Crob {
            index: 2,
            crob: Crob::new(OpType::LatchOff, 0, 0),
        },
        Command::Analog {
            index: 0,
            value: AnalogOutput::I16(-5),
        },
    ];
    h.master
        .command(CommandMode::DirectOperate, commands, reply);
    let req = h.sent();
    assert_eq!(
        req,
        "C4 05 0C 01 28 02 00 01 00 01 01 64 00 00 00 00 00 00 00 00 02 00 04 01 00 00 00 00 00 00 00 00 00 29 02 28 01 00 00 00 FB FF 00"
    );
    let mut resp = hex(&req);
    resp.splice(1..2, [0x81, 0x00, 0x00]);
    let last = resp.len() - 1;
    resp[last] = 0x07; // LOCAL
    h.master
        .on_fragment(&h.now.clone(), 1024, AddressKind::Station, &resp);
    assert_eq!(
        slot.lock().unwrap().take(),
        Some(Ok(vec![
            CommandStatus::Success,
            CommandStatus::Success,
            CommandStatus::Local
        ]))
    );
}

#[test]
fn an_echo_that_does_not_match_fails_the_command() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.command(
        CommandMode::DirectOperate,
        vec![Command::Crob {
            index: 3,
            crob: Crob::new(OpType::LatchOn, 0, 0),
        }],
        reply,
    );
    h.sent();
    h.respond("C4 81 00 00 0C 01 28 01 00 04 00 03 01 00 00 00 00 00 00 00 00 00");
    assert!(matches!(
        slot.lock().unwrap().take(),
        Some(Err(TaskError::BadResponse(_)))
    ));
}

#[test]
fn non_lan_time_sync_corrects_for_half_the_round_trip() {
    // IEEE 1815-2012, clause 4 (non-LAN time sync): sent at 100 ms, answered at 200 ms with a 10 ms delay → writes 245.
    let mut h = Harness::online(MasterConfig::default().with_time_sync(Some(TimeSyncMode::NonLan)));
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.time_sync(TimeSyncMode::NonLan, reply);
    assert_eq!(h.sent(), "C4 17");
    h.now = h.now.after(Duration::from_millis(100));
    h.respond("C4 81 00 00 34 02 07 01 0A 00");
    assert_eq!(h.sent(), "C5 02 32 01 07 01 F5 00 00 00 00 00");
    h.respond("C5 81 00 00");
    assert_eq!(slot.lock().unwrap().take(), Some(Ok(())));
}

#[test]
fn lan_time_sync_writes_the_recorded_time() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.time_sync(TimeSyncMode::Lan, reply);
    assert_eq!(h.sent(), "C4 18");
    h.now = h.now.after(Duration::from_millis(30));
    h.respond("C4 81 00 00");
    assert_eq!(h.sent(), "C5 02 32 03 07 01 64 00 00 00 00 00");
    h.respond("C5 81 00 00");
    assert_eq!(slot.lock().unwrap().take(), Some(Ok(())));
}

#[test]
fn need_time_triggers_the_configured_time_sync() {
    let mut h = Harness::online(MasterConfig::default().with_time_sync(Some(TimeSyncMode::Lan)));
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C0 81 10 00");
    assert_eq!(
        h.sent(),
        "C1 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
        "integrity ranks above time sync"
    );
    h.respond("C1 81 10 00");
    assert_eq!(h.sent(), "C2 18");
}

#[test]
fn cold_restart_reports_the_outstations_delay() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.restart(RestartKind::Cold, reply);
    assert_eq!(h.sent(), "C4 0D");
    h.respond("C4 81 00 00 34 01 07 01 02 00");
    assert_eq!(
        slot.lock().unwrap().take(),
        Some(Ok(Duration::from_secs(2)))
    );
}

#[test]
fn a_rejected_request_fails_with_the_iin_bits() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot, reply) = reply_slot();
    h.master.restart(RestartKind::Warm, reply);
    assert_eq!(h.sent(), "C4 0E");
    h.respond("C4 81 00 01");
    assert!(matches!(
        slot.lock().unwrap().take(),
        Some(Err(TaskError::Rejected(_)))
    ));
}

#[test]
fn periodic_polls_run_on_schedule_and_user_reads_complete() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let now = h.now;
    h.master.add_poll(
        &now,
        ReadRequest::classes(Classes::EVENTS),
        Duration::from_secs(1),
    );
    assert_eq!(h.sent(), "");
    assert!(h.master.deadline().is_some());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.sent(), "C4 01 3C 02 06 3C 03 06 3C 04 06");
    h.respond("E4 81 00 00 20 01 28 01 00 07 00 01 10 00 00 00");
    assert_eq!(h.sent(), "C4 00");
    let last = h.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last.0, last.1, last.2),
        (PointType::AnalogInput, 7, "16".to_string())
    );
    let (slot, reply) = reply_slot();
    h.master.read(
        ReadRequest::new(vec![rdnp3_stack::master::ReadHeader::Range {
            variation: rdnp3_stack::objects::Variation::Group30Var2,
            start: 5,
            stop: 6,
        }]),
        reply,
    );
    assert_eq!(h.sent(), "C5 01 1E 02 00 05 06");
    h.respond("C5 81 00 00 1E 02 00 05 06 01 2A 00 01 29 00");
    assert_eq!(slot.lock().unwrap().take(), Some(Ok(())));
}

#[test]
fn link_down_fails_pending_requests_and_link_up_restarts_the_sequence() {
    let mut h = Harness::online(MasterConfig::default());
    run_startup(&mut h);
    let (slot1, reply1) = reply_slot();
    let (slot2, reply2) = reply_slot();
    h.master.restart(RestartKind::Cold, reply1);
    h.master.time_sync(TimeSyncMode::Lan, reply2);
    assert_eq!(h.sent(), "C4 0D");
    h.master.on_link_down(&h.now.clone());
    assert_eq!(slot1.lock().unwrap().take(), Some(Err(TaskError::LinkDown)));
    assert_eq!(slot2.lock().unwrap().take(), Some(Err(TaskError::LinkDown)));
    let (slot3, reply3) = reply_slot::<()>();
    h.master.time_sync(TimeSyncMode::Lan, reply3);
    assert_eq!(slot3.lock().unwrap().take(), Some(Err(TaskError::LinkDown)));
    h.master.on_link_up(&h.now.clone());
    assert_eq!(h.sent(), "C5 15 3C 02 06 3C 03 06 3C 04 06");
}

#[test]
fn measurement_values_are_typed_per_kind() {
    let mut h = Harness::online(MasterConfig::default().with_disable_unsolicited_at_startup(false));
    h.sent();
    // g1v1 packed, g3v2, g20v5, g21v5 with time, g10v2, g40v3, g110v2.
    h.respond("C0 81 00 00 01 01 00 00 01 02 03 02 00 00 00 81 14 05 00 00 00 2A 00 00 00 15 05 00 01 01 01 07 00 00 00 0A 00 00 00 00 00 0A 02 00 00 00 81 28 03 00 00 00 01 00 00 C0 3F 6E 02 00 03 03 61 62");
    let seen = h.seen.lock().unwrap().clone();
    let expect = [
        (PointType::BinaryInput, 0, "false", 0x01),
        (PointType::BinaryInput, 1, "true", 0x81),
        (PointType::DoubleBitInput, 0, "DETERMINED_ON", 0x81),
        (PointType::Counter, 0, "42", 0x01),
        (PointType::FrozenCounter, 1, "7", 0x01),
        (PointType::BinaryOutputStatus, 0, "true", 0x81),
        (PointType::AnalogOutputStatus, 0, "1.5", 0x01),
        (PointType::OctetString, 3, "6162", 0x01),
    ];
    let got: Vec<_> = seen
        .iter()
        .map(|(k, i, v, f)| (*k, *i, v.as_str(), *f))
        .collect();
    assert_eq!(got, expect);
    let _ = MeasurementValue::Counter(0);
}

#[test]
fn periodic_polls_allocate_nothing_once_running() {
    use std::sync::atomic::{AtomicU64, Ordering};
    struct Count(Arc<AtomicU64>);
    impl ReadHandler for Count {
        fn measurement(&mut self, _m: &Measurement<'_>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let seen = Arc::new(AtomicU64::new(0));
    let config = MasterConfig::default()
        .with_disable_unsolicited_at_startup(false)
        .with_startup_integrity(false)
        .with_unsolicited_classes(Classes::NONE);
    let mut master = MasterSession::new(config, Box::new(Count(seen.clone())));
    let mut now = Now {
        instant: Instant::now(),
        wall: Timestamp(0),
    };
    master.on_link_up(&now);
    master.add_poll(
        &now,
        ReadRequest::classes(Classes::EVENTS),
        Duration::from_secs(1),
    );
    let responses: Vec<Vec<u8>> = (0..16u8)
        .map(|seq| {
            let mut r = hex("C0 81 00 00 1E 02 00 05 06 01 2A 00 01 29 00");
            r[0] |= seq;
            r
        })
        .collect();
    let mut out = [0u8; 2048];
    let mut cycle = |master: &mut MasterSession, now: &mut Now| {
        *now = now.after(Duration::from_secs(1));
        if master.deadline().is_some_and(|d| d <= now.instant) {
            master.on_timer(now);
        }
        let n = master.next_fragment(now, &mut out).expect("a poll is due");
        assert_eq!(
            &out[1..n],
            &[0x01, 0x3C, 0x02, 0x06, 0x3C, 0x03, 0x06, 0x3C, 0x04, 0x06]
        );
        let seq = usize::from(out[0] & 0x0F);
        master.on_fragment(now, 1024, AddressKind::Station, &responses[seq]);
    };
    cycle(&mut master, &mut now);
    let allocations = allocation_counter::measure(|| {
        for _ in 0..20 {
            cycle(&mut master, &mut now);
        }
    })
    .count_total;
    assert_eq!(allocations, 0, "a poll cycle allocated");
    assert_eq!(seen.load(Ordering::Relaxed), 42);
    assert_eq!(master.stats().polls, 21);
}
