//! A real master and a real outstation over loopback TCP: the start-up sequence, integrity
//! data, events by poll and unsolicited, time synchronisation and restarts (IEEE 1815-2012, clause 4).
//! Controls, connections and scale are in the other `sessions_*` files.

mod util;

use rdnp3::stack::app::{Fragment, FunctionCode, Iin};
use rdnp3::stack::master::{
    Classes, MasterConfig, ReadRequest, RestartKind, TaskError, TimeSyncMode,
};
use rdnp3::stack::objects::Timestamp;
use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventBufferConfig, MirrorOutputs, OutstationApplication,
    PointConfig, PointType, Update,
};
use rdnp3::Manager;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::*;

use rdnp3_testkit::hex::bytes as hex;

/// An outstation application that records the times the master writes and supports both
/// restarts.
#[derive(Clone, Default)]
struct ClockApp {
    times: Arc<Mutex<Vec<Timestamp>>>,
}

impl OutstationApplication for ClockApp {
    fn on_time_write(&mut self, time: Timestamp) -> bool {
        lock(&self.times).push(time);
        true
    }

    fn cold_restart(&mut self) -> Option<Duration> {
        Some(Duration::from_millis(1500))
    }

    fn warm_restart(&mut self) -> Option<Duration> {
        Some(Duration::from_secs(90))
    }
}

impl ClockApp {
    fn times(&self) -> Vec<Timestamp> {
        lock(&self.times).clone()
    }
}

fn demo_station(manager: &Manager) -> Station {
    start_outstation(
        manager,
        outstation_config(1024),
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    )
}

#[test]
fn startup_disables_unsolicited_clears_restart_polls_integrity_then_enables_unsolicited() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        let proxy = client
            .proxy
            .as_ref()
            .expect("start_master connects through a proxy");
        let stats = wait_startup(&client.master);
        assert_eq!((stats.requests, stats.timeouts, stats.failures), (4, 0, 0));

        let captured = proxy.captured();
        let requests: Vec<Vec<u8>> = captured
            .iter()
            .filter(|c| c.from_master && c.bytes.get(1) != Some(&FunctionCode::Confirm.to_u8()))
            .map(|c| c.bytes.clone())
            .collect();
        // IEEE 1815-2012, clause 4; the outstation's first response reports DEVICE_RESTART, so clearing
        // it (the highest-priority automatic task) comes right after disable unsolicited.
        assert_eq!(
            requests,
            [
                hex("C0 15 3C 02 06 3C 03 06 3C 04 06"),
                hex("C1 02 50 01 00 07 07 00"),
                hex("C2 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06"),
                hex("C3 14 3C 02 06 3C 03 06 3C 04 06"),
            ]
        );

        let from_outstation: Vec<&Captured> = captured.iter().filter(|c| !c.from_master).collect();
        // The null unsolicited response after restart: DEVICE_RESTART and NEED_TIME (§6.3).
        assert_eq!(from_outstation[0].bytes, hex("F0 82 90 00"));
        assert!(
            captured
                .iter()
                .any(|c| c.from_master && c.bytes == hex("D0 00")),
            "the master confirms the null unsolicited response"
        );
        let headers: Vec<Vec<u8>> = from_outstation[1..]
            .iter()
            .map(|c| c.bytes[..4].to_vec())
            .collect();
        assert_eq!(
            headers,
            [
                hex("C0 81 90 00"),
                hex("C1 81 10 00"),
                hex("C2 81 10 00"),
                hex("C3 81 10 00"),
            ],
            "DEVICE_RESTART clears with the write; NEED_TIME stays"
        );
        let integrity = Fragment::parse(&from_outstation[3].bytes).expect("a response");
        assert!(!integrity.body.is_empty(), "class 0 data");

        let o = outstation_stats(&station.outstation);
        assert_eq!((o.requests, o.responses, o.unsolicited), (4, 4, 1));
        assert_eq!(o.confirms, 1);
        manager.shutdown();
    });
}

#[test]
fn an_integrity_poll_returns_every_point_of_the_outstation_database() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let mut reference = demo_database(0);
        assert_statics_equal_database(&client.recorder.statics(), &reference);

        // New values everywhere, then a class 0 read: the master sees exactly the new state.
        let mut script = EventScript::default();
        let mut updates = script.next_round();
        updates.extend(script.next_round());
        updates.extend(script.next_round());
        reference.apply(&rdnp3_testkit::now(), &updates);
        apply(&station.outstation, updates);
        client.recorder.clear();
        read(&client.master, ReadRequest::classes(Classes::CLASS0));
        assert_statics_equal_database(&client.recorder.statics(), &reference);
        manager.shutdown();
    });
}

