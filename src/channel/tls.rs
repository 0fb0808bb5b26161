//! TLS on a TCP channel: the glue between the socket and the TLS filter. Ciphertext from the
//! socket goes into the filter and its plaintext into the router; the router's output goes
//! into the filter and its ciphertext onto the socket, within the send queue's room.

use super::message::ChannelMsg;
use super::permits::PermitKind;
use super::task::{add, ChannelTask, Connector, Cx};
use crate::clock;
use crate::tls::{TlsError, TlsLayer};
use rdnp3_reactor::{Context, SourceId};
use std::time::Instant;

/// Sends the filter's pending ciphertext within the send queue's room; what does not fit waits
/// for `on_writable` (a refused send registers for it). Also used by dial-in listeners, which
/// handshake before they hand a connection over.
pub(crate) fn send_ciphertext<M>(cx: &mut Context<'_, M>, conn: SourceId, layer: &mut TlsLayer) {
    loop {
        let out = layer.outgoing();
        if out.is_empty() {
            return;
        }
        // Ciphertext is a plain byte stream: it may be cut anywhere.
        let n = cx.send_room(conn).min(out.len());
        if n == 0 {
            let len = out.len();
            if cx.send(conn, out).is_ok() {
                layer.sent(len);
            }
            return;
        }
        if cx.send(conn, &out[..n]).is_err() {
            return;
        }
        layer.sent(n);
    }
}

impl ChannelTask {
    /// The TCP connection is up: start the handshake, bounded by the connect timeout. A client
    /// waits for the manager-wide limit on handshakes to let it (meanwhile the socket is not
    /// read); a server answers at once, since its peer started the handshake and is timing it.
    pub(super) fn tls_start(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        self.conn = Some(source);
        let client = matches!(self.connector, Connector::TcpClient(_));
        if client && !self.take_permit(cx, PermitKind::Handshake) {
            cx.pause_reading(source);
            return;
        }
        self.tls_begin(cx);
    }

    /// The handshake permit came: read the socket again and start the handshake.
    pub(super) fn tls_resume(&mut self, cx: &mut Cx<'_>) {
        match self.conn {
            Some(source) => {
                cx.resume_reading(source);
                self.tls_begin(cx);
            }
            None => self.give_back(PermitKind::Handshake),
        }
    }

    fn tls_begin(&mut self, cx: &mut Cx<'_>) {
        let deadline = cx.now() + self.config.connect_timeout;
        let Some(tls) = &mut self.tls else { return };
        if let Err(e) = tls.start(deadline) {
            self.tls_failed(cx, e);
        }
    }

