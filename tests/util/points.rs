//! The points the tests serve and the events they make: the demo database with every point
//! type (`rdnp3_testkit::demo`), a script of updates that each create one event, and the checks that compare
//! what a master received with what the outstation holds or made.

use super::recorder::{Recorded, Recorder, Val};
use super::{POLL, WAIT};
use rdnp3::stack::objects::{flags, DoubleBit, Timestamp};
use rdnp3::stack::outstation::{Database, PointType, PointValue, Update};
use rdnp3_testkit::demo::DOUBLE_BIT_STATES;
use std::time::Instant;

/// One expected event: index, value and time (`None` for variations without time).
pub type Expected = (u16, Val, Option<Timestamp>);

/// The event variations of [`demo_database`] that carry a time.
fn event_has_time(kind: PointType) -> bool {
    !matches!(
        kind,
        PointType::Counter | PointType::FrozenCounter | PointType::OctetString
    )
}

/// Generates rounds of updates on every point type of [`demo_database`], each update a
/// change (so each creates exactly one event) with a distinct time and, where the type
/// allows, a distinct value; keeps the events they must produce, per type, in order.
pub struct EventScript {
    round: u32,
    binary: [bool; 3],
    double_bit: [DoubleBit; 3],
    output: [bool; 3],
    /// Round, kind and event.
    expected: Vec<(u32, PointType, Expected)>,
}

/// The time of the events of round 0; round k is stamped `EVENT_EPOCH + k` ms.
pub const EVENT_EPOCH: u64 = 1_700_000_000_000;

impl Default for EventScript {
    fn default() -> Self {
        EventScript {
            round: 0,
            // The demo's initial values of indices 0..3.
            binary: [false, true, false],
            double_bit: [
                DOUBLE_BIT_STATES[0],
                DOUBLE_BIT_STATES[1],
                DOUBLE_BIT_STATES[2],
            ],
            output: [false; 3],
            expected: Vec::new(),
        }
    }
}

impl EventScript {
    /// The updates of the next round: one change of each point type, on index round % 3.
    pub fn next_round(&mut self) -> Vec<Update> {
        let k = self.round;
        self.round += 1;
        let i = (k % 3) as u16;
        let at = usize::from(i);
        let time = Timestamp(EVENT_EPOCH + u64::from(k));
        self.binary[at] = !self.binary[at];
        self.output[at] = !self.output[at];
        self.double_bit[at] = if self.double_bit[at] == DoubleBit::DeterminedOn {
            DoubleBit::DeterminedOff
        } else {
            DoubleBit::DeterminedOn
        };
        let octets = format!("ev-{k}").into_bytes();
        let changes = [
            (
                PointType::BinaryInput,
                Update::binary(i, self.binary[at]),
                Val::Binary(self.binary[at]),
            ),
            (
                PointType::DoubleBitInput,
                Update::double_bit(i, self.double_bit[at]),
                Val::DoubleBit(self.double_bit[at]),
            ),
            (
                PointType::BinaryOutputStatus,
                Update::binary_output_status(i, self.output[at]),
                Val::Binary(self.output[at]),
            ),
            (
                PointType::Counter,
                Update::counter(i, 10_000 + k),
                Val::Counter(10_000 + k),
            ),
            (
                PointType::FrozenCounter,
                Update::frozen_counter(i, 20_000 + k),
                Val::Counter(20_000 + k),
            ),
            (
                PointType::AnalogInput,
                Update::analog(i, 1000.0 + f64::from(k)),
                Val::Analog(1000.0 + f64::from(k)),
            ),
            (
                PointType::AnalogOutputStatus,
                Update::analog_output_status(i, 2000.0 + 0.5 * f64::from(k)),
                Val::Analog(2000.0 + 0.5 * f64::from(k)),
            ),
            (
                PointType::OctetString,
                Update::octet_string(i, &octets),
                Val::Bytes(octets.clone()),
            ),
        ];
        let mut updates = Vec::with_capacity(changes.len());
        for (kind, update, value) in changes {
            let t = event_has_time(kind).then_some(time);
            self.expected.push((k, kind, (i, value, t)));
            updates.push(update.with_time(time));
        }
        updates
    }

