//! Serial channels: the port settings, and the line a channel opens with `serialport`, hands
//! to the reactor as a raw descriptor, and reopens with the channel's back-off when the
//! device disappears (a read error, end of file or hang-up closes it).
//!
//! A serial line is half-duplex: when several master associations share it (multi-drop, one
//! association per outstation address), the channel engine lets only one of them have a
//! request on the line at a time.

use rdnp3_reactor::{Context, SourceId};
use std::fmt;
use std::io;
use std::time::Instant;

/// Bits per character.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DataBits {
    /// 5 bits.
    Five,
    /// 6 bits.
    Six,
    /// 7 bits.
    Seven,
    /// 8 bits (what DNP3 uses).
    #[default]
    Eight,
}

/// Parity checking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Stop bits per character.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StopBits {
    /// One stop bit.
    #[default]
    One,
    /// Two stop bits.
    Two,
}

/// Flow control.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FlowControl {
    /// None (the usual choice for DNP3 over RS-232/RS-485).
    #[default]
    None,
    /// XON/XOFF in band.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// Where a serial channel's device is and how to configure it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// The device path, for example `/dev/ttyS0`, `/dev/ttyUSB0` or a stable
    /// `/dev/serial/by-id/...` link. It is opened again, by path, after the device disappears.
    pub path: String,
    /// Line speed in bits per second.
    pub baud_rate: u32,
    /// Bits per character.
    pub data_bits: DataBits,
    /// Parity.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: StopBits,
    /// Flow control.
    pub flow_control: FlowControl,
}

impl SerialSettings {
    /// `path` at `baud_rate`, 8 data bits, no parity, one stop bit, no flow control.
    pub fn new(path: impl Into<String>, baud_rate: u32) -> Self {
        SerialSettings {
            path: path.into(),
            baud_rate,
            data_bits: DataBits::default(),
            parity: Parity::default(),
            stop_bits: StopBits::default(),
            flow_control: FlowControl::default(),
        }
    }

    /// Opens and configures the port (exclusive access, raw mode).
    fn open(&self) -> io::Result<serialport::TTYPort> {
        let data_bits = match self.data_bits {
            DataBits::Five => serialport::DataBits::Five,
            DataBits::Six => serialport::DataBits::Six,
            DataBits::Seven => serialport::DataBits::Seven,
            DataBits::Eight => serialport::DataBits::Eight,
        };
        let parity = match self.parity {
            Parity::None => serialport::Parity::None,
            Parity::Odd => serialport::Parity::Odd,
            Parity::Even => serialport::Parity::Even,
        };
        let stop_bits = match self.stop_bits {
            StopBits::One => serialport::StopBits::One,
            StopBits::Two => serialport::StopBits::Two,
        };
        let flow_control = match self.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        serialport::new(self.path.as_str(), self.baud_rate)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop_bits)
            .flow_control(flow_control)
            .open_native()
            .map_err(io::Error::from)
    }
}

impl fmt::Display for SerialSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.data_bits {
            DataBits::Five => 5,
            DataBits::Six => 6,
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        };
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        let stop = match self.stop_bits {
            StopBits::One => 1,
            StopBits::Two => 2,
        };
        write!(f, "{} {} {bits}{parity}{stop}", self.path, self.baud_rate)
    }
}

/// A channel's serial device: its settings and when to try opening it again.
pub(crate) struct SerialLine {
    pub(super) settings: SerialSettings,
    /// When the next open attempt is due (`None`: open, or an attempt is under way).
    pub(super) reopen_at: Option<Instant>,
    /// Open attempts so far.
    pub(super) attempts: u64,
}

impl SerialLine {
    pub(crate) fn new(settings: SerialSettings) -> Self {
        SerialLine {
            settings,
            reopen_at: None,
            attempts: 0,
        }
    }

    /// True when a reopen is due at `now`.
    pub(super) fn reopen_due(&self, now: Instant) -> bool {
        self.reopen_at.is_some_and(|t| t <= now)
    }

    /// Opens the device and hands it to the reactor, which drives it as a non-blocking
    /// descriptor and reports its hang-up or failure as a close of the returned source.
    pub(super) fn open<M>(
        &mut self,
        cx: &mut Context<'_, M>,
        channel: &str,
    ) -> io::Result<SourceId> {
        self.reopen_at = None;
        self.attempts += 1;
        let port = self.settings.open()?;
        let source = cx.adopt_serial(port)?;
        tracing::info!(channel = %channel, "serial port {} open", self.settings);
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_eight_n_one_without_flow_control() {
        let s = SerialSettings::new("/dev/ttyS0", 9600);
        assert_eq!(s.to_string(), "/dev/ttyS0 9600 8N1");
        assert_eq!(s.flow_control, FlowControl::None);
    }

    #[test]
    fn a_missing_device_fails_to_open_with_an_error() {
        let s = SerialSettings::new("/nonexistent/rdnp3-tty", 9600);
        assert!(s.open().is_err());
    }
}
