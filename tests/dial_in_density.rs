//! A thousand outstations dial in to one master listener, each on its own TCP client
//! channel, and every association polls its own outstation.

mod util;

use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, PointConfig, PointType,
};
use rdnp3::{Classes, ListenerConfig, Master, MasterConfig, Outstation, ReadRequest, Update};
use std::time::{Duration, Instant};
use util::{channel_config, free_address, outstation_config, Recorder, Val, WAIT};

const MASTER: u16 = 1;
const OUTSTATIONS: u16 = 1000;
/// Outstation link addresses: FIRST, FIRST + 1, …
const FIRST: u16 = 100;

/// Counter 0 as the last read delivered it.
fn last_counter(recorder: &Recorder) -> Option<u32> {
    recorder
        .statics()
        .iter()
        .rev()
        .find(|m| m.kind == PointType::Counter && m.index == 0)
        .and_then(|m| match m.value {
            Val::Counter(c) => Some(c),
            _ => None,
        })
}

#[test]
fn a_thousand_dial_in_outstations_on_one_listener_are_all_polled() {
    let manager = util::manager();
    let config = ListenerConfig::default()
        .with_name("density".into())
        .with_channel(channel_config("dial-in"));
    let listener = manager
        .add_master_listener(config, free_address(), None)
        .expect("the listener listens");
    let masters: Vec<(u16, Master, Recorder)> = (FIRST..FIRST + OUTSTATIONS)
        .map(|address| {
            let recorder = Recorder::default();
            let config = MasterConfig::default()
                .with_local_address(MASTER)
                .with_outstation_address(address)
                .with_response_timeout(Duration::from_secs(5));
            let master = listener
                .add_master(config, recorder.handler())
                .expect("association added");
            (address, master, recorder)
        })
        .collect();
    let _outstations: Vec<Outstation> = (FIRST..FIRST + OUTSTATIONS)
        .map(|address| {
            let channel = manager
                .add_tcp_client(channel_config("rtu"), listener.local_addr(), None)
                .expect("client channel");
            let database = DatabaseBuilder::new()
                .add(
                    PointType::Counter,
                    0..1,
                    PointConfig::new(EventClass::Class1),
                )
                .build()
                .expect("a valid database");
            let config = outstation_config(address).with_master_address(MASTER);
            let outstation = channel
                .add_outstation(
                    config,
                    database,
                    Box::new(MirrorOutputs),
                    Box::new(DefaultApplication),
                )
                .expect("outstation added");
            outstation
                .update(vec![Update::counter(0, u32::from(address))])
                .expect("update posted");
            outstation
        })
        .collect();

    // Every association reads class 0 until its read succeeds with its own counter; reads of
    // associations whose outstation has not dialed in yet fail and are repeated.
    let end = Instant::now() + 6 * WAIT;
    let mut todo: Vec<&(u16, Master, Recorder)> = masters.iter().collect();
    while !todo.is_empty() {
        assert!(
            Instant::now() < end,
            "{} associations never polled their outstation; listener: {:?}",
            todo.len(),
            listener.stats()
        );
        let reads: Vec<_> = todo
            .iter()
            .map(|(_, master, _)| master.read(ReadRequest::classes(Classes::CLASS0)))
            .collect();
        let mut next = Vec::new();
        for (entry, mut read) in todo.into_iter().zip(reads) {
            match read.wait_timeout(WAIT) {
                Ok(Ok(())) => {
                    let (address, _, recorder) = entry;
                    assert_eq!(last_counter(recorder), Some(u32::from(*address)));
                }
                Ok(Err(_)) | Err(_) => next.push(entry),
            }
        }
        if !next.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        todo = next;
    }
    let stats = listener.stats();
    assert_eq!(stats.identified, u64::from(OUTSTATIONS), "{stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    manager.shutdown();
}
