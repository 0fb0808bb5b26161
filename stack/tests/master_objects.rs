//! What the master does with the objects of a response: every standard object reaches the read
//! handler with its flags and time, and one it cannot parse does not blank the outstation.

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    Classes, DeviceAttribute, MasterConfig, MasterSession, Measurement, ReadHandler, ReadRequest,
    Reply, SecurityStatistic, TaskError, TimeObject, UnsupportedObject,
};
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the handler heard, as text lines in the order it heard them.
type Heard = Arc<Mutex<Vec<String>>>;

struct Recorder(Heard);

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let mut line = format!(
            "{} {} {} 0x{:02X}",
            m.kind.name(),
            m.index,
            m.value,
            m.flags
        );
        if let Some(t) = m.time {
            line += &format!(" t={} {}", t.0, m.time_quality.name());
        }
        if let Some(s) = m.status {
            line += &format!(" status={}", s.name());
        }
        if m.event {
            line += " event";
        }
        self.0.lock().unwrap().push(line);
    }

    fn time(&mut self, t: &TimeObject) {
        let (g, v) = t.variation.numbers();
        self.0.lock().unwrap().push(format!(
            "time g{g}v{v} {} t={} {:?} {}",
            t.index,
            t.time.0,
            t.interval,
            t.quality.name()
        ));
    }

    fn security_statistic(&mut self, s: &SecurityStatistic) {
        self.0.lock().unwrap().push(format!(
            "security-statistic {} association={} {} 0x{:02X} {:?} event={}",
            s.index,
            s.association,
            s.value,
            s.flags,
            s.time.map(|t| t.0),
            s.event
        ));
    }

    fn device_attribute(&mut self, a: &DeviceAttribute<'_>) {
        self.0.lock().unwrap().push(format!(
            "attribute set={} v{} type={} {:?}",
            a.set,
            a.variation,
            a.value.data_type,
            a.value.as_str()
        ));
    }

    fn unsupported(&mut self, o: &UnsupportedObject) {
        self.0.lock().unwrap().push(format!("unsupported {o}"));
    }
}

struct Harness {
    master: MasterSession,
    now: Now,
    heard: Heard,
}

impl Harness {
    /// An online master with no startup sequence: only the test's reads go out.
    fn online() -> Self {
        let config = MasterConfig::default()
            .with_startup_integrity(false)
            .with_disable_unsolicited_at_startup(false)
            .with_unsolicited_classes(Classes::NONE);
        let heard: Heard = Arc::default();
        let mut master = MasterSession::new(config, Box::new(Recorder(heard.clone())));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(100),
        };
        master.on_link_up(&now);
        Harness { master, now, heard }
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

    /// Queues an event poll and returns where its result lands.
    fn poll(&mut self) -> Slot {
        let slot: Slot = Arc::default();
        let s = slot.clone();
        let reply: Reply<()> = Reply::new(move |r| *s.lock().unwrap() = Some(r));
        self.master
            .read(ReadRequest::classes(Classes::EVENTS), reply);
        slot
    }

    fn heard(&self) -> Vec<String> {
        std::mem::take(&mut *self.heard.lock().unwrap())
    }
}

type Slot = Arc<Mutex<Option<Result<(), TaskError>>>>;

const G30V1_INDEX0_VALUE7: &str = "1E 01 00 00 00 01 07 00 00 00";

#[test]
fn an_unknown_object_after_analogs_delivers_the_analogs_and_is_not_confirmed() {
    let mut h = Harness::online();
    let result = h.poll();
    assert_eq!(h.sent(), "C0 01 3C 02 06 3C 03 06 3C 04 06");
    // CON set; g30v1 index 0, then g99v1, which no standard defines.
    h.respond(&format!(
        "E0 81 00 00 {G30V1_INDEX0_VALUE7} 63 01 00 00 00 01"
    ));
    assert_eq!(
        h.heard(),
        ["analog 0 7 0x01", "unsupported g99v1 (UNKNOWN_OBJECT)"]
    );
    assert_eq!(h.sent(), "", "no confirm: the outstation keeps its events");
    assert_eq!(
        result.lock().unwrap().take(),
        Some(Err(TaskError::UnsupportedObject {
            group: 99,
            variation: 1
        }))
    );
    assert_eq!(h.master.stats().unsupported, 1);
    assert_eq!(h.master.stats().confirms, 0);
    assert_eq!(h.master.stats().polls, 0);
}

#[test]
fn polls_after_an_unknown_object_succeed() {
    let mut h = Harness::online();
    let first = h.poll();
    assert_eq!(h.sent(), "C0 01 3C 02 06 3C 03 06 3C 04 06");
    h.respond(&format!(
        "E0 81 00 00 {G30V1_INDEX0_VALUE7} 1F 09 00 00 00 01"
    ));
    assert!(matches!(
        first.lock().unwrap().take(),
        Some(Err(TaskError::UnsupportedObject {
            group: 31,
            variation: 9
        }))
    ));
    h.heard();
    let second = h.poll();
    assert_eq!(h.sent(), "C1 01 3C 02 06 3C 03 06 3C 04 06");
    h.respond(&format!("E1 81 00 00 {G30V1_INDEX0_VALUE7}"));
    assert_eq!(h.sent(), "C1 00", "a parsable fragment is confirmed");
    assert_eq!(second.lock().unwrap().take(), Some(Ok(())));
    assert_eq!(h.heard(), ["analog 0 7 0x01"]);
    assert_eq!(h.master.stats().polls, 1);
}

