//! Event buffers: one bounded ring per point type. A ring grows on demand up to its capacity and
//! keeps its memory, so an idle outstation costs little and a busy one stops allocating once
//! its rings have grown. An event moves
//! Unreported → Selected (chosen for a response) → Written (in a sent fragment) and leaves the
//! buffer only when that fragment is confirmed (IEEE 1815-2012, clause 4); an unconfirmed exchange
//! puts its events back to Unreported so the next poll sends them again.
//!
//! When a ring is full the **oldest** event is dropped and IIN2.3 EVENT_BUFFER_OVERFLOW is
//! set. The bit clears when a confirm removes reported events and every ring has room again
//! (so the master has read events since the loss and new ones fit).

use super::point::{event_variation, to_point, PointState, PointValue};
use crate::app::{FragmentWriter, WriteError};
use crate::objects::{Classes, EventClass};
use crate::objects::{Point, Timestamp, Value, Variation};
use crate::objects::{PointType, TYPE_COUNT};
use std::collections::VecDeque;

/// Bytes reserved per octet string event.
const OCTET_SLOT: usize = 255;

/// Where an event is in its reporting cycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum EventState {
    /// Not part of any response.
    Unreported,
    /// Chosen for the response being built.
    Selected,
    /// Carried by a sent fragment that is not yet confirmed.
    Written,
}

/// One buffered event.
#[derive(Copy, Clone, Debug)]
pub(crate) struct EventRecord {
    /// Creation order across all types (count-limited reads take the oldest first).
    order: u64,
    time: Timestamp,
    value: PointValue,
    index: u16,
    /// The point's configured event variation.
    variation: Variation,
    /// The variation chosen when the event was selected.
    write_as: Variation,
    class: EventClass,
    flags: u8,
    state: EventState,
    /// Octet strings: the slot of its bytes.
    slot: u16,
}

/// The events of one point type.
#[derive(Debug, Default)]
struct EventRing {
    records: VecDeque<EventRecord>,
    capacity: usize,
    /// Octet strings only: `capacity` slots of 255 bytes.
    octets: Vec<u8>,
    free_slots: Vec<u16>,
}

impl EventRing {
    fn new(ty: PointType, capacity: usize) -> Self {
        let octet = ty == PointType::OctetString;
        EventRing {
            records: VecDeque::new(),
            capacity,
            // Octet slots are allocated as they are first used.
            octets: Vec::new(),
            free_slots: if octet {
                (0..capacity as u16).rev().collect()
            } else {
                Vec::new()
            },
        }
    }

    fn has_room(&self) -> bool {
        self.capacity == 0 || self.records.len() < self.capacity
    }
}

/// The bytes of octet string slot `slot`.
fn slot_bytes(octets: &[u8], slot: u16) -> &[u8] {
    let at = usize::from(slot) * OCTET_SLOT;
    octets.get(at..at + OCTET_SLOT).unwrap_or(&[])
}

/// Smallest room for a CTO and a header with one relative-time event: g51 (3 + 1 + 6),
/// a qualifier-28 header (5) and one object with its index (2 + 3).
const CTO_ROOM: usize = 10 + 5 + 5;

/// Writes the CTO of a fragment's relative-time events (IEEE 1815-2012, Annex A: g51v1
/// when the outstation's time is synchronised, g51v2 otherwise); false when no relative
/// event would fit after it.
fn write_cto(w: &mut FragmentWriter<'_>, time: Timestamp, unsynchronized: bool) -> bool {
    if w.remaining() < CTO_ROOM {
        return false;
    }
    let v = if unsynchronized {
        Variation::Group51Var2
    } else {
        Variation::Group51Var1
    };
    w.single(v, &Point::new(0, Value::None).with_time(time))
        .is_ok()
}

/// True when `time` can be written relative to `cto` (16-bit milliseconds, not before it).
fn relative_fits(cto: Timestamp, time: Timestamp) -> bool {
    time.0.checked_sub(cto.0).is_some_and(|d| d <= 0xFFFF)
}

/// An event to buffer.
#[derive(Copy, Clone, Debug)]
pub(crate) struct NewEvent<'a> {
    pub ty: PointType,
    pub index: u16,
    pub class: EventClass,
    pub variation: Variation,
    pub value: PointValue,
    pub flags: u8,
    pub time: Timestamp,
    /// Octet strings: the bytes.
    pub bytes: &'a [u8],
}

/// Which events a selection takes.
#[derive(Copy, Clone, Debug)]
pub(crate) enum EventFilter {
    /// Events of these classes, each in its configured variation.
    Classes(Classes),
    /// Events of one type (any class), in the given variation or the configured one.
    Type(PointType, Option<Variation>),
}

/// The event buffers of one outstation.
#[derive(Debug, Default)]
pub(crate) struct EventBuffers {
    rings: [EventRing; TYPE_COUNT],
    next_order: u64,
    overflow: bool,
    created: u64,
    dropped: u64,
}

