//! The user-facing handles: a [`Manager`] owns the reactor pool; [`Channel`]s carry sessions;
//! [`Master`] handles post requests to their association and return completions.

use super::config::{ChannelConfig, ChannelListener};
use super::engine::{AddSessionError, ChannelEngine, SessionKind};
use super::serial::{SerialLine, SerialSettings};
use super::stats::{ChannelCounters, ChannelStats};
use super::task::{ChannelMsg, ChannelTask, MasterOp, OutstationOp, Transport};
use super::tls::{TlsConfig, TlsConfigError, TlsContext, TlsLayer};
use crate::master::{
    Command, CommandMode, CommandResult, MasterConfig, MasterSession, MasterStats, PollId,
    ReadHandler, ReadRequest, RestartKind, TaskError, TimeSyncMode,
};
use crate::outstation::{
    ControlHandler, Database, OutstationApplication, OutstationConfig, OutstationSession,
    OutstationStats, Update,
};
use rdnp3_reactor::{completion, Backend, Completion, Handle, Pool, PoolError, PostError};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    /// The TLS settings could not be loaded.
    Tls(TlsConfigError),
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Pool(e) => write!(f, "reactor pool: {e}"),
            ChannelError::Closed => f.write_str("the channel has shut down"),
            ChannelError::Busy => f.write_str("the channel's mailbox is full"),
            ChannelError::Session(e) => write!(f, "{e}"),
            ChannelError::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for ChannelError {}

impl<M> From<PostError<M>> for ChannelError {
    fn from(e: PostError<M>) -> Self {
        match e {
            PostError::Full(_) => ChannelError::Busy,
            _ => ChannelError::Closed,
        }
    }
}

/// Options of a [`Manager`].
#[derive(Clone, Debug)]
pub struct ManagerBuilder {
    threads: usize,
    backend: Backend,
    recv_buffer: usize,
    send_capacity: usize,
    mailbox_capacity: usize,
}

impl ManagerBuilder {
    /// Executor threads (0: one per available core).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The I/O backend (default: io_uring where the kernel allows it, else epoll).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Receive buffer per connection, bytes (default 2 KiB: DNP3 frames are ≤ 292 bytes).
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes;
        self
    }

    /// Send queue bound per connection, bytes (default 16 KiB).
    pub fn send_capacity(mut self, bytes: usize) -> Self {
        self.send_capacity = bytes;
        self
    }

    /// Messages a channel's mailbox holds at most (default 64; each slot is allocated up
    /// front, and a full mailbox refuses posts with `Busy` / `QueueFull`).
    pub fn mailbox_capacity(mut self, messages: usize) -> Self {
        self.mailbox_capacity = messages;
        self
    }

    /// Starts the pool.
    pub fn build(self) -> Result<Manager, ChannelError> {
        let mut b = Pool::builder()
            .backend(self.backend)
            .recv_buffer(self.recv_buffer)
            .send_capacity(self.send_capacity)
            .mailbox_capacity(self.mailbox_capacity);
        if self.threads > 0 {
            b = b.threads(self.threads);
        }
        Ok(Manager {
            pool: b.build().map_err(ChannelError::Pool)?,
        })
    }
}

/// Owns the reactor pool on which every channel runs.
pub struct Manager {
    pool: Pool,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("threads", &self.pool.threads())
            .field("backend", &self.pool.backend())
            .finish()
    }
}

impl Manager {
    /// A manager with `threads` executors (0: one per core) on the default backend.
    pub fn new(threads: usize) -> Result<Manager, ChannelError> {
        Self::builder().threads(threads).build()
    }

