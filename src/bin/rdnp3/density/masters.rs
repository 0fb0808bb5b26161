//! The master side: one master association per outstation, each polling classes 1–3 and
//! running integrity polls on its own period; each on its own TCP (or TLS) client channel, or
//! all registered on one dial-in listener that the outstations connect to.

use super::events::Sequences;
use super::farm::LinkAddresses;
use super::flood::is_flooder;
use super::report::StateCounter;
use rdnp3::stack::master::{Classes, MasterConfig, PollId, ReadRequest};
use rdnp3::{
    Channel, ChannelConfig, ChannelError, ChannelStats, DialInAssociation, ListenerConfig, Manager,
    Master, MasterListener, TlsConfig,
};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The name prefix of a master channel whose outstation endpoint is a flooder.
pub const FLOODED: &str = "flooded-";

/// The masters of this process.
pub struct Masters {
    /// Their client channels (none on dial-in).
    channels: Vec<Channel>,
    /// Which of `channels` go to flooders.
    flooded: Vec<bool>,
    masters: Vec<Master>,
    /// Each association's class poll and integrity poll.
    polls: Vec<[PollId; 2]>,
    /// The dial-in listener, if the outstations dial in.
    pub listener: Option<MasterListener>,
    /// Events received and the event check.
    pub sequences: Arc<Sequences>,
}

/// The counters of the channels that go to flooders, and the flood closes of every channel.
pub struct FloodReport {
    pub channels: usize,
    pub flood_closes: u64,
    pub bytes_rx: u64,
    pub connects: u64,
    /// Flood closes over every channel (the others included: should be 0 there).
    pub all_flood_closes: u64,
}

/// How every master polls.
pub struct Polling {
    pub poll_ms: u64,
    pub integrity_s: u64,
    pub link: LinkAddresses,
}

impl Polling {
    /// The class 1–3 poll and the integrity poll of one association.
    fn add_polls(&self, master: &Master) -> Result<[PollId; 2], ChannelError> {
        Ok([
            master.add_poll(
                ReadRequest::classes(Classes::EVENTS),
                Duration::from_millis(self.poll_ms.max(1)),
            )?,
            master.add_poll(
                ReadRequest::integrity(),
                Duration::from_secs(self.integrity_s.max(1)),
            )?,
        ])
    }
}

