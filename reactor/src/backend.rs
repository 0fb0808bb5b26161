//! Choosing the I/O backend: io_uring when the kernel allows it, epoll otherwise.

use std::fmt;
use std::io;

use crate::error::PoolError;
use crate::sys;

/// Which kernel interface the executors use for I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// Probe io_uring at start-up and fall back to epoll where the kernel refuses it.
    #[default]
    Auto,
    /// io_uring only; building the pool fails if it is unavailable.
    IoUring,
    /// epoll only (edge-triggered readiness).
    Epoll,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::IoUring => "io_uring",
            Backend::Epoll => "epoll",
        })
    }
}

impl Backend {
    /// Whether this backend can run in this process; the error says why not (for example
    /// `EPERM` when the `kernel.io_uring_disabled` sysctl forbids it, `ENOSYS` on old kernels).
    pub fn check(self) -> io::Result<()> {
        match self {
            // The probe ring is set up on a short-lived thread: a thread that ever set up a
            // ring gets io_uring task work, and the caller's own blocking system calls could
            // then fail with EINTR.
            Backend::IoUring => std::thread::scope(|s| {
                s.spawn(sys::uring::probe)
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the io_uring probe panicked")))
            }),
            Backend::Auto | Backend::Epoll => Ok(()),
        }
    }

    /// Turns `Auto` into the backend that will run, and verifies a forced one.
    pub(crate) fn resolve(self) -> Result<Backend, PoolError> {
        match self {
            Backend::Auto => match Backend::IoUring.check() {
                Ok(()) => Ok(Backend::IoUring),
                Err(e) => {
                    tracing::info!(reason = %e, "io_uring is not available; falling back to epoll");
                    Ok(Backend::Epoll)
                }
            },
            Backend::IoUring => {
                Backend::IoUring
                    .check()
                    .map(|()| Backend::IoUring)
                    .map_err(|source| PoolError::BackendUnavailable {
                        backend: self,
                        source,
                    })
            }
            Backend::Epoll => Ok(Backend::Epoll),
        }
    }
}
