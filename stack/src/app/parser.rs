//! Zero-copy parsing of application fragments: the fragment header, then object headers and
//! their points iterated straight out of the fragment's bytes (IEEE 1815-2012, clause 4).

use super::qualifier::{read_uint, split, Prefix, Range, RangeCode};
use super::{AppControl, FunctionCode, Iin};
use crate::objects::{
    decode_fields, Attribute, DoubleBit, Layout, Point, Timestamp, Value, Variation,
};
use std::fmt;

/// Kinds of application-layer parse error.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AppErrorKind {
    /// Shorter than the 2-byte request or 4-byte response header.
    TooShort,
    /// The function code is not defined.
    UnknownFunction,
    /// The group/variation is not in the object table.
    UnknownObject,
    /// The qualifier is reserved or not supported.
    BadQualifier,
    /// The qualifier is not valid for this object or function.
    QualifierForObject,
    /// A range with stop < start.
    BadRange,
    /// A count of zero.
    ZeroCount,
    /// The header, range or objects run past the end of the fragment.
    Truncated,
    /// A relative-time object without a preceding CTO in the fragment.
    MissingCto,
    /// A size prefix that does not match the object's size.
    SizeMismatch,
}

impl AppErrorKind {
    /// Upper-case name used in logs and the decoder output.
    pub fn name(self) -> &'static str {
        match self {
            AppErrorKind::TooShort => "TOO_SHORT",
            AppErrorKind::UnknownFunction => "UNKNOWN_FUNCTION",
            AppErrorKind::UnknownObject => "UNKNOWN_OBJECT",
            AppErrorKind::BadQualifier => "BAD_QUALIFIER",
            AppErrorKind::QualifierForObject => "QUALIFIER_FOR_OBJECT",
            AppErrorKind::BadRange => "BAD_RANGE",
            AppErrorKind::ZeroCount => "ZERO_COUNT",
            AppErrorKind::Truncated => "TRUNCATED",
            AppErrorKind::MissingCto => "MISSING_CTO",
            AppErrorKind::SizeMismatch => "SIZE_MISMATCH",
        }
    }

    /// The IIN bits an outstation answers this error with (IEEE 1815-2012, clause 4).
    pub fn iin(self) -> Iin {
        match self {
            AppErrorKind::UnknownObject => Iin::OBJECT_UNKNOWN,
            AppErrorKind::UnknownFunction => Iin::NO_FUNC_CODE_SUPPORT,
            _ => Iin::PARAMETER_ERROR,
        }
    }
}

/// An application-layer parse error with its byte offset in the fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AppError {
    /// What went wrong.
    pub kind: AppErrorKind,
    /// Offset in the fragment of the offending header or byte.
    pub offset: usize,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "application fragment error {} at offset {}",
            self.kind.name(),
            self.offset
        )
    }
}

impl std::error::Error for AppError {}

/// Whether object headers carry object data.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseMode {
    /// READ requests: headers only select points; index prefixes but no object data.
    Read,
    /// Every other fragment: objects follow their headers.
    Data,
}

/// A parsed fragment header; the objects are parsed lazily by [`Fragment::objects`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Application control.
    pub control: AppControl,
    /// Function code.
    pub function: FunctionCode,
    /// IIN, present on responses only.
    pub iin: Option<Iin>,
    /// The object bytes after the header.
    pub body: &'a [u8],
    header_len: usize,
}

impl<'a> Fragment<'a> {
    /// Parses the request or response header of `bytes` (responses are function 129..=131).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AppError> {
        let [control, function, ..] = *bytes else {
            return Err(AppError {
                kind: AppErrorKind::TooShort,
                offset: 0,
            });
        };
        let function = FunctionCode::from_u8(function).ok_or(AppError {
            kind: AppErrorKind::UnknownFunction,
            offset: 1,
        })?;
        let control = AppControl::from_byte(control);
        if function.is_response() {
            let [_, _, iin1, iin2, ..] = *bytes else {
                return Err(AppError {
                    kind: AppErrorKind::TooShort,
                    offset: bytes.len(),
                });
            };
            return Ok(Fragment {
                control,
                function,
                iin: Some(Iin::from_bytes(iin1, iin2)),
                body: &bytes[4..],
                header_len: 4,
            });
        }
        Ok(Fragment {
            control,
            function,
            iin: None,
            body: &bytes[2..],
            header_len: 2,
        })
    }

    /// The object headers of the body, parsed in the mode the function implies.
    pub fn objects(&self) -> ObjectParser<'a> {
        let mode = if self.function == FunctionCode::Read {
            ParseMode::Read
        } else {
            ParseMode::Data
        };
        ObjectParser::new(self.body, mode, self.header_len)
    }
}

/// Iterates the object headers of a fragment body. Stops after the first error.
#[derive(Clone, Debug)]
pub struct ObjectParser<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    mode: ParseMode,
    cto: Option<Timestamp>,
    failed: bool,
}

