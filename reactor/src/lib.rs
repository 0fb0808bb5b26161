//! rdnp3-reactor: a pool of per-core executors, each owning an I/O driver (io_uring or epoll),
//! a timer wheel and a queue of posted work.
//!
//! The unit of scheduling is a [`Actor`]: a single-threaded state machine whose callbacks
//! (data received, room to send, timer fired, message posted, source closed) run on one
//! executor thread for the actor's whole life, so its state needs no locks. An actor owns
//! sources (TCP connections, listeners, serial ports) and timers through the [`Context`] its
//! callbacks receive. Other threads reach it by posting messages through a [`Handle`], and
//! get answers back through a [`Completion`] they can wait on or `.await`.
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::time::Duration;
//! use rdnp3_reactor::{completion, Actor, Context, Pool, Promise, SourceId};
//!
//! /// Connects, sends what it is told, and answers how many bytes came back.
//! struct Client { addr: SocketAddr, conn: Option<SourceId>, received: usize }
//!
//! enum Command { Send(Vec<u8>), Received(Promise<usize>) }
//!
//! impl Actor for Client {
//!     type Message = Command;
//!     fn on_start(&mut self, cx: &mut Context<'_, Command>) {
//!         self.conn = cx.connect(self.addr, Duration::from_secs(5)).ok();
//!     }
//!     fn on_data(&mut self, _cx: &mut Context<'_, Command>, _src: SourceId, data: &[u8]) {
//!         self.received += data.len();
//!     }
//!     fn on_message(&mut self, cx: &mut Context<'_, Command>, msg: Command) {
//!         match msg {
//!             Command::Send(bytes) => {
//!                 if let Some(conn) = self.conn {
//!                     let _ = cx.send(conn, &bytes);
//!                 }
//!             }
//!             Command::Received(promise) => promise.complete(self.received),
//!         }
//!     }
//! }
//!
//! let pool = Pool::builder().threads(1).build()?;
//! let addr: SocketAddr = "127.0.0.1:20000".parse()?;
//! let client = pool.spawn(Client { addr, conn: None, received: 0 }).map_err(|e| e.to_string())?;
//! client.post(Command::Send(b"hello".to_vec())).map_err(|e| e.to_string())?;
//! let (promise, done) = completion();
//! client.post(Command::Received(promise)).map_err(|e| e.to_string())?;
//! println!("received {} bytes", done.wait()?);
//! pool.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Callbacks must not block
//!
//! An executor runs its actors' callbacks one after another on one thread. A long callback
//! delays every other actor of the same executor, and only those: other executors go on.
//! Hand slow work (disk, a database, heavy computation) to another thread and post the result
//! back through the actor's own [`Handle`]:
//!
//! ```no_run
//! use rdnp3_reactor::{Actor, Context};
//!
//! struct Archiver;
//!
//! enum Msg { Archive(Vec<u8>), Archived(usize) }
//!
//! impl Actor for Archiver {
//!     type Message = Msg;
//!     fn on_message(&mut self, cx: &mut Context<'_, Msg>, msg: Msg) {
//!         match msg {
//!             Msg::Archive(bytes) => {
//!                 let me = cx.handle();
//!                 std::thread::spawn(move || {
//!                     let written = bytes.len(); // slow work happens here, off the executor
//!                     let _ = me.post(Msg::Archived(written));
//!                 });
//!             }
//!             Msg::Archived(n) => println!("archived {n} bytes"),
//!         }
//!     }
//! }
//! ```
//!
//! A long-lived worker pool fed by a bounded `crossbeam_channel` works the same way.
//!
//! # Backends
//!
//! [`Backend::Auto`] probes io_uring when the pool starts and falls back to epoll where the
//! kernel refuses it (`EPERM`, `ENOSYS`, `EINVAL`, the `kernel.io_uring_disabled` sysctl); it
//! logs which one runs, and [`Pool::backend`] tells. Both give actors the same behaviour.
//!
//! # Filters
//!
//! Everything between the kernel and an actor is plain bytes: `on_data` gives what was read
//! and [`Context::send`] takes what to write. A filter (for example TLS) is an actor that owns
//! the socket and wraps another actor's logic, decrypting in `on_data` and encrypting before
//! `send`, without a driver of its own.
#![deny(missing_docs)]

mod actor;
mod backend;
mod completion;
mod context;
mod driver;
mod error;
mod executor;
mod limits;
mod mailbox;
mod placement;
mod pool;
mod runner;
mod slab;
mod stats;
mod sys;
mod timer;

pub use actor::{Actor, CloseReason, SourceId};
pub use backend::Backend;
pub use completion::{completion, Completion, Promise};
pub use context::Context;
pub use error::{Canceled, PoolError, PostError, SendError, SpawnError, WaitError};
pub use limits::{raise_fd_limit, FdLimit};
pub use mailbox::Handle;
pub use pool::{Pool, PoolBuilder, Spawner};
pub use stats::ExecutorStats;
pub use timer::TimerId;
