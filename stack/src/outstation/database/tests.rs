//! Unit tests of the database: loading, updates, events and their classes.

use super::*;
use crate::objects::flags;

fn now() -> Now {
    Now {
        instant: std::time::Instant::now(),
        wall: Timestamp(1000),
    }
}

fn db() -> Database {
    DatabaseBuilder::new()
        .add(
            PointType::BinaryInput,
            0..3,
            PointConfig::new(EventClass::Class1),
        )
        .add(
            PointType::AnalogInput,
            [2, 5, 9],
            PointConfig::new(EventClass::Class2).with_deadband(1.0),
        )
        .add(PointType::Counter, 0..2, PointConfig::default())
        .add(
            PointType::FrozenCounter,
            0..2,
            PointConfig::new(EventClass::Class3),
        )
        .build()
        .unwrap()
        .with_event_buffers(&EventBufferConfig::default())
}

#[test]
fn sparse_and_contiguous_tables_find_their_points() {
    let db = db();
    assert!(db.table(PointType::BinaryInput).contiguous);
    assert!(!db.table(PointType::AnalogInput).contiguous);
    assert_eq!(db.table(PointType::AnalogInput).find(5), Some(1));
    assert_eq!(db.table(PointType::AnalogInput).find(6), None);
    assert_eq!(db.table(PointType::BinaryInput).find(3), None);
    assert_eq!(db.table(PointType::AnalogInput).range(3, 9), 1..3);
    assert_eq!(db.table(PointType::AnalogInput).range(6, 8), 2..2);
}

#[test]
fn duplicate_indices_and_foreign_variations_are_refused() {
    let e = DatabaseBuilder::new()
        .add(PointType::Counter, [1, 1], PointConfig::default())
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        DatabaseError::DuplicateIndex {
            ty: PointType::Counter,
            index: 1
        }
    );
    let e = DatabaseBuilder::new()
        .add(
            PointType::Counter,
            [1],
            PointConfig::default().with_static_variation(Variation::Group30Var1),
        )
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("counter"));
}

#[test]
fn points_start_with_restart_flags() {
    let db = db();
    let s = db.get(PointType::BinaryInput, 1).unwrap();
    assert_eq!(
        (s.value, s.flags),
        (PointValue::Binary(false), flags::RESTART)
    );
}

#[test]
fn changes_create_events_and_unknown_points_are_counted() {
    let mut db = db();
    let r = db.apply(
        &now(),
        &[
            Update::binary(0, false),
            Update::binary(0, false),
            Update::binary(7, true),
            Update::counter(0, 5),
        ],
    );
    assert_eq!(
        r,
        ApplyReport {
            applied: 3,
            rejected: 1,
            events: 1
        }
    );
    assert_eq!(db.rejected_updates(), 1);
    assert_eq!(db.get(PointType::Counter, 0).unwrap().time, Timestamp(1000));
}

#[test]
fn analog_changes_within_the_deadband_create_no_event() {
    let mut db = db();
    db.apply(&now(), &[Update::analog(5, 10.0)]);
    let before = db.events_created();
    db.apply(&now(), &[Update::analog(5, 10.9)]);
    assert_eq!(db.events_created(), before);
    db.apply(&now(), &[Update::analog(5, 11.5)]);
    assert_eq!(db.events_created(), before + 1);
    assert_eq!(
        db.get(PointType::AnalogInput, 5).unwrap().value,
        PointValue::Analog(11.5)
    );
}

#[test]
fn freeze_copies_counters_and_clear_resets_them() {
    let mut db = db();
    db.apply(&now(), &[Update::counter(1, 41)]);
    db.freeze(&now(), Some((1, 1)), true);
    let f = db.get(PointType::FrozenCounter, 1).unwrap();
    assert_eq!(
        (f.value, f.time),
        (PointValue::Counter(41), Timestamp(1000))
    );
    assert_eq!(
        db.get(PointType::Counter, 1).unwrap().value,
        PointValue::Counter(0)
    );
    assert_eq!(db.buffered_events_of(PointType::FrozenCounter), 1);
    assert_eq!(
        db.get(PointType::FrozenCounter, 0).unwrap().value,
        PointValue::Counter(0)
    );
}

#[test]
fn octet_strings_keep_their_bytes() {
    let mut db = DatabaseBuilder::new()
        .add(
            PointType::OctetString,
            [4],
            PointConfig::new(EventClass::Class1),
        )
        .build()
        .unwrap()
        .with_event_buffers(&EventBufferConfig::default());
    assert_eq!(db.octet_string(4), Some(&[0u8][..]));
    let r = db.apply(
        &now(),
        &[
            Update::octet_string(4, b"abc"),
            Update::octet_string(4, b""),
        ],
    );
    assert_eq!((r.applied, r.rejected, r.events), (1, 1, 1));
    assert_eq!(db.octet_string(4), Some(&b"abc"[..]));
}

#[test]
fn types_the_outstation_does_not_serve_cannot_hold_points() {
    for ty in [
        PointType::FrozenAnalogInput,
        PointType::BinaryCommandEvent,
        PointType::AnalogCommandEvent,
    ] {
        let built = DatabaseBuilder::new()
            .add(ty, 0..1, PointConfig::default())
            .build();
        assert!(built.is_err(), "{ty}");
    }
}
