//! READ requests (IEEE 1815-2012, clause 4): what each header asks for, the event selection made when
//! the request arrives, and the writing of one response fragment after another. Selected
//! events come first, then static data in request order; static values are read when each
//! fragment is built. A cursor records where the previous fragment stopped, so the request
//! is simply walked again for the next one — nothing is allocated per request.

use super::attributes::AttributeSource;
use super::database::{Database, PointTable};
use super::events::EventFilter;
use super::point::{static_variation, to_point};
use crate::app::{FragmentWriter, Iin, ObjectHeader, ObjectParser, Prefix, Range, WriteError};
use crate::objects::Classes;
use crate::objects::PointType;
use crate::objects::{Point, Value, Variation};

/// Which static points a header selects.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Points {
    /// Every point of the type.
    All,
    /// Indices `start..=stop`.
    Range(u32, u32),
    /// The index prefixes of the header (qualifiers 17/28), answered with ranged headers.
    Indices,
}

/// What one READ header asks for.
#[derive(Copy, Clone, Debug)]
enum ReadTarget {
    /// Class 0: every static point.
    Class0,
    /// Events, at most `limit`.
    Events(EventFilter, Option<u32>),
    /// Static points of one type, in the requested variation (`None`: configured).
    Static(PointType, Option<Variation>, Points),
    /// The deadbands of analog inputs (g34), in the requested variation (`None`: g34v3).
    Deadbands(Variation, Points),
    /// Device attribute N of set 0 (254: all, 255: their list).
    Attribute(u8),
    /// The IIN bits `start..=stop` as g80v1.
    Iin(u32, u32),
    /// Not answerable: these IIN bits.
    Refused(Iin),
}

fn event_limit(h: &ObjectHeader<'_>) -> Result<Option<u32>, Iin> {
    match (h.prefix, h.range) {
        (Prefix::None, Range::All) => Ok(None),
        (Prefix::None, Range::Count(n)) => Ok(Some(n)),
        _ => Err(Iin::PARAMETER_ERROR),
    }
}

fn classify(h: &ObjectHeader<'_>) -> ReadTarget {
    let (group, var) = h.variation.numbers();
    let target = match h.variation {
        Variation::Group60Var1 if h.range == Range::All => Ok(ReadTarget::Class0),
        Variation::Group60Var1 => Err(Iin::PARAMETER_ERROR),
        Variation::Group60Var2 | Variation::Group60Var3 | Variation::Group60Var4 => {
            let class = Classes::of_event_variation(h.variation).unwrap_or(Classes::NONE);
            event_limit(h).map(|l| ReadTarget::Events(EventFilter::Classes(class), l))
        }
        Variation::DeviceAttribute(v) => match (h.prefix, h.range) {
            (Prefix::None, Range::All | Range::StartStop { start: 0, stop: 0 }) => {
                Ok(ReadTarget::Attribute(v))
            }
            _ => Err(Iin::PARAMETER_ERROR),
        },
        Variation::Group80Var1 => match h.range {
            Range::All => Ok(ReadTarget::Iin(0, 15)),
            Range::StartStop { start, stop } if stop <= 15 && h.prefix == Prefix::None => {
                Ok(ReadTarget::Iin(start, stop))
            }
            _ => Err(Iin::PARAMETER_ERROR),
        },
        Variation::Group34Var0
        | Variation::Group34Var1
        | Variation::Group34Var2
        | Variation::Group34Var3 => {
            let v = if var == 0 {
                Variation::Group34Var3
            } else {
                h.variation
            };
            static_points(h).map(|p| ReadTarget::Deadbands(v, p))
        }
        v => {
            if let Some(ty) = PointType::from_static_group(group) {
                let requested = (var != 0).then_some(v);
                if requested.is_some_and(|v| !ty.accepts_static(v)) {
                    Err(Iin::OBJECT_UNKNOWN)
                } else {
                    let requested = requested.filter(|_| ty != PointType::OctetString);
                    static_points(h).map(|p| ReadTarget::Static(ty, requested, p))
                }
            } else if let Some(ty) = PointType::from_event_group(group) {
                let requested = (var != 0).then_some(v);
                if requested.is_some_and(|v| !ty.accepts_event(v)) {
                    Err(Iin::OBJECT_UNKNOWN)
                } else {
                    event_limit(h).map(|l| ReadTarget::Events(EventFilter::Type(ty, requested), l))
                }
            } else {
                Err(Iin::OBJECT_UNKNOWN)
            }
        }
    };
    target.unwrap_or_else(ReadTarget::Refused)
}

