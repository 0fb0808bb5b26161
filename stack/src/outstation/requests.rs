//! Checks of the requests that only carry parameters — WRITE (IIN and time), freeze,
//! enable/disable unsolicited — turned into plans the session carries out only when the
//! whole request is valid (IEEE 1815-2012, clause 4).

use super::database::Database;
use crate::app::{Iin, ObjectHeader, ObjectParser, Prefix, Range};
use crate::objects::Classes;
use crate::objects::PointType;
use crate::objects::{Timestamp, Value, Variation};

/// A time written by the master.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimeWrite {
    /// g50v1: the time now.
    Absolute(Timestamp),
    /// g50v3: the master's time at the preceding RECORD_CURRENT_TIME.
    AtRecord(Timestamp),
}

/// What a valid WRITE does.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WritePlan {
    /// Clear IIN1.7 DEVICE_RESTART.
    pub clear_restart: bool,
    /// Set the time.
    pub time: Option<TimeWrite>,
    /// Analog input deadbands (g34) to set: walk the request again.
    pub deadbands: bool,
    /// Indexed absolute times (g50v4) to hand to the application: walk the request again.
    pub indexed_times: bool,
}

/// Checks a WRITE: g80v1 may only clear index 7; one time object at most (g50v1, or g50v3
/// when `record_allowed`, i.e. it follows a RECORD_CURRENT_TIME); g50v4 indexed times;
/// g34 deadbands of existing analog inputs (≥ 0). Anything else writable in the object
/// library is refused with IIN2.0 (not supported), bad parameters with IIN2.2.
pub(crate) fn plan_write(
    objects: ObjectParser<'_>,
    record_allowed: bool,
    db: &Database,
) -> Result<WritePlan, Iin> {
    let mut plan = WritePlan::default();
    let mut times = 0;
    for h in objects {
        let h = h.map_err(|e| e.kind.iin())?;
        tracing::debug!(?h.variation, qualifier = h.qualifier, "write header");
        match h.variation {
            Variation::Group80Var1 => {
                if !matches!(h.range, Range::StartStop { .. }) {
                    return Err(Iin::PARAMETER_ERROR);
                }
                for p in h.points() {
                    if p.index == 7 && p.value == Value::Bool(false) {
                        plan.clear_restart = true;
                    } else {
                        return Err(Iin::PARAMETER_ERROR);
                    }
                }
            }
            Variation::Group50Var1 | Variation::Group50Var3 => {
                times += h.count;
                let time = single_time(&h).ok_or(Iin::PARAMETER_ERROR)?;
                if times > 1 {
                    return Err(Iin::PARAMETER_ERROR);
                }
                plan.time = Some(if h.variation == Variation::Group50Var1 {
                    TimeWrite::Absolute(time)
                } else if record_allowed {
                    TimeWrite::AtRecord(time)
                } else {
                    return Err(Iin::PARAMETER_ERROR);
                });
            }
            Variation::Group50Var4 => {
                if !matches!(h.prefix, Prefix::Index(_)) || h.points().any(|p| p.time.is_none()) {
                    return Err(Iin::PARAMETER_ERROR);
                }
                plan.indexed_times = true;
            }
            Variation::Group34Var1 | Variation::Group34Var2 | Variation::Group34Var3 => {
                if db.len(PointType::AnalogInput) == 0 {
                    return Err(Iin::OBJECT_UNKNOWN);
                }
                for p in h.points() {
                    let known = u16::try_from(p.index)
                        .ok()
                        .and_then(|i| db.get(PointType::AnalogInput, i))
                        .is_some();
                    if !known || deadband_value(&p.value).is_none() {
                        return Err(Iin::PARAMETER_ERROR);
                    }
                }
                plan.deadbands = true;
            }
            _ => return Err(Iin::NO_FUNC_CODE_SUPPORT),
        }
    }
    Ok(plan)
}

/// A written deadband: a number ≥ 0.
pub(crate) fn deadband_value(v: &Value<'_>) -> Option<f64> {
    let d = match *v {
        Value::Unsigned(u) => f64::from(u),
        Value::Float(f) => f,
        _ => return None,
    };
    (d >= 0.0).then_some(d)
}

/// The time of a counted header holding exactly one time object.
fn single_time(h: &ObjectHeader<'_>) -> Option<Timestamp> {
    if !matches!(h.range, Range::Count(1)) {
        return None;
    }
    h.points().next()?.time
}

