//! The `decode` example end to end: the shipped sample capture and hand-made streams go in as
//! hex, and every output line must be valid JSON with the documented fields.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The example binary cargo builds next to the test binaries.
fn decode_binary() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("decode")
}

fn decode(input: &str) -> Vec<Value> {
    let mut child = Command::new(decode_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the decode example is built by cargo test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn the_sample_capture_decodes_to_frames_fragments_and_errors() {
    let sample = include_str!("../examples/captures/sample.hex");
    let lines = decode(sample);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "link").count(), 8);
    assert_eq!(kinds.iter().filter(|k| **k == "app").count(), 6);
    let errors: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| l.get("error"))
        .map(|e| (e["layer"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [("link", "GARBAGE"), ("link", "BODY_CRC")]);
    // The integrity response spans two segments and decodes whole.
    let integrity = lines
        .iter()
        .filter_map(|l| l.get("app"))
        .find(|a| a["seq"] == 1)
        .unwrap();
    assert_eq!(integrity["func"], "RESPONSE");
    assert_eq!(integrity["iin"][0], "DEVICE_RESTART");
    let analog = integrity["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["group"] == 30)
        .unwrap();
    assert_eq!(analog["points"][3]["value"], 4.5);
    assert_eq!(analog["points"][3]["flags"], 1);
    let crob = lines
        .iter()
        .filter_map(|l| l.get("app"))
        .find(|a| a["objects"][0]["group"] == 12)
        .unwrap();
    let p = &crob["objects"][0]["points"][0];
    assert_eq!(
        (p["crob"]["op"].as_str(), p["status"].as_str()),
        (Some("LATCH_ON"), Some("SUCCESS"))
    );
}

#[test]
fn a_request_stream_split_and_surrounded_by_garbage_decodes() {
    // C2 (integrity poll) with garbage before it, then L10 (direct operate CROB), with comments.
    let input = "FF 00 # noise\n05 64 14 C4 00 04 01 00 E9 B6 C0 C0 01 3C 02 06\n3C 03 06 3C 04 06 3C 01 06 8A 51\n\
                 05 64 1A C4 02 00 01 00 A5 E9 FF C9 05 0C 01 28 01 00 00 00 01 01 01 00 00 00 72 EF 00 00 00 00 00 FF FF";
    let lines = decode(input);
    assert_eq!(lines[0]["error"]["kind"], "GARBAGE");
    assert_eq!(lines[0]["error"]["offset"], 0);
    let link = &lines[1]["link"];
    assert_eq!(
        (link["dir"].as_bool(), link["prm"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        (
            link["dest"].as_u64(),
            link["src"].as_u64(),
            link["len"].as_u64()
        ),
        (Some(1024), Some(1), Some(20))
    );
    let app = &lines[2]["app"];
    assert_eq!(app["func"], "READ");
    assert!(app.get("iin").is_none(), "requests carry no IIN");
    let groups: Vec<_> = app["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["variation"].as_u64().unwrap())
        .collect();
    assert_eq!(groups, [2, 3, 4, 1]);
    let op = &lines[4]["app"];
    assert_eq!(op["func"], "DIRECT_OPERATE");
    assert_eq!(op["objects"][0]["count"], 1);
    assert_eq!(op["objects"][0]["points"][0]["crob"]["on_time"], 1);
}

#[test]
fn frozen_analogs_decode_with_their_values_flags_and_time() {
    // A response with g31v1 index 3 = -5 and g33v7 index 4 = 2.5 at 1234 ms, flags ONLINE.
    let input =
        "05 64 24 44 01 00 00 04 E0 88 C0 C0 81 00 00 1F 01 17 01 03 01 FB FF FF FF 21 9F F4 \
                 07 17 01 04 01 00 00 20 40 D2 04 00 00 00 00 8E F8";
    let lines = decode(input);
    let app = &lines[1]["app"];
    assert_eq!(app["func"], "RESPONSE");
    let frozen = &app["objects"][0];
    assert_eq!(
        (frozen["group"].as_u64(), frozen["variation"].as_u64()),
        (Some(31), Some(1))
    );
    let p = &frozen["points"][0];
    assert_eq!(
        (
            p["index"].as_u64(),
            p["value"].as_i64(),
            p["flags"].as_u64()
        ),
        (Some(3), Some(-5), Some(1))
    );
    let event = &app["objects"][1];
    assert_eq!(
        (event["group"].as_u64(), event["variation"].as_u64()),
        (Some(33), Some(7))
    );
    let p = &event["points"][0];
    assert_eq!(
        (p["index"].as_u64(), p["value"].as_f64(), p["time"].as_u64()),
        (Some(4), Some(2.5), Some(1234))
    );
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let mut child = Command::new(decode_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"05 64 zz").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a hex digit"));
}
