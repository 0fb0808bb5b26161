//! From a captured packet to its TCP segment: the link-layer header (Ethernet with 802.1Q/802.1ad
//! tags, Linux cooked SLL and SLL2, raw IP, BSD loopback), then IPv4 or IPv6, then TCP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The link types read (LINKTYPE_* numbers of the pcap specifications).
const NULL: u32 = 0;
const ETHERNET: u32 = 1;
const RAW: u32 = 101;
const LINUX_SLL: u32 = 113;
const IPV4: u32 = 228;
const IPV6: u32 = 229;
const LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
/// TCP SYN.
pub const SYN: u8 = 0x02;
/// TCP RST.
pub const RST: u8 = 0x04;

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number of the first byte (of the SYN when SYN is set).
    pub seq: u32,
    /// FIN, SYN, RST, … bits.
    pub flags: u8,
    /// The TCP payload.
    pub payload: &'a [u8],
}

/// Why a packet carries no TCP segment to reassemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A link type this decoder does not read.
    LinkType,
    /// Not IP, or IP but not TCP.
    NotTcp,
    /// An IP fragment (reassembling IP is out of scope).
    IpFragment,
    /// A header shorter than it says or than its minimum.
    Malformed,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The TCP segment inside a packet of `link_type`.
pub fn tcp_segment(link_type: u32, data: &[u8]) -> Result<Segment<'_>, Skip> {
    let malformed = Skip::Malformed;
    let (ethertype, ip) = match link_type {
        ETHERNET => {
            let mut at = 12;
            let mut ethertype = u16_at(data, at).ok_or(malformed)?;
            // Up to two VLAN tags (802.1ad outer, 802.1Q inner).
            for _ in 0..2 {
                if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
                    break;
                }
                at += 4;
                ethertype = u16_at(data, at).ok_or(malformed)?;
            }
            (Some(ethertype), data.get(at + 2..).ok_or(malformed)?)
        }
        LINUX_SLL => (
            Some(u16_at(data, 14).ok_or(malformed)?),
            data.get(16..).ok_or(malformed)?,
        ),
        LINUX_SLL2 => (
            Some(u16_at(data, 0).ok_or(malformed)?),
            data.get(20..).ok_or(malformed)?,
        ),
        RAW | IPV4 | IPV6 => (None, data),
        NULL => {
            // The address family, in the capturing host's byte order.
            let family = data.get(..4).ok_or(malformed)?;
            let family = u32::from_le_bytes(family.try_into().map_err(|_| malformed)?).min(
                u32::from_be_bytes(family.try_into().map_err(|_| malformed)?),
            );
            match family {
                2 => (Some(ETHERTYPE_IPV4), &data[4..]),
                24 | 28 | 30 => (Some(ETHERTYPE_IPV6), &data[4..]),
                _ => return Err(Skip::NotTcp),
            }
        }
        _ => return Err(Skip::LinkType),
    };
    let version = ip.first().ok_or(malformed)? >> 4;
    match (ethertype, version) {
        (Some(ETHERTYPE_IPV4) | None, 4) => ipv4(ip),
        (Some(ETHERTYPE_IPV6) | None, 6) => ipv6(ip),
        (Some(ETHERTYPE_IPV4 | ETHERTYPE_IPV6), _) => Err(malformed),
        _ => Err(Skip::NotTcp),
    }
}

fn ipv4(ip: &[u8]) -> Result<Segment<'_>, Skip> {
    let header = usize::from(ip[0] & 0x0F) * 4;
    let total = usize::from(u16_at(ip, 2).ok_or(Skip::Malformed)?);
    if header < 20 || total < header || ip.len() < total {
        return Err(Skip::Malformed);
    }
    let fragment = u16_at(ip, 6).ok_or(Skip::Malformed)?;
    if fragment & 0x3FFF != 0 {
        return Err(Skip::IpFragment);
    }
    if ip[9] != 6 {
        return Err(Skip::NotTcp);
    }
    let addr = |at: usize| IpAddr::V4(Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]));
    // Ethernet pads short frames: the IP total length, not the capture, bounds the segment.
    tcp(addr(12), addr(16), &ip[header..total])
}