    /// Ciphertext arrived: decrypt it and hand the plaintext to the router. A handshake
    /// over the executor's budget waits for a later turn (`tls/budget.rs`).
    pub(super) fn tls_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let Some(tls) = &mut self.tls else { return };
        let resumed = tls.holds();
        let data = match tls.admit(cx.turn(), data) {
            Ok(Some(data)) => data,
            Ok(None) => return self.handshake_deferred(cx, source),
            Err(e) => return self.tls_failed(cx, e),
        };
        if resumed {
            cx.resume_reading(source);
        }
        let received = match tls.receive(&data) {
            Ok(r) => r,
            Err(e) => return self.tls_failed(cx, e),
        };
        if received.opened {
            tracing::info!("TLS: {}", tls.describe());
            if received.resumed {
                add(&self.router.counters().tls_resumed, 1);
            }
            // A TLS 1.3 server checks our certificate after our side finished: keep the
            // back-off growing until it answers with data.
            let backoff = self.backoff.clone();
            self.opened(source);
            self.backoff = backoff;
        }
        if let Some(tls) = &self.tls {
            if !tls.plaintext().is_empty() {
                self.backoff.reset();
                self.router.on_bytes(&clock::now(), tls.plaintext());
            }
        }
        if received.peer_closed {
            cx.close(source);
            self.lost(cx, &"closed by the peer (TLS close_notify)");
        }
    }

    /// Encrypts what the router has, within the send room less the records' overhead, and
    /// sends it with any handshake output.
    pub(super) fn pump_tls(&mut self, cx: &mut Cx<'_>, conn: SourceId) {
        let Some(tls) = &mut self.tls else { return };
        let room = tls.plaintext_room(cx.send_room(conn));
        let mut out = super::task::take_out();
        let written = if self.router.poll_send(&clock::now(), &mut out, room) > 0 {
            tls.write(&out)
        } else {
            Ok(())
        };
        super::task::give_back_out(out);
        if let Err(e) = written {
            return self.tls_failed(cx, e);
        }
        send_ciphertext(cx, conn, tls);
    }

    /// A TLS server accepted a connection while one is established: handshake it on the side.
    pub(super) fn start_pending(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        let Some(tls) = &self.tls else { return };
        let mut layer = Box::new(tls.sibling());
        if let Some((older, _)) = self.pending.take() {
            cx.close(older);
        }
        match layer.start(cx.now() + self.config.connect_timeout) {
            Ok(()) => self.pending = Some((source, layer)),
            Err(e) => {
                self.report_tls(&e);
                cx.close(source);
            }
        }
    }

    /// Ciphertext for the connection handshaking on the side; once it has authenticated it
    /// replaces the established connection.
    pub(super) fn pending_data(&mut self, cx: &mut Cx<'_>, source: SourceId, data: &[u8]) {
        let Some((_, mut layer)) = self.pending.take() else {
            return;
        };
        let resumed = layer.holds();
        let data = match layer.admit(cx.turn(), data) {
            Ok(Some(data)) => data,
            Ok(None) => {
                self.pending = Some((source, layer));
                return self.handshake_deferred(cx, source);
            }
            Err(e) => {
                self.report_tls(&e);
                cx.close(source);
                return;
            }
        };
        if resumed {
            cx.resume_reading(source);
        }
        let received = match layer.receive(&data) {
            Ok(r) => r,
            Err(e) => {
                self.report_tls(&e);
                send_ciphertext(cx, source, &mut layer);
                cx.close(source);
                return;
            }
        };
        send_ciphertext(cx, source, &mut layer);
        if !received.opened {
            self.pending = Some((source, layer));
            return;
        }
        if let Some(old) = self.conn {
            cx.close(old);
            self.lost(cx, &"replaced by a new authenticated connection");
        }
        tracing::info!("TLS: {}", layer.describe());
        if received.resumed {
            add(&self.router.counters().tls_resumed, 1);
        }
        self.tls = Some(layer);
        self.opened(source);
        if let Some(tls) = &self.tls {
            if !tls.plaintext().is_empty() {
                self.router.on_bytes(&clock::now(), tls.plaintext());
            }
        }
        if received.peer_closed {
            cx.close(source);
            self.lost(cx, &"closed by the peer (TLS close_notify)");
        }
    }

    /// A handshake step waits for a later turn: stop reading the socket meanwhile and post
    /// the channel a retry (delivered after this turn's I/O and timers).
    fn handshake_deferred(&mut self, cx: &mut Cx<'_>, source: SourceId) {
        cx.pause_reading(source);
        add(&self.router.counters().tls_deferred, 1);
        if !self.handshake_turn_posted {
            // Refused when the mailbox is full: its messages call `resume_handshakes` too.
            self.handshake_turn_posted = cx.handle().post(ChannelMsg::HandshakeTurn).is_ok();
        }
    }

    /// A turn later: deferred handshakes go on, as far as this turn's budget allows.
    pub(super) fn resume_handshakes(&mut self, cx: &mut Cx<'_>) {
        self.handshake_turn_posted = false;
        if let (Some(conn), Some(tls)) = (self.conn, &self.tls) {
            if tls.holds() {
                self.tls_data(cx, conn, &[]);
                if self.conn == Some(conn) {
                    self.check_flood(cx, conn);
                }
            }
        }
        if let Some((source, layer)) = &self.pending {
            if layer.holds() {
                let source = *source;
                self.pending_data(cx, source, &[]);
            }
        }
    }

    /// A TLS failure: report it, send the alert rustls queued, close the connection.
    pub(super) fn tls_failed(&mut self, cx: &mut Cx<'_>, error: TlsError) {
        self.report_tls(&error);
        if let Some(conn) = self.conn {
            if let Some(tls) = &mut self.tls {
                send_ciphertext(cx, conn, tls);
            }
            cx.close(conn);
            self.lost(cx, &error);
        }
    }

    fn report_tls(&mut self, error: &TlsError) {
        tracing::warn!("TLS: {error}");
        add(&self.router.counters().tls_errors, 1);
        if let Some(l) = &mut self.listener {
            l.on_tls_error(error);
        }
    }

    /// The earliest handshake deadline (of the connection, or of one handshaking beside it).
    pub(super) fn tls_deadline(&self) -> Option<Instant> {
        let handshake = self.tls.as_ref().and_then(|l| l.deadline());
        let pending = self.pending.as_ref().and_then(|(_, l)| l.deadline());
        handshake.into_iter().chain(pending).min()
    }

    /// Handshakes past their deadline fail.
    pub(super) fn tls_timer(&mut self, cx: &mut Cx<'_>, now: Instant) {
        let handshake = self.tls.as_ref().and_then(|l| l.deadline());
        let pending = self.pending.as_ref().and_then(|(_, l)| l.deadline());
        if pending.is_some_and(|t| t <= now) {
            if let Some((source, _)) = self.pending.take() {
                self.report_tls(&TlsError::HandshakeTimeout(self.config.connect_timeout));
                cx.close(source);
            }
        }
        if handshake.is_some_and(|t| t <= now) {
            self.tls_failed(cx, TlsError::HandshakeTimeout(self.config.connect_timeout));
        }
    }

    /// A source closed: true when it was the connection handshaking on the side (handled);
    /// for the main connection, reports a handshake cut short and returns false.
    pub(super) fn tls_closed(&mut self, source: SourceId) -> bool {
        if self.pending.as_ref().is_some_and(|(s, _)| *s == source) {
            self.pending = None;
            self.report_tls(&TlsError::HandshakeAborted);
            return true;
        }
        if self.conn == Some(source) && self.tls.as_mut().is_some_and(|l| l.end()) {
            self.report_tls(&TlsError::HandshakeAborted);
        }
        false
    }
}