#[test]
fn a_class_0_response_of_several_fragments_reaches_the_master_whole() {
    each_backend(|manager| {
        let points = 0..1500u16;
        let mut db = DatabaseBuilder::new()
            .add(
                PointType::AnalogInput,
                points.clone(),
                PointConfig::default(),
            )
            .add(PointType::Counter, points.clone(), PointConfig::default())
            .build()
            .expect("a valid database");
        let values: Vec<Update> = points
            .clone()
            .flat_map(|i| {
                [
                    Update::analog(i, f64::from(i) * 2.0),
                    Update::counter(i, u32::from(i) * 3),
                ]
            })
            .collect();
        db.load(&rdnp3_testkit::now(), &values);
        let station = start_outstation(
            &manager,
            outstation_config(1024),
            db,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        let client = start_master(&manager, station.address, MasterConfig::default());
        let m = wait_until(
            "the integrity poll",
            || master_stats(&client.master),
            |m| m.polls >= 1,
        );
        assert_eq!((m.polls, m.timeouts, m.failures), (1, 0, 0));
        let fragments: Vec<(bool, bool)> = client
            .recorder
            .responses()
            .iter()
            .map(|r| (r.fir, r.fin))
            .collect();
        assert!(fragments.len() > 2, "{fragments:?}");
        assert_eq!(fragments.first(), Some(&(true, false)));
        assert_eq!(fragments.last(), Some(&(false, true)));
        let statics = client.recorder.statics();
        let analogs: Vec<(u16, Val)> = statics
            .iter()
            .filter(|m| m.kind == PointType::AnalogInput)
            .map(|m| (m.index, m.value.clone()))
            .collect();
        let counters: Vec<(u16, Val)> = statics
            .iter()
            .filter(|m| m.kind == PointType::Counter)
            .map(|m| (m.index, m.value.clone()))
            .collect();
        let expected = |f: fn(u16) -> Val| points.clone().map(|i| (i, f(i))).collect::<Vec<_>>();
        assert_eq!(analogs, expected(|i| Val::Analog(f64::from(i) * 2.0)));
        assert_eq!(counters, expected(|i| Val::Counter(u32::from(i) * 3)));
        // Every fragment but the last asked for a confirm and got it.
        let o = outstation_stats(&station.outstation);
        assert_eq!(o.confirm_timeouts, 0);
        assert!(o.confirms as usize >= fragments.len() - 1);
        manager.shutdown();
    });
}

#[test]
fn an_overflowed_event_buffer_keeps_the_newest_events_and_reports_the_loss() {
    each_backend(|manager| {
        let config = outstation_config(1024).with_event_buffer(EventBufferConfig::all(10));
        let station = start_outstation(
            &manager,
            config,
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        let mut script = EventScript::default();
        for _ in 0..15 {
            apply(&station.outstation, script.next_round());
        }
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let integrity = client.recorder.responses();
        assert!(
            integrity[0].iin.contains(Iin::EVENT_BUFFER_OVERFLOW),
            "{integrity:?}"
        );
        // The oldest five of each type were dropped.
        assert_events_delivered_since(&client.recorder, &script, 5);
        let o = outstation_stats(&station.outstation);
        assert_eq!(o.events_dropped, 5 * ALL_KINDS.len() as u64);

        // Once the master confirmed the events the loss is no longer reported.
        client.recorder.clear();
        read(&client.master, ReadRequest::integrity());
        let later = client.recorder.responses();
        assert!(
            later
                .iter()
                .all(|r| !r.iin.contains(Iin::EVENT_BUFFER_OVERFLOW)),
            "{later:?}"
        );
        manager.shutdown();
    });
}

/// Posts `rounds` rounds of the script in bursts of ten, pausing briefly between bursts so
/// that the events spread over several responses of several events each.
fn post_rounds(station: &Station, script: &mut EventScript, rounds: usize) {
    for round in 0..rounds {
        station
            .outstation
            .update(script.next_round())
            .expect("updates posted");
        if round % 10 == 9 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
}

#[test]
fn polled_events_arrive_exactly_once_and_in_order_for_every_type() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let config = MasterConfig::default().with_unsolicited_classes(Classes::NONE);
        let client = start_master(&manager, station.address, config);
        wait_startup(&client.master);
        client
            .master
            .add_poll(
                ReadRequest::classes(Classes::EVENTS),
                Duration::from_millis(15),
            )
            .expect("poll added");

        let mut script = EventScript::default();
        post_rounds(&station, &mut script, 120);
        assert_events_delivered(&client.recorder, &script);
        // A last poll after everything arrived finds nothing left and nothing twice.
        read(&client.master, ReadRequest::classes(Classes::EVENTS));
        assert_events_delivered(&client.recorder, &script);
        assert_eq!(client.recorder.events().len(), script.total());
        assert!(client.recorder.events().iter().all(|m| !m.unsolicited));

        let o = outstation_stats(&station.outstation);
        assert_eq!(o.events_created, script.total() as u64);
        assert_eq!(
            (o.events_dropped, o.unsolicited),
            (0, 1),
            "only the null response"
        );
        let m = master_stats(&client.master);
        assert_eq!((m.timeouts, m.failures), (0, 0));
        manager.shutdown();
    });
}

