//! The master's other functions as a sans-I/O state machine: freezes, unsolicited enable and
//! disable on demand, ASSIGN_CLASS, WRITEs, device attribute reads and generic requests. Each
//! request is compared with its IEEE 1815-2012 encoding and scripted responses judge it.

use rdnp3_stack::app::{FunctionCode, Iin};
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    ClassAssignment, Classes, Deadband, FreezeKind, FreezeRequest, MasterConfig, MasterSession,
    Measurement, ObjectHeaders, PointRange, ReadHandler, ReadRequest, Reply, TaskError,
    WriteRequest, ALL_ATTRIBUTES,
};
use rdnp3_stack::objects::{EventClass, Timestamp, Variation};
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Seen = Arc<Mutex<Vec<(u16, String)>>>;

struct Recorder(Seen);

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        self.0.lock().unwrap().push((m.index, m.value.to_string()));
    }
}

struct Harness {
    master: MasterSession,
    now: Now,
    seen: Seen,
}

impl Harness {
    /// An online master with no startup sequence, so the first request is the test's.
    fn online() -> Self {
        Self::online_with(
            MasterConfig::default()
                .with_disable_unsolicited_at_startup(false)
                .with_startup_integrity(false)
                .with_unsolicited_classes(Classes::NONE),
        )
    }

    fn online_with(config: MasterConfig) -> Self {
        let seen: Seen = Arc::default();
        let mut master = MasterSession::new(config, Box::new(Recorder(seen.clone())));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(100),
        };
        master.on_link_up(&now);
        Harness { master, now, seen }
    }

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
}

type Slot = Arc<Mutex<Option<Result<(), TaskError>>>>;

fn reply_slot() -> (Slot, Reply<()>) {
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    (slot, Reply::new(move |r| *s.lock().unwrap() = Some(r)))
}

fn result(slot: &Slot) -> Option<Result<(), TaskError>> {
    slot.lock().unwrap().take()
}

#[test]
fn immediate_freeze_of_all_counters_completes_on_the_null_response() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::all(FreezeKind::Immediate), reply);
    assert_eq!(h.sent(), "C0 07 14 00 06");
    assert_eq!(result(&slot), None, "waits for the response");
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
    assert_eq!(h.sent(), "");
}

#[test]
fn immediate_freeze_without_ack_of_a_range_completes_once_sent() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let request = FreezeRequest::range(FreezeKind::Immediate, 0, 3).without_ack();
    h.master.freeze(request, reply);
    assert_eq!(h.sent(), "C0 08 14 00 00 00 03");
    assert_eq!(result(&slot), Some(Ok(())));
    assert!(!h.master.is_busy(), "no response is awaited");
}

#[test]
fn freeze_and_clear_of_a_wide_range_uses_two_byte_indexes() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::range(FreezeKind::Clear, 0, 300), reply);
    assert_eq!(h.sent(), "C0 09 14 00 01 00 00 2C 01");
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));

    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::all(FreezeKind::Clear).without_ack(), reply);
    assert_eq!(h.sent(), "C1 0A 14 00 06");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn freeze_at_time_sends_the_time_and_interval_before_the_counters() {
    let mut h = Harness::online();
    let kind = FreezeKind::AtTime {
        time: Timestamp(1000),
        interval_ms: 60_000,
    };
    let (slot, reply) = reply_slot();
    h.master.freeze(FreezeRequest::all(kind), reply);
    assert_eq!(
        h.sent(),
        "C0 0B 32 02 07 01 E8 03 00 00 00 00 60 EA 00 00 14 00 06"
    );
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));

    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::range(kind, 2, 2).without_ack(), reply);
    assert_eq!(
        h.sent(),
        "C1 0C 32 02 07 01 E8 03 00 00 00 00 60 EA 00 00 14 00 00 02 02"
    );
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn a_freeze_the_outstation_does_not_support_fails_with_its_iin_bits() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::all(FreezeKind::Immediate), reply);
    h.sent();
    h.respond("C0 81 00 01");
    assert_eq!(
        result(&slot),
        Some(Err(TaskError::Rejected(Iin::NO_FUNC_CODE_SUPPORT)))
    );
    assert_eq!(h.master.stats().failures, 1);
}

