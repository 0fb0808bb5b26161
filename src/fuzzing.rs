//! Not API: the crate-private TLS filter, opened up for the cargo-fuzz targets in `fuzz/`
//! (feature `fuzzing`, off by default, hidden from the docs). Each method forwards to the
//! filter the channels use, so the targets exercise exactly the code that meets the network.

use crate::tls::{TlsConfig, TlsConfigError, TlsError};
use std::net::SocketAddr;
use std::time::Instant;

/// Loaded TLS settings of one side; [`TlsContext::layer`] makes a fresh filter from it as a
/// channel does for each connection (sharing its session caches, so later handshakes resume).
#[derive(Clone)]
pub struct TlsContext(crate::tls::TlsContext);

impl TlsContext {
    /// The client side of `config`, connecting to `remote` (used as the server name when
    /// `config` sets no peer name).
    pub fn client(config: &TlsConfig, remote: SocketAddr) -> Result<Self, TlsConfigError> {
        config.client_context(remote).map(TlsContext)
    }

    /// The server side of `config`.
    pub fn server(config: &TlsConfig) -> Result<Self, TlsConfigError> {
        config.server_context().map(TlsContext)
    }

    /// A new filter, idle until [`TlsLayer::start`].
    pub fn layer(&self) -> TlsLayer {
        TlsLayer(crate::tls::TlsLayer::new(self.0.clone()))
    }
}

/// What one [`TlsLayer::receive`] found besides plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The handshake has just finished.
    pub opened: bool,
    /// The peer sent close_notify.
    pub peer_closed: bool,
    /// The handshake that just finished resumed an earlier session.
    pub resumed: bool,
}

/// The TLS filter of one connection: ciphertext in and out, plaintext to and from the router.
pub struct TlsLayer(crate::tls::TlsLayer);

impl TlsLayer {
    /// A connection opened: starts a handshake (a client queues its ClientHello).
    pub fn start(&mut self, deadline: Instant) -> Result<(), TlsError> {
        self.0.start(deadline)
    }

    /// The connection closed; true if it was still handshaking.
    pub fn end(&mut self) -> bool {
        self.0.end()
    }

    /// Ciphertext from the peer at executor turn `turn`, through the per-turn handshake
    /// budget as the channels pass it: the bytes to [`TlsLayer::receive`] now (with any held
    /// before them), or `None` when they are held for a later turn.
    pub fn admit(&mut self, turn: u64, data: &[u8]) -> Result<Option<Vec<u8>>, TlsError> {
        self.0
            .admit(turn, data)
            .map(|admitted| admitted.map(|d| d.into_owned()))
    }

    /// Whether ciphertext is held for a later turn.
    pub fn holds(&self) -> bool {
        self.0.holds()
    }

    /// Feeds ciphertext from the peer; the plaintext is in [`TlsLayer::plaintext`].
    pub fn receive(&mut self, data: &[u8]) -> Result<Received, TlsError> {
        self.0.receive(data).map(|r| Received {
            opened: r.opened,
            peer_closed: r.peer_closed,
            resumed: r.resumed,
        })
    }

    /// The plaintext of the last [`TlsLayer::receive`].
    pub fn plaintext(&self) -> &[u8] {
        self.0.plaintext()
    }

    /// How much plaintext fits in `room` bytes of send queue once encrypted.
    pub fn plaintext_room(&self, room: usize) -> usize {
        self.0.plaintext_room(room)
    }

    /// Encrypts plaintext for the peer.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        self.0.write(plaintext)
    }

    /// Ciphertext waiting to be sent.
    pub fn outgoing(&mut self) -> &[u8] {
        self.0.outgoing()
    }

    /// The first `n` bytes of [`TlsLayer::outgoing`] were sent.
    pub fn sent(&mut self, n: usize) {
        self.0.sent(n)
    }

    /// Queues a close_notify alert.
    pub fn send_close_notify(&mut self) {
        self.0.send_close_notify()
    }
}
