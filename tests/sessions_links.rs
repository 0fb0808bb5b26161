//! Connections end to end: events survive a master that goes away without confirming and
//! are delivered to the next one exactly once; events made while nobody is connected wait
//! for the connect; two outstations share one TCP connection by link address and frames for
//! an unknown address are dropped; a client reconnects with back-off; keep-alive requests
//! are answered, and a silent peer is dropped.

mod util;

use rdnp3::stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use rdnp3::stack::link::{LinkFunction, LinkHeader};
use rdnp3::stack::master::{MasterConfig, NullReadHandler};
use rdnp3::stack::objects::PointType;
use rdnp3::stack::objects::Variation;
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{ChannelState, Manager};
use std::time::Duration;
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

/// Applies `rounds` rounds of the script.
fn make_events(station: &Station, script: &mut EventScript, rounds: usize) {
    for _ in 0..rounds {
        apply(&station.outstation, script.next_round());
    }
}

/// How a raw master leaves events unconfirmed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Silence {
    /// It polls them and closes without confirming.
    PolledThenClosed,
    /// It polls them and stays connected until the next master's connection replaces it.
    PolledThenReplaced,
    /// It enables unsolicited reporting, receives them unsolicited and closes.
    UnsolicitedThenClosed,
}

/// A raw master's request with class headers (qualifier 06).
fn class_request(function: FunctionCode, seq: u8, classes: &[Variation]) -> Vec<u8> {
    let mut buf = [0u8; 32];
    let mut w =
        FragmentWriter::request(&mut buf, AppControl::single(seq), function).expect("header");
    for v in classes {
        w.all(*v).expect("class header");
    }
    let n = w.len();
    buf[..n].to_vec()
}

/// A raw master gets a response with events and never confirms it; more events come while
/// it stays silent; then it goes away as `how` says. The next master gets every event
/// exactly once.
fn unconfirmed_events_reach_the_next_master(manager: Manager, how: Silence) {
    let station = demo_station(&manager);
    let mut script = EventScript::default();
    make_events(&station, &mut script, 10);

    let mut raw = RawPeer::connect_master(station.address, 1, 1024);
    let (class1, class2, class3) = (
        Variation::Group60Var2,
        Variation::Group60Var3,
        Variation::Group60Var4,
    );
    let response = if how == Silence::UnsolicitedThenClosed {
        let enable = class_request(
            FunctionCode::EnableUnsolicited,
            0,
            &[class1, class2, class3],
        );
        raw.request(&enable);
        raw.recv()
    } else {
        let integrity = class_request(
            FunctionCode::Read,
            0,
            &[class1, class2, class3, Variation::Group60Var1],
        );
        raw.request(&integrity)
    };
    let f = Fragment::parse(&response).expect("a response");
    assert!(f.control.con, "a response with events asks for a confirm");
    assert_eq!(
        f.control.uns,
        how == Silence::UnsolicitedThenClosed,
        "{:?}",
        f.function
    );
    let events_sent = f
        .objects()
        .flatten()
        .filter(|h| PointType::of(h.variation).is_some_and(|(_, event)| event))
        .map(|h| h.count)
        .sum::<u32>();
    assert!(events_sent > 0, "the response carried events");
    // New events while the response waits for a confirm that never comes.
    make_events(&station, &mut script, 10);
    let stale = if how == Silence::PolledThenReplaced {
        Some(raw)
    } else {
        raw.close();
        wait_until(
            "the outstation to see the connection close",
            || station.states.last(),
            |s| *s == Some(ChannelState::Connecting),
        );
        None
    };

    let client = start_master(&manager, station.address, MasterConfig::default());
    wait_startup(&client.master);
    assert_events_delivered(&client.recorder, &script);
    // And events made now come unsolicited, still once each.
    make_events(&station, &mut script, 10);
    assert_events_delivered(&client.recorder, &script);
    let o = outstation_stats(&station.outstation);
    assert_eq!(o.events_dropped, 0);
    if let Some(raw) = stale {
        raw.close();
    }
    manager.shutdown();
}

#[test]
fn events_of_a_response_a_closed_master_never_confirmed_reach_the_next_master_once() {
    each_backend(|manager| {
        unconfirmed_events_reach_the_next_master(manager, Silence::PolledThenClosed)
    });
}

#[test]
fn events_of_a_response_a_replaced_master_never_confirmed_reach_the_next_master_once() {
    each_backend(|manager| {
        unconfirmed_events_reach_the_next_master(manager, Silence::PolledThenReplaced)
    });
}

