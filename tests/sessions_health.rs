//! The health of master associations as an operator of many outstations sees it, over
//! loopback TCP: the association listener's reports, and the statistics of every association
//! read in one call per channel and per manager.

mod util;

use rdnp3::stack::master::NullReadHandler;
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs, Update};
use rdnp3::{
    AssociationListener, AssociationState, AssociationStats, Classes, Iin, Manager, MasterConfig,
    ReadRequest, TaskError,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::*;

/// Writes every report down as one line.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<String>>>);

impl Heard {
    fn lines(&self) -> Vec<String> {
        lock(&self.0).clone()
    }

    fn has(&self, line: &str) -> bool {
        lock(&self.0).iter().any(|l| l == line)
    }
}

impl AssociationListener for Heard {
    fn state_changed(&mut self, state: AssociationState) {
        lock(&self.0).push(format!("state {}", state.name()));
    }

    fn task_completed(&mut self, task: &'static str, result: &Result<(), TaskError>) {
        let line = match result {
            Ok(()) => format!("{task}: ok"),
            Err(e) => format!("{task}: {e}"),
        };
        lock(&self.0).push(line);
    }

    fn iin_changed(&mut self, iin: Iin) {
        lock(&self.0).push(format!("iin {:04X}", iin.0));
    }

    fn restart_detected(&mut self) {
        lock(&self.0).push("restart".to_string());
    }

    fn unsolicited(&mut self, with_data: bool) {
        lock(&self.0).push(format!("unsolicited with_data={with_data}"));
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
fn a_listener_hears_the_association_go_online_run_its_tasks_receive_events_and_go_offline() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let channel = manager
            .add_tcp_client(channel_config("health"), station.address, None)
            .expect("client channel");
        let heard = Heard::default();
        let master = channel
            .add_master_with_listener(
                MasterConfig::default(),
                Box::new(NullReadHandler),
                Box::new(heard.clone()),
            )
            .expect("master added");
        wait_for("the start-up sequence", || {
            heard.has("enable unsolicited: ok")
        });
        let lines = heard.lines();
        let position = |line: &str| {
            lines
                .iter()
                .position(|l| l == line)
                .unwrap_or_else(|| panic!("no {line:?} in {lines:#?}"))
        };
        let order = [
            "restart",
            "state online",
            "disable unsolicited: ok",
            "clear restart: ok",
            "integrity poll: ok",
            "enable unsolicited: ok",
        ]
        .map(position);
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{lines:#?}");
        assert_eq!(lines.iter().filter(|l| *l == "state online").count(), 1);

        station
            .outstation
            .update(vec![Update::binary(0, true)])
            .expect("update posted");
        wait_for("an unsolicited response with data", || {
            heard.has("unsolicited with_data=true")
        });

        read(&master, ReadRequest::classes(Classes::ALL));
        wait_for("the read's report", || heard.has("read: ok"));

        station.channel.shutdown();
        wait_for("the association to go offline", || {
            heard.has("state offline")
        });
        let stats = master_stats(&master);
        assert!(stats.last_success.is_some());
        assert!(stats.last_rtt.is_some() && stats.rtt_average.is_some());
        manager.shutdown();
    });
}

#[test]
fn the_stats_of_many_associations_are_read_in_one_call_per_channel_and_per_manager() {
    const OUTSTATIONS: u16 = 40;
    let manager = manager();
    // One server channel carrying 40 outstations, one client channel carrying their masters.
    let address = free_address();
    let server = manager
        .add_tcp_server(channel_config("rtus"), address, None)
        .expect("server channel");
    let _outstations: Vec<_> = (0..OUTSTATIONS)
        .map(|i| {
            server
                .add_outstation(
                    outstation_config(100 + i),
                    demo_database(0),
                    Box::new(MirrorOutputs),
                    Box::new(DefaultApplication),
                )
                .expect("outstation added")
        })
        .collect();
    let client = manager
        .add_tcp_client(channel_config("scada"), address, None)
        .expect("client channel");
    let masters: Vec<_> = (0..OUTSTATIONS)
        .map(|i| {
            let config = MasterConfig::default()
                .with_outstation_address(100 + i)
                .with_response_timeout(Duration::from_secs(10));
            client
                .add_master(config, Box::new(NullReadHandler))
                .expect("master added")
        })
        .collect();
    // A second client channel whose association never reaches its outstation.
    let lonely = manager
        .add_tcp_client(channel_config("lonely"), free_address(), None)
        .expect("client channel");
    lonely
        .add_master(MasterConfig::default(), Box::new(NullReadHandler))
        .expect("master added");

    let all = wait_until(
        "every association's integrity poll in the manager's statistics",
        || manager.master_stats(),
        |all| all.iter().filter(|a| a.stats.polls >= 1).count() == usize::from(OUTSTATIONS),
    );
    assert_eq!(all.len(), usize::from(OUTSTATIONS) + 1);
    let mut scada: Vec<u16> = all
        .iter()
        .filter(|a| &*a.channel == "scada")
        .map(|a| a.outstation_address)
        .collect();
    scada.sort_unstable();
    assert_eq!(scada, (100..100 + OUTSTATIONS).collect::<Vec<_>>());
    let on_lonely: Vec<&AssociationStats> =
        all.iter().filter(|a| &*a.channel == "lonely").collect();
    assert_eq!(on_lonely.len(), 1);
    assert_eq!(on_lonely[0].stats.polls, 0);

    // The channel's own call agrees with the association's mailbox answer.
    let first = masters[0].clone();
    let direct = master_stats(&first);
    let published = wait_until(
        "the first association's published statistics",
        || client.master_stats(),
        |c| {
            c.iter()
                .any(|a| a.outstation_address == 100 && a.stats == direct)
        },
    );
    assert_eq!(published.len(), usize::from(OUTSTATIONS));
    assert!(published.iter().all(|a| a.stats.last_success.is_some()));

    // A removed association and a dropped channel vanish.
    assert!(first.remove().expect("removed"));
    assert_eq!(client.master_stats().len(), usize::from(OUTSTATIONS) - 1);
    lonely.shutdown();
    drop(lonely);
    let after = wait_until(
        "the lonely channel to vanish",
        || manager.master_stats(),
        |all| all.iter().all(|a| &*a.channel != "lonely"),
    );
    assert_eq!(after.len(), usize::from(OUTSTATIONS) - 1);
    manager.shutdown();
}