    /// Rounds made so far.
    pub fn rounds(&self) -> u32 {
        self.round
    }

    /// Events made so far.
    pub fn total(&self) -> usize {
        self.expected.len()
    }

    /// The events of `kind` the rounds so far must produce, in order.
    pub fn expected(&self, kind: PointType) -> Vec<Expected> {
        self.expected_since(kind, 0)
    }

    /// The events of `kind` made by round `first` and later, in order.
    pub fn expected_since(&self, kind: PointType, first: u32) -> Vec<Expected> {
        self.expected
            .iter()
            .filter(|(r, k, _)| *k == kind && *r >= first)
            .map(|(_, _, e)| e.clone())
            .collect()
    }
}

/// Every measurement kind of [`demo_database`].
pub const ALL_KINDS: [PointType; 8] = [
    PointType::BinaryInput,
    PointType::DoubleBitInput,
    PointType::BinaryOutputStatus,
    PointType::Counter,
    PointType::FrozenCounter,
    PointType::AnalogInput,
    PointType::AnalogOutputStatus,
    PointType::OctetString,
];

/// The recorded events of `kind` as (index, value, time).
pub fn received(recorder: &Recorder, kind: PointType) -> Vec<Expected> {
    recorder
        .events_of(kind)
        .into_iter()
        .map(|m| (m.index, m.value, m.time))
        .collect()
}

/// Waits until the recorder holds as many events as the script made, then checks that
/// every type's events are exactly the script's, in order: none missing, none twice.
pub fn assert_events_delivered(recorder: &Recorder, script: &EventScript) {
    assert_events_delivered_since(recorder, script, 0);
}

/// As [`assert_events_delivered`], for the events of round `first` and later only.
pub fn assert_events_delivered_since(recorder: &Recorder, script: &EventScript, first: u32) {
    let total: usize = ALL_KINDS
        .iter()
        .map(|k| script.expected_since(*k, first).len())
        .sum();
    // Wait for the count, then compare: on a timeout the comparison shows what is missing.
    let end = Instant::now() + WAIT;
    while recorder.events().len() < total && Instant::now() < end {
        std::thread::sleep(POLL);
    }
    for kind in ALL_KINDS {
        assert_eq!(
            received(recorder, kind),
            script.expected_since(kind, first),
            "the {} events, in order, each once",
            kind.name()
        );
    }
}

/// Checks a recorded static value against the database's state of the point.
pub fn assert_static_matches(m: &Recorded, db: &Database, ty: PointType) {
    let state = db.get(ty, m.index).expect("the point exists");
    let value = match state.value {
        PointValue::Binary(b) => Val::Binary(b),
        PointValue::DoubleBit(d) => Val::DoubleBit(d),
        PointValue::Counter(c) => Val::Counter(c),
        PointValue::Analog(a) => Val::Analog(a),
        PointValue::OctetString { .. } => {
            Val::Bytes(db.octet_string(m.index).expect("octets").to_vec())
        }
        other => panic!("unexpected value {other:?}"),
    };
    assert_eq!(m.value, value, "{ty} {}", m.index);
    let quality = match ty {
        PointType::BinaryInput | PointType::BinaryOutputStatus => m.flags & !flags::STATE,
        PointType::DoubleBitInput => m.flags & 0x3F,
        _ => m.flags,
    };
    if ty != PointType::OctetString {
        assert_eq!(quality, state.flags, "flags of {ty} {}", m.index);
    }
}

/// Checks that `statics` hold every point of `db` once, with its value and flags.
pub fn assert_statics_equal_database(statics: &[Recorded], db: &Database) {
    for ty in PointType::ALL {
        let got: Vec<&Recorded> = statics.iter().filter(|m| m.kind == ty).collect();
        let indices: Vec<u16> = got.iter().map(|m| m.index).collect();
        assert_eq!(indices, db.indices(ty).collect::<Vec<_>>(), "{ty} indices");
        for m in got {
            assert_static_matches(m, db, ty);
        }
    }
}
