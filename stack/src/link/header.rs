//! The link header: CONTROL byte, function codes and addresses (IEEE 1815-2012, clause 9).

use std::fmt;

/// A link-layer function code, primary (PRM=1) or secondary (PRM=0) (IEEE 1815-2012, clause 9).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkFunction {
    /// Primary 0: reset the secondary's link state (expects ACK).
    ResetLinkStates,
    /// Primary 1: named by some decoders only; not accepted by this stack.
    ResetUserProcess,
    /// Primary 2: test link states (expects ACK, FCB checked).
    TestLinkStates,
    /// Primary 3: link-confirmed user data (expects ACK).
    ConfirmedUserData,
    /// Primary 4: unconfirmed user data, the normal carrier of application fragments.
    UnconfirmedUserData,
    /// Primary 9: request link status (keep-alive; expects LINK_STATUS).
    RequestLinkStatus,
    /// Secondary 0: positive acknowledgement.
    Ack,
    /// Secondary 1: negative acknowledgement.
    Nack,
    /// Secondary 11: answer to REQUEST_LINK_STATUS.
    LinkStatus,
    /// Secondary 14: link service not functioning; not accepted by this stack.
    NotFunctioning,
    /// Secondary 15: link service not used or implemented.
    NotSupported,
}

impl LinkFunction {
    /// Decodes the 4-bit function code for a frame with the given PRM bit.
    pub fn from_code(prm: bool, code: u8) -> Option<LinkFunction> {
        use LinkFunction::*;
        Some(match (prm, code & 0x0F) {
            (true, 0) => ResetLinkStates,
            (true, 1) => ResetUserProcess,
            (true, 2) => TestLinkStates,
            (true, 3) => ConfirmedUserData,
            (true, 4) => UnconfirmedUserData,
            (true, 9) => RequestLinkStatus,
            (false, 0) => Ack,
            (false, 1) => Nack,
            (false, 11) => LinkStatus,
            (false, 14) => NotFunctioning,
            (false, 15) => NotSupported,
            _ => return None,
        })
    }

    /// The 4-bit function code.
    pub fn code(self) -> u8 {
        use LinkFunction::*;
        match self {
            ResetLinkStates | Ack => 0,
            ResetUserProcess | Nack => 1,
            TestLinkStates => 2,
            ConfirmedUserData => 3,
            UnconfirmedUserData => 4,
            RequestLinkStatus => 9,
            LinkStatus => 11,
            NotFunctioning => 14,
            NotSupported => 15,
        }
    }

    /// True for primary (initiating) functions, which are sent with PRM=1.
    pub fn is_primary(self) -> bool {
        use LinkFunction::*;
        matches!(
            self,
            ResetLinkStates
                | ResetUserProcess
                | TestLinkStates
                | ConfirmedUserData
                | UnconfirmedUserData
                | RequestLinkStatus
        )
    }

    /// The FCV value a primary frame of this function must carry (IEEE 1815-2012, clause 9).
    pub fn requires_fcv(self) -> bool {
        matches!(
            self,
            LinkFunction::TestLinkStates | LinkFunction::ConfirmedUserData
        )
    }

    /// True for the functions that carry user data (and must carry at least one octet).
    pub fn carries_data(self) -> bool {
        matches!(
            self,
            LinkFunction::ConfirmedUserData | LinkFunction::UnconfirmedUserData
        )
    }

    /// True for the functions this stack accepts on receipt (opendnp3's set).
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            LinkFunction::ResetUserProcess | LinkFunction::NotFunctioning
        )
    }

    /// The upper-case name used in logs and the decoder output.
    pub fn name(self) -> &'static str {
        use LinkFunction::*;
        match self {
            ResetLinkStates => "RESET_LINK_STATES",
            ResetUserProcess => "RESET_USER_PROCESS",
            TestLinkStates => "TEST_LINK_STATES",
            ConfirmedUserData => "CONFIRMED_USER_DATA",
            UnconfirmedUserData => "UNCONFIRMED_USER_DATA",
            RequestLinkStatus => "REQUEST_LINK_STATUS",
            Ack => "ACK",
            Nack => "NACK",
            LinkStatus => "LINK_STATUS",
            NotFunctioning => "NOT_FUNCTIONING",
            NotSupported => "NOT_SUPPORTED",
        }
    }
}

impl fmt::Display for LinkFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The CONTROL byte of a link header (IEEE 1815-2012, clause 9).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Control {
    /// DIR: true when sent by a master.
    pub dir: bool,
    /// FCB (primary frames only): the frame count bit.
    pub fcb: bool,
    /// FCV (primary frames only): true when FCB is meaningful.
    pub fcv: bool,
    /// DFC (secondary frames only): the receiver's buffers are full.
    pub dfc: bool,
    /// The function; its kind gives the PRM bit.
    pub function: LinkFunction,
}

impl Control {
    /// A control byte for `function` from a master (`dir`) or outstation, with FCB/FCV/DFC clear
    /// and FCV set where the function requires it.
    pub fn new(dir: bool, function: LinkFunction) -> Control {
        Control {
            dir,
            fcb: false,
            fcv: function.is_primary() && function.requires_fcv(),
            dfc: false,
            function,
        }
    }

    /// PRM: true for a primary (initiating) frame.
    pub fn prm(&self) -> bool {
        self.function.is_primary()
    }

