//! The health of one association, as an operator of many outstations watches it: online or
//! offline, the result of every task, IIN changes, outstation restarts and unsolicited
//! activity, reported to an [`AssociationListener`]; the last success and failure times and
//! the round-trip time kept in [`MasterStats`]; and a copy of those statistics published in a
//! [`StatsSlot`] that other threads read without asking the association.

use super::request::TaskError;
use super::stats::MasterStats;
use crate::app::Iin;
use crate::session::Now;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether an association is talking to its outstation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AssociationState {
    /// The link is up and the last task succeeded (or fewer than
    /// `MasterConfig::offline_after_failures` have failed in a row since).
    Online,
    /// The link is down, no task has succeeded yet on this connection, or too many tasks
    /// failed in a row.
    Offline,
}

impl AssociationState {
    /// "online" or "offline".
    pub fn name(self) -> &'static str {
        match self {
            AssociationState::Online => "online",
            AssociationState::Offline => "offline",
        }
    }
}

/// What an association reports about its own health. Every method has an empty default body:
/// implement the ones you need.
///
/// The methods run on the channel's executor, in the middle of protocol processing: they must
/// not block (hand the event to another thread through a channel if it needs slow work).
pub trait AssociationListener: Send {
    /// The association went online or offline; called once per transition.
    fn state_changed(&mut self, _state: AssociationState) {}

    /// A task ended: user requests, periodic polls and automatic tasks (startup, IIN
    /// reactions) alike. `task` is its name ("integrity poll", "select before operate" …);
    /// `result` is `Ok` on success, or why it failed: [`TaskError::Timeout`],
    /// [`TaskError::Rejected`] with the IIN2 bits, [`TaskError::UnsupportedObject`],
    /// [`TaskError::LinkDown`] and the other [`TaskError`]s.
    fn task_completed(&mut self, _task: &'static str, _result: &Result<(), TaskError>) {}

    /// The IIN of a response or unsolicited response differs from the previous one (the
    /// first IIN of each connection is always reported).
    fn iin_changed(&mut self, _iin: Iin) {}

    /// The outstation restarted: DEVICE_RESTART (IIN1.7) rose.
    fn restart_detected(&mut self) {}

    /// An unsolicited response was received; `with_data` is false for an empty one (the null
    /// unsolicited response an outstation sends at startup).
    fn unsolicited(&mut self, _with_data: bool) {}

    /// The first response fragment to a request arrived `round_trip` after the request went
    /// out (the sample that also feeds [`MasterStats::last_rtt`]); for response-time
    /// histograms.
    fn response_received(&mut self, _round_trip: Duration) {}
}

/// A listener that ignores everything (the default of an association).
#[derive(Copy, Clone, Debug, Default)]
pub struct NullAssociationListener;

impl AssociationListener for NullAssociationListener {}

/// A copy of one association's [`MasterStats`], published by the association when a task
/// ends, an unsolicited response arrives or the link goes up or down, so that any thread can
/// read the statistics of thousands of associations without a round trip to each.
#[derive(Debug)]
pub struct StatsSlot {
    local_address: u16,
    outstation_address: u16,
    stats: Mutex<MasterStats>,
}

impl StatsSlot {
    /// The master's own link address.
    pub fn local_address(&self) -> u16 {
        self.local_address
    }

    /// The outstation's link address.
    pub fn outstation_address(&self) -> u16 {
        self.outstation_address
    }

    /// The statistics as last published.
    pub fn read(&self) -> MasterStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn publish(&self, stats: &MasterStats) {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone_from(stats);
    }
}

/// The weight of a new round-trip sample in the average: 1/8, as TCP's smoothed RTT.
const RTT_WEIGHT: u32 = 8;

/// How a task's end counts for the association's liveness.
enum Verdict {
    /// The outstation answered.
    Answered,
    /// The exchange failed: no answer, a rejection, or an answer the master could not use.
    Failed,
    /// Nothing was exchanged (link down, shutdown, queue full, a request that cannot be
    /// written): neither.
    Neither,
}

fn verdict(result: &Result<(), TaskError>) -> Verdict {
    match result {
        Ok(()) | Err(TaskError::SelectFailed(_)) => Verdict::Answered,
        Err(
            TaskError::Timeout
            | TaskError::Rejected(_)
            | TaskError::BadResponse(_)
            | TaskError::UnsupportedObject { .. },
        ) => Verdict::Failed,
        Err(_) => Verdict::Neither,
    }
}

/// The association's health tracker: it sees each step of the association and tells the
/// listener what changed.
pub(crate) struct Health {
    listener: Box<dyn AssociationListener>,
    slot: Arc<StatsSlot>,
    offline_after: u32,
    link_up: bool,
    state: AssociationState,
    failures_in_a_row: u32,
    last_iin: Option<Iin>,
    /// When the request awaiting its first response fragment went out.
    sent_at: Option<Instant>,
    /// The time of the association's current step.
    now: Option<Now>,
}

impl Health {
    pub(crate) fn new(local: u16, outstation: u16, offline_after: u32) -> Self {
        Health {
            listener: Box::new(NullAssociationListener),
            slot: Arc::new(StatsSlot {
                local_address: local,
                outstation_address: outstation,
                stats: Mutex::new(MasterStats::default()),
            }),
            offline_after: offline_after.max(1),
            link_up: false,
            state: AssociationState::Offline,
            failures_in_a_row: 0,
            last_iin: None,
            sent_at: None,
            now: None,
        }
    }

    pub(crate) fn set_listener(&mut self, listener: Box<dyn AssociationListener>) {
        self.listener = listener;
    }

