//! A real master and a real outstation over loopback TCP: freezes, ASSIGN_CLASS, deadband
//! writes, device attributes, unsolicited responses
//! enabled and disabled on demand, WRITEs of IIN bits and generic requests, each answered
//! through the completion its `Master` method returns (IEEE 1815-2012, clause 4).

mod util;

use rdnp3::stack::app::{FunctionCode, Iin};
use rdnp3::stack::master::{MasterConfig, ReadRequest, TaskError};
use rdnp3::stack::objects::{PointType, Variation};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs, Update};
use rdnp3::{
    Classes, FreezeKind, FreezeRequest, Manager, Master, ObjectHeaders, Timestamp, WriteRequest,
};
use util::*;

fn demo_station(manager: &Manager) -> Station {
    start_outstation(
        manager,
        outstation_config(1024),
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    )
}

/// The demo outstation and a master on default settings whose startup sequence is done.
fn started_pair(manager: &Manager) -> (Station, Client) {
    let station = demo_station(manager);
    let client = start_master(manager, station.address, MasterConfig::default());
    wait_startup(&client.master);
    (station, client)
}

/// Waits for a request's completion.
fn done(
    what: &str,
    mut completion: rdnp3::Completion<Result<(), TaskError>>,
) -> Result<(), TaskError> {
    completion
        .wait_timeout(WAIT)
        .unwrap_or_else(|_| panic!("{what} completes"))
}

/// The values of counters (or frozen counters) 0..=3 the last read delivered, by index.
fn counters(client: &Client, kind: PointType) -> Vec<Val> {
    let mut last = vec![None; 4];
    for m in client.recorder.statics() {
        if m.kind == kind && m.index < 4 {
            last[usize::from(m.index)] = Some(m.value);
        }
    }
    last.into_iter().map(|v| v.expect("point read")).collect()
}

fn read_counters(master: &Master) {
    read(
        master,
        ReadRequest::new(vec![
            rdnp3::ReadHeader::Range {
                variation: Variation::Group20Var0,
                start: 0,
                stop: 3,
            },
            rdnp3::ReadHeader::Range {
                variation: Variation::Group21Var0,
                start: 0,
                stop: 3,
            },
        ]),
    );
}

#[test]
fn an_immediate_freeze_of_a_range_copies_only_those_counters() {
    each_backend(|manager| {
        let (_station, client) = started_pair(&manager);
        let freeze = FreezeRequest::range(FreezeKind::Immediate, 2, 3);
        assert_eq!(done("the freeze", client.master.freeze(freeze)), Ok(()));
        read_counters(&client.master);
        let c = Val::Counter;
        assert_eq!(
            counters(&client, PointType::FrozenCounter),
            [c(0), c(7), c(200), c(300)],
            "counters 2 and 3 frozen, 0 and 1 as they were"
        );
        assert_eq!(
            counters(&client, PointType::Counter),
            [c(0), c(100), c(200), c(300)]
        );
        manager.shutdown();
    });
}

#[test]
fn a_freeze_and_clear_without_ack_completes_once_sent_and_clears_the_counters() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        let before = wait_startup(&client.master);
        let freeze = FreezeRequest::all(FreezeKind::Clear).without_ack();
        assert_eq!(done("the freeze", client.master.freeze(freeze)), Ok(()));
        // The read goes after the freeze on the same association, so it sees its effect.
        read_counters(&client.master);
        let c = Val::Counter;
        assert_eq!(
            counters(&client, PointType::FrozenCounter),
            [c(0), c(100), c(200), c(300)]
        );
        assert_eq!(
            counters(&client, PointType::Counter),
            [c(0), c(0), c(0), c(0)]
        );
        let after = master_stats(&client.master);
        assert_eq!(
            after.requests - before.requests,
            after.responses - before.responses + 1,
            "the freeze got no response"
        );
        manager.shutdown();
    });
}

