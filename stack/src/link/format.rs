//! Link frame formatting: header, header CRC and user data in CRC'd blocks (IEEE 1815-2012,
//! clause 9).

use super::crc::crc;
use super::header::LinkHeader;
use std::fmt;

/// Octets in a link header including its CRC.
pub const HEADER_SIZE: usize = 10;
/// Largest user-data payload of one frame (transport byte + 249 application bytes).
pub const MAX_USER_DATA: usize = 250;
/// Largest frame on the wire: 10 + 250 + 16 × 2.
pub const MAX_FRAME_SIZE: usize = 292;
/// User-data octets per CRC'd block.
pub const BLOCK_SIZE: usize = 16;

/// Size on the wire of a frame carrying `user_len` user-data octets.
pub const fn frame_size(user_len: usize) -> usize {
    HEADER_SIZE + user_len + 2 * user_len.div_ceil(BLOCK_SIZE)
}

/// Why a frame could not be formatted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// More than 250 octets of user data.
    UserDataTooLong(usize),
    /// The output buffer cannot hold the frame; the size it needs is given.
    BufferTooSmall(usize),
    /// The function carries user data but none was given, or the reverse.
    DataMismatch,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::UserDataTooLong(n) => {
                write!(f, "{n} octets of user data exceed the link maximum of 250")
            }
            FormatError::BufferTooSmall(n) => {
                write!(f, "output buffer too small: {n} octets needed")
            }
            FormatError::DataMismatch => f.write_str(
                "user data given to a function without data, or missing for a data function",
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// Writes one frame for `header` carrying `user_data` into `out`; returns the octets written.
pub fn format_frame(
    header: &LinkHeader,
    user_data: &[u8],
    out: &mut [u8],
) -> Result<usize, FormatError> {
    if user_data.len() > MAX_USER_DATA {
        return Err(FormatError::UserDataTooLong(user_data.len()));
    }
    if header.control.function.carries_data() == user_data.is_empty() {
        return Err(FormatError::DataMismatch);
    }
    let size = frame_size(user_data.len());
    let Some(out) = out.get_mut(..size) else {
        return Err(FormatError::BufferTooSmall(size));
    };
    out[0] = 0x05;
    out[1] = 0x64;
    out[2] = (5 + user_data.len()) as u8;
    out[3] = header.control.to_byte();
    out[4..6].copy_from_slice(&header.destination.to_le_bytes());
    out[6..8].copy_from_slice(&header.source.to_le_bytes());
    let c = crc(&out[..8]);
    out[8..10].copy_from_slice(&c.to_le_bytes());
    let mut pos = HEADER_SIZE;
    for block in user_data.chunks(BLOCK_SIZE) {
        out[pos..pos + block.len()].copy_from_slice(block);
        pos += block.len();
        out[pos..pos + 2].copy_from_slice(&crc(block).to_le_bytes());
        pos += 2;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_match_the_reference_table() {
        assert_eq!(frame_size(0), 10);
        assert_eq!(frame_size(1), 13);
        assert_eq!(frame_size(16), 28);
        assert_eq!(frame_size(32), 46);
        assert_eq!(frame_size(33), 49);
        assert_eq!(frame_size(250), MAX_FRAME_SIZE);
    }

    #[test]
    fn refuses_oversized_data_and_small_buffers() {
        use crate::link::LinkFunction;
        let h = LinkHeader::new(true, LinkFunction::UnconfirmedUserData, 1024, 1);
        let mut out = [0u8; 400];
        assert_eq!(
            format_frame(&h, &[0; 251], &mut out),
            Err(FormatError::UserDataTooLong(251))
        );
        assert_eq!(
            format_frame(&h, &[0; 16], &mut out[..27]),
            Err(FormatError::BufferTooSmall(28))
        );
        assert_eq!(
            format_frame(&h, &[], &mut out),
            Err(FormatError::DataMismatch)
        );
        let h = LinkHeader::new(true, LinkFunction::ResetLinkStates, 1024, 1);
        assert_eq!(
            format_frame(&h, &[1], &mut out),
            Err(FormatError::DataMismatch)
        );
    }
}
