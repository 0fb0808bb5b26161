//! Creating a dial-in association: its router and master session, its channel (spawned
//! anywhere in the pool, with the dial-in connector) and its entries in the listener's maps.

use super::task::{Cx, ListenerTask, Registered};
use super::{DialInAssociation, DialInError};
use crate::channel::{ChannelTask, Connector, DialIn};
use crate::clock;
use crate::config::DialInBinding;
use crate::error::ChannelError;
use crate::master::Master;
use crate::stats::ChannelMasters;
use rdnp3_stack::master::MasterSession;
use rdnp3_stack::router::{ChannelCounters, Router, SessionKind};
use std::sync::Arc;

impl ListenerTask {
    /// Creates the association's channel (anywhere in the pool) and lists it.
    pub(super) fn register(
        &mut self,
        cx: &mut Cx<'_>,
        association: DialInAssociation,
    ) -> Result<Master, ChannelError> {
        let address = association.config.outstation_address;
        if self.by_address.contains_key(&address) {
            return Err(ChannelError::DialIn(DialInError::DuplicateAddress(address)));
        }
        let peer_ip = association.peer_ip.map(|ip| ip.to_canonical());
        if self.config.binding == DialInBinding::PeerIp {
            let ip = peer_ip.ok_or(ChannelError::DialIn(DialInError::NoPeerIp(address)))?;
            if self.by_ip.contains_key(&ip) {
                return Err(ChannelError::DialIn(DialInError::DuplicatePeer(ip)));
            }
        }
        let mut config = self.config.channel.clone();
        config.name = format!("{}/{address}", self.config.name);
        let name: Arc<str> = config.name.clone().into();
        let counters = Arc::new(ChannelCounters::default());
        let mut router = Router::new(
            name.clone(),
            counters,
            config.decode,
            config.keep_alive,
            config.link_timeout,
        );
        let mut session = MasterSession::new(association.config, association.handler);
        if let Some(listener) = association.listener {
            session.set_listener(listener);
        }
        let slot = session.stats_slot();
        let id = router
            .add(&clock::now(), SessionKind::Master(Box::new(session)))
            .map_err(ChannelError::Session)?;
        let connector = Connector::DialIn(DialIn {
            counters: self.counters.clone(),
            policy: self.config.policy,
        });
        let task = ChannelTask::new(router, config, connector, None);
        let channel = cx.spawner().spawn(task).map_err(|_| ChannelError::Closed)?;
        let masters = Arc::new(ChannelMasters::new(name));
        masters.register(&slot);
        self.registry.register(&masters);
        if self.config.binding == DialInBinding::PeerIp {
            if let Some(ip) = peer_ip {
                self.by_ip.insert(ip, address);
            }
        }
        self.by_address.insert(
            address,
            Registered {
                channel: channel.clone(),
                peer_ip,
            },
        );
        Ok(Master::new(channel, id, masters))
    }
}