/// The static points a header selects by its qualifier.
fn static_points(h: &ObjectHeader<'_>) -> Result<Points, Iin> {
    match (h.prefix, h.range) {
        (Prefix::None, Range::All) => Ok(Points::All),
        (Prefix::None, Range::StartStop { start, stop }) => Ok(Points::Range(start, stop)),
        (Prefix::Index(_), Range::Count(_)) => Ok(Points::Indices),
        _ => Err(Iin::PARAMETER_ERROR),
    }
}

/// Selects the requested events and checks the static selections; returns the error IIN
/// bits to report (points missing from a range: IIN2.2; a type without points: IIN2.1).
pub(crate) fn prepare(
    objects: ObjectParser<'_>,
    db: &mut Database,
    attributes: &AttributeSource<'_>,
) -> Iin {
    let mut iin = Iin::NONE;
    for h in objects.flatten() {
        tracing::debug!(?h.variation, qualifier = h.qualifier, "read header");
        match classify(&h) {
            ReadTarget::Class0 | ReadTarget::Iin(..) => {}
            ReadTarget::Attribute(v) => {
                if !attributes.serves(db, v) {
                    iin |= Iin::OBJECT_UNKNOWN;
                }
            }
            ReadTarget::Events(filter, limit) => {
                db.events.select(filter, limit);
            }
            ReadTarget::Static(ty, _, points) => iin |= check_static(db, ty, points, &h),
            ReadTarget::Deadbands(_, points) => {
                iin |= check_static(db, PointType::AnalogInput, points, &h)
            }
            ReadTarget::Refused(bits) => {
                tracing::debug!(?h.variation, "read of an unsupported object");
                iin |= bits;
            }
        }
    }
    iin
}

/// The error bits for a static selection: IIN2.1 when the type has no points, IIN2.2 when
/// some selected points do not exist.
fn check_static(db: &Database, ty: PointType, points: Points, h: &ObjectHeader<'_>) -> Iin {
    let t = db.table(ty);
    let missing = match points {
        _ if t.entries.is_empty() => return Iin::OBJECT_UNKNOWN,
        Points::All => false,
        Points::Range(start, stop) => {
            let want = u64::from(stop) - u64::from(start) + 1;
            (t.range(start, stop).len() as u64) < want
        }
        Points::Indices => h.points().any(|p| {
            u16::try_from(p.index)
                .ok()
                .and_then(|i| t.find(i))
                .is_none()
        }),
    };
    if missing {
        Iin::PARAMETER_ERROR
    } else {
        Iin::NONE
    }
}

/// Where the previous fragment of a response stopped.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadCursor {
    /// Header number in the request.
    header: usize,
    /// Class 0: the point type ordinal.
    ty: usize,
    /// Position within the header's point selection.
    pos: usize,
}

/// Writes as much of the response as fits: selected events, then static data from the
/// cursor on. Returns whether the response is complete and whether events were written.
pub(crate) fn write_fragment(
    objects: ObjectParser<'_>,
    db: &mut Database,
    cursor: &mut ReadCursor,
    w: &mut FragmentWriter<'_>,
    iin: Iin,
    attributes: &AttributeSource<'_>,
) -> (bool, bool) {
    let (events, all) = db.events.write_selected(w, iin.contains(Iin::NEED_TIME));
    if !all {
        return (false, events > 0);
    }
    let db: &Database = db;
    for (n, h) in objects.enumerate().skip(cursor.header) {
        let Ok(h) = h else { break };
        let done = match classify(&h) {
            ReadTarget::Class0 => {
                let mut done = true;
                while let Some(&ty) = PointType::ALL.get(cursor.ty) {
                    if !write_static(db, ty, None, Points::All, &h, &mut cursor.pos, w) {
                        done = false;
                        break;
                    }
                    cursor.ty += 1;
                    cursor.pos = 0;
                }
                done
            }
            ReadTarget::Static(ty, v, points) => {
                write_static(db, ty, v, points, &h, &mut cursor.pos, w)
            }
            ReadTarget::Deadbands(v, points) => {
                let ty = PointType::AnalogInput;
                write_static(db, ty, Some(v), points, &h, &mut cursor.pos, w)
            }
            ReadTarget::Iin(start, stop) => write_iin(iin, start, stop, w).is_ok(),
            ReadTarget::Attribute(v) => attributes.write(db, v, &mut cursor.pos, w),
            ReadTarget::Events(..) | ReadTarget::Refused(_) => true,
        };
        if !done {
            return (false, events > 0);
        }
        *cursor = ReadCursor {
            header: n + 1,
            ty: 0,
            pos: 0,
        };
    }
    (true, events > 0)
}

