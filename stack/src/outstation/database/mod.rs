//! The outstation database: the static points of each type (sorted by index; contiguous
//! indices are looked up directly), their current values, and the event buffers their
//! changes feed. Built once with [`DatabaseBuilder`]; changed with [`Update`]s.

use super::config::EventBufferConfig;
use super::deferred::{CommandEvent, ControlToken, Deferrals};
use super::events::{EventBuffers, NewEvent};
use super::point::{PointConfig, PointState, PointValue};
use super::update::{ApplyReport, Update};
use crate::objects::EventClass;
use crate::objects::{PointType, TYPE_COUNT};
use crate::objects::{Timestamp, Variation};
use crate::session::Now;
use std::fmt;

/// Why a database could not be built.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DatabaseError {
    /// The same index was added twice for one type.
    DuplicateIndex {
        /// The point type.
        ty: PointType,
        /// The index.
        index: u16,
    },
    /// A configured static variation is not one this outstation reports for the type.
    StaticVariation {
        /// The point type.
        ty: PointType,
        /// The variation.
        variation: Variation,
    },
    /// A configured event variation is not one this outstation reports for the type.
    EventVariation {
        /// The point type.
        ty: PointType,
        /// The variation.
        variation: Variation,
    },
    /// A deadband that is negative or not a number.
    Deadband {
        /// The point type.
        ty: PointType,
        /// The index.
        index: u16,
    },
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseError::DuplicateIndex { ty, index } => {
                write!(f, "{ty} index {index} is configured twice")
            }
            DatabaseError::StaticVariation { ty, variation } => {
                write!(f, "{variation:?} is not a static variation for a {ty}")
            }
            DatabaseError::EventVariation { ty, variation } => {
                write!(f, "{variation:?} is not an event variation for a {ty}")
            }
            DatabaseError::Deadband { ty, index } => {
                write!(f, "{ty} index {index}: the deadband must be a number ≥ 0")
            }
        }
    }
}

impl std::error::Error for DatabaseError {}

/// One configured point.
#[derive(Copy, Clone, Debug)]
pub(crate) struct PointEntry {
    pub index: u16,
    pub class: EventClass,
    pub static_variation: Variation,
    pub event_variation: Variation,
    /// Analogs, counters and frozen counters: see [`PointConfig::deadband`].
    pub deadband: f64,
    /// Analogs, counters and frozen counters: the value last reported in an event (the
    /// deadband's reference).
    reported: f64,
    pub state: PointState,
}

/// The points of one type, sorted by index.
#[derive(Debug, Default)]
pub(crate) struct PointTable {
    pub entries: Vec<PointEntry>,
    /// Every index is the first plus its position: lookups need no search.
    contiguous: bool,
}

impl PointTable {
    /// Position of `index`.
    pub fn find(&self, index: u16) -> Option<usize> {
        let first = self.entries.first()?.index;
        if self.contiguous {
            let pos = usize::from(index.checked_sub(first)?);
            return (pos < self.entries.len()).then_some(pos);
        }
        self.entries.binary_search_by_key(&index, |e| e.index).ok()
    }

    /// Positions of the points with `start <= index <= stop`.
    pub fn range(&self, start: u32, stop: u32) -> std::ops::Range<usize> {
        let lo = self.entries.partition_point(|e| u32::from(e.index) < start);
        let hi = self.entries.partition_point(|e| u32::from(e.index) <= stop);
        lo..hi.max(lo)
    }
}

/// The static points of an outstation and the events their changes create.
#[derive(Debug)]
pub struct Database {
    tables: [PointTable; TYPE_COUNT],
    /// Octet string bytes: 255 per octet string point, by position.
    octets: Vec<u8>,
    pub(crate) events: EventBuffers,
    rejected: u64,
    /// Operates create command events (g13, g43) in the output's class.
    pub(crate) command_events: bool,
    /// Controls of the current request answered later.
    pub(crate) deferrals: Deferrals,
}

/// Collects point definitions and builds a [`Database`].
#[derive(Clone, Debug, Default)]
pub struct DatabaseBuilder {
    points: Vec<(PointType, u16, PointConfig)>,
}

