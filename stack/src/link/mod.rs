//! Link layer (FT3 frames, IEEE 1815-2012, clause 9): CRC, header and control byte, frame
//! formatting, the incremental stream parser, the secondary link-state machine (reset and FCB
//! checking of link-confirmed frames) and the keep-alive timer. Everything here is sans-I/O:
//! bytes and time are passed in, decisions and bytes come out.

mod crc;
mod format;
mod header;
mod keep_alive;
mod parser;
mod secondary;

pub use crc::{check as crc_check, crc};
pub use format::{
    format_frame, frame_size, FormatError, BLOCK_SIZE, HEADER_SIZE, MAX_FRAME_SIZE, MAX_USER_DATA,
};
pub use header::{
    AddressKind, Control, LinkFunction, LinkHeader, RESERVED_ADDRESS_START, SELF_ADDRESS,
};
pub use keep_alive::{KeepAlive, KeepAliveAction};
pub use parser::{LinkError, LinkErrorKind, LinkFrame, LinkParser, LinkStats};
pub use secondary::{SecondaryAction, SecondaryLinkState, SecondaryReply};
