//! The outstation farm: N outstations serving the demo database, each on its own TCP (or TLS)
//! server channel, and the driver that makes their analog events at a steady rate.

use super::flood::{is_flooder, FloodKind, Flooders};
use super::report::StateCounter;
use rdnp3::stack::objects::{flags, DoubleBit, Timestamp, Variation};
use rdnp3::stack::outstation::{
    Database, DatabaseBuilder, DefaultApplication, EventBufferConfig, EventClass, MirrorOutputs,
    OutstationConfig, PointConfig, PointType, Update,
};
use rdnp3::stack::session::Now;
use rdnp3::{Channel, ChannelConfig, ChannelError, Manager, Outstation, TlsConfig};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The address of outstation `i` counted from `base`: IP:PORT+i, continuing at PORT on the
/// next IPv4 address whenever the port would reach 32768 (`None` past 255.255.255.255).
pub fn mapped(base: SocketAddrV4, i: usize) -> Option<SocketAddr> {
    let per_ip = 32768 - usize::from(base.port());
    let ip = u32::from(*base.ip()).checked_add(u32::try_from(i / per_ip).ok()?)?;
    let port = base.port() + u16::try_from(i % per_ip).ok()?;
    Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
}

/// Link addresses of every pair.
#[derive(Clone, Copy)]
pub struct LinkAddresses {
    pub outstation: u16,
    pub master: u16,
}

/// What the outstations of a farm are, besides their addresses.
#[derive(Clone, Copy)]
pub struct FarmPlan {
    pub link: LinkAddresses,
    /// Analog event buffer capacity of every outstation.
    pub event_buffer: u16,
    /// How many endpoints flood instead (`flood::is_flooder`), and with what.
    pub flooders: usize,
    pub flood_kind: FloodKind,
}

impl FarmPlan {
    /// Every outstation's configuration but its link address.
    fn outstation_config(&self) -> OutstationConfig {
        OutstationConfig::default()
            .with_local_address(self.link.outstation)
            .with_master_address(self.link.master)
            .with_event_buffer(EventBufferConfig::default().with_analog(self.event_buffer))
    }
}

/// Why a farm could not start.
#[derive(Debug)]
pub enum FarmError {
    /// An outstation channel or session.
    Channel(ChannelError),
    /// A flooder could not listen.
    Flooder(SocketAddr, std::io::Error),
}

impl From<ChannelError> for FarmError {
    fn from(e: ChannelError) -> Self {
        FarmError::Channel(e)
    }
}

impl std::fmt::Display for FarmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FarmError::Channel(e) => write!(f, "{e}"),
            FarmError::Flooder(address, e) => write!(f, "flooder on {address}: {e}"),
        }
    }
}

/// The outstations of this process.
pub struct Farm {
    pub outstations: Vec<(Channel, Outstation)>,
    /// The endpoints that flood instead of answering.
    pub flooders: Flooders,
}

impl Farm {
    /// One outstation per address, serving the demo database; the endpoints `plan` makes
    /// flooders flood instead.
    pub fn start(
        manager: &Manager,
        addresses: impl Iterator<Item = SocketAddr>,
        plan: &FarmPlan,
        tls: Option<&TlsConfig>,
        states: &StateCounter,
    ) -> Result<Farm, FarmError> {
        let addresses: Vec<SocketAddr> = addresses.collect();
        let n = addresses.len();
        let mut outstations = Vec::new();
        let mut flooders = Flooders::default();
        for (i, address) in addresses.into_iter().enumerate() {
            if is_flooder(i, n, plan.flooders) {
                flooders
                    .start(
                        address,
                        plan.flood_kind,
                        plan.link.master,
                        plan.link.outstation,
                    )
                    .map_err(|e| FarmError::Flooder(address, e))?;
                continue;
            }
            let config = ChannelConfig::named(format!("outstation-{i}")).with_keep_alive(None);
            let channel = match tls {
                Some(tls) => {
                    manager.add_tls_server(config, address, tls.clone(), states.listener())
                }
                None => manager.add_tcp_server(config, address, states.listener()),
            }?;
            let outstation = channel.add_outstation(
                plan.outstation_config(),
                demo_database(),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )?;
            outstations.push((channel, outstation));
        }
        Ok(Farm {
            outstations,
            flooders,
        })
    }

    /// Dial-in: `n` outstations, outstation i on its own TCP client channel connecting to the
    /// master's listener at `target` with link address `link.outstation` + i. They speak
    /// first (the null unsolicited response), which is how the listener knows them.
    pub fn dial_in(
        manager: &Manager,
        target: SocketAddr,
        n: usize,
        plan: &FarmPlan,
        states: &StateCounter,
    ) -> Result<Farm, FarmError> {
        let link = plan.link;
        let mut outstations = Vec::new();
        for i in 0..n {
            // Refused connections (a listener at its pending limit) retry within 5 s.
            let config = ChannelConfig::named(format!("outstation-{i}"))
                .with_keep_alive(None)
                .with_max_retry(Duration::from_secs(5));
            let channel = manager.add_tcp_client(config, target, states.listener())?;
            let outstation = channel.add_outstation(
                plan.outstation_config()
                    .with_local_address(link.outstation.wrapping_add(i as u16)),
                demo_database(),
                Box::new(MirrorOutputs),
                Box::new(DefaultApplication),
            )?;
            outstations.push((channel, outstation));
        }
        Ok(Farm {
            outstations,
            flooders: Flooders::default(),
        })
    }

