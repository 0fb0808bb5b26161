//! The executor's timer wheel: millisecond ticks, O(1) insert and cancel, and the exact next
//! deadline for the poll timeout, so an idle executor wakes only when a timer is due.
//!
//! Hierarchical (six levels of 64 slots, level `l` slots spanning `64^l` ms, about 2 000 years
//! in all). A timer sits in the level of the highest base-64 digit where its deadline differs
//! from the current tick; when that slot comes due its timers cascade to lower levels, and
//! only level 0 fires, so timers fire in deadline order (same tick: insertion order).

use crate::slab::{Key, Slab};

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = (SLOTS as u64) - 1;
const NONE: u32 = u32::MAX;

/// A cancellable timer: a handle into the wheel that stays valid (and harmless) after firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(pub(crate) Key);

struct Entry<T> {
    deadline: u64,
    value: T,
    prev: u32,
    next: u32,
    level: u8,
    slot: u8,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// Timers carrying a `T`, keyed by absolute millisecond tick.
pub(crate) struct TimerWheel<T> {
    entries: Slab<Entry<T>>,
    keys: Vec<Key>,
    slots: [[List; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
    elapsed: u64,
}

fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros() as usize;
    (significant / SLOT_BITS as usize).min(LEVELS - 1)
}

impl<T> TimerWheel<T> {
    /// An empty wheel whose clock reads tick 0.
    pub(crate) fn new() -> Self {
        TimerWheel {
            entries: Slab::default(),
            keys: Vec::new(),
            slots: [[List {
                head: NONE,
                tail: NONE,
            }; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            elapsed: 0,
        }
    }

    /// Number of live timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a timer due at `deadline` (a tick in the past fires on the next advance).
    pub(crate) fn insert(&mut self, deadline: u64, value: T) -> TimerId {
        let deadline = deadline.max(self.elapsed);
        let entry = Entry {
            deadline,
            value,
            prev: NONE,
            next: NONE,
            level: 0,
            slot: 0,
        };
        let key = self.entries.insert(entry);
        let index = key.index() as usize;
        if self.keys.len() <= index {
            self.keys.resize(index + 1, key);
        }
        self.keys[index] = key;
        self.link(key);
        TimerId(key)
    }

    /// Removes a live timer and returns its value; `None` if it already fired or was cancelled.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<T> {
        self.entries.get(id.0)?;
        self.unlink(id.0);
        self.entries.remove(id.0).map(|e| e.value)
    }

    /// The value of a live timer.
    pub(crate) fn get(&self, id: TimerId) -> Option<&T> {
        self.entries.get(id.0).map(|e| &e.value)
    }

    /// The earliest tick at which a timer is due, if any.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, deadline)| deadline)
    }

