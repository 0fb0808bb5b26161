//! CRC-16/DNP (IEEE 1815-2012, clause 9): reflected polynomial 0xA6BC, initial 0, final complement,
//! transmitted low byte first.

/// Byte-wise lookup table for the reflected polynomial 0xA6BC, built at compile time.
const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = i as u16;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 1 != 0 {
                (r >> 1) ^ 0xA6BC
            } else {
                r >> 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
}

/// Computes the DNP3 CRC of `data`; the result goes on the wire as `crc as u8, (crc >> 8) as u8`.
pub fn crc(data: &[u8]) -> u16 {
    let mut r: u16 = 0;
    for &b in data {
        r = (r >> 8) ^ TABLE[usize::from((r ^ u16::from(b)) as u8)];
    }
    !r
}

/// Checks that `data` followed by its two transmitted CRC bytes is intact.
pub fn check(data: &[u8], crc_bytes: [u8; 2]) -> bool {
    crc(data) == u16::from_le_bytes(crc_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_the_catalogue() {
        assert_eq!(crc(b"123456789"), 0xEA82);
    }

    #[test]
    fn table_entries_match_the_reference() {
        assert_eq!(TABLE[0], 0x0000);
        assert_eq!(TABLE[1], 0x365E);
        assert_eq!(TABLE[2], 0x6CBC);
        assert_eq!(TABLE[128], 0xA6BC);
        assert_eq!(TABLE[255], 0x1235);
    }

    #[test]
    fn header_vector_from_the_reference() {
        assert_eq!(
            crc(&[0x05, 0x64, 0x05, 0xC0, 0x01, 0x00, 0x00, 0x04]),
            0x21E9
        );
        assert!(check(
            &[0x05, 0x64, 0x05, 0xC0, 0x01, 0x00, 0x00, 0x04],
            [0xE9, 0x21]
        ));
    }

    #[test]
    fn zero_blocks_have_crc_ffff() {
        assert_eq!(crc(&[0, 0]), 0xFFFF);
        assert_eq!(crc(&[0; 16]), 0xFFFF);
    }

    #[test]
    fn bitwise_and_table_forms_agree() {
        let data: Vec<u8> = (0..=255u8).collect();
        let mut r: u16 = 0;
        for &b in &data {
            r ^= u16::from(b);
            for _ in 0..8 {
                r = if r & 1 != 0 {
                    (r >> 1) ^ 0xA6BC
                } else {
                    r >> 1
                };
            }
        }
        assert_eq!(crc(&data), !r);
    }
}
