//! Capture files: pcap (either byte order, microsecond or nanosecond timestamps) and pcapng
//! (section header, interface description, enhanced and simple packet blocks), recognised by
//! their magic numbers and read into packets with their link type and capture time.

use std::fmt;

/// What an input file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A classic pcap file.
    Pcap,
    /// A pcapng file.
    PcapNg,
    /// Anything else: read as a hex dump.
    Hex,
}

const PCAP_MICROS: u32 = 0xA1B2_C3D4;
const PCAP_NANOS: u32 = 0xA1B2_3C4D;
const PCAPNG_SECTION: u32 = 0x0A0D_0D0A;
const PCAPNG_BYTE_ORDER: u32 = 0x1A2B_3C4D;

/// Recognises the format by its magic number.
pub fn detect(bytes: &[u8]) -> Format {
    let Some(magic) = bytes.get(..4) else {
        return Format::Hex;
    };
    let le = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
    let be = u32::from_be_bytes([magic[0], magic[1], magic[2], magic[3]]);
    if [le, be]
        .iter()
        .any(|m| *m == PCAP_MICROS || *m == PCAP_NANOS)
    {
        Format::Pcap
    } else if le == PCAPNG_SECTION {
        Format::PcapNg
    } else {
        Format::Hex
    }
}

/// A capture time: whole seconds since 1970 UTC and a fraction written with the digits the
/// capture's resolution has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    secs: u64,
    fraction: u64,
    digits: u8,
}

impl Timestamp {
    /// `units` ticks of 10^-`digits` s (at most 19 digits).
    fn decimal(units: u64, digits: u8) -> Self {
        let per_sec = 10u64.pow(u32::from(digits.min(19)));
        Timestamp {
            secs: units / per_sec,
            fraction: units % per_sec,
            digits,
        }
    }

    /// `units` ticks of 2^-`bits` s, to nanoseconds.
    fn binary(units: u64, bits: u8) -> Self {
        let bits = u32::from(bits.min(63));
        let secs = units >> bits;
        let rest = u128::from(units & ((1u64 << bits) - 1));
        let nanos = (rest * 1_000_000_000) >> bits;
        Timestamp {
            secs,
            fraction: nanos as u64,
            digits: 9,
        }
    }
}

impl fmt::Display for Timestamp {
    /// As a JSON number: `SECONDS.FRACTION` (always with a fractional part).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits == 0 {
            write!(f, "{}.0", self.secs)
        } else {
            let width = usize::from(self.digits);
            write!(f, "{}.{:0width$}", self.secs, self.fraction)
        }
    }
}

/// One captured packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The link type of its interface (LINKTYPE_* numbers of the pcap specifications).
    pub link_type: u32,
    /// When it was captured; `None` for pcapng simple packet blocks, which carry no time.
    pub ts: Option<Timestamp>,
    /// The captured bytes, from the link-layer header on.
    pub data: &'a [u8],
}

/// Why reading a capture stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureError {
    /// `TRUNCATED`, `BAD_BLOCK_LENGTH`, `NO_SECTION_HEADER`, `BAD_INTERFACE`.
    pub kind: &'static str,
    /// File offset of the record or block.
    pub offset: usize,
}

/// Little- or big-endian field reads from a file whose byte order its header gives.
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }
}

/// Calls `packet` for each packet of a pcap file in file order.
pub fn read_pcap(bytes: &[u8], mut packet: impl FnMut(Packet<'_>)) -> Result<(), CaptureError> {
    let truncated = |offset| CaptureError {
        kind: "TRUNCATED",
        offset,
    };
    let le = Order { big: false };
    let magic = le.u32(bytes, 0).ok_or(truncated(0))?;
    let order = Order {
        big: magic != PCAP_MICROS && magic != PCAP_NANOS,
    };
    let nanos = order.u32(bytes, 0) == Some(PCAP_NANOS);
    if bytes.len() < 24 {
        return Err(truncated(0));
    }
    let link_type = order.u32(bytes, 20).ok_or(truncated(0))? & 0xFFFF;
    let mut at = 24;
    while at < bytes.len() {
        let header = (|| {
            Some((
                order.u32(bytes, at)?,
                order.u32(bytes, at + 4)?,
                order.u32(bytes, at + 8)? as usize,
            ))
        })();
        let (secs, frac, len) = header.ok_or(truncated(at))?;
        let start = at + 16;
        let data = bytes
            .get(start..start.saturating_add(len))
            .ok_or(truncated(at))?;
        let ts = if nanos {
            Timestamp::decimal(u64::from(secs) * 1_000_000_000 + u64::from(frac), 9)
        } else {
            Timestamp::decimal(u64::from(secs) * 1_000_000 + u64::from(frac), 6)
        };
        packet(Packet {
            link_type,
            ts: Some(ts),
            data,
        });
        at = start + len;
    }
    Ok(())
}

/// A pcapng interface: its link type and timestamp resolution.
#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    /// `if_tsresol`: bit 7 clear, 10^-n s; set, 2^-n s. Default 6 (microseconds).
    resolution: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_secs: u64,
}

/// At most this many interfaces per section (hostile input: the table is bounded).
const MAX_INTERFACES: usize = 1024;

