//! Dial-in: outstations on TCP client channels connect to one master listener, which binds
//! each connection to its association by the link source address of the first frame (or by
//! peer IP), asks a callback about unknown outstations, applies the second-connection policy
//! and closes and counts what cannot be identified. Every test runs on both backends.

mod util;

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
use rdnp3::stack::link::{format_frame, LinkFunction, LinkHeader};
use rdnp3::stack::outstation::{
    DatabaseBuilder, DefaultApplication, EventClass, MirrorOutputs, PointConfig, PointType,
};
use rdnp3::{
    AssociationListener, AssociationState, Channel, Classes, DialInAssociation, DialInBinding,
    ListenerConfig, ListenerStats, Manager, Master, MasterConfig, MasterListener, Outstation,
    ReadRequest, ServerPolicy, TaskError, UnknownOutstation, UnknownOutstations, Update,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{
    channel_config, each_backend, free_address, lock, outstation_config, wait_for, wait_until,
    Recorder, Val,
};

const MASTER: u16 = 1;

/// A listener on a fresh loopback address.
fn listener(
    manager: &Manager,
    config: ListenerConfig,
    unknown: Option<Box<dyn UnknownOutstations>>,
) -> MasterListener {
    let config = config.with_channel(channel_config("dial-in"));
    manager
        .add_master_listener(config, free_address(), unknown)
        .expect("the listener listens")
}

/// A master association for the outstation at `address`.
fn master_config(address: u16) -> MasterConfig {
    MasterConfig::default()
        .with_local_address(MASTER)
        .with_outstation_address(address)
        .with_response_timeout(Duration::from_secs(2))
}

/// An outstation with link address `address` on a TCP client channel that dials in to
/// `listener`; its counter 0 holds `address`, so that a master can tell whom it polls.
fn dial_in(manager: &Manager, listener: SocketAddr, address: u16, unsolicited: bool) -> Outstation {
    dial_in_channel(manager, listener, address, unsolicited).1
}

/// As [`dial_in`], with the outstation's channel.
fn dial_in_channel(
    manager: &Manager,
    listener: SocketAddr,
    address: u16,
    unsolicited: bool,
) -> (Channel, Outstation) {
    let channel = manager
        .add_tcp_client(channel_config(&format!("rtu-{address}")), listener, None)
        .expect("client channel");
    let database = DatabaseBuilder::new()
        .add(
            PointType::Counter,
            0..1,
            PointConfig::new(EventClass::Class1),
        )
        .build()
        .expect("a valid database");
    let config = outstation_config(address)
        .with_master_address(MASTER)
        .with_allow_unsolicited(unsolicited);
    let outstation = channel
        .add_outstation(
            config,
            database,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    util::apply(&outstation, vec![Update::counter(0, u32::from(address))]);
    (channel, outstation)
}

/// Reads class 0 through `master` (retrying while its outstation is not connected yet) and
/// returns the counter 0 it got.
fn poll_counter(master: &Master, recorder: &Recorder) -> u32 {
    wait_for("a class 0 read through the dial-in association", || {
        recorder.clear();
        master
            .read(ReadRequest::classes(Classes::CLASS0))
            .wait_timeout(util::WAIT)
            .is_ok_and(|r| r.is_ok())
    });
    let counters: Vec<u32> = recorder
        .statics()
        .iter()
        .filter(|m| m.kind == PointType::Counter && m.index == 0)
        .filter_map(|m| match m.value {
            Val::Counter(c) => Some(c),
            _ => None,
        })
        .collect();
    *counters.last().expect("counter 0 in the response")
}

fn stats_until(
    listener: &MasterListener,
    what: &str,
    done: impl Fn(&ListenerStats) -> bool,
) -> ListenerStats {
    wait_until(what, || listener.stats(), done)
}

/// A plain socket from `source` (127.0.0.x) that sends `bytes` to `listener`.
fn raw_from(source: Ipv4Addr, listener: SocketAddr, bytes: &[u8]) -> TcpStream {
    let SocketAddr::V4(listener) = listener else {
        panic!("an IPv4 listener");
    };
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let from = SockaddrIn::from(SocketAddrV4::new(source, 0));
    socket::bind(fd.as_raw_fd(), &from).expect("bind the source address");
    socket::connect(fd.as_raw_fd(), &SockaddrIn::from(listener)).expect("connect");
    let mut stream = TcpStream::from(fd);
    stream.write_all(bytes).expect("send");
    stream
}

/// A REQUEST_LINK_STATUS from the outstation at `address`: a valid first frame.
fn link_status_request(address: u16) -> Vec<u8> {
    let header = LinkHeader::new(false, LinkFunction::RequestLinkStatus, MASTER, address);
    let mut out = [0u8; 292];
    let n = format_frame(&header, &[], &mut out).expect("a valid frame");
    out[..n].to_vec()
}

/// True once the peer closed `stream` (end of stream or reset), reading what it sends.
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(util::WAIT))
        .expect("read timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
}

#[test]
fn dial_in_outstations_are_bound_to_their_association_by_link_address() {
    each_backend(|manager| {
        let listener = listener(&manager, ListenerConfig::default(), None);
        let addresses = [10u16, 11, 12];
        let masters: Vec<(Master, Recorder)> = addresses
            .iter()
            .map(|&a| {
                let recorder = Recorder::default();
                let master = listener
                    .add_master(master_config(a), recorder.handler())
                    .expect("association added");
                (master, recorder)
            })
            .collect();
        // Connected in reverse order: the order of connections tells nothing.
        let _outstations: Vec<Outstation> = addresses
            .iter()
            .rev()
            .map(|&a| dial_in(&manager, listener.local_addr(), a, true))
            .collect();
        for (&address, (master, recorder)) in addresses.iter().zip(&masters) {
            assert_eq!(poll_counter(master, recorder), u32::from(address));
        }
        let stats = listener.stats();
        assert_eq!(stats.identified, 3, "{stats:?}");
        assert_eq!(stats.pending, 0);
        assert_eq!(stats.garbage + stats.refused_unknown, 0, "{stats:?}");
        manager.shutdown();
    });
}

#[test]
fn a_second_association_for_the_same_outstation_is_refused() {
    each_backend(|manager| {
        let listener = listener(&manager, ListenerConfig::default(), None);
        listener
            .add_master(master_config(10), Recorder::default().handler())
            .expect("first association");
        let second = listener.add_master(master_config(10), Recorder::default().handler());
        assert!(
            matches!(
                second,
                Err(rdnp3::ChannelError::DialIn(
                    rdnp3::DialInError::DuplicateAddress(10)
                ))
            ),
            "{second:?}"
        );
        manager.shutdown();
    });
}

#[test]
fn peer_ip_binding_hands_a_silent_outstation_to_the_association_of_its_ip() {
    each_backend(|manager| {
        let config = ListenerConfig::default().with_binding(DialInBinding::PeerIp);
        let listener = listener(&manager, config, None);
        let recorder = Recorder::default();
        let master = listener
            .add(
                DialInAssociation::new(master_config(20), recorder.handler())
                    .with_peer_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            )
            .expect("association added");
        let other = listener.add(
            DialInAssociation::new(master_config(21), Recorder::default().handler())
                .with_peer_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))),
        );
        assert!(other.is_ok());
        let missing = listener.add_master(master_config(22), Recorder::default().handler());
        assert!(
            matches!(
                missing,
                Err(rdnp3::ChannelError::DialIn(rdnp3::DialInError::NoPeerIp(
                    22
                )))
            ),
            "{missing:?}"
        );
        // Without unsolicited responses the outstation never speaks first.
        let _outstation = dial_in(&manager, listener.local_addr(), 20, false);
        assert_eq!(poll_counter(&master, &recorder), 20);
        // A peer from an IP nobody registered is refused.
        let mut stranger = raw_from(Ipv4Addr::new(127, 0, 0, 3), listener.local_addr(), &[]);
        assert!(closed_by_peer(&mut stranger));
        let stats = stats_until(&listener, "the stranger counted", |s| {
            s.refused_unknown == 1
        });
        assert_eq!(stats.identified, 1, "{stats:?}");
        manager.shutdown();
    });
}

