//! The master side: one TCP (or TLS) client channel and one master association per
//! outstation, each polling classes 1–3 and running integrity polls on its own period.

use super::farm::LinkAddresses;
use super::report::StateCounter;
use rdnp3::stack::master::{Classes, MasterConfig, Measurement, ReadHandler, ReadRequest};
use rdnp3::{Channel, ChannelConfig, ChannelError, Manager, Master, TlsConfig};
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
    pub masters: Vec<(Channel, Master)>,
    events: Arc<AtomicU64>,
}

/// How every master polls.
pub struct Polling {
    pub poll_ms: u64,
    pub integrity_s: u64,
    pub link: LinkAddresses,
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
            master.add_poll(
                ReadRequest::classes(Classes::EVENTS),
                Duration::from_millis(polling.poll_ms.max(1)),
            )?;
            master.add_poll(
                ReadRequest::integrity(),
                Duration::from_secs(polling.integrity_s.max(1)),
            )?;
            masters.push((channel, master));
        }
        Ok(Masters { masters, events })
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
