//! Dial-in channels: the channel of one association on a master listener
//! ([`crate::MasterListener`]). It never connects or listens itself: the listener accepts
//! the outstation's connection, identifies it, and posts it here once (the descriptor plus
//! the bytes already read). A second connection for the same outstation replaces the first
//! or is refused, by the listener's policy.

use super::task::{ChannelTask, Connector, Cx};
use crate::clock;
use crate::config::ServerPolicy;
use crate::listener::ListenerCounters;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[cfg(feature = "tls")]
use crate::tls::TlsLayer;

/// The connector of a dial-in association's channel.
pub(crate) struct DialIn {
    /// The listener's counters (replaced and refused connections are counted here).
    pub(crate) counters: Arc<ListenerCounters>,
    /// What a second connection for a connected outstation does.
    pub(crate) policy: ServerPolicy,
}

/// An identified connection handed from the listener to the association's channel.
pub(crate) struct DialInConnection {
    /// The connected socket (the listener no longer reads it).
    pub(crate) stream: TcpStream,
    /// The outstation's address.
    pub(crate) peer: SocketAddr,
    /// What the outstation sent before the hand-off (plaintext): fed to the router first.
    pub(crate) received: Vec<u8>,
    /// TLS listeners: the session the listener authenticated the outstation with.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Box<TlsLayer>>,
}

impl ChannelTask {
    /// Adopts a connection from the listener, replacing or refusing for the one in place.
    pub(super) fn dial_in(&mut self, cx: &mut Cx<'_>, connection: DialInConnection) {
        let Connector::DialIn(dial_in) = &self.connector else {
            return;
        };
        let counters = dial_in.counters.clone();
        let DialInConnection {
            stream,
            peer,
            received,
            #[cfg(feature = "tls")]
            tls,
        } = connection;
        if let Some(old) = self.conn {
            match dial_in.policy {
                ServerPolicy::RejectNew => {
                    counters.refused_duplicate.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("refused {peer}: the outstation is already connected");
                    return;
                }
                ServerPolicy::CloseExisting => {
                    counters.replaced.fetch_add(1, Ordering::Relaxed);
                    cx.close(old);
                    self.lost(cx, &"replaced by a new connection");
                }
            }
        }
        match cx.adopt_tcp(stream) {
            Ok(source) => {
                tracing::info!("outstation connected from {peer}");
                #[cfg(feature = "tls")]
                if let Some(layer) = tls {
                    tracing::info!("TLS: {}", layer.describe());
                    self.tls = Some(layer);
                }
                self.opened(source);
                if !received.is_empty() {
                    self.router.on_bytes(&clock::now(), &received);
                }
            }
            Err(e) => tracing::warn!("cannot adopt the connection from {peer}: {e}"),
        }
    }
}
