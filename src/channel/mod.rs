//! Channels: one connection (TCP client or server, TLS, a serial port, or a dial-in outstation
//! handed over by a master listener) on the reactor,
//! carrying one or more DNP3 sessions routed by link address. The [`Channel`] handle posts to
//! the channel's actor (`task.rs`), which owns the connection — one file per kind of
//! connection — and drives the protocol's router.

mod backoff;
mod dial_in;
mod message;
mod permits;
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
use rdnp3_reactor::{completion, Completion, Handle, Promise};
use rdnp3_stack::master::{AssociationListener, MasterConfig, MasterSession, ReadHandler};
use rdnp3_stack::outstation::{
    ControlHandler, Database, OutstationApplication, OutstationConfig, OutstationSession,
};
use rdnp3_stack::router::{AddSessionError, ChannelCounters, ChannelStats, SessionKind};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A completion that already holds `value`: for calls that fail before anything is posted.
pub(crate) fn ready<T>(value: T) -> Completion<T> {
    let (promise, done) = completion();
    promise.complete(value);
    done
}

/// Posts the removal of session `id`; the completion says whether it was there.
pub(crate) fn remove_session(
    handle: &Handle<ChannelMsg>,
    id: u32,
) -> Completion<Result<bool, ChannelError>> {
    let (promise, done) = completion();
    let removed = Promise::map(promise, Ok);
    match handle.post(ChannelMsg::RemoveSession(id, removed)) {
        Ok(()) => done,
        Err(e) => ready(Err(e.into())),
    }
}

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

    /// Posts a session; `finish` turns its id into the handle the caller gets. The completion
    /// carries the post's failure too, so callers see one result.
    fn add_session_async<H: Send + 'static>(
        &self,
        kind: SessionKind,
        finish: impl FnOnce(u32) -> H + Send + 'static,
    ) -> Completion<Result<H, ChannelError>> {
        let (promise, done) = completion();
        let added = Promise::map(promise, move |r: Result<u32, AddSessionError>| {
            r.map(finish).map_err(ChannelError::Session)
        });
        if let Err(e) = self.handle.post(ChannelMsg::AddSession(kind, added)) {
            return ready(Err(e.into()));
        }
        done
    }

    /// Adds a master association; measurements go to `handler`. Blocks until it is added: from
    /// async code or a reactor callback use [`Channel::add_master_async`].
    pub fn add_master(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Result<Master, ChannelError> {
        self.add_master_async(config, handler).wait()?
    }

    /// [`Channel::add_master`] without blocking: the completion yields the handle once the
    /// channel has the association. Dropping the completion does not undo the add.
    pub fn add_master_async(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Completion<Result<Master, ChannelError>> {
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
        self.add_master_with_listener_async(config, handler, listener)
            .wait()?
    }

    /// [`Channel::add_master_with_listener`] without blocking.
    pub fn add_master_with_listener_async(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
        listener: Box<dyn AssociationListener>,
    ) -> Completion<Result<Master, ChannelError>> {
        let mut session = MasterSession::new(config, handler);
        session.set_listener(listener);
        self.add_master_session(session)
    }

    fn add_master_session(
        &self,
        mut session: MasterSession,
    ) -> Completion<Result<Master, ChannelError>> {
        // Associations are numbered in the order they are added, so that first polls of those
        // added or reconnected together spread evenly over their period (with equal link
        // addresses on every channel too).
        static ASSOCIATIONS: AtomicU64 = AtomicU64::new(0);
        session.set_poll_seed(ASSOCIATIONS.fetch_add(1, Ordering::Relaxed));
        let slot = session.stats_slot();
        let handle = self.handle.clone();
        let masters = self.masters.clone();
        self.add_session_async(SessionKind::Master(Box::new(session)), move |id| {
            masters.register(&slot);
            Master::new(handle, id, masters)
        })
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
    /// it is added: from async code or a reactor callback use
    /// [`Channel::add_outstation_async`].
    pub fn add_outstation(
        &self,
        config: OutstationConfig,
        database: Database,
        controls: Box<dyn ControlHandler + Send>,
        application: Box<dyn OutstationApplication + Send>,
    ) -> Result<Outstation, ChannelError> {
        self.add_outstation_async(config, database, controls, application)
            .wait()?
    }

    /// [`Channel::add_outstation`] without blocking. Dropping the completion does not undo the
    /// add.
    pub fn add_outstation_async(
        &self,
        config: OutstationConfig,
        database: Database,
        controls: Box<dyn ControlHandler + Send>,
        application: Box<dyn OutstationApplication + Send>,
    ) -> Completion<Result<Outstation, ChannelError>> {
        let session = OutstationSession::new(config, database, controls, application);
        let handle = self.handle.clone();
        self.add_session_async(SessionKind::Outstation(Box::new(session)), move |id| {
            Outstation::new(handle, id)
        })
    }

    /// Shuts the channel down: its sessions fail what is pending and the connection closes.
    pub fn shutdown(&self) {
        let _ = self.handle.post(ChannelMsg::Shutdown);
    }
}