impl<'a> ObjectParser<'a> {
    /// A parser over `bytes`; `base` is their offset in the fragment (for error offsets).
    pub fn new(bytes: &'a [u8], mode: ParseMode, base: usize) -> Self {
        ObjectParser {
            bytes,
            pos: 0,
            base,
            mode,
            cto: None,
            failed: false,
        }
    }

    /// Validates every header; returns the first error.
    pub fn validate(self) -> Result<usize, AppError> {
        let mut n = 0;
        for h in self {
            h?;
            n += 1;
        }
        Ok(n)
    }

    /// The bytes not parsed yet: after an error, they start with the header that failed, so a
    /// caller can name its group and variation.
    pub fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    fn fail(
        &mut self,
        kind: AppErrorKind,
        at: usize,
    ) -> Option<Result<ObjectHeader<'a>, AppError>> {
        self.failed = true;
        Some(Err(AppError {
            kind,
            offset: self.base + at,
        }))
    }
}

impl<'a> Iterator for ObjectParser<'a> {
    type Item = Result<ObjectHeader<'a>, AppError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.bytes[start..];
        let [group, var, qualifier, ..] = *rest else {
            return self.fail(AppErrorKind::Truncated, start);
        };
        let Some(variation) = Variation::lookup(group, var) else {
            return self.fail(AppErrorKind::UnknownObject, start);
        };
        let Some((prefix, range_code)) = split(qualifier) else {
            return self.fail(AppErrorKind::BadQualifier, start + 2);
        };
        let range_bytes = &rest[3..];
        let w = range_code.width();
        if range_bytes.len() < w {
            return self.fail(AppErrorKind::Truncated, start + 3);
        }
        let range = match range_code {
            RangeCode::StartStop(n) => {
                let n = usize::from(n);
                let a = read_uint(range_bytes, n).unwrap_or(0);
                let b = read_uint(&range_bytes[n..], n).unwrap_or(0);
                if b < a {
                    return self.fail(AppErrorKind::BadRange, start + 3);
                }
                Range::StartStop { start: a, stop: b }
            }
            RangeCode::All => Range::All,
            RangeCode::Count(n) => {
                Range::Count(read_uint(range_bytes, usize::from(n)).unwrap_or(0))
            }
            RangeCode::FreeFormatCount => Range::Count(u32::from(range_bytes[0])),
        };
        if range == Range::Count(0) {
            return self.fail(AppErrorKind::ZeroCount, start + 3);
        }
        let data_start = 3 + w;
        let data = &rest[data_start..];
        let count = range.count().unwrap_or(0);
        let layout = variation.layout();
        if variation.needs_cto() && self.mode == ParseMode::Data && self.cto.is_none() {
            return self.fail(AppErrorKind::MissingCto, start);
        }
        let len = match measure(self.mode, layout, variation, prefix, range, count, data) {
            Ok(len) => len,
            Err(kind) => return self.fail(kind, start),
        };
        let header = ObjectHeader {
            variation,
            qualifier,
            range,
            prefix,
            count: count as u32,
            mode: self.mode,
            cto: self.cto,
            raw: &rest[..data_start + len],
            data_start,
            offset: self.base + start,
        };
        if variation.is_cto() && self.mode == ParseMode::Data {
            if let Some(p) = header.points().last() {
                self.cto = p.time;
            }
        }
        self.pos = start + data_start + len;
        Some(Ok(header))
    }
}

/// Bytes of object data (with prefixes) that follow a header, checked against `data`.
fn measure(
    mode: ParseMode,
    layout: Layout,
    variation: Variation,
    prefix: Prefix,
    range: Range,
    count: u64,
    data: &[u8],
) -> Result<usize, AppErrorKind> {
    let have = data.len() as u64;
    let fits = |need: u64| {
        if need <= have {
            Ok(need as usize)
        } else {
            Err(AppErrorKind::Truncated)
        }
    };
    if mode == ParseMode::Read || layout == Layout::NoData {
        return match prefix {
            Prefix::Size(_) => Err(AppErrorKind::QualifierForObject),
            _ => fits(count * prefix.width() as u64),
        };
    }
    if range == Range::All {
        return Err(AppErrorKind::QualifierForObject);
    }
    match layout {
        Layout::NoData => Ok(0),
        Layout::Bits | Layout::DoubleBits => {
            if prefix != Prefix::None {
                return Err(AppErrorKind::QualifierForObject);
            }
            let bits = if layout == Layout::Bits { 1 } else { 2 };
            fits((count * bits).div_ceil(8))
        }
        Layout::Fields(_) | Layout::Sized => {
            let size = variation.fixed_size().unwrap_or(0) as u64;
            match prefix {
                Prefix::None | Prefix::Index(_) => fits(count * (prefix.width() as u64 + size)),
                Prefix::Size(w) => walk(data, count, |obj| {
                    let s = read_uint(obj, usize::from(w))? as usize;
                    (s as u64 == size).then_some(usize::from(w) + s)
                }),
            }
        }
        Layout::FreeFormat => match prefix {
            Prefix::Size(w) => walk(data, count, |obj| {
                Some(usize::from(w) + read_uint(obj, usize::from(w))? as usize)
            }),
            _ => Err(AppErrorKind::QualifierForObject),
        },
        Layout::Attribute => {
            let w = prefix.width();
            if matches!(prefix, Prefix::Size(_)) {
                return Err(AppErrorKind::QualifierForObject);
            }
            walk(data, count, |obj| {
                Some(w + 2 + usize::from(*obj.get(w + 1)?))
            })
        }
    }
}

