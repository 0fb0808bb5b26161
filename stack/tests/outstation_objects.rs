//! Objects the sans-I/O outstation serves besides measurements: analog input deadbands
//! (g34), indexed absolute times (g50v4) and device attributes (g0), checked byte for byte
//! against their IEEE 1815-2012 Annex A encodings.

mod common;

use common::*;
use rdnp3_stack::objects::Timestamp;
use rdnp3_stack::outstation::*;
use std::sync::{Arc, Mutex};

fn analogs() -> Harness {
    let c = online().with_class(EventClass::Class1).with_deadband(2.0);
    let mut h = Harness::new(config(), database(&[(PointType::AnalogInput, 0..3, c)]));
    h.clear_restart();
    h
}

#[test]
fn deadbands_are_read_as_g34_in_the_requested_variation() {
    let mut h = analogs();
    // g34v0 (any variation) is answered with single-precision floats (g34v3): 2.0.
    assert_eq!(
        h.ask("C1 01 22 00 06").unwrap(),
        "C1 81 00 00 22 03 00 00 02 00 00 00 40 00 00 00 40 00 00 00 40"
    );
    assert_eq!(
        h.ask("C2 01 22 01 00 01 01").unwrap(),
        "C2 81 00 00 22 01 00 01 01 02 00"
    );
    // Point 5 does not exist.
    assert_eq!(
        h.ask("C3 01 22 02 00 02 05").unwrap(),
        "C3 81 00 04 22 02 00 02 02 02 00 00 00"
    );
}

#[test]
fn a_written_deadband_is_read_back_and_governs_later_events() {
    let mut h = analogs();
    // WRITE g34v2 index 1 (qualifier 17) = 10.
    assert_eq!(
        h.ask("C1 02 22 02 17 01 01 0A 00 00 00").unwrap(),
        "C1 81 00 00"
    );
    assert_eq!(h.s.database().deadband(1), Some(10.0));
    assert_eq!(
        h.ask("C2 01 22 02 00 00 02").unwrap(),
        "C2 81 00 00 22 02 00 00 02 02 00 00 00 0A 00 00 00 02 00 00 00"
    );
    assert_eq!(h.apply(&[Update::analog(1, 5.0)]).events, 0);
    assert_eq!(h.apply(&[Update::analog(0, 5.0)]).events, 1);
    // WRITE g34v3 indices 0..1 (qualifier 00) = 0.5 and 0.25 (IIN1.1: the event above).
    assert_eq!(
        h.ask("C3 02 22 03 00 00 01 00 00 00 3F 00 00 80 3E")
            .unwrap(),
        "C3 81 02 00"
    );
    assert_eq!(h.s.database().deadband(0), Some(0.5));
    assert_eq!(h.s.database().deadband(1), Some(0.25));
}

#[test]
fn deadband_writes_of_missing_points_or_negative_values_change_nothing() {
    let mut h = analogs();
    assert_eq!(
        h.ask("C1 02 22 01 17 02 00 05 00 07 01 00").unwrap(),
        "C1 81 00 04"
    );
    // −1.0 as g34v3.
    assert_eq!(
        h.ask("C2 02 22 03 00 00 00 00 00 80 BF").unwrap(),
        "C2 81 00 04"
    );
    assert_eq!(h.s.database().deadband(0), Some(2.0));
}

type Written = Arc<Mutex<Vec<(u16, Timestamp, u32, u8)>>>;

/// Records indexed time writes.
struct Schedules(Written);

impl OutstationApplication for Schedules {
    fn on_indexed_time_write(
        &mut self,
        index: u16,
        time: Timestamp,
        interval: u32,
        units: u8,
    ) -> WriteOutcome {
        self.0.lock().unwrap().push((index, time, interval, units));
        if units > 10 {
            WriteOutcome::Refused
        } else {
            WriteOutcome::Accepted
        }
    }
}

#[test]
fn indexed_absolute_times_are_handed_to_the_application() {
    let written = Written::default();
    let mut h = Harness::with(
        config(),
        database(&[]),
        Box::new(MirrorOutputs),
        Box::new(Schedules(written.clone())),
    );
    h.clear_restart();
    // WRITE g50v4 index 3: time 1000 ms, every 15 minutes (units 3).
    let req = "C1 02 32 04 17 01 03 E8 03 00 00 00 00 0F 00 00 00 03";
    assert_eq!(h.ask(req).unwrap(), "C1 81 00 00");
    assert_eq!(*written.lock().unwrap(), [(3, Timestamp(1000), 15, 3)]);
    // Reserved units: the application refuses them.
    let req = "C2 02 32 04 17 01 04 E8 03 00 00 00 00 0F 00 00 00 0B";
    assert_eq!(h.ask(req).unwrap(), "C2 81 00 04");
    // Without index prefixes: a parameter error, the application is not asked.
    let req = "C3 02 32 04 07 01 E8 03 00 00 00 00 0F 00 00 00 03";
    assert_eq!(h.ask(req).unwrap(), "C3 81 00 04");
    assert_eq!(written.lock().unwrap().len(), 2);
}