impl EventBuffers {
    /// Rings with these capacities (index = [`PointType::ordinal`]).
    pub fn new(capacities: [usize; TYPE_COUNT]) -> Self {
        EventBuffers {
            rings: std::array::from_fn(|i| EventRing::new(PointType::ALL[i], capacities[i])),
            ..EventBuffers::default()
        }
    }

    /// Buffers an event, dropping the oldest of its type when the ring is full.
    pub fn push(&mut self, e: NewEvent<'_>) {
        self.created += 1;
        let ring = &mut self.rings[e.ty.ordinal()];
        if ring.capacity == 0 {
            self.dropped += 1;
            self.overflow = true;
            return;
        }
        if ring.records.len() >= ring.capacity {
            if let Some(old) = ring.records.pop_front() {
                if e.ty == PointType::OctetString {
                    ring.free_slots.push(old.slot);
                }
            }
            self.dropped += 1;
            self.overflow = true;
            tracing::debug!(ty = e.ty.name(), "event buffer full: oldest event dropped");
        }
        let mut slot = 0;
        if e.ty == PointType::OctetString {
            let Some(s) = ring.free_slots.pop() else {
                self.dropped += 1;
                return;
            };
            slot = s;
            let at = usize::from(s) * OCTET_SLOT;
            if ring.octets.len() < at + OCTET_SLOT {
                ring.octets.resize(at + OCTET_SLOT, 0);
            }
            let n = e.bytes.len().min(OCTET_SLOT);
            if let Some(dst) = ring.octets.get_mut(at..at + n) {
                dst.copy_from_slice(&e.bytes[..n]);
            }
        }
        let variation = event_variation(e.variation, &e.value);
        ring.records.push_back(EventRecord {
            order: self.next_order,
            time: e.time,
            value: e.value,
            index: e.index,
            variation,
            write_as: variation,
            class: e.class,
            flags: e.flags,
            state: EventState::Unreported,
            slot,
        });
        self.next_order += 1;
    }

    /// The variation `r` is written with under `filter`, or `None` when it is not eligible.
    fn eligible(ty: PointType, r: &EventRecord, filter: EventFilter) -> Option<Variation> {
        if r.state != EventState::Unreported {
            return None;
        }
        match filter {
            EventFilter::Classes(mask) if mask.includes(r.class) => Some(r.variation),
            EventFilter::Type(t, v) if t == ty && r.class != EventClass::None => Some(match v {
                // Only events of the requested group change variation: octet strings keep
                // their length, command events (g13, g43) their group.
                Some(v)
                    if !matches!(r.value, PointValue::OctetString { .. })
                        && v.numbers().0 == r.variation.numbers().0 =>
                {
                    v
                }
                _ => r.variation,
            }),
            _ => None,
        }
    }

    /// Selects up to `limit` unreported events matching `filter`, oldest first across types.
    pub fn select(&mut self, filter: EventFilter, limit: Option<u32>) -> u32 {
        let limit = limit.unwrap_or(u32::MAX);
        let mut pos = [0usize; TYPE_COUNT];
        let mut n = 0;
        while n < limit {
            let mut best: Option<(usize, u64, Variation)> = None;
            for (t, ring) in self.rings.iter().enumerate() {
                let ty = PointType::ALL[t];
                while let Some(r) = ring.records.get(pos[t]) {
                    if let Some(v) = Self::eligible(ty, r, filter) {
                        if best.is_none_or(|(_, o, _)| r.order < o) {
                            best = Some((t, r.order, v));
                        }
                        break;
                    }
                    pos[t] += 1;
                }
            }
            let Some((t, _, v)) = best else { break };
            if let Some(r) = self.rings[t].records.get_mut(pos[t]) {
                r.state = EventState::Selected;
                r.write_as = v;
            }
            pos[t] += 1;
            n += 1;
        }
        n
    }

    /// Puts every selected or written event back to unreported (an exchange was abandoned).
    pub fn unselect_all(&mut self) {
        for r in self.rings.iter_mut().flat_map(|r| r.records.iter_mut()) {
            r.state = EventState::Unreported;
        }
    }

    /// Puts selected events that did not fit in the fragment back to unreported.
    pub fn release_unwritten(&mut self) {
        for r in self.rings.iter_mut().flat_map(|r| r.records.iter_mut()) {
            if r.state == EventState::Selected {
                r.state = EventState::Unreported;
            }
        }
    }

    /// True when selected events are still waiting to be written.
    #[cfg(test)]
    pub fn has_selected(&self) -> bool {
        self.records().any(|r| r.state == EventState::Selected)
    }

