//! Manager-wide limits on work that comes in storms after an outage: TCP connection attempts in
//! flight, TLS handshakes under way and master startup sequences (DISABLE_UNSOLICITED, the
//! integrity poll, ENABLE_UNSOLICITED) under way. Each is a [`Gate`]: a count of permits held and a FIFO
//! queue of channels waiting for one. A channel past the limit waits its turn, without polling:
//! the permit released by another channel is handed straight to the first in the queue, which
//! is woken by a message. The lock is taken only when a connection starts or ends, never on the
//! per-message path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Wakes a channel waiting for a permit.
pub(crate) trait Wake: Send + Sync {
    /// Tells the channel its permit is granted; false when the channel is gone for good.
    /// A wake that cannot be delivered now (a full mailbox) still returns true: the channel
    /// finds the grant on its next message.
    fn wake(&self) -> bool;
}

/// A channel's place in a gate's queue.
pub(crate) struct Ticket {
    granted: AtomicBool,
    waker: Box<dyn Wake>,
}

impl Ticket {
    /// True once the permit is the channel's.
    pub(crate) fn granted(&self) -> bool {
        self.granted.load(Ordering::Acquire)
    }
}

/// What [`Gate::acquire`] gave.
pub(crate) enum Acquired {
    /// The permit is held now.
    Now,
    /// Queued: the ticket is granted (and the waker called) when a permit frees up.
    Queued(Arc<Ticket>),
}

/// Permits held and channels waiting for one.
struct GateState {
    held: usize,
    waiting: VecDeque<Arc<Ticket>>,
}

/// At most `limit` permits held at once, manager-wide.
pub(crate) struct Gate {
    limit: usize,
    state: Mutex<GateState>,
    /// Mirrors of the state for [`LimitStats`], read without the lock.
    held: AtomicUsize,
    peak: AtomicUsize,
    queued: AtomicU64,
}

impl Gate {
    /// A gate of `limit` permits (at least 1).
    pub(crate) fn new(limit: usize) -> Self {
        Gate {
            limit: limit.max(1),
            state: Mutex::new(GateState {
                held: 0,
                waiting: VecDeque::new(),
            }),
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            queued: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, held: usize) {
        self.held.store(held, Ordering::Relaxed);
        self.peak.fetch_max(held, Ordering::Relaxed);
    }

    /// A permit now if one is free and nobody waits, else a place at the back of the queue.
    pub(crate) fn acquire(&self, waker: Box<dyn Wake>) -> Acquired {
        let mut state = self.lock();
        if state.held < self.limit && state.waiting.is_empty() {
            state.held += 1;
            self.publish(state.held);
            return Acquired::Now;
        }
        let ticket = Arc::new(Ticket {
            granted: AtomicBool::new(false),
            waker,
        });
        state.waiting.push_back(ticket.clone());
        self.queued.fetch_add(1, Ordering::Relaxed);
        Acquired::Queued(ticket)
    }

    /// Gives a permit back: it goes to the first waiting channel still there, or is freed.
    pub(crate) fn release(&self) {
        let mut state = self.lock();
        while let Some(next) = state.waiting.pop_front() {
            next.granted.store(true, Ordering::Release);
            if next.waker.wake() {
                return;
            }
        }
        state.held = state.held.saturating_sub(1);
        self.publish(state.held);
    }

    /// A waiting channel gives up its place (it closed or shut down); a permit granted
    /// meanwhile is given back.
    pub(crate) fn cancel(&self, ticket: &Arc<Ticket>) {
        let removed = {
            let mut state = self.lock();
            let before = state.waiting.len();
            state.waiting.retain(|t| !Arc::ptr_eq(t, ticket));
            state.waiting.len() != before
        };
        if !removed && ticket.granted() {
            self.release();
        }
    }

    fn stats(&self) -> GateStats {
        GateStats {
            limit: self.limit,
            in_flight: self.held.load(Ordering::Relaxed),
            peak: self.peak.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
        }
    }
}

/// The manager's gates.
pub(crate) struct Limits {
    pub(crate) connects: Gate,
    pub(crate) handshakes: Gate,
    pub(crate) startups: Gate,
}

impl Limits {
    pub(crate) fn new(connects: usize, handshakes: usize, startups: usize) -> Self {
        Limits {
            connects: Gate::new(connects),
            handshakes: Gate::new(handshakes),
            startups: Gate::new(startups),
        }
    }

