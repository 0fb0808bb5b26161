//! Scale: 500 master–outstation pairs over loopback on one two-thread manager, each pair on
//! its own 127.a.b.c address, all completing their start-up integrity poll without a timeout.

mod util;

use rdnp3::stack::master::{MasterConfig, NullReadHandler};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs, OutstationConfig, PointType};
use rdnp3_testkit::process::raise_fd_limit;
use std::time::Instant;
use util::*;

const PAIRS: usize = 500;

#[test]
fn five_hundred_pairs_on_two_threads_all_complete_their_integrity_polls() {
    // A listener, an accepted and a connecting socket per pair, plus the reactor's own.
    let needed = 3 * PAIRS as u64 + 100;
    let limit = raise_fd_limit();
    assert!(
        limit >= needed,
        "this test needs about {needed} file descriptors; ulimit -n is {limit}"
    );
    each_backend(|manager| {
        let started = Instant::now();
        assert_eq!(manager.threads(), 2);
        let points: u64 = PointType::ALL
            .iter()
            .map(|t| demo_database(0).len(*t) as u64)
            .sum();

        let mut stations = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            stations.push(start_outstation(
                &manager,
                OutstationConfig::default(),
                demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            ));
        }
        let mut masters = Vec::with_capacity(PAIRS);
        for (i, station) in stations.iter().enumerate() {
            let channel = manager
                .add_tcp_client(
                    channel_config(&format!("master-{i}")),
                    station.address,
                    None,
                )
                .expect("client channel");
            let master = channel
                .add_master(MasterConfig::default(), Box::new(NullReadHandler))
                .expect("master added");
            masters.push((channel, master));
        }

        // Ask only the masters that have not finished yet.
        let mut pending: Vec<usize> = (0..PAIRS).collect();
        wait_until(
            "every master's integrity poll",
            || {
                pending.retain(|&i| master_stats(&masters[i].1).polls < 1);
                pending.clone()
            },
            |p| p.is_empty(),
        );
        for (channel, master) in &masters {
            let m = master_stats(master);
            assert_eq!((m.timeouts, m.failures), (0, 0), "{}", channel.name());
            assert!(m.polls >= 1);
            assert_eq!(m.measurements, points, "every point once");
            assert_eq!(channel.stats().connects, 1);
        }
        eprintln!(
            "{PAIRS} pairs polled in {:.2} s on {:?}",
            started.elapsed().as_secs_f64(),
            manager.backend()
        );
        drop(masters);
        drop(stations);
        manager.shutdown();
    });
}
