//! The master in the field: confirms that arrive together, repeated unsolicited responses,
//! fragments rejected before they are confirmed, IIN reactions that hold while the bit holds,
//! and periodic polls that a stream of user requests does not starve (IEEE 1815-2012, clause 4).

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    Classes, MasterConfig, MasterSession, Measurement, ReadHandler, ReadRequest, Reply,
    TimeSyncMode,
};
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes as hex, spaced as to_hex};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    fn online(config: MasterConfig) -> Self {
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

    fn seen(&self) -> Vec<(u16, String)> {
        self.seen.lock().unwrap().clone()
    }
}

/// No startup tasks: the master sends only what the test asks for.
fn quiet() -> MasterConfig {
    MasterConfig::default()
        .with_disable_unsolicited_at_startup(false)
        .with_startup_integrity(false)
        .with_unsolicited_classes(Classes::NONE)
}

fn user_read(h: &mut Harness) {
    h.master
        .read(ReadRequest::classes(Classes::CLASS1), Reply::new(|_| {}));
}

#[test]
fn two_response_fragments_that_arrive_together_are_both_confirmed_in_order() {
    let mut h = Harness::online(quiet());
    user_read(&mut h);
    assert_eq!(h.sent(), "C0 01 3C 02 06");
    h.respond("A0 81 00 00 1E 01 00 00 00 01 07 00 00 00");
    h.respond("61 81 00 00 1E 01 00 01 01 01 08 00 00 00");
    assert_eq!(h.sent(), "C0 00");
    assert_eq!(h.sent(), "C1 00");
    assert_eq!(h.sent(), "");
    assert_eq!(h.master.stats().confirms, 2);
}

#[test]
fn an_unsolicited_response_and_a_response_that_arrive_together_are_both_confirmed() {
    let mut h = Harness::online(quiet());
    user_read(&mut h);
    assert_eq!(h.sent(), "C0 01 3C 02 06");
    h.respond("F3 82 00 00 02 01 28 01 00 00 00 81");
    h.respond("E0 81 00 00");
    assert_eq!(h.sent(), "D3 00");
    assert_eq!(h.sent(), "C0 00");
}

#[test]
fn a_repeated_unsolicited_response_is_confirmed_again_and_delivered_once() {
    let mut h = Harness::online(quiet());
    h.respond("F5 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(h.sent(), "D5 00");
    // The confirm was lost: the outstation repeats the same fragment with the same SEQ.
    h.respond("F5 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(h.sent(), "D5 00", "confirmed again");
    assert_eq!(h.seen(), [(0, "true".to_string())], "delivered once");
    assert_eq!(h.master.stats().unsolicited, 1);
    // New data with the next SEQ is delivered.
    h.respond("F6 82 00 00 02 01 28 01 00 00 00 01");
    assert_eq!(h.sent(), "D6 00");
    assert_eq!(h.seen().len(), 2);
}

#[test]
fn an_unsolicited_response_with_the_same_seq_but_other_content_is_delivered() {
    let mut h = Harness::online(quiet());
    h.respond("F5 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(h.sent(), "D5 00");
    h.respond("F5 82 00 00 02 01 28 01 00 01 00 81");
    assert_eq!(h.sent(), "D5 00");
    assert_eq!(h.seen().len(), 2);
}

#[test]
fn an_unsolicited_response_that_is_not_fir_and_fin_is_neither_confirmed_nor_delivered() {
    let mut h = Harness::online(quiet());
    for control in ["B1", "71", "31"] {
        h.respond(&format!("{control} 82 00 00 02 01 28 01 00 00 00 81"));
        assert_eq!(h.sent(), "", "{control} is not confirmed");
    }
    assert!(h.seen().is_empty());
    assert_eq!(h.master.stats().ignored, 3);
    assert_eq!(h.master.stats().unsolicited, 0);
}

#[test]
fn a_response_fragment_out_of_order_is_neither_confirmed_nor_delivered() {
    let mut h = Harness::online(quiet());
    user_read(&mut h);
    assert_eq!(h.sent(), "C0 01 3C 02 06");
    // A first fragment without FIR.
    h.respond("20 81 00 00 1E 01 00 00 00 01 07 00 00 00");
    assert_eq!(h.sent(), "", "not confirmed");
    assert!(h.seen().is_empty());
    // A second fragment with FIR again.
    user_read(&mut h);
    assert_eq!(h.sent(), "C1 01 3C 02 06");
    h.respond("A1 81 00 00 1E 01 00 00 00 01 07 00 00 00");
    assert_eq!(h.sent(), "C1 00");
    h.respond("E2 81 00 00 1E 01 00 01 01 01 08 00 00 00");
    assert_eq!(
        h.sent(),
        "",
        "the FIR fragment in the middle is not confirmed"
    );
    assert_eq!(h.seen(), [(0, "7".to_string())]);
}

#[test]
fn a_rejected_clear_restart_is_retried_with_back_off_while_the_bit_stays_set() {
    let mut h = Harness::online(quiet());
    h.respond("F0 82 80 00");
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.sent(), "C0 02 50 01 00 07 07 00");
    // Refused: PARAMETER_ERROR.
    h.respond("C0 81 80 04");
    assert_eq!(h.sent(), "", "waits out the back-off");
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), "C1 02 50 01 00 07 07 00", "retried");
    h.respond("C1 81 80 00");
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), "", "the back-off doubled");
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), "C2 02 50 01 00 07 07 00");
    h.respond("C2 81 00 00");
    h.advance(Duration::from_secs(60));
    assert_eq!(h.sent(), "", "done once the bit is clear");
}

#[test]
fn a_failed_time_sync_is_retried_while_need_time_stays_set() {
    let mut h = Harness::online(quiet().with_time_sync(Some(TimeSyncMode::Lan)));
    h.respond("F0 82 10 00");
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.sent(), "C0 18");
    // RECORD_CURRENT_TIME not supported.
    h.respond("C0 81 10 01");
    assert_eq!(h.sent(), "");
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), "C1 18", "retried while NEED_TIME is set");
}

#[test]
fn a_retry_is_dropped_once_the_bit_is_no_longer_set() {
    let mut h = Harness::online(quiet());
    h.respond("F0 82 80 00");
    assert_eq!(h.sent(), "D0 00");
    assert_eq!(h.sent(), "C0 02 50 01 00 07 07 00");
    h.respond("C0 81 80 04");
    h.respond("F1 82 00 00");
    assert_eq!(h.sent(), "D1 00");
    h.advance(Duration::from_secs(60));
    assert_eq!(h.sent(), "");
}

#[test]
fn a_steady_stream_of_user_requests_does_not_starve_a_periodic_poll() {
    let mut h = Harness::online(quiet());
    h.master.add_poll(
        &h.now.clone(),
        ReadRequest::classes(Classes::CLASS2),
        Duration::from_secs(1),
    );
    h.advance(Duration::from_secs(1));
    let mut poll_ran = false;
    for seq in 0..8u8 {
        // Always another user request waiting.
        user_read(&mut h);
        user_read(&mut h);
        let sent = h.sent();
        if sent.ends_with("3C 03 06") {
            poll_ran = true;
            break;
        }
        assert_eq!(sent, format!("C{seq:X} 01 3C 02 06"));
        h.respond(&format!("C{seq:X} 81 00 00"));
    }
    assert!(poll_ran, "the periodic poll ran between user requests");
}