#[test]
fn events_of_an_unsolicited_response_never_confirmed_reach_the_next_master_once() {
    each_backend(|manager| {
        unconfirmed_events_reach_the_next_master(manager, Silence::UnsolicitedThenClosed)
    });
}

#[test]
fn events_made_while_no_master_is_connected_are_delivered_after_the_connect() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let mut script = EventScript::default();
        make_events(&station, &mut script, 10);
        let first = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&first.master);
        assert_events_delivered(&first.recorder, &script);

        first.channel.shutdown();
        wait_until(
            "the outstation to see the master leave",
            || station.states.last(),
            |s| *s == Some(ChannelState::Connecting),
        );
        let from = script.rounds();
        make_events(&station, &mut script, 10);
        assert_eq!(
            first.recorder.events().len(),
            ALL_KINDS.len() * 10,
            "the first master got only the events made before it left"
        );

        let second = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&second.master);
        assert_events_delivered_since(&second.recorder, &script, from);
        let m = master_stats(&second.master);
        assert_eq!((m.timeouts, m.failures), (0, 0));
        manager.shutdown();
    });
}

#[test]
fn two_outstations_share_one_connection_by_link_address() {
    each_backend(|manager| {
        let address = free_address();
        let server_states = StateLog::default();
        let server = manager
            .add_tcp_server(channel_config("server"), address, server_states.listener())
            .expect("server channel");
        let outstations: Vec<_> = [(1024, 0), (1025, 500)]
            .into_iter()
            .map(|(local, offset)| {
                server
                    .add_outstation(
                        outstation_config(local),
                        demo_database(offset),
                        Box::new(MirrorOutputs),
                        Box::new(DefaultApplication),
                    )
                    .expect("outstation added")
            })
            .collect();
        // Through a proxy that relays only once both channels carry their sessions.
        let proxy = Proxy::start(address);
        let client = manager
            .add_tcp_client(channel_config("client"), proxy.address(), None)
            .expect("client channel");
        let recorders = [Recorder::default(), Recorder::default()];
        let masters: Vec<_> = [1024, 1025]
            .into_iter()
            .zip(&recorders)
            .map(|(outstation_address, recorder)| {
                let config = MasterConfig::default().with_outstation_address(outstation_address);
                client
                    .add_master(config, recorder.handler())
                    .expect("master added")
            })
            .collect();
        proxy.open();
        for master in &masters {
            wait_startup(master);
        }
        assert_statics_equal_database(&recorders[0].statics(), &demo_database(0));
        assert_statics_equal_database(&recorders[1].statics(), &demo_database(500));

        // Events of 1025 reach only its master.
        let mut script = EventScript::default();
        for _ in 0..10 {
            apply(&outstations[1], script.next_round());
        }
        assert_events_delivered(&recorders[1], &script);
        assert!(recorders[0].events().is_empty());

        assert_eq!(client.stats().connects, 1, "one connection carries both");
        assert_eq!(server.stats().connects, 1);
        assert_eq!(server.stats().dropped_frames, 0);
        assert_eq!(client.stats().dropped_frames, 0);
        for master in &masters {
            let m = master_stats(master);
            assert_eq!((m.timeouts, m.failures, m.ignored), (0, 0, 0));
        }
        manager.shutdown();
    });
}

#[test]
fn frames_for_an_unknown_address_are_dropped_and_counted() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        // Through a proxy that relays only once both channels carry their sessions.
        let proxy = Proxy::start(station.address);
        let client = start_master_direct(&manager, proxy.address(), MasterConfig::default());
        // A second association on the same connection, to an outstation that does not exist.
        let lost = client
            .channel
            .add_master(
                MasterConfig::default()
                    .with_outstation_address(1026)
                    .with_response_timeout(Duration::from_millis(200))
                    .with_task_retry_min(Duration::from_secs(30)),
                Recorder::default().handler(),
            )
            .expect("master added");
        proxy.open();
        wait_startup(&client.master);
        let m = wait_until(
            "the request to 1026 to time out",
            || master_stats(&lost),
            |m| m.timeouts >= 1,
        );
        assert_eq!(
            (m.requests, m.responses),
            (1, 0),
            "disable unsolicited, unanswered"
        );
        let dropped = station.channel.stats().dropped_frames;
        assert_eq!(dropped, 1, "the one frame to 1026 was dropped");
        let o = outstation_stats(&station.outstation);
        assert_eq!(o.ignored_fragments, 0, "the outstation never saw it");
        assert_eq!(client.channel.stats().dropped_frames, 0);
        let good = master_stats(&client.master);
        assert_eq!((good.timeouts, good.failures), (0, 0));
        manager.shutdown();
    });
}

