//! What the tests observe through the public API: a read handler that records every
//! measurement with the header of its response, and a channel listener that records states.

use super::lock;
use rdnp3::stack::master::{Measurement, MeasurementValue, ReadHandler, ResponseInfo};
use rdnp3::stack::objects::PointType;
use rdnp3::stack::objects::{DoubleBit, Timestamp};
use rdnp3::{ChannelListener, ChannelState};
use std::sync::{Arc, Mutex};

/// Records a channel's state changes.
#[derive(Clone, Default)]
pub struct StateLog(Arc<Mutex<Vec<ChannelState>>>);

impl StateLog {
    /// A listener that appends to this log.
    pub fn listener(&self) -> Option<Box<dyn ChannelListener>> {
        let log = self.0.clone();
        Some(Box::new(move |s: ChannelState| lock(&log).push(s)))
    }

    /// The states so far.
    pub fn states(&self) -> Vec<ChannelState> {
        lock(&self.0).clone()
    }

    /// The last state, if any.
    pub fn last(&self) -> Option<ChannelState> {
        lock(&self.0).last().copied()
    }
}

/// A measurement value owned by the test.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Binary input or output status.
    Binary(bool),
    /// Double-bit input.
    DoubleBit(DoubleBit),
    /// Counter or frozen counter.
    Counter(u32),
    /// Analog input or output status.
    Analog(f64),
    /// Octet string.
    Bytes(Vec<u8>),
}

/// One measurement as the master delivered it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub kind: PointType,
    pub index: u16,
    pub value: Val,
    pub flags: u8,
    pub time: Option<Timestamp>,
    pub event: bool,
    pub unsolicited: bool,
}

#[derive(Default)]
struct RecorderState {
    measurements: Vec<Recorded>,
    responses: Vec<ResponseInfo>,
    current: Option<ResponseInfo>,
}

/// A read handler that keeps every measurement and every response header it is given.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<RecorderState>>);

struct RecordingHandler(Arc<Mutex<RecorderState>>);

impl ReadHandler for RecordingHandler {
    fn begin(&mut self, info: ResponseInfo) {
        let mut s = lock(&self.0);
        s.current = Some(info);
        s.responses.push(info);
    }

    fn measurement(&mut self, m: &Measurement<'_>) {
        let value = match m.value {
            MeasurementValue::Binary(b) => Val::Binary(b),
            MeasurementValue::DoubleBit(d) => Val::DoubleBit(d),
            MeasurementValue::Counter(c) => Val::Counter(c),
            MeasurementValue::Analog(a) => Val::Analog(a),
            MeasurementValue::OctetString(b) => Val::Bytes(b.to_vec()),
            other => panic!("unexpected measurement value {other:?}"),
        };
        let mut s = lock(&self.0);
        let unsolicited = s.current.is_some_and(|i| i.unsolicited);
        s.measurements.push(Recorded {
            kind: m.kind,
            index: m.index,
            value,
            flags: m.flags,
            time: m.time,
            event: m.event,
            unsolicited,
        });
    }

    fn end(&mut self, _info: ResponseInfo) {
        lock(&self.0).current = None;
    }
}

impl Recorder {
    /// A handler for `Channel::add_master` that records into this recorder.
    pub fn handler(&self) -> Box<dyn ReadHandler> {
        Box::new(RecordingHandler(self.0.clone()))
    }

    /// Every measurement so far.
    pub fn measurements(&self) -> Vec<Recorded> {
        lock(&self.0).measurements.clone()
    }

    /// The events so far, in arrival order.
    pub fn events(&self) -> Vec<Recorded> {
        self.measurements()
            .into_iter()
            .filter(|m| m.event)
            .collect()
    }

    /// The events of one kind so far, in arrival order.
    pub fn events_of(&self, kind: PointType) -> Vec<Recorded> {
        self.events()
            .into_iter()
            .filter(|m| m.kind == kind)
            .collect()
    }

    /// Static values so far.
    pub fn statics(&self) -> Vec<Recorded> {
        self.measurements()
            .into_iter()
            .filter(|m| !m.event)
            .collect()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        let mut s = lock(&self.0);
        s.measurements.clear();
        s.responses.clear();
    }

    /// The headers of every response that carried measurements.
    pub fn responses(&self) -> Vec<ResponseInfo> {
        lock(&self.0).responses.clone()
    }
}