/// Accepts or refuses unknown outstations, and keeps the associations it created.
#[derive(Clone, Default)]
struct Gatekeeper {
    accept: bool,
    seen: Arc<Mutex<Vec<UnknownOutstation>>>,
    recorders: Arc<Mutex<HashMap<u16, Recorder>>>,
    added: Arc<Mutex<Vec<(u16, Master)>>>,
}

impl UnknownOutstations for Gatekeeper {
    fn on_unknown(&mut self, outstation: &UnknownOutstation) -> Option<DialInAssociation> {
        lock(&self.seen).push(outstation.clone());
        if !self.accept {
            return None;
        }
        let recorder = Recorder::default();
        let address = outstation.link_address.expect("bound by link address");
        // The address given here is replaced by the one the outstation identified with.
        let association = DialInAssociation::new(master_config(999), recorder.handler());
        lock(&self.recorders).insert(address, recorder);
        Some(association)
    }

    fn on_added(&mut self, outstation: &UnknownOutstation, master: Master) {
        let address = outstation.link_address.expect("bound by link address");
        lock(&self.added).push((address, master));
    }
}

#[test]
fn an_unknown_outstation_accepted_by_the_callback_gets_an_association_and_is_polled() {
    each_backend(|manager| {
        let gate = Gatekeeper {
            accept: true,
            ..Gatekeeper::default()
        };
        let listener = listener(
            &manager,
            ListenerConfig::default(),
            Some(Box::new(gate.clone())),
        );
        let _outstation = dial_in(&manager, listener.local_addr(), 30, true);
        wait_for("the callback's association", || {
            !lock(&gate.added).is_empty()
        });
        let (address, master) = lock(&gate.added)[0].clone();
        assert_eq!(address, 30);
        let recorder = lock(&gate.recorders)[&30].clone();
        assert_eq!(poll_counter(&master, &recorder), 30);
        let stats = listener.stats();
        assert_eq!((stats.added, stats.identified), (1, 1), "{stats:?}");
        let seen = lock(&gate.seen).clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].peer.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        // Registered now: the same outstation cannot be added a second time.
        assert!(listener
            .add_master(master_config(30), Recorder::default().handler())
            .is_err());
        manager.shutdown();
    });
}