#[test]
fn a_freeze_at_time_the_outstation_does_not_support_reports_the_rejection() {
    each_backend(|manager| {
        let (_station, client) = started_pair(&manager);
        let kind = FreezeKind::AtTime {
            time: Timestamp(wall_clock()),
            interval_ms: 0,
        };
        assert_eq!(
            done("the freeze", client.master.freeze(FreezeRequest::all(kind))),
            Err(TaskError::Rejected(Iin::NO_FUNC_CODE_SUPPORT))
        );
        manager.shutdown();
    });
}

#[test]
fn unsolicited_responses_stop_when_disabled_and_resume_when_enabled_on_demand() {
    each_backend(|manager| {
        let (station, client) = started_pair(&manager);
        let master = &client.master;
        assert_eq!(
            done("disable", master.disable_unsolicited(Classes::EVENTS)),
            Ok(())
        );
        apply(&station.outstation, vec![Update::binary(0, true)]);
        read(master, ReadRequest::classes(Classes::CLASS1));
        let events = client.recorder.events_of(PointType::BinaryInput);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!events[0].unsolicited, "the event waited for the poll");

        assert_eq!(
            done("enable", master.enable_unsolicited(Classes::CLASS1)),
            Ok(())
        );
        apply(&station.outstation, vec![Update::binary(0, false)]);
        wait_until(
            "an unsolicited event",
            || client.recorder.events_of(PointType::BinaryInput),
            |e| {
                e.iter()
                    .any(|m| m.unsolicited && m.value == Val::Binary(false))
            },
        );
        manager.shutdown();
    });
}

#[test]
fn writes_clear_the_restart_bit_and_report_what_the_outstation_refuses() {
    each_backend(|manager| {
        let (_station, client) = started_pair(&manager);
        let master = &client.master;
        assert_eq!(
            done("the write", master.write(WriteRequest::ClearIin(7))),
            Ok(())
        );
        assert_eq!(
            done("the write", master.write(WriteRequest::ClearIin(4))),
            Err(TaskError::Rejected(Iin::PARAMETER_ERROR)),
            "only DEVICE_RESTART may be cleared"
        );
        let interval = WriteRequest::TimeAndInterval {
            index: 0,
            time: Timestamp(wall_clock()),
            interval: 1,
            units: 4,
        };
        assert_eq!(
            done("the write", master.write(interval)),
            Err(TaskError::Rejected(Iin::NO_FUNC_CODE_SUPPORT))
        );
        manager.shutdown();
    });
}

#[test]
fn a_generic_read_delivers_its_objects_to_the_read_handler() {
    each_backend(|manager| {
        let (_station, client) = started_pair(&manager);
        let before = client.recorder.statics().len();
        let mut headers = ObjectHeaders::new();
        headers.range(Variation::Group30Var0, 4, 5).unwrap();
        let result = done(
            "the request",
            client.master.send_request(FunctionCode::Read, headers),
        );
        assert_eq!(result, Ok(()));
        let analogs: Vec<_> = client.recorder.statics()[before..]
            .iter()
            .map(|m| (m.kind, m.index, m.value.clone()))
            .collect();
        assert_eq!(
            analogs,
            [
                (PointType::AnalogInput, 4, Val::Analog(6.0)),
                (PointType::AnalogInput, 5, Val::Analog(7.5)),
            ]
        );
        let refused = done(
            "the request",
            client
                .master
                .send_request(FunctionCode::Confirm, ObjectHeaders::new()),
        );
        assert!(
            matches!(refused, Err(TaskError::BadRequest(_))),
            "{refused:?}"
        );
        manager.shutdown();
    });
}

#[test]
fn with_event_scan_on_class_data_reported_in_any_response_is_read_at_once() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let config = MasterConfig::default()
            .with_unsolicited_classes(Classes::NONE)
            .with_event_scan(Classes::EVENTS);
        let client = start_master(&manager, station.address, config);
        wait_startup(&client.master);
        apply(&station.outstation, vec![Update::binary(1, false)]);
        // A class 0 read carries no events, but its IIN reports class 1 data available.
        read(&client.master, ReadRequest::classes(Classes::CLASS0));
        let events = wait_until(
            "the event read by the scan",
            || client.recorder.events_of(PointType::BinaryInput),
            |e| !e.is_empty(),
        );
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!((events[0].index, events[0].unsolicited), (1, false));
        manager.shutdown();
    });
}

