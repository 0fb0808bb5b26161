//! The [`Manager`]: the reactor pool on which every channel runs, and the calls that add
//! channels to it.

use crate::channel::{Channel, ChannelTask, Connector, TcpClient, TcpServer};
use crate::config::{ChannelConfig, ChannelListener, ListenerConfig};
use crate::error::ChannelError;
use crate::limits::{LimitStats, Limits};
use crate::listener::{
    DialInError, ListenerCounters, ListenerTask, MasterListener, UnknownOutstations,
};
use crate::stats::{AssociationStats, ChannelMasters, ChannelRegistry};
use rdnp3_reactor::{completion, Backend, FdLimit, Pool};
use rdnp3_stack::router::{ChannelCounters, Router};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(feature = "tls")]
use crate::tls::{TlsConfig, TlsContext, TlsLayer};
#[cfg(feature = "serial")]
use crate::{channel::SerialLine, serial::SerialSettings};

/// Options of a [`Manager`].
#[derive(Clone, Debug)]
pub struct ManagerBuilder {
    threads: usize,
    backend: Backend,
    recv_buffer: usize,
    recv_buffers: u16,
    send_capacity: usize,
    mailbox_capacity: usize,
    max_connecting: usize,
    max_tls_handshakes: usize,
    max_starting: usize,
}

impl ManagerBuilder {
    /// TCP connection attempts in flight at once across the manager (default 256): after an
    /// outage, channels past it wait their turn instead of flooding the network with SYNs.
    pub fn max_connecting(mut self, attempts: usize) -> Self {
        self.max_connecting = attempts;
        self
    }

    /// TLS handshakes that client channels have under way at once across the manager
    /// (default 32): each costs milliseconds of CPU, so a reconnect storm is spread instead of
    /// starving the executors. Servers answer every handshake (their peer times it), within
    /// a per-executor budget of handshake steps per turn of its loop that bounds clients and
    /// servers alike: over it, handshakes wait for the next turn (counted in `tls_deferred`),
    /// so a flood of unauthenticated connections cannot starve established channels.
    pub fn max_tls_handshakes(mut self, handshakes: usize) -> Self {
        self.max_tls_handshakes = handshakes;
        self
    }

    /// Channels whose masters run their startup sequence (DISABLE_UNSOLICITED, the integrity
    /// poll, ENABLE_UNSOLICITED) at once across the manager (default 256): after a mass
    /// reconnect the integrity polls, the largest responses, come in waves the executors and
    /// the network absorb. A channel past it holds its masters' automatic tasks and polls
    /// (user requests still go) until its turn; a startup that times out gives its turn up.
    pub fn max_starting(mut self, channels: usize) -> Self {
        self.max_starting = channels;
        self
    }

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

    /// Size of a receive buffer, bytes (default 2 KiB: DNP3 frames are ≤ 292 bytes).
    /// Connections do not own one: an executor lends its buffer for each read (epoll), or the
    /// kernel takes one from the executor's ring when bytes arrive (io_uring).
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes;
        self
    }

    /// io_uring: receive buffers in each executor's ring (default 256, a power of two), so
    /// 512 KiB per executor at the default buffer size, however many channels it runs.
    pub fn recv_buffers(mut self, count: u16) -> Self {
        self.recv_buffers = count;
        self
    }

    /// Send queue bound per connection, bytes (default 16 KiB).
    pub fn send_capacity(mut self, bytes: usize) -> Self {
        self.send_capacity = bytes;
        self
    }

    /// Messages a channel's mailbox holds at most (default 64; only messages waiting take
    /// memory, and a full mailbox refuses posts with `Busy` / `QueueFull`).
    pub fn mailbox_capacity(mut self, messages: usize) -> Self {
        self.mailbox_capacity = messages;
        self
    }

    /// Starts the pool. First the process's soft open-file limit is raised to its hard limit
    /// (every channel holds one descriptor, a TCP server one more for its listener), and the
    /// limit in force is logged at info and kept in [`Manager::fd_limit`].
    pub fn build(self) -> Result<Manager, ChannelError> {
        let fd_limit = match rdnp3_reactor::raise_fd_limit() {
            Ok(limit) => {
                tracing::info!(
                    soft = limit.soft,
                    hard = limit.hard,
                    was = limit.was,
                    "open-file limit"
                );
                Some(limit)
            }
            Err(e) => {
                tracing::warn!("cannot read or raise the open-file limit: {e}");
                None
            }
        };
        let mut b = Pool::builder()
            .backend(self.backend)
            .recv_buffer(self.recv_buffer)
            .recv_buffers(self.recv_buffers)
            .send_capacity(self.send_capacity)
            .mailbox_capacity(self.mailbox_capacity);
        if self.threads > 0 {
            b = b.threads(self.threads);
        }
        Ok(Manager {
            pool: b.build().map_err(ChannelError::Pool)?,
            fd_limit,
            channels: Arc::new(ChannelRegistry::default()),
            limits: Arc::new(Limits::new(
                self.max_connecting,
                self.max_tls_handshakes,
                self.max_starting,
            )),
        })
    }
}

