//! The async-first API end to end: every call that blocks has an awaitable form, an
//! association's measurements can be consumed as a bounded stream, and dropping a request's
//! completion cancels exactly what the `Master` docs say.

mod util;

use rdnp3::stack::master::{Classes, Command, CommandMode, MasterConfig, ReadRequest};
use rdnp3::stack::objects::{CommandStatus, Crob, OpType, PointType};
use rdnp3::stack::outstation::{
    ControlHandler, DatabaseHandle, DefaultApplication, MirrorOutputs, OperateType,
};
use rdnp3::{measurement_stream, ListenerConfig, Manager, OwnedValue};
use std::time::Duration;
use util::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

async fn timed<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not complete"))
}

#[test]
fn every_blocking_call_has_an_awaitable_form() {
    let manager = Manager::new(1).expect("manager");
    let address = free_address();
    let server = manager
        .add_tcp_server(channel_config("outstation"), address, None)
        .expect("server channel");
    let client = manager
        .add_tcp_client(channel_config("master"), address, None)
        .expect("client channel");
    runtime().block_on(async {
        let outstation = timed(
            "add_outstation_async",
            server.add_outstation_async(
                outstation_config(1024),
                demo_database(0),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            ),
        )
        .await
        .expect("not canceled")
        .expect("outstation added");
        let (handler, mut stream) = measurement_stream(1000);
        let master = timed(
            "add_master_async",
            client.add_master_async(MasterConfig::default(), Box::new(handler)),
        )
        .await
        .expect("not canceled")
        .expect("master added");
        let poll = ReadRequest::classes(Classes::EVENTS);
        timed(
            "add_poll_async",
            master.add_poll_async(poll, Duration::from_secs(3600)),
        )
        .await
        .expect("not canceled")
        .expect("poll added");
        // The start-up integrity poll brings the demo database's analog input 3 (4.5).
        let analog = loop {
            let m = timed("a measurement", stream.next())
                .await
                .expect("the stream is open");
            if m.kind == PointType::AnalogInput && m.index == 3 {
                break m;
            }
        };
        assert_eq!(analog.value, OwnedValue::Analog(4.5));
        assert!(!analog.unsolicited);
        let read = timed("read", master.read(ReadRequest::classes(Classes::CLASS0))).await;
        assert_eq!(read, Ok(Ok(())));
        let removed = timed("master remove_async", master.remove_async()).await;
        assert!(matches!(removed, Ok(Ok(true))), "{removed:?}");
        // The association is gone, so its handler is: the stream ends once drained.
        while timed("the stream's end", stream.next()).await.is_some() {}
        let removed = timed("outstation remove_async", outstation.remove_async()).await;
        assert!(matches!(removed, Ok(Ok(true))), "{removed:?}");
    });
    manager.shutdown();
}

#[test]
fn a_slow_reader_gets_a_bounded_stream_and_a_count_of_what_was_dropped() {
    let manager = Manager::new(1).expect("manager");
    let station = demo_station(&manager);
    let (handler, mut stream) = measurement_stream(5);
    let channel = manager
        .add_tcp_client(channel_config("master"), station.address, None)
        .expect("client channel");
    let master = channel
        .add_master(MasterConfig::default(), Box::new(handler))
        .expect("master added");
    wait_startup(&master);
    // The integrity poll returned far more than five measurements, and nobody read them.
    assert_eq!(stream.len(), 5);
    let delivered = master_stats(&master).measurements;
    assert_eq!(stream.dropped(), delivered - 5);
    let first = stream.try_next().expect("the oldest measurement is kept");
    assert_eq!((first.kind, first.index), (PointType::BinaryInput, 0));
    manager.shutdown();
}

/// Takes its time over every operate, as a real output might: the request stays on the wire.
struct SlowControls;

impl ControlHandler for SlowControls {
    fn operate_crob(
        &mut self,
        _index: u16,
        _crob: &Crob,
        _op: OperateType,
        _db: &mut DatabaseHandle<'_>,
    ) -> CommandStatus {
        std::thread::sleep(Duration::from_millis(400));
        CommandStatus::Success
    }
}

