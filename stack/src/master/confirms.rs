//! What the master checks before it confirms a fragment, and the confirms it owes: a bounded
//! queue of CONFIRMs (several fragments can arrive before the line is free again), the
//! duplicate detection of repeated unsolicited responses, and the FIR/FIN order of response
//! fragments (IEEE 1815-2012, clause 4).

use crate::app::{AppControl, Fragment};
use std::collections::VecDeque;

/// At most this many confirms wait to be sent: each answers a fragment that arrived while the
/// master could not send; more than this means the outstation ignores the turn-taking, and
/// the oldest are dropped (the outstation repeats what it still wants confirmed).
const MAX_PENDING_CONFIRMS: usize = 4;

/// The CONFIRMs owed, in the order of the fragments they answer.
#[derive(Debug, Default)]
pub(crate) struct ConfirmQueue {
    pending: VecDeque<AppControl>,
}

impl ConfirmQueue {
    /// Owes a confirm; the oldest is dropped when the queue is full.
    pub(crate) fn push(&mut self, control: AppControl) {
        if self.pending.len() >= MAX_PENDING_CONFIRMS {
            tracing::debug!("too many confirms owed: the oldest is dropped");
            self.pending.pop_front();
        }
        self.pending.push_back(control);
    }

    /// The next confirm to send.
    pub(crate) fn pop(&mut self) -> Option<AppControl> {
        self.pending.pop_front()
    }

    /// True when no confirm is owed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Forgets every confirm owed (the link went down or came up again).
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }
}

/// The last unsolicited response accepted: its SEQ and a digest of its bytes. An outstation
/// that missed our confirm repeats the same fragment with the same SEQ; it is confirmed again
/// but its events are not delivered twice (IEEE 1815-2012, clause 4).
#[derive(Debug, Default)]
pub(crate) struct UnsolicitedHistory {
    last: Option<(u8, usize, u64)>,
}

impl UnsolicitedHistory {
    /// True when `fragment` (SEQ `seq`) repeats the last unsolicited response accepted.
    pub(crate) fn is_repeat(&self, seq: u8, fragment: &[u8]) -> bool {
        self.last == Some((seq, fragment.len(), digest(fragment)))
    }

    /// Remembers an accepted unsolicited response.
    pub(crate) fn accept(&mut self, seq: u8, fragment: &[u8]) {
        self.last = Some((seq, fragment.len(), digest(fragment)));
    }

    /// Forgets it (a new connection).
    pub(crate) fn clear(&mut self) {
        self.last = None;
    }
}

/// FNV-1a over the fragment: cheap, allocation free, and good enough to tell a repetition
/// from new data with the same SEQ.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Why a fragment is refused before it is confirmed, reacted to or delivered.
pub(crate) fn unsolicited_refusal(f: &Fragment<'_>) -> Option<&'static str> {
    if !f.control.uns {
        Some("unsolicited response without UNS")
    } else if !(f.control.fir && f.control.fin) {
        // An unsolicited response is always a single fragment (IEEE 1815-2012, clause 4).
        Some("unsolicited response not FIR and FIN")
    } else {
        None
    }
}

/// True when a response fragment comes out of order: FIR must be set on the first fragment of
/// a response and on no other.
pub(crate) fn out_of_order(f: &Fragment<'_>, first_expected: bool) -> bool {
    f.control.fir != first_expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirm_queue_keeps_order_and_drops_the_oldest_when_full() {
        let mut q = ConfirmQueue::default();
        for seq in 0..6 {
            q.push(AppControl::single(seq));
        }
        let seqs: Vec<u8> = std::iter::from_fn(|| q.pop()).map(|c| c.seq).collect();
        assert_eq!(seqs, [2, 3, 4, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_repeat_needs_the_same_seq_and_the_same_bytes() {
        let mut h = UnsolicitedHistory::default();
        h.accept(3, &[1, 2, 3]);
        assert!(h.is_repeat(3, &[1, 2, 3]));
        assert!(!h.is_repeat(4, &[1, 2, 3]));
        assert!(!h.is_repeat(3, &[1, 2, 4]));
        h.clear();
        assert!(!h.is_repeat(3, &[1, 2, 3]));
    }
}