/// Walks `count` variable-size objects; `size_of` gives each one's size from its bytes.
fn walk(
    data: &[u8],
    count: u64,
    size_of: impl Fn(&[u8]) -> Option<usize>,
) -> Result<usize, AppErrorKind> {
    let mut pos = 0usize;
    for _ in 0..count {
        let obj = &data[pos.min(data.len())..];
        let size = size_of(obj).ok_or(AppErrorKind::Truncated)?;
        if size == 0 || size > obj.len() {
            return Err(if size == 0 {
                AppErrorKind::SizeMismatch
            } else {
                AppErrorKind::Truncated
            });
        }
        pos += size;
    }
    Ok(pos)
}

/// One object header with its objects, borrowed from the fragment.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ObjectHeader<'a> {
    /// The group/variation.
    pub variation: Variation,
    /// The qualifier byte as received.
    pub qualifier: u8,
    /// The range field.
    pub range: Range,
    /// The object prefix.
    pub prefix: Prefix,
    /// Objects in the header (0 for "all").
    pub count: u32,
    /// Offset of the header in the fragment.
    pub offset: usize,
    mode: ParseMode,
    cto: Option<Timestamp>,
    raw: &'a [u8],
    data_start: usize,
}

impl<'a> ObjectHeader<'a> {
    /// The header's bytes from the group byte to the end of its objects (for echoes and
    /// byte-for-byte comparison).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The objects present on the wire, decoded one by one on demand. A header without
    /// object data (READ requests, variation 0, class headers) yields only its index
    /// prefixes, if any: the indices of a start/stop range are in [`ObjectHeader::range`],
    /// so a hostile range of 2³² indices costs nothing to parse.
    pub fn points(&self) -> Points<'a> {
        let no_data = self.mode == ParseMode::Read || self.variation.layout() == Layout::NoData;
        let on_wire = match self.range {
            Range::All => 0,
            _ if no_data && self.prefix == Prefix::None => 0,
            _ => self.count,
        };
        Points {
            layout: self.variation.layout(),
            size: self.variation.fixed_size().unwrap_or(0),
            prefix: self.prefix,
            range: self.range,
            mode: self.mode,
            cto: self.cto,
            data: &self.raw[self.data_start..],
            pos: 0,
            i: 0,
            n: on_wire,
        }
    }
}

/// Iterator over the points of one header; never allocates.
#[derive(Clone, Debug)]
pub struct Points<'a> {
    layout: Layout,
    size: usize,
    prefix: Prefix,
    range: Range,
    mode: ParseMode,
    cto: Option<Timestamp>,
    data: &'a [u8],
    pos: usize,
    i: u32,
    n: u32,
}

impl<'a> Points<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }
}

impl<'a> Iterator for Points<'a> {
    type Item = Point<'a>;

    fn next(&mut self) -> Option<Point<'a>> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        self.i += 1;
        let mut size = None;
        let index = match self.prefix {
            Prefix::Index(w) => read_uint(self.take(usize::from(w))?, usize::from(w))?,
            Prefix::Size(w) => {
                size = Some(read_uint(self.take(usize::from(w))?, usize::from(w))? as usize);
                i
            }
            Prefix::None => match self.range {
                Range::StartStop { start, .. } => start.wrapping_add(i),
                _ => i,
            },
        };
        let layout = self.layout;
        if self.mode == ParseMode::Read || layout == Layout::NoData {
            return Some(Point::new(index, Value::None));
        }
        let value = match layout {
            Layout::Bits => {
                let byte = *self.data.get((i / 8) as usize)?;
                Value::Bool(byte >> (i % 8) & 1 != 0)
            }
            Layout::DoubleBits => {
                let byte = *self.data.get((i / 4) as usize)?;
                Value::DoubleBit(DoubleBit::from_bits(byte >> (2 * (i % 4))))
            }
            Layout::Fields(fields) => {
                return Some(decode_fields(
                    fields,
                    self.take(self.size)?,
                    index,
                    self.cto,
                ));
            }
            Layout::Sized => Value::Bytes(self.take(self.size)?),
            Layout::FreeFormat => Value::Bytes(self.take(size?)?),
            Layout::Attribute => {
                let [t, len] = *self.take(2)? else {
                    return None;
                };
                Value::Attribute(Attribute {
                    data_type: t,
                    data: self.take(usize::from(len))?,
                })
            }
            Layout::NoData => Value::None,
        };
        Some(Point::new(index, value))
    }
}
