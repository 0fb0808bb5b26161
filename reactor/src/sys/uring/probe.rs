//! Whether this kernel runs io_uring with every operation and feature the driver relies on.

use std::io;

use io_uring::{opcode, IoUring};

/// Checks that the kernel runs io_uring with what this driver needs.
pub(crate) fn probe() -> io::Result<()> {
    let ring: IoUring = IoUring::new(8)?;
    if !ring.params().is_feature_ext_arg() || !ring.params().is_feature_nodrop() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "kernel io_uring lacks EXT_ARG/NODROP (needs Linux 5.11+)",
        ));
    }
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    // Multishot accept arrived with IORING_OP_SOCKET (Linux 5.19).
    for code in [
        opcode::Recv::CODE,
        opcode::Send::CODE,
        opcode::AcceptMulti::CODE,
        opcode::Connect::CODE,
        opcode::Socket::CODE,
    ] {
        if !probe.is_supported(code) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "kernel io_uring lacks multishot accept (needs Linux 5.19+)",
            ));
        }
    }
    Ok(())
}
