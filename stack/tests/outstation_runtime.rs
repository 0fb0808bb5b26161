//! Runtime control of the sans-I/O outstation by its application: the IIN bits it owns,
//! and controls answered later (IEEE 1815-2012, clause 4).

mod common;

use common::*;
use rdnp3_stack::outstation::*;

#[test]
fn need_time_and_device_restart_are_set_by_the_application() {
    let mut h = Harness::new(
        config(),
        database(&[(PointType::BinaryInput, 0..1, online())]),
    );
    h.clear_restart();
    h.s.set_need_time(true);
    assert_eq!(
        h.ask("C1 01 50 01 00 07 07").unwrap(),
        "C1 81 10 00 50 01 00 07 07 00"
    );
    h.s.set_restart();
    assert_eq!(
        h.ask("C2 01 50 01 00 07 07").unwrap(),
        "C2 81 90 00 50 01 00 07 07 01"
    );
    h.s.set_need_time(false);
    assert_eq!(h.ask("C3 02 50 01 00 07 07 00").unwrap(), "C3 81 00 00");
}
