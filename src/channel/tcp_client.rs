//! TCP client channels: connect to the outstation (or master), and reconnect with back-off
//! after a failed attempt or a lost connection.

use super::permits::PermitKind;
use super::task::{add, ChannelTask, Connector, Cx};
use crate::config::ChannelState;
use rdnp3_reactor::SourceId;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// Where a client connects and when it tries again.
pub(crate) struct TcpClient {
    pub(crate) remote: SocketAddr,
    /// When the next attempt is due (`None`: connected, or an attempt is under way).
    pub(crate) reconnect_at: Option<Instant>,
    /// Attempts so far.
    pub(crate) attempts: u64,
}

impl TcpClient {
    pub(crate) fn new(remote: SocketAddr) -> Self {
        TcpClient {
            remote,
            reconnect_at: None,
            attempts: 0,
        }
    }
}

impl ChannelTask {
    /// Starts a connection attempt (a retry counts as a reconnect), once the manager-wide
    /// limit on attempts in flight lets it (until then the channel waits, `Connecting`).
    pub(super) fn connect(&mut self, cx: &mut Cx<'_>) {
        if !matches!(self.connector, Connector::TcpClient(_)) {
            return;
        }
        if !self.take_permit(cx, PermitKind::Connect) {
            if let Connector::TcpClient(client) = &mut self.connector {
                client.reconnect_at = None;
            }
            self.set_state(ChannelState::Connecting);
            return;
        }
        let Connector::TcpClient(client) = &mut self.connector else {
            return;
        };
        client.reconnect_at = None;
        if client.attempts > 0 {
            add(&self.router.counters().reconnects, 1);
        }
        client.attempts += 1;
        let remote = client.remote;
        self.set_state(ChannelState::Connecting);
        if let Err(e) = cx.connect(remote, self.config.connect_timeout) {
            tracing::warn!("connect to {remote} failed: {e}");
            self.give_back(PermitKind::Connect);
            self.schedule_retry(cx);
        }
    }

    /// A connection attempt finished.
    pub(super) fn connected(&mut self, cx: &mut Cx<'_>, source: SourceId, result: io::Result<()>) {
        self.give_back(PermitKind::Connect);
        match result {
            Ok(()) => {
                self.connection_up(cx, source);
                self.pump(cx);
            }
            Err(e) => {
                tracing::info!("connect failed: {e}");
                self.schedule_retry(cx);
                self.reschedule(cx);
            }
        }
    }
}
