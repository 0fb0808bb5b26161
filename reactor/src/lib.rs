//! rdnp3-reactor: a pool of per-core executors, each owning an I/O driver (io_uring or epoll),
//! a timer wheel and a queue of posted work.
#![deny(missing_docs)]
