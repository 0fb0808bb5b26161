//! ASSIGN_CLASS (IEEE 1815-2012, clause 4): a class header (g60v1..v4, qualifier 06) names the
//! class, and the point headers after it (any static group, qualifier 06, 00/01, 07/08 or
//! 17/28) select the points that take it; class 0 (g60v1) means the points create no events.
//! The whole request is checked before any class changes, so a refused request changes
//! nothing.

use super::database::Database;
use crate::app::{Iin, ObjectHeader, ObjectParser, Prefix, Range};
use crate::objects::{EventClass, PointType, Variation};

/// The class named by a g60 header.
fn class_of(v: Variation) -> Option<EventClass> {
    Some(match v {
        Variation::Group60Var1 => EventClass::None,
        Variation::Group60Var2 => EventClass::Class1,
        Variation::Group60Var3 => EventClass::Class2,
        Variation::Group60Var4 => EventClass::Class3,
        _ => return None,
    })
}

/// Checks the request against `db` and, when every header is valid, assigns the classes.
/// Errors: a point header before any class header, a class header with a range, or points
/// missing from the database → IIN2.2 PARAMETER_ERROR; a group that is not a point type's
/// static group, or a type without points → IIN2.1 OBJECT_UNKNOWN.
pub(crate) fn assign_class(objects: ObjectParser<'_>, db: &mut Database) -> Result<usize, Iin> {
    walk(objects.clone(), db, false)?;
    walk(objects, db, true)
}

/// One pass over the request: checks only, or assigns (`commit`). Returns the points assigned.
fn walk(objects: ObjectParser<'_>, db: &mut Database, commit: bool) -> Result<usize, Iin> {
    let mut class = None;
    let mut assigned = 0;
    for h in objects {
        let h = h.map_err(|e| e.kind.iin())?;
        if let Some(c) = class_of(h.variation) {
            if h.range != Range::All {
                return Err(Iin::PARAMETER_ERROR);
            }
            class = Some(c);
            continue;
        }
        let Some(class) = class else {
            return Err(Iin::PARAMETER_ERROR);
        };
        let (group, _) = h.variation.numbers();
        let ty = PointType::from_static_group(group).ok_or(Iin::OBJECT_UNKNOWN)?;
        if db.len(ty) == 0 {
            return Err(Iin::OBJECT_UNKNOWN);
        }
        tracing::debug!(
            ty = ty.name(),
            ?class,
            qualifier = h.qualifier,
            "assign class"
        );
        assigned += assign_header(&h, ty, class, db, commit)?;
    }
    Ok(assigned)
}

/// The points of one header: checked, and given `class` when `commit`.
fn assign_header(
    h: &ObjectHeader<'_>,
    ty: PointType,
    class: EventClass,
    db: &mut Database,
    commit: bool,
) -> Result<usize, Iin> {
    let table = db.table_mut(ty);
    let span = match (h.prefix, h.range) {
        (Prefix::None, Range::All) => 0..table.entries.len(),
        (Prefix::None, Range::StartStop { start, stop }) => range(table, start, stop)?,
        // A count without indices: the first `n` points, 0..n-1.
        (Prefix::None, Range::Count(n)) if n > 0 => range(table, 0, n - 1)?,
        (Prefix::Index(_), Range::Count(_)) => {
            let mut n = 0;
            for p in h.points() {
                let pos = u16::try_from(p.index)
                    .ok()
                    .and_then(|i| table.find(i))
                    .ok_or(Iin::PARAMETER_ERROR)?;
                if commit {
                    if let Some(e) = table.entries.get_mut(pos) {
                        e.class = class;
                    }
                }
                n += 1;
            }
            return Ok(n);
        }
        _ => return Err(Iin::PARAMETER_ERROR),
    };
    if commit {
        for e in table.entries.get_mut(span.clone()).unwrap_or(&mut []) {
            e.class = class;
        }
    }
    Ok(span.len())
}

/// The positions of `start..=stop`, all of which must exist.
fn range(
    table: &super::database::PointTable,
    start: u32,
    stop: u32,
) -> Result<std::ops::Range<usize>, Iin> {
    let span = table.range(start, stop);
    let want = u64::from(stop) - u64::from(start) + 1;
    if (span.len() as u64) < want {
        return Err(Iin::PARAMETER_ERROR);
    }
    Ok(span)
}
