//! When automatic tasks are retried, and the deadline their retries set: cases the property
//! test (tests/property_events.rs) found.

use super::*;

fn startup() -> (Scheduler, MasterConfig) {
    let config = MasterConfig::default();
    let mut s = Scheduler::new(&config);
    s.on_link_up(&config);
    (s, config)
}

fn first(s: &Scheduler, now: Instant) -> Option<AutoTask> {
    s.ready(now).next()
}

#[test]
fn the_next_retry_is_never_a_task_still_waiting_for_an_earlier_one() {
    // Seed 352: ENABLE_UNSOLICITED timed out, then a restart scheduled the integrity poll
    // again, which timed out with a longer back-off. The enable's earlier retry time was the
    // deadline, although the enable cannot start before the poll: the timer fired again and
    // again.
    let (mut s, config) = startup();
    let t0 = Instant::now();
    s.finish(AutoTask::DisableUnsolicited, &Ok(()), Some(t0), &config);
    s.finish(AutoTask::Integrity, &Ok(()), Some(t0), &config);
    s.finish(
        AutoTask::EnableUnsolicited,
        &Err(TaskError::Timeout),
        Some(t0),
        &config,
    );
    let enable_retry = t0 + config.task_retry_min;
    assert_eq!(s.next_retry(), Some(enable_retry));
    s.react_to_iin(Iin::DEVICE_RESTART, &config);
    s.finish(AutoTask::ClearRestart, &Ok(()), Some(t0), &config);
    let t1 = t0 + Duration::from_secs(1);
    s.finish(
        AutoTask::Integrity,
        &Err(TaskError::Timeout),
        Some(t1),
        &config,
    );
    let integrity_retry = t1 + config.task_retry_min;
    assert_eq!(first(&s, enable_retry), None);
    assert_eq!(s.next_retry(), Some(integrity_retry));
    assert_eq!(first(&s, integrity_retry), Some(AutoTask::Integrity));
}

#[test]
fn a_clear_restart_that_fails_after_the_bit_went_is_not_retried() {
    // The response to the WRITE that cleared DEVICE_RESTART was lost and an unsolicited
    // response showed the bit clear while the WRITE awaited its answer: a retry could only
    // clear the bit of an outstation that restarted meanwhile, before the master saw it.
    let (mut s, config) = startup();
    let now = Instant::now();
    s.react_to_iin(Iin::DEVICE_RESTART, &config);
    assert_eq!(first(&s, now), Some(AutoTask::ClearRestart));
    s.react_to_iin(Iin::NONE, &config);
    s.finish(
        AutoTask::ClearRestart,
        &Err(TaskError::Timeout),
        Some(now),
        &config,
    );
    assert!(!s.pending(AutoTask::ClearRestart));
    // While the bit stays set, a failed clear is retried.
    s.react_to_iin(Iin::DEVICE_RESTART, &config);
    s.finish(
        AutoTask::ClearRestart,
        &Err(TaskError::Timeout),
        Some(now),
        &config,
    );
    assert!(s.pending(AutoTask::ClearRestart));
}

#[test]
fn a_new_connection_waits_for_its_first_iin_before_clearing_the_restart_bit() {
    // Seed 180089: the WRITE clearing DEVICE_RESTART was in flight when the connection
    // dropped (the outstation had restarted); on the new connection it went first, before
    // any IIN, and cleared the new restart bit unseen: no restart reaction, no integrity poll.
    let (mut s, config) = startup();
    let now = Instant::now();
    s.react_to_iin(Iin::DEVICE_RESTART, &config);
    s.finish(
        AutoTask::ClearRestart,
        &Err(TaskError::LinkDown),
        None,
        &config,
    );
    s.on_link_up(&config);
    assert_eq!(first(&s, now), Some(AutoTask::DisableUnsolicited));
    assert!(!s.pending(AutoTask::ClearRestart));
    // The first response of the new connection shows the bit: it is cleared then.
    s.react_to_iin(Iin::DEVICE_RESTART, &config);
    assert_eq!(first(&s, now), Some(AutoTask::ClearRestart));
}
