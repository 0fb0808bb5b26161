//! A generational slab: stable integer keys for executor-owned objects (actors, sources,
//! timers), so that a stale key held elsewhere never reaches a reused slot.

/// A key into a [`Slab`]: slot index plus the generation the slot had when the value went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    /// Packs the key into one integer (index in the low half).
    pub(crate) fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// Unpacks a key made by [`Key::to_u64`].
    pub(crate) fn from_u64(raw: u64) -> Self {
        Key {
            index: raw as u32,
            generation: (raw >> 32) as u32,
        }
    }

    /// The slot index.
    pub(crate) fn index(self) -> u32 {
        self.index
    }
}

enum Entry<T> {
    Occupied { generation: u32, value: T },
    Vacant { generation: u32 },
}

/// Values addressed by [`Key`]; removed slots are reused with a bumped generation.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.entries[index as usize];
            let generation = match slot {
                Entry::Vacant { generation } => generation.wrapping_add(1),
                Entry::Occupied { generation, .. } => *generation,
            };
            *slot = Entry::Occupied { generation, value };
            return Key { index, generation };
        }
        let index = self.entries.len() as u32;
        self.entries.push(Entry::Occupied {
            generation: 0,
            value,
        });
        Key {
            index,
            generation: 0,
        }
    }

    /// The value under `key`, if it is still there.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.entries.get(key.index as usize) {
            Some(Entry::Occupied { generation, value }) if *generation == key.generation => {
                Some(value)
            }
            _ => None,
        }
    }

    /// The value under `key`, mutably, if it is still there.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.entries.get_mut(key.index as usize) {
            Some(Entry::Occupied { generation, value }) if *generation == key.generation => {
                Some(value)
            }
            _ => None,
        }
    }

    /// The occupied slot at `index` whatever its generation, with its current key.
    pub(crate) fn get_by_index_mut(&mut self, index: u32) -> Option<(Key, &mut T)> {
        match self.entries.get_mut(index as usize) {
            Some(Entry::Occupied { generation, value }) => Some((
                Key {
                    index,
                    generation: *generation,
                },
                value,
            )),
            _ => None,
        }
    }

    /// Removes and returns the value under `key`.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.entries.get_mut(key.index as usize)?;
        match slot {
            Entry::Occupied { generation, .. } if *generation == key.generation => {
                let old = std::mem::replace(
                    slot,
                    Entry::Vacant {
                        generation: key.generation,
                    },
                );
                self.free.push(key.index);
                self.len -= 1;
                match old {
                    Entry::Occupied { value, .. } => Some(value),
                    Entry::Vacant { .. } => None,
                }
            }
            _ => None,
        }
    }

    /// Number of values stored.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Keys of every stored value.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| match entry {
                Entry::Occupied { generation, .. } => Some(Key {
                    index: index as u32,
                    generation: *generation,
                }),
                Entry::Vacant { .. } => None,
            })
            .collect()
    }

    /// Iterates over every stored value with its key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| match entry {
                Entry::Occupied { generation, value } => Some((
                    Key {
                        index: index as u32,
                        generation: *generation,
                    },
                    value,
                )),
                Entry::Vacant { .. } => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_does_not_reach_a_reused_slot() {
        let mut slab = Slab::default();
        let first = slab.insert("a");
        assert_eq!(slab.remove(first), Some("a"));
        let second = slab.insert("b");
        assert_eq!(first.index(), second.index());
        assert_eq!(slab.get(first), None);
        assert_eq!(slab.get(second), Some(&"b"));
        assert_eq!(Key::from_u64(second.to_u64()), second);
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.keys(), vec![second]);
    }
}