fn write_iin(
    iin: Iin,
    start: u32,
    stop: u32,
    w: &mut FragmentWriter<'_>,
) -> Result<(), WriteError> {
    let (start, stop) = (start.min(15) as u16, stop.min(15) as u16);
    let mut h = w.ranged(Variation::Group80Var1, start, stop)?;
    for i in start..=stop {
        let bit = iin.0 & (1 << i) != 0;
        h.push(&Point::new(u32::from(i), Value::Bool(bit)))?;
    }
    h.finish();
    Ok(())
}

/// Writes the selected static points of `ty` from position `*pos` on, one ranged header per
/// run of consecutive indices with the same variation. Returns true when all were written;
/// otherwise `*pos` is where the next fragment continues.
fn write_static(
    db: &Database,
    ty: PointType,
    requested: Option<Variation>,
    points: Points,
    h: &ObjectHeader<'_>,
    pos: &mut usize,
    w: &mut FragmentWriter<'_>,
) -> bool {
    let t = db.table(ty);
    match points {
        Points::All => write_positions(db, ty, t, requested, 0..t.entries.len(), pos, w),
        Points::Range(start, stop) => {
            write_positions(db, ty, t, requested, t.range(start, stop), pos, w)
        }
        Points::Indices => {
            for (k, p) in h.points().enumerate().skip(*pos) {
                let found = u16::try_from(p.index).ok().and_then(|i| t.find(i));
                if let Some(at) = found {
                    let mut zero = 0;
                    if !write_positions(db, ty, t, requested, at..at + 1, &mut zero, w) {
                        *pos = k;
                        return false;
                    }
                }
            }
            true
        }
    }
}

fn write_positions(
    db: &Database,
    ty: PointType,
    t: &PointTable,
    requested: Option<Variation>,
    span: std::ops::Range<usize>,
    pos: &mut usize,
    w: &mut FragmentWriter<'_>,
) -> bool {
    let entries = t.entries.get(span.clone()).unwrap_or(&[]);
    let octets = |p: usize| {
        if ty == PointType::OctetString {
            db.octets_at(span.start + p)
        } else {
            &[]
        }
    };
    let deadbands = requested.is_some_and(|v| v.numbers().0 == 34);
    let variation_at = |p: usize| {
        entries.get(p).map(|e| match requested {
            Some(v) if deadbands => v,
            _ => static_variation(requested, e.static_variation, &e.state),
        })
    };
    let mut p = *pos;
    while let Some(first) = entries.get(p) {
        let Some(v) = variation_at(p) else { break };
        let (mut end, mut last) = (p + 1, first.index);
        while let Some(e) = entries.get(end) {
            if Some(e.index) != last.checked_add(1) || variation_at(end) != Some(v) {
                break;
            }
            last = e.index;
            end += 1;
        }
        let Ok(mut hw) = w.ranged(v, first.index, last) else {
            *pos = p;
            return false;
        };
        while p < end {
            let Some(e) = entries.get(p) else { break };
            let point = if deadbands {
                Point::new(u32::from(e.index), Value::Float(e.deadband))
            } else {
                to_point(e.index, v, &e.state, octets(p))
            };
            match hw.push(&point) {
                Ok(()) => p += 1,
                Err(WriteError::FragmentFull) => {
                    hw.finish();
                    *pos = p;
                    return false;
                }
                Err(_) => {
                    tracing::warn!(?v, index = e.index, "static point not encodable; skipped");
                    p += 1;
                    break;
                }
            }
        }
        hw.finish();
    }
    *pos = p;
    true
}
