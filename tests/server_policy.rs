//! A TCP server channel's admission rules, seen from plain-socket masters: the allow-list
//! refuses masters from other addresses (the source address of a client socket is chosen by
//! binding it to 127.0.0.x before connecting), and the second-master policy either replaces
//! the existing connection or refuses the newcomer. Every test runs on both backends.

mod util;

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
use rdnp3::stack::link::{LinkFunction, LinkHeader, LinkParser};
use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, OutstationConfig, PointConfig,
    PointType,
};
use rdnp3::stack::transport::{Reassembler, Segmenter};
use rdnp3::{ChannelConfig, ChannelState, Manager, ServerPolicy};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use util::{each_backend, StateLog, WAIT};

const MASTER: u16 = 1;
const OUTSTATION: u16 = 1024;
const ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A loopback port nobody listens on (the channel API does not report a `:0` listener's port).
fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    l.local_addr().expect("local address").port()
}

/// A server channel on `local` with one outstation; returns once it listens.
fn start_server(
    manager: &Manager,
    local: SocketAddr,
    allow_list: Option<Vec<IpAddr>>,
    server_policy: ServerPolicy,
) -> StateLog {
    let states = StateLog::default();
    let config = ChannelConfig::named("server")
        .with_keep_alive(None)
        .with_allow_list(allow_list)
        .with_server_policy(server_policy);
    let channel = manager
        .add_tcp_server(config, local, states.listener())
        .expect("server channel");
    let database = DatabaseBuilder::new()
        .add(
            PointType::BinaryInput,
            0..4,
            PointConfig::new(EventClass::Class1),
        )
        .build()
        .expect("a valid database");
    let config = OutstationConfig::default()
        .with_local_address(OUTSTATION)
        .with_master_address(MASTER)
        .with_allow_unsolicited(false);
    channel
        .add_outstation(
            config,
            database,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    let end = Instant::now() + WAIT;
    while !states.states().contains(&ChannelState::Connecting) {
        assert!(Instant::now() < end, "the server never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    states
}

/// A master on a plain socket whose source address the test chooses.
struct RawMaster {
    stream: TcpStream,
    parser: LinkParser,
    rx: Reassembler,
    tx: Segmenter,
    seq: u8,
}

impl RawMaster {
    /// Connects to `server` from `source` (port chosen by the kernel).
    fn connect(source: Ipv4Addr, server: SocketAddr) -> RawMaster {
        let SocketAddr::V4(server) = server else {
            panic!("an IPv4 server address");
        };
        let fd = socket::socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("socket");
        let from = SockaddrIn::from(std::net::SocketAddrV4::new(source, 0));
        socket::bind(fd.as_raw_fd(), &from).expect("bind the source address");
        socket::connect(fd.as_raw_fd(), &SockaddrIn::from(server)).expect("connect");
        let stream = TcpStream::from(fd);
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        RawMaster {
            stream,
            parser: LinkParser::new(),
            rx: Reassembler::new(2048),
            tx: Segmenter::new(),
            seq: 0,
        }
    }

    /// Sends a class 0 READ and returns the response fragment, or `None` if the server closed
    /// the connection instead.
    fn integrity_poll(&mut self) -> Option<Vec<u8>> {
        let seq = self.seq;
        self.seq = (self.seq + 1) & 0x0F;
        let request = [0xC0 | seq, 0x01, 0x3C, 0x01, 0x06];
        let header = LinkHeader::new(true, LinkFunction::UnconfirmedUserData, OUTSTATION, MASTER);
        let mut out = vec![0u8; Segmenter::wire_size(request.len())];
        let n = self
            .tx
            .write_frames(&header, &request, &mut out)
            .expect("the request fits");
        if self.stream.write_all(&out[..n]).is_err() {
            return None;
        }
        let mut buf = [0u8; 2048];
        loop {
            let n = match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) if is_reset(&e) => return None,
                Err(e) => panic!("no response and no close within {WAIT:?}: {e}"),
            };
            let mut data = &buf[..n];
            while let Some(frame) = self.parser.parse(&mut data) {
                let frame = frame.expect("the outstation sends valid frames");
                let h = frame.header;
                if let Ok(Some(fragment)) = self.rx.push(frame.user_data, h.source, h.destination) {
                    if fragment.len() >= 2 && fragment[0] & 0x0F == seq && fragment[1] == 0x81 {
                        return Some(fragment.to_vec());
                    }
                }
            }
        }
    }

    /// True when the server closes the connection (end of stream or reset) within [`WAIT`].
    fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 512];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if is_reset(&e) => return true,
                Err(_) => return false,
            }
        }
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

