//! The `master` example end to end against a scripted outstation on a plain socket: frozen
//! analogs and command events print in the measurement shape, and an object the master cannot
//! parse prints `unsupported g<G>v<V>` after the objects before it.

use rdnp3::stack::app::{Fragment, FunctionCode};
use rdnp3::stack::link::{LinkFunction, LinkHeader, LinkParser};
use rdnp3::stack::transport::{Reassembler, Segmenter};
use rdnp3_testkit::hex::bytes as hex;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;

/// The example binary cargo builds next to the test binaries.
fn master_binary() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("master")
}

/// Answers every request until the master hangs up: READs with `read_response`, anything
/// else with an empty response. Returns the function codes it saw.
fn serve(mut s: TcpStream, read_response: &str) -> Vec<FunctionCode> {
    let (mut parser, mut rx, mut tx) =
        (LinkParser::new(), Reassembler::new(2048), Segmenter::new());
    let mut functions = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return functions,
            Ok(n) => n,
        };
        let mut data = &buf[..n];
        while let Some(ev) = parser.parse(&mut data) {
            let Ok(f) = ev else { continue };
            let Ok(Some(req)) = rx.push(f.user_data, f.header.source, f.header.destination) else {
                continue;
            };
            let req = req.to_vec();
            let f = Fragment::parse(&req).unwrap();
            functions.push(f.function);
            let seq = f.control.seq;
            let response = match f.function {
                FunctionCode::Confirm => continue,
                FunctionCode::Read => {
                    let mut r = hex(read_response);
                    r[0] |= seq;
                    r
                }
                _ => vec![0xC0 | seq, 0x81, 0x00, 0x00],
            };
            let h = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, 1, 1024);
            let mut out = vec![0u8; Segmenter::wire_size(response.len())];
            let n = tx.write_frames(&h, &response, &mut out).unwrap();
            if s.write_all(&out[..n]).is_err() {
                return functions;
            }
        }
    }
}

#[test]
fn the_master_example_prints_new_objects_and_an_unsupported_one() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // g30v1 index 0 = 7; g31v1 index 3 = -5; g13v1 index 1 commanded on; g43v5 index 2 = 2.5
    // with status NOT_SUPPORTED; then g99v1, which no standard defines.
    let outstation = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        serve(
            s,
            "E0 81 00 00 1E 01 00 00 00 01 07 00 00 00 1F 01 17 01 03 01 FB FF FF FF \
             0D 01 17 01 01 80 2B 05 17 01 02 04 00 00 20 40 63 01 00 00 00 01",
        )
    });
    let out = Command::new(master_binary())
        .args(["--connect", &addr.to_string(), "--once"])
        .output()
        .expect("the master example is built by cargo test");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "state online",
            "analog 0 7 0x01",
            "frozen-analog 3 -5 0x01",
            "binary-command-event 1 true 0x81",
            "analog-command-event 2 2.5 0x01",
            "unsupported g99v1",
            "state offline",
        ],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "the integrity poll failed");
    let functions = outstation.join().unwrap();
    assert!(functions.contains(&FunctionCode::Read), "{functions:?}");
    assert!(
        !functions.contains(&FunctionCode::Confirm),
        "the fragment is not confirmed: {functions:?}"
    );
}