fn ipv6(ip: &[u8]) -> Result<Segment<'_>, Skip> {
    if ip.len() < 40 {
        return Err(Skip::Malformed);
    }
    let payload = usize::from(u16_at(ip, 4).ok_or(Skip::Malformed)?);
    let end = 40usize.checked_add(payload).filter(|e| *e <= ip.len());
    let end = end.ok_or(Skip::Malformed)?;
    let addr = |at: usize| {
        let octets: [u8; 16] = ip[at..at + 16].try_into().unwrap_or([0; 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let mut next = ip[6];
    let mut at = 40;
    // Hop-by-hop, routing and destination options headers: (next, length in 8 octets - 1).
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let ext_next = *ip.get(at).ok_or(Skip::Malformed)?;
                let len = (usize::from(*ip.get(at + 1).ok_or(Skip::Malformed)?) + 1) * 8;
                next = ext_next;
                at += len;
            }
            44 => return Err(Skip::IpFragment),
            _ => break,
        }
    }
    if next != 6 {
        return Err(Skip::NotTcp);
    }
    let body = ip.get(at..end).ok_or(Skip::Malformed)?;
    tcp(addr(8), addr(24), body)
}

fn tcp(src: IpAddr, dst: IpAddr, t: &[u8]) -> Result<Segment<'_>, Skip> {
    if t.len() < 20 {
        return Err(Skip::Malformed);
    }
    let offset = usize::from(t[12] >> 4) * 4;
    if offset < 20 || offset > t.len() {
        return Err(Skip::Malformed);
    }
    Ok(Segment {
        src: SocketAddr::new(src, u16::from_be_bytes([t[0], t[1]])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([t[2], t[3]])),
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
        flags: t[13],
        payload: &t[offset..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let total = 40 + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        p.extend([10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend([
            0x4E, 0x20, 0x30, 0x39, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x18, 0, 0,
        ]);
        p.extend([0; 4]);
        p.extend(payload);
        p
    }

    #[test]
    fn a_vlan_tagged_ethernet_frame_yields_its_tcp_segment() {
        let mut frame = vec![0; 12];
        frame.extend([0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        frame.extend(ipv4_tcp(b"abc"));
        frame.extend([0; 6]); // Ethernet padding, not payload.
        let s = tcp_segment(ETHERNET, &frame).unwrap();
        assert_eq!(s.src.to_string(), "10.0.0.1:20000");
        assert_eq!(s.dst.to_string(), "10.0.0.2:12345");
        assert_eq!((s.seq, s.payload), (7, &b"abc"[..]));
    }

    #[test]
    fn sll2_and_raw_ip_carry_the_same_segment() {
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0; 18]);
        sll2.extend(ipv4_tcp(b"x"));
        assert_eq!(tcp_segment(LINUX_SLL2, &sll2).unwrap().payload, b"x");
        assert_eq!(tcp_segment(RAW, &ipv4_tcp(b"x")).unwrap().payload, b"x");
    }

    #[test]
    fn an_ipv6_segment_after_a_destination_options_header_is_found() {
        let tcp = &ipv4_tcp(b"v6")[20..];
        let mut p = vec![0x60, 0, 0, 0];
        p.extend(((8 + tcp.len()) as u16).to_be_bytes());
        p.extend([60, 64]);
        p.extend([0; 15]);
        p.push(1); // ::1
        p.extend([0; 15]);
        p.push(2); // ::2
        p.extend([6, 0, 0, 0, 0, 0, 0, 0]); // options header, next: TCP
        p.extend(tcp);
        let s = tcp_segment(IPV6, &p).unwrap();
        assert_eq!(s.src.to_string(), "[::1]:20000");
        assert_eq!(s.payload, b"v6");
    }

    #[test]
    fn truncated_headers_are_malformed_not_a_panic() {
        let full = ipv4_tcp(b"abc");
        for n in 0..full.len() {
            assert!(tcp_segment(RAW, &full[..n]).is_err(), "{n} bytes");
        }
        assert_eq!(tcp_segment(999, &full).unwrap_err(), Skip::LinkType);
    }
}