#[test]
fn a_master_from_an_address_not_on_the_allow_list_is_refused() {
    each_backend(|manager| {
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let states = start_server(
            &manager,
            server,
            Some(vec![IpAddr::V4(ALLOWED)]),
            ServerPolicy::CloseExisting,
        );
        let mut stranger = RawMaster::connect(OTHER, server);
        assert!(
            stranger.closed_by_server(),
            "a master from {OTHER} is closed at once"
        );
        assert!(!states.states().contains(&ChannelState::Open));
        let mut allowed = RawMaster::connect(ALLOWED, server);
        assert!(
            allowed.integrity_poll().is_some(),
            "a master from {ALLOWED} is served"
        );
        assert!(states.states().contains(&ChannelState::Open));
        // Refused before the second-master policy applies: it does not replace the master.
        let mut stranger = RawMaster::connect(OTHER, server);
        assert!(stranger.closed_by_server(), "{OTHER} is refused again");
        assert!(
            allowed.integrity_poll().is_some(),
            "the allowed master is still served"
        );
        manager.shutdown();
    });
}

#[test]
fn a_dual_stack_server_matches_ipv4_masters_against_an_ipv4_allow_list() {
    each_backend(|manager| {
        let port = free_port();
        if TcpListener::bind((Ipv6Addr::UNSPECIFIED, port)).is_err() {
            eprintln!("skipped: no IPv6 here");
            return;
        }
        let server = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        start_server(
            &manager,
            server,
            Some(vec![IpAddr::V4(ALLOWED)]),
            ServerPolicy::CloseExisting,
        );
        let target = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut allowed = RawMaster::connect(ALLOWED, target);
        assert!(
            allowed.integrity_poll().is_some(),
            "{ALLOWED}, seen as ::ffff:{ALLOWED} by a [::] listener, is on the allow-list"
        );
        let mut stranger = RawMaster::connect(OTHER, target);
        assert!(stranger.closed_by_server(), "{OTHER} is still refused");
        manager.shutdown();
    });
}

#[test]
fn close_existing_serves_a_second_master_and_closes_the_first() {
    each_backend(|manager| {
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let states = start_server(&manager, server, None, ServerPolicy::CloseExisting);
        let mut first = RawMaster::connect(ALLOWED, server);
        assert!(
            first.integrity_poll().is_some(),
            "the first master is served"
        );
        let mut second = RawMaster::connect(OTHER, server);
        assert!(
            second.integrity_poll().is_some(),
            "the second master is served"
        );
        assert!(
            first.closed_by_server(),
            "the first master's connection is closed"
        );
        assert!(
            second.integrity_poll().is_some(),
            "the second master is still served"
        );
        assert_eq!(states.states().last(), Some(&ChannelState::Open));
        manager.shutdown();
    });
}

#[test]
fn reject_new_closes_a_second_master_and_keeps_serving_the_first() {
    each_backend(|manager| {
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        start_server(&manager, server, None, ServerPolicy::RejectNew);
        let mut first = RawMaster::connect(ALLOWED, server);
        assert!(
            first.integrity_poll().is_some(),
            "the first master is served"
        );
        let mut second = RawMaster::connect(OTHER, server);
        assert!(
            second.closed_by_server(),
            "the second master's connection is closed"
        );
        assert!(
            first.integrity_poll().is_some(),
            "the first master is still served"
        );
        // Once the first master leaves, a new one is welcome again.
        drop(first);
        let end = Instant::now() + WAIT;
        loop {
            let mut third = RawMaster::connect(OTHER, server);
            if third.integrity_poll().is_some() {
                break;
            }
            // The server may not have seen the first one go yet: it refused this one.
            assert!(
                Instant::now() < end,
                "a master is served after the first one left"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        manager.shutdown();
    });
}
