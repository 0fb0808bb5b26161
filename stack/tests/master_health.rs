//! The health of a master association as its listener and statistics report it: online and
//! offline transitions, every task's result, IIN changes, restarts, unsolicited activity, the
//! last success and failure times, the round-trip time and the published statistics slot.

use rdnp3_stack::app::Iin;
use rdnp3_stack::link::AddressKind;
use rdnp3_stack::master::{
    AssociationListener, AssociationState, Classes, MasterConfig, MasterSession, NullReadHandler,
    ReadRequest, Reply, TaskError,
};
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::bytes as hex;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Heard = Arc<Mutex<Vec<String>>>;

/// Writes every report down as one line.
struct Recorder(Heard);

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

impl AssociationListener for Recorder {
    fn state_changed(&mut self, state: AssociationState) {
        self.push(format!("state {}", state.name()));
    }

    fn task_completed(&mut self, task: &'static str, result: &Result<(), TaskError>) {
        match result {
            Ok(()) => self.push(format!("{task}: ok")),
            Err(e) => self.push(format!("{task}: {e:?}")),
        }
    }

    fn iin_changed(&mut self, iin: Iin) {
        self.push(format!("iin {:04X}", iin.0));
    }

    fn restart_detected(&mut self) {
        self.push("restart".to_string());
    }

    fn unsolicited(&mut self, with_data: bool) {
        self.push(format!("unsolicited with_data={with_data}"));
    }
}

struct Harness {
    master: MasterSession,
    now: Now,
    heard: Heard,
}

impl Harness {
    /// An association with no startup tasks, so that each test drives its own reads.
    fn quiet() -> Self {
        Self::new(
            MasterConfig::default()
                .with_disable_unsolicited_at_startup(false)
                .with_startup_integrity(false)
                .with_unsolicited_classes(Classes::NONE),
        )
    }

    fn new(config: MasterConfig) -> Self {
        let heard = Heard::default();
        let mut master = MasterSession::new(config, Box::new(NullReadHandler));
        master.set_listener(Box::new(Recorder(heard.clone())));
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(1_000),
        };
        Harness { master, now, heard }
    }

    fn link_up(&mut self) {
        self.master.on_link_up(&self.now.clone());
    }

    fn link_down(&mut self) {
        self.master.on_link_down(&self.now.clone());
    }

    /// The next fragment the master sends, its first two bytes as hex ("" when nothing).
    fn sent(&mut self) -> String {
        let mut out = [0u8; 2048];
        match self.master.next_fragment(&self.now, &mut out) {
            Some(n) => format!("{:02X} {:02X}", out[0], out[1.min(n - 1)]),
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

    fn read(&mut self) {
        self.master
            .read(ReadRequest::classes(Classes::EVENTS), Reply::new(|_| {}));
    }

    fn heard(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.heard.lock().unwrap())
    }
}

#[test]
fn an_association_goes_online_when_its_first_task_succeeds_and_offline_when_the_link_drops() {
    let mut h = Harness::quiet();
    h.link_up();
    assert_eq!(h.master.state(), AssociationState::Offline);
    assert_eq!(
        h.heard(),
        Vec::<String>::new(),
        "link up alone is not online"
    );
    h.read();
    assert_eq!(h.sent(), "C0 01");
    h.respond("C0 81 00 00");
    assert_eq!(h.heard(), ["iin 0000", "state online", "read: ok"]);
    assert_eq!(h.master.state(), AssociationState::Online);
    h.read();
    assert_eq!(h.sent(), "C1 01");
    h.respond("C1 81 00 00");
    assert_eq!(h.heard(), ["read: ok"], "online is reported once");
    h.link_down();
    assert_eq!(h.heard(), ["state offline"]);
    assert_eq!(h.master.state(), AssociationState::Offline);
}

#[test]
fn an_association_goes_offline_after_three_failed_tasks_in_a_row_and_back_online_on_success() {
    let mut h = Harness::quiet();
    h.link_up();
    h.read();
    h.sent();
    h.respond("C0 81 00 00");
    h.heard();
    for seq in 1..=3 {
        h.read();
        assert_eq!(h.sent(), format!("C{seq} 01"));
        h.advance(Duration::from_secs(6));
    }
    assert_eq!(
        h.heard(),
        [
            "read: Timeout",
            "read: Timeout",
            "state offline",
            "read: Timeout"
        ]
    );
    h.read();
    assert_eq!(h.sent(), "C4 01");
    h.respond("C4 81 00 00");
    assert_eq!(h.heard(), ["state online", "read: ok"]);
}

#[test]
fn a_success_between_failures_restarts_the_count() {
    let mut h = Harness::new(
        MasterConfig::default()
            .with_disable_unsolicited_at_startup(false)
            .with_startup_integrity(false)
            .with_unsolicited_classes(Classes::NONE)
            .with_offline_after_failures(2),
    );
    h.link_up();
    let answers = [false, true, false, true, false, false];
    for (seq, answered) in answers.into_iter().enumerate() {
        h.read();
        h.sent();
        if answered {
            h.respond(&format!("C{seq:X} 81 00 00"));
        } else {
            h.advance(Duration::from_secs(6));
        }
    }
    let states: Vec<_> = h
        .heard()
        .into_iter()
        .filter(|l| l.starts_with("state"))
        .collect();
    assert_eq!(states, ["state online", "state offline"]);
}

