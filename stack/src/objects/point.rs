//! One decoded object ("point"): index, flags, value, time and status, plus the field codec
//! that turns a table layout into bytes and back.

use super::types::{ControlCode, Crob, DoubleBit, Timestamp};

/// One field of a fixed-size object layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// A flags byte only.
    Flags,
    /// A flags byte whose bit 7 is the binary state.
    BinaryFlags,
    /// A flags byte whose bits 7..6 are the double-bit state.
    DoubleBitFlags,
    /// g13: bit 7 the commanded state, bits 6..0 the command status.
    CommandEventFlags,
    /// Unsigned 8-bit value.
    U8,
    /// Unsigned 16-bit value.
    U16,
    /// Unsigned 32-bit value.
    U32,
    /// Signed 16-bit value.
    I16,
    /// Signed 32-bit value.
    I32,
    /// Single-precision float.
    F32,
    /// Double-precision float.
    F64,
    /// Absolute DNP3 time (6 bytes).
    Time48,
    /// Relative time (2 bytes) added to the fragment's last CTO.
    Time16,
    /// Command status byte.
    Status,
    /// CROB body: code, count, on-time, off-time (10 bytes).
    CrobBody,
    /// Interval u32 and units u8 (g50v4).
    IntervalUnits,
    /// Association id u16 and count u32 (g121, g122).
    SecurityStatistic,
}

impl Field {
    /// Size on the wire.
    pub const fn size(self) -> usize {
        match self {
            Field::Flags
            | Field::BinaryFlags
            | Field::DoubleBitFlags
            | Field::CommandEventFlags
            | Field::U8
            | Field::Status => 1,
            Field::U16 | Field::I16 | Field::Time16 => 2,
            Field::U32 | Field::I32 | Field::F32 => 4,
            Field::IntervalUnits => 5,
            Field::Time48 | Field::SecurityStatistic => 6,
            Field::F64 => 8,
            Field::CrobBody => 10,
        }
    }
}

/// A device attribute value (g0): its type code and raw bytes (IEEE 1815-2012, Annex A).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Attribute<'a> {
    /// Data type: 1 VSTR, 2 UINT, 3 INT, 4 FLT, 5 OSTR, 6 BSTR, 7 time, 254/255 lists.
    pub data_type: u8,
    /// The value bytes.
    pub data: &'a [u8],
}

impl Attribute<'_> {
    /// The value as an unsigned integer (type 2 with length 1, 2 or 4).
    pub fn as_unsigned(&self) -> Option<u32> {
        match (self.data_type, self.data) {
            (2, [a]) => Some(u32::from(*a)),
            (2, [a, b]) => Some(u32::from(u16::from_le_bytes([*a, *b]))),
            (2, [a, b, c, d]) => Some(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// The value as a signed integer (type 3 with length 1, 2 or 4).
    pub fn as_signed(&self) -> Option<i32> {
        match (self.data_type, self.data) {
            (3, [a]) => Some(i32::from(*a as i8)),
            (3, [a, b]) => Some(i32::from(i16::from_le_bytes([*a, *b]))),
            (3, [a, b, c, d]) => Some(i32::from_le_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// The value as a float (type 4 with length 4 or 8).
    pub fn as_float(&self) -> Option<f64> {
        match (self.data_type, self.data) {
            (4, [a, b, c, d]) => Some(f64::from(f32::from_le_bytes([*a, *b, *c, *d]))),
            (4, d) if d.len() == 8 => {
                let mut w = [0u8; 8];
                w.copy_from_slice(d);
                Some(f64::from_le_bytes(w))
            }
            _ => None,
        }
    }

    /// The value as text (type 1, visible string), when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        if self.data_type == 1 {
            std::str::from_utf8(self.data).ok()
        } else {
            None
        }
    }
}

/// The value carried by an object.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// No value (index-only READ entries, class headers).
    None,
    /// A binary state.
    Bool(bool),
    /// A double-bit state.
    DoubleBit(DoubleBit),
    /// An unsigned integer (u8, u16, u32 fields).
    Unsigned(u32),
    /// A signed integer (i16, i32 fields).
    Signed(i32),
    /// A float (f32 fields widen exactly; f64 fields as they are).
    Float(f64),
    /// A CROB body.
    Crob(Crob),
    /// A g50v4 interval with its units.
    Interval {
        /// Interval count.
        interval: u32,
        /// Units code (IEEE 1815-2012, Annex A).
        units: u8,
    },
    /// A security statistic (g121, g122): the association it counts for and its count.
    SecurityStatistic {
        /// Association id.
        association: u16,
        /// The statistic's count.
        value: u32,
    },
    /// Raw bytes: octet strings and free-format objects.
    Bytes(&'a [u8]),
    /// A device attribute.
    Attribute(Attribute<'a>),
}

impl Value<'_> {
    /// The value as f64 where it is numeric (booleans as 0/1).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            Value::Unsigned(u) => Some(f64::from(u)),
            Value::Signed(i) => Some(f64::from(i)),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The value as i64 where it is numeric (floats rounded, saturating).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Bool(b) => Some(i64::from(b)),
            Value::Unsigned(u) => Some(i64::from(u)),
            Value::Signed(i) => Some(i64::from(i)),
            Value::Float(f) => Some(f.round() as i64),
            _ => None,
        }
    }
}

/// One object of a header, with what its variation carries.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Point<'a> {
    /// Point index: from the prefix, the range, or the position in a count header.
    pub index: u32,
    /// The flags byte, where the variation has one.
    pub flags: Option<u8>,
    /// The value.
    pub value: Value<'a>,
    /// Absolute time (relative times already resolved against the CTO).
    pub time: Option<Timestamp>,
    /// Command status, where the variation has one.
    pub status: Option<u8>,
}

