//! Requests for the master functions beyond reads, commands, time synchronisation and restarts:
//! freezes, unsolicited enable/disable on demand, ASSIGN_CLASS, WRITEs (deadbands, time and
//! interval, IIN bits), device attribute reads and generic requests of any function code.
//! Each request is a function code plus pre-encoded object headers ([`ObjectHeaders`]), run
//! by the one generic task of `tasks/function.rs` (IEEE 1815-2012, clause 4 and Annex A).

use crate::app::{AppControl, FragmentWriter, FunctionCode, WriteError};
use crate::objects::{Classes, EventClass, Point, Timestamp, Value, Variation};

/// The most object bytes one request carries: the largest fragment the stack writes less the
/// request header, so that building a request never grows without bound.
pub const MAX_OBJECT_BYTES: usize = 2046;

/// The object headers (and objects) of a request, encoded once when the request is built.
/// Bounded by [`MAX_OBJECT_BYTES`]; a header that does not fit is refused with
/// [`WriteError::FragmentFull`] and leaves the headers unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectHeaders {
    bytes: Vec<u8>,
}

impl ObjectHeaders {
    /// No headers (e.g. a COLD_RESTART or a DELAY_MEASURE).
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded headers.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends headers already encoded by the caller (checked by the outstation, not here).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<&mut Self, WriteError> {
        self.edit(|w| w.put(bytes))
    }

    /// Appends a header for every point of a variation (qualifier 06).
    pub fn all(&mut self, variation: Variation) -> Result<&mut Self, WriteError> {
        self.edit(|w| w.all(variation))
    }

    /// Appends a header for points `start..=stop` of a variation, without objects (00/01).
    pub fn range(
        &mut self,
        variation: Variation,
        start: u16,
        stop: u16,
    ) -> Result<&mut Self, WriteError> {
        self.edit(|w| w.range_only(variation, start, stop))
    }

    /// Appends a header addressing `points` of a variation (06, or 00/01 for a range).
    pub fn points(
        &mut self,
        variation: Variation,
        points: PointRange,
    ) -> Result<&mut Self, WriteError> {
        match points {
            PointRange::All => self.all(variation),
            PointRange::Range { start, stop } => self.range(variation, start, stop),
        }
    }

    /// Appends one object in a count header (qualifier 07, count 1), as time objects go.
    pub fn single(
        &mut self,
        variation: Variation,
        point: &Point<'_>,
    ) -> Result<&mut Self, WriteError> {
        self.edit(|w| w.single(variation, point))
    }

    /// Appends index-prefixed headers (qualifier 17, or 28 past index 255), one per run of
    /// equal variations.
    pub fn prefixed<'p>(
        &mut self,
        objects: impl IntoIterator<Item = (Variation, Point<'p>)>,
    ) -> Result<&mut Self, WriteError> {
        let objects: Vec<(Variation, Point<'p>)> = objects.into_iter().collect();
        self.edit(|w| {
            let mut rest = &objects[..];
            while let Some((variation, _)) = rest.first() {
                let run = rest.iter().take_while(|(v, _)| v == variation).count();
                let wide = rest[..run].iter().any(|(_, p)| p.index > 0xFF);
                let mut h = w.prefixed(*variation, wide)?;
                for (_, p) in &rest[..run] {
                    h.push(p)?;
                }
                h.finish();
                rest = &rest[run..];
            }
            Ok(())
        })
    }

    /// Runs `f` on a writer holding the current headers; keeps its result only when it worked.
    fn edit(
        &mut self,
        f: impl FnOnce(&mut FragmentWriter<'_>) -> Result<(), WriteError>,
    ) -> Result<&mut Self, WriteError> {
        let mut buf = vec![0u8; MAX_OBJECT_BYTES + 2];
        let mut w = FragmentWriter::request(&mut buf, AppControl::single(0), FunctionCode::Read)?;
        w.put(&self.bytes)?;
        f(&mut w)?;
        let len = w.len();
        buf.truncate(len);
        buf.drain(..2);
        self.bytes = buf;
        Ok(self)
    }
}

/// Which points of a type a request addresses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum PointRange {
    /// Every point (qualifier 06).
    All,
    /// PointRange `start..=stop` (qualifier 00, or 01 past index 255).
    Range {
        /// First index.
        start: u16,
        /// Last index.
        stop: u16,
    },
}

/// What a freeze request does to the counters it addresses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FreezeKind {
    /// IMMED_FREEZE: copy the counters into their frozen counters now.
    Immediate,
    /// FREEZE_CLEAR: freeze, then clear the counters.
    Clear,
    /// FREEZE_AT_TIME: freeze at `time`, then every `interval_ms` milliseconds (0: once),
    /// sent as a g50v2 time-and-interval object.
    AtTime {
        /// When to freeze first.
        time: Timestamp,
        /// The period of further freezes, in milliseconds; 0 freezes once.
        interval_ms: u32,
    },
}

