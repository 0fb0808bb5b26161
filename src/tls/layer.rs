//! The TLS filter of a channel: ciphertext in and out, plaintext to and from the router.

#[allow(unused_imports)]
use super::*;

/// Loaded TLS settings of one channel, shared by its successive connections.
#[derive(Clone)]
pub(crate) struct TlsContext {
    pub(super) role: Role,
    pub(super) peer_name: Option<String>,
}

#[derive(Clone)]
pub(super) enum Role {
    Client(Arc<ClientConfig>, ServerName<'static>),
    Server(Arc<ServerConfig>),
}

/// Largest plaintext of one TLS record.
pub(super) const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

/// Bytes a record adds at most: header 5, explicit nonce 8 (TLS 1.2 GCM), tag 16, inner
/// content type 1 (TLS 1.3); rounded up.
pub(super) const RECORD_OVERHEAD: usize = 40;

/// What [`TlsLayer::receive`] found besides plaintext.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// The handshake has just finished: the DNP3 session may start.
    pub(crate) opened: bool,
    /// The peer sent close_notify.
    pub(crate) peer_closed: bool,
    /// The handshake that just finished resumed an earlier session.
    pub(crate) resumed: bool,
}

/// The TLS filter of a channel: one rustls connection per TCP connection.
pub(crate) struct TlsLayer {
    context: TlsContext,
    session: Option<Connection>,
    opened: bool,
    deadline: Option<Instant>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
    /// Ciphertext of a handshake waiting for a turn with budget (`budget.rs`).
    pub(super) held: Vec<u8>,
}

impl TlsLayer {
    pub(crate) fn new(context: TlsContext) -> Self {
        TlsLayer {
            context,
            session: None,
            opened: false,
            deadline: None,
            plaintext: Vec::new(),
            ciphertext: Vec::new(),
            held: Vec::new(),
        }
    }

    /// A second layer with the same configuration (for a connection handshaking beside the
    /// established one).
    pub(crate) fn sibling(&self) -> TlsLayer {
        TlsLayer::new(self.context.clone())
    }

    /// A TCP connection opened: starts a handshake that must finish by `deadline`.
    pub(crate) fn start(&mut self, deadline: Instant) -> Result<(), TlsError> {
        self.end();
        let mut session: Connection = match &self.context.role {
            Role::Client(config, name) => ClientConnection::new(config.clone(), name.clone())
                .map_err(|e| self.classify(e))?
                .into(),
            Role::Server(config) => ServerConnection::new(config.clone())
                .map_err(|e| self.classify(e))?
                .into(),
        };
        // The channel bounds what it writes by the socket's send room instead.
        session.set_buffer_limit(None);
        self.session = Some(session);
        self.deadline = Some(deadline);
        Ok(())
    }

    /// The connection closed; true if it was still handshaking.
    pub(crate) fn end(&mut self) -> bool {
        let handshaking = self.is_handshaking();
        self.session = None;
        self.opened = false;
        self.deadline = None;
        self.ciphertext.clear();
        self.plaintext.clear();
        self.held = Vec::new();
        handshaking
    }

    /// Whether a handshake is running (started, not finished).
    pub(crate) fn is_handshaking(&self) -> bool {
        self.session.is_some() && !self.opened
    }

    /// When the running handshake times out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
            .filter(|_| self.session.is_some() && !self.opened)
    }

    fn classify(&self, e: RustlsError) -> TlsError {
        let handshaking = !self.opened;
        classify(e, self.context.peer_name.as_deref(), handshaking)
    }

    /// Feeds ciphertext from the socket; the plaintext is in [`TlsLayer::plaintext`].
    pub(crate) fn receive(&mut self, data: &[u8]) -> Result<Received, TlsError> {
        self.plaintext.clear();
        let mut received = Received::default();
        let Some(session) = &mut self.session else {
            return Ok(received);
        };
        let mut rest = data;
        while !rest.is_empty() {
            let n = session
                .read_tls(&mut rest)
                .map_err(|e| TlsError::Protocol(e.to_string()))?;
            let state = match session.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    let handshaking = !self.opened && session.is_handshaking();
                    return Err(classify(e, self.context.peer_name.as_deref(), handshaking));
                }
            };
            let ready = state.plaintext_bytes_to_read();
            if ready > 0 {
                let at = self.plaintext.len();
                self.plaintext.resize(at + ready, 0);
                session
                    .reader()
                    .read_exact(&mut self.plaintext[at..])
                    .map_err(|e| TlsError::Protocol(e.to_string()))?;
            }
            if state.peer_has_closed() {
                received.peer_closed = true;
                break;
            }
            if n == 0 {
                break;
            }
        }
        if !self.opened && !session.is_handshaking() {
            self.opened = true;
            received.opened = true;
            received.resumed = session.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        }
        Ok(received)
    }

    /// The negotiated version and cipher suite, for the log.
    pub(crate) fn describe(&self) -> String {
        match &self.session {
            Some(s) => format!(
                "authenticated, {} {}",
                s.protocol_version()
                    .map_or("?", |v| v.as_str().unwrap_or("?")),
                s.negotiated_cipher_suite()
                    .map_or("?", |c| c.suite().as_str().unwrap_or("?")),
            ),
            None => "no session".into(),
        }
    }

    /// The plaintext of the last [`TlsLayer::receive`].
    pub(crate) fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// How much plaintext fits in `room` bytes of send queue once encrypted, after what is
    /// already waiting.
    pub(crate) fn plaintext_room(&self, room: usize) -> usize {
        let free = room.saturating_sub(self.ciphertext.len());
        let records = free / MAX_RECORD_PLAINTEXT + 1;
        free.saturating_sub(records * RECORD_OVERHEAD)
    }

    /// Encrypts plaintext for the peer (it then waits in [`TlsLayer::outgoing`]).
    pub(crate) fn write(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        match &mut self.session {
            Some(session) => session
                .writer()
                .write_all(plaintext)
                .map_err(|e| TlsError::Protocol(e.to_string())),
            None => Ok(()),
        }
    }

    /// Ciphertext waiting to be sent: what rustls produced (handshake, records, alerts) that
    /// the socket has not taken yet. The caller sends what it can and reports it with
    /// [`TlsLayer::sent`]; the filter never touches the socket itself.
    pub(crate) fn outgoing(&mut self) -> &[u8] {
        if let Some(session) = &mut self.session {
            while session.wants_write() {
                match session.write_tls(&mut self.ciphertext) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        &self.ciphertext
    }

    /// The first `n` bytes of [`TlsLayer::outgoing`] were handed to the socket.
    pub(crate) fn sent(&mut self, n: usize) {
        self.ciphertext.drain(..n.min(self.ciphertext.len()));
    }

    /// Queues a close_notify alert for the peer (the fuzz targets close sessions with it;
    /// channels just close the socket).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn send_close_notify(&mut self) {
        if let Some(session) = &mut self.session {
            session.send_close_notify();
        }
    }
}