#[test]
fn a_client_retries_with_back_off_until_the_outstation_listens() {
    each_backend(|manager| {
        let address = free_address();
        let client = start_master_direct(&manager, address, MasterConfig::default());
        wait_until(
            "the client to retry",
            || client.channel.stats(),
            |s| s.reconnects >= 3,
        );
        assert_eq!(client.channel.stats().connects, 0);

        let station = start_outstation_at(
            &manager,
            address,
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        wait_startup(&client.master);
        let states = client.states.states();
        assert_eq!(
            states.first(),
            Some(&ChannelState::Connecting),
            "{states:?}"
        );
        assert_eq!(states.last(), Some(&ChannelState::Open), "{states:?}");
        // (Connecting, Closed) for every failed attempt, then Connecting, Open.
        let (failed, connected) = states.split_at(states.len() - 2);
        assert_eq!(connected, [ChannelState::Connecting, ChannelState::Open]);
        assert!(
            failed
                .chunks(2)
                .all(|c| c == [ChannelState::Connecting, ChannelState::Closed]),
            "Connecting and Closed alternate until the connect: {states:?}"
        );
        assert!(
            failed.len() >= 6,
            "at least three failed attempts: {states:?}"
        );
        assert_eq!(client.channel.stats().connects, 1);

        // The outstation goes away and comes back: the client reconnects and starts over.
        station.channel.shutdown();
        wait_until(
            "the client to lose the connection",
            || client.states.last(),
            |s| *s != Some(ChannelState::Open),
        );
        let _again = start_outstation_at(
            &manager,
            address,
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        wait_until(
            "the second start-up",
            || master_stats(&client.master),
            |m| m.polls >= 2 && m.requests == m.responses,
        );
        assert_eq!(client.states.last(), Some(ChannelState::Open));
        assert_eq!(client.channel.stats().connects, 2);
        manager.shutdown();
    });
}

#[test]
fn keep_alive_closes_a_connection_whose_peer_stays_silent() {
    each_backend(|manager| {
        let address = free_address();
        let config = channel_config("outstation")
            .with_keep_alive(Some(Duration::from_millis(100)))
            .with_link_timeout(Duration::from_millis(100));
        let channel = manager
            .add_tcp_server(config, address, None)
            .expect("server channel");
        channel
            .add_outstation(
                outstation_config(1024),
                demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )
            .expect("outstation added");
        let raw = RawPeer::connect_master(address, 1, 1024);
        let frames = raw.wait_closed();
        let request = LinkHeader::new(false, LinkFunction::RequestLinkStatus, 1, 1024);
        assert_eq!(frames, [request], "one REQUEST_LINK_STATUS, then the close");
        let stats = channel.stats();
        assert_eq!((stats.keep_alive_failures, stats.connects), (1, 1));
        manager.shutdown();
    });
}

#[test]
fn keep_alive_requests_between_two_channels_are_answered() {
    each_backend(|manager| {
        let address = free_address();
        let config = |name| {
            channel_config(name)
                .with_keep_alive(Some(Duration::from_millis(30)))
                .with_link_timeout(Duration::from_secs(2))
        };
        let server = manager
            .add_tcp_server(config("outstation"), address, None)
            .expect("server channel");
        server
            .add_outstation(
                outstation_config(1024),
                demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )
            .expect("outstation added");
        let client = manager
            .add_tcp_client(config("master"), address, None)
            .expect("client channel");
        let master = client
            .add_master(MasterConfig::default(), Box::new(NullReadHandler))
            .expect("master added");
        wait_startup(&master);
        let (server_rx, client_rx) = (server.stats().frames_rx, client.stats().frames_rx);
        // Idle now: only keep-alive requests and their answers cross.
        wait_until(
            "several keep-alive exchanges",
            || (server.stats().frames_rx, client.stats().frames_rx),
            |&(s, c)| s >= server_rx + 4 && c >= client_rx + 4,
        );
        for stats in [server.stats(), client.stats()] {
            assert_eq!((stats.keep_alive_failures, stats.connects), (0, 1));
            assert_eq!((stats.link_errors, stats.dropped_frames), (0, 0));
        }
        manager.shutdown();
    });
}