    /// Encodes the byte.
    pub fn to_byte(&self) -> u8 {
        let mut b = self.function.code();
        if self.dir {
            b |= 0x80;
        }
        if self.prm() {
            b |= 0x40;
            if self.fcb {
                b |= 0x20;
            }
            if self.fcv {
                b |= 0x10;
            }
        } else if self.dfc {
            b |= 0x10;
        }
        b
    }

    /// Decodes the byte; `None` when the function code is undefined for its PRM value.
    /// For secondary frames, bit 5 is reported through `fcb` so that validation can reject it.
    pub fn from_byte(b: u8) -> Option<Control> {
        let prm = b & 0x40 != 0;
        let function = LinkFunction::from_code(prm, b)?;
        Some(Control {
            dir: b & 0x80 != 0,
            fcb: b & 0x20 != 0,
            fcv: prm && b & 0x10 != 0,
            dfc: !prm && b & 0x10 != 0,
            function,
        })
    }
}

/// The lowest reserved link address; 0xFFF0..=0xFFFB are never valid (IEEE 1815-2012, clause 9).
pub const RESERVED_ADDRESS_START: u16 = 0xFFF0;
/// The optional "self" address, answered as one's own address where enabled.
pub const SELF_ADDRESS: u16 = 0xFFFC;

/// Classification of a destination address (IEEE 1815-2012, clause 9).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// An ordinary station address, 0..=0xFFEF.
    Station,
    /// Reserved, 0xFFF0..=0xFFFB: never accepted.
    Reserved,
    /// The self address 0xFFFC.
    SelfAddress,
    /// Broadcast 0xFFFD: outstations must not request confirmation.
    BroadcastDontConfirm,
    /// Broadcast 0xFFFE: application confirmation mandatory.
    BroadcastShallConfirm,
    /// Broadcast 0xFFFF: application confirmation optional.
    BroadcastOptionalConfirm,
}

impl AddressKind {
    /// Classifies `address`.
    pub fn of(address: u16) -> AddressKind {
        match address {
            0..=0xFFEF => AddressKind::Station,
            0xFFF0..=0xFFFB => AddressKind::Reserved,
            0xFFFC => AddressKind::SelfAddress,
            0xFFFD => AddressKind::BroadcastDontConfirm,
            0xFFFE => AddressKind::BroadcastShallConfirm,
            0xFFFF => AddressKind::BroadcastOptionalConfirm,
        }
    }

    /// True for the three broadcast addresses.
    pub fn is_broadcast(self) -> bool {
        matches!(
            self,
            AddressKind::BroadcastDontConfirm
                | AddressKind::BroadcastShallConfirm
                | AddressKind::BroadcastOptionalConfirm
        )
    }
}

/// A decoded link header: control byte and addresses (the LENGTH is implied by the user data).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkHeader {
    /// The CONTROL byte.
    pub control: Control,
    /// DESTINATION address.
    pub destination: u16,
    /// SOURCE address.
    pub source: u16,
}

impl LinkHeader {
    /// A header for `function` from `source` to `destination`; `master` sets DIR.
    pub fn new(master: bool, function: LinkFunction, destination: u16, source: u16) -> Self {
        LinkHeader {
            control: Control::new(master, function),
            destination,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_made_control_values_round_trip() {
        // The ready-made CONTROL values of IEEE 1815-2012, clause 9.
        let cases: &[(u8, bool, LinkFunction, bool, bool)] = &[
            (0xC0, true, LinkFunction::ResetLinkStates, false, false),
            (0x40, false, LinkFunction::ResetLinkStates, false, false),
            (0xD2, true, LinkFunction::TestLinkStates, false, false),
            (0xF2, true, LinkFunction::TestLinkStates, true, false),
            (0x73, false, LinkFunction::ConfirmedUserData, true, false),
            (0xC4, true, LinkFunction::UnconfirmedUserData, false, false),
            (0x44, false, LinkFunction::UnconfirmedUserData, false, false),
            (0xC9, true, LinkFunction::RequestLinkStatus, false, false),
            (0x80, true, LinkFunction::Ack, false, false),
            (0x10, false, LinkFunction::Ack, false, true),
            (0x91, true, LinkFunction::Nack, false, true),
            (0x8B, true, LinkFunction::LinkStatus, false, false),
            (0x1B, false, LinkFunction::LinkStatus, false, true),
            (0x9F, true, LinkFunction::NotSupported, false, true),
        ];
        for &(byte, dir, function, fcb, dfc) in cases {
            let c = Control::from_byte(byte).unwrap();
            assert_eq!(
                (c.dir, c.function, c.fcb, c.dfc),
                (dir, function, fcb, dfc),
                "{byte:02X}"
            );
            assert_eq!(c.to_byte(), byte, "{byte:02X}");
        }
    }

    #[test]
    fn undefined_function_codes_do_not_decode() {
        assert!(Control::from_byte(0xC5).is_none());
        assert!(Control::from_byte(0x82).is_none());
    }

    #[test]
    fn addresses_are_classified() {
        assert_eq!(AddressKind::of(1024), AddressKind::Station);
        assert_eq!(AddressKind::of(0xFFEF), AddressKind::Station);
        assert_eq!(AddressKind::of(0xFFF5), AddressKind::Reserved);
        assert_eq!(AddressKind::of(0xFFFC), AddressKind::SelfAddress);
        assert!(AddressKind::of(0xFFFD).is_broadcast());
        assert!(AddressKind::of(0xFFFE).is_broadcast());
        assert!(AddressKind::of(0xFFFF).is_broadcast());
    }
}
