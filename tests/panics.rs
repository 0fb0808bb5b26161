//! A panic in user code ends only the channel it ran for: read handlers, controls handlers and
//! channel listeners that panic close their channel as `Failed`, its requests fail, its
//! handles report `Closed`, and a channel on the same executor goes on polling.

mod util;

use rdnp3::stack::master::{
    Command, CommandMode, MasterConfig, Measurement, NullReadHandler, ReadHandler, ReadRequest,
    TaskError,
};
use rdnp3::stack::objects::{CommandStatus, Crob, OpType, PointType};
use rdnp3::stack::outstation::{
    ControlHandler, DatabaseHandle, DefaultApplication, MirrorOutputs, OperateType,
};
use rdnp3::{ChannelError, ChannelState, Manager};
use std::time::Duration;
use util::*;

/// Panics at the first analog input it is given.
struct PanicsOnAnalogs;

impl ReadHandler for PanicsOnAnalogs {
    fn measurement(&mut self, m: &Measurement<'_>) {
        if m.kind == PointType::AnalogInput {
            panic!("a read handler bug");
        }
    }
}

/// A second, healthy outstation and master on the same one-executor manager.
fn bystander(manager: &Manager) -> (Station, Client) {
    let station = start_outstation(
        manager,
        outstation_config(1024),
        demo_database(7),
        Box::new(MirrorOutputs),
        Box::new(DefaultApplication),
    );
    let client = start_master(manager, station.address, MasterConfig::default());
    wait_startup(&client.master);
    (station, client)
}

fn assert_still_polled(client: &Client) {
    let before = master_stats(&client.master).polls;
    read(&client.master, ReadRequest::integrity());
    assert!(master_stats(&client.master).polls > before);
}

#[test]
fn a_panicking_read_handler_fails_its_channel_and_no_other() {
    let manager = Manager::new(1).expect("manager");
    let (_healthy, client) = bystander(&manager);
    let station = demo_station(&manager);
    let states = StateLog::default();
    let channel = manager
        .add_tcp_client(channel_config("victim"), station.address, states.listener())
        .expect("client channel");
    let master = channel
        .add_master(MasterConfig::default(), Box::new(PanicsOnAnalogs))
        .expect("master added");
    // The start-up integrity poll reaches the handler's bug.
    wait_until(
        "the channel to fail",
        || states.last(),
        |s| *s == Some(ChannelState::Failed),
    );
    let read = master
        .read(ReadRequest::integrity())
        .wait_timeout(Duration::from_secs(10))
        .expect("answered at once");
    assert_eq!(read, Err(TaskError::Shutdown));
    let poll = master.add_poll(ReadRequest::integrity(), Duration::from_secs(1));
    assert!(matches!(poll, Err(ChannelError::Closed)), "{poll:?}");
    assert_still_polled(&client);
    manager.shutdown();
}

/// Panics on every operate.
struct PanickingControls;

impl ControlHandler for PanickingControls {
    fn operate_crob(
        &mut self,
        _: u16,
        _: &Crob,
        _: OperateType,
        _: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        panic!("a controls handler bug");
    }
}

#[test]
fn a_panicking_controls_handler_fails_the_outstation_channel_and_the_master_sees_it_go() {
    let manager = Manager::new(1).expect("manager");
    let (_healthy, client) = bystander(&manager);
    let station = start_outstation(
        &manager,
        outstation_config(1024),
        demo_database(0),
        Box::new(PanickingControls),
        Box::new(DefaultApplication),
    );
    let victim = start_master_direct(&manager, station.address, MasterConfig::default());
    wait_startup(&victim.master);
    let crob = Crob::new(OpType::LatchOn, 0, 0);
    let operate = victim
        .master
        .operate(
            CommandMode::DirectOperate,
            vec![Command::Crob { index: 0, crob }],
        )
        .wait_timeout(Duration::from_secs(30))
        .expect("the operate ends");
    assert!(operate.is_err(), "{operate:?}");
    wait_until(
        "the outstation channel to fail",
        || station.states.last(),
        |s| *s == Some(ChannelState::Failed),
    );
    assert!(matches!(
        station.outstation.update(Vec::new()),
        Err(ChannelError::Closed)
    ));
    assert_still_polled(&client);
    manager.shutdown();
}

#[test]
fn a_panicking_channel_listener_fails_its_channel_and_no_other() {
    let manager = Manager::new(1).expect("manager");
    let (_healthy, client) = bystander(&manager);
    let station = demo_station(&manager);
    let listener = Box::new(|state: ChannelState| {
        if state == ChannelState::Open {
            panic!("a listener bug");
        }
    });
    let channel = manager
        .add_tcp_client(channel_config("victim"), station.address, Some(listener))
        .expect("client channel");
    let master = channel
        .add_master(MasterConfig::default(), Box::new(NullReadHandler))
        .expect("master added");
    let refused = wait_until(
        "the channel to refuse requests",
        || master.add_poll(ReadRequest::integrity(), Duration::from_secs(1)),
        |r| matches!(r, Err(ChannelError::Closed)),
    );
    assert!(refused.is_err());
    assert_still_polled(&client);
    manager.shutdown();
}
