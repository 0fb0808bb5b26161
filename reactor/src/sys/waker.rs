//! The wake-up of a sleeping executor: one eventfd per executor, written by other threads
//! and read (or watched) by the executor's driver.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::RwLock;

use nix::sys::eventfd::{EfdFlags, EventFd};

use super::fd::errno;

/// An eventfd that other threads write to wake one executor.
///
/// The descriptor is closed by [`Waker::close`] when the executor exits, so a late wake from a
/// handle that outlives the pool never writes to a reused descriptor number.
pub(crate) struct Waker {
    fd: RwLock<Option<EventFd>>,
    raw: RawFd,
}

impl Waker {
    /// A new non-blocking, close-on-exec eventfd.
    pub(crate) fn new() -> io::Result<Self> {
        let fd =
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(errno)?;
        let raw = fd.as_raw_fd();
        Ok(Waker {
            fd: RwLock::new(Some(fd)),
            raw,
        })
    }

    /// The descriptor, for the owning executor's driver to watch.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.raw
    }

    /// Wakes the executor (a no-op once it has exited).
    pub(crate) fn wake(&self) {
        if let Ok(guard) = self.fd.read() {
            if let Some(fd) = guard.as_ref() {
                // EAGAIN means the counter is already non-zero: a wake is pending anyway.
                let _ = fd.write(1);
            }
        }
    }

    /// Closes the descriptor; called by the executor after its driver is gone.
    pub(crate) fn close(&self) {
        if let Ok(mut guard) = self.fd.write() {
            guard.take();
        }
    }
}
