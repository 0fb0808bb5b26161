//! The process's file-descriptor limit: every connection, listener and serial port is one
//! descriptor, and each executor holds a few more (its ring or epoll set, its eventfd).

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::io;

/// The open-file limits of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FdLimit {
    /// The soft limit in force (what `open`, `accept` and `socket` are held to).
    pub soft: u64,
    /// The hard limit (the most an unprivileged process may raise the soft limit to).
    pub hard: u64,
    /// The soft limit before [`raise_fd_limit`] changed it (equal to `soft` when unchanged).
    pub was: u64,
}

/// Raises the soft open-file limit to the hard one and returns the limits. Servers that hold
/// thousands of connections need far more than the usual soft default of 1024; the hard limit
/// is what the administrator allows (`ulimit -Hn`, `LimitNOFILE=` in a systemd unit).
pub fn raise_fd_limit() -> io::Result<FdLimit> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(io::Error::from)?;
    }
    let (now, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    Ok(FdLimit {
        soft: now,
        hard,
        was: soft,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_the_limit_leaves_the_soft_limit_at_the_hard_one() {
        let limit = raise_fd_limit().expect("getrlimit works");
        assert_eq!(limit.soft, limit.hard);
        assert!(limit.was <= limit.soft);
        assert_eq!(raise_fd_limit().expect("again").was, limit.soft);
    }
}