/// A freeze of counters (IEEE 1815-2012, clause 4): which kind, which counters, and whether
/// the outstation answers (the `_NR` forms complete once sent).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FreezeRequest {
    /// What the freeze does.
    pub kind: FreezeKind,
    /// The counters addressed (as g20v0).
    pub points: PointRange,
    /// False for the no-response form (IMMED_FREEZE_NR, FREEZE_CLEAR_NR, FREEZE_AT_TIME_NR).
    pub ack: bool,
}

impl FreezeRequest {
    /// A freeze of `kind` on every counter, answered by the outstation.
    pub fn all(kind: FreezeKind) -> Self {
        FreezeRequest {
            kind,
            points: PointRange::All,
            ack: true,
        }
    }

    /// A freeze of `kind` on counters `start..=stop`, answered by the outstation.
    pub fn range(kind: FreezeKind, start: u16, stop: u16) -> Self {
        FreezeRequest {
            kind,
            points: PointRange::Range { start, stop },
            ack: true,
        }
    }

    /// The same freeze in its no-response form.
    pub fn without_ack(self) -> Self {
        FreezeRequest { ack: false, ..self }
    }

    /// The function code this freeze is sent with.
    pub fn function(&self) -> FunctionCode {
        match (self.kind, self.ack) {
            (FreezeKind::Immediate, true) => FunctionCode::ImmedFreeze,
            (FreezeKind::Immediate, false) => FunctionCode::ImmedFreezeNr,
            (FreezeKind::Clear, true) => FunctionCode::FreezeClear,
            (FreezeKind::Clear, false) => FunctionCode::FreezeClearNr,
            (FreezeKind::AtTime { .. }, true) => FunctionCode::FreezeAtTime,
            (FreezeKind::AtTime { .. }, false) => FunctionCode::FreezeAtTimeNr,
        }
    }

    /// The object headers: the g50v2 time and interval for FREEZE_AT_TIME, then the counters.
    pub fn headers(&self) -> Result<ObjectHeaders, WriteError> {
        let mut h = ObjectHeaders::new();
        if let FreezeKind::AtTime { time, interval_ms } = self.kind {
            let mut p = Point::new(0, Value::Unsigned(interval_ms));
            p.time = Some(time);
            h.single(Variation::Group50Var2, &p)?;
        }
        h.points(Variation::Group20Var0, self.points)?;
        Ok(h)
    }
}

/// One ASSIGN_CLASS assignment: the points of `headers` go to `class` (`EventClass::None`:
/// class 0, no events). Written as the g60 header of the class followed by the point headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ClassAssignment {
    /// The class the points go to.
    pub class: EventClass,
    /// The points: a type (e.g. g30v0 for analog inputs) and which of its points.
    pub points: Vec<(Variation, PointRange)>,
}

impl ClassAssignment {
    /// Assigns `points` to `class`.
    pub fn new(class: EventClass, points: Vec<(Variation, PointRange)>) -> Self {
        ClassAssignment { class, points }
    }

    /// The g60 variation naming the class.
    pub fn class_variation(&self) -> Variation {
        match self.class {
            EventClass::None => Variation::Group60Var1,
            EventClass::Class1 => Variation::Group60Var2,
            EventClass::Class2 => Variation::Group60Var3,
            EventClass::Class3 => Variation::Group60Var4,
        }
    }
}