#[test]
fn a_freeze_range_with_stop_before_start_is_a_bad_request() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::range(FreezeKind::Immediate, 5, 4), reply);
    assert!(matches!(result(&slot), Some(Err(TaskError::BadRequest(_)))));
    assert_eq!(h.sent(), "", "nothing is sent");
}

#[test]
fn unsolicited_responses_are_enabled_and_disabled_per_class_on_demand() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master
        .set_unsolicited(true, Classes::CLASS1.union(Classes::CLASS3), reply);
    assert_eq!(h.sent(), "C0 14 3C 02 06 3C 04 06");
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));

    let (slot, reply) = reply_slot();
    h.master.set_unsolicited(false, Classes::CLASS2, reply);
    assert_eq!(h.sent(), "C1 15 3C 03 06");
    h.respond("C1 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn assign_class_names_the_class_then_the_points_it_takes() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let assignments = [
        ClassAssignment::new(
            EventClass::Class2,
            vec![
                (
                    Variation::Group30Var0,
                    PointRange::Range { start: 0, stop: 5 },
                ),
                (Variation::Group1Var0, PointRange::All),
            ],
        ),
        ClassAssignment::new(
            EventClass::None,
            vec![(Variation::Group20Var0, PointRange::All)],
        ),
    ];
    h.master.assign_class(&assignments, reply);
    assert_eq!(
        h.sent(),
        "C0 16 3C 03 06 1E 00 00 00 05 01 00 06 3C 01 06 14 00 06"
    );
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn deadbands_are_written_by_index_one_header_per_variation() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let request = WriteRequest::Deadbands(vec![
        (1, Deadband::U16(100)),
        (2, Deadband::U16(5)),
        (300, Deadband::F32(1.5)),
        (3, Deadband::U32(70_000)),
    ]);
    h.master.write(&request, reply);
    assert_eq!(
        h.sent(),
        "C0 02 22 01 17 02 01 64 00 02 05 00 22 03 28 01 00 2C 01 00 00 C0 3F \
         22 02 17 01 03 70 11 01 00"
    );
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn time_and_interval_is_written_as_an_indexed_g50v4() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let request = WriteRequest::TimeAndInterval {
        index: 0,
        time: Timestamp(1000),
        interval: 5,
        units: 4,
    };
    h.master.write(&request, reply);
    assert_eq!(
        h.sent(),
        "C0 02 32 04 17 01 00 E8 03 00 00 00 00 05 00 00 00 04"
    );
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn any_iin_bit_can_be_cleared_by_its_index() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master.write(&WriteRequest::ClearIin(4), reply);
    assert_eq!(h.sent(), "C0 02 50 01 00 04 04 00");
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));

    let (slot, reply) = reply_slot();
    h.master.write(&WriteRequest::ClearIin(16), reply);
    assert!(matches!(result(&slot), Some(Err(TaskError::BadRequest(_)))));
}