#[test]
fn unsolicited_events_arrive_exactly_once_in_order_and_are_confirmed() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        client.recorder.clear();

        let mut script = EventScript::default();
        post_rounds(&station, &mut script, 120);
        assert_events_delivered(&client.recorder, &script);
        let events = client.recorder.events();
        assert_eq!(events.len(), script.total());
        assert!(
            events.iter().all(|m| m.unsolicited),
            "no poll ran: every event came unsolicited"
        );

        // Every unsolicited response was confirmed once; none was repeated.
        let (m, o) = wait_until(
            "the outstation to receive every confirm the master sent",
            || {
                (
                    master_stats(&client.master),
                    outstation_stats(&station.outstation),
                )
            },
            |(m, o)| m.confirms == o.confirms,
        );
        assert!(m.unsolicited >= 2, "the null response and event responses");
        assert_eq!(m.unsolicited, o.unsolicited, "no repeats");
        assert!(m.confirms >= m.unsolicited);
        assert_eq!(o.confirm_timeouts, 0);
        assert_eq!(o.events_dropped, 0);
        assert_eq!((m.timeouts, m.failures, m.ignored), (0, 0, 0));
        manager.shutdown();
    });
}

#[test]
fn events_arrive_exactly_once_when_polls_and_unsolicited_responses_interleave() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        client
            .master
            .add_poll(
                ReadRequest::classes(Classes::EVENTS),
                Duration::from_millis(2),
            )
            .expect("poll added");
        let mut script = EventScript::default();
        post_rounds(&station, &mut script, 200);
        assert_events_delivered(&client.recorder, &script);
        read(&client.master, ReadRequest::classes(Classes::EVENTS));
        assert_eq!(client.recorder.events().len(), script.total());
        let m = master_stats(&client.master);
        assert_eq!((m.timeouts, m.failures), (0, 0));
        let o = outstation_stats(&station.outstation);
        assert_eq!((o.confirm_timeouts, o.events_dropped), (0, 0));
        manager.shutdown();
    });
}

/// Syncs the outstation's clock with `mode` and checks the time it was given and NEED_TIME.
fn time_sync_sets_the_clock_and_clears_need_time(manager: Manager, mode: TimeSyncMode) {
    let app = ClockApp::default();
    let station = start_outstation(
        &manager,
        outstation_config(1024),
        demo_database(0),
        Box::new(MirrorOutputs),
        Box::new(app.clone()),
    );
    let client = start_master(&manager, station.address, MasterConfig::default());
    wait_startup(&client.master);
    let integrity = client.recorder.responses();
    assert!(
        integrity.iter().all(|r| r.iin.contains(Iin::NEED_TIME)),
        "NEED_TIME is set until the time is written: {integrity:?}"
    );
    assert!(app.times().is_empty());

    let before = wall_clock();
    client
        .master
        .time_sync(mode)
        .wait_timeout(WAIT)
        .expect("the time sync completes")
        .expect("the time sync succeeds");
    let after = wall_clock();
    let times = app.times();
    assert_eq!(times.len(), 1, "one time write: {times:?}");
    // A bound, not a timing measurement: the written time lies within the sync's own span,
    // widened generously for clock granularity and scheduling.
    let slack = 2000;
    assert!(
        times[0].0 + slack >= before && times[0].0 <= after + slack,
        "time {} not within [{before}, {after}] ± {slack} ms",
        times[0].0
    );

    client.recorder.clear();
    read(&client.master, ReadRequest::integrity());
    let responses = client.recorder.responses();
    assert!(!responses.is_empty());
    assert!(
        responses.iter().all(|r| !r.iin.contains(Iin::NEED_TIME)),
        "NEED_TIME cleared: {responses:?}"
    );
    manager.shutdown();
}