#[test]
fn indexed_absolute_times_are_unsupported_by_default() {
    let mut h = Harness::new(config(), database(&[]));
    h.clear_restart();
    let req = "C1 02 32 04 17 01 03 E8 03 00 00 00 00 0F 00 00 00 03";
    assert_eq!(h.ask(req).unwrap(), "C1 81 00 01");
}

fn described() -> Harness {
    let attributes = DeviceAttributes::default()
        .with_vendor_name("rdnp3".into())
        .with_product_name("RTU".into())
        .with_software_version("1.0".into());
    let mut h = Harness::new(
        config().with_device_attributes(attributes),
        DatabaseBuilder::new()
            .add(PointType::BinaryInput, 0..3, online())
            .add(PointType::AnalogInput, [5], online())
            .build()
            .unwrap(),
    );
    h.clear_restart();
    h
}

#[test]
fn single_device_attributes_are_read_from_the_configuration_and_the_database() {
    let mut h = described();
    // g0v242 software version, set 0: a visible string (type 1) "1.0".
    assert_eq!(
        h.ask("C1 01 00 F2 00 00 00").unwrap(),
        "C1 81 00 00 00 F2 00 00 00 01 03 31 2E 30"
    );
    // g0v239 number of binary inputs: an unsigned integer (type 2) of one byte, 3.
    assert_eq!(
        h.ask("C2 01 00 EF 00 00 00").unwrap(),
        "C2 81 00 00 00 EF 00 00 00 02 01 03"
    );
    // g0v232 maximum analog input index: 5.
    assert_eq!(
        h.ask("C3 01 00 E8 06").unwrap(),
        "C3 81 00 00 00 E8 00 00 00 02 01 05"
    );
    // An attribute not configured, and a set other than 0.
    assert_eq!(h.ask("C4 01 00 F3 00 00 00").unwrap(), "C4 81 00 02");
    assert_eq!(h.ask("C5 01 00 F2 00 01 01").unwrap(), "C5 81 00 04");
}

#[test]
fn all_device_attributes_are_read_with_g0v254() {
    let mut h = described();
    let uint = |v: u8, value: &str| format!("00 {v:02X} 00 00 00 02 {value}");
    let expected = [
        "C1 81 00 00".to_string(),
        uint(221, "01 00"),
        uint(224, "01 00"),
        uint(229, "01 00"),
        uint(232, "01 05"),
        uint(233, "01 01"),
        uint(236, "01 00"),
        uint(238, "01 02"),
        uint(239, "01 03"),
        uint(240, "02 00 08"),
        uint(241, "02 00 08"),
        "00 F2 00 00 00 01 03 31 2E 30".into(),
        "00 FA 00 00 00 01 03 52 54 55".into(),
        "00 FC 00 00 00 01 05 72 64 6E 70 33".into(),
    ]
    .join(" ");
    assert_eq!(h.ask("C1 01 00 FE 00 00 00").unwrap(), expected);
}

#[test]
fn all_device_attributes_continue_in_the_next_fragment_when_they_do_not_fit() {
    let attributes = DeviceAttributes::default().with_vendor_name("x".repeat(40));
    let mut h = Harness::new(
        config()
            .with_device_attributes(attributes)
            .with_max_tx_fragment(60),
        database(&[]),
    );
    h.clear_restart();
    let first = h.ask("C1 01 00 FE 06").unwrap();
    // FIR, CON, not FIN: the counts and the transmit size (60) fill the first fragment.
    assert!(first.starts_with("A1 81 00 00 00 DD"), "{first}");
    assert!(first.ends_with("00 F0 00 00 00 02 01 3C"), "{first}");
    h.send("C1 00");
    let second = h.poll().unwrap();
    // FIN: the receive size, then the vendor name of 40 bytes.
    let vendor = vec!["78"; 40].join(" ");
    assert_eq!(
        second,
        format!("42 81 00 00 00 F1 00 00 00 02 02 00 08 00 FC 00 00 00 01 28 {vendor}")
    );
}

#[test]
fn the_list_of_attribute_variations_names_each_one_served() {
    let mut h = Harness::new(config(), database(&[]));
    h.clear_restart();
    // Counts of each type (0), fragment sizes: 221 224 229 233 236 239 240 241.
    assert_eq!(
        h.ask("C1 01 00 FF 00 00 00").unwrap(),
        "C1 81 00 00 00 FF 00 00 00 FE 10 DD 00 E0 00 E5 00 E9 00 EC 00 EF 00 F0 00 F1 00"
    );
}
