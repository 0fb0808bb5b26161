//! The periodic polls of a master association: what each reads, how often, and which is due.

use super::association::MasterSession;
use super::config::MasterConfig;
use super::request::ReadRequest;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl MasterSession {
    /// Seeds where in their period first runs of polls fall (see [`MasterConfig::poll_spread`];
    /// without it this does nothing). The default seed is the link address pair; associations
    /// with equal addresses on different channels need different seeds, and consecutive seeds
    /// spread best (the I/O crate numbers its associations). Polls already scheduled keep
    /// their next run.
    pub fn set_poll_seed(&mut self, seed: u64) {
        self.polls.reseed(seed);
    }
}

/// Identifies a periodic poll of an association.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PollId(pub u32);

/// One periodic poll.
#[derive(Clone, Debug)]
struct PeriodicPoll {
    id: PollId,
    /// Shared with the read task of each run, so that a run never allocates.
    request: Arc<ReadRequest>,
    period: Duration,
    next: Instant,
}

/// The periodic polls of an association and their schedule.
#[derive(Debug)]
pub(crate) struct PeriodicPolls {
    polls: Vec<PeriodicPoll>,
    next_id: u32,
    /// Where in its period the first run of each poll (after it is added, and after every new
    /// connection) falls, as a binary fraction of the period (`phase / 2^64`), so that
    /// associations of different phases started together do not poll in lockstep; `None`:
    /// one full period after the start.
    phase: Option<u64>,
}

/// Golden-ratio increment (2^64 / φ): consecutive seeds multiplied by it give phases spread
/// evenly over the period however many there are (a Weyl sequence).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The phase of the association seeded with `seed`.
fn phase_of(seed: u64) -> u64 {
    seed.wrapping_mul(GOLDEN)
}

impl PeriodicPolls {
    /// No polls. With [`MasterConfig::poll_spread`], first runs are spread at a phase seeded
    /// by the link address pair until [`PeriodicPolls::reseed`].
    pub(crate) fn new(config: &MasterConfig) -> Self {
        let addresses =
            u64::from(config.local_address) << 16 | u64::from(config.outstation_address);
        PeriodicPolls {
            polls: Vec::new(),
            next_id: 1,
            phase: config.poll_spread.then(|| phase_of(addresses)),
        }
    }

    /// A new seed for the phase, when spreading is on (otherwise nothing changes).
    /// Associations with equal addresses on different channels need different seeds, and
    /// consecutive seeds spread best (the I/O crate numbers its associations). Polls already
    /// scheduled keep their next run.
    pub(crate) fn reseed(&mut self, seed: u64) {
        if self.phase.is_some() {
            self.phase = Some(phase_of(seed));
        }
    }

    /// When a poll of `period` started at `now` first runs.
    fn first_run(&self, now: Instant, period: Duration) -> Instant {
        match self.phase {
            None => now + period,
            Some(phase) => {
                let nanos = (period.as_nanos() * u128::from(phase)) >> 64;
                now + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }

    /// Adds a poll run every `period`; its first run is one period after `now`, or within
    /// the period at the association's phase when spreading is on.
    pub(crate) fn add(&mut self, now: Instant, request: ReadRequest, period: Duration) -> PollId {
        let id = PollId(self.next_id);
        self.next_id += 1;
        let next = self.first_run(now, period);
        // A few polls per association: grown one at a time, not by doubling.
        self.polls.reserve_exact(1);
        self.polls.push(PeriodicPoll {
            id,
            request: Arc::new(request),
            period,
            next,
        });
        id
    }

    /// Removes a poll; false when it did not exist.
    pub(crate) fn remove(&mut self, id: PollId) -> bool {
        let before = self.polls.len();
        self.polls.retain(|p| p.id != id);
        self.polls.len() != before
    }

    /// Makes a poll due at `now`; false when it does not exist.
    pub(crate) fn demand(&mut self, now: Instant, id: PollId) -> bool {
        match self.polls.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.next = now;
                true
            }
            None => false,
        }
    }

    /// A new connection: every poll runs one period from now, or within its period at the
    /// association's phase when spreading is on.
    pub(crate) fn restart(&mut self, now: Instant) {
        for i in 0..self.polls.len() {
            self.polls[i].next = self.first_run(now, self.polls[i].period);
        }
    }

