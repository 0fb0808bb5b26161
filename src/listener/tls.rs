//! TLS on a dial-in listener. The handshake runs here, before the connection is identified:
//! the link address is inside the encrypted stream, and an outstation must authenticate (its
//! certificate chains to the configured CA) before the listener acts on anything it says.
//! Once the first frame identifies it (or, binding by peer IP, once the handshake is done)
//! the established TLS session moves with the descriptor to the association's channel, with
//! any ciphertext still to send (the end of a TLS 1.2 handshake): the channel sends it first
//! and goes on with the same session. The first-frame timeout bounds handshake and frame
//! together.

use super::first_frame::Identified;
use super::task::{ListenerMsg, ListenerTask};
use crate::channel::send_ciphertext;
use crate::config::DialInBinding;
use rdnp3_reactor::{Context, SourceId};

impl ListenerTask {
    /// Ciphertext from a connection handshaking on the listener.
    pub(super) fn tls_pending_data(
        &mut self,
        cx: &mut Context<'_, ListenerMsg>,
        source: SourceId,
        data: &[u8],
    ) {
        let by_peer = self.config.binding == DialInBinding::PeerIp;
        let Some(pending) = self.pending.get_mut(&source) else {
            return;
        };
        let peer = pending.peer;
        let Some(layer) = pending.tls.as_mut() else {
            return;
        };
        let resumed = layer.holds();
        let data = match layer.admit(cx.turn(), data) {
            Ok(Some(data)) => data,
            Ok(None) => return self.handshake_deferred(cx, source),
            Err(e) => {
                self.release(cx, source);
                self.counters.add(|c| &c.tls_errors);
                tracing::warn!("closed {peer}: TLS: {e}");
                return;
            }
        };
        if resumed {
            cx.resume_reading(source);
        }
        let received = match layer.receive(&data) {
            Ok(received) => received,
            Err(e) => {
                // The alert rustls queued, then the connection closes.
                send_ciphertext(cx, source, layer);
                self.release(cx, source);
                self.counters.add(|c| &c.tls_errors);
                tracing::warn!("closed {peer}: TLS: {e}");
                return;
            }
        };
        if received.opened {
            tracing::debug!("{peer}: TLS: {}", layer.describe());
        }
        let outcome = if layer.plaintext().is_empty() {
            Identified::NeedMore
        } else {
            pending.first.push(layer.plaintext())
        };
        if by_peer && received.opened {
            return self.conclude_by_peer(cx, source);
        }
        if received.peer_closed && outcome == Identified::NeedMore {
            self.release(cx, source);
            self.counters.add(|c| &c.abandoned);
            tracing::info!("{peer} closed its TLS session before identifying itself");
            return;
        }
        if outcome == Identified::NeedMore || by_peer {
            // Still handshaking (or waiting for the first frame): answer the peer here.
            send_ciphertext(cx, source, layer);
            if by_peer {
                return;
            }
        }
        self.conclude(cx, source, outcome);
    }

    /// A handshake step waits for a later turn (`tls/budget.rs`): stop reading the socket
    /// meanwhile and post the listener a retry (delivered after this turn's I/O and timers).
    fn handshake_deferred(&mut self, cx: &mut Context<'_, ListenerMsg>, source: SourceId) {
        cx.pause_reading(source);
        self.counters.add(|c| &c.tls_deferred);
        if !self.handshake_turn_posted {
            // Refused when the mailbox is full: its messages call `resume_handshakes` too.
            self.handshake_turn_posted = cx.handle().post(ListenerMsg::HandshakeTurn).is_ok();
        }
    }

    /// A turn later: deferred handshakes go on, as far as this turn's budget allows (the
    /// others wait again).
    pub(super) fn resume_handshakes(&mut self, cx: &mut Context<'_, ListenerMsg>) {
        self.handshake_turn_posted = false;
        let waiting: Vec<SourceId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.tls.as_ref().is_some_and(|l| l.holds()))
            .map(|(source, _)| *source)
            .collect();
        for source in waiting {
            self.tls_pending_data(cx, source, &[]);
        }
    }
}
