//! Peers on plain sockets, built from the codec: a raw DNP3 master that leaves every
//! application decision to the test, and a proxy that records the fragments real sessions
//! exchange.

use super::{lock, POLL, WAIT};
use rdnp3::stack::app::{AppControl, Fragment, FragmentWriter, FunctionCode};
use rdnp3::stack::link::{LinkFunction, LinkHeader, LinkParser};
use rdnp3::stack::transport::{Reassembler, Segmenter};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A DNP3 peer on a plain socket, built from the codec: it frames, segments and reassembles,
/// and leaves every application decision to the test.
pub struct RawPeer {
    stream: TcpStream,
    parser: LinkParser,
    rx: Reassembler,
    tx: Segmenter,
    master: bool,
    local: u16,
    remote: u16,
    received: VecDeque<Vec<u8>>,
    link_frames: Vec<LinkHeader>,
}

impl RawPeer {
    /// Connects as a master with link address `local` to the outstation `remote` at `addr`,
    /// retrying while the server is not yet listening.
    pub fn connect_master(addr: SocketAddr, local: u16, remote: u16) -> RawPeer {
        let end = Instant::now() + WAIT;
        let stream = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= end => panic!("cannot connect to {addr}: {e}"),
                Err(_) => std::thread::sleep(POLL),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        RawPeer {
            stream,
            parser: LinkParser::new(),
            rx: Reassembler::new(4096),
            tx: Segmenter::new(),
            master: true,
            local,
            remote,
            received: VecDeque::new(),
            link_frames: Vec::new(),
        }
    }

    /// Sends one application fragment.
    pub fn send(&mut self, fragment: &[u8]) {
        let h = LinkHeader::new(
            self.master,
            LinkFunction::UnconfirmedUserData,
            self.remote,
            self.local,
        );
        let mut out = vec![0u8; Segmenter::wire_size(fragment.len())];
        let n = self
            .tx
            .write_frames(&h, fragment, &mut out)
            .expect("the fragment frames");
        self.stream.write_all(&out[..n]).expect("send");
    }

    /// The next fragment from the peer; fails after [`WAIT`].
    pub fn recv(&mut self) -> Vec<u8> {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(f) = self.received.pop_front() {
                return f;
            }
            assert!(Instant::now() < end, "no fragment within {WAIT:?}");
            assert!(self.read_some(), "the peer closed the connection");
        }
    }

    /// Reads what the peer sent (up to the read timeout) and reassembles it; link-control
    /// frames are kept in `link_frames`. False once the peer has closed the connection.
    fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 2048];
        let n = match self.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                return true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return false,
            Err(e) => panic!("read failed: {e}"),
        };
        let mut data = &buf[..n];
        while let Some(event) = self.parser.parse(&mut data) {
            let frame = event.expect("valid link frames");
            if !frame.header.control.function.carries_data() {
                self.link_frames.push(frame.header);
                continue;
            }
            if let Ok(Some(f)) = self.rx.push(
                frame.user_data,
                frame.header.source,
                frame.header.destination,
            ) {
                self.received.push_back(f.to_vec());
            }
        }
        true
    }

    /// Stays silent until the peer closes the connection (fails after [`WAIT`]); returns
    /// the link-control frames it sent meanwhile.
    pub fn wait_closed(mut self) -> Vec<LinkHeader> {
        let end = Instant::now() + WAIT;
        while self.read_some() {
            assert!(Instant::now() < end, "the peer kept the connection open");
        }
        self.link_frames
    }

    /// Sends a request and returns the solicited response with its SEQ. Unsolicited
    /// responses met on the way are confirmed when they ask for it and skipped.
    pub fn request(&mut self, fragment: &[u8]) -> Vec<u8> {
        let seq = AppControl::from_byte(fragment[0]).seq;
        self.send(fragment);
        loop {
            let f = self.recv();
            let parsed = Fragment::parse(&f).expect("a valid response");
            if parsed.function == FunctionCode::UnsolicitedResponse {
                if parsed.control.con {
                    self.confirm(parsed.control.seq, true);
                }
                continue;
            }
            assert_eq!(parsed.function, FunctionCode::Response);
            assert_eq!(parsed.control.seq, seq, "the response answers the request");
            return f;
        }
    }

    /// Confirms a response (`unsolicited`: UNS set).
    pub fn confirm(&mut self, seq: u8, unsolicited: bool) {
        let mut buf = [0u8; 2];
        let control = AppControl {
            uns: unsolicited,
            ..AppControl::single(seq)
        };
        FragmentWriter::request(&mut buf, control, FunctionCode::Confirm).expect("confirm");
        self.send(&buf);
    }

    /// Closes the connection.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// One application fragment that crossed the proxy.
#[derive(Clone, Debug)]
pub struct Captured {
    /// Sent by the master (DIR set).
    pub from_master: bool,
    /// The fragment.
    pub bytes: Vec<u8>,
}

/// A TCP proxy between one client channel and one server channel that records every
/// fragment passing in either direction, so tests can check the exact exchange of real
/// sessions. It also orders the start: the client connects to it at once, but nothing is
/// relayed until [`Proxy::open`], so the sessions of both channels can be added first and
/// no early frame meets a channel that does not carry its session yet.
pub struct Proxy {
    address: SocketAddr,
    log: Arc<Mutex<Vec<Captured>>>,
    gate: std::sync::mpsc::Sender<()>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port; after [`Proxy::open`] it relays the first
    /// connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let address = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        let (gate, opened) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok((down, _)) = listener.accept() else {
                return;
            };
            if opened.recv().is_err() {
                return;
            }
            let end = Instant::now() + WAIT;
            let up = loop {
                match TcpStream::connect(upstream) {
                    Ok(s) => break s,
                    Err(_) if Instant::now() < end => std::thread::sleep(POLL),
                    Err(e) => panic!("proxy cannot reach {upstream}: {e}"),
                }
            };
            let (down2, up2) = (
                down.try_clone().expect("clone"),
                up.try_clone().expect("clone"),
            );
            let log2 = shared.clone();
            std::thread::spawn(move || relay(down2, up2, log2));
            relay(up, down, shared);
        });
        Proxy { address, log, gate }
    }

    /// Starts relaying.
    pub fn open(&self) {
        let _ = self.gate.send(());
    }

    /// Where masters connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The fragments so far, in the order the proxy read them.
    pub fn captured(&self) -> Vec<Captured> {
        lock(&self.log).clone()
    }
}

/// Copies `from` to `to`, recording the fragments; closes both on end of stream.
fn relay(mut from: TcpStream, mut to: TcpStream, log: Arc<Mutex<Vec<Captured>>>) {
    let mut parser = LinkParser::new();
    let mut rx = Reassembler::new(4096);
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut data = &buf[..n];
        while let Some(event) = parser.parse(&mut data) {
            let Ok(frame) = event else { continue };
            let dir = frame.header.control.dir;
            if let Ok(Some(f)) = rx.push(
                frame.user_data,
                frame.header.source,
                frame.header.destination,
            ) {
                lock(&log).push(Captured {
                    from_master: dir,
                    bytes: f.to_vec(),
                });
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