impl DatabaseBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        DatabaseBuilder::default()
    }

    /// Adds points of type `ty` at `indices`, all with `config`.
    pub fn add(
        mut self,
        ty: PointType,
        indices: impl IntoIterator<Item = u16>,
        config: PointConfig,
    ) -> Self {
        self.points
            .extend(indices.into_iter().map(|i| (ty, i, config)));
        self
    }

    /// Checks the configuration and builds the database (without event buffers until a
    /// session sizes them, see [`Database::with_event_buffers`]).
    pub fn build(mut self) -> Result<Database, DatabaseError> {
        self.points.sort_by_key(|&(t, i, _)| (t.ordinal(), i));
        let mut tables: [PointTable; TYPE_COUNT] = Default::default();
        for &(ty, index, c) in &self.points {
            let table = &mut tables[ty.ordinal()];
            if table.entries.last().is_some_and(|e| e.index == index) {
                return Err(DatabaseError::DuplicateIndex { ty, index });
            }
            let static_variation = c.static_variation.unwrap_or(ty.default_static_variation());
            if !ty.accepts_static(static_variation) {
                return Err(DatabaseError::StaticVariation {
                    ty,
                    variation: static_variation,
                });
            }
            let event_variation = c.event_variation.unwrap_or(ty.default_event_variation());
            if !ty.accepts_event(event_variation) {
                return Err(DatabaseError::EventVariation {
                    ty,
                    variation: event_variation,
                });
            }
            if c.deadband.is_nan() || c.deadband < 0.0 {
                return Err(DatabaseError::Deadband { ty, index });
            }
            let value = ty.initial_value();
            table.entries.push(PointEntry {
                index,
                class: c.class,
                static_variation,
                event_variation,
                deadband: c.deadband,
                reported: 0.0,
                state: PointState {
                    value,
                    flags: c.initial_flags,
                    time: Timestamp(0),
                },
            });
        }
        for t in &mut tables {
            let first = t.entries.first().map_or(0, |e| usize::from(e.index));
            t.contiguous = t
                .entries
                .iter()
                .enumerate()
                .all(|(i, e)| usize::from(e.index) == first + i);
        }
        let octet_points = tables[PointType::OctetString.ordinal()].entries.len();
        Ok(Database {
            tables,
            octets: vec![0; octet_points * 255],
            events: EventBuffers::default(),
            rejected: 0,
            command_events: false,
            deferrals: Deferrals::default(),
        })
    }
}

impl Database {
    /// Sets values without creating events: the initial state of the points, before the
    /// database serves a master. Unknown points are rejected and counted as by `apply`.
    pub fn load(&mut self, now: &Now, updates: &[Update]) -> ApplyReport {
        let events = std::mem::take(&mut self.events);
        let mut report = self.apply(now, updates);
        self.events = events;
        report.events = 0;
        report
    }

    /// This database with event buffers sized by `config`. A type without points gets no
    /// buffer; the others get theirs even when no point has a class yet, since ASSIGN_CLASS
    /// may give them one (a ring allocates only as events arrive). Sessions call this on the
    /// database they are given.
    pub fn with_event_buffers(mut self, config: &EventBufferConfig) -> Self {
        let caps = config.as_array();
        let sizes = std::array::from_fn(|i| {
            if self.tables[i].entries.is_empty() {
                0
            } else {
                usize::from(caps[i])
            }
        });
        self.events = EventBuffers::new(sizes);
        self
    }

    pub(crate) fn table(&self, ty: PointType) -> &PointTable {
        &self.tables[ty.ordinal()]
    }

    pub(crate) fn table_mut(&mut self, ty: PointType) -> &mut PointTable {
        &mut self.tables[ty.ordinal()]
    }

    /// The bytes of the octet string point at table position `pos`.
    pub(crate) fn octets_at(&self, pos: usize) -> &[u8] {
        self.octets.get(pos * 255..pos * 255 + 255).unwrap_or(&[])
    }

    /// Current state of a point, `None` when it does not exist.
    pub fn get(&self, ty: PointType, index: u16) -> Option<PointState> {
        let t = self.table(ty);
        t.find(index)
            .and_then(|p| t.entries.get(p))
            .map(|e| e.state)
    }

    /// The deadband of an analog input, `None` when it does not exist.
    pub fn deadband(&self, index: u16) -> Option<f64> {
        let t = self.table(PointType::AnalogInput);
        t.find(index)
            .and_then(|p| t.entries.get(p))
            .map(|e| e.deadband)
    }

