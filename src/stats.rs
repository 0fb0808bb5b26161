//! The statistics of every master association, readable in one call per channel or per
//! manager: each association publishes a copy of its counters into a [`StatsSlot`] when a task
//! ends, an unsolicited response arrives or its link goes up or down; the channel keeps weak
//! references to its associations' slots and the manager weak references to its channels, so
//! reading them never waits for an executor and removed associations and dropped channels
//! simply vanish.

use rdnp3_stack::master::{MasterStats, StatsSlot};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The statistics of one master association, with where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssociationStats {
    /// The name of its channel.
    pub channel: Arc<str>,
    /// The master's own link address.
    pub local_address: u16,
    /// The outstation's link address.
    pub outstation_address: u16,
    /// The counters, as the association last published them.
    pub stats: MasterStats,
}

/// The stats slots of one channel's master associations.
#[derive(Debug)]
pub(crate) struct ChannelMasters {
    name: Arc<str>,
    slots: Mutex<Vec<Weak<StatsSlot>>>,
}

impl ChannelMasters {
    pub(crate) fn new(name: Arc<str>) -> Self {
        ChannelMasters {
            name,
            slots: Mutex::new(Vec::new()),
        }
    }

    /// Lists a new association's slot (and forgets those of removed associations).
    pub(crate) fn register(&self, slot: &Arc<StatsSlot>) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(slot));
    }

    /// Appends the statistics of every association still on the channel.
    pub(crate) fn collect(&self, out: &mut Vec<AssociationStats>) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|s| s.strong_count() > 0);
        out.extend(
            slots
                .iter()
                .filter_map(Weak::upgrade)
                .map(|slot| AssociationStats {
                    channel: self.name.clone(),
                    local_address: slot.local_address(),
                    outstation_address: slot.outstation_address(),
                    stats: slot.read(),
                }),
        );
    }
}

/// The manager's list of its channels, held weakly: a channel is listed while a handle on it
/// (its [`crate::Channel`] or one of its [`crate::Master`]s) exists.
#[derive(Debug, Default)]
pub(crate) struct ChannelRegistry {
    channels: Mutex<Vec<Weak<ChannelMasters>>>,
    /// The list's length when dropped channels were last forgotten.
    swept: AtomicUsize,
}

impl ChannelRegistry {
    /// Lists a new channel. Dropped ones are forgotten once the list has doubled since the
    /// last sweep (and on every read), so adding ten thousand channels stays linear.
    pub(crate) fn register(&self, channel: &Arc<ChannelMasters>) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if channels.len() >= 2 * self.swept.load(Ordering::Relaxed).max(16) {
            channels.retain(|c| c.strong_count() > 0);
            self.swept.store(channels.len(), Ordering::Relaxed);
        }
        channels.push(Arc::downgrade(channel));
    }

    /// The statistics of every association of every listed channel.
    pub(crate) fn collect(&self) -> Vec<AssociationStats> {
        let live: Vec<Arc<ChannelMasters>> = {
            let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
            channels.retain(|c| c.strong_count() > 0);
            self.swept.store(channels.len(), Ordering::Relaxed);
            channels.iter().filter_map(Weak::upgrade).collect()
        };
        let mut out = Vec::new();
        for channel in live {
            channel.collect(&mut out);
        }
        out
    }

    /// Calls `f` with the statistics of every association of every listed channel, one
    /// channel at a time (no list of them all is built). Channels added or dropped meanwhile
    /// may be missed.
    pub(crate) fn for_each(&self, f: &mut dyn FnMut(&AssociationStats)) {
        let mut one = Vec::new();
        for i in 0.. {
            let channel = {
                let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
                match channels.get(i) {
                    Some(c) => c.upgrade(),
                    None => break,
                }
            };
            if let Some(channel) = channel {
                channel.collect(&mut one);
                one.iter().for_each(&mut *f);
                one.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdnp3_stack::master::{MasterConfig, MasterSession, NullReadHandler};

    fn session(outstation: u16) -> MasterSession {
        let config = MasterConfig::default().with_outstation_address(outstation);
        MasterSession::new(config, Box::new(NullReadHandler))
    }

    #[test]
    fn removed_associations_and_dropped_channels_vanish_from_the_registries() {
        let registry = ChannelRegistry::default();
        let channels: Vec<Arc<ChannelMasters>> = (0..10)
            .map(|c| Arc::new(ChannelMasters::new(format!("channel-{c}").into())))
            .collect();
        for c in &channels {
            registry.register(c);
        }
        let sessions: Vec<MasterSession> = (0..1000).map(session).collect();
        for (i, s) in sessions.iter().enumerate() {
            channels[i % 10].register(&s.stats_slot());
        }
        assert_eq!(registry.collect().len(), 1000);

        // Every other association removed (the odd outstation addresses).
        let _kept: Vec<MasterSession> = sessions.into_iter().step_by(2).collect();
        let all = registry.collect();
        assert_eq!(all.len(), 500);
        assert!(all.iter().all(|a| a.outstation_address % 2 == 0));
        let mut visited = Vec::new();
        registry.for_each(&mut |a| visited.push(a.clone()));
        assert_eq!(
            visited, all,
            "visiting sees what collecting lists, in the same order"
        );

        drop(channels);
        assert!(registry.collect().is_empty(), "no handle keeps a channel");
        let fresh = Arc::new(ChannelMasters::new("fresh".into()));
        registry.register(&fresh);
        assert_eq!(
            lock(&registry.channels).len(),
            1,
            "reading forgot the dropped channels"
        );
        // Registering alone forgets them too, once the list has doubled.
        for _ in 0..100 {
            registry.register(&Arc::new(ChannelMasters::new("gone".into())));
        }
        assert!(
            lock(&registry.channels).len() <= 40,
            "the list stays bounded"
        );
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
