//! The periodic polls of a master association: what each reads, how often, and which is due.

use super::request::ReadRequest;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
}

impl PeriodicPolls {
    /// No polls.
    pub(crate) fn new() -> Self {
        PeriodicPolls {
            polls: Vec::new(),
            next_id: 1,
        }
    }

    /// Adds a poll run every `period`, first one period after `now`.
    pub(crate) fn add(&mut self, now: Instant, request: ReadRequest, period: Duration) -> PollId {
        let id = PollId(self.next_id);
        self.next_id += 1;
        self.polls.push(PeriodicPoll {
            id,
            request: Arc::new(request),
            period,
            next: now + period,
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

    /// A new connection: every poll runs one period from now.
    pub(crate) fn restart(&mut self, now: Instant) {
        for p in &mut self.polls {
            p.next = now + p.period;
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
        let mut polls = PeriodicPolls::new();
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
    fn demanded_polls_are_due_at_once_and_removed_ones_never() {
        let t0 = Instant::now();
        let mut polls = PeriodicPolls::new();
        let id = polls.add(t0, ReadRequest::integrity(), Duration::from_secs(60));
        assert!(polls.demand(t0, id));
        assert!(polls.take_due(t0).is_some());
        assert!(polls.remove(id));
        assert!(!polls.remove(id));
        assert!(!polls.demand(t0, id));
        assert_eq!(polls.next_due(), None);
    }
}