#[test]
fn device_attributes_are_read_from_set_zero() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    h.master.read_attributes(0, ALL_ATTRIBUTES, reply);
    assert_eq!(h.sent(), "C0 01 00 FE 00 00 00");
    h.respond("C0 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));

    let (slot, reply) = reply_slot();
    h.master.read_attributes(0, 252, reply);
    assert_eq!(h.sent(), "C1 01 00 FC 00 00 00");
    h.respond("C1 81 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
}

#[test]
fn a_generic_read_delivers_every_fragment_of_its_response() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let mut headers = ObjectHeaders::new();
    headers.range(Variation::Group30Var1, 0, 1).unwrap();
    h.master.request(FunctionCode::Read, headers, reply);
    assert_eq!(h.sent(), "C0 01 1E 01 00 00 01");
    h.respond("80 81 00 00 1E 01 00 00 00 01 2A 00 00 00");
    assert_eq!(result(&slot), None, "the response goes on");
    h.respond("41 81 00 00 1E 01 00 01 01 01 07 00 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
    assert_eq!(
        *h.seen.lock().unwrap(),
        [(0, "42".to_string()), (1, "7".to_string())]
    );
}

#[test]
fn a_generic_request_sends_raw_headers_and_reports_rejection() {
    let mut h = Harness::online();
    let (slot, reply) = reply_slot();
    let mut headers = ObjectHeaders::new();
    headers.raw(&hex("46 03 5B 01 00")).unwrap();
    h.master.request(FunctionCode::AbortFile, headers, reply);
    assert_eq!(h.sent(), "C0 1E 46 03 5B 01 00");
    h.respond("C0 81 00 02");
    assert_eq!(
        result(&slot),
        Some(Err(TaskError::Rejected(Iin::OBJECT_UNKNOWN)))
    );
}

#[test]
fn a_generic_request_with_a_response_function_code_is_refused() {
    let mut h = Harness::online();
    for function in [FunctionCode::Confirm, FunctionCode::Response] {
        let (slot, reply) = reply_slot();
        h.master.request(function, ObjectHeaders::new(), reply);
        assert!(matches!(result(&slot), Some(Err(TaskError::BadRequest(_)))));
    }
    assert_eq!(h.sent(), "");
}

#[test]
fn object_headers_past_the_fragment_limit_are_refused_and_left_unchanged() {
    let mut headers = ObjectHeaders::new();
    let big = vec![0u8; rdnp3_stack::master::MAX_OBJECT_BYTES];
    headers.raw(&big).unwrap();
    assert!(headers.all(Variation::Group20Var0).is_err());
    assert_eq!(headers.as_bytes().len(), big.len());
}

#[test]
fn requests_while_offline_fail_with_link_down() {
    let mut h = Harness::online();
    h.master.on_link_down(&h.now.clone());
    let (slot, reply) = reply_slot();
    h.master
        .freeze(FreezeRequest::all(FreezeKind::Immediate), reply);
    assert_eq!(result(&slot), Some(Err(TaskError::LinkDown)));
}

fn analog_inputs_to_class_2() -> MasterConfig {
    MasterConfig::default().with_startup_assign_class(vec![ClassAssignment::new(
        EventClass::Class2,
        vec![(Variation::Group30Var0, PointRange::All)],
    )])
}

#[test]
fn startup_assigns_classes_after_disabling_unsolicited_and_before_the_integrity_poll() {
    let mut h = Harness::online_with(analog_inputs_to_class_2());
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C0 81 00 00");
    assert_eq!(h.sent(), "C1 16 3C 03 06 1E 00 06");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "C2 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
    h.respond("C2 81 00 00");
    assert_eq!(h.sent(), "C3 14 3C 02 06 3C 03 06 3C 04 06");
    h.respond("C3 81 00 00");
    assert_eq!(h.sent(), "");
}

#[test]
fn a_refused_startup_assign_class_does_not_hold_up_the_integrity_poll() {
    let mut h = Harness::online_with(analog_inputs_to_class_2());
    h.sent();
    h.respond("C0 81 00 00");
    assert_eq!(h.sent(), "C1 16 3C 03 06 1E 00 06");
    h.respond("C1 81 00 01");
    assert_eq!(h.sent(), "C2 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
}

#[test]
fn class_data_available_triggers_a_read_of_the_configured_classes_only_when_asked() {
    let mut off = Harness::online();
    off.respond("F0 82 06 00");
    assert_eq!(off.sent(), "D0 00");
    assert_eq!(off.sent(), "", "off by default");

    let mut h = Harness::online_with(
        MasterConfig::default()
            .with_disable_unsolicited_at_startup(false)
            .with_startup_integrity(false)
            .with_unsolicited_classes(Classes::NONE)
            .with_event_scan(Classes::CLASS1.union(Classes::CLASS2)),
    );
    // Class 3 data is not in the mask: nothing but the confirm.
    h.respond("F0 82 08 00");
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.sent(), "");
    // Class 2 data available: confirm, then read classes 1 and 2.
    h.respond("F1 82 04 00");
    assert_eq!(h.sent(), "D1 00");
    assert_eq!(h.sent(), "C0 01 3C 02 06 3C 03 06");
    h.respond("C0 81 04 00 1E 01 00 00 00 01 2A 00 00 00");
    assert_eq!(*h.seen.lock().unwrap(), [(0, "42".to_string())]);
    // Still more: scan again; then nothing left.
    assert_eq!(h.sent(), "C1 01 3C 02 06 3C 03 06");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "");
}

