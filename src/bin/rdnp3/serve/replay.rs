//! Replay files: CSV rows of `timestamp,type,index,value`, with timestamps in milliseconds,
//! either relative to the start of the replay or since 1970 (then relative to the first row).

use super::config::{point_type, text_update};
use rdnp3::stack::outstation::{PointConfig, PointType, Update};
use std::path::Path;

/// Largest replay file read (rows are held in memory).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A timestamp at or above this (2001-09-09 in ms since 1970) is an epoch time.
const EPOCH_FROM_MS: u64 = 1_000_000_000_000;

/// Reads `path` into (ms after the replay starts, update) rows, checked against the configured
/// `points`; errors name the CSV line.
pub fn load(
    path: &Path,
    points: &[(PointType, u16, PointConfig)],
) -> Result<Vec<(u64, Update)>, String> {
    let name = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{name}: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!("{name}: larger than {MAX_FILE_BYTES} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    parse(&text, points).map_err(|(line, what)| format!("{name}:{line}: {what}"))
}

/// Parses replay rows; an error is (1-based line, what is wrong).
pub fn parse(
    text: &str,
    points: &[(PointType, u16, PointConfig)],
) -> Result<Vec<(u64, Update)>, (usize, String)> {
    let mut rows = Vec::new();
    let mut first: Option<u64> = None;
    let mut epoch = false;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.splitn(4, ',').map(str::trim).collect();
        if rows.is_empty() && first.is_none() && fields[0].parse::<u64>().is_err() {
            continue; // A header row.
        }
        let [ts, ty, index, value] = fields[..] else {
            return Err((line_no, "expected timestamp,type,index,value".into()));
        };
        let ts: u64 = ts
            .parse()
            .map_err(|_| (line_no, format!("bad timestamp {ts:?} (ms)")))?;
        let ty = point_type(ty).ok_or((line_no, format!("unknown point type {ty:?}")))?;
        let index: u16 = index
            .parse()
            .map_err(|_| (line_no, format!("bad index {index:?}")))?;
        if !points.iter().any(|(t, i, _)| *t == ty && *i == index) {
            return Err((line_no, format!("no {ty} point {index} is configured")));
        }
        let value = value.trim_matches('"');
        let update = text_update(ty, index, value)
            .ok_or((line_no, format!("{value:?} is not a {ty} value")))?;
        let start = *first.get_or_insert_with(|| {
            epoch = ts >= EPOCH_FROM_MS;
            ts
        });
        let at = if epoch {
            ts.checked_sub(start)
        } else {
            Some(ts)
        };
        let at = at.ok_or((line_no, "timestamp before the first row's".to_string()))?;
        if rows.last().is_some_and(|(prev, _)| *prev > at) {
            return Err((line_no, "timestamps must not go back".into()));
        }
        rows.push((at, update));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdnp3::stack::outstation::EventClass;

    fn points() -> Vec<(PointType, u16, PointConfig)> {
        let c = PointConfig::new(EventClass::Class1);
        vec![
            (PointType::AnalogInput, 2, c),
            (PointType::BinaryInput, 0, c),
        ]
    }

    #[test]
    fn epoch_timestamps_count_from_the_first_row_and_relative_ones_from_the_start() {
        let rows = parse(
            "timestamp,type,index,value\n1733590000000,analog,2,1.5\n1733590000250,binary,0,true\n",
            &points(),
        )
        .unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 250]);
        assert_eq!(rows[1].1, Update::binary(0, true));
        let rows = parse("100,analog,2,3\n", &points()).unwrap();
        assert_eq!(rows, [(100, Update::analog(2, 3.0))]);
    }

    #[test]
    fn a_row_for_an_unconfigured_point_names_its_line() {
        let err = parse("0,analog,2,1\n5,analog,3,1\n", &points()).unwrap_err();
        assert_eq!(err, (2, "no analog point 3 is configured".to_string()));
        let err = parse("0,analog,2,1\n5,binary,0,maybe\n", &points()).unwrap_err();
        assert_eq!(err.0, 2);
    }
}