    /// Options.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder {
            threads: 0,
            backend: Backend::Auto,
            recv_buffer: 2048,
            send_capacity: 16 * 1024,
            mailbox_capacity: 64,
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// How many executor threads run.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The reactor pool (for statistics).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn spawn(
        &self,
        config: ChannelConfig,
        transport: Transport,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        self.spawn_with_tls(config, transport, listener, None)
    }

    fn spawn_with_tls(
        &self,
        config: ChannelConfig,
        transport: Transport,
        listener: Option<Box<dyn ChannelListener>>,
        tls: Option<TlsContext>,
    ) -> Result<Channel, ChannelError> {
        let counters = Arc::new(ChannelCounters::default());
        let name: Arc<str> = config.name.clone().into();
        let engine = ChannelEngine::new(
            name.clone(),
            counters.clone(),
            config.decode,
            config.keep_alive,
            config.link_timeout,
        );
        let mut task = ChannelTask::new(engine, config, transport, listener);
        if let Some(tls) = tls {
            task = task.with_tls(TlsLayer::new(tls));
        }
        let handle = self.pool.spawn(task).map_err(|_| ChannelError::Closed)?;
        Ok(Channel {
            handle,
            counters,
            name,
        })
    }

    /// A channel that connects to `remote` and reconnects with back-off.
    pub fn add_tcp_client(
        &self,
        config: ChannelConfig,
        remote: SocketAddr,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        self.spawn(
            config,
            Transport::TcpClient {
                remote,
                reconnect_at: None,
                attempts: 0,
            },
            listener,
        )
    }

    /// A channel that listens on `local` and serves one master connection at a time.
    pub fn add_tcp_server(
        &self,
        config: ChannelConfig,
        local: SocketAddr,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        self.spawn(
            config,
            Transport::TcpServer {
                local,
                listener: None,
                relisten_at: None,
            },
            listener,
        )
    }

    /// A channel on the serial port `settings.path`, for masters (several associations
    /// multi-dropped on one line take turns: one request on the line at a time) or
    /// outstations. The port opens once the channel has its first session. A port that cannot
    /// be opened, or that disappears (read error, end of file, hang-up), is closed and opened
    /// again by path after `min_retry`, doubling up to `max_retry`; the listener sees
    /// `Connecting`, `Open` and `Closed`. `allow_list`, `server_policy` and `connect_timeout`
    /// do not apply.
    pub fn add_serial(
        &self,
        config: ChannelConfig,
        settings: SerialSettings,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        self.spawn(
            config,
            Transport::Serial(SerialLine::new(settings)),
            listener,
        )
    }

    /// A TLS channel that connects to `remote` and reconnects with back-off (failed handshakes
    /// too; never in plaintext). The certificate files are read now: errors in them come back
    /// here as [`ChannelError::Tls`]; handshake failures go to the listener's `on_tls_error`.
    pub fn add_tls_client(
        &self,
        config: ChannelConfig,
        remote: SocketAddr,
        tls: TlsConfig,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let tls = tls.client_context(remote).map_err(ChannelError::Tls)?;
        let transport = Transport::TcpClient {
            remote,
            reconnect_at: None,
            attempts: 0,
        };
        self.spawn_with_tls(config, transport, listener, Some(tls))
    }

    /// A TLS channel that listens on `local` and serves one authenticated master at a time;
    /// a master without a valid client certificate is refused. Files are read as for
    /// [`Manager::add_tls_client`].
    pub fn add_tls_server(
        &self,
        config: ChannelConfig,
        local: SocketAddr,
        tls: TlsConfig,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let tls = tls.server_context().map_err(ChannelError::Tls)?;
        let transport = Transport::TcpServer {
            local,
            listener: None,
            relisten_at: None,
        };
        self.spawn_with_tls(config, transport, listener, Some(tls))
    }

    /// Stops every channel and joins the executors.
    pub fn shutdown(self) {
        self.pool.shutdown();
    }
}

/// A channel: one transport and the sessions it carries. Cheap to clone.
#[derive(Clone)]
pub struct Channel {
    handle: Handle<ChannelMsg>,
    counters: Arc<ChannelCounters>,
    name: Arc<str>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").field("name", &self.name).finish()
    }
}

impl Channel {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The counters, readable at any time.
    pub fn stats(&self) -> ChannelStats {
        self.counters.snapshot()
    }

    /// Adds a session and waits until the channel has it. Do not call it from a callback
    /// running on the reactor (it blocks).
    fn add_session(&self, kind: SessionKind) -> Result<u32, ChannelError> {
        let (promise, done) = completion();
        self.handle.post(ChannelMsg::AddSession(kind, promise))?;
        done.wait()
            .map_err(|_| ChannelError::Closed)?
            .map_err(ChannelError::Session)
    }

    /// Adds a master association; measurements go to `handler`. Blocks until it is added.
    pub fn add_master(
        &self,
        config: MasterConfig,
        handler: Box<dyn ReadHandler>,
    ) -> Result<Master, ChannelError> {
        let session = MasterSession::new(config, handler);
        let id = self.add_session(SessionKind::Master(Box::new(session)))?;
        Ok(Master {
            handle: self.handle.clone(),
            id,
        })
    }

    /// Adds an outstation serving `database`; controls go to `controls`, time writes and
    /// restarts to `application` (both run on the reactor and must not block). Blocks until
    /// it is added: do not call it from a reactor callback.
    pub fn add_outstation(
        &self,
        config: OutstationConfig,
        database: Database,
        controls: Box<dyn ControlHandler + Send>,
        application: Box<dyn OutstationApplication + Send>,
    ) -> Result<Outstation, ChannelError> {
        let session = OutstationSession::new(config, database, controls, application);
        let id = self.add_session(SessionKind::Outstation(Box::new(session)))?;
        Ok(Outstation {
            handle: self.handle.clone(),
            id,
        })
    }

    /// Shuts the channel down: its sessions fail what is pending and the connection closes.
    pub fn shutdown(&self) {
        let _ = self.handle.post(ChannelMsg::Shutdown);
    }
}

