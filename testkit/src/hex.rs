//! Hex text for known-answer tests and captures: `"05 64 0B C4"` to bytes and back.

use std::fmt;

/// Why hex text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// A character that is neither a hex digit, white space nor part of a `#` comment.
    NotADigit {
        /// The 1-based line of the character.
        line: usize,
        /// The character.
        found: char,
    },
    /// The digits do not pair up into whole bytes.
    OddDigits,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::NotADigit { line, found } => {
                write!(f, "line {line}: {found:?} is not a hex digit")
            }
            HexError::OddDigits => f.write_str("odd number of hex digits"),
        }
    }
}

impl std::error::Error for HexError {}

/// Hex digits to bytes, ignoring white space and `#` comments to the end of a line.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for c in line.chars().filter(|c| !c.is_whitespace()) {
            let d = c.to_digit(16).ok_or(HexError::NotADigit {
                line: n + 1,
                found: c,
            })?;
            digits.push(d as u8);
        }
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddDigits);
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// The bytes a known answer spells, such as `"05 64 0B C4"`; panics on malformed text (a
/// typo in the test itself).
pub fn bytes(text: &str) -> Vec<u8> {
    decode(text).unwrap_or_else(|e| panic!("bad hex in {text:?}: {e}"))
}

/// Bytes as upper-case hex pairs separated by spaces, the form [`bytes`] reads.
pub fn spaced(data: &[u8]) -> String {
    data.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes as upper-case hex pairs with no separator.
pub fn compact(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_text_round_trips() {
        let data = bytes("05 64 0b C4 # a comment\n00");
        assert_eq!(data, [0x05, 0x64, 0x0B, 0xC4, 0x00]);
        assert_eq!(spaced(&data), "05 64 0B C4 00");
        assert_eq!(compact(&data), "05640BC400");
    }

    #[test]
    fn malformed_text_names_the_problem() {
        assert_eq!(
            decode("05\n6x").unwrap_err().to_string(),
            "line 2: 'x' is not a hex digit"
        );
        assert_eq!(decode("056"), Err(HexError::OddDigits));
    }
}