/// Records the device attributes a master receives, as (variation, text or number).
struct Attributes(std::sync::mpsc::Sender<(u8, String)>);

impl rdnp3::ReadHandler for Attributes {
    fn measurement(&mut self, _m: &rdnp3::Measurement<'_>) {}

    fn device_attribute(&mut self, a: &rdnp3::stack::master::DeviceAttribute<'_>) {
        let value = a
            .value
            .as_str()
            .map(str::to_owned)
            .or_else(|| a.value.as_unsigned().map(|n| n.to_string()))
            .unwrap_or_default();
        let _ = self.0.send((a.variation, value));
    }
}

#[test]
fn device_attributes_read_by_the_master_are_the_ones_the_outstation_serves() {
    each_backend(|manager| {
        let attributes = rdnp3::stack::outstation::DeviceAttributes::default()
            .with_vendor_name("rdnp3 tests".into())
            .with_software_version("9.9.9".into());
        let station = start_outstation(
            &manager,
            outstation_config(1024).with_device_attributes(attributes),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let channel = manager
            .add_tcp_client(channel_config("master"), station.address, None)
            .expect("client channel");
        let master = channel
            .add_master(MasterConfig::default(), Box::new(Attributes(tx)))
            .expect("master added");
        wait_startup(&master);
        let result = done(
            "the attribute read",
            master.read_attributes(0, rdnp3::ALL_ATTRIBUTES),
        );
        assert_eq!(result, Ok(()));
        let seen: std::collections::HashMap<u8, String> = rx.try_iter().collect();
        assert_eq!(seen.get(&252).map(String::as_str), Some("rdnp3 tests"));
        assert_eq!(seen.get(&242).map(String::as_str), Some("9.9.9"));
        manager.shutdown();
    });
}

#[test]
fn assign_class_moves_analog_events_to_the_class_the_master_names() {
    each_backend(|manager| {
        let (station, client) = started_pair(&manager);
        let master = &client.master;
        assert_eq!(
            done("disable", master.disable_unsolicited(Classes::EVENTS)),
            Ok(())
        );
        let to_class3 = rdnp3::ClassAssignment::new(
            rdnp3::EventClass::Class3,
            vec![(Variation::Group30Var0, rdnp3::PointRange::All)],
        );
        assert_eq!(
            done("assign class", master.assign_class(vec![to_class3])),
            Ok(())
        );
        client.recorder.clear();
        apply(&station.outstation, vec![Update::analog(0, 123.0)]);
        read(
            master,
            ReadRequest::classes(Classes::CLASS1 | Classes::CLASS2),
        );
        assert!(
            client.recorder.events_of(PointType::AnalogInput).is_empty(),
            "no analog event is left in classes 1 and 2"
        );
        read(master, ReadRequest::classes(Classes::CLASS3));
        let events = client.recorder.events_of(PointType::AnalogInput);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].value, Val::Analog(123.0));
        manager.shutdown();
    });
}

#[test]
fn a_deadband_written_by_the_master_filters_the_outstation_s_analog_events() {
    each_backend(|manager| {
        let (station, client) = started_pair(&manager);
        let master = &client.master;
        assert_eq!(
            done("disable", master.disable_unsolicited(Classes::EVENTS)),
            Ok(())
        );
        let deadband = rdnp3::WriteRequest::Deadbands(vec![(0, rdnp3::Deadband::F32(10.0))]);
        assert_eq!(done("the deadband write", master.write(deadband)), Ok(()));
        client.recorder.clear();
        apply(&station.outstation, vec![Update::analog(0, 5.0)]);
        read(master, ReadRequest::classes(Classes::EVENTS));
        assert!(
            client.recorder.events_of(PointType::AnalogInput).is_empty(),
            "a change within the deadband makes no event"
        );
        apply(&station.outstation, vec![Update::analog(0, 50.0)]);
        read(master, ReadRequest::classes(Classes::EVENTS));
        let events = client.recorder.events_of(PointType::AnalogInput);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].value, Val::Analog(50.0));
        manager.shutdown();
    });
}
