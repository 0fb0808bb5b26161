//! Channel settings, states and the listener that reports state changes.

use rdnp3_stack::router::DecodeLevel;
use std::net::IpAddr;
use std::time::Duration;

/// What a TCP server does when a second master connects.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum ServerPolicy {
    /// Close the existing connection and serve the new one (the usual choice: a master that
    /// reconnects after a silent network failure is served at once).
    #[default]
    CloseExisting,
    /// Keep the existing connection and refuse the new one.
    RejectNew,
}

/// Settings common to every channel. Build it from [`ChannelConfig::named`] or `default()`
/// and the `with_*` setters, so that new settings are not a breaking change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct ChannelConfig {
    /// Name used in logs.
    pub name: String,
    /// First reconnect delay; doubles after every failure up to `max_retry`.
    #[cfg_attr(feature = "serde", serde(with = "rdnp3_stack::serde_support::millis"))]
    pub min_retry: Duration,
    /// Longest reconnect delay.
    #[cfg_attr(feature = "serde", serde(with = "rdnp3_stack::serde_support::millis"))]
    pub max_retry: Duration,
    /// Silence after which a REQUEST_LINK_STATUS is sent (`None`: no keep-alive).
    #[cfg_attr(
        feature = "serde",
        serde(with = "rdnp3_stack::serde_support::option_millis")
    )]
    pub keep_alive: Option<Duration>,
    /// How long to wait for the LINK_STATUS answer before the connection is closed.
    #[cfg_attr(feature = "serde", serde(with = "rdnp3_stack::serde_support::millis"))]
    pub link_timeout: Duration,
    /// TCP connect timeout; on TLS channels it also bounds the handshake.
    #[cfg_attr(feature = "serde", serde(with = "rdnp3_stack::serde_support::millis"))]
    pub connect_timeout: Duration,
    /// Traffic logging.
    pub decode: DecodeLevel,
    /// Servers: accept only masters from these addresses (`None`: any).
    pub allow_list: Option<Vec<IpAddr>>,
    /// Servers: what to do when a second master connects.
    pub server_policy: ServerPolicy,
    /// Unusable input a connection may bring per second — bytes that are no valid frame, valid
    /// frames addressed to no session — before the channel closes it and backs off (a client
    /// waits longer after each such close until a connection brings a useful frame); `None`:
    /// no limit. Default 64 KiB: a line's occasional noise stays far below it, a peer
    /// flooding garbage is dropped within a millisecond of reading.
    pub unusable_limit: Option<u64>,
    /// Servers: connections accepted per second at most; the rest are closed at once and
    /// counted (`rate_refused`), so a connection flood — TLS handshakes above all — cannot
    /// take the executor's time. `None`: no limit. Default 100 (a server serves one master).
    pub max_accepts_per_second: Option<u32>,
}

impl ChannelConfig {
    /// Defaults with a name.
    pub fn named(name: impl Into<String>) -> Self {
        ChannelConfig {
            name: name.into(),
            ..ChannelConfig::default()
        }
    }
}

rdnp3_stack::setters!(ChannelConfig {
    name: String => with_name,
    min_retry: Duration => with_min_retry,
    max_retry: Duration => with_max_retry,
    keep_alive: Option<Duration> => with_keep_alive,
    link_timeout: Duration => with_link_timeout,
    connect_timeout: Duration => with_connect_timeout,
    decode: DecodeLevel => with_decode,
    allow_list: Option<Vec<IpAddr>> => with_allow_list,
    server_policy: ServerPolicy => with_server_policy,
    unusable_limit: Option<u64> => with_unusable_limit,
    max_accepts_per_second: Option<u32> => with_max_accepts_per_second,
});

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            name: "channel".into(),
            min_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            keep_alive: Some(Duration::from_secs(60)),
            link_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            decode: DecodeLevel::Nothing,
            allow_list: None,
            server_policy: ServerPolicy::CloseExisting,
            unusable_limit: Some(64 * 1024),
            max_accepts_per_second: Some(100),
        }
    }
}

