//! Why a session could not be added to a router.

use std::fmt;

/// Why a session could not be added.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddSessionError {
    /// Another session of this channel already uses this local/remote address pair.
    DuplicateAddress {
        /// The local address.
        local: u16,
        /// The remote address.
        remote: u16,
    },
    /// The address is reserved or a broadcast address.
    InvalidAddress(u16),
}

impl fmt::Display for AddSessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddSessionError::DuplicateAddress { local, remote } => {
                write!(
                    f,
                    "a session {local} <-> {remote} already exists on this channel"
                )
            }
            AddSessionError::InvalidAddress(a) => write!(f, "{a} is not a station address"),
        }
    }
}

impl std::error::Error for AddSessionError {}
