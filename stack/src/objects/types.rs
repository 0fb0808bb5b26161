//! Value types of the object library: DNP3 time, flags, double-bit states, CROB fields and
//! command status codes (IEEE 1815-2012, Annex A).

use std::fmt;

/// DNP3 absolute time: milliseconds since 1970-01-01 00:00:00 UTC, 48 bits on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The largest value a 48-bit field holds.
    pub const MAX: Timestamp = Timestamp((1 << 48) - 1);

    /// Decodes 6 little-endian bytes.
    pub fn from_le_bytes(b: [u8; 6]) -> Self {
        let mut w = [0u8; 8];
        w[..6].copy_from_slice(&b);
        Timestamp(u64::from_le_bytes(w))
    }

    /// Encodes 6 little-endian bytes (higher bits are dropped).
    pub fn to_le_bytes(self) -> [u8; 6] {
        let w = self.0.to_le_bytes();
        [w[0], w[1], w[2], w[3], w[4], w[5]]
    }
}

/// Flag bits shared by the point types (IEEE 1815-2012, Annex A).
pub mod flags {
    /// The value is good and can be trusted.
    pub const ONLINE: u8 = 0x01;
    /// Not yet populated since the device restarted.
    pub const RESTART: u8 = 0x02;
    /// Communication with the data source was lost.
    pub const COMM_LOST: u8 = 0x04;
    /// Value forced somewhere in the system.
    pub const REMOTE_FORCED: u8 = 0x08;
    /// Value forced on the originating device.
    pub const LOCAL_FORCED: u8 = 0x10;
    /// Binary inputs: oscillating quickly, some events suppressed.
    pub const CHATTER_FILTER: u8 = 0x20;
    /// Counters: rolled over (deprecated).
    pub const ROLLOVER: u8 = 0x20;
    /// Analogs: out of range, a placeholder value is used.
    pub const OVER_RANGE: u8 = 0x20;
    /// Counters: unusual change in value.
    pub const DISCONTINUITY: u8 = 0x40;
    /// Analogs: calibration or reference lost.
    pub const REFERENCE_ERR: u8 = 0x40;
    /// Binary inputs and outputs: the state bit.
    pub const STATE: u8 = 0x80;
}

/// The state of a double-bit input (IEEE 1815-2012, Annex A).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DoubleBit {
    /// 0: in transit.
    Intermediate,
    /// 1: determined off.
    DeterminedOff,
    /// 2: determined on.
    DeterminedOn,
    /// 3: indeterminate.
    Indeterminate,
}

impl DoubleBit {
    /// From the two state bits.
    pub fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => DoubleBit::Intermediate,
            1 => DoubleBit::DeterminedOff,
            2 => DoubleBit::DeterminedOn,
            _ => DoubleBit::Indeterminate,
        }
    }

    /// The two state bits.
    pub fn to_bits(self) -> u8 {
        self as u8
    }

    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            DoubleBit::Intermediate => "INTERMEDIATE",
            DoubleBit::DeterminedOff => "DETERMINED_OFF",
            DoubleBit::DeterminedOn => "DETERMINED_ON",
            DoubleBit::Indeterminate => "INDETERMINATE",
        }
    }
}

/// The operation type of a CROB control code (bits 3..0).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpType {
    /// 0: no operation.
    Nul,
    /// 1: pulse on.
    PulseOn,
    /// 2: pulse off.
    PulseOff,
    /// 3: latch on.
    LatchOn,
    /// 4: latch off.
    LatchOff,
    /// Any other value.
    Other(u8),
}

impl OpType {
    /// From the low four bits.
    pub fn from_bits(b: u8) -> Self {
        match b & 0x0F {
            0 => OpType::Nul,
            1 => OpType::PulseOn,
            2 => OpType::PulseOff,
            3 => OpType::LatchOn,
            4 => OpType::LatchOff,
            x => OpType::Other(x),
        }
    }

    /// The four bits.
    pub fn to_bits(self) -> u8 {
        match self {
            OpType::Nul => 0,
            OpType::PulseOn => 1,
            OpType::PulseOff => 2,
            OpType::LatchOn => 3,
            OpType::LatchOff => 4,
            OpType::Other(x) => x & 0x0F,
        }
    }

    /// Upper-case name (`OTHER` for undefined values).
    pub fn name(self) -> &'static str {
        match self {
            OpType::Nul => "NUL",
            OpType::PulseOn => "PULSE_ON",
            OpType::PulseOff => "PULSE_OFF",
            OpType::LatchOn => "LATCH_ON",
            OpType::LatchOff => "LATCH_OFF",
            OpType::Other(_) => "OTHER",
        }
    }
}

/// Trip/close code of a CROB (bits 7..6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TripClose {
    /// 0: none.
    Nul,
    /// 1: close.
    Close,
    /// 2: trip.
    Trip,
    /// 3: reserved.
    Reserved,
}

impl TripClose {
    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            TripClose::Nul => "NUL",
            TripClose::Close => "CLOSE",
            TripClose::Trip => "TRIP",
            TripClose::Reserved => "RESERVED",
        }
    }
}

/// The CROB control code byte (IEEE 1815-2012, Annex A), kept whole so it echoes unchanged.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ControlCode(pub u8);

impl ControlCode {
    /// A code with only the operation type set.
    pub fn new(op: OpType) -> Self {
        ControlCode(op.to_bits())
    }