/// The life cycle of a channel's connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelState {
    /// Connecting (clients), listening (servers) or opening the port (serial).
    Connecting,
    /// A connection is open; sessions are talking.
    Open,
    /// The connection closed; a client or serial port waits for its reconnect delay.
    Closed,
    /// The channel was shut down for good.
    Shutdown,
    /// A user callback on the channel (read handler, association or channel listener,
    /// control handler, outstation application) panicked. The executor caught it and runs on;
    /// this channel is closed for good: its pending requests fail, its handles report
    /// [`crate::ChannelError::Closed`], and the panic is logged at error with its message.
    Failed,
}

/// Receives a channel's state changes. Runs on the channel's executor: it must not block.
pub trait ChannelListener: Send {
    /// The state changed.
    fn on_state(&mut self, state: ChannelState);

    /// A TLS handshake or connection failed; the connection is closed (a client retries after
    /// its back-off). The error is also logged at warn.
    #[cfg(feature = "tls")]
    fn on_tls_error(&mut self, error: &crate::tls::TlsError) {
        let _ = error;
    }
}

impl<F: FnMut(ChannelState) + Send> ChannelListener for F {
    fn on_state(&mut self, state: ChannelState) {
        self(state)
    }
}

/// How a dial-in listener tells which registered outstation a new connection belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum DialInBinding {
    /// By the link source address of the first valid link frame the outstation sends (its
    /// unsolicited null response or a link-status request): the usual choice, since cellular
    /// outstations get changing addresses. The outstation must speak first.
    #[default]
    LinkAddress,
    /// By the peer's IP address, at once when the connection is accepted (outstations with
    /// fixed addresses that stay silent until polled).
    PeerIp,
}

/// Settings of a dial-in listener ([`crate::Manager::add_master_listener`]): one listening
/// endpoint that many outstations connect to. Build it from `default()` and the `with_*`
/// setters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct ListenerConfig {
    /// Name used in logs; each association's channel is named `<name>/<outstation address>`.
    pub name: String,
    /// How a connection is matched with its association.
    pub binding: DialInBinding,
    /// What happens when an outstation that is already connected connects again:
    /// [`ServerPolicy::CloseExisting`] (default: cellular links often leave half-open
    /// connections behind) or [`ServerPolicy::RejectNew`].
    pub policy: ServerPolicy,
    /// Connections accepted but not yet identified, at most; more are closed and counted.
    /// Each holds two descriptors (the one read and the one handed over) and at most
    /// `first_frame_budget` bytes.
    pub max_pending: usize,
    /// How long a new connection may take to send its first valid link frame.
    #[cfg_attr(feature = "serde", serde(with = "rdnp3_stack::serde_support::millis"))]
    pub first_frame_timeout: Duration,
    /// Bytes a new connection may send before its first valid link frame completes (a frame
    /// is at most 292 bytes).
    pub first_frame_budget: usize,
    /// Template of every association's channel settings (keep-alive, link timeout, traffic
    /// logging; on TLS listeners `connect_timeout` bounds the handshake). Its name, retry
    /// delays, allow-list and server policy are not used.
    pub channel: ChannelConfig,
    /// Connections accepted per second at most; the rest are closed at once and counted
    /// (`rate_refused`). `None`: no limit. Default 2 000: after an outage ten thousand
    /// outstations are all back within seconds, while a flood of strangers (each a TLS
    /// handshake) cannot take the executor's time.
    pub max_accepts_per_second: Option<u32>,
}

rdnp3_stack::setters!(ListenerConfig {
    name: String => with_name,
    binding: DialInBinding => with_binding,
    policy: ServerPolicy => with_policy,
    max_pending: usize => with_max_pending,
    first_frame_timeout: Duration => with_first_frame_timeout,
    first_frame_budget: usize => with_first_frame_budget,
    channel: ChannelConfig => with_channel,
    max_accepts_per_second: Option<u32> => with_max_accepts_per_second,
});

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            name: "dial-in".into(),
            binding: DialInBinding::LinkAddress,
            policy: ServerPolicy::CloseExisting,
            max_pending: 1024,
            first_frame_timeout: Duration::from_secs(10),
            first_frame_budget: 1024,
            channel: ChannelConfig::default(),
            max_accepts_per_second: Some(2000),
        }
    }
}