/// Calls `packet` for each packet of a pcapng file in file order.
pub fn read_pcapng(bytes: &[u8], mut packet: impl FnMut(Packet<'_>)) -> Result<(), CaptureError> {
    let mut order = Order { big: false };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut in_section = false;
    let mut at = 0;
    while at < bytes.len() {
        let error = |kind| CaptureError { kind, offset: at };
        // The section header's type reads the same in both byte orders.
        let block_type = order.u32(bytes, at).ok_or(error("TRUNCATED"))?;
        if block_type == PCAPNG_SECTION {
            // The byte-order magic sets the order of this whole section.
            let magic = Order { big: false }
                .u32(bytes, at + 8)
                .ok_or(error("TRUNCATED"))?;
            order = Order {
                big: magic != PCAPNG_BYTE_ORDER,
            };
            interfaces.clear();
            in_section = true;
        } else if !in_section {
            return Err(error("NO_SECTION_HEADER"));
        }
        let len = order.u32(bytes, at + 4).ok_or(error("TRUNCATED"))? as usize;
        if len < 12 || len % 4 != 0 {
            return Err(error("BAD_BLOCK_LENGTH"));
        }
        let block = bytes
            .get(at..at.saturating_add(len))
            .ok_or(error("TRUNCATED"))?;
        let body = &block[8..len - 4];
        match block_type {
            1 => {
                if interfaces.len() >= MAX_INTERFACES {
                    return Err(error("BAD_INTERFACE"));
                }
                interfaces.push(interface(order, body).ok_or(error("BAD_INTERFACE"))?);
            }
            6 => {
                let fields = (|| {
                    Some((
                        order.u32(body, 0)? as usize,
                        order.u32(body, 4)?,
                        order.u32(body, 8)?,
                        order.u32(body, 12)? as usize,
                    ))
                })();
                let (id, high, low, captured) = fields.ok_or(error("TRUNCATED"))?;
                let iface = *interfaces.get(id).ok_or(error("BAD_INTERFACE"))?;
                let data = body
                    .get(20..20usize.saturating_add(captured))
                    .ok_or(error("TRUNCATED"))?;
                let units = (u64::from(high) << 32) | u64::from(low);
                packet(Packet {
                    link_type: iface.link_type,
                    ts: Some(timestamp(iface, units)),
                    data,
                });
            }
            3 => {
                let iface = *interfaces.first().ok_or(error("BAD_INTERFACE"))?;
                let original = order.u32(body, 0).ok_or(error("TRUNCATED"))? as usize;
                let data = &body[4..];
                packet(Packet {
                    link_type: iface.link_type,
                    ts: None,
                    data: &data[..original.min(data.len())],
                });
            }
            _ => {}
        }
        at += len;
    }
    Ok(())
}

fn interface(order: Order, body: &[u8]) -> Option<Interface> {
    let mut iface = Interface {
        link_type: u32::from(order.u16(body, 0)?),
        resolution: 6,
        offset_secs: 0,
    };
    let mut at = 8;
    while at + 4 <= body.len() {
        let code = order.u16(body, at)?;
        let len = usize::from(order.u16(body, at + 2)?);
        let value = body.get(at + 4..at + 4 + len)?;
        match code {
            0 => break,
            9 if len == 1 => iface.resolution = value[0],
            14 if len == 8 => {
                let high = u64::from(order.u32(value, 0)?);
                let low = u64::from(order.u32(value, 4)?);
                // The offset is signed; a negative one (before 1970) is ignored.
                iface.offset_secs = u64::try_from(((high << 32) | low) as i64).unwrap_or(0);
            }
            _ => {}
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(iface)
}

fn timestamp(iface: Interface, units: u64) -> Timestamp {
    let mut ts = if iface.resolution & 0x80 == 0 {
        Timestamp::decimal(units, iface.resolution.min(19))
    } else {
        Timestamp::binary(units, iface.resolution & 0x7F)
    };
    ts.secs = ts.secs.saturating_add(iface.offset_secs);
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_the_digits_of_their_resolution() {
        assert_eq!(Timestamp::decimal(1_500_000, 6).to_string(), "1.500000");
        assert_eq!(Timestamp::decimal(42, 0).to_string(), "42.0");
        assert_eq!(Timestamp::binary(3 << 9, 10).to_string(), "1.500000000");
    }

    #[test]
    fn magic_numbers_tell_the_formats_apart() {
        assert_eq!(detect(&[0xD4, 0xC3, 0xB2, 0xA1]), Format::Pcap);
        assert_eq!(detect(&[0xA1, 0xB2, 0x3C, 0x4D]), Format::Pcap);
        assert_eq!(detect(&[0x0A, 0x0D, 0x0D, 0x0A]), Format::PcapNg);
        assert_eq!(detect(b"05 64"), Format::Hex);
    }

    #[test]
    fn a_truncated_record_stops_reading_with_its_offset() {
        let mut file = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0];
        file.extend([0; 12]);
        file.extend(1u32.to_le_bytes());
        file.extend([0; 8]);
        file.extend(100u32.to_le_bytes());
        file.extend(100u32.to_le_bytes());
        file.extend([0; 10]);
        let mut n = 0;
        let err = read_pcap(&file, |_| n += 1).unwrap_err();
        assert_eq!((err.kind, err.offset, n), ("TRUNCATED", 24, 0));
    }

    #[test]
    fn a_pcapng_block_length_that_is_not_a_multiple_of_four_is_refused() {
        let mut file = PCAPNG_SECTION.to_le_bytes().to_vec();
        file.extend(13u32.to_le_bytes());
        file.extend(PCAPNG_BYTE_ORDER.to_le_bytes());
        file.extend([0; 8]);
        assert_eq!(
            read_pcapng(&file, |_| {}).unwrap_err().kind,
            "BAD_BLOCK_LENGTH"
        );
    }
}
