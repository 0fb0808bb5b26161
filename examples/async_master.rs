//! `async_master`: the master from async code. A tokio application adds its association with
//! the awaitable API, consumes the measurements as a bounded stream in one task, and issues a
//! command and reads from another, every step under a timeout.
//!
//! The reactor does the DNP3 work on its own threads; tokio only awaits completions and the
//! stream, so the two never share a thread and neither blocks the other.

mod common;

use common::{Args, OrExit};
use rdnp3::stack::master::{Classes, Command, CommandMode, MasterConfig, ReadRequest};
use rdnp3::stack::objects::{Crob, OpType};
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs, OutstationConfig};
use rdnp3::{measurement_stream, ChannelConfig, Manager};
use std::net::SocketAddr;
use std::time::Duration;

const HELP: &str = "\
async_master: a master driven from tokio

USAGE:
    async_master [--connect IP:PORT] [--outstation A] [--seconds S]

OPTIONS:
    --connect IP:PORT   an outstation to poll (default: one started in this process on
                        127.0.0.1:20100)
    --outstation A      its link address (default 1024)
    --seconds S         how long to consume measurements (default 3)
    -h, --help          this text

Prints each measurement as it arrives, the result of a direct operate of binary output 0,
and the measurements dropped because the reader fell behind (0 expected).
";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    common::init_logging();
    let mut args = Args::read(HELP);
    let connect: Option<SocketAddr> = args.all("--connect").pop().map(|a| {
        a.parse()
            .unwrap_or_else(|_| args.fail("bad --connect address"))
    });
    let address: u16 = args.get("--outstation", 1024);
    let seconds: u64 = args.get("--seconds", 3);
    args.finish();

    let manager = Manager::new(1).or_exit();
    let remote = match connect {
        Some(remote) => remote,
        None => {
            let local: SocketAddr = "127.0.0.1:20100".parse().expect("address");
            let server = manager
                .add_tcp_server(ChannelConfig::named("outstation"), local, None)
                .or_exit();
            server
                .add_outstation_async(
                    OutstationConfig::default().with_local_address(address),
                    rdnp3_testkit::demo::interop_database(),
                    Box::new(MirrorOutputs),
                    Box::new(DefaultApplication),
                )
                .await
                .or_exit()
                .or_exit();
            local
        }
    };
    let channel = manager
        .add_tcp_client(ChannelConfig::named("master"), remote, None)
        .or_exit();
    let config = MasterConfig::default().with_outstation_address(address);
    let (handler, mut measurements) = measurement_stream(10_000);
    let master = channel
        .add_master_async(config, Box::new(handler))
        .await
        .or_exit()
        .or_exit();
    master
        .add_poll_async(
            ReadRequest::classes(Classes::EVENTS),
            Duration::from_secs(1),
        )
        .await
        .or_exit()
        .or_exit();

    // The start-up integrity poll's first measurement says the association is online.
    let first = tokio::time::timeout(Duration::from_secs(10), measurements.next())
        .await
        .ok()
        .flatten()
        .ok_or("no measurement within 10 s")
        .or_exit();
    println!(
        "{:?} {} = {:?} flags {:#04x}",
        first.kind, first.index, first.value, first.flags
    );

    // One task consumes the stream for as long as the application wants measurements.
    let reader = tokio::spawn(async move {
        let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut count = 1u64;
        while let Ok(Some(m)) = tokio::time::timeout_at(until, measurements.next()).await {
            count += 1;
            println!(
                "{:?} {} = {:?} flags {:#04x}",
                m.kind, m.index, m.value, m.flags
            );
        }
        (count, measurements.dropped())
    });

    // Meanwhile this one commands. A timeout drops the completion: if the operate was still
    // queued it is never sent (see `Master`).
    let crob = Crob::new(OpType::LatchOn, 0, 0);
    let operate = master.operate(
        CommandMode::DirectOperate,
        vec![Command::Crob { index: 0, crob }],
    );
    match tokio::time::timeout(Duration::from_secs(5), operate).await {
        Ok(Ok(result)) => println!("operate: {result:?}"),
        Ok(Err(canceled)) => println!("operate: {canceled}"),
        Err(_) => println!("operate: no answer within 5 s"),
    }
    let read = master.read(ReadRequest::classes(Classes::CLASS0)).await;
    println!("class 0 read: {read:?}");

    let (count, dropped) = reader.await.or_exit();
    println!("{count} measurements, {dropped} dropped");
    master.remove_async().await.or_exit().or_exit();
    manager.shutdown();
}
