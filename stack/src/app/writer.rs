//! Formatting application fragments into a caller's buffer. Every write checks the room left
//! and reports [`WriteError::FragmentFull`] instead of overflowing, so a response can continue
//! in the next fragment. Nothing here allocates.

use super::{AppControl, FunctionCode, Iin};
use crate::objects::{encode_fields, DoubleBit, Layout, Point, Timestamp, Value, Variation};
use std::fmt;

/// Why a write did not happen. The fragment is left as it was before the call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// No room left for this header or object.
    FragmentFull,
    /// The value or index does not fit the variation or qualifier (e.g. an index above 255
    /// with qualifier 17, or an octet string of the wrong length).
    Invalid,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::FragmentFull => f.write_str("fragment full"),
            WriteError::Invalid => f.write_str("object does not fit the variation or qualifier"),
        }
    }
}

impl std::error::Error for WriteError {}

/// Writes one fragment into a borrowed buffer; the buffer's length is the fragment limit.
pub struct FragmentWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Debug for FragmentWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FragmentWriter")
            .field("len", &self.len)
            .finish()
    }
}

impl<'a> FragmentWriter<'a> {
    /// Starts a request: control and function.
    pub fn request(
        buf: &'a mut [u8],
        control: AppControl,
        function: FunctionCode,
    ) -> Result<Self, WriteError> {
        let mut w = FragmentWriter { buf, len: 0 };
        w.put(&[control.to_byte(), function.to_u8()])?;
        Ok(w)
    }

    /// Starts a response: control, function and IIN.
    pub fn response(
        buf: &'a mut [u8],
        control: AppControl,
        function: FunctionCode,
        iin: Iin,
    ) -> Result<Self, WriteError> {
        let mut w = FragmentWriter { buf, len: 0 };
        let [i1, i2] = iin.to_bytes();
        w.put(&[control.to_byte(), function.to_u8(), i1, i2])?;
        Ok(w)
    }

    /// The fragment written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written (never the case after a constructor).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Octets still free.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Rewrites the control byte (e.g. to set FIN or CON once the content is known).
    pub fn set_control(&mut self, control: AppControl) {
        if let Some(b) = self.buf.first_mut() {
            *b = control.to_byte();
        }
    }

    /// Rewrites the IIN of a response.
    pub fn set_iin(&mut self, iin: Iin) {
        if self.len >= 4 {
            self.buf[2..4].copy_from_slice(&iin.to_bytes());
        }
    }

