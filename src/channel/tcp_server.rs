//! TCP server channels: listen, accept one master connection at a time (allow-list, policy for
//! a second master), and listen again after the listener fails.

use super::task::{ChannelTask, Connector, Cx};
use crate::config::{ChannelState, ServerPolicy};
use rdnp3_reactor::SourceId;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

/// Where a server listens.
pub(crate) struct TcpServer {
    pub(crate) local: SocketAddr,
    /// The listening socket, while it is open.
    pub(crate) listener: Option<SourceId>,
    /// When to try listening again after a failure.
    pub(crate) relisten_at: Option<Instant>,
    /// Connections taken in the current second.
    rate: rdnp3_stack::rate::PerSecond,
}

impl TcpServer {
    pub(crate) fn new(local: SocketAddr) -> Self {
        TcpServer {
            local,
            listener: None,
            relisten_at: None,
            rate: Default::default(),
        }
    }
}

impl ChannelTask {
    /// Opens the listening socket; on failure tries again after the back-off.
    pub(super) fn listen(&mut self, cx: &mut Cx<'_>) {
        let Connector::TcpServer(server) = &mut self.connector else {
            return;
        };
        server.relisten_at = None;
        match cx.listen(server.local) {
            Ok((id, addr)) => {
                server.listener = Some(id);
                tracing::info!("listening on {addr}");
                self.set_state(ChannelState::Connecting);
            }
            Err(e) => {
                tracing::warn!("cannot listen on {}: {e}", server.local);
                server.relisten_at = Some(cx.now() + self.backoff.next_delay());
            }
        }
    }

    /// The listener closed on its own: listen again after the back-off.
    pub(super) fn listener_closed(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        if let Connector::TcpServer(server) = &mut self.connector {
            if server.listener == Some(source) {
                server.listener = None;
                server.relisten_at = Some(cx.now() + self.backoff.next_delay());
            }
        }
    }

    /// A master connected: check the allow-list, apply the second-master policy, adopt it.
    pub(super) fn accepted(&mut self, cx: &mut Cx<'_>, stream: TcpStream, peer: SocketAddr) {
        let limit = self.config.max_accepts_per_second;
        if let Connector::TcpServer(server) = &mut self.connector {
            if !server.rate.admit(cx.now(), limit) {
                super::task::add(&self.router.counters().rate_refused, 1);
                tracing::debug!("refused {peer}: over the accept rate limit");
                return;
            }
        }
        if let Some(allow) = &self.config.allow_list {
            // A dual-stack listener ([::]) sees IPv4 masters as ::ffff:a.b.c.d.
            let ip = peer.ip().to_canonical();
            if !allow.iter().any(|a| a.to_canonical() == ip) {
                tracing::warn!("refused {peer}: not on the allow-list");
                return;
            }
        }
        #[cfg(feature = "tls")]
        if self.conn.is_some()
            && self.tls.is_some()
            && self.config.server_policy == ServerPolicy::CloseExisting
        {
            match cx.adopt_tcp(stream) {
                Ok(source) => {
                    tracing::info!(
                        "accepted {peer}: handshaking beside the established connection"
                    );
                    self.start_pending(cx, source);
                }
                Err(e) => tracing::warn!("cannot adopt {peer}: {e}"),
            }
            self.reschedule(cx);
            return;
        }
        if let Some(old) = self.conn {
            match self.config.server_policy {
                ServerPolicy::RejectNew => {
                    tracing::warn!("refused {peer}: a master is already connected");
                    return;
                }
                ServerPolicy::CloseExisting => {
                    cx.close(old);
                    self.lost(cx, &"replaced by a new connection");
                }
            }
        }
        match cx.adopt_tcp(stream) {
            Ok(source) => {
                tracing::info!("accepted {peer}");
                self.connection_up(cx, source);
                self.pump(cx);
            }
            Err(e) => tracing::warn!("cannot adopt {peer}: {e}"),
        }
    }
}