    pub(crate) fn slot(&self) -> Arc<StatsSlot> {
        self.slot.clone()
    }

    pub(crate) fn state(&self) -> AssociationState {
        self.state
    }

    /// The association entered a step at `now`.
    pub(crate) fn step(&mut self, now: &Now) {
        self.now = Some(*now);
    }

    /// A request went out.
    pub(crate) fn sent(&mut self, now: &Now) {
        self.sent_at = Some(now.instant);
    }

    /// A response fragment to the request in flight arrived: the round trip of its first
    /// fragment is measured, and its IIN watched.
    pub(crate) fn response(&mut self, iin: Iin, stats: &mut MasterStats) {
        if let (Some(sent), Some(now)) = (self.sent_at.take(), self.now) {
            let rtt = now.instant.saturating_duration_since(sent);
            stats.last_rtt = Some(rtt);
            self.listener.response_received(rtt);
            stats.rtt_average = Some(match stats.rtt_average {
                None => rtt,
                Some(avg) => ewma(avg, rtt),
            });
        }
        self.watch_iin(iin);
    }

    /// An unsolicited response arrived.
    pub(crate) fn unsolicited(&mut self, iin: Iin, with_data: bool, stats: &MasterStats) {
        self.watch_iin(iin);
        self.listener.unsolicited(with_data);
        self.slot.publish(stats);
    }

    fn watch_iin(&mut self, iin: Iin) {
        if self.last_iin == Some(iin) {
            return;
        }
        let before = self.last_iin.unwrap_or_default();
        self.last_iin = Some(iin);
        self.listener.iin_changed(iin);
        if iin.contains(Iin::DEVICE_RESTART) && !before.contains(Iin::DEVICE_RESTART) {
            self.listener.restart_detected();
        }
    }

    /// A task ended with `result`.
    pub(crate) fn task_done(
        &mut self,
        task: &'static str,
        result: &Result<(), TaskError>,
        stats: &mut MasterStats,
    ) {
        let wall = self.now.map(|n| n.wall);
        match verdict(result) {
            Verdict::Answered => {
                stats.last_success = wall;
                self.failures_in_a_row = 0;
                if self.link_up {
                    self.set_state(AssociationState::Online);
                }
            }
            Verdict::Failed => {
                stats.last_failure = wall;
                self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
                if self.failures_in_a_row >= self.offline_after {
                    self.set_state(AssociationState::Offline);
                }
            }
            Verdict::Neither => {}
        }
        self.listener.task_completed(task, result);
        self.slot.publish(stats);
    }

    /// The channel connected: online once a task succeeds.
    pub(crate) fn link_up(&mut self, stats: &MasterStats) {
        self.link_up = true;
        self.failures_in_a_row = 0;
        self.last_iin = None;
        self.sent_at = None;
        self.slot.publish(stats);
    }

    /// The channel disconnected.
    pub(crate) fn link_down(&mut self, stats: &MasterStats) {
        self.link_up = false;
        self.sent_at = None;
        self.set_state(AssociationState::Offline);
        self.slot.publish(stats);
    }

    fn set_state(&mut self, state: AssociationState) {
        if self.state != state {
            self.state = state;
            tracing::info!(
                outstation = self.slot.outstation_address,
                state = state.name(),
                "association state"
            );
            self.listener.state_changed(state);
        }
    }
}

/// The average moved 1/8 of the way towards `sample`.
fn ewma(average: Duration, sample: Duration) -> Duration {
    if sample >= average {
        average + (sample - average) / RTT_WEIGHT
    } else {
        average - (average - sample) / RTT_WEIGHT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_moves_an_eighth_of_the_way_to_each_sample() {
        let ms = Duration::from_millis;
        assert_eq!(ewma(ms(80), ms(160)), ms(90));
        assert_eq!(ewma(ms(80), ms(0)), ms(70));
        assert_eq!(ewma(ms(80), ms(80)), ms(80));
    }

    #[test]
    fn the_listener_hears_each_round_trip() {
        struct Rtts(Arc<Mutex<Vec<Duration>>>);
        impl AssociationListener for Rtts {
            fn response_received(&mut self, round_trip: Duration) {
                self.0.lock().unwrap().push(round_trip);
            }
        }
        let heard = Arc::new(Mutex::new(Vec::new()));
        let mut health = Health::new(1, 1024, 3);
        health.set_listener(Box::new(Rtts(heard.clone())));
        let mut stats = MasterStats::default();
        let sent = Now {
            instant: Instant::now(),
            wall: crate::objects::Timestamp(0),
        };
        health.step(&sent);
        health.sent(&sent);
        health.step(&sent.after(Duration::from_millis(30)));
        health.response(Iin::default(), &mut stats);
        // A second fragment of the same response is no new round trip.
        health.response(Iin::default(), &mut stats);
        assert_eq!(*heard.lock().unwrap(), [Duration::from_millis(30)]);
        assert_eq!(stats.last_rtt, Some(Duration::from_millis(30)));
    }

    #[test]
    fn only_exchange_failures_count_towards_offline() {
        assert!(matches!(verdict(&Ok(())), Verdict::Answered));
        assert!(matches!(verdict(&Err(TaskError::Timeout)), Verdict::Failed));
        assert!(matches!(
            verdict(&Err(TaskError::Rejected(Iin::OBJECT_UNKNOWN))),
            Verdict::Failed
        ));
        assert!(matches!(
            verdict(&Err(TaskError::LinkDown)),
            Verdict::Neither
        ));
        assert!(matches!(
            verdict(&Err(TaskError::QueueFull)),
            Verdict::Neither
        ));
    }
}
