//! Channels: one connection (TCP client or server, TLS, a serial port, or a dial-in outstation
//! handed over by a master listener) on the reactor,
//! carrying one or more DNP3 sessions routed by link address. The [`Channel`] handle posts to
//! the channel's actor (`task.rs`), which owns the connection — one file per kind of
//! connection — and drives the protocol's router.

mod backoff;
mod dial_in;
mod message;
#[cfg(feature = "serial")]
mod serial;
mod task;
mod tcp_client;
mod tcp_server;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use dial_in::{DialIn, DialInConnection};
pub(crate) use message::{ChannelMsg, MasterOp, OutstationOp};
#[cfg(feature = "serial")]
pub(crate) use serial::SerialLine;
pub(crate) use task::{ChannelTask, Connector};
pub(crate) use tcp_client::TcpClient;
pub(crate) use tcp_server::TcpServer;
#[cfg(feature = "tls")]
pub(crate) use tls::send_ciphertext;

use crate::error::ChannelError;
use crate::master::Master;
use crate::outstation::Outstation;
use crate::stats::{AssociationStats, ChannelMasters};
use rdnp3_reactor::{completion, Handle};
use rdnp3_stack::master::{AssociationListener, MasterConfig, MasterSession, ReadHandler};
use rdnp3_stack::outstation::{
    ControlHandler, Database, OutstationApplication, OutstationConfig, OutstationSession,
};
use rdnp3_stack::router::{ChannelCounters, ChannelStats, SessionKind};
use std::fmt;
use std::sync::Arc;

/// A channel: one connection and the sessions it carries. Cheap to clone.
#[derive(Clone)]
pub struct Channel {
    pub(crate) handle: Handle<ChannelMsg>,
    pub(crate) counters: Arc<ChannelCounters>,
    pub(crate) name: Arc<str>,
    pub(crate) masters: Arc<ChannelMasters>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").field("name", &self.name).finish()
    }
}

impl Channel {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The counters, readable at any time.
    pub fn stats(&self) -> ChannelStats {
        self.counters.snapshot()
    }

    /// Adds a session and waits until the channel has it. Do not call it from a callback
    /// running on the reactor (it blocks).
    fn add_session(&self, kind: SessionKind) -> Result<u32, ChannelError> {
        let (promise, done) = completion();
        self.handle.post(ChannelMsg::AddSession(kind, promise))?;
        done.wait()?.map_err(ChannelError::Session)
    }

    /// Adds a master association; measurements go to `handler`. Blocks until it is added.
    pub fn add_master(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Result<Master, ChannelError> {
        self.add_master_session(MasterSession::new(config, handler))
    }

    /// Adds a master association whose health — online/offline, every task's result, IIN
    /// changes, restarts, unsolicited activity — goes to `listener` (it runs on the reactor and
    /// must not block); measurements go to `handler`. Blocks until it is added.
    pub fn add_master_with_listener(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
        listener: Box<dyn AssociationListener>,
    ) -> Result<Master, ChannelError> {
        let mut session = MasterSession::new(config, handler);
        session.set_listener(listener);
        self.add_master_session(session)
    }

    fn add_master_session(&self, session: MasterSession) -> Result<Master, ChannelError> {
        let slot = session.stats_slot();
        let id = self.add_session(SessionKind::Master(Box::new(session)))?;
        self.masters.register(&slot);
        Ok(Master::new(self.handle.clone(), id, self.masters.clone()))
    }

    /// The statistics of every master association on the channel, as each last published
    /// them (when a task ended, an unsolicited response arrived or the link went up or down),
    /// read without a round trip to the channel's executor.
    pub fn master_stats(&self) -> Vec<AssociationStats> {
        let mut out = Vec::new();
        self.masters.collect(&mut out);
        out
    }

    /// Adds an outstation serving `database`; controls go to `controls`, time writes and
    /// restarts to `application` (both run on the reactor and must not block). Blocks until
    /// it is added: do not call it from a reactor callback.
    pub fn add_outstation(
        &self,
        config: OutstationConfig,
        database: Database,
        controls: Box<dyn ControlHandler + Send>,
        application: Box<dyn OutstationApplication + Send>,
    ) -> Result<Outstation, ChannelError> {
        let session = OutstationSession::new(config, database, controls, application);
        let id = self.add_session(SessionKind::Outstation(Box::new(session)))?;
        Ok(Outstation::new(self.handle.clone(), id))
    }

    /// Shuts the channel down: its sessions fail what is pending and the connection closes.
    pub fn shutdown(&self) {
        let _ = self.handle.post(ChannelMsg::Shutdown);
    }
}
