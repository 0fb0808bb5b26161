//! Controls end to end (IEEE 1815-2012, clause 4): select-before-operate, direct operate and
//! multi-control requests from a real master, and the refused operates (no select, select
//! timeout) from a raw-socket master built from the codec, since the real master always
//! operates right after its select.

mod util;

use rdnp3::stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use rdnp3::stack::master::{
    AnalogOutput, Command, CommandMode, MasterConfig, ReadHeader, ReadRequest, TaskError,
};
use rdnp3::stack::objects::{CommandStatus, Crob, OpType, Point, Value, Variation};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs, OutstationConfig};
use rdnp3::Manager;
use std::time::Duration;
use util::*;

fn station(manager: &Manager, config: OutstationConfig) -> Station {
    start_outstation(
        manager,
        config,
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    )
}

fn crob(index: u16, op: OpType) -> Command {
    Command::Crob {
        index,
        crob: Crob::new(op, 0, 0),
    }
}

fn analog(index: u16, value: AnalogOutput) -> Command {
    Command::Analog { index, value }
}

/// Reads static point `index` of `variation` (g10v0 or g40v0) through the real master.
fn read_back(client: &Client, variation: Variation, index: u16) -> Val {
    client.recorder.clear();
    let request = ReadRequest::new(vec![ReadHeader::Range {
        variation,
        start: index,
        stop: index,
    }]);
    read(&client.master, request);
    let statics = client.recorder.statics();
    match statics.as_slice() {
        [m] if m.index == index => m.value.clone(),
        other => panic!("expected one value of point {index}: {other:?}"),
    }
}

fn operate(client: &Client, mode: CommandMode, commands: Vec<Command>) -> Vec<CommandStatus> {
    client
        .master
        .operate(mode, commands)
        .wait_timeout(WAIT)
        .expect("the command completes")
        .expect("the command succeeds")
}

#[test]
fn select_then_operate_sets_the_output_status() {
    each_backend(|manager| {
        let station = station(&manager, outstation_config(1024));
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        assert_eq!(
            read_back(&client, Variation::Group10Var0, 3),
            Val::Binary(false)
        );

        let sbo = CommandMode::SelectBeforeOperate;
        assert_eq!(
            operate(&client, sbo, vec![crob(3, OpType::LatchOn)]),
            [CommandStatus::Success]
        );
        assert_eq!(
            read_back(&client, Variation::Group10Var0, 3),
            Val::Binary(true)
        );
        assert_eq!(
            operate(&client, sbo, vec![analog(2, AnalogOutput::F32(42.5))]),
            [CommandStatus::Success]
        );
        assert_eq!(
            read_back(&client, Variation::Group40Var0, 2),
            Val::Analog(42.5)
        );
        let o = outstation_stats(&station.outstation);
        assert_eq!(
            o.requests,
            4 + 2 + 2 + 3,
            "start-up, 2 selects, 2 operates, 3 reads"
        );
        manager.shutdown();
    });
}

#[test]
fn direct_operate_sets_the_output_status() {
    each_backend(|manager| {
        let station = station(&manager, outstation_config(1024));
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let direct = CommandMode::DirectOperate;
        assert_eq!(
            operate(&client, direct, vec![crob(5, OpType::LatchOn)]),
            [CommandStatus::Success]
        );
        assert_eq!(
            read_back(&client, Variation::Group10Var0, 5),
            Val::Binary(true)
        );
        assert_eq!(
            operate(&client, direct, vec![crob(5, OpType::LatchOff)]),
            [CommandStatus::Success]
        );
        assert_eq!(
            read_back(&client, Variation::Group10Var0, 5),
            Val::Binary(false)
        );

        // Without acknowledgement the command completes once sent; the effect follows.
        let no_ack = CommandMode::DirectOperateNoAck;
        assert_eq!(
            operate(&client, no_ack, vec![analog(6, AnalogOutput::I32(-12))]),
            []
        );
        wait_until(
            "the unacknowledged set-point to take effect",
            || read_back(&client, Variation::Group40Var0, 6),
            |v| *v == Val::Analog(-12.0),
        );
        manager.shutdown();
    });
}

#[test]
fn several_controls_in_one_request_are_all_executed() {
    each_backend(|manager| {
        let station = station(&manager, outstation_config(1024));
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let commands = vec![
            crob(1, OpType::LatchOn),
            crob(2, OpType::PulseOn),
            analog(0, AnalogOutput::I32(-5)),
            analog(1, AnalogOutput::I16(7)),
            analog(3, AnalogOutput::F32(1.25)),
            analog(4, AnalogOutput::F64(-2.5)),
        ];
        let n = commands.len();
        for mode in [CommandMode::SelectBeforeOperate, CommandMode::DirectOperate] {
            assert_eq!(
                operate(&client, mode, commands.clone()),
                vec![CommandStatus::Success; n],
                "{mode:?}"
            );
        }
        for (index, value) in [(1, true), (2, true)] {
            assert_eq!(
                read_back(&client, Variation::Group10Var0, index),
                Val::Binary(value)
            );
        }
        for (index, value) in [(0, -5.0), (1, 7.0), (3, 1.25), (4, -2.5)] {
            assert_eq!(
                read_back(&client, Variation::Group40Var0, index),
                Val::Analog(value)
            );
        }

        // Direct operate executes what it can and reports each control's status.
        let statuses = operate(
            &client,
            CommandMode::DirectOperate,
            vec![
                crob(1, OpType::LatchOff),
                crob(99, OpType::LatchOn),
                crob(2, OpType::LatchOff),
            ],
        );
        assert_eq!(
            statuses,
            [
                CommandStatus::Success,
                CommandStatus::NotSupported,
                CommandStatus::Success
            ]
        );
        for index in [1, 2] {
            assert_eq!(
                read_back(&client, Variation::Group10Var0, index),
                Val::Binary(false)
            );
        }
        manager.shutdown();
    });
}

