//! Outstation configuration: addresses, fragment sizes, timers, unsolicited reporting and
//! event buffer capacities (defaults follow common practice for DNP3 outstations, except where noted).

use super::attributes::DeviceAttributes;
use crate::objects::{PointType, TYPE_COUNT};
use std::time::Duration;

/// How many events of each type the outstation buffers. Each buffer grows as events arrive
/// up to its capacity and keeps its memory; a type without points gets no buffer at all.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct EventBufferConfig {
    /// Binary input events (g2).
    pub binary: u16,
    /// Double-bit input events (g4).
    pub double_bit: u16,
    /// Binary output status events (g11).
    pub binary_output_status: u16,
    /// Counter events (g22).
    pub counter: u16,
    /// Frozen counter events (g23).
    pub frozen_counter: u16,
    /// Analog input events (g32).
    pub analog: u16,
    /// Analog output status events (g42).
    pub analog_output_status: u16,
    /// Octet string events (g111); each one reserves 255 bytes.
    pub octet_string: u16,
}

impl EventBufferConfig {
    /// The same capacity for every type.
    pub fn all(capacity: u16) -> Self {
        EventBufferConfig {
            binary: capacity,
            double_bit: capacity,
            binary_output_status: capacity,
            counter: capacity,
            frozen_counter: capacity,
            analog: capacity,
            analog_output_status: capacity,
            octet_string: capacity,
        }
    }

    /// The capacity for `ty`.
    pub fn capacity(&self, ty: PointType) -> u16 {
        self.as_array()[ty.ordinal()]
    }

    pub(crate) fn as_array(&self) -> [u16; TYPE_COUNT] {
        [
            self.binary,
            self.double_bit,
            self.binary_output_status,
            self.counter,
            self.frozen_counter,
            self.analog,
            self.analog_output_status,
            self.octet_string,
            // Frozen analogs and command events: the outstation does not serve them yet.
            0,
            0,
            0,
        ]
    }
}

crate::setters!(EventBufferConfig {
    binary: u16 => with_binary,
    double_bit: u16 => with_double_bit,
    binary_output_status: u16 => with_binary_output_status,
    counter: u16 => with_counter,
    frozen_counter: u16 => with_frozen_counter,
    analog: u16 => with_analog,
    analog_output_status: u16 => with_analog_output_status,
    octet_string: u16 => with_octet_string,
});

crate::setters!(OutstationConfig {
    local_address: u16 => with_local_address,
    master_address: u16 => with_master_address,
    max_tx_fragment: usize => with_max_tx_fragment,
    max_rx_fragment: usize => with_max_rx_fragment,
    select_timeout: Duration => with_select_timeout,
    solicited_confirm_timeout: Duration => with_solicited_confirm_timeout,
    unsolicited_confirm_timeout: Duration => with_unsolicited_confirm_timeout,
    unsolicited_retries: Option<u32> => with_unsolicited_retries,
    allow_unsolicited: bool => with_allow_unsolicited,
    max_controls_per_request: Option<usize> => with_max_controls_per_request,
    need_time_at_start: bool => with_need_time_at_start,
    event_buffer: EventBufferConfig => with_event_buffer,
    device_attributes: DeviceAttributes => with_device_attributes,
    command_events: bool => with_command_events,
    async_control_timeout: Duration => with_async_control_timeout,
});

impl Default for EventBufferConfig {
    /// 100 events per type, 10 octet string events.
    fn default() -> Self {
        EventBufferConfig {
            octet_string: 10,
            ..EventBufferConfig::all(100)
        }
    }
}

/// Everything an outstation session needs besides its database and handlers.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct OutstationConfig {
    /// Our link address (default 1024).
    pub local_address: u16,
    /// The master's link address (default 1); fragments from other sources are ignored.
    pub master_address: u16,
    /// Largest fragment we send (default 2048). The channel's transmit buffer must be at
    /// least this large.
    pub max_tx_fragment: usize,
    /// Largest request we accept (default 2048); longer fragments are ignored.
    pub max_rx_fragment: usize,
    /// Time allowed between SELECT and OPERATE (default 10 s).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub select_timeout: Duration,
    /// Time to wait for the CONFIRM of a solicited response (default 5 s).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub solicited_confirm_timeout: Duration,
    /// Time to wait for the CONFIRM of an unsolicited response (default 5 s).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub unsolicited_confirm_timeout: Duration,
    /// Repeats of an unconfirmed event-bearing unsolicited response before its events wait
    /// for the next one (`None`: unlimited, the default).
    pub unsolicited_retries: Option<u32>,
    /// Unsolicited reporting allowed. Default **true** here (opendnp3 defaults to false): the
    /// outstation then sends the null unsolicited response after start-up and reports events
    /// of the classes the master enables.
    pub allow_unsolicited: bool,
    /// Largest number of control objects executed per request; the rest are answered with
    /// TOO_MANY_OPS (`None`: unlimited, the default).
    pub max_controls_per_request: Option<usize>,
    /// IIN1.4 NEED_TIME at start-up, until the master writes the time (default true).
    pub need_time_at_start: bool,
    /// Event buffer capacities.
    pub event_buffer: EventBufferConfig,
    /// The device attributes (g0) a master may read (default: none besides the fragment
    /// sizes and point counts, which come from the configuration and the database).
    pub device_attributes: DeviceAttributes,
    /// Each executed operate creates a command event with its status (g13 for CROBs, g43
    /// for analog outputs) in the class of the output's status point (default false).
    pub command_events: bool,
    /// How long a response waits for controls answered later
    /// ([`DatabaseHandle::defer`](super::DatabaseHandle::defer)) before those still open
    /// are answered TIMEOUT (default 2 s; keep it below the master's response timeout).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_support::millis"))]
    pub async_control_timeout: Duration,
}

impl Default for OutstationConfig {
    fn default() -> Self {
        OutstationConfig {
            local_address: 1024,
            master_address: 1,
            max_tx_fragment: 2048,
            max_rx_fragment: 2048,
            select_timeout: Duration::from_secs(10),
            solicited_confirm_timeout: Duration::from_secs(5),
            unsolicited_confirm_timeout: Duration::from_secs(5),
            unsolicited_retries: None,
            allow_unsolicited: true,
            max_controls_per_request: None,
            need_time_at_start: true,
            event_buffer: EventBufferConfig::default(),
            device_attributes: DeviceAttributes::default(),
            command_events: false,
            async_control_timeout: Duration::from_secs(2),
        }
    }
}
