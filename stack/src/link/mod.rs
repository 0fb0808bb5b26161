//! Link layer (FT3 frames, PROTOCOL.md §2): CRC, header and control byte, frame formatting and
//! the incremental stream parser.

mod crc;
mod format;
mod header;
mod parser;

pub use crc::{check as crc_check, crc};
pub use format::{
    format_frame, frame_size, FormatError, BLOCK_SIZE, HEADER_SIZE, MAX_FRAME_SIZE, MAX_USER_DATA,
};
pub use header::{
    AddressKind, Control, LinkFunction, LinkHeader, RESERVED_ADDRESS_START, SELF_ADDRESS,
};
pub use parser::{LinkError, LinkErrorKind, LinkFrame, LinkParser, LinkStats};
