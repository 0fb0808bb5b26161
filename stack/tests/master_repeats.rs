//! Events an outstation reports again after missing the master's CONFIRM are delivered once:
//! hand-made response fragments drive a master association without I/O (IEEE 1815-2012,
//! clause 4: unconfirmed events stay buffered and come again in the next response).

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    Classes, MasterConfig, MasterSession, Measurement, ReadHandler, ReadRequest, Reply,
};
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// (index, value, time) of each binary delivered.
type Seen = Arc<Mutex<Vec<(u16, String, Option<u64>)>>>;

struct Recorder(Seen);

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let time = m.time.map(|t| t.0);
        self.0
            .lock()
            .unwrap()
            .push((m.index, m.value.to_string(), time));
    }
}

struct Harness {
    master: MasterSession,
    now: Now,
    seen: Seen,
}

impl Harness {
    /// An online master with no startup sequence: it sends only what the test asks.
    fn new(suppress: bool) -> Self {
        Self::with(
            MasterConfig::default()
                .with_disable_unsolicited_at_startup(false)
                .with_suppress_repeated_events(suppress),
        )
    }

    /// An online master without startup integrity poll nor unsolicited reporting.
    fn with(config: MasterConfig) -> Self {
        let config = config
            .with_startup_integrity(false)
            .with_unsolicited_classes(Classes::NONE);
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
        self.master
            .on_fragment(&self.now, 1024, AddressKind::Station, &hex(s));
    }

    /// Reads the event classes; the response (SEQ `seq`) carries `objects`.
    fn poll(&mut self, seq: u8, objects: &str) {
        let reply = Reply::new(|_| {});
        self.master
            .read(ReadRequest::classes(Classes::EVENTS), reply);
        let request = format!("{:02X} 01 3C 02 06 3C 03 06 3C 04 06", 0xC0 | seq);
        assert_eq!(self.sent(), request);
        self.respond(&format!("{:02X} 81 00 00 {objects}", 0xE0 | seq));
        assert_eq!(self.sent(), format!("{:02X} 00", 0xC0 | seq));
    }

    fn seen(&self) -> Vec<(u16, String, Option<u64>)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Binary input 3 = true (ONLINE | STATE) at 1 000 ms, as g2v2.
const EVENT_AT_1000: &str = "02 02 17 01 03 81 E8 03 00 00 00 00";
/// The same point and value at 1 001 ms, then the event at 1 000 ms again.
const NEW_THEN_REPEAT: &str = "02 02 17 02 03 81 E9 03 00 00 00 00 03 81 E8 03 00 00 00 00";

#[test]
fn an_event_repeated_after_a_lost_confirm_is_not_delivered_again() {
    let mut h = Harness::new(true);
    h.poll(0, EVENT_AT_1000);
    assert_eq!(h.seen(), [(3, "true".into(), Some(1000))]);
    // Our confirm never arrived: the outstation reports the event again, beside a new one
    // with the same value and a later time.
    h.poll(1, NEW_THEN_REPEAT);
    assert_eq!(h.seen(), [(3, "true".into(), Some(1001))]);
    assert_eq!(h.master.stats().repeated_events, 1);
    assert_eq!(h.master.stats().measurements, 2);
}

#[test]
fn without_suppression_a_repeated_event_is_delivered_again() {
    let mut h = Harness::new(false);
    h.poll(0, EVENT_AT_1000);
    h.poll(1, NEW_THEN_REPEAT);
    assert_eq!(h.seen().len(), 3);
    assert_eq!(h.master.stats().repeated_events, 0);
}

#[test]
fn untimed_events_are_always_delivered() {
    let mut h = Harness::new(true);
    // g2v1: binary input 3 = true, no time.
    h.poll(0, "02 01 17 01 03 81");
    h.poll(1, "02 01 17 01 03 81");
    assert_eq!(h.seen().len(), 2);
    assert_eq!(h.master.stats().repeated_events, 0);
}

#[test]
fn an_event_repeated_in_an_unsolicited_response_is_not_delivered_again() {
    let mut h = Harness::new(true);
    h.poll(0, EVENT_AT_1000);
    h.seen();
    h.respond(&format!("F0 82 00 00 {NEW_THEN_REPEAT}"));
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.seen(), [(3, "true".into(), Some(1001))]);
    assert_eq!(h.master.stats().repeated_events, 1);
}

#[test]
fn a_repeated_unsolicited_response_is_confirmed_again_but_delivered_once() {
    let mut h = Harness::new(true);
    let unsolicited = format!("F5 82 00 00 {EVENT_AT_1000}");
    h.respond(&unsolicited);
    assert_eq!(h.sent(), "D5 00");
    // Our confirm was lost: the outstation sends the same response with the same SEQ.
    h.respond(&unsolicited);
    assert_eq!(h.sent(), "D5 00");
    assert_eq!(h.seen(), [(3, "true".into(), Some(1000))]);
    assert_eq!(h.master.stats().unsolicited, 1);
}

#[test]
fn events_in_the_answer_to_a_request_that_reads_nothing_are_not_confirmed() {
    // Property test seed 338919: a new master's DISABLE_UNSOLICITED (SEQ 0) was lost, and the
    // outstation's answer to the old master's READ with SEQ 0 came instead. Confirmed but not
    // delivered, its events were lost; unconfirmed, the outstation reports them again.
    let mut h = Harness::with(MasterConfig::default());
    assert_eq!(h.sent(), "C0 15 3C 02 06 3C 03 06 3C 04 06");
    h.respond(&format!("E0 81 00 00 {EVENT_AT_1000}"));
    assert_eq!(h.sent(), "");
    assert_eq!(h.master.stats().confirms, 0);
}