    /// The request of the most overdue poll, if one is due; its next run moves past `now`
    /// (runs missed meanwhile are skipped). Never allocates.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<Arc<ReadRequest>> {
        let poll = self
            .polls
            .iter_mut()
            .filter(|p| p.next <= now)
            .min_by_key(|p| p.next)?;
        while poll.next <= now {
            poll.next += poll.period.max(Duration::from_millis(1));
        }
        Some(poll.request.clone())
    }

    /// When the next poll is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.polls.iter().map(|p| p.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Classes;

    #[test]
    fn the_most_overdue_poll_runs_first_and_missed_runs_are_skipped() {
        let t0 = Instant::now();
        let mut polls = PeriodicPolls::new(&MasterConfig::default().with_poll_spread(false));
        let slow = ReadRequest::classes(Classes::CLASS0);
        let fast = ReadRequest::classes(Classes::EVENTS);
        polls.add(t0, slow.clone(), Duration::from_secs(10));
        polls.add(t0, fast.clone(), Duration::from_secs(1));
        assert_eq!(polls.next_due(), Some(t0 + Duration::from_secs(1)));
        let late = t0 + Duration::from_millis(10_500);
        assert_eq!(polls.take_due(late).as_deref(), Some(&fast));
        assert_eq!(polls.take_due(late).as_deref(), Some(&slow));
        assert_eq!(polls.take_due(late), None);
        assert_eq!(polls.next_due(), Some(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn without_spread_the_first_run_is_one_period_after_the_start() {
        let t0 = Instant::now();
        let mut polls = PeriodicPolls::new(&MasterConfig::default().with_poll_spread(false));
        polls.add(t0, ReadRequest::integrity(), Duration::from_secs(10));
        assert_eq!(polls.next_due(), Some(t0 + Duration::from_secs(10)));
        let t1 = t0 + Duration::from_secs(3);
        polls.restart(t1);
        assert_eq!(polls.next_due(), Some(t1 + Duration::from_secs(10)));
    }

    #[test]
    fn with_spread_the_first_run_falls_at_the_phase_then_every_period() {
        let t0 = Instant::now();
        let mut polls = PeriodicPolls::new(&MasterConfig::default().with_poll_spread(false));
        polls.phase = Some(u64::MAX / 4 + 1);
        polls.add(t0, ReadRequest::integrity(), Duration::from_secs(8));
        let first = t0 + Duration::from_secs(2);
        assert_eq!(polls.next_due(), Some(first));
        assert!(polls.take_due(first - Duration::from_millis(1)).is_none());
        assert!(polls.take_due(first).is_some());
        assert_eq!(polls.next_due(), Some(first + Duration::from_secs(8)));
        let t1 = t0 + Duration::from_secs(30);
        polls.restart(t1);
        assert_eq!(polls.next_due(), Some(t1 + Duration::from_secs(2)));
    }

    #[test]
    fn first_runs_of_consecutive_seeds_cover_the_period_evenly() {
        let t0 = Instant::now();
        let period = Duration::from_secs(1);
        let mut buckets = [0u32; 10];
        for seed in 0..1000u64 {
            let mut polls = PeriodicPolls::new(&MasterConfig::default());
            polls.reseed(seed);
            polls.add(t0, ReadRequest::integrity(), period);
            let offset = polls.next_due().map(|t| t - t0);
            let offset = offset.filter(|d| *d < period).expect("within the period");
            buckets[(offset.as_millis() / 100) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!(
                (95..=105).contains(n),
                "tenth {i} of the period has {n} of 1000"
            );
        }
    }

    #[test]
    fn demanded_polls_are_due_at_once_and_removed_ones_never() {
        let t0 = Instant::now();
        let mut polls = PeriodicPolls::new(&MasterConfig::default().with_poll_spread(false));
        let id = polls.add(t0, ReadRequest::integrity(), Duration::from_secs(60));
        assert!(polls.demand(t0, id));
        assert!(polls.take_due(t0).is_some());
        assert!(polls.remove(id));
        assert!(!polls.remove(id));
        assert!(!polls.demand(t0, id));
        assert_eq!(polls.next_due(), None);
    }
}
