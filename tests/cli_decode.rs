#![cfg(feature = "cli")]
//! `rdnp3 decode` end to end: captures written here (pcap in both byte orders and resolutions,
//! pcapng with several interfaces) from known DNP3 frames, with segments out of order,
//! retransmitted and in both directions, must decode to the documented JSON lines.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// C2 integrity poll (READ of classes 1, 2, 3, 0), outstation 1024 from master 1.
const READ: &str =
    "05 64 14 C4 00 04 01 00 E9 B6 C0 C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06 8A 51";
/// DIRECT_OPERATE of a CROB PULSE_ON (1 ms) on index 1.
const OPERATE: &str =
    "05 64 1A C4 02 00 01 00 A5 E9 FF C9 05 0C 01 28 01 00 00 00 01 01 01 00 00 00 \
                       72 EF 00 00 00 00 00 FF FF";
/// A response: g31v1 index 3 = -5 and g33v7 index 4 = 2.5 at 1234 ms.
const RESPONSE: &str =
    "05 64 24 44 01 00 00 04 E0 88 C0 C0 81 00 00 1F 01 17 01 03 01 FB FF FF FF \
                        21 9F F4 07 17 01 04 01 00 00 20 40 D2 04 00 00 00 00 8E F8";

const MASTER: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const OUTSTATION: ([u8; 4], u16) = ([10, 0, 0, 2], 20000);
const REQUESTS: &str = "10.0.0.1:40000>10.0.0.2:20000";
const RESPONSES: &str = "10.0.0.2:20000>10.0.0.1:40000";

fn bytes(hex: &str) -> Vec<u8> {
    rdnp3_testkit::hex::bytes(hex)
}

