//! A byte pipe between two channel engines that loses, duplicates, reorders, truncates and
//! corrupts link frames at per-scenario rates, or carries them intact while faults are off.

use rdnp3_stack::link::crc;
use rdnp3_testkit::rng::Rng;
use std::collections::VecDeque;

/// Fault probabilities, in parts per thousand of frames.
#[derive(Copy, Clone, Debug, Default)]
pub struct FaultRates {
    pub loss: usize,
    pub duplicate: usize,
    pub reorder: usize,
    pub truncate: usize,
    pub corrupt: usize,
}

impl FaultRates {
    /// Random rates; each fault is absent from about a third of the scenarios.
    pub fn random(rng: &mut Rng) -> Self {
        let mut rate = |max: usize| {
            if rng.below(3) == 0 {
                0
            } else {
                rng.range(1, max)
            }
        };
        FaultRates {
            loss: rate(250),
            duplicate: rate(100),
            reorder: rate(100),
            truncate: rate(50),
            corrupt: rate(50),
        }
    }
}

/// One direction of the line: frames in flight, in arrival order.
#[derive(Debug, Default)]
pub struct Pipe {
    in_flight: VecDeque<Vec<u8>>,
}

/// The length of the link frame at the start of `bytes` (IEEE 1815-2012, clause 9: a
/// 10-byte header, then blocks of up to 16 user data bytes, each followed by its CRC).
fn frame_len(bytes: &[u8]) -> usize {
    match bytes {
        [0x05, 0x64, len, ..] if *len >= 5 => {
            let user = usize::from(*len) - 5;
            10 + user + 2 * user.div_ceil(16)
        }
        _ => bytes.len(),
    }
    .min(bytes.len())
}

/// Loses the frame's bytes from `keep` on, as a dropout on a serial line does, and fills
/// its length with idle-line bytes whose CRC fails, so that the receiver drops the cut
/// frame. (Left as a bare prefix, the cut frame would be completed by the next frame's
/// bytes, and that splice passes the 16-bit block CRC of IEEE 1815-2012 clause 9 about once
/// in 65 536: garbage no DNP3 engine can tell from data.)
fn cut(frame: &mut [u8], keep: usize) {
    let len = frame.len();
    frame[keep..].fill(0);
    // The header's 8 bytes, then blocks of up to 16 user data bytes, each with its CRC.
    let mut start = 0;
    let mut data = 8;
    while start + data + 2 <= len {
        let end = start + data + 2;
        if keep < end {
            let good = crc(&frame[start..start + data]).to_le_bytes();
            for (i, b) in frame[start + data..end].iter_mut().enumerate() {
                if start + data + i >= keep {
                    *b = good[i] ^ 0xFF;
                }
            }
            return;
        }
        start = end;
        data = (len - start).saturating_sub(2).min(16);
    }
}

/// True with probability `rate` per thousand.
fn hit(rng: &mut Rng, rate: usize) -> bool {
    rate > 0 && rng.below(1000) < rate
}

impl Pipe {
    /// Sends what an engine wrote, frame by frame, through the faults when `faults` is set.
    pub fn send(&mut self, rng: &mut Rng, bytes: &[u8], faults: Option<&FaultRates>) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (frame, tail) = rest.split_at(frame_len(rest).max(1));
            rest = tail;
            let Some(f) = faults else {
                self.in_flight.push_back(frame.to_vec());
                continue;
            };
            if hit(rng, f.loss) {
                continue;
            }
            let mut frame = frame.to_vec();
            if hit(rng, f.truncate) {
                let keep = rng.below(frame.len());
                cut(&mut frame, keep);
            }
            if hit(rng, f.corrupt) && !frame.is_empty() {
                let at = rng.below(frame.len());
                frame[at] ^= (rng.byte() | 1).rotate_left(rng.below(8) as u32);
            }
            let copies = if hit(rng, f.duplicate) { 2 } else { 1 };
            for _ in 0..copies {
                if hit(rng, f.reorder) && !self.in_flight.is_empty() {
                    let at = rng.below(self.in_flight.len());
                    self.in_flight.insert(at, frame.clone());
                } else {
                    self.in_flight.push_back(frame.clone());
                }
            }
        }
    }

    /// Takes every frame in flight, in arrival order.
    pub fn take(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.in_flight.drain(..)
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Forgets what is in flight (the connection closed).
    pub fn clear(&mut self) {
        self.in_flight.clear();
    }
}
