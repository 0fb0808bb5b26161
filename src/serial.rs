//! Serial port settings, and opening a port with them through `serialport`.

use std::fmt;
use std::io;

/// Bits per character.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum DataBits {
    /// 5 bits.
    #[cfg_attr(feature = "serde", serde(rename = "5"))]
    Five,
    /// 6 bits.
    #[cfg_attr(feature = "serde", serde(rename = "6"))]
    Six,
    /// 7 bits.
    #[cfg_attr(feature = "serde", serde(rename = "7"))]
    Seven,
    /// 8 bits (what DNP3 uses).
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "8"))]
    Eight,
}

/// Parity checking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum StopBits {
    /// One stop bit.
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "1"))]
    One,
    /// Two stop bits.
    #[cfg_attr(feature = "serde", serde(rename = "2"))]
    Two,
}

/// Flow control.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
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

/// Where a serial channel's device is and how to configure it. Build it with
/// [`SerialSettings::new`] and the `with_*` setters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
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

/// `/dev/ttyS0` at 9600 bit/s, 8N1, no flow control.
impl Default for SerialSettings {
    fn default() -> Self {
        SerialSettings::new("/dev/ttyS0", 9600)
    }
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
    pub(crate) fn open(&self) -> io::Result<serialport::TTYPort> {
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

rdnp3_stack::setters!(SerialSettings {
    path: String => with_path,
    baud_rate: u32 => with_baud_rate,
    data_bits: DataBits => with_data_bits,
    parity: Parity => with_parity,
    stop_bits: StopBits => with_stop_bits,
    flow_control: FlowControl => with_flow_control,
});

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
    fn the_default_is_the_first_port_at_9600_8n1() {
        assert_eq!(SerialSettings::default().to_string(), "/dev/ttyS0 9600 8N1");
        let s = SerialSettings::default()
            .with_path("/dev/ttyUSB0".into())
            .with_baud_rate(19200);
        assert_eq!(s.to_string(), "/dev/ttyUSB0 19200 8N1");
    }

    #[test]
    fn a_missing_device_fails_to_open_with_an_error() {
        let s = SerialSettings::new("/nonexistent/rdnp3-tty", 9600);
        assert!(s.open().is_err());
    }
}