impl<'a> Point<'a> {
    /// A point with only an index and a value.
    pub fn new(index: u32, value: Value<'a>) -> Self {
        Point {
            index,
            flags: None,
            value,
            time: None,
            status: None,
        }
    }

    /// Sets the flags.
    pub fn with_flags(mut self, flags: u8) -> Self {
        self.flags = Some(flags);
        self
    }

    /// Sets the time.
    pub fn with_time(mut self, time: Timestamp) -> Self {
        self.time = Some(time);
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u8) -> Self {
        self.status = Some(status);
        self
    }
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = b.len().min(N);
    a[..n].copy_from_slice(&b[..n]);
    a
}

/// Decodes one fixed-layout object from `bytes` (which hold at least the layout's size).
/// `cto` resolves relative times; without it they decode as `None`.
pub(crate) fn decode_fields<'a>(
    fields: &[Field],
    bytes: &[u8],
    index: u32,
    cto: Option<Timestamp>,
) -> Point<'a> {
    let mut p = Point::new(index, Value::None);
    let mut pos = 0;
    for &field in fields {
        let b = bytes.get(pos..pos + field.size()).unwrap_or(&[]);
        pos += field.size();
        match field {
            Field::Flags => p.flags = Some(array::<1>(b)[0]),
            Field::BinaryFlags => {
                let f = array::<1>(b)[0];
                p.flags = Some(f);
                p.value = Value::Bool(f & 0x80 != 0);
            }
            Field::DoubleBitFlags => {
                let f = array::<1>(b)[0];
                p.flags = Some(f);
                p.value = Value::DoubleBit(DoubleBit::from_bits(f >> 6));
            }
            Field::CommandEventFlags => {
                let f = array::<1>(b)[0];
                p.value = Value::Bool(f & 0x80 != 0);
                p.status = Some(f & 0x7F);
            }
            Field::U8 => p.value = Value::Unsigned(u32::from(array::<1>(b)[0])),
            Field::U16 => p.value = Value::Unsigned(u32::from(u16::from_le_bytes(array(b)))),
            Field::U32 => p.value = Value::Unsigned(u32::from_le_bytes(array(b))),
            Field::I16 => p.value = Value::Signed(i32::from(i16::from_le_bytes(array(b)))),
            Field::I32 => p.value = Value::Signed(i32::from_le_bytes(array(b))),
            Field::F32 => p.value = Value::Float(f64::from(f32::from_le_bytes(array(b)))),
            Field::F64 => p.value = Value::Float(f64::from_le_bytes(array(b))),
            Field::Time48 => p.time = Some(Timestamp::from_le_bytes(array(b))),
            Field::Time16 => {
                let rel = u64::from(u16::from_le_bytes(array(b)));
                p.time = cto.map(|t| Timestamp(t.0.wrapping_add(rel) & Timestamp::MAX.0));
            }
            Field::Status => p.status = Some(array::<1>(b)[0]),
            Field::CrobBody => {
                let a = array::<10>(b);
                p.value = Value::Crob(Crob {
                    code: ControlCode(a[0]),
                    count: a[1],
                    on_time: u32::from_le_bytes([a[2], a[3], a[4], a[5]]),
                    off_time: u32::from_le_bytes([a[6], a[7], a[8], a[9]]),
                });
            }
            Field::IntervalUnits => {
                let a = array::<5>(b);
                p.value = Value::Interval {
                    interval: u32::from_le_bytes([a[0], a[1], a[2], a[3]]),
                    units: a[4],
                };
            }
            Field::SecurityStatistic => {
                let a = array::<6>(b);
                p.value = Value::SecurityStatistic {
                    association: u16::from_le_bytes([a[0], a[1]]),
                    value: u32::from_le_bytes([a[2], a[3], a[4], a[5]]),
                };
            }
        }
    }
    p
}

