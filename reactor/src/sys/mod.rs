//! The OS layer: one module per I/O backend (`uring`, `epoll`) exposing the same concrete
//! `Driver` interface, plus the file-descriptor and socket helpers (`fd`) and the eventfd
//! wake-up (`waker`) they share. Every `unsafe` block of the crate lives in this folder.

pub(crate) mod epoll;
pub(crate) mod fd;
pub(crate) mod uring;
pub(crate) mod waker;
