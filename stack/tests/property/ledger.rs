//! What the outstation accepted and what the master delivered, and the property that relates
//! them: every accepted timed event is delivered exactly once, or its loss is reported.

use rdnp3_stack::app::Iin;
use rdnp3_stack::master::{AssociationListener, Measurement, MeasurementValue, ReadHandler};
use rdnp3_stack::objects::PointType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A point's value, comparable.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Value {
    Binary(bool),
    Integer(i64),
}

/// An event the outstation accepted (its time is its identity: every time is unique).
#[derive(Clone, Debug)]
pub struct Accepted {
    pub kind: PointType,
    pub index: u16,
    pub value: Value,
    /// Which outstation engine accepted it (0, then +1 per restart).
    pub outstation: u32,
    /// The log tick when it was accepted.
    pub tick: u64,
}

/// A timed event the master delivered.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub time: u64,
    pub kind: PointType,
    pub index: u16,
    pub value: Value,
    /// Which master engine delivered it (0, then +1 per restart).
    pub master: u32,
}

/// Everything observed in a scenario, in order.
#[derive(Debug, Default)]
pub struct Log {
    /// Advances on every observation, so that observations can be ordered.
    pub tick: u64,
    pub accepted: HashMap<u64, Accepted>,
    pub delivered: Vec<Delivered>,
    /// Every IIN the master reported (on change, and the first of each connection).
    pub iin: Vec<(u64, Iin)>,
    /// Untimed or static measurements are not events of the property; counted only.
    pub other: u64,
}

impl Log {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Records an accepted event with its unique time.
    pub fn accept(&mut self, time: u64, mut event: Accepted) {
        event.tick = self.next_tick();
        self.accepted.insert(time, event);
    }

    /// True when the master saw `bit` in an IIN at some tick from `since` on (the bit was
    /// already up then, or rose later).
    pub fn iin_seen_since(&self, since: u64, bit: Iin) -> bool {
        let before = self.iin.iter().rev().find(|(t, _)| *t <= since);
        before.is_some_and(|(_, iin)| iin.contains(bit))
            || self
                .iin
                .iter()
                .any(|(t, iin)| *t > since && iin.contains(bit))
    }
}

pub type Shared = Arc<Mutex<Log>>;

/// The master's read handler: records timed events.
pub struct Recorder {
    pub log: Shared,
    pub master: u32,
}

impl ReadHandler for Recorder {
    fn measurement(&mut self, m: &Measurement<'_>) {
        let mut log = self.log.lock().unwrap();
        let (Some(time), true) = (m.time, m.event) else {
            log.other += 1;
            return;
        };
        let value = match m.value {
            MeasurementValue::Binary(b) => Value::Binary(b),
            MeasurementValue::Counter(c) => Value::Integer(c.into()),
            MeasurementValue::Analog(a) => Value::Integer(a as i64),
            _ => Value::Integer(i64::MIN),
        };
        log.next_tick();
        log.delivered.push(Delivered {
            time: time.0,
            kind: m.kind,
            index: m.index,
            value,
            master: self.master,
        });
    }
}

/// The master's association listener: records the IINs it reports.
pub struct IinWatch(pub Shared);

impl AssociationListener for IinWatch {
    fn iin_changed(&mut self, iin: Iin) {
        let mut log = self.0.lock().unwrap();
        let tick = log.next_tick();
        log.iin.push((tick, iin));
    }
}

/// The restarts of a scenario, for the verdict.
#[derive(Debug, Default)]
pub struct Restarts {
    /// Per outstation restart: the tick it happened at.
    pub outstation: Vec<u64>,
    /// Per master restart: how many events the outstation still held (so at most this many
    /// events delivered to the old master can come again to the new one).
    pub master_held: Vec<usize>,
    /// Per outstation engine: how many events it dropped for lack of buffer room.
    pub dropped: Vec<u64>,
}

/// Checks the property; `Err` says which event broke it and how.
pub fn verdict(log: &Log, restarts: &Restarts) -> Result<(), String> {
    let mut count: HashMap<u64, Vec<u32>> = HashMap::new();
    for d in &log.delivered {
        let Some(a) = log.accepted.get(&d.time) else {
            return Err(format!("delivered an event never accepted: {d:?}"));
        };
        if (a.kind, a.index, a.value) != (d.kind, d.index, d.value) {
            return Err(format!("delivered {d:?} for the accepted {a:?}"));
        }
        count.entry(d.time).or_default().push(d.master);
    }
    let mut across_masters = 0;
    for (time, masters) in &count {
        for (i, m) in masters.iter().enumerate() {
            if masters[..i].contains(m) {
                return Err(format!(
                    "event at {time} delivered twice by master engine {m}: {:?}",
                    log.accepted[time]
                ));
            }
        }
        across_masters += masters.len() - 1;
    }
    let held: usize = restarts.master_held.iter().sum();
    if across_masters > held {
        return Err(format!(
            "{across_masters} events delivered again after master restarts, but the outstation held only {held}"
        ));
    }
    let mut missing = vec![0u64; restarts.dropped.len()];
    for (time, a) in &log.accepted {
        if count.contains_key(time) {
            continue;
        }
        let o = a.outstation as usize;
        // Its engine restarted (and the master saw DEVICE_RESTART: checked below).
        if o < restarts.outstation.len() {
            continue;
        }
        missing[o] += 1;
        if !log.iin_seen_since(a.tick, Iin::EVENT_BUFFER_OVERFLOW) {
            return Err(format!("event at {time} lost without overflow: {a:?}"));
        }
    }
    for (o, (&missing, &dropped)) in missing.iter().zip(&restarts.dropped).enumerate() {
        if missing > dropped {
            return Err(format!(
                "outstation engine {o} dropped {dropped} events but {missing} never arrived"
            ));
        }
    }
    for &tick in &restarts.outstation {
        if !log.iin_seen_since(tick, Iin::DEVICE_RESTART) {
            return Err(format!(
                "outstation restart at tick {tick} never reported by DEVICE_RESTART (IIN seen: {:?})",
                log.iin
            ));
        }
    }
    Ok(())
}