/// A handle on one master association; requests return completions that can be waited on
/// from a plain thread or awaited. Cheap to clone.
#[derive(Clone)]
pub struct Master {
    handle: Handle<ChannelMsg>,
    id: u32,
}

impl fmt::Debug for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Master").field("id", &self.id).finish()
    }
}

impl Master {
    fn request<T: Send + 'static>(
        &self,
        make: impl FnOnce(crate::master::Reply<T>) -> MasterOp,
    ) -> Completion<Result<T, TaskError>> {
        let (promise, done) = completion();
        let reply: crate::master::Reply<T> = Box::new(move |r| promise.complete(r));
        if let Err(e) = self.handle.post(ChannelMsg::Master(self.id, make(reply))) {
            let error = match e {
                PostError::Full(_) => TaskError::QueueFull,
                _ => TaskError::Shutdown,
            };
            // The message (and its reply) came back: answer through it.
            if let ChannelMsg::Master(_, op) = e.into_inner() {
                answer(op, error);
            }
        }
        done
    }

    /// Reads; measurements go to the association's handler.
    pub fn read(&self, request: ReadRequest) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::Read(request, r))
    }

    /// Operates controls in one request.
    pub fn operate(&self, mode: CommandMode, commands: Vec<Command>) -> Completion<CommandResult> {
        self.request(|r| MasterOp::Command(mode, commands, r))
    }

    /// Synchronises the outstation's clock.
    pub fn time_sync(&self, mode: TimeSyncMode) -> Completion<Result<(), TaskError>> {
        self.request(|r| MasterOp::TimeSync(mode, r))
    }

    /// Restarts the outstation; the result is the time until it is back.
    pub fn restart(&self, kind: RestartKind) -> Completion<Result<Duration, TaskError>> {
        self.request(|r| MasterOp::Restart(kind, r))
    }

    /// Adds a periodic poll.
    pub fn add_poll(&self, request: ReadRequest, period: Duration) -> Result<PollId, ChannelError> {
        let (promise, done) = completion();
        self.handle.post(ChannelMsg::Master(
            self.id,
            MasterOp::AddPoll(request, period, promise),
        ))?;
        done.wait().map_err(|_| ChannelError::Closed)
    }

    /// Runs a periodic poll now.
    pub fn demand_poll(&self, id: PollId) -> Result<(), ChannelError> {
        Ok(self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::DemandPoll(id)))?)
    }

    /// Removes a periodic poll.
    pub fn remove_poll(&self, id: PollId) -> Result<(), ChannelError> {
        Ok(self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::RemovePoll(id)))?)
    }

    /// Removes the association from its channel; what it had pending fails with `Shutdown`.
    /// Blocks until done: do not call it from a reactor callback.
    pub fn remove(self) -> Result<bool, ChannelError> {
        let (promise, done) = completion();
        self.handle
            .post(ChannelMsg::RemoveSession(self.id, promise))?;
        done.wait().map_err(|_| ChannelError::Closed)
    }

    /// The association's counters.
    pub fn stats(&self) -> Completion<MasterStats> {
        let (promise, done) = completion();
        let _ = self
            .handle
            .post(ChannelMsg::Master(self.id, MasterOp::Stats(promise)));
        done
    }
}

fn answer(op: MasterOp, error: TaskError) {
    match op {
        MasterOp::Read(_, r) | MasterOp::TimeSync(_, r) => r(Err(error)),
        MasterOp::Command(_, _, r) => r(Err(error)),
        MasterOp::Restart(_, r) => r(Err(error)),
        _ => {}
    }
}

/// A handle on one outstation: updates from any thread, applied atomically per call. Cheap
/// to clone.
#[derive(Clone)]
pub struct Outstation {
    handle: Handle<ChannelMsg>,
    id: u32,
}

impl fmt::Debug for Outstation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outstation").field("id", &self.id).finish()
    }
}

impl Outstation {
    /// Applies `updates` as one transaction: no response is built between two of them.
    /// Fails with `Busy` when the channel's mailbox is full (the updates are not applied).
    pub fn update(&self, updates: Vec<Update>) -> Result<(), ChannelError> {
        Ok(self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::Update(updates),
        ))?)
    }

    /// The outstation's counters.
    pub fn stats(&self) -> Completion<OutstationStats> {
        let (promise, done) = completion();
        let _ = self.handle.post(ChannelMsg::Outstation(
            self.id,
            OutstationOp::Stats(promise),
        ));
        done
    }

    /// Removes the outstation from its channel. Blocks: do not call it from a reactor callback.
    pub fn remove(self) -> Result<bool, ChannelError> {
        let (promise, done) = completion();
        self.handle
            .post(ChannelMsg::RemoveSession(self.id, promise))?;
        done.wait().map_err(|_| ChannelError::Closed)
    }
}