/// Owns the reactor pool on which every channel runs.
pub struct Manager {
    pool: Pool,
    fd_limit: Option<FdLimit>,
    channels: Arc<ChannelRegistry>,
    limits: Arc<Limits>,
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
            recv_buffers: 256,
            send_capacity: 16 * 1024,
            mailbox_capacity: 64,
            max_connecting: 256,
            max_tls_handshakes: 32,
            max_starting: 256,
        }
    }

    /// The manager-wide limits on connection attempts, TLS handshakes and startup sequences:
    /// each limit, how many are under way, the most ever at once, and how often a channel
    /// waited its turn.
    pub fn limit_stats(&self) -> LimitStats {
        self.limits.stats()
    }

    /// The open-file limits as the manager left them when it started (`None` if they could
    /// not be read): how many connections this process can hold.
    pub fn fd_limit(&self) -> Option<FdLimit> {
        self.fd_limit
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

    /// The statistics of every master association of every channel still held by a handle
    /// (its [`Channel`] or one of its [`crate::Master`]s), as each association last published
    /// them; one call, no round trip to any executor.
    pub fn master_stats(&self) -> Vec<AssociationStats> {
        self.channels.collect()
    }

    /// Calls `f` with the statistics of every master association, as
    /// [`Manager::master_stats`] lists them, without building that list: summing counters over
    /// ten thousand associations this way allocates nothing per association. Associations
    /// added or removed meanwhile may be missed.
    pub fn for_each_master_stats(&self, mut f: impl FnMut(&AssociationStats)) {
        self.channels.for_each(&mut f);
    }

    /// Builds the channel's router and actor and hands it to the pool.
    fn spawn(
        &self,
        config: ChannelConfig,
        connector: Connector,
        listener: Option<Box<dyn ChannelListener>>,
        #[cfg(feature = "tls")] tls: Option<TlsContext>,
    ) -> Result<Channel, ChannelError> {
        let counters = Arc::new(ChannelCounters::default());
        let name: Arc<str> = config.name.clone().into();
        let router = Router::new(
            name.clone(),
            counters.clone(),
            config.decode,
            config.keep_alive,
            config.link_timeout,
        );
        #[allow(unused_mut)]
        let mut task =
            ChannelTask::new(router, config, connector, listener).with_limits(self.limits.clone());
        #[cfg(feature = "tls")]
        if let Some(tls) = tls {
            task = task.with_tls(TlsLayer::new(tls));
        }
        let handle = self.pool.spawn(task).map_err(|_| ChannelError::Closed)?;
        let masters = Arc::new(ChannelMasters::new(name.clone()));
        self.channels.register(&masters);
        Ok(Channel {
            handle,
            counters,
            name,
            masters,
        })
    }

    /// A channel that connects to `remote` and reconnects with back-off.
    pub fn add_tcp_client(
        &self,
        config: ChannelConfig,
        remote: SocketAddr,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let connector = Connector::TcpClient(TcpClient::new(remote));
        self.spawn(
            config,
            connector,
            listener,
            #[cfg(feature = "tls")]
            None,
        )
    }

    /// A channel that listens on `local` and serves one master connection at a time.
    pub fn add_tcp_server(
        &self,
        config: ChannelConfig,
        local: SocketAddr,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let connector = Connector::TcpServer(TcpServer::new(local));
        self.spawn(
            config,
            connector,
            listener,
            #[cfg(feature = "tls")]
            None,
        )
    }

    /// A channel on the serial port `settings.path`, for masters (several associations
    /// multi-dropped on one line take turns: one request on the line at a time) or
    /// outstations. The port opens once the channel has its first session. A port that cannot
    /// be opened, or that disappears (read error, end of file, hang-up), is closed and opened
    /// again by path after `min_retry`, doubling up to `max_retry`; the listener sees
    /// `Connecting`, `Open` and `Closed`. `allow_list`, `server_policy` and `connect_timeout`
    /// do not apply.
    #[cfg(feature = "serial")]
    pub fn add_serial(
        &self,
        config: ChannelConfig,
        settings: SerialSettings,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let connector = Connector::Serial(SerialLine::new(settings));
        self.spawn(
            config,
            connector,
            listener,
            #[cfg(feature = "tls")]
            None,
        )
    }

    /// A TLS channel that connects to `remote` and reconnects with back-off (failed handshakes
    /// too; never in plaintext). The certificate files are read now: errors in them come back
    /// here as [`ChannelError::Tls`]; handshake failures go to the listener's `on_tls_error`.
    #[cfg(feature = "tls")]
    pub fn add_tls_client(
        &self,
        config: ChannelConfig,
        remote: SocketAddr,
        tls: TlsConfig,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let tls = tls.client_context(remote).map_err(ChannelError::Tls)?;
        let connector = Connector::TcpClient(TcpClient::new(remote));
        self.spawn(config, connector, listener, Some(tls))
    }

    /// A TLS channel that listens on `local` and serves one authenticated master at a time;
    /// a master without a valid client certificate is refused. Files are read as for
    /// [`Manager::add_tls_client`].
    #[cfg(feature = "tls")]
    pub fn add_tls_server(
        &self,
        config: ChannelConfig,
        local: SocketAddr,
        tls: TlsConfig,
        listener: Option<Box<dyn ChannelListener>>,
    ) -> Result<Channel, ChannelError> {
        let tls = tls.server_context().map_err(ChannelError::Tls)?;
        let connector = Connector::TcpServer(TcpServer::new(local));
        self.spawn(config, connector, listener, Some(tls))
    }

    /// A dial-in endpoint: listens on `local` (port 0 picks one: see
    /// [`MasterListener::local_addr`]) for outstations that connect to the master, and hands
    /// each connection to the association registered for it with [`MasterListener::add`].
    /// A connection is identified by the link source address of the first valid frame the
    /// outstation sends, within `config.first_frame_timeout` and `first_frame_budget` bytes
    /// (garbage or silence closes it), or by its peer IP (`config.binding`). Outstations
    /// without an association go to `unknown`, which may accept them (an association is
    /// created) or refuse them (as does `None`). A second connection of a connected
    /// outstation replaces the first or is refused (`config.policy`). At most
    /// `config.max_pending` connections wait for identification; more are closed. Every
    /// closed connection is counted in [`MasterListener::stats`].
    ///
    /// Blocks until the socket listens (errors come back here): do not call it from a
    /// reactor callback.
    pub fn add_master_listener(
        &self,
        config: ListenerConfig,
        local: SocketAddr,
        unknown: Option<Box<dyn UnknownOutstations>>,
    ) -> Result<MasterListener, ChannelError> {
        self.spawn_listener(
            config,
            local,
            unknown,
            #[cfg(feature = "tls")]
            None,
        )
    }

    /// A TLS dial-in endpoint: as [`Manager::add_master_listener`], and every outstation
    /// must complete a TLS handshake and authenticate with its certificate (as for
    /// [`Manager::add_tls_server`]) before the listener reads its first frame; the session
    /// then moves with the connection to the association's channel. Handshake and first
    /// frame must both come within `config.first_frame_timeout`; failed handshakes are
    /// counted in `tls_errors`. Files are read now: errors in them come back here.
    #[cfg(feature = "tls")]
    pub fn add_tls_master_listener(
        &self,
        config: ListenerConfig,
        local: SocketAddr,
        tls: TlsConfig,
        unknown: Option<Box<dyn UnknownOutstations>>,
    ) -> Result<MasterListener, ChannelError> {
        let tls = tls.server_context().map_err(ChannelError::Tls)?;
        self.spawn_listener(config, local, unknown, Some(tls))
    }

    fn spawn_listener(
        &self,
        config: ListenerConfig,
        local: SocketAddr,
        unknown: Option<Box<dyn UnknownOutstations>>,
        #[cfg(feature = "tls")] tls: Option<TlsContext>,
    ) -> Result<MasterListener, ChannelError> {
        let counters = Arc::new(ListenerCounters::default());
        let name: Arc<str> = config.name.clone().into();
        let (promise, bound) = completion();
        let task = ListenerTask::new(
            config,
            local,
            unknown,
            counters.clone(),
            self.channels.clone(),
            promise,
        );
        #[cfg(feature = "tls")]
        let task = match tls {
            Some(tls) => task.with_tls(tls),
            None => task,
        };
        let handle = self.pool.spawn(task).map_err(|_| ChannelError::Closed)?;
        let local = bound
            .wait()?
            .map_err(|e| ChannelError::DialIn(DialInError::Listen(e)))?;
        Ok(MasterListener::new(handle, counters, local, name))
    }

    /// Stops every channel and joins the executors.
    pub fn shutdown(self) {
        self.pool.shutdown();
    }
}