/// One TCP segment as an IPv4 packet.
fn ipv4_tcp(from: ([u8; 4], u16), to: ([u8; 4], u16), seq: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let total = (40 + data.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend(total.to_be_bytes());
    p.extend([0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend(from.0);
    p.extend(to.0);
    p.extend(from.1.to_be_bytes());
    p.extend(to.1.to_be_bytes());
    p.extend(seq.to_be_bytes());
    p.extend([0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    p.extend(data);
    p
}

/// Link-layer framings.
#[derive(Clone, Copy)]
enum Link {
    Ethernet,
    /// Ethernet with an 802.1Q tag.
    Vlan,
    Sll,
    Sll2,
    Raw,
}

impl Link {
    fn number(self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Raw => 101,
        }
    }

    fn wrap(self, ip: Vec<u8>) -> Vec<u8> {
        let mut f = match self {
            Link::Ethernet => [vec![2; 12], vec![0x08, 0x00]].concat(),
            Link::Vlan => [vec![2; 12], vec![0x81, 0x00, 0x00, 0x07, 0x08, 0x00]].concat(),
            Link::Sll => [vec![0; 14], vec![0x08, 0x00]].concat(),
            Link::Sll2 => [vec![0x08, 0x00], vec![0; 18]].concat(),
            Link::Raw => Vec::new(),
        };
        f.extend(ip);
        f
    }
}

/// A captured packet: when (ns since 1970) and the IP packet.
struct Captured {
    ns: u64,
    ip: Vec<u8>,
}

/// The conversation: handshake, a request split in two segments sent out of order with the
/// first retransmitted, the response, then a second request in one segment. Sequence numbers
/// start near the top of the space so that they wrap.
fn conversation() -> Vec<Captured> {
    let (read, operate, response) = (bytes(READ), bytes(OPERATE), bytes(RESPONSE));
    let m = 0xFFFF_FFF0u32; // master ISN
    let o = 1000u32; // outstation ISN
    let (m1, o1) = (m.wrapping_add(1), o + 1);
    let t0 = 1_733_590_000_000_000_000u64;
    let ms = 1_000_000u64;
    let at = |n: u64| t0 + n * ms + 250;
    let seg = |from, to, seq, flags, data: &[u8]| ipv4_tcp(from, to, seq, flags, data);
    vec![
        Captured {
            ns: at(0),
            ip: seg(MASTER, OUTSTATION, m, 0x02, b""),
        },
        Captured {
            ns: at(1),
            ip: seg(OUTSTATION, MASTER, o, 0x12, b""),
        },
        // The second half of the READ before its first half.
        Captured {
            ns: at(2),
            ip: seg(MASTER, OUTSTATION, m1.wrapping_add(10), 0x18, &read[10..]),
        },
        Captured {
            ns: at(3),
            ip: seg(MASTER, OUTSTATION, m1, 0x18, &read[..10]),
        },
        // A retransmission of the first half.
        Captured {
            ns: at(4),
            ip: seg(MASTER, OUTSTATION, m1, 0x18, &read[..10]),
        },
        Captured {
            ns: at(5),
            ip: seg(OUTSTATION, MASTER, o1, 0x18, &response),
        },
        Captured {
            ns: at(6),
            ip: seg(
                MASTER,
                OUTSTATION,
                m1.wrapping_add(read.len() as u32),
                0x18,
                &operate,
            ),
        },
    ]
}

fn pcap(packets: &[Captured], link: Link, big_endian: bool, nanos: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut f = Vec::new();
    f.extend(u32b(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }));
    f.extend(u16b(2));
    f.extend(u16b(4));
    f.extend([0; 8]);
    f.extend(u32b(65535));
    f.extend(u32b(link.number()));
    for p in packets {
        let data = link.wrap(p.ip.clone());
        let frac = if nanos {
            p.ns % 1_000_000_000
        } else {
            p.ns % 1_000_000_000 / 1000
        };
        f.extend(u32b((p.ns / 1_000_000_000) as u32));
        f.extend(u32b(frac as u32));
        f.extend(u32b(data.len() as u32));
        f.extend(u32b(data.len() as u32));
        f.extend(data);
    }
    f
}

/// A pcapng block of `kind` with `body`, padded to 32 bits.
fn block(kind: u32, body: &[u8], big_endian: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut b = Vec::new();
    b.extend(u32b(kind));
    b.extend(u32b(total));
    b.extend(body);
    b.resize(8 + padded, 0);
    b.extend(u32b(total));
    b
}

/// pcapng: interface 0 (Ethernet, µs), interface 1 (`link`, ns via if_tsresol); requests on
/// interface 1, responses on interface 0.
fn pcapng(packets: &[Captured], link: Link, big_endian: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut shb = u32b(0x1A2B_3C4D).to_vec();
    shb.extend(u16b(1));
    shb.extend(u16b(0));
    shb.extend([0xFF; 8]);
    let mut f = block(0x0A0D_0D0A, &shb, big_endian);
    let mut idb0 = u16b(1).to_vec();
    idb0.extend([0, 0]);
    idb0.extend(u32b(65535));
    f.extend(block(1, &idb0, big_endian));
    let mut idb1 = u16b(link.number() as u16).to_vec();
    idb1.extend([0, 0]);
    idb1.extend(u32b(65535));
    idb1.extend(u16b(9)); // if_tsresol: 10^-9
    idb1.extend(u16b(1));
    idb1.extend([9, 0, 0, 0]);
    idb1.extend([0; 4]); // opt_endofopt
    f.extend(block(1, &idb1, big_endian));
    for p in packets {
        let from_master = p.ip[12..16] == MASTER.0;
        let (interface, data, units) = if from_master {
            (1u32, link.wrap(p.ip.clone()), p.ns)
        } else {
            (0u32, Link::Ethernet.wrap(p.ip.clone()), p.ns / 1000)
        };
        let mut epb = u32b(interface).to_vec();
        epb.extend(u32b((units >> 32) as u32));
        epb.extend(u32b(units as u32));
        epb.extend(u32b(data.len() as u32));
        epb.extend(u32b(data.len() as u32));
        epb.extend(&data);
        f.extend(block(6, &epb, big_endian));
    }
    f
}

fn run(input: &[u8], file: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rdnp3"));
    cmd.arg("decode");
    let path = std::env::temp_dir().join(format!(
        "rdnp3-cli-decode-{}-{:x}",
        std::process::id(),
        input.len()
            ^ input
                .iter()
                .fold(0usize, |h, b| h.wrapping_mul(31) ^ usize::from(*b))
    ));
    if file {
        std::fs::write(&path, input).unwrap();
        cmd.arg(&path);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if !file {
        stdin.write_all(input).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(path);
    out
}

fn decode(input: &[u8], file: bool) -> Vec<Value> {
    let out = run(input, file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(&raw_ts(l)).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The line with its `ts` number quoted, to compare its digits exactly (an f64 would not
/// keep them).
fn raw_ts(line: &str) -> String {
    match line.rfind(",\"ts\":") {
        Some(i) if !line[i..].contains("null") => {
            let end = line.len() - 1;
            format!("{}\"{}\"}}", &line[..i + 6], &line[i + 6..end])
        }
        _ => line.to_string(),
    }
}

/// (stream, first key, function or kind, ts) of every line.
fn summary(lines: &[Value]) -> Vec<(String, String, String, String)> {
    lines
        .iter()
        .map(|l| {
            let object = l.as_object().unwrap();
            let key = object
                .keys()
                .find(|k| *k != "stream" && *k != "ts")
                .unwrap();
            let what = match key.as_str() {
                "error" => l["error"]["kind"].as_str().unwrap().to_string(),
                _ => l[key]["func"].as_str().unwrap().to_string(),
            };
            (
                l["stream"].as_str().unwrap().to_string(),
                key.clone(),
                what,
                l["ts"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(stream: &str, key: &str, what: &str, ts: &str) -> (String, String, String, String) {
    (stream.into(), key.into(), what.into(), ts.into())
}

/// What the conversation decodes to, with timestamps of `digits` fraction digits.
fn expected(digits: usize) -> Vec<(String, String, String, String)> {
    let ts = |n: u64| {
        let ns = 250 + n * 1_000_000;
        let frac = format!("{ns:09}");
        format!("1733590000.{}", &frac[..digits])
    };
    vec![
        // The READ completes when its first half arrives (packet 3).
        row(REQUESTS, "link", "UNCONFIRMED_USER_DATA", &ts(3)),
        row(REQUESTS, "app", "READ", &ts(3)),
        row(RESPONSES, "link", "UNCONFIRMED_USER_DATA", &ts(5)),
        row(RESPONSES, "app", "RESPONSE", &ts(5)),
        row(REQUESTS, "link", "UNCONFIRMED_USER_DATA", &ts(6)),
        row(REQUESTS, "app", "DIRECT_OPERATE", &ts(6)),
    ]
}

fn assert_values(lines: &[Value]) {
    let response = lines
        .iter()
        .find(|l| l["app"]["func"] == "RESPONSE")
        .unwrap();
    let p = &response["app"]["objects"][0]["points"][0];
    assert_eq!(
        (p["index"].as_u64(), p["value"].as_i64()),
        (Some(3), Some(-5))
    );
    let operate = lines
        .iter()
        .find(|l| l["app"]["func"] == "DIRECT_OPERATE")
        .unwrap();
    assert_eq!(
        operate["app"]["objects"][0]["points"][0]["crob"]["op"],
        "PULSE_ON"
    );
}

#[test]
fn a_little_endian_microsecond_pcap_decodes_both_directions_in_order_once() {
    let file = pcap(&conversation(), Link::Ethernet, false, false);
    let lines = decode(&file, true);
    assert_eq!(summary(&lines), expected(6));
    assert_values(&lines);
}

#[test]
fn a_big_endian_nanosecond_pcap_of_raw_ip_decodes_from_stdin() {
    let file = pcap(&conversation(), Link::Raw, true, true);
    let lines = decode(&file, false);
    assert_eq!(summary(&lines), expected(9));
    assert_values(&lines);
}

#[test]
fn vlan_and_linux_cooked_captures_decode_alike() {
    for link in [Link::Vlan, Link::Sll, Link::Sll2] {
        let lines = decode(&pcap(&conversation(), link, false, false), true);
        assert_eq!(summary(&lines), expected(6));
    }
}

#[test]
fn a_pcapng_with_two_interfaces_uses_each_ones_link_type_and_resolution() {
    for big_endian in [false, true] {
        let lines = decode(&pcapng(&conversation(), Link::Sll2, big_endian), true);
        let got = summary(&lines);
        let want = expected(9);
        // Requests are on the nanosecond interface, responses on the microsecond one.
        for (g, w) in got.iter().zip(&want) {
            if g.0 == RESPONSES {
                assert_eq!((&g.0, &g.1, &g.2), (&w.0, &w.1, &w.2));
                assert_eq!(g.3, w.3[..w.3.len() - 3], "microsecond digits");
            } else {
                assert_eq!(g, w);
            }
        }
        assert_eq!(got.len(), want.len());
        assert_values(&lines);
    }
}

#[test]
fn a_lost_segment_is_reported_as_a_gap_and_decoding_resumes() {
    let mut packets = conversation();
    packets.remove(5); // the response
    packets.push(Captured {
        ns: packets[5].ns + 1,
        ip: ipv4_tcp(OUTSTATION, MASTER, 1001 + 7, 0x18, &bytes(RESPONSE)),
    });
    let lines = decode(&pcap(&packets, Link::Ethernet, false, false), true);
    let responses: Vec<_> = summary(&lines)
        .into_iter()
        .filter(|r| r.0 == RESPONSES)
        .map(|r| (r.1, r.2))
        .collect();
    assert_eq!(
        responses,
        [
            ("error".to_string(), "GAP".to_string()),
            ("link".into(), "UNCONFIRMED_USER_DATA".into()),
            ("app".into(), "RESPONSE".into())
        ]
    );
}

#[test]
fn a_truncated_capture_keeps_what_came_before_and_says_where_it_stopped() {
    let mut file = pcap(&conversation(), Link::Ethernet, false, false);
    file.truncate(file.len() - 5);
    let lines = decode(&file, true);
    let last = lines.last().unwrap();
    assert_eq!(last["error"]["layer"], "capture");
    assert_eq!(last["error"]["kind"], "TRUNCATED");
    assert!(lines.iter().any(|l| l["app"]["func"] == "RESPONSE"));
    // The cut DIRECT_OPERATE never completed.
    assert!(!lines.iter().any(|l| l["app"]["func"] == "DIRECT_OPERATE"));
}

#[test]
fn hex_input_decodes_as_the_example_does() {
    let sample = include_str!("../examples/captures/sample.hex");
    for file in [false, true] {
        let lines = decode(sample.as_bytes(), file);
        assert!(lines
            .iter()
            .all(|l| l.get("stream").is_none() && l.get("ts").is_none()));
        let count = |k: &str| lines.iter().filter(|l| l.get(k).is_some()).count();
        assert_eq!((count("link"), count("app"), count("error")), (8, 6, 2));
    }
    let out = run(b"05 64 zz", false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a hex digit"));
}

#[test]
fn tshark_counts_the_same_frames_and_functions_when_installed() {
    let Ok(probe) = Command::new("tshark").arg("--version").output() else {
        eprintln!("tshark is not installed: skipped");
        return;
    };
    assert!(probe.status.success());
    let file = pcap(&conversation(), Link::Ethernet, false, false);
    let path = std::env::temp_dir().join(format!(
        "rdnp3-cli-decode-tshark-{}.pcap",
        std::process::id()
    ));
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args([
            "-o",
            "tcp.desegment_tcp_streams:TRUE",
            "-o",
            "tcp.reassemble_out_of_order:TRUE",
            "-d",
            "tcp.port==20000,dnp3",
        ])
        .args(["-Y", "dnp3.al.func", "-T", "fields", "-e", "dnp3.al.func"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .flat_map(|f| f.split(','))
        .map(|f| f.parse().unwrap())
        .collect();
    let ours: Vec<u64> = decode(&file, true)
        .iter()
        .filter_map(|l| l["app"]["func"].as_str())
        .map(|f| match f {
            "READ" => 1,
            "DIRECT_OPERATE" => 5,
            "RESPONSE" => 129,
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(theirs, ours);
}

#[test]
fn corrupted_captures_end_in_json_lines_never_a_crash() {
    let mut rng = rdnp3_testkit::rng::Rng::new(12);
    let originals = [
        pcap(&conversation(), Link::Vlan, false, false),
        pcapng(&conversation(), Link::Sll, true),
    ];
    for round in 0..40 {
        let mut file = originals[round % 2].clone();
        for _ in 0..rng.range(1, 8) {
            let at = rng.range(4, file.len());
            file[at] = rng.byte();
        }
        file.truncate(rng.range(4, file.len() + 1));
        // Every line parses (decode() asserts it) and the exit status is success.
        decode(&file, true);
    }
}

#[test]
fn a_new_connection_on_the_same_ports_after_fin_is_a_new_stream() {
    let read = bytes(READ);
    let mut packets = conversation();
    let end = packets.last().unwrap().ns;
    let fin_seq = 0xFFFF_FFF1u32.wrapping_add((read.len() + bytes(OPERATE).len()) as u32);
    for (n, (seq, flags, data)) in [
        (fin_seq, 0x11, Vec::new()),
        (fin_seq, 0x11, Vec::new()), // a retransmitted FIN
        (5000, 0x02, Vec::new()),
        (5001, 0x18, read.clone()),
    ]
    .into_iter()
    .enumerate()
    {
        packets.push(Captured {
            ns: end + 1_000 * (n as u64 + 1),
            ip: ipv4_tcp(MASTER, OUTSTATION, seq, flags, &data),
        });
    }
    let lines = decode(&pcap(&packets, Link::Ethernet, false, false), true);
    let requests: Vec<String> = summary(&lines)
        .into_iter()
        .filter(|r| r.0 == REQUESTS && r.1 == "app")
        .map(|r| r.2)
        .collect();
    assert_eq!(requests, ["READ", "DIRECT_OPERATE", "READ"]);
    assert!(!lines.iter().any(|l| l.get("error").is_some()));
}

#[test]
fn streams_beyond_max_streams_are_counted_and_dropped() {
    let path =
        std::env::temp_dir().join(format!("rdnp3-cli-decode-max-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap(&conversation(), Link::Ethernet, false, false)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["decode", "--max-streams", "1"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(REQUESTS) && !stdout.contains(RESPONSES),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 dropped over --max-streams"), "{stderr}");
}
