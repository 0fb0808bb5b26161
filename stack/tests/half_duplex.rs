//! The channel engine on a half-duplex line (serial multi-drop): three master associations
//! share one engine and an outstation engine carries the three outstations. Bytes are moved by
//! hand, so every batch the master engine writes is one look at the line.

use rdnp3_stack::link::LinkParser;
use rdnp3_stack::master::{MasterConfig, MasterSession, NullReadHandler};
use rdnp3_stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, OutstationConfig,
    OutstationSession, PointConfig, PointType,
};
use rdnp3_stack::router::{ChannelCounters, DecodeLevel, Router, SessionKind};
use rdnp3_stack::session::Now;
use std::sync::Arc;
use std::time::Duration;

const OUTSTATIONS: [u16; 3] = [10, 11, 12];
const CONFIRM: u8 = 0x00;

fn engine(name: &str) -> Router {
    Router::new(
        name.into(),
        Arc::new(ChannelCounters::default()),
        DecodeLevel::Nothing,
        None,
        Duration::from_secs(1),
    )
}

/// A master engine with one association per outstation, and the outstations' engine.
fn line(now: &Now, half_duplex: bool) -> (Router, Vec<u32>, Router) {
    let mut masters = engine("masters");
    masters.set_half_duplex(half_duplex);
    let ids = OUTSTATIONS
        .iter()
        .map(|&outstation| {
            let config = MasterConfig::default()
                .with_local_address(1)
                .with_outstation_address(outstation);
            let session = MasterSession::new(config, Box::new(NullReadHandler));
            masters
                .add(now, SessionKind::Master(Box::new(session)))
                .expect("distinct addresses")
        })
        .collect();
    let mut outstations = engine("outstations");
    for &address in &OUTSTATIONS {
        let config = OutstationConfig::default()
            .with_local_address(address)
            .with_master_address(1)
            .with_allow_unsolicited(false)
            .with_need_time_at_start(false);
        let db = DatabaseBuilder::new()
            .add(
                PointType::BinaryInput,
                0..4,
                PointConfig::new(EventClass::Class1),
            )
            .build()
            .expect("valid database");
        let session = OutstationSession::new(
            config,
            db,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        outstations
            .add(now, SessionKind::Outstation(Box::new(session)))
            .expect("distinct addresses");
    }
    masters.on_open(now);
    outstations.on_open(now);
    (masters, ids, outstations)
}

/// The destinations of the requests (confirms excluded) in a batch of master output.
fn requests(bytes: &[u8]) -> Vec<u16> {
    let mut parser = LinkParser::new();
    let mut data = bytes;
    let mut out = Vec::new();
    while let Some(frame) = parser.parse(&mut data) {
        let frame = frame.expect("the engine writes valid frames");
        let d = frame.user_data;
        // Transport FIR, then the application header: control, function.
        if d.len() >= 3 && d[0] & 0x40 != 0 && d[2] != CONFIRM {
            out.push(frame.header.destination);
        }
    }
    out
}

/// Runs the line until it is quiet; returns the requests of each master batch.
fn run(now: &Now, masters: &mut Router, outstations: &mut Router) -> Vec<Vec<u16>> {
    let mut batches = Vec::new();
    for _ in 0..100 {
        let mut down = Vec::new();
        masters.poll_send(now, &mut down, 64 * 1024);
        let mut up = Vec::new();
        outstations.on_bytes(now, &down);
        outstations.poll_send(now, &mut up, 64 * 1024);
        masters.on_bytes(now, &up);
        if down.is_empty() && up.is_empty() {
            return batches;
        }
        batches.push(requests(&down));
    }
    panic!("the line never went quiet");
}

fn polls(masters: &mut Router, ids: &[u32]) -> Vec<u64> {
    ids.iter()
        .map(|&id| match masters.get_mut(id) {
            Some(SessionKind::Master(m)) => m.stats().polls,
            _ => panic!("master {id} is gone"),
        })
        .collect()
}

#[test]
fn a_half_duplex_line_carries_one_request_at_a_time_and_masters_take_turns() {
    let now = Now {
        instant: std::time::Instant::now(),
        wall: rdnp3_stack::objects::Timestamp(0),
    };
    let (mut masters, ids, mut outstations) = line(&now, true);
    let batches = run(&now, &mut masters, &mut outstations);
    for b in &batches {
        assert!(
            b.len() <= 1,
            "two requests on the line at once: {batches:?}"
        );
    }
    let order: Vec<u16> = batches.into_iter().flatten().collect();
    // Start-up of each association: disable unsolicited, clear DEVICE_RESTART, integrity
    // poll, enable unsolicited.
    assert_eq!(order.len(), 12, "requests: {order:?}");
    assert_eq!(
        &order[..3],
        &OUTSTATIONS,
        "the associations take turns rather than one running its whole start-up first"
    );
    assert_eq!(polls(&mut masters, &ids), vec![1, 1, 1]);
}

#[test]
fn a_full_duplex_line_lets_every_master_send_at_once() {
    let now = Now {
        instant: std::time::Instant::now(),
        wall: rdnp3_stack::objects::Timestamp(0),
    };
    let (mut masters, ids, mut outstations) = line(&now, false);
    let batches = run(&now, &mut masters, &mut outstations);
    assert_eq!(batches[0], OUTSTATIONS.to_vec());
    assert_eq!(polls(&mut masters, &ids), vec![1, 1, 1]);
}
