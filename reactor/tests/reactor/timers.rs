//! Timers: deadline order, cancel, reschedule, and ten thousand live timers. Assertions are
//! about order and about never firing early, never about wall-clock durations.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdnp3_reactor::{completion, Actor, Backend, Context, Promise, TimerId};

use crate::util::{self, Rng};

/// What a probe reports: labels in firing order, results of cancel calls, timers seen early.
type Outcome = (Vec<u32>, Vec<bool>, usize);

/// Sets timers at the given delays (ms) on start, cancels some, reschedules others, and
/// reports the labels in firing order.
struct TimerProbe {
    plan: Vec<(u64, u32)>,
    cancel: Vec<u32>,
    reschedule: Vec<(u32, u64)>,
    labels: HashMap<TimerId, (u32, Instant)>,
    fired: Vec<u32>,
    cancel_results: Vec<bool>,
    early: usize,
    done: Option<Promise<Outcome>>,
}

impl TimerProbe {
    fn new(plan: Vec<(u64, u32)>, done: Promise<Outcome>) -> Self {
        TimerProbe {
            plan,
            cancel: Vec::new(),
            reschedule: Vec::new(),
            labels: HashMap::new(),
            fired: Vec::new(),
            cancel_results: Vec::new(),
            early: 0,
            done: Some(done),
        }
    }

    fn id_of(&self, label: u32) -> Option<TimerId> {
        self.labels
            .iter()
            .find(|(_, (l, _))| *l == label)
            .map(|(id, _)| *id)
    }
}

impl Actor for TimerProbe {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        let now = cx.now();
        for &(delay, label) in &self.plan {
            let deadline = now + Duration::from_millis(delay);
            let id = cx.set_timer_at(deadline);
            self.labels.insert(id, (label, deadline));
        }
        for label in self.cancel.clone() {
            if let Some(id) = self.id_of(label) {
                let cancelled = cx.cancel_timer(id);
                self.cancel_results.push(cancelled);
                self.cancel_results.push(cx.cancel_timer(id));
                self.labels.remove(&id);
            }
        }
        for (label, delay) in self.reschedule.clone() {
            if let Some(id) = self.id_of(label) {
                cx.cancel_timer(id);
                self.labels.remove(&id);
                let deadline = now + Duration::from_millis(delay);
                let id = cx.set_timer_at(deadline);
                self.labels.insert(id, (label, deadline));
            }
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, ()>, timer: TimerId) {
        let Some((label, deadline)) = self.labels.remove(&timer) else {
            self.fired.push(u32::MAX);
            return;
        };
        if cx.now() < deadline {
            self.early += 1;
        }
        self.fired.push(label);
        // Cancelling a timer that already fired is refused and harmless.
        self.cancel_results.push(cx.cancel_timer(timer));
        if self.labels.is_empty() {
            if let Some(done) = self.done.take() {
                done.complete((
                    std::mem::take(&mut self.fired),
                    std::mem::take(&mut self.cancel_results),
                    self.early,
                ));
            }
            cx.stop();
        }
    }
}

fn run(backend: Backend, probe: impl FnOnce(Promise<Outcome>) -> TimerProbe) -> Outcome {
    let pool = util::pool(backend, 1);
    let (promise, done) = completion();
    pool.spawn(probe(promise)).expect("spawn");
    let result = util::wait(done);
    pool.shutdown();
    result
}

pub fn timers_fire_in_deadline_order_not_in_the_order_they_were_set(backend: Backend) {
    let plan = vec![(30, 3), (10, 1), (20, 2), (0, 0), (45, 4)];
    let (fired, cancels, early) = run(backend, |p| TimerProbe::new(plan, p));
    assert_eq!(fired, vec![0, 1, 2, 3, 4]);
    assert!(
        cancels.iter().all(|c| !c),
        "cancelling a fired timer must be refused"
    );
    assert_eq!(early, 0, "no timer fires before its deadline");
}

pub fn a_cancelled_timer_never_fires(backend: Backend) {
    let plan: Vec<(u64, u32)> = (0..20).map(|i| (5 + i as u64 * 2, i)).collect();
    let (fired, cancels, _) = run(backend, |p| {
        let mut probe = TimerProbe::new(plan, p);
        probe.cancel = (0..20).filter(|i| i % 2 == 1).collect();
        probe
    });
    assert_eq!(fired, (0..20).filter(|i| i % 2 == 0).collect::<Vec<_>>());
    // Each cancel: true the first time, false the second; then one false per fired timer.
    assert_eq!(&cancels[..20], [true, false].repeat(10).as_slice());
}

pub fn a_rescheduled_timer_fires_at_its_new_deadline_only(backend: Backend) {
    let plan = vec![(10, 1), (20, 2), (30, 3)];
    let (fired, _, early) = run(backend, |p| {
        let mut probe = TimerProbe::new(plan, p);
        probe.reschedule = vec![(1, 40), (3, 15)];
        probe
    });
    assert_eq!(fired, vec![3, 2, 1]);
    assert_eq!(early, 0);
}

pub fn ten_thousand_timers_fire_in_deadline_order(backend: Backend) {
    let mut rng = Rng::new(7);
    let plan: Vec<(u64, u32)> = (0..10_000)
        .map(|_| {
            let delay = rng.range(0, 400) as u64;
            (delay, delay as u32)
        })
        .collect();
    let (fired, _, early) = run(backend, |p| TimerProbe::new(plan, p));
    assert_eq!(fired.len(), 10_000);
    assert!(
        fired.windows(2).all(|w| w[0] <= w[1]),
        "timers fired out of deadline order"
    );
    assert_eq!(early, 0);
}