    /// Events dropped by full event buffers, over every outstation (asked of each).
    pub fn events_dropped(&self) -> u64 {
        self.outstations
            .iter()
            .filter_map(|(_, o)| o.stats().wait().ok())
            .map(|s| s.events_dropped)
            .sum()
    }
}

/// Makes events at `rate` per outstation and second: every outstation changes one analog
/// input per round, and rounds keep pace with the rate from the start. Outstation i's values
/// are its own sequence 0, 1, 2, … (a value is used once its update is accepted), which the
/// masters' event check follows (`events.rs`).
pub struct EventPacer {
    rate: f64,
    start: Instant,
    rounds: u64,
    /// Per outstation: the next value of its sequence.
    next: Vec<u64>,
    /// Updates accepted so far.
    pub made: u64,
}

impl EventPacer {
    /// Round 1 is due at once.
    pub fn new(rate: f64) -> Self {
        EventPacer {
            rate,
            start: Instant::now(),
            rounds: 0,
            next: Vec::new(),
            made: 0,
        }
    }

    /// Runs the rounds due by now. Round k is due at (k - 1) / rate seconds.
    pub fn catch_up(&mut self, farm: &Farm) {
        let due = if self.rate > 0.0 {
            (self.rate * self.start.elapsed().as_secs_f64()).floor() as u64 + 1
        } else {
            0
        };
        self.next.resize(farm.outstations.len(), 0);
        while self.rounds < due {
            self.rounds += 1;
            // Each index gets ever larger values, none equal to its initial 1.5 × index: every
            // update is a change, hence an event.
            let index = (self.rounds % 10) as u16;
            for ((_, o), next) in farm.outstations.iter().zip(&mut self.next) {
                if o.update(vec![Update::analog(index, *next as f64)]).is_ok() {
                    *next += 1;
                    self.made += 1;
                }
            }
        }
    }
}

/// The demo outstation's database: ten points of each kind (four double-bit inputs), every
/// one class 1 and ONLINE; analog inputs 1.5 × index (g30v5 static, g32v7 events).
fn demo_database() -> Database {
    let class1 = PointConfig::new(EventClass::Class1).with_initial_flags(flags::ONLINE);
    let db = DatabaseBuilder::new()
        .add(PointType::BinaryInput, 0..10, class1)
        .add(PointType::DoubleBitInput, 0..4, class1)
        .add(PointType::Counter, 0..10, class1)
        .add(PointType::FrozenCounter, 0..10, class1)
        .add(
            PointType::AnalogInput,
            0..10,
            class1
                .with_static_variation(Variation::Group30Var5)
                .with_event_variation(Variation::Group32Var7),
        )
        .add(PointType::BinaryOutputStatus, 0..10, class1)
        .add(
            PointType::AnalogOutputStatus,
            0..10,
            class1
                .with_static_variation(Variation::Group40Var3)
                .with_event_variation(Variation::Group42Var7),
        )
        .build();
    let Ok(mut db) = db else {
        unreachable!("the demo database is valid")
    };
    let mut initial = Vec::new();
    for i in 0..10u16 {
        let n = u32::from(i);
        initial.push(Update::binary(i, i % 2 == 1));
        initial.push(Update::counter(i, 100 * n));
        initial.push(Update::frozen_counter(i, 0));
        initial.push(Update::analog(i, 1.5 * f64::from(i)));
        initial.push(Update::binary_output_status(i, false));
        initial.push(Update::analog_output_status(i, 0.0));
    }
    let states = [
        DoubleBit::Intermediate,
        DoubleBit::DeterminedOff,
        DoubleBit::DeterminedOn,
        DoubleBit::Indeterminate,
    ];
    for (i, s) in states.into_iter().enumerate() {
        initial.push(Update::double_bit(i as u16, s));
    }
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let now = Now {
        instant: Instant::now(),
        wall: Timestamp(wall),
    };
    let _ = db.load(&now, &initial);
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_rolls_to_the_next_address_below_32768() {
        let base = SocketAddrV4::new(Ipv4Addr::new(127, 200, 0, 1), 32000);
        let at = |i| mapped(base, i).map(|a| a.to_string());
        assert_eq!(at(0).as_deref(), Some("127.200.0.1:32000"));
        assert_eq!(at(767).as_deref(), Some("127.200.0.1:32767"));
        assert_eq!(at(768).as_deref(), Some("127.200.0.2:32000"));
        assert_eq!(at(1537).as_deref(), Some("127.200.0.3:32001"));
    }
}
