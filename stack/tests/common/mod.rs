//! The sans-I/O outstation harness shared by the outstation feature tests: a session with
//! its clock and transmit buffer, requests given as hex and responses returned as hex.

#![allow(dead_code)]

use rdnp3_stack::link::AddressKind;
use rdnp3_stack::objects::{flags, Timestamp};
use rdnp3_stack::outstation::*;
use rdnp3_stack::session::{Now, Session};
use rdnp3_testkit::hex::{bytes, spaced as hex};
use std::time::{Duration, Instant};

/// The master's link address.
pub const MASTER: u16 = 1;

/// No unsolicited reporting, no NEED_TIME at start (as opendnp3's tests).
pub fn config() -> OutstationConfig {
    OutstationConfig::default()
        .with_allow_unsolicited(false)
        .with_need_time_at_start(false)
}

/// Points valid from the start.
pub fn online() -> PointConfig {
    PointConfig::default().with_initial_flags(flags::ONLINE)
}

/// A database of these point ranges.
pub fn database(points: &[(PointType, std::ops::Range<u16>, PointConfig)]) -> Database {
    points
        .iter()
        .fold(DatabaseBuilder::new(), |b, (t, r, c)| {
            b.add(*t, r.clone(), *c)
        })
        .build()
        .unwrap()
}

/// A session with its clock and transmit buffer.
pub struct Harness {
    pub s: OutstationSession,
    pub now: Now,
    out: Vec<u8>,
}

impl Harness {
    /// Mirrored outputs and the default application.
    pub fn new(config: OutstationConfig, db: Database) -> Self {
        Self::with(
            config,
            db,
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
    }

    /// With these handlers.
    pub fn with(
        config: OutstationConfig,
        db: Database,
        controls: Box<dyn ControlHandler + Send>,
        app: Box<dyn OutstationApplication + Send>,
    ) -> Self {
        let out = vec![0; config.max_tx_fragment];
        let mut s = OutstationSession::new(config, db, controls, app);
        let now = Now {
            instant: Instant::now(),
            wall: Timestamp(1_000_000),
        };
        s.on_link_up(&now);
        Harness { s, now, out }
    }

    /// Sends a request (hex) to our own address.
    pub fn send(&mut self, request: &str) {
        let b = bytes(request);
        self.s
            .on_fragment(&self.now, MASTER, AddressKind::Station, &b);
    }

    /// The next fragment the session sends, as hex.
    pub fn poll(&mut self) -> Option<String> {
        let n = self.s.next_fragment(&self.now, &mut self.out)?;
        Some(hex(&self.out[..n]))
    }

    /// Sends a request and returns the response.
    pub fn ask(&mut self, request: &str) -> Option<String> {
        self.send(request);
        self.poll()
    }

    /// Clears IIN1.7 DEVICE_RESTART (with SEQ 0) so responses carry IIN 00 00.
    pub fn clear_restart(&mut self) {
        assert_eq!(self.ask("C0 02 50 01 00 07 07 00").unwrap(), "C0 81 00 00");
    }

    /// Moves the clock on and fires the session's timer when it is due.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
        if self.s.deadline().is_some_and(|t| t <= self.now.instant) {
            self.s.on_timer(&self.now);
        }
    }

    /// Applies updates now.
    pub fn apply(&mut self, updates: &[Update]) -> ApplyReport {
        self.s.apply(&self.now, updates)
    }
}