#[test]
fn a_malformed_header_is_reported_with_its_group_and_variation() {
    let mut h = Harness::online();
    let result = h.poll();
    h.sent();
    // g30v1 announcing two objects but carrying one.
    h.respond(&format!(
        "E0 81 00 00 {G30V1_INDEX0_VALUE7} 1E 01 00 01 02 01 07 00 00 00"
    ));
    assert_eq!(
        h.heard(),
        ["analog 0 7 0x01", "unsupported g30v1 (TRUNCATED)"]
    );
    assert_eq!(h.sent(), "");
    assert!(matches!(
        result.lock().unwrap().take(),
        Some(Err(TaskError::UnsupportedObject {
            group: 30,
            variation: 1
        }))
    ));
}

#[test]
fn an_unsolicited_response_with_an_unknown_object_is_delivered_up_to_it_and_not_confirmed() {
    let mut h = Harness::online();
    h.respond(&format!(
        "F3 82 00 00 {G30V1_INDEX0_VALUE7} 63 01 00 00 00 01"
    ));
    assert_eq!(
        h.heard(),
        ["analog 0 7 0x01", "unsupported g99v1 (UNKNOWN_OBJECT)"]
    );
    assert_eq!(h.sent(), "");
    assert_eq!(h.master.stats().unsupported, 1);
}

/// Answers one event poll with `objects` (CON set) and returns what the handler heard.
fn poll_answered_with(iin: &str, objects: &str) -> Vec<String> {
    let mut h = Harness::online();
    let result = h.poll();
    assert_eq!(h.sent(), "C0 01 3C 02 06 3C 03 06 3C 04 06");
    h.respond(&format!("E0 81 {iin} {objects}"));
    assert_eq!(h.sent(), "C0 00", "confirmed");
    assert_eq!(result.lock().unwrap().take(), Some(Ok(())));
    h.heard()
}

#[test]
fn frozen_analogs_are_delivered_with_flags_and_time_of_freeze() {
    // g31v3 index 3 = 100000 frozen at 1234 ms; g33v7 event index 4 = 2.5 at 1234 ms;
    // g31v6 index 5 = 7 (no flags: ONLINE).
    let heard = poll_answered_with(
        "00 00",
        "1F 03 17 01 03 01 A0 86 01 00 D2 04 00 00 00 00 \
         21 07 17 01 04 21 00 00 20 40 D2 04 00 00 00 00 \
         1F 06 00 05 05 07 00",
    );
    assert_eq!(
        heard,
        [
            "frozen-analog 3 100000 0x01 t=1234 synchronized",
            "frozen-analog 4 2.5 0x21 t=1234 synchronized event",
            "frozen-analog 5 7 0x01",
        ]
    );
}

#[test]
fn command_events_are_delivered_with_their_command_status() {
    // g13v2 index 1: commanded on, status 0 at 1234 ms; g43v5 index 2: 2.5, status NOT_SUPPORTED.
    let heard = poll_answered_with(
        "00 00",
        "0D 02 17 01 01 80 D2 04 00 00 00 00 2B 05 17 01 02 04 00 00 20 40",
    );
    assert_eq!(
        heard,
        [
            "binary-command-event 1 true 0x81 t=1234 synchronized status=SUCCESS event",
            "analog-command-event 2 2.5 0x01 status=NOT_SUPPORTED event",
        ]
    );
}

#[test]
fn times_relative_to_an_unsynchronized_cto_are_unsynchronized() {
    // g51v2 CTO 1000 ms, g2v3 index 0 +10 ms; then g51v1 CTO 1000, g2v3 index 1 +20 ms.
    let heard = poll_answered_with(
        "00 00",
        "33 02 07 01 E8 03 00 00 00 00 02 03 17 01 00 81 0A 00 \
         33 01 07 01 E8 03 00 00 00 00 02 03 17 01 01 81 14 00",
    );
    assert_eq!(
        heard,
        [
            "binary 0 true 0x81 t=1010 unsynchronized event",
            "binary 1 true 0x81 t=1020 synchronized event",
        ]
    );
}

#[test]
fn times_in_a_response_asking_for_time_are_unsynchronized() {
    // IIN1.4 NEED_TIME; g2v2 index 0 at 1234 ms.
    let heard = poll_answered_with("10 00", "02 02 17 01 00 81 D2 04 00 00 00 00");
    assert_eq!(heard, ["binary 0 true 0x81 t=1234 unsynchronized event"]);
}

#[test]
fn time_objects_reach_their_callback_with_interval_and_quality() {
    // g50v1 at 1234 ms, then g50v4 index 3 at 1234 ms every 3600 s (units 2).
    let heard = poll_answered_with(
        "00 00",
        "32 01 07 01 D2 04 00 00 00 00 32 04 17 01 03 D2 04 00 00 00 00 10 0E 00 00 02",
    );
    assert_eq!(
        heard,
        [
            "time g50v1 0 t=1234 None synchronized",
            "time g50v4 3 t=1234 Some((3600, 2)) synchronized",
        ]
    );
    let heard = poll_answered_with("10 00", "32 01 07 01 D2 04 00 00 00 00");
    assert_eq!(heard, ["time g50v1 0 t=1234 None unsynchronized"]);
}

#[test]
fn security_statistics_and_device_attributes_reach_their_callbacks() {
    // g121v1 index 3: association 2, count 42; g122v2 the same as an event at 1234 ms;
    // g0v242 of set 0: software version "1.0".
    let heard = poll_answered_with(
        "00 00",
        "79 01 17 01 03 01 02 00 2A 00 00 00 \
         7A 02 17 01 03 01 02 00 2A 00 00 00 D2 04 00 00 00 00 \
         00 F2 00 00 00 01 03 31 2E 30",
    );
    assert_eq!(
        heard,
        [
            "security-statistic 3 association=2 42 0x01 None event=false",
            "security-statistic 3 association=2 42 0x01 Some(1234) event=true",
            "attribute set=0 v242 type=1 Some(\"1.0\")",
        ]
    );
}