    /// Operation type.
    pub fn op_type(self) -> OpType {
        OpType::from_bits(self.0)
    }

    /// Trip/close code.
    pub fn trip_close(self) -> TripClose {
        match self.0 >> 6 {
            0 => TripClose::Nul,
            1 => TripClose::Close,
            2 => TripClose::Trip,
            _ => TripClose::Reserved,
        }
    }

    /// The clear bit.
    pub fn clear(self) -> bool {
        self.0 & 0x20 != 0
    }

    /// The obsolete queue bit (answered NOT_SUPPORTED when set).
    pub fn queue(self) -> bool {
        self.0 & 0x10 != 0
    }
}

/// The body of a control relay output block (g12v1) without its status byte.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Crob {
    /// The control code.
    pub code: ControlCode,
    /// How many times to repeat the operation.
    pub count: u8,
    /// On time, ms.
    pub on_time: u32,
    /// Off time, ms.
    pub off_time: u32,
}

impl Crob {
    /// A CROB for `op` with count 1 and the given times.
    pub fn new(op: OpType, on_time: u32, off_time: u32) -> Self {
        Crob {
            code: ControlCode::new(op),
            count: 1,
            on_time,
            off_time,
        }
    }
}

macro_rules! command_status {
    ($( $code:literal => $variant:ident, $name:literal, $doc:literal; )*) => {
        /// Command status of CROB / analog output echoes and command events (IEEE 1815-2012, Annex A).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum CommandStatus {
            $( #[doc = $doc] $variant, )*
            /// A code IEEE 1815-2012 does not define.
            Other(u8),
        }

        impl CommandStatus {
            /// Decodes a status byte.
            pub fn from_u8(b: u8) -> Self {
                match b {
                    $( $code => CommandStatus::$variant, )*
                    x => CommandStatus::Other(x),
                }
            }

            /// The status byte.
            pub fn to_u8(self) -> u8 {
                match self {
                    $( CommandStatus::$variant => $code, )*
                    CommandStatus::Other(x) => x,
                }
            }

            /// Upper-case name (`UNKNOWN` for undefined codes).
            pub fn name(self) -> &'static str {
                match self {
                    $( CommandStatus::$variant => $name, )*
                    CommandStatus::Other(_) => "UNKNOWN",
                }
            }
        }
    };
}

command_status! {
    0 => Success, "SUCCESS", "Accepted, initiated or queued.";
    1 => Timeout, "TIMEOUT", "The select timer expired before the operate.";
    2 => NoSelect, "NO_SELECT", "Operate without a matching select.";
    3 => FormatError, "FORMAT_ERROR", "Bad control code or timing values.";
    4 => NotSupported, "NOT_SUPPORTED", "Not supported for this point.";
    5 => AlreadyActive, "ALREADY_ACTIVE", "Already in progress or in that state.";
    6 => HardwareError, "HARDWARE_ERROR", "Hardware or interlock problem.";
    7 => Local, "LOCAL", "The point is in local control.";
    8 => TooManyOps, "TOO_MANY_OPS", "Too many operations or objects.";
    9 => NotAuthorized, "NOT_AUTHORIZED", "Rejected by authorisation.";
    10 => AutomationInhibit, "AUTOMATION_INHIBIT", "Blocked by local automation.";
    11 => ProcessingLimited, "PROCESSING_LIMITED", "The outstation is busy.";
    12 => OutOfRange, "OUT_OF_RANGE", "Value outside the allowed range.";
    13 => DownstreamLocal, "DOWNSTREAM_LOCAL", "A downstream device is in local.";
    14 => AlreadyComplete, "ALREADY_COMPLETE", "Operation already completed.";
    15 => Blocked, "BLOCKED", "Function specifically blocked.";
    16 => Cancelled, "CANCELLED", "Operation was cancelled.";
    17 => BlockedOtherMaster, "BLOCKED_OTHER_MASTER", "Another master has exclusive control.";
    18 => DownstreamFail, "DOWNSTREAM_FAIL", "A downstream device failed.";
    126 => NonParticipating, "NON_PARTICIPATING", "Deprecated.";
    127 => Undefined, "UNDEFINED", "Undefined.";
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_reference_values_decode() {
        assert_eq!(
            Timestamp::from_le_bytes([0xD2, 0x04, 0, 0, 0, 0]),
            Timestamp(1234)
        );
        let t = Timestamp::from_le_bytes([0xA7, 0x75, 0xD8, 0x32, 0x4C, 0x01]);
        assert_eq!(t, Timestamp(1_426_782_188_967));
        assert_eq!(t.to_le_bytes(), [0xA7, 0x75, 0xD8, 0x32, 0x4C, 0x01]);
    }

    #[test]
    fn control_codes_decode() {
        assert_eq!(ControlCode(0x03).op_type(), OpType::LatchOn);
        assert_eq!(ControlCode(0x41).trip_close(), TripClose::Close);
        assert_eq!(ControlCode(0x81).trip_close(), TripClose::Trip);
        assert!(ControlCode(0x51).queue());
        assert_eq!(ControlCode(0xAA).op_type(), OpType::Other(0x0A));
    }

    #[test]
    fn status_codes_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(CommandStatus::from_u8(b).to_u8(), b);
        }
        assert_eq!(CommandStatus::from_u8(2).name(), "NO_SELECT");
    }
}