/// The object headers of an ASSIGN_CLASS request with these assignments, in order.
pub fn assign_class_headers(assignments: &[ClassAssignment]) -> Result<ObjectHeaders, WriteError> {
    let mut h = ObjectHeaders::new();
    for a in assignments {
        h.all(a.class_variation())?;
        for &(variation, points) in &a.points {
            h.points(variation, points)?;
        }
    }
    Ok(h)
}

/// The object headers of ENABLE_UNSOLICITED or DISABLE_UNSOLICITED for the event classes of
/// `classes` (class 0 has no unsolicited responses and is left out).
pub fn unsolicited_headers(classes: Classes) -> Result<ObjectHeaders, WriteError> {
    let mut h = ObjectHeaders::new();
    for v in classes.event_variations() {
        h.all(v)?;
    }
    Ok(h)
}

/// An analog input deadband value; its type chooses the variation g34v1..v3.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Deadband {
    /// g34v1, 16-bit.
    U16(u16),
    /// g34v2, 32-bit.
    U32(u32),
    /// g34v3, single-precision float.
    F32(f32),
}

impl Deadband {
    /// The g34 variation for this value.
    pub fn variation(self) -> Variation {
        match self {
            Deadband::U16(_) => Variation::Group34Var1,
            Deadband::U32(_) => Variation::Group34Var2,
            Deadband::F32(_) => Variation::Group34Var3,
        }
    }

    fn value(self) -> Value<'static> {
        match self {
            Deadband::U16(v) => Value::Unsigned(u32::from(v)),
            Deadband::U32(v) => Value::Unsigned(v),
            Deadband::F32(v) => Value::Float(f64::from(v)),
        }
    }
}

/// What a WRITE request writes (IEEE 1815-2012, clause 4).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WriteRequest {
    /// Analog input deadbands by index (g34, qualifier 17/28), one header per run of equal
    /// variations.
    Deadbands(Vec<(u16, Deadband)>),
    /// An indexed absolute time and long interval (g50v4, qualifier 17/28).
    TimeAndInterval {
        /// Object index.
        index: u16,
        /// The time.
        time: Timestamp,
        /// The interval count.
        interval: u32,
        /// The interval units code (IEEE 1815-2012, Annex A, g50v4).
        units: u8,
    },
    /// Clears one IIN bit (g80v1, qualifier 00) by its index: 7 is DEVICE_RESTART, 4
    /// NEED_TIME… (IIN1 bits 0–7 are indexes 0–7, IIN2 bits 8–15).
    ClearIin(u8),
}

impl WriteRequest {
    /// The object headers of the WRITE.
    pub fn headers(&self) -> Result<ObjectHeaders, WriteError> {
        let mut h = ObjectHeaders::new();
        match self {
            WriteRequest::Deadbands(deadbands) => {
                if deadbands.is_empty() {
                    return Err(WriteError::Invalid);
                }
                h.prefixed(
                    deadbands
                        .iter()
                        .map(|&(i, d)| (d.variation(), Point::new(u32::from(i), d.value()))),
                )?;
            }
            &WriteRequest::TimeAndInterval {
                index,
                time,
                interval,
                units,
            } => {
                let mut p = Point::new(u32::from(index), Value::Interval { interval, units });
                p.time = Some(time);
                h.prefixed([(Variation::Group50Var4, p)])?;
            }
            &WriteRequest::ClearIin(bit) => {
                if bit > 15 {
                    return Err(WriteError::Invalid);
                }
                let index = u16::from(bit);
                h.edit(|w| {
                    w.ranged(Variation::Group80Var1, index, index)?
                        .push(&Point::new(u32::from(index), Value::Bool(false)))
                })?;
            }
        }
        Ok(h)
    }
}

/// The g0 variation that asks for every device attribute of a set (IEEE 1815-2012, Annex A).
pub const ALL_ATTRIBUTES: u8 = 254;

/// The object header of a READ of device attributes: g0 variation `variation` (an attribute,
/// or [`ALL_ATTRIBUTES`]) of attribute set `set` (0 is the standard set), qualifier 00.
pub fn attributes_header(set: u8, variation: u8) -> Result<ObjectHeaders, WriteError> {
    let mut h = ObjectHeaders::new();
    h.raw(&[0, variation, 0x00, set, set])?;
    Ok(h)
}