#[test]
fn lan_time_sync_sets_the_outstation_clock_and_clears_need_time() {
    each_backend(|manager| {
        time_sync_sets_the_clock_and_clears_need_time(manager, TimeSyncMode::Lan)
    });
}

#[test]
fn non_lan_time_sync_sets_the_outstation_clock_and_clears_need_time() {
    each_backend(|manager| {
        time_sync_sets_the_clock_and_clears_need_time(manager, TimeSyncMode::NonLan)
    });
}

#[test]
fn a_master_configured_for_time_sync_answers_need_time_by_itself() {
    each_backend(|manager| {
        let app = ClockApp::default();
        let station = start_outstation(
            &manager,
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(app.clone()),
        );
        let before = wall_clock();
        let config = MasterConfig::default().with_time_sync(Some(TimeSyncMode::NonLan));
        let client = start_master(&manager, station.address, config);
        let times = wait_until(
            "the automatic time synchronisation",
            || app.times(),
            |t| !t.is_empty(),
        );
        assert!(times[0].0 + 2000 >= before && times[0].0 <= wall_clock() + 2000);
        wait_startup(&client.master);
        client.recorder.clear();
        read(&client.master, ReadRequest::integrity());
        assert!(client
            .recorder
            .responses()
            .iter()
            .all(|r| !r.iin.contains(Iin::NEED_TIME)));
        assert_eq!(app.times().len(), 1, "synchronised once");
        manager.shutdown();
    });
}

#[test]
fn the_master_clears_device_restart_at_startup() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let proxy = client
            .proxy
            .as_ref()
            .expect("start_master connects through a proxy");
        let first = proxy
            .captured()
            .into_iter()
            .find(|c| !c.from_master)
            .expect("the outstation sent something");
        let iin = Fragment::parse(&first.bytes).expect("a response").iin;
        assert!(
            iin.is_some_and(|i| i.contains(Iin::DEVICE_RESTART)),
            "the outstation starts with DEVICE_RESTART: {iin:?}"
        );
        read(&client.master, ReadRequest::classes(Classes::CLASS0));
        let responses = client.recorder.responses();
        assert!(
            responses.len() >= 2,
            "integrity poll and read: {responses:?}"
        );
        assert!(
            responses
                .iter()
                .all(|r| !r.iin.contains(Iin::DEVICE_RESTART)),
            "{responses:?}"
        );
        let m = master_stats(&client.master);
        assert_eq!((m.timeouts, m.failures), (0, 0));
        manager.shutdown();
    });
}

#[test]
fn restarts_return_the_delay_the_outstation_application_gives() {
    each_backend(|manager| {
        let station = start_outstation(
            &manager,
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(ClockApp::default()),
        );
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let cold = client
            .master
            .restart(RestartKind::Cold)
            .wait_timeout(WAIT)
            .expect("the restart completes");
        assert_eq!(cold, Ok(Duration::from_millis(1500)), "g52v2 milliseconds");
        let warm = client
            .master
            .restart(RestartKind::Warm)
            .wait_timeout(WAIT)
            .expect("the restart completes");
        assert_eq!(warm, Ok(Duration::from_secs(90)), "g52v1 seconds");

        // An application without restart support: IIN2.0.
        let plain = demo_station(&manager);
        let other = start_master(&manager, plain.address, MasterConfig::default());
        wait_startup(&other.master);
        let refused = other
            .master
            .restart(RestartKind::Cold)
            .wait_timeout(WAIT)
            .expect("the restart completes");
        assert_eq!(refused, Err(TaskError::Rejected(Iin::NO_FUNC_CODE_SUPPORT)));
        manager.shutdown();
    });
}