#[test]
fn a_partly_refused_select_operates_nothing() {
    each_backend(|manager| {
        let station = station(&manager, outstation_config(1024));
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let result = client
            .master
            .operate(
                CommandMode::SelectBeforeOperate,
                vec![crob(1, OpType::LatchOn), crob(99, OpType::LatchOn)],
            )
            .wait_timeout(WAIT)
            .expect("the command completes");
        assert_eq!(
            result,
            Err(TaskError::SelectFailed(vec![
                CommandStatus::Success,
                CommandStatus::NotSupported
            ]))
        );
        assert_eq!(
            read_back(&client, Variation::Group10Var0, 1),
            Val::Binary(false)
        );
        manager.shutdown();
    });
}

/// A raw-socket master's control request with one CROB (qualifier 28).
fn crob_request(function: FunctionCode, seq: u8, index: u16, op: OpType) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(seq), function).expect("header");
    let mut h = w
        .prefixed(Variation::Group12Var1, true)
        .expect("object header");
    h.push(&Point::new(u32::from(index), Value::Crob(Crob::new(op, 0, 0))).with_status(0))
        .expect("crob");
    h.finish();
    let n = w.len();
    buf[..n].to_vec()
}

/// The status of every control in a control echo.
fn statuses(response: &[u8]) -> Vec<CommandStatus> {
    let f = Fragment::parse(response).expect("a response");
    f.objects()
        .flatten()
        .flat_map(|h| h.points())
        .map(|p| CommandStatus::from_u8(p.status.expect("a status")))
        .collect()
}

/// Reads binary output status `index` with a raw READ of g10v0.
fn raw_output_status(raw: &mut RawPeer, seq: u8, index: u16) -> bool {
    let mut buf = [0u8; 16];
    let mut w = FragmentWriter::request(&mut buf, AppControl::single(seq), FunctionCode::Read)
        .expect("header");
    w.range_only(Variation::Group10Var0, index, index)
        .expect("range");
    let n = w.len();
    let response = raw.request(&buf[..n]);
    let f = Fragment::parse(&response).expect("a response");
    let points: Vec<(u32, Value<'_>)> = f
        .objects()
        .flatten()
        .flat_map(|h| h.points())
        .map(|p| (p.index, p.value))
        .collect();
    match points.as_slice() {
        [(i, Value::Bool(b))] if *i == u32::from(index) => *b,
        other => panic!("expected binary output status {index}: {other:?}"),
    }
}

#[test]
fn operate_without_a_matching_select_is_refused_with_no_select() {
    each_backend(|manager| {
        let station = station(&manager, outstation_config(1024));
        let mut raw = RawPeer::connect_master(station.address, 1, 1024);
        let (select, operate) = (FunctionCode::Select, FunctionCode::Operate);

        // No select at all.
        let r = raw.request(&crob_request(operate, 0, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::NoSelect]);
        // A select, then an operate that is not its very next SEQ.
        let r = raw.request(&crob_request(select, 1, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::Success]);
        let r = raw.request(&crob_request(operate, 3, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::NoSelect]);
        // A select, then an operate of other objects.
        let r = raw.request(&crob_request(select, 4, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::Success]);
        let r = raw.request(&crob_request(operate, 5, 5, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::NoSelect]);

        assert!(!raw_output_status(&mut raw, 6, 4), "nothing operated");
        assert!(!raw_output_status(&mut raw, 7, 5), "nothing operated");

        // The same raw master's select and operate in sequence do operate.
        let r = raw.request(&crob_request(select, 8, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::Success]);
        let r = raw.request(&crob_request(operate, 9, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::Success]);
        assert!(raw_output_status(&mut raw, 10, 4));
        raw.close();
        manager.shutdown();
    });
}

#[test]
fn operate_after_the_select_timeout_is_refused_with_timeout() {
    each_backend(|manager| {
        let select_timeout = Duration::from_millis(200);
        let config = outstation_config(1024).with_select_timeout(select_timeout);
        let station = station(&manager, config);
        let mut raw = RawPeer::connect_master(station.address, 1, 1024);
        let r = raw.request(&crob_request(FunctionCode::Select, 0, 4, OpType::LatchOn));
        assert_eq!(statuses(&r), [CommandStatus::Success]);
        // Let the selection expire (a precondition, not a measurement).
        std::thread::sleep(select_timeout * 3);
        let r = raw.request(&crob_request(FunctionCode::Operate, 1, 4, OpType::LatchOn));
        assert_eq!(
            statuses(&r),
            [CommandStatus::Timeout],
            "an operate after the select timeout"
        );
        assert!(!raw_output_status(&mut raw, 2, 4), "nothing operated");
        raw.close();
        manager.shutdown();
    });
}