    /// Removes the events of a confirmed fragment; returns how many.
    pub fn remove_written(&mut self) -> usize {
        let mut removed = 0;
        for (ring, ty) in self.rings.iter_mut().zip(PointType::ALL) {
            let EventRing {
                records,
                free_slots,
                ..
            } = ring;
            let octet = ty == PointType::OctetString;
            records.retain(|r| {
                if r.state != EventState::Written {
                    return true;
                }
                if octet {
                    free_slots.push(r.slot);
                }
                removed += 1;
                false
            });
        }
        if removed > 0 && self.overflow && self.rings.iter().all(EventRing::has_room) {
            self.overflow = false;
        }
        removed
    }

    /// Writes selected events into `w` (qualifier 28, one header per run of the same
    /// variation) and marks them written. Returns the number written and whether every
    /// selected event fitted. Relative-time events (g2v3, g4v3) follow one CTO per fragment
    /// (g51v1, or g51v2 when the outstation's clock is `unsynchronized`): the first of them
    /// sets it, and one more than 65 535 ms after it (or before it) ends the fragment.
    pub fn write_selected(
        &mut self,
        w: &mut FragmentWriter<'_>,
        unsynchronized: bool,
    ) -> (u32, bool) {
        let mut wrote = 0;
        let mut cto: Option<Timestamp> = None;
        for ring in &mut self.rings {
            let EventRing {
                records, octets, ..
            } = ring;
            let mut i = 0;
            while i < records.len() {
                let Some(first) = records.get(i) else { break };
                if first.state != EventState::Selected {
                    i += 1;
                    continue;
                }
                let v = first.write_as;
                let relative = v.needs_cto();
                if relative && cto.is_none() {
                    if !write_cto(w, first.time, unsynchronized) {
                        return (wrote, false);
                    }
                    cto = Some(first.time);
                }
                let Ok(mut h) = w.prefixed(v, true) else {
                    return (wrote, false);
                };
                if let (true, Some(c)) = (relative, cto) {
                    h.set_cto(c);
                }
                while let Some(r) = records.get_mut(i) {
                    if r.state != EventState::Selected {
                        i += 1;
                        continue;
                    }
                    if r.write_as != v {
                        break;
                    }
                    if relative && !cto.is_some_and(|c| relative_fits(c, r.time)) {
                        h.finish();
                        return (wrote, false);
                    }
                    let bytes = slot_bytes(octets, r.slot);
                    let state = PointState {
                        value: r.value,
                        flags: r.flags,
                        time: r.time,
                    };
                    let mut point = to_point(r.index, v, &state, bytes);
                    if matches!(v.numbers().0, 13 | 43) {
                        // Command events carry the command status in the flags' place.
                        point = point.with_status(r.flags);
                    }
                    match h.push(&point) {
                        Ok(()) => {
                            tracing::trace!(?v, index = r.index, "event written");
                            r.state = EventState::Written;
                            wrote += 1;
                            i += 1;
                        }
                        Err(WriteError::FragmentFull) => {
                            h.finish();
                            return (wrote, false);
                        }
                        Err(_) => {
                            // Cannot be encoded in this variation: report it as lost.
                            tracing::warn!(?v, index = r.index, "event not encodable; dropped");
                            r.state = EventState::Written;
                            i += 1;
                        }
                    }
                }
                h.finish();
            }
        }
        (wrote, true)
    }

    fn records(&self) -> impl Iterator<Item = &EventRecord> {
        self.rings.iter().flat_map(|r| r.records.iter())
    }

    /// The classes that have events not yet written in a fragment (IIN1.1–1.3).
    pub fn unreported_classes(&self) -> Classes {
        self.records()
            .filter(|r| r.state != EventState::Written)
            .fold(Classes::NONE, |m, r| m.union(Classes::from(r.class)))
    }

    /// True when unreported events of `mask` are buffered.
    pub fn has_unreported(&self, mask: Classes) -> bool {
        self.records()
            .any(|r| r.state == EventState::Unreported && mask.includes(r.class))
    }

    /// True once an event was dropped, until the rule in the module docs clears it.
    pub fn overflow(&self) -> bool {
        self.overflow
    }

    /// Events buffered now.
    pub fn len(&self) -> usize {
        self.rings.iter().map(|r| r.records.len()).sum()
    }

    /// Events buffered now for `ty`.
    pub fn len_of(&self, ty: PointType) -> usize {
        self.rings[ty.ordinal()].records.len()
    }

    /// Events created since start.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Events dropped because a buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The bytes of an octet string event (tests).
    #[cfg(test)]
    fn first_octets(&self) -> Option<&[u8]> {
        let ring = &self.rings[PointType::OctetString.ordinal()];
        let r = ring.records.front()?;
        let PointValue::OctetString { len } = r.value else {
            return None;
        };
        slot_bytes(&ring.octets, r.slot).get(..usize::from(len))
    }
}

#[cfg(test)]
mod tests;
