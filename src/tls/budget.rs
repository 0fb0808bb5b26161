//! A bound on TLS handshake work per executor turn, so that a flood of unauthenticated
//! connections cannot starve the channels established on the same executor.
//!
//! A handshake step (a `receive` on a connection still handshaking: parsing a ClientHello and
//! signing, or checking a certificate chain) costs far more than a DNP3 frame. Every actor of
//! one executor (TLS channels, dial-in listeners) draws from one budget of
//! [`HANDSHAKE_STEPS_PER_TURN`] steps per turn of the executor's loop. Over budget, the
//! ciphertext waits in its layer (bounded by [`HELD_LIMIT`]), the socket stops being read, and
//! the actor posts itself a message: it is delivered at the start of a later turn, after that
//! turn's I/O and timers, where the waiting handshakes go first with a fresh budget.

#[allow(unused_imports)]
use super::*;
use std::borrow::Cow;
use std::cell::Cell;

/// Handshake steps one executor runs per turn of its loop.
pub(crate) const HANDSHAKE_STEPS_PER_TURN: u32 = 8;

/// Ciphertext a deferred handshake may hold: reading stops at the first deferral, so this
/// only has to take what was already read (a flight, or a receive buffer).
pub(crate) const HELD_LIMIT: usize = 128 * 1024;

thread_local! {
    /// This executor's turn and the steps spent in it.
    static SPENT: Cell<(u64, u32)> = const { Cell::new((0, 0)) };
}

/// Takes one handshake step of this executor's budget for `turn`; false when it is spent.
fn take_step(turn: u64) -> bool {
    SPENT.with(|spent| {
        let (at, used) = spent.get();
        let used = if at == turn { used } else { 0 };
        if used >= HANDSHAKE_STEPS_PER_TURN {
            return false;
        }
        spent.set((turn, used + 1));
        true
    })
}

/// [`take_step`], for the filter's tests beside this file.
#[cfg(test)]
pub(super) fn take_step_for_tests(turn: u64) -> bool {
    take_step(turn)
}

impl TlsLayer {
    /// Ciphertext from the socket at executor turn `turn`: what to [`TlsLayer::receive`] now
    /// (with any held before it), or `None` when the handshake is over this turn's budget and
    /// the bytes are held for a later turn (the caller stops reading the socket and posts
    /// itself a retry). An established session never waits. Fails when the held bytes would
    /// pass [`HELD_LIMIT`].
    pub(crate) fn admit<'a>(
        &mut self,
        turn: u64,
        data: &'a [u8],
    ) -> Result<Option<Cow<'a, [u8]>>, TlsError> {
        let handshaking = self.is_handshaking();
        if !handshaking && self.held.is_empty() {
            return Ok(Some(Cow::Borrowed(data)));
        }
        if !handshaking || take_step(turn) {
            if self.held.is_empty() {
                return Ok(Some(Cow::Borrowed(data)));
            }
            let mut held = std::mem::take(&mut self.held);
            held.extend_from_slice(data);
            return Ok(Some(Cow::Owned(held)));
        }
        if self.held.len() + data.len() > HELD_LIMIT {
            self.held.clear();
            return Err(TlsError::Protocol(format!(
                "more than {HELD_LIMIT} bytes of handshake while waiting for its turn"
            )));
        }
        self.held.extend_from_slice(data);
        Ok(None)
    }

    /// Whether ciphertext waits for a turn with budget (retry with an empty
    /// [`TlsLayer::admit`]).
    pub(crate) fn holds(&self) -> bool {
        !self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_turn_admits_the_same_number_of_handshake_steps() {
        // A turn this thread's other tests never use.
        let turn = u64::MAX - 7;
        let admitted = (0..3 * HANDSHAKE_STEPS_PER_TURN)
            .filter(|_| take_step(turn))
            .count();
        assert_eq!(admitted, HANDSHAKE_STEPS_PER_TURN as usize);
        assert!(
            take_step(turn + 1),
            "the next turn starts with a fresh budget"
        );
    }
}