#[test]
fn the_startup_tasks_are_reported_by_name() {
    let mut h = Harness::new(MasterConfig::default());
    h.link_up();
    assert_eq!(h.sent(), "C0 15");
    h.respond("C0 81 80 00");
    assert_eq!(h.sent(), "C1 02");
    h.respond("C1 81 00 00");
    assert_eq!(h.sent(), "C2 01");
    h.respond("C2 81 00 00");
    assert_eq!(h.sent(), "C3 14");
    h.respond("C3 81 00 00");
    assert_eq!(
        h.heard(),
        [
            "iin 0080",
            "restart",
            "state online",
            "disable unsolicited: ok",
            "iin 0000",
            "clear restart: ok",
            "integrity poll: ok",
            "enable unsolicited: ok",
        ]
    );
}

#[test]
fn periodic_polls_report_their_results() {
    let mut h = Harness::quiet();
    h.link_up();
    let now = h.now;
    h.master.add_poll(
        &now,
        ReadRequest::classes(Classes::EVENTS),
        Duration::from_secs(10),
    );
    h.advance(Duration::from_secs(10));
    assert_eq!(h.sent(), "C0 01");
    h.respond("C0 81 00 00");
    assert_eq!(h.heard(), ["iin 0000", "state online", "periodic poll: ok"]);
}

#[test]
fn a_rejected_task_is_reported_with_its_iin2_bits() {
    let mut h = Harness::quiet();
    h.link_up();
    h.master
        .set_unsolicited(true, Classes::EVENTS, Reply::new(|_| {}));
    assert_eq!(h.sent(), "C0 14");
    h.respond("C0 81 00 02");
    assert_eq!(
        h.heard(),
        ["iin 0200", "enable unsolicited: Rejected(Iin(512))"],
        "OBJECT_UNKNOWN is IIN2.1"
    );
    assert_eq!(h.master.stats().last_failure, Some(Timestamp(1_000)));
    assert_eq!(h.master.stats().last_success, None);
}

#[test]
fn a_response_with_an_unsupported_object_is_reported() {
    let mut h = Harness::quiet();
    h.link_up();
    h.read();
    h.sent();
    h.respond("C0 81 00 00 63 01 00 00 00 01");
    assert_eq!(
        h.heard(),
        [
            "iin 0000",
            "read: UnsupportedObject { group: 99, variation: 1 }"
        ]
    );
}

#[test]
fn a_task_in_flight_when_the_link_drops_is_reported_as_link_down() {
    let mut h = Harness::quiet();
    h.link_up();
    h.read();
    h.sent();
    h.respond("C0 81 00 00");
    h.read();
    h.sent();
    h.heard();
    h.link_down();
    assert_eq!(h.heard(), ["read: LinkDown", "state offline"]);
    h.read();
    assert_eq!(h.heard(), ["read: LinkDown"], "a request while offline too");
}

#[test]
fn iin_changes_are_reported_once_and_a_restart_on_its_rising_edge_only() {
    let mut h = Harness::quiet();
    h.link_up();
    let iins = [
        "00 00", "00 00", "10 00", "90 00", "90 00", "00 00", "80 00",
    ];
    for (seq, iin) in iins.into_iter().enumerate() {
        h.read();
        h.sent();
        h.respond(&format!("C{seq:X} 81 {iin}"));
    }
    let reports: Vec<_> = h
        .heard()
        .into_iter()
        .filter(|l| l.starts_with("iin") || l == "restart")
        .collect();
    assert_eq!(
        reports,
        ["iin 0000", "iin 0010", "iin 0090", "restart", "iin 0000", "iin 0080", "restart"]
    );
}

#[test]
fn unsolicited_responses_are_reported_with_whether_they_carry_data() {
    let mut h = Harness::quiet();
    h.link_up();
    h.respond("F0 82 00 00");
    assert_eq!(h.sent(), "D0 00");
    h.respond("F1 82 00 00 02 01 28 01 00 00 00 81");
    assert_eq!(
        h.heard(),
        [
            "iin 0000",
            "unsolicited with_data=false",
            "unsolicited with_data=true"
        ]
    );
}

#[test]
fn the_round_trip_time_is_measured_from_request_to_response() {
    let mut h = Harness::quiet();
    h.link_up();
    assert_eq!(h.master.stats().last_rtt, None);
    let samples = [80, 160, 0];
    for (seq, ms) in samples.into_iter().enumerate() {
        h.read();
        h.sent();
        h.advance(Duration::from_millis(ms));
        h.respond(&format!("C{seq} 81 00 00"));
    }
    let stats = h.master.stats();
    assert_eq!(stats.last_rtt, Some(Duration::ZERO));
    // 80, then 80 + (160 - 80) / 8 = 90, then 90 - 90 / 8 = 78.75.
    assert_eq!(stats.rtt_average, Some(Duration::from_micros(78_750)));
}

#[test]
fn last_success_and_failure_carry_the_wall_clock_of_the_step() {
    let mut h = Harness::quiet();
    h.link_up();
    h.read();
    h.sent();
    h.advance(Duration::from_secs(1));
    h.respond("C0 81 00 00");
    h.read();
    h.sent();
    h.advance(Duration::from_secs(6));
    let stats = h.master.stats();
    assert_eq!(stats.last_success, Some(Timestamp(2_000)));
    assert_eq!(stats.last_failure, Some(Timestamp(8_000)));
}

#[test]
fn the_stats_slot_holds_the_counters_as_of_the_last_task() {
    let mut h = Harness::quiet();
    let slot = h.master.stats_slot();
    assert_eq!(slot.outstation_address(), 1024);
    assert_eq!(slot.local_address(), 1);
    h.link_up();
    h.read();
    h.sent();
    assert_eq!(slot.read().requests, 0, "published when the task ends");
    h.respond("C0 81 00 00");
    assert_eq!(slot.read(), *h.master.stats());
    assert_eq!(slot.read().polls, 1);
}
