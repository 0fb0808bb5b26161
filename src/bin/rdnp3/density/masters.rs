//! The master side: one master association per outstation, each polling classes 1–3 and
//! running integrity polls on its own period; each on its own TCP (or TLS) client channel, or
//! all registered on one dial-in listener that the outstations connect to.

use super::farm::LinkAddresses;
use super::report::StateCounter;
use rdnp3::stack::master::{Classes, MasterConfig, Measurement, ReadHandler, ReadRequest};
use rdnp3::{
    Channel, ChannelConfig, ChannelError, ChannelStats, DialInAssociation, ListenerConfig, Manager,
    Master, MasterListener, TlsConfig,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts the events the masters receive.
struct EventCounter(Arc<AtomicU64>);

impl ReadHandler for EventCounter {
    fn measurement(&mut self, m: &Measurement<'_>) {
        if m.event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The masters of this process.
pub struct Masters {
    /// Their client channels (none on dial-in).
    channels: Vec<Channel>,
    masters: Vec<Master>,
    /// The dial-in listener, if the outstations dial in.
    pub listener: Option<MasterListener>,
    events: Arc<AtomicU64>,
}

/// How every master polls.
pub struct Polling {
    pub poll_ms: u64,
    pub integrity_s: u64,
    pub link: LinkAddresses,
}

impl Polling {
    /// The class 1–3 poll and the integrity poll of one association.
    fn add_polls(&self, master: &Master) -> Result<(), ChannelError> {
        master.add_poll(
            ReadRequest::classes(Classes::EVENTS),
            Duration::from_millis(self.poll_ms.max(1)),
        )?;
        master.add_poll(
            ReadRequest::integrity(),
            Duration::from_secs(self.integrity_s.max(1)),
        )?;
        Ok(())
    }
}

impl Masters {
    /// One client channel and association per outstation address.
    pub fn start(
        manager: &Manager,
        addresses: impl Iterator<Item = SocketAddr>,
        polling: &Polling,
        tls: Option<&TlsConfig>,
        states: &StateCounter,
    ) -> Result<Masters, ChannelError> {
        let events = Arc::new(AtomicU64::new(0));
        let mut channels = Vec::new();
        let mut masters = Vec::new();
        for (i, address) in addresses.enumerate() {
            let config = ChannelConfig::named(format!("master-{i}")).with_keep_alive(None);
            let channel = match tls {
                Some(tls) => {
                    manager.add_tls_client(config, address, tls.clone(), states.listener())
                }
                None => manager.add_tcp_client(config, address, states.listener()),
            }?;
            let config = MasterConfig::default()
                .with_local_address(polling.link.master)
                .with_outstation_address(polling.link.outstation);
            let master = channel.add_master(config, Box::new(EventCounter(events.clone())))?;
            polling.add_polls(&master)?;
            channels.push(channel);
            masters.push(master);
        }
        Ok(Masters {
            channels,
            masters,
            listener: None,
            events,
        })
    }

    /// Dial-in: one listener on `local` and one association per outstation link address
    /// `polling.link.outstation` + i, i < `n`; an association counts as open in `states`
    /// while it is online.
    pub fn dial_in(
        manager: &Manager,
        local: SocketAddr,
        n: usize,
        polling: &Polling,
        states: &StateCounter,
    ) -> Result<Masters, ChannelError> {
        let events = Arc::new(AtomicU64::new(0));
        let config = ListenerConfig::default()
            .with_name("dial-in".into())
            .with_channel(ChannelConfig::named("dial-in").with_keep_alive(None));
        let listener = manager.add_master_listener(config, local, None)?;
        let mut masters = Vec::with_capacity(n);
        for i in 0..n {
            let config = MasterConfig::default()
                .with_local_address(polling.link.master)
                .with_outstation_address(polling.link.outstation.wrapping_add(i as u16));
            let association =
                DialInAssociation::new(config, Box::new(EventCounter(events.clone())))
                    .with_listener(states.association());
            let master = listener.add(association)?;
            polling.add_polls(&master)?;
            masters.push(master);
        }
        Ok(Masters {
            channels: Vec::new(),
            masters,
            listener: Some(listener),
            events,
        })
    }

    /// The link counters of the masters' client channels (none on dial-in).
    pub fn link_stats(&self) -> impl Iterator<Item = ChannelStats> + '_ {
        self.channels.iter().map(Channel::stats)
    }

    /// Events received so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// How many masters there are.
    pub fn len(&self) -> usize {
        self.masters.len()
    }
}