#[test]
fn an_unknown_outstation_refused_by_the_callback_is_closed_and_counted() {
    each_backend(|manager| {
        let gate = Gatekeeper::default();
        let listener = listener(
            &manager,
            ListenerConfig::default(),
            Some(Box::new(gate.clone())),
        );
        let mut raw = raw_from(
            Ipv4Addr::LOCALHOST,
            listener.local_addr(),
            &link_status_request(31),
        );
        assert!(closed_by_peer(&mut raw));
        let stats = stats_until(&listener, "the refusal counted", |s| s.refused_unknown == 1);
        assert_eq!((stats.added, stats.identified), (0, 0), "{stats:?}");
        assert_eq!(lock(&gate.seen)[0].link_address, Some(31));
        manager.shutdown();
    });
}

#[test]
fn a_second_connection_of_an_outstation_replaces_the_first_by_default() {
    each_backend(|manager| {
        let listener = listener(&manager, ListenerConfig::default(), None);
        let recorder = Recorder::default();
        let master = listener
            .add_master(master_config(40), recorder.handler())
            .expect("association added");
        // A half-open leftover: it identified itself, then never answers.
        let mut stale = raw_from(
            Ipv4Addr::LOCALHOST,
            listener.local_addr(),
            &link_status_request(40),
        );
        stats_until(&listener, "the first connection handed over", |s| {
            s.identified == 1
        });
        let _outstation = dial_in(&manager, listener.local_addr(), 40, true);
        assert!(closed_by_peer(&mut stale), "the old connection is closed");
        assert_eq!(poll_counter(&master, &recorder), 40);
        // The counters are bumped on the listener's and the channel's executors.
        stats_until(&listener, "the replacement counted", |s| {
            (s.replaced, s.identified) == (1, 2)
        });
        manager.shutdown();
    });
}

#[test]
fn a_second_connection_of_a_connected_outstation_is_refused_under_reject_new() {
    each_backend(|manager| {
        let config = ListenerConfig::default().with_policy(ServerPolicy::RejectNew);
        let listener = listener(&manager, config, None);
        let recorder = Recorder::default();
        let master = listener
            .add_master(master_config(41), recorder.handler())
            .expect("association added");
        let _outstation = dial_in(&manager, listener.local_addr(), 41, true);
        assert_eq!(poll_counter(&master, &recorder), 41);
        let mut intruder = raw_from(
            Ipv4Addr::LOCALHOST,
            listener.local_addr(),
            &link_status_request(41),
        );
        assert!(
            closed_by_peer(&mut intruder),
            "the new connection is closed"
        );
        stats_until(&listener, "the refusal counted", |s| {
            s.refused_duplicate == 1
        });
        assert_eq!(
            poll_counter(&master, &recorder),
            41,
            "the first one still serves"
        );
        assert_eq!(listener.stats().replaced, 0);
        manager.shutdown();
    });
}

#[test]
fn a_connection_that_sends_garbage_first_is_closed_and_counted() {
    each_backend(|manager| {
        let listener = listener(&manager, ListenerConfig::default(), None);
        listener
            .add_master(master_config(50), Recorder::default().handler())
            .expect("association added");
        let mut bytes = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        bytes.extend(link_status_request(50));
        let mut raw = raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), &bytes);
        assert!(closed_by_peer(&mut raw));
        let stats = stats_until(&listener, "the garbage counted", |s| s.garbage == 1);
        assert_eq!((stats.identified, stats.pending), (0, 0), "{stats:?}");
        manager.shutdown();
    });
}

