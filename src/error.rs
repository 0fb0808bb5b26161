//! What a manager or channel operation can fail with.

use rdnp3_reactor::{PoolError, PostError, WaitError};
use rdnp3_stack::router::AddSessionError;
use std::fmt;

/// Why a manager or channel operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChannelError {
    /// The reactor pool could not start.
    Pool(PoolError),
    /// The channel has shut down.
    Closed,
    /// The channel's mailbox is full; try again later.
    Busy,
    /// The session could not be added.
    Session(AddSessionError),
    /// A blocking call was made on an executor thread (inside a handler or listener), where
    /// waiting could deadlock the executor; use the call's non-blocking form there.
    OnExecutor,
    /// The TLS settings could not be loaded.
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsConfigError),
    /// A dial-in listener could not listen or register an association.
    DialIn(crate::listener::DialInError),
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Pool(e) => write!(f, "reactor pool: {e}"),
            ChannelError::Closed => f.write_str("the channel has shut down"),
            ChannelError::Busy => f.write_str("the channel's mailbox is full"),
            ChannelError::Session(e) => write!(f, "{e}"),
            ChannelError::OnExecutor => f.write_str(
                "a blocking call on an executor thread would deadlock: call it from another thread",
            ),
            #[cfg(feature = "tls")]
            ChannelError::Tls(e) => write!(f, "TLS: {e}"),
            ChannelError::DialIn(e) => write!(f, "dial-in: {e}"),
        }
    }
}

impl std::error::Error for ChannelError {}

impl From<WaitError> for ChannelError {
    fn from(e: WaitError) -> Self {
        match e {
            WaitError::OnExecutor => ChannelError::OnExecutor,
            _ => ChannelError::Closed,
        }
    }
}

impl<M> From<PostError<M>> for ChannelError {
    fn from(e: PostError<M>) -> Self {
        match e {
            PostError::Full(_) => ChannelError::Busy,
            _ => ChannelError::Closed,
        }
    }
}