impl Masters {
    /// One client channel and association per outstation address; association i checks
    /// its events with `sequences`. The `flooders` endpoints (`flood::is_flooder`) get
    /// channels named `flooded-<i>` that count in `flood_states`, not in `states`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        manager: &Manager,
        addresses: impl Iterator<Item = SocketAddr>,
        polling: &Polling,
        tls: Option<&TlsConfig>,
        states: &StateCounter,
        sequences: &Arc<Sequences>,
        flooders: usize,
        flood_states: &StateCounter,
    ) -> Result<Masters, ChannelError> {
        let addresses: Vec<SocketAddr> = addresses.collect();
        let n = addresses.len();
        let mut channels = Vec::new();
        let mut flooded = Vec::new();
        let mut masters = Vec::new();
        let mut polls = Vec::new();
        for (i, address) in addresses.into_iter().enumerate() {
            let to_flooder = is_flooder(i, n, flooders);
            let (name, listener) = if to_flooder {
                (format!("{FLOODED}{i}"), flood_states.listener())
            } else {
                (format!("master-{i}"), states.listener())
            };
            let config = ChannelConfig::named(name).with_keep_alive(None);
            let channel = match tls {
                Some(tls) => manager.add_tls_client(config, address, tls.clone(), listener),
                None => manager.add_tcp_client(config, address, listener),
            }?;
            let config = MasterConfig::default()
                .with_local_address(polling.link.master)
                .with_outstation_address(polling.link.outstation);
            let master = channel.add_master_with_listener(
                config,
                sequences.handler(i),
                sequences.listener(i, None),
            )?;
            polls.push(polling.add_polls(&master)?);
            channels.push(channel);
            flooded.push(to_flooder);
            masters.push(master);
        }
        Ok(Masters {
            channels,
            flooded,
            masters,
            polls,
            listener: None,
            sequences: sequences.clone(),
        })
    }

    /// Dial-in: one listener on `local` and one association per outstation link address
    /// `polling.link.outstation` + i, i < `n`; an association counts as open in `states`
    /// while it is online.
    pub fn dial_in(
        manager: &Manager,
        local: SocketAddr,
        n: usize,
        polling: &Polling,
        states: &StateCounter,
        sequences: &Arc<Sequences>,
    ) -> Result<Masters, ChannelError> {
        let config = ListenerConfig::default()
            .with_name("dial-in".into())
            .with_channel(ChannelConfig::named("dial-in").with_keep_alive(None));
        let listener = manager.add_master_listener(config, local, None)?;
        let mut masters = Vec::with_capacity(n);
        let mut polls = Vec::with_capacity(n);
        for i in 0..n {
            let config = MasterConfig::default()
                .with_local_address(polling.link.master)
                .with_outstation_address(polling.link.outstation.wrapping_add(i as u16));
            let association = DialInAssociation::new(config, sequences.handler(i))
                .with_listener(sequences.listener(i, Some(states.association())));
            let master = listener.add(association)?;
            polls.push(polling.add_polls(&master)?);
            masters.push(master);
        }
        Ok(Masters {
            channels: Vec::new(),
            flooded: Vec::new(),
            masters,
            polls,
            listener: Some(listener),
            sequences: sequences.clone(),
        })
    }

    /// A graceful stop before the manager shuts down: every association stops polling and
    /// disables unsolicited responses, so that nothing is left unconfirmed when the
    /// connections close (an event delivered here but not confirmed would come again to the
    /// next master). Waits up to `timeout` for the outstations' answers; returns how many
    /// associations did not answer in time (those of flooders are not asked).
    pub fn quiesce(&self, timeout: Duration) -> usize {
        for (master, [class, integrity]) in self.masters.iter().zip(&self.polls) {
            let _ = master.remove_poll(*class);
            let _ = master.remove_poll(*integrity);
        }
        let flooded = |i: usize| self.flooded.get(i).copied().unwrap_or(false);
        let mut pending: Vec<_> = self
            .masters
            .iter()
            .enumerate()
            .filter(|&(i, _)| !flooded(i))
            .map(|(_, m)| m.disable_unsolicited(Classes::EVENTS))
            .collect();
        let deadline = Instant::now() + timeout;
        let mut unanswered = 0;
        for done in &mut pending {
            let left = deadline.saturating_duration_since(Instant::now());
            if !matches!(done.wait_timeout(left), Ok(Ok(()))) {
                unanswered += 1;
            }
        }
        // The CONFIRM of a response that came just before its DISABLE_UNSOLICITED answer may
        // still be on its way out.
        std::thread::sleep(Duration::from_millis(200));
        unanswered
    }

    /// The channels to flooders, summed, and the flood closes of every channel.
    pub fn flood_report(&self) -> FloodReport {
        let mut r = FloodReport {
            channels: 0,
            flood_closes: 0,
            bytes_rx: 0,
            connects: 0,
            all_flood_closes: 0,
        };
        for (channel, flooded) in self.channels.iter().zip(&self.flooded) {
            let s = channel.stats();
            r.all_flood_closes += s.flood_closes;
            if *flooded {
                r.channels += 1;
                r.flood_closes += s.flood_closes;
                r.bytes_rx += s.bytes_rx;
                r.connects += s.connects;
            }
        }
        r
    }

    /// The link counters of the masters' client channels (none on dial-in).
    pub fn link_stats(&self) -> impl Iterator<Item = ChannelStats> + '_ {
        self.channels.iter().map(Channel::stats)
    }

    /// Events received so far.
    pub fn events(&self) -> u64 {
        self.sequences.received.load(Ordering::Relaxed)
    }

    /// How many masters there are.
    pub fn len(&self) -> usize {
        self.masters.len()
    }
}