    /// Appends raw bytes (e.g. an echoed object header), all or nothing.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let end = self.len + bytes.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(WriteError::FragmentFull)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn head(variation: Variation, qualifier: u8) -> [u8; 3] {
        let (g, v) = variation.numbers();
        [g, v, qualifier]
    }

    /// A header with qualifier 06 ("all"), as in class polls and READ of a whole type.
    pub fn all(&mut self, variation: Variation) -> Result<(), WriteError> {
        self.put(&Self::head(variation, 0x06))
    }

    /// A header with a count and no objects (07/08), as in READ with a maximum event count.
    pub fn count_only(&mut self, variation: Variation, count: u16) -> Result<(), WriteError> {
        if let Ok(c) = u8::try_from(count) {
            let [g, v, q] = Self::head(variation, 0x07);
            self.put(&[g, v, q, c])
        } else {
            let [g, v, q] = Self::head(variation, 0x08);
            let [a, b] = count.to_le_bytes();
            self.put(&[g, v, q, a, b])
        }
    }

    /// A header with a start/stop range and no objects (00/01), as in a READ of points.
    pub fn range_only(
        &mut self,
        variation: Variation,
        start: u16,
        stop: u16,
    ) -> Result<(), WriteError> {
        if stop < start {
            return Err(WriteError::Invalid);
        }
        match (u8::try_from(start), u8::try_from(stop)) {
            (Ok(a), Ok(b)) => {
                let [g, v, q] = Self::head(variation, 0x00);
                self.put(&[g, v, q, a, b])
            }
            _ => {
                let [g, v, q] = Self::head(variation, 0x01);
                let [a0, a1] = start.to_le_bytes();
                let [b0, b1] = stop.to_le_bytes();
                self.put(&[g, v, q, a0, a1, b0, b1])
            }
        }
    }

    /// Starts a ranged header (00 when `max_stop` ≤ 255, else 01) whose points follow
    /// consecutively from `start`; the stop index is patched in as points are pushed.
    pub fn ranged(
        &mut self,
        variation: Variation,
        start: u16,
        max_stop: u16,
    ) -> Result<HeaderWriter<'_, 'a>, WriteError> {
        if max_stop < start {
            return Err(WriteError::Invalid);
        }
        let header_at = self.len;
        let width = if max_stop <= 0xFF { 1 } else { 2 };
        if width == 1 {
            let [g, v, q] = Self::head(variation, 0x00);
            self.put(&[g, v, q, start as u8, start as u8])?;
        } else {
            let [g, v, q] = Self::head(variation, 0x01);
            let [a0, a1] = start.to_le_bytes();
            self.put(&[g, v, q, a0, a1, a0, a1])?;
        }
        Ok(HeaderWriter::new(
            self,
            variation,
            header_at,
            Kind::Ranged { start, width },
        ))
    }

    /// Starts an index-prefixed header: 17 (u8 count and indices) or 28 (u16), as used for
    /// events and controls.
    pub fn prefixed(
        &mut self,
        variation: Variation,
        wide: bool,
    ) -> Result<HeaderWriter<'_, 'a>, WriteError> {
        let header_at = self.len;
        if wide {
            let [g, v, q] = Self::head(variation, 0x28);
            self.put(&[g, v, q, 0, 0])?;
        } else {
            let [g, v, q] = Self::head(variation, 0x17);
            self.put(&[g, v, q, 0])?;
        }
        Ok(HeaderWriter::new(
            self,
            variation,
            header_at,
            Kind::Prefixed { wide },
        ))
    }

    /// Starts a counted header without indices (07), as used for time objects (g50, g51, g52).
    pub fn counted(&mut self, variation: Variation) -> Result<HeaderWriter<'_, 'a>, WriteError> {
        let header_at = self.len;
        let [g, v, q] = Self::head(variation, 0x07);
        self.put(&[g, v, q, 0])?;
        Ok(HeaderWriter::new(self, variation, header_at, Kind::Counted))
    }

    /// Writes a complete `07` header with one object, e.g. g50v1 time or g52v2 delay.
    pub fn single(&mut self, variation: Variation, point: &Point<'_>) -> Result<(), WriteError> {
        let mut h = self.counted(variation)?;
        h.push(point)?;
        h.finish();
        Ok(())
    }
}

#[derive(Copy, Clone, Debug)]
enum Kind {
    Ranged { start: u16, width: usize },
    Prefixed { wide: bool },
    Counted,
}

/// Writes the objects of one header; finishing (or dropping) patches the count or stop index,
/// and removes the header again if no object was written.
pub struct HeaderWriter<'w, 'a> {
    w: &'w mut FragmentWriter<'a>,
    variation: Variation,
    layout: Layout,
    size: usize,
    header_at: usize,
    kind: Kind,
    count: u32,
    cto: Option<Timestamp>,
    done: bool,
}

impl fmt::Debug for HeaderWriter<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderWriter")
            .field("variation", &self.variation)
            .field("count", &self.count)
            .finish()
    }
}

impl<'w, 'a> HeaderWriter<'w, 'a> {
    fn new(
        w: &'w mut FragmentWriter<'a>,
        variation: Variation,
        header_at: usize,
        kind: Kind,
    ) -> Self {
        HeaderWriter {
            w,
            variation,
            layout: variation.layout(),
            size: variation.fixed_size().unwrap_or(0),
            header_at,
            kind,
            count: 0,
            cto: None,
            done: false,
        }
    }

    /// Sets the CTO that relative-time objects of this header are written against.
    pub fn set_cto(&mut self, cto: Timestamp) {
        self.cto = Some(cto);
    }