    /// Moves the clock to `now` and pushes every timer due by then, in deadline order.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<(TimerId, T)>) {
        while let Some((level, slot, slot_start)) = self.next_slot() {
            if slot_start > now {
                break;
            }
            self.elapsed = self.elapsed.max(slot_start);
            let mut cursor = self.slots[level][slot].head;
            self.slots[level][slot] = List {
                head: NONE,
                tail: NONE,
            };
            self.occupied[level] &= !(1u64 << slot);
            while cursor != NONE {
                let key = self.keys[cursor as usize];
                let Some(entry) = self.entries.get_mut(key) else {
                    break;
                };
                cursor = entry.next;
                entry.prev = NONE;
                entry.next = NONE;
                if level == 0 {
                    if let Some(entry) = self.entries.remove(key) {
                        fired.push((TimerId(key), entry.value));
                    }
                } else {
                    self.link(key);
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let now_slot = (self.elapsed >> shift) & SLOT_MASK;
            let rotated = occupied.rotate_right(now_slot as u32);
            let slot = (u64::from(rotated.trailing_zeros()) + now_slot) & SLOT_MASK;
            let level_span = 1u64 << (shift + SLOT_BITS);
            let level_start = self.elapsed & !(level_span - 1);
            let mut start = level_start + (slot << shift);
            if start < self.elapsed & !((1u64 << shift) - 1) {
                start += level_span;
            }
            return Some((level, slot as usize, start.max(self.elapsed)));
        }
        None
    }

    fn link(&mut self, key: Key) {
        let elapsed = self.elapsed;
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let level = level_for(elapsed, entry.deadline);
        let slot = ((entry.deadline >> (SLOT_BITS * level as u32)) & SLOT_MASK) as usize;
        entry.level = level as u8;
        entry.slot = slot as u8;
        entry.next = NONE;
        let list = &mut self.slots[level][slot];
        entry.prev = list.tail;
        let index = key.index();
        let old_tail = list.tail;
        if old_tail == NONE {
            list.head = index;
        }
        list.tail = index;
        self.occupied[level] |= 1u64 << slot;
        if old_tail != NONE {
            let tail_key = self.keys[old_tail as usize];
            if let Some(tail) = self.entries.get_mut(tail_key) {
                tail.next = index;
            }
        }
    }

    fn unlink(&mut self, key: Key) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let (prev, next, level, slot) = (
            entry.prev,
            entry.next,
            entry.level as usize,
            entry.slot as usize,
        );
        if prev != NONE {
            let k = self.keys[prev as usize];
            if let Some(e) = self.entries.get_mut(k) {
                e.next = next;
            }
        } else {
            self.slots[level][slot].head = next;
        }
        if next != NONE {
            let k = self.keys[next as usize];
            if let Some(e) = self.entries.get_mut(k) {
                e.prev = prev;
            }
        } else {
            self.slots[level][slot].tail = prev;
        }
        if self.slots[level][slot].head == NONE {
            self.occupied[level] &= !(1u64 << slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(wheel: &mut TimerWheel<u64>, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired.into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn timers_fire_in_deadline_order_across_levels() {
        let mut wheel = TimerWheel::new();
        let mut deadlines: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 300_000).collect();
        for &d in &deadlines {
            wheel.insert(d, d);
        }
        let mut got = Vec::new();
        let mut now = 0;
        while wheel.len() > 0 {
            let next = wheel.next_deadline().unwrap();
            assert!(next >= now);
            now = next;
            got.extend(drain(&mut wheel, now));
        }
        deadlines.sort();
        assert_eq!(got, deadlines);
    }

    #[test]
    fn a_cancelled_timer_never_fires_and_cancel_after_firing_is_harmless() {
        let mut wheel = TimerWheel::new();
        let a = wheel.insert(10, 1);
        let b = wheel.insert(10, 2);
        let c = wheel.insert(10, 3);
        assert_eq!(wheel.cancel(b), Some(2));
        assert_eq!(wheel.cancel(b), None);
        assert_eq!(drain(&mut wheel, 9), Vec::<u64>::new());
        assert_eq!(drain(&mut wheel, 10), vec![1, 3]);
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.cancel(c), None);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn a_far_timer_cascades_down_and_fires_at_its_exact_tick() {
        let mut wheel = TimerWheel::new();
        drain(&mut wheel, 1_000_003);
        wheel.insert(1_070_003, 7);
        let mut now = 1_000_003;
        let mut fired = Vec::new();
        let mut wakes = 0;
        while fired.is_empty() {
            now = wheel.next_deadline().unwrap();
            fired = drain(&mut wheel, now);
            wakes += 1;
        }
        assert_eq!(now, 1_070_003);
        assert_eq!(fired, vec![7]);
        assert!(wakes <= 2 * LEVELS, "{wakes} wake-ups for one timer");
    }

    #[test]
    fn a_deadline_in_the_past_fires_on_the_next_advance() {
        let mut wheel = TimerWheel::new();
        drain(&mut wheel, 500);
        wheel.insert(100, 1);
        assert_eq!(wheel.next_deadline(), Some(500));
        assert_eq!(drain(&mut wheel, 500), vec![1]);
    }
}
