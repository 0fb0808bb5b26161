//! A dial-in listener that runs out of descriptors counts the failed accepts, pauses, and
//! serves the waiting outstation once descriptors are free again. Its own test binary: it
//! lowers the process's open-file limit.

mod util;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
use rdnp3::stack::link::{format_frame, LinkFunction, LinkHeader};
use rdnp3::{ListenerConfig, MasterConfig};
use std::fs::File;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use util::{channel_config, each_backend, free_address, wait_until, Recorder};

/// The highest descriptor number open in this process.
fn highest_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_listener_out_of_descriptors_counts_failed_accepts_and_serves_the_outstation_afterwards() {
    each_backend(|manager| {
        // Lowered before the listener starts: io_uring takes the limit an accept obeys when
        // it is submitted.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        setrlimit(Resource::RLIMIT_NOFILE, highest_fd() + 64, hard).expect("setrlimit");
        let config = ListenerConfig::default().with_channel(channel_config("dial-in"));
        let listener = manager
            .add_master_listener(config, free_address(), None)
            .expect("the listener listens");
        listener
            .add_master(
                MasterConfig::default().with_outstation_address(90),
                Recorder::default().handler(),
            )
            .expect("association added");
        let SocketAddr::V4(addr) = listener.local_addr() else {
            panic!("an IPv4 listener");
        };
        let client = socket::socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("socket");
        let mut filler = Vec::new();
        while let Ok(f) = File::open("/dev/null") {
            filler.push(f);
        }
        socket::connect(client.as_raw_fd(), &SockaddrIn::from(addr)).expect("connect");
        let header = LinkHeader::new(false, LinkFunction::RequestLinkStatus, 1, 90);
        let mut frame = [0u8; 292];
        let n = format_frame(&header, &[], &mut frame).expect("a valid frame");
        nix::unistd::write(&client, &frame[..n]).expect("send the first frame");
        let starved = wait_until(
            "a failed accept counted",
            || listener.stats(),
            |s| s.accept_errors >= 1,
        );
        drop(filler);
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("restore the limit");
        assert_eq!(starved.accepted, 0, "{starved:?}");
        wait_until(
            "the waiting outstation identified",
            || listener.stats(),
            |s| s.identified == 1,
        );
        manager.shutdown();
    });
}
