//! A master channel on the reactor against a scripted outstation on a plain socket: the
//! startup sequence, measurements and a command cross real TCP in both directions.

use rdnp3::stack::app::{Fragment, FunctionCode};
use rdnp3::stack::link::{LinkFunction, LinkHeader, LinkParser};
use rdnp3::stack::master::{Command, CommandMode, MasterConfig, Measurement, ReadHandler};
use rdnp3::stack::objects::PointType;
use rdnp3::stack::objects::{CommandStatus, Crob, OpType};
use rdnp3::stack::transport::{Reassembler, Segmenter};
use rdnp3::{ChannelConfig, ChannelState, Manager};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use rdnp3_testkit::hex::bytes as hex;

/// Reads one request fragment from the master.
fn read_request(stream: &mut TcpStream, parser: &mut LinkParser, rx: &mut Reassembler) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "master closed");
        let mut data = &buf[..n];
        while let Some(ev) = parser.parse(&mut data) {
            let f = ev.unwrap();
            assert!(f.header.control.dir, "requests come from a master");
            if let Ok(Some(frag)) = rx.push(f.user_data, f.header.source, f.header.destination) {
                return frag.to_vec();
            }
        }
    }
}

fn send(stream: &mut TcpStream, tx: &mut Segmenter, fragment: &[u8]) {
    let h = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024);
    let mut out = vec![0u8; Segmenter::wire_size(fragment.len())];
    let n = tx.write_frames(&h, fragment, &mut out).unwrap();
    stream.write_all(&out[..n]).unwrap();
}

struct Collect(mpsc::Sender<(PointType, u16, String)>);

impl ReadHandler for Collect {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let _ = self.0.send((m.kind, m.index, m.value.to_string()));
    }
}

#[test]
fn a_master_channel_runs_its_startup_and_a_command_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let outstation = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let (mut parser, mut rx, mut tx) =
            (LinkParser::new(), Reassembler::new(2048), Segmenter::new());
        let mut functions = Vec::new();
        // Disable unsolicited, integrity poll, enable unsolicited, then a direct operate.
        for _ in 0..4 {
            let req = read_request(&mut s, &mut parser, &mut rx);
            let f = Fragment::parse(&req).unwrap();
            functions.push(f.function);
            let seq = f.control.seq;
            let resp = match f.function {
                FunctionCode::Read => {
                    let mut r = hex("C0 81 00 00 1E 02 00 05 06 01 2A 00 01 29 00");
                    r[0] |= seq;
                    r
                }
                FunctionCode::DirectOperate => {
                    let mut r = vec![0xC0 | seq, 0x81, 0x00, 0x00];
                    r.extend_from_slice(&req[2..]);
                    r
                }
                _ => vec![0xC0 | seq, 0x81, 0x00, 0x00],
            };
            send(&mut s, &mut tx, &resp);
        }
        functions
    });

    let manager = Manager::new(2).unwrap();
    let (state_tx, state_rx) = mpsc::channel();
    let channel = manager
        .add_tcp_client(
            ChannelConfig::named("test"),
            addr,
            Some(Box::new(move |s: ChannelState| {
                let _ = state_tx.send(s);
            })),
        )
        .unwrap();
    let (tx, values) = mpsc::channel();
    let master = channel
        .add_master(MasterConfig::default(), Box::new(Collect(tx)))
        .unwrap();
    assert_eq!(
        values.recv().unwrap(),
        (PointType::AnalogInput, 5, "42".to_string())
    );
    assert_eq!(
        values.recv().unwrap(),
        (PointType::AnalogInput, 6, "41".to_string())
    );
    let crob = Crob::new(OpType::LatchOn, 0, 0);
    let result = master
        .operate(
            CommandMode::DirectOperate,
            vec![Command::Crob { index: 3, crob }],
        )
        .wait()
        .unwrap();
    assert_eq!(result, Ok(vec![CommandStatus::Success]));
    let functions = outstation.join().unwrap();
    assert_eq!(
        functions,
        [
            FunctionCode::DisableUnsolicited,
            FunctionCode::Read,
            FunctionCode::EnableUnsolicited,
            FunctionCode::DirectOperate
        ]
    );
    let states: Vec<_> = state_rx.try_iter().collect();
    assert!(
        states.starts_with(&[ChannelState::Connecting, ChannelState::Open]),
        "{states:?}"
    );
    let stats = channel.stats();
    assert_eq!(stats.fragments_tx, 4);
    assert_eq!(stats.fragments_rx, 4);
    assert_eq!(stats.crc_errors, 0);
    manager.shutdown();
}
