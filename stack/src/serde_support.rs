//! serde support for the config types (feature `serde`), so that applications load their
//! settings from files the way the `rdnp3` CLI does.
//!
//! How the less obvious types are spelled:
//! - **Durations** ([`millis`], [`option_millis`]) are written as whole **milliseconds**
//!   (`response_timeout = 5000`); reading also takes a string with a unit — `"250ms"`, `"5s"`,
//!   `"2m"`, `"1h"` — so that hand-written files stay readable. An optional duration is `0`
//!   when absent (`keep_alive = 0`: no keep-alive).
//! - **Class sets** ([`Classes`]) are lists of class numbers:
//!   `unsolicited_classes = [1, 2, 3]` (0 is static data).
//! - **Variations** ([`Variation`]) are `"gGvV"` strings:
//!   `"g30v5"`.
//! - Enums are kebab-case names: `time_sync = "non-lan"`, `class = "class1"`.
//!
//! Every config struct with defaults takes `#[serde(default)]`: a file names only what differs from the
//! defaults. Unknown keys are refused, so a misspelt key is an error rather than ignored.

use crate::objects::{Classes, Variation};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A [`Duration`] as whole milliseconds (or, when read, a string with a unit); for
/// `#[serde(with = "rdnp3_stack::serde_support::millis")]`.
pub mod millis {
    use super::*;

    /// Writes whole milliseconds (saturating at `u64::MAX`).
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads milliseconds, or a string such as `"250ms"`, `"5s"`, `"2m"` or `"1h"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

/// An `Option<Duration>` as [`millis`], with `0` for `None` (TOML has no null; a zero
/// keep-alive or timeout means "none" anyway). For
/// `#[serde(with = "rdnp3_stack::serde_support::option_millis")]`.
pub mod option_millis {
    use super::*;

    /// Writes whole milliseconds, `0` for `None`.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        millis::serialize(&d.unwrap_or(Duration::ZERO), s)
    }

    /// Reads what [`millis`] reads (or null); zero is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::millis")] Duration);
        let d = Option::<Wrapped>::deserialize(d)?.map(|w| w.0);
        Ok(d.filter(|d| !d.is_zero()))
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("milliseconds, or a string such as \"250ms\", \"5s\", \"2m\" or \"1h\"")
    }

    fn visit_u64<E: de::Error>(self, ms: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(ms))
    }

    fn visit_i64<E: de::Error>(self, ms: i64) -> Result<Duration, E> {
        u64::try_from(ms)
            .map(Duration::from_millis)
            .map_err(|_| E::custom("a duration cannot be negative"))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// `"250ms"`, `"5s"`, `"2m"`, `"1h"`: a whole number and a unit.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms_per_unit = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(ms_per_unit).map(Duration::from_millis)
}

/// The classes of a set, in order, as numbers.
const CLASS_NUMBERS: [(u8, Classes); 4] = [
    (0, Classes::CLASS0),
    (1, Classes::CLASS1),
    (2, Classes::CLASS2),
    (3, Classes::CLASS3),
];

impl Serialize for Classes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let present: Vec<u8> = CLASS_NUMBERS
            .iter()
            .filter(|(_, c)| self.contains(*c))
            .map(|(n, _)| *n)
            .collect();
        let mut seq = s.serialize_seq(Some(present.len()))?;
        for n in present {
            seq.serialize_element(&n)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Classes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Classes, D::Error> {
        struct ClassesVisitor;
        impl<'de> Visitor<'de> for ClassesVisitor {
            type Value = Classes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of class numbers 0-3")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Classes, A::Error> {
                let mut classes = Classes::NONE;
                while let Some(n) = seq.next_element::<u8>()? {
                    let (_, c) = CLASS_NUMBERS.iter().find(|(k, _)| *k == n).ok_or_else(|| {
                        de::Error::invalid_value(de::Unexpected::Unsigned(n.into()), &self)
                    })?;
                    classes = classes.union(*c);
                }
                Ok(classes)
            }
        }
        d.deserialize_seq(ClassesVisitor)
    }
}

impl Serialize for Variation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (g, v) = self.numbers();
        s.collect_str(&format_args!("g{g}v{v}"))
    }
}

impl<'de> Deserialize<'de> for Variation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Variation, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text
            .strip_prefix('g')
            .and_then(|rest| rest.split_once('v'))
            .and_then(|(g, v)| Some((g.parse().ok()?, v.parse().ok()?)))
            .and_then(|(g, v)| Variation::lookup(g, v));
        parsed.ok_or_else(|| {
            de::Error::invalid_value(de::Unexpected::Str(&text), &"a known variation, e.g. g30v5")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_a_unit() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }
}
