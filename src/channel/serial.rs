//! Serial channels: the line a channel opens with `serialport`, hands to the reactor as a raw
//! descriptor, and reopens with the channel's back-off when the device disappears (a read
//! error, end of file or hang-up closes it).
//!
//! A serial line is half-duplex: when several master associations share it (multi-drop, one
//! association per outstation address), the router lets only one of them have a request on
//! the line at a time.

use super::task::{add, ChannelTask, Connector, Cx};
use crate::config::ChannelState;
use crate::serial::SerialSettings;
use rdnp3_reactor::{Context, SourceId};
use std::io;
use std::time::Instant;

/// A channel's serial device: its settings and when to try opening it again.
pub(crate) struct SerialLine {
    settings: SerialSettings,
    /// When the next open attempt is due (`None`: open, or an attempt is under way).
    pub(crate) reopen_at: Option<Instant>,
    /// Open attempts so far.
    pub(crate) attempts: u64,
}

impl SerialLine {
    pub(crate) fn new(settings: SerialSettings) -> Self {
        SerialLine {
            settings,
            reopen_at: None,
            attempts: 0,
        }
    }

    /// Opens the device and hands it to the reactor, which drives it as a non-blocking
    /// descriptor and reports its hang-up or failure as a close of the returned source.
    fn open<M>(&mut self, cx: &mut Context<'_, M>) -> io::Result<SourceId> {
        self.reopen_at = None;
        self.attempts += 1;
        let port = self.settings.open()?;
        let source = cx.adopt_serial(port)?;
        tracing::info!("serial port {} open", self.settings);
        Ok(source)
    }
}

impl ChannelTask {
    /// Opens the serial port (a retry counts as a reconnect); on failure waits the back-off.
    pub(super) fn open_serial(&mut self, cx: &mut Cx<'_>) {
        let Connector::Serial(line) = &mut self.connector else {
            return;
        };
        if line.attempts > 0 {
            add(&self.router.counters().reconnects, 1);
        }
        let opened = line.open(cx);
        self.set_state(ChannelState::Connecting);
        match opened {
            Ok(source) => {
                self.opened(source);
                self.pump(cx);
            }
            Err(e) => {
                tracing::info!("cannot open the serial port: {e}");
                self.schedule_retry(cx);
            }
        }
    }
}
