//! Hostile requests to the sans-I/O outstation: mutations of ASSIGN_CLASS, deadband, indexed
//! time, device attribute and deferred control requests never panic, and every response
//! fits the transmit limit.

mod common;

use common::*;
use rdnp3_stack::objects::{CommandStatus, Crob, Timestamp};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::Session;
use rdnp3_testkit::hex::bytes;
use rdnp3_testkit::rng::Rng;
use std::time::Duration;

/// Defers every other operate and completes nothing: the session's timer must.
struct SometimesLater(bool);

impl ControlHandler for SometimesLater {
    fn operate_crob(
        &mut self,
        index: u16,
        crob: &Crob,
        op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        self.0 = !self.0;
        if self.0 && db.defer().is_some() {
            return CommandStatus::Success;
        }
        MirrorOutputs.operate_crob(index, crob, op, db)
    }
}

struct AcceptAll;

impl OutstationApplication for AcceptAll {
    fn on_indexed_time_write(&mut self, _: u16, _: Timestamp, _: u32, _: u8) -> WriteOutcome {
        WriteOutcome::Accepted
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        if data.len() <= 2 {
            data.push(rng.byte());
            continue;
        }
        // Keep the control byte (FIR, FIN) so most mutations reach the function's code.
        let at = 1 + rng.below(data.len() - 1);
        match rng.below(4) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.byte(),
            2 => data.insert(at, rng.byte()),
            _ => {
                data.remove(at);
            }
        }
    }
}

#[test]
fn mutated_requests_for_the_new_objects_never_panic_or_overflow_a_fragment() {
    let seeds = [
        "C0 16 3C 02 06 01 00 00 01 02 3C 01 06 1E 00 17 02 00 03",
        "C0 16 3C 03 06 14 00 07 02 15 00 06",
        "C0 01 22 00 06 22 01 00 00 02 22 02 17 01 01",
        "C0 02 22 02 17 01 01 0A 00 00 00 22 03 00 00 01 00 00 00 3F 00 00 80 3E",
        "C0 02 32 04 17 01 03 E8 03 00 00 00 00 0F 00 00 00 03",
        "C0 01 00 FE 06 00 FF 00 00 00 00 F2 00 00 00 00 EF 06",
        "C0 05 0C 01 17 02 00 03 01 64 00 00 00 64 00 00 00 00 01 03 01 64 00 00 00 64 00 00 00 00",
        "C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06",
    ];
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|s| bytes(s)).collect();
    let c = online().with_class(EventClass::Class1);
    let max_tx = 100;
    let mut h = Harness::with(
        config()
            .with_max_tx_fragment(max_tx)
            .with_command_events(true)
            .with_device_attributes(DeviceAttributes::default().with_vendor_name("v".repeat(300))),
        database(&[
            (
                PointType::BinaryInput,
                0..20,
                c.with_event_variation(rdnp3_stack::objects::Variation::Group2Var3),
            ),
            (PointType::BinaryOutputStatus, 0..4, c),
            (PointType::Counter, 0..4, c.with_deadband(3.0)),
            (PointType::FrozenCounter, 0..4, c),
            (PointType::AnalogInput, 0..8, c.with_deadband(1.0)),
        ]),
        Box::new(SometimesLater(false)),
        Box::new(AcceptAll),
    );
    let mut rng = Rng::new(9);
    let mut out = vec![0u8; max_tx];
    for round in 0..20_000u32 {
        let mut request = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut request);
        if let Some(b) = request.get_mut(0) {
            *b = 0xC0 | (round as u8 & 0x0F);
        }
        let now = h.now;
        h.s.on_fragment(
            &now,
            MASTER,
            rdnp3_stack::link::AddressKind::Station,
            &request,
        );
        while let Some(n) = h.s.next_fragment(&now, &mut out) {
            assert!(n <= max_tx);
            // Confirm whatever asks for one, so multi-fragment answers run to their end.
            if out[0] & 0x20 != 0 {
                let confirm = [0xC0 | (out[0] & 0x0F), 0x00];
                h.s.on_fragment(
                    &now,
                    MASTER,
                    rdnp3_stack::link::AddressKind::Station,
                    &confirm,
                );
            }
        }
        if round % 7 == 0 {
            h.apply(&[
                Update::binary(round as u16 % 20, round % 2 == 0),
                Update::counter(round as u16 % 4, round),
                Update::analog(round as u16 % 8, f64::from(round % 50)),
            ]);
        }
        h.advance(Duration::from_millis(rng.below(3000) as u64));
    }
    // Most mutations still reach the request handlers and are answered.
    let stats = h.s.stats();
    assert!(stats.responses >= 10_000, "{stats:?}");
}