#[test]
fn dropping_a_completion_skips_a_queued_request_but_not_one_on_the_wire() {
    // Two managers: the outstation's slow handler holds its own executor only.
    let outstations = Manager::new(1).expect("outstation manager");
    let masters = Manager::new(1).expect("master manager");
    let station = start_outstation(
        &outstations,
        outstation_config(1024),
        demo_database(0),
        Box::new(SlowControls),
        Box::new(DefaultApplication),
    );
    let client = start_master(&masters, station.address, MasterConfig::default());
    wait_startup(&client.master);
    let crob = |index| Command::Crob {
        index,
        crob: Crob::new(OpType::LatchOn, 0, 0),
    };
    let before = outstation_stats(&station.outstation);
    let on_the_wire = client
        .master
        .operate(CommandMode::DirectOperate, vec![crob(0)]);
    // Queued behind the operate, then abandoned: it must never be sent.
    drop(client.master.read(ReadRequest::classes(Classes::CLASS2)));
    let kept = client.master.read(ReadRequest::classes(Classes::CLASS1));
    assert_eq!(
        on_the_wire.wait().expect("not canceled"),
        Ok(vec![CommandStatus::Success])
    );
    assert_eq!(kept.wait().expect("not canceled"), Ok(()));
    let stats = master_stats(&client.master);
    assert_eq!((stats.canceled, stats.failures), (1, 0));
    // The operate and the kept read reached the outstation; the abandoned read did not.
    let after = outstation_stats(&station.outstation);
    assert_eq!(after.requests - before.requests, 2, "{before:?} {after:?}");

    // Abandoned once on the wire, an operate still runs to its end.
    let operate = client
        .master
        .operate(CommandMode::DirectOperate, vec![crob(1)]);
    let sent = wait_until(
        "the operate to be sent",
        || master_stats(&client.master),
        |s| s.requests > stats.requests,
    );
    drop(operate);
    let done = wait_until(
        "the abandoned operate to be answered",
        || master_stats(&client.master),
        |s| s.responses >= sent.requests,
    );
    assert_eq!((done.canceled, done.failures), (1, 0));
    let last = outstation_stats(&station.outstation);
    assert_eq!(last.requests - after.requests, 1);
    masters.shutdown();
    outstations.shutdown();
}

#[test]
fn the_tokio_example_operates_reads_and_drains_its_stream() {
    let manager = Manager::new(1).expect("manager");
    let station = demo_station(&manager);
    let mut example = std::env::current_exe().expect("test binary");
    example.pop();
    if example.ends_with("deps") {
        example.pop();
    }
    let out = std::process::Command::new(example.join("examples").join("async_master"))
        .args(["--connect", &station.address.to_string(), "--seconds", "1"])
        .output()
        .expect("the async_master example is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("AnalogInput 3 = Analog(4.5)"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == "operate: Ok([Success])"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "class 0 read: Ok(Ok(()))"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with(" measurements, 0 dropped")),
        "{stdout}"
    );
    manager.shutdown();
}

#[test]
fn a_dial_in_association_is_added_without_blocking() {
    let manager = Manager::new(1).expect("manager");
    let listener = manager
        .add_master_listener(ListenerConfig::default(), free_address(), None)
        .expect("the listener listens");
    let (handler, _stream) = measurement_stream(10);
    let config = MasterConfig::default().with_outstation_address(77);
    let added = runtime().block_on(timed(
        "add_master_async",
        listener.add_master_async(config, Box::new(handler)),
    ));
    let master = added.expect("not canceled").expect("registered");
    // Not dialled in yet: the association exists and is offline.
    let read = master
        .read(ReadRequest::classes(Classes::CLASS0))
        .wait()
        .expect("answered");
    assert!(read.is_err(), "{read:?}");
    manager.shutdown();
}