    pub(crate) fn stats(&self) -> LimitStats {
        LimitStats {
            connects: self.connects.stats(),
            tls_handshakes: self.handshakes.stats(),
            startups: self.startups.stats(),
        }
    }
}

/// How one manager-wide limit fares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateStats {
    /// The limit.
    pub limit: usize,
    /// Permits held now.
    pub in_flight: usize,
    /// The most permits ever held at once (never above `limit`).
    pub peak: usize,
    /// How many times a channel had to wait its turn.
    pub queued: u64,
}

/// The manager-wide limits on connection storms (see [`crate::ManagerBuilder::max_connecting`],
/// [`crate::ManagerBuilder::max_tls_handshakes`] and [`crate::ManagerBuilder::max_starting`]),
/// as they stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitStats {
    /// TCP connection attempts in flight.
    pub connects: GateStats,
    /// TLS handshakes under way.
    pub tls_handshakes: GateStats,
    /// Channels whose masters run their startup sequence.
    pub startups: GateStats,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records which waiters were woken, in order; waiters listed in `gone` are gone.
    struct Recorder {
        id: usize,
        woken: Arc<Mutex<Vec<usize>>>,
        gone: bool,
    }

    impl Wake for Recorder {
        fn wake(&self) -> bool {
            self.woken.lock().unwrap().push(self.id);
            !self.gone
        }
    }

    fn waker(id: usize, woken: &Arc<Mutex<Vec<usize>>>, gone: bool) -> Box<dyn Wake> {
        Box::new(Recorder {
            id,
            woken: woken.clone(),
            gone,
        })
    }

    #[test]
    fn past_the_limit_channels_wait_and_are_granted_in_order() {
        let woken = Arc::default();
        let gate = Gate::new(2);
        assert!(matches!(
            gate.acquire(waker(0, &woken, false)),
            Acquired::Now
        ));
        assert!(matches!(
            gate.acquire(waker(1, &woken, false)),
            Acquired::Now
        ));
        let tickets: Vec<_> = (2..5)
            .map(|i| match gate.acquire(waker(i, &woken, false)) {
                Acquired::Queued(t) => t,
                Acquired::Now => panic!("channel {i} got past the limit"),
            })
            .collect();
        assert_eq!(gate.stats().in_flight, 2);
        assert_eq!(gate.stats().queued, 3);
        gate.release();
        assert!(tickets[0].granted() && !tickets[1].granted());
        assert_eq!(gate.stats().in_flight, 2, "handed over, not freed");
        gate.release();
        gate.release();
        gate.release();
        gate.release();
        assert_eq!(*woken.lock().unwrap(), [2, 3, 4]);
        assert_eq!(gate.stats().in_flight, 0);
        assert_eq!(gate.stats().peak, 2);
    }

    #[test]
    fn a_permit_skips_gone_and_cancelled_waiters() {
        let woken = Arc::default();
        let gate = Gate::new(1);
        assert!(matches!(
            gate.acquire(waker(0, &woken, false)),
            Acquired::Now
        ));
        let Acquired::Queued(gone) = gate.acquire(waker(1, &woken, true)) else {
            panic!("queued")
        };
        let Acquired::Queued(cancelled) = gate.acquire(waker(2, &woken, false)) else {
            panic!("queued")
        };
        let Acquired::Queued(last) = gate.acquire(waker(3, &woken, false)) else {
            panic!("queued")
        };
        gate.cancel(&cancelled);
        gate.release();
        assert!(gone.granted() && !cancelled.granted() && last.granted());
        assert_eq!(*woken.lock().unwrap(), [1, 3]);
        // Cancelling after the grant gives the permit back.
        gate.cancel(&last);
        assert_eq!(gate.stats().in_flight, 0);
        assert!(matches!(
            gate.acquire(waker(4, &woken, false)),
            Acquired::Now
        ));
    }
}
