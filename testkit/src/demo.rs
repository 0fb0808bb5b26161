//! The demo outstation database, one definition for the examples and the end-to-end tests.
//!
//! Every point is class 1 and starts ONLINE:
//!
//! | type                 | indices | value                                               |
//! |----------------------|---------|-----------------------------------------------------|
//! | binary input         | 0–9     | true when the index is odd                          |
//! | double-bit input     | 0–3     | intermediate, off, on, indeterminate                |
//! | counter              | 0–9     | 100 × index + offset                                |
//! | frozen counter       | 0–9     | 0 ([`interop_database`]); 7 × index + offset (tests) |
//! | analog input         | 0–9     | 1.5 × index + offset (g30v5 static, g32v7 events)   |
//! | binary output status | 0–9     | false                                               |
//! | analog output status | 0–9     | 0.0 (g40v3 static, g42v7 events)                    |
//! | octet string         | 0–2     | `"os-<index>"` (tests only)                         |
//!
//! [`interop_database`] is exactly what `tests/interop/demo_db.py` describes and what the
//! opendnp3 peers check the `outstation` example against (offset 0, no octet strings);
//! [`demo_database`] adds what the tests need to tell points and outstations apart.

use rdnp3_stack::objects::{flags, DoubleBit, Variation};
use rdnp3_stack::outstation::{
    Database, DatabaseBuilder, EventClass, PointConfig, PointType, Update,
};

/// The initial states of double-bit inputs 0–3.
pub const DOUBLE_BIT_STATES: [DoubleBit; 4] = [
    DoubleBit::Intermediate,
    DoubleBit::DeterminedOff,
    DoubleBit::DeterminedOn,
    DoubleBit::Indeterminate,
];

/// The database the examples serve, matching `tests/interop/demo_db.py`: offset 0, frozen
/// counters 0, no octet strings.
pub fn interop_database() -> Database {
    build(0, false)
}

/// The tests' demo database: [`interop_database`] plus octet strings 0–2 and frozen counters
/// of distinct values, with `offset` added to every counter, frozen counter and analog input
/// so that two outstations can be told apart.
pub fn demo_database(offset: u32) -> Database {
    build(offset, true)
}

fn build(offset: u32, for_tests: bool) -> Database {
    let class1 = PointConfig::new(EventClass::Class1).with_initial_flags(flags::ONLINE);
    let mut builder = DatabaseBuilder::new()
        .add(PointType::BinaryInput, 0..10, class1)
        .add(PointType::DoubleBitInput, 0..4, class1)
        .add(PointType::Counter, 0..10, class1)
        .add(PointType::FrozenCounter, 0..10, class1)
        .add(
            PointType::AnalogInput,
            0..10,
            class1
                .with_static_variation(Variation::Group30Var5)
                .with_event_variation(Variation::Group32Var7),
        )
        .add(PointType::BinaryOutputStatus, 0..10, class1)
        .add(
            PointType::AnalogOutputStatus,
            0..10,
            class1
                .with_static_variation(Variation::Group40Var3)
                .with_event_variation(Variation::Group42Var7),
        );
    if for_tests {
        builder = builder.add(PointType::OctetString, 0..3, class1);
    }
    let mut db = builder.build().expect("the demo database is valid");
    let frozen_step = if for_tests { 7 } else { 0 };
    let mut initial = Vec::new();
    for i in 0..10u16 {
        let n = u32::from(i);
        initial.push(Update::binary(i, i % 2 == 1));
        initial.push(Update::counter(i, 100 * n + offset));
        initial.push(Update::frozen_counter(i, frozen_step * n + offset));
        initial.push(Update::analog(i, 1.5 * f64::from(i) + f64::from(offset)));
        initial.push(Update::binary_output_status(i, false));
        initial.push(Update::analog_output_status(i, 0.0));
    }
    for (i, s) in DOUBLE_BIT_STATES.into_iter().enumerate() {
        initial.push(Update::double_bit(i as u16, s));
    }
    if for_tests {
        for i in 0..3u16 {
            initial.push(Update::octet_string(i, format!("os-{i}").as_bytes()));
        }
    }
    let report = db.load(&crate::now(), &initial);
    assert_eq!(report.rejected, 0, "the demo values fit the demo points");
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interop_database_is_the_tests_one_without_octet_strings() {
        let (interop, tests) = (interop_database(), demo_database(0));
        for ty in PointType::ALL {
            let expected = if ty == PointType::OctetString {
                0
            } else {
                tests.len(ty)
            };
            assert_eq!(interop.len(ty), expected, "{ty}");
        }
        assert_eq!(tests.len(PointType::OctetString), 3);
    }
}
