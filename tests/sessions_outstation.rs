//! Runtime control of a real outstation from application code over loopback TCP: the
//! NEED_TIME and DEVICE_RESTART indications a master sees, and controls the application
//! completes later from another thread (IEEE 1815-2012, clause 4).

mod util;

use rdnp3::stack::app::Iin;
use rdnp3::stack::master::{Classes, Command, CommandMode, MasterConfig, ReadRequest};
use rdnp3::stack::objects::{CommandStatus, Crob, OpType};
use rdnp3::stack::outstation::{
    ControlHandler, ControlToken, DatabaseHandle, DefaultApplication, MirrorOutputs, OperateType,
};
use std::sync::{mpsc, Mutex};
use std::time::Duration;
use util::*;

/// The IIN of the response to a class 0 read made now.
fn iin_of_a_read(client: &Client) -> Iin {
    client.recorder.clear();
    read(&client.master, ReadRequest::classes(Classes::CLASS0));
    // The first response since: a task the master starts on its own right after the read
    // (clearing DEVICE_RESTART) may already have been answered too.
    client
        .recorder
        .responses()
        .first()
        .expect("the read was answered")
        .iin
}

#[test]
fn the_application_sets_and_clears_need_time_and_the_master_sees_it() {
    each_backend(|manager| {
        let config = outstation_config(1024).with_need_time_at_start(false);
        let station = start_outstation(
            &manager,
            config,
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        );
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        assert!(!iin_of_a_read(&client).contains(Iin::NEED_TIME));

        station.outstation.set_need_time(true).expect("posted");
        // A stats request answered after the post is the barrier.
        outstation_stats(&station.outstation);
        assert!(iin_of_a_read(&client).contains(Iin::NEED_TIME));

        station.outstation.set_need_time(false).expect("posted");
        outstation_stats(&station.outstation);
        assert!(!iin_of_a_read(&client).contains(Iin::NEED_TIME));
        manager.shutdown();
    });
}

#[test]
fn the_application_sets_device_restart_and_the_master_clears_it_again() {
    each_backend(|manager| {
        let station = demo_station(&manager);
        let client = start_master(&manager, station.address, MasterConfig::default());
        let before = wait_startup(&client.master);
        assert!(!iin_of_a_read(&client).contains(Iin::DEVICE_RESTART));

        station.outstation.set_restart().expect("posted");
        outstation_stats(&station.outstation);
        assert!(iin_of_a_read(&client).contains(Iin::DEVICE_RESTART));
        // The master answers the bit with its clear-restart WRITE.
        wait_until(
            "the master clearing DEVICE_RESTART",
            || iin_of_a_read(&client),
            |iin| !iin.contains(Iin::DEVICE_RESTART),
        );
        let after = master_stats(&client.master);
        assert!(after.requests >= before.requests + 3, "{after:?}");
        manager.shutdown();
    });
}

/// Defers every CROB operate and hands its token to the test thread.
struct HardwareControls(Mutex<mpsc::Sender<ControlToken>>);

impl ControlHandler for HardwareControls {
    fn operate_crob(
        &mut self,
        _index: u16,
        _crob: &Crob,
        _op: OperateType,
        db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        match db.defer() {
            Some(token) => {
                let _ = lock(&self.0).send(token);
                CommandStatus::Success
            }
            None => CommandStatus::NotSupported,
        }
    }
}

#[test]
fn a_control_completed_later_by_another_thread_reaches_the_master() {
    each_backend(|manager| {
        let (tokens, received) = mpsc::channel();
        let station = start_outstation(
            &manager,
            outstation_config(1024),
            demo_database(0),
            Box::new(HardwareControls(Mutex::new(tokens))),
            Box::new(DefaultApplication),
        );
        let client = start_master(&manager, station.address, MasterConfig::default());
        wait_startup(&client.master);
        let command = Command::Crob {
            index: 0,
            crob: Crob::new(OpType::LatchOn, 0, 0),
        };
        let mut done = client
            .master
            .operate(CommandMode::DirectOperate, vec![command]);
        let token = received
            .recv_timeout(Duration::from_secs(5))
            .expect("the handler deferred the operate");
        assert!(!done.is_ready(), "the response waits for the completion");
        // The "hardware" answers from this thread.
        let outstation = station.outstation.clone();
        std::thread::spawn(move || outstation.complete_control(token, CommandStatus::Success))
            .join()
            .expect("no panic")
            .expect("posted");
        let statuses = done
            .wait_timeout(Duration::from_secs(5))
            .expect("the command completes")
            .expect("the command succeeds");
        assert_eq!(statuses, [CommandStatus::Success]);
        manager.shutdown();
    });
}