    /// Objects written so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Appends one object; its index must follow on (ranged) or fit the prefix (prefixed).
    pub fn push(&mut self, point: &Point<'_>) -> Result<(), WriteError> {
        let max_count = match self.kind {
            Kind::Ranged { start, width } => {
                if point.index != u32::from(start) + self.count {
                    return Err(WriteError::Invalid);
                }
                if width == 1 {
                    0x100
                } else {
                    0x10000
                }
            }
            Kind::Prefixed { wide } => {
                let limit = if wide { 0xFFFF } else { 0xFF };
                if point.index > limit {
                    return Err(WriteError::Invalid);
                }
                limit
            }
            Kind::Counted => 0xFF,
        };
        if self.count >= max_count {
            return Err(WriteError::FragmentFull);
        }
        let layout = self.layout;
        if let Layout::Bits | Layout::DoubleBits = layout {
            return self.push_packed(layout, point);
        }
        let prefix = match self.kind {
            Kind::Prefixed { wide: true } => 2,
            Kind::Prefixed { wide: false } => 1,
            _ => 0,
        };
        let size = match (layout, point.value) {
            (Layout::Fields(_), _) => self.size,
            (Layout::Sized, Value::Bytes(b)) if b.len() == self.size => b.len(),
            _ => return Err(WriteError::Invalid),
        };
        let start = self.w.len;
        let end = start + prefix + size;
        let out = self
            .w
            .buf
            .get_mut(start..end)
            .ok_or(WriteError::FragmentFull)?;
        let idx = point.index.to_le_bytes();
        out[..prefix].copy_from_slice(&idx[..prefix]);
        match (layout, point.value) {
            (Layout::Fields(fields), _) => {
                encode_fields(fields, point, self.cto, &mut out[prefix..])
            }
            (_, Value::Bytes(b)) => out[prefix..].copy_from_slice(b),
            _ => {}
        }
        self.w.len = end;
        self.count += 1;
        Ok(())
    }

    fn push_packed(&mut self, layout: Layout, point: &Point<'_>) -> Result<(), WriteError> {
        if !matches!(self.kind, Kind::Ranged { .. }) {
            return Err(WriteError::Invalid);
        }
        let per_byte = if layout == Layout::Bits { 8 } else { 4 };
        let slot = self.count % per_byte;
        if slot == 0 {
            if self.w.remaining() == 0 {
                return Err(WriteError::FragmentFull);
            }
            self.w.buf[self.w.len] = 0;
            self.w.len += 1;
        }
        let bits = match (layout, point.value) {
            (Layout::Bits, Value::Bool(b)) => u8::from(b),
            (Layout::DoubleBits, Value::DoubleBit(d)) => d.to_bits(),
            (Layout::DoubleBits, _) => DoubleBit::Indeterminate.to_bits(),
            _ => 0,
        };
        let shift = if layout == Layout::Bits {
            slot
        } else {
            2 * slot
        };
        self.w.buf[self.w.len - 1] |= bits << shift;
        self.count += 1;
        Ok(())
    }

    /// Completes the header and returns how many objects it holds.
    pub fn finish(mut self) -> u32 {
        self.complete();
        self.count
    }

    fn complete(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if self.count == 0 {
            self.w.len = self.header_at;
            return;
        }
        let h = self.header_at + 3;
        let buf = &mut *self.w.buf;
        match self.kind {
            Kind::Ranged { start, width } => {
                let stop = u32::from(start) + self.count - 1;
                if width == 1 {
                    buf[h + 1] = stop as u8;
                } else {
                    buf[h + 2..h + 4].copy_from_slice(&(stop as u16).to_le_bytes());
                }
            }
            Kind::Prefixed { wide: true } => {
                buf[h..h + 2].copy_from_slice(&(self.count as u16).to_le_bytes())
            }
            Kind::Prefixed { wide: false } | Kind::Counted => buf[h] = self.count as u8,
        }
    }
}

impl Drop for HeaderWriter<'_, '_> {
    fn drop(&mut self) {
        self.complete();
    }
}