#[test]
fn a_silent_connection_is_closed_after_the_first_frame_timeout_and_counted() {
    each_backend(|manager| {
        let config = ListenerConfig::default().with_first_frame_timeout(Duration::from_millis(100));
        let listener = listener(&manager, config, None);
        let mut raw = raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), &[0x05, 0x64]);
        assert!(closed_by_peer(&mut raw));
        let stats = stats_until(&listener, "the timeout counted", |s| s.timeouts == 1);
        assert_eq!((stats.garbage, stats.pending), (0, 0), "{stats:?}");
        manager.shutdown();
    });
}

#[test]
fn connections_past_max_pending_are_closed_and_counted() {
    each_backend(|manager| {
        let config = ListenerConfig::default().with_max_pending(2);
        let listener = listener(&manager, config, None);
        let _waiting: Vec<TcpStream> = (0..2)
            .map(|_| raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), &[]))
            .collect();
        stats_until(&listener, "two pending", |s| s.pending == 2);
        let mut third = raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), &[]);
        assert!(closed_by_peer(&mut third));
        let stats = stats_until(&listener, "the third counted", |s| s.over_limit == 1);
        assert_eq!(stats.pending, 2, "{stats:?}");
        manager.shutdown();
    });
}

/// Records an association's online/offline changes.
#[derive(Clone, Default)]
struct Health(Arc<Mutex<Vec<AssociationState>>>);

impl AssociationListener for Health {
    fn state_changed(&mut self, state: AssociationState) {
        lock(&self.0).push(state);
    }
}

#[test]
fn an_association_is_offline_until_its_outstation_dials_in_and_after_it_hangs_up() {
    each_backend(|manager| {
        let listener = listener(&manager, ListenerConfig::default(), None);
        let health = Health::default();
        let recorder = Recorder::default();
        let master = listener
            .add(
                DialInAssociation::new(master_config(70), recorder.handler())
                    .with_listener(Box::new(health.clone())),
            )
            .expect("association added");
        let early = master
            .read(ReadRequest::classes(Classes::CLASS0))
            .wait_timeout(util::WAIT)
            .expect("the read completes");
        assert_eq!(early, Err(TaskError::LinkDown), "nobody has dialed in yet");
        // A raw outstation identifies itself, then hangs up.
        let raw = raw_from(
            Ipv4Addr::LOCALHOST,
            listener.local_addr(),
            &link_status_request(70),
        );
        stats_until(&listener, "the raw outstation handed over", |s| {
            s.identified == 1
        });
        drop(raw);
        let (channel, _outstation) = dial_in_channel(&manager, listener.local_addr(), 70, true);
        assert_eq!(poll_counter(&master, &recorder), 70);
        wait_for("online", || {
            lock(&health.0).last() == Some(&AssociationState::Online)
        });
        let stats = manager.master_stats();
        let mine: Vec<_> = stats
            .iter()
            .filter(|s| s.outstation_address == 70)
            .collect();
        assert_eq!(mine.len(), 1, "{stats:?}");
        assert_eq!(&*mine[0].channel, "dial-in/70");
        channel.shutdown();
        wait_for("offline once the outstation hung up", || {
            lock(&health.0).last() == Some(&AssociationState::Offline)
        });
        let late = master
            .read(ReadRequest::classes(Classes::CLASS0))
            .wait_timeout(util::WAIT)
            .expect("the read completes");
        assert_eq!(late, Err(TaskError::LinkDown));
        manager.shutdown();
    });
}

#[test]
fn many_short_lived_connections_leave_the_listener_serving_the_next_outstation() {
    each_backend(|manager| {
        let config = ListenerConfig::default().with_max_pending(2);
        let listener = listener(&manager, config, None);
        let recorder = Recorder::default();
        let master = listener
            .add_master(master_config(80), recorder.handler())
            .expect("association added");
        // A silent one keeps the oldest deadline while garbage comes and goes behind it.
        let _silent = raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), &[]);
        for _ in 0..20 {
            let mut raw = raw_from(Ipv4Addr::LOCALHOST, listener.local_addr(), b"garbage");
            assert!(closed_by_peer(&mut raw));
        }
        let stats = stats_until(&listener, "the garbage counted", |s| s.garbage == 20);
        assert_eq!((stats.pending, stats.over_limit), (1, 0), "{stats:?}");
        let _outstation = dial_in(&manager, listener.local_addr(), 80, true);
        assert_eq!(poll_counter(&master, &recorder), 80);
        manager.shutdown();
    });
}