    /// Sets the deadband of an analog input (a master's WRITE of g34); false when there is
    /// no such point or the deadband is negative or not a number.
    pub(crate) fn set_deadband(&mut self, index: u16, deadband: f64) -> bool {
        let t = self.table_mut(PointType::AnalogInput);
        match t.find(index).and_then(|p| t.entries.get_mut(p)) {
            Some(e) if deadband >= 0.0 => {
                e.deadband = deadband;
                true
            }
            _ => false,
        }
    }

    /// The bytes of an octet string point.
    pub fn octet_string(&self, index: u16) -> Option<&[u8]> {
        let t = self.table(PointType::OctetString);
        let pos = t.find(index)?;
        let PointValue::OctetString { len } = t.entries.get(pos)?.state.value else {
            return None;
        };
        self.octets_at(pos).get(..usize::from(len))
    }

    /// The indices of the points of `ty`, ascending.
    pub fn indices(&self, ty: PointType) -> impl Iterator<Item = u16> + '_ {
        self.table(ty).entries.iter().map(|e| e.index)
    }

    /// Number of points of `ty`.
    pub fn len(&self, ty: PointType) -> usize {
        self.table(ty).entries.len()
    }

    /// True when the database has no points at all.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.entries.is_empty())
    }

    /// Events buffered (reported or not, until confirmed).
    pub fn buffered_events(&self) -> usize {
        self.events.len()
    }

    /// Events buffered for `ty`.
    pub fn buffered_events_of(&self, ty: PointType) -> usize {
        self.events.len_of(ty)
    }

    /// Events created since start.
    pub fn events_created(&self) -> u64 {
        self.events.created()
    }

    /// Events dropped because their buffer was full.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Updates rejected since start (unknown index or bad octet string length).
    pub fn rejected_updates(&self) -> u64 {
        self.rejected
    }

    /// Applies `updates` in order, creating events for points with a class: binary,
    /// double-bit and output status on any change of state or flags; analogs, counters and
    /// frozen counters when |new − last reported| exceeds the deadband or the flags change
    /// (a deadband of 0: on any change); octet strings when the bytes change. Events are stamped with the update's time or `now.wall`.
    pub fn apply(&mut self, now: &Now, updates: &[Update]) -> ApplyReport {
        let mut report = ApplyReport::default();
        for u in updates {
            match self.update(now, u) {
                Some(event) => {
                    report.applied += 1;
                    report.events += usize::from(event);
                }
                None => report.rejected += 1,
            }
        }
        report
    }

    /// Applies one update; `Some(created an event)` or `None` when rejected.
    fn update(&mut self, now: &Now, u: &Update) -> Option<bool> {
        let (ty, index, value, new_flags, time, bytes) = u.parts();
        let time = time.unwrap_or(now.wall);
        let ti = ty.ordinal();
        let Some(pos) = self.tables[ti].find(index) else {
            self.rejected += 1;
            tracing::debug!(ty = ty.name(), index, "update for an unknown point ignored");
            return None;
        };
        if ty == PointType::OctetString && (bytes.is_empty() || bytes.len() > 255) {
            self.rejected += 1;
            return None;
        }
        let octet_changed = ty == PointType::OctetString
            && self.octets_at(pos).get(..bytes.len()) != Some(bytes)
            || matches!(self.tables[ti].entries.get(pos), Some(e) if e.state.value != value);
        if ty == PointType::OctetString {
            if let Some(dst) = self.octets.get_mut(pos * 255..pos * 255 + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        let entry = self.tables[ti].entries.get_mut(pos)?;
        let old = entry.state;
        entry.state = PointState {
            value,
            flags: new_flags,
            time,
        };
        tracing::trace!(
            ty = ty.name(),
            index,
            ?value,
            flags = new_flags,
            "point updated"
        );
        let changed = match (old.value, value) {
            (PointValue::Analog(_), PointValue::Analog(new)) => {
                let delta = (new - entry.reported).abs();
                old.flags != new_flags
                    || delta > entry.deadband
                    || (new.is_nan() != entry.reported.is_nan())
            }
            (PointValue::Counter(_), PointValue::Counter(new)) if entry.deadband > 0.0 => {
                old.flags != new_flags || (f64::from(new) - entry.reported).abs() > entry.deadband
            }
            (PointValue::OctetString { .. }, _) => octet_changed,
            (a, b) => a != b || old.flags != new_flags,
        };
        if !changed {
            return Some(false);
        }
        match value {
            PointValue::Analog(new) => entry.reported = new,
            PointValue::Counter(new) => entry.reported = f64::from(new),
            _ => {}
        }
        if entry.class == EventClass::None {
            return Some(false);
        }
        let event = NewEvent {
            ty,
            index,
            class: entry.class,
            variation: entry.event_variation,
            value,
            flags: new_flags,
            time,
            bytes,
        };
        self.events.push(event);
        Some(true)
    }

    /// Buffers the command event of an executed operate in the class of its output's status
    /// point, with the command `status` (IEEE 1815-2012, Annex A: g13, g43).
    pub(crate) fn command_event(&mut self, now: &Now, event: CommandEvent, status: u8) {
        let t = self.table(event.ty);
        let class = t
            .find(event.index)
            .and_then(|p| t.entries.get(p))
            .map(|e| e.class);
        let Some(class) = class.filter(|&c| c != EventClass::None) else {
            return;
        };
        self.events.push(NewEvent {
            ty: event.ty,
            index: event.index,
            class,
            variation: event.variation,
            value: event.value,
            flags: status,
            time: now.wall,
            bytes: &[],
        });
    }

    /// Copies counters with `start <= index <= stop` (all when `None`) into the frozen
    /// counters of the same index, stamped `now.wall`; with `clear`, the counters then
    /// restart from 0. Every freeze of a frozen counter with a class creates an event.
    pub(crate) fn freeze(&mut self, now: &Now, range: Option<(u32, u32)>, clear: bool) {
        let (start, stop) = range.unwrap_or((0, u32::from(u16::MAX)));
        let counters = self.tables[PointType::Counter.ordinal()].range(start, stop);
        for pos in counters {
            let Some(c) = self.tables[PointType::Counter.ordinal()].entries.get(pos) else {
                continue;
            };
            let (index, counter) = (c.index, c.state);
            let frozen = &mut self.tables[PointType::FrozenCounter.ordinal()];
            if let Some(f) = frozen.find(index).and_then(|p| frozen.entries.get_mut(p)) {
                let old_flags = f.state.flags;
                f.state = PointState {
                    value: counter.value,
                    flags: counter.flags,
                    time: now.wall,
                };
                // Every freeze is an event, unless a deadband asks for a larger change.
                let value = match counter.value {
                    PointValue::Counter(c) => f64::from(c),
                    _ => 0.0,
                };
                let report = f.deadband <= 0.0
                    || old_flags != counter.flags
                    || (value - f.reported).abs() > f.deadband;
                if report {
                    f.reported = value;
                }
                if report && f.class != EventClass::None {
                    let event = NewEvent {
                        ty: PointType::FrozenCounter,
                        index,
                        class: f.class,
                        variation: f.event_variation,
                        value: counter.value,
                        flags: counter.flags,
                        time: now.wall,
                        bytes: &[],
                    };
                    self.events.push(event);
                }
            }
            if clear {
                let u = Update::Counter {
                    index,
                    value: 0,
                    flags: counter.flags,
                    time: Some(now.wall),
                };
                let _ = self.update(now, &u);
            }
        }
    }
}

/// What a control handler gets to change the database while it operates: updates applied
/// at once, creating events like [`Database::apply`].
#[derive(Debug)]
pub struct DatabaseHandle<'a> {
    db: &'a mut Database,
    now: Now,
}

impl<'a> DatabaseHandle<'a> {
    pub(crate) fn new(db: &'a mut Database, now: Now) -> Self {
        DatabaseHandle { db, now }
    }

    /// Applies one update; false when it was rejected (no such point).
    pub fn update(&mut self, update: &Update) -> bool {
        let now = self.now;
        self.db.update(&now, update).is_some()
    }

    /// Read access to the database.
    pub fn database(&self) -> &Database {
        self.db
    }

    /// The time of the request being executed.
    pub fn now(&self) -> Now {
        self.now
    }

    /// Answers this operate later: the response waits (without blocking the executor)
    /// until the application passes the returned token with the final status to
    /// `OutstationSession::complete_control` (or the `Outstation` handle's), or until
    /// `async_control_timeout` runs out (status TIMEOUT). The status the handler returns
    /// is then ignored. `None` when the operate cannot wait: DIRECT_OPERATE_NR, whose
    /// status nobody receives, or a second call for the same operate.
    pub fn defer(&mut self) -> Option<ControlToken> {
        self.db.deferrals.defer()
    }
}

#[cfg(test)]
mod tests;