#[test]
fn a_queued_request_whose_requester_went_away_is_never_sent() {
    let mut h = Harness::online();
    let (first, reply) = reply_slot();
    h.master.read(ReadRequest::classes(Classes::CLASS1), reply);
    assert_eq!(h.sent(), "C0 01 3C 02 06");
    let wanted = Arc::new(AtomicBool::new(true));
    let probe = wanted.clone();
    let (dropped, reply) = reply_slot();
    let reply = reply.with_wanted(move || probe.load(Relaxed));
    h.master
        .freeze(FreezeRequest::all(FreezeKind::Immediate), reply);
    let (kept, reply) = reply_slot();
    h.master.read(ReadRequest::classes(Classes::CLASS2), reply);
    wanted.store(false, Relaxed);
    h.respond("C0 81 00 00");
    assert_eq!(result(&first), Some(Ok(())));
    assert_eq!(h.sent(), "C1 01 3C 03 06", "the freeze is skipped");
    assert_eq!(result(&dropped), Some(Err(TaskError::Canceled)));
    h.respond("C1 81 00 00");
    assert_eq!(result(&kept), Some(Ok(())));
    assert_eq!(h.master.stats().canceled, 1);
    assert_eq!(h.master.stats().failures, 0);
}

#[test]
fn a_request_on_the_wire_runs_to_its_end_when_its_requester_goes_away() {
    let mut h = Harness::online();
    let wanted = Arc::new(AtomicBool::new(true));
    let probe = wanted.clone();
    let (slot, reply) = reply_slot();
    let reply = reply.with_wanted(move || probe.load(Relaxed));
    h.master.read(ReadRequest::classes(Classes::CLASS1), reply);
    assert_eq!(h.sent(), "C0 01 3C 02 06");
    wanted.store(false, Relaxed);
    h.respond("C0 81 00 00 20 01 28 01 00 07 00 01 2A 00 00 00");
    assert_eq!(result(&slot), Some(Ok(())));
    assert_eq!(h.master.stats().canceled, 0);
    assert_eq!(*h.seen.lock().unwrap(), [(7, "42".to_string())]);
}

#[test]
fn unsolicited_responses_past_the_rate_limit_are_left_unconfirmed_and_counted() {
    let mut h = Harness::online_with(
        MasterConfig::default()
            .with_disable_unsolicited_at_startup(false)
            .with_startup_integrity(false)
            .with_unsolicited_classes(Classes::NONE)
            .with_max_unsolicited_per_second(Some(5)),
    );
    let mut confirms = 0;
    for seq in 0..8u8 {
        // FIR FIN CON UNS, one analog event each (g32v1, index 1, value 7 + seq).
        h.respond(&format!(
            "{:02X} 82 00 00 20 01 28 01 00 01 00 01 {:02X} 00 00 00",
            0xF0 | seq,
            7 + seq
        ));
        while !h.sent().is_empty() {
            confirms += 1;
        }
    }
    let stats = h.master.stats();
    assert_eq!((stats.unsolicited, stats.unsolicited_dropped), (5, 3));
    assert_eq!(confirms, 5, "only what was taken is confirmed");
    assert_eq!(h.seen.lock().unwrap().len(), 5);
    // A second later the outstation's repetition is taken.
    h.now = h.now.after(std::time::Duration::from_secs(1));
    h.respond("F5 82 00 00 20 01 28 01 00 01 00 01 0C 00 00 00");
    assert_eq!(h.sent(), "D5 00");
    assert_eq!(h.master.stats().unsolicited, 6);
}
