//! File-descriptor and socket helpers shared by both drivers: non-blocking mode, socket
//! creation, accept, reads and writes with errno turned into `io::Error`.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{
    self, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, SockaddrStorage,
};

/// Converts a nix errno into an `io::Error`.
pub(crate) fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Puts `fd` into (or out of) non-blocking mode.
pub(crate) fn set_nonblocking(fd: &impl AsRawFd, nonblocking: bool) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    let flags = fcntl(raw, FcntlArg::F_GETFL).map_err(errno)?;
    let mut flags = OFlag::from_bits_truncate(flags);
    flags.set(OFlag::O_NONBLOCK, nonblocking);
    fcntl(raw, FcntlArg::F_SETFL(flags)).map_err(errno)?;
    Ok(())
}

/// Disables Nagle's algorithm: the reactor's users exchange small request/response frames.
pub(crate) fn set_nodelay(fd: &impl AsFd) -> io::Result<()> {
    socket::setsockopt(fd, sockopt::TcpNoDelay, &true).map_err(errno)
}

/// A new TCP socket for `addr`'s family, close-on-exec, blocking or not.
pub(crate) fn tcp_socket(addr: &SocketAddr, nonblocking: bool) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    socket::socket(family, SockType::Stream, flags, None).map_err(errno)
}

/// A listening TCP socket bound to `addr` with `SO_REUSEADDR` and the system's largest
/// accept backlog (bursts of connects are common), plus the address it got.
pub(crate) fn tcp_listener(addr: &SocketAddr) -> io::Result<(OwnedFd, SocketAddr)> {
    let fd = tcp_socket(addr, false)?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(errno)?;
    socket::bind(fd.as_raw_fd(), &sockaddr(addr)).map_err(errno)?;
    socket::listen(&fd, socket::Backlog::MAXCONN).map_err(errno)?;
    let listener = std::net::TcpListener::from(fd);
    let local = listener.local_addr()?;
    Ok((OwnedFd::from(listener), local))
}

/// The outcome of starting a non-blocking connect.
pub(crate) enum ConnectStart {
    /// Connected at once (possible on loopback).
    Done,
    /// In progress; writability tells when it ends.
    InProgress,
}

/// Starts a connect on a non-blocking socket.
pub(crate) fn start_connect(fd: &OwnedFd, addr: &SockaddrStorage) -> io::Result<ConnectStart> {
    match socket::connect(fd.as_raw_fd(), addr) {
        Ok(()) => Ok(ConnectStart::Done),
        Err(Errno::EINPROGRESS) | Err(Errno::EINTR) => Ok(ConnectStart::InProgress),
        Err(e) => Err(errno(e)),
    }
}

/// The pending error of a socket (`SO_ERROR`): how a non-blocking connect ended.
pub(crate) fn take_socket_error(fd: &OwnedFd) -> io::Result<()> {
    match socket::getsockopt(fd, sockopt::SocketError).map_err(errno)? {
        0 => Ok(()),
        code => Err(io::Error::from_raw_os_error(code)),
    }
}

/// Takes ownership of a descriptor the kernel just handed us (accept, io_uring accept).
pub(crate) fn owned_from_raw(raw: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor the kernel has just returned to this process as a new
    // open file (accept4 or an io_uring accept completion); nothing else owns or closes it.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Takes ownership of the descriptor behind a configured serial port.
#[cfg(feature = "serial")]
pub(crate) fn owned_from_serial(port: serialport::TTYPort) -> OwnedFd {
    let raw = std::os::fd::IntoRawFd::into_raw_fd(port);
    // SAFETY: `into_raw_fd` consumes the port and transfers its open descriptor to us; the
    // port no longer closes it, so the new `OwnedFd` is its only owner.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// What a non-blocking accept returned.
pub(crate) enum Accept {
    /// A new connection and its peer address.
    Stream(TcpStream, SocketAddr),
    /// No connection is waiting.
    WouldBlock,
}

/// Accepts one connection (close-on-exec; non-blocking if asked).
pub(crate) fn accept(listener: &OwnedFd, nonblocking: bool) -> io::Result<Accept> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    loop {
        match socket::accept4(listener.as_raw_fd(), flags) {
            Ok(raw) => {
                return stream_from_accepted(owned_from_raw(raw)).map(|(s, a)| Accept::Stream(s, a))
            }
            Err(Errno::EINTR) | Err(Errno::ECONNABORTED) => continue,
            Err(Errno::EAGAIN) => return Ok(Accept::WouldBlock),
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Wraps an accepted descriptor as a stream with TCP_NODELAY and reads its peer address.
pub(crate) fn stream_from_accepted(fd: OwnedFd) -> io::Result<(TcpStream, SocketAddr)> {
    set_nodelay(&fd)?;
    let stream = TcpStream::from(fd);
    let peer = stream.peer_addr()?;
    Ok((stream, peer))
}

/// The outcome of one non-blocking read or write.
pub(crate) enum Transfer {
    /// This many bytes moved (0 on a read means end of stream).
    Done(usize),
    /// The descriptor is not ready.
    WouldBlock,
}

/// Reads once into `buf`, retrying on EINTR.
pub(crate) fn read(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Transfer> {
    loop {
        match nix::unistd::read(fd.as_raw_fd(), buf) {
            Ok(n) => return Ok(Transfer::Done(n)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(Transfer::WouldBlock),
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Writes once from `buf` (`send` with MSG_NOSIGNAL on sockets, so a reset peer is an
/// error rather than a SIGPIPE), retrying on EINTR.
pub(crate) fn write(fd: &OwnedFd, buf: &[u8], is_socket: bool) -> io::Result<Transfer> {
    loop {
        let result = if is_socket {
            socket::send(fd.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL)
        } else {
            nix::unistd::write(fd, buf)
        };
        match result {
            Ok(n) => return Ok(Transfer::Done(n)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(Transfer::WouldBlock),
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Sends the flag `MSG_NOSIGNAL` as the raw integer io_uring wants.
pub(crate) const MSG_NOSIGNAL: i32 = libc::MSG_NOSIGNAL;

/// Close-on-exec flag for accepted sockets, as io_uring wants it.
pub(crate) const SOCK_CLOEXEC: i32 = libc::SOCK_CLOEXEC;

/// Whether an errno reported by a completion means "try again".
pub(crate) fn is_retry(code: i32) -> bool {
    code == libc::EAGAIN || code == libc::EINTR
}

/// Whether an accept failed for want of descriptors or kernel memory: the connection stays in
/// the backlog, and accepting again at once would fail the same way.
pub(crate) fn is_exhaustion(code: i32) -> bool {
    matches!(
        code,
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
    )
}

/// Whether a read error on a non-socket stream (a tty whose other end closed) means end of
/// stream rather than a fault.
pub(crate) fn is_hangup(code: i32) -> bool {
    code == libc::EIO
}

/// Converts a socket address to the kernel's form.
pub(crate) fn sockaddr(addr: &SocketAddr) -> SockaddrStorage {
    SockaddrStorage::from(*addr)
}