/// Checks a freeze request: only g20v0 with qualifier 06, 00 or 01 (as opendnp3).
pub(crate) fn check_freeze(objects: ObjectParser<'_>) -> Result<(), Iin> {
    for h in objects {
        freeze_range(&h.map_err(|e| e.kind.iin())?)?;
    }
    Ok(())
}

/// The counters a freeze header selects (`None`: all).
pub(crate) fn freeze_range(h: &ObjectHeader<'_>) -> Result<Option<(u32, u32)>, Iin> {
    if h.variation != Variation::Group20Var0 {
        return Err(Iin::NO_FUNC_CODE_SUPPORT);
    }
    match (h.qualifier, h.range) {
        (0x06, Range::All) => Ok(None),
        (0x00 | 0x01, Range::StartStop { start, stop }) => Ok(Some((start, stop))),
        _ => Err(Iin::PARAMETER_ERROR),
    }
}

/// The classes named by ENABLE/DISABLE_UNSOLICITED: g60v2/v3/v4 with qualifier 06.
pub(crate) fn unsolicited_classes(objects: ObjectParser<'_>) -> Result<Classes, Iin> {
    let mut mask = Classes::NONE;
    for h in objects {
        let h = h.map_err(|e| e.kind.iin())?;
        let class = match h.variation {
            Variation::Group60Var2 => Classes::CLASS1,
            Variation::Group60Var3 => Classes::CLASS2,
            Variation::Group60Var4 => Classes::CLASS3,
            _ => return Err(Iin::PARAMETER_ERROR),
        };
        if h.range != Range::All {
            return Err(Iin::PARAMETER_ERROR);
        }
        mask = mask.union(class);
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Fragment;

    fn plan(bytes: &[u8], record: bool) -> Result<WritePlan, Iin> {
        let db = crate::outstation::DatabaseBuilder::new().build().unwrap();
        plan_write(Fragment::parse(bytes).unwrap().objects(), record, &db)
    }

    #[test]
    fn only_clearing_restart_is_a_valid_iin_write() {
        let p = plan(&[0xC0, 0x02, 0x50, 0x01, 0x00, 0x07, 0x07, 0x00], false).unwrap();
        assert!(p.clear_restart);
        assert_eq!(
            plan(&[0xC0, 0x02, 0x50, 0x01, 0x00, 0x04, 0x04, 0x01], false),
            Err(Iin::PARAMETER_ERROR)
        );
        assert_eq!(
            plan(&[0xC0, 0x02, 0x50, 0x01, 0x00, 0x07, 0x07, 0x01], false),
            Err(Iin::PARAMETER_ERROR)
        );
    }

    #[test]
    fn time_writes_need_one_object_and_lan_time_needs_a_record() {
        let g50v1 = [0xC1, 0x02, 0x32, 0x01, 0x07, 0x01, 0xD2, 0x04, 0, 0, 0, 0];
        assert_eq!(
            plan(&g50v1, false).unwrap().time,
            Some(TimeWrite::Absolute(Timestamp(1234)))
        );
        let mut g50v3 = g50v1;
        g50v3[3] = 3;
        assert_eq!(plan(&g50v3, false), Err(Iin::PARAMETER_ERROR));
        assert_eq!(
            plan(&g50v3, true).unwrap().time,
            Some(TimeWrite::AtRecord(Timestamp(1234)))
        );
        let two = [
            0xC1, 0x02, 0x32, 0x01, 0x07, 0x02, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0,
        ];
        assert_eq!(plan(&two, false), Err(Iin::PARAMETER_ERROR));
        assert_eq!(
            plan(&[0xC0, 0x02, 0x01, 0x02, 0x00, 0x07, 0x07, 0x00], false),
            Err(Iin::NO_FUNC_CODE_SUPPORT)
        );
    }

    #[test]
    fn unsolicited_classes_come_from_class_headers() {
        let f = Fragment::parse(&[0xC0, 0x14, 0x3C, 0x02, 0x06, 0x3C, 0x04, 0x06]).unwrap();
        assert_eq!(
            unsolicited_classes(f.objects()),
            Ok(Classes::CLASS1.union(Classes::CLASS3))
        );
        let f = Fragment::parse(&[0xC0, 0x14, 0x3C, 0x01, 0x06]).unwrap();
        assert_eq!(unsolicited_classes(f.objects()), Err(Iin::PARAMETER_ERROR));
    }
}