fn saturate(v: &Value<'_>, min: i64, max: i64) -> i64 {
    v.as_i64().unwrap_or(0).clamp(min, max)
}

/// Encodes one fixed-layout object into `out` (exactly the layout's size). Values are
/// converted to the field types, saturating; missing flags, times and statuses encode as 0.
/// For relative times, `cto` is subtracted (saturating to the 16-bit range).
pub(crate) fn encode_fields(
    fields: &[Field],
    p: &Point<'_>,
    cto: Option<Timestamp>,
    out: &mut [u8],
) {
    let mut pos = 0;
    let flags = p.flags.unwrap_or(0);
    let status = p.status.unwrap_or(0);
    let time = p.time.unwrap_or_default();
    for &field in fields {
        let n = field.size();
        let Some(o) = out.get_mut(pos..pos + n) else {
            return;
        };
        pos += n;
        match field {
            Field::Flags => o[0] = flags,
            Field::BinaryFlags => {
                let state = matches!(p.value, Value::Bool(true));
                o[0] = (flags & 0x7F) | (u8::from(state) << 7);
            }
            Field::DoubleBitFlags => {
                let bits = match p.value {
                    Value::DoubleBit(d) => d.to_bits(),
                    _ => (flags >> 6) & 3,
                };
                o[0] = (flags & 0x3F) | (bits << 6);
            }
            Field::CommandEventFlags => {
                let state = matches!(p.value, Value::Bool(true));
                o[0] = (status & 0x7F) | (u8::from(state) << 7);
            }
            Field::U8 => o[0] = saturate(&p.value, 0, 0xFF) as u8,
            Field::U16 => o.copy_from_slice(&(saturate(&p.value, 0, 0xFFFF) as u16).to_le_bytes()),
            Field::U32 => {
                o.copy_from_slice(&(saturate(&p.value, 0, u32::MAX.into()) as u32).to_le_bytes())
            }
            Field::I16 => o.copy_from_slice(
                &(saturate(&p.value, i16::MIN.into(), i16::MAX.into()) as i16).to_le_bytes(),
            ),
            Field::I32 => o.copy_from_slice(
                &(saturate(&p.value, i32::MIN.into(), i32::MAX.into()) as i32).to_le_bytes(),
            ),
            Field::F32 => {
                o.copy_from_slice(&(p.value.as_f64().unwrap_or(0.0) as f32).to_le_bytes())
            }
            Field::F64 => o.copy_from_slice(&p.value.as_f64().unwrap_or(0.0).to_le_bytes()),
            Field::Time48 => o.copy_from_slice(&time.to_le_bytes()),
            Field::Time16 => {
                let rel = time.0.saturating_sub(cto.unwrap_or_default().0).min(0xFFFF) as u16;
                o.copy_from_slice(&rel.to_le_bytes());
            }
            Field::Status => o[0] = status,
            Field::CrobBody => {
                let c = match p.value {
                    Value::Crob(c) => c,
                    _ => Crob {
                        code: ControlCode(0),
                        count: 0,
                        on_time: 0,
                        off_time: 0,
                    },
                };
                o[0] = c.code.0;
                o[1] = c.count;
                o[2..6].copy_from_slice(&c.on_time.to_le_bytes());
                o[6..10].copy_from_slice(&c.off_time.to_le_bytes());
            }
            Field::IntervalUnits => {
                let (interval, units) = match p.value {
                    Value::Interval { interval, units } => (interval, units),
                    _ => (0, 0),
                };
                o[..4].copy_from_slice(&interval.to_le_bytes());
                o[4] = units;
            }
            Field::SecurityStatistic => {
                let (association, value) = match p.value {
                    Value::SecurityStatistic { association, value } => (association, value),
                    _ => (0, saturate(&p.value, 0, u32::MAX.into()) as u32),
                };
                o[..2].copy_from_slice(&association.to_le_bytes());
                o[2..].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}
