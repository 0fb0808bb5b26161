//! Measurements as a bounded stream: the alternative to a callback [`ReadHandler`] for code that
//! would rather pull them — an async task awaiting the next one, or a thread blocking on it.
//!
//! [`measurement_stream`] makes a pair: a [`StreamHandler`], given to the association as its
//! read handler, and the [`MeasurementStream`] the application reads. The handler collects a
//! response's measurements and hands them over once per response fragment (one lock, at most
//! one wake-up), so the executor never waits on the reader. The queue holds at most `capacity`
//! measurements; what does not fit is dropped and counted ([`MeasurementStream::dropped`]):
//! a slow reader never makes the channel buffer without bound or stall other channels.

use futures_core::Stream;
use rdnp3_stack::master::{Measurement, MeasurementValue, ReadHandler, ResponseInfo, TimeQuality};
use rdnp3_stack::objects::{CommandStatus, DoubleBit, PointType, Timestamp};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A measurement's value, owned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OwnedValue {
    /// Binary input, binary output status, or the state of a binary command event.
    Binary(bool),
    /// Double-bit input.
    DoubleBit(DoubleBit),
    /// Counter or frozen counter.
    Counter(u32),
    /// Analog input, frozen analog, analog output status or analog command event value.
    Analog(f64),
    /// Octet string bytes.
    OctetString(Vec<u8>),
}

/// One measurement, owned, as a [`MeasurementStream`] yields it (see
/// [`rdnp3_stack::master::Measurement`] for the fields).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OwnedMeasurement {
    /// Point type.
    pub kind: PointType,
    /// Point index.
    pub index: u16,
    /// Value.
    pub value: OwnedValue,
    /// Quality flags.
    pub flags: u8,
    /// Time of the event or freeze, where the variation carries one.
    pub time: Option<Timestamp>,
    /// Whether `time` came from a synchronized clock.
    pub time_quality: TimeQuality,
    /// True for event objects.
    pub event: bool,
    /// The command status of a command event.
    pub status: Option<CommandStatus>,
    /// True when it came in an unsolicited response.
    pub unsolicited: bool,
}

impl OwnedMeasurement {
    fn new(m: &Measurement<'_>, unsolicited: bool) -> Self {
        let value = match m.value {
            MeasurementValue::Binary(b) => OwnedValue::Binary(b),
            MeasurementValue::DoubleBit(d) => OwnedValue::DoubleBit(d),
            MeasurementValue::Counter(c) => OwnedValue::Counter(c),
            MeasurementValue::Analog(a) => OwnedValue::Analog(a),
            MeasurementValue::OctetString(s) => OwnedValue::OctetString(s.to_vec()),
            _ => OwnedValue::OctetString(Vec::new()),
        };
        OwnedMeasurement {
            kind: m.kind,
            index: m.index,
            value,
            flags: m.flags,
            time: m.time,
            time_quality: m.time_quality,
            event: m.event,
            status: m.status,
            unsolicited,
        }
    }
}

struct Queue {
    items: VecDeque<OwnedMeasurement>,
    /// The async reader to wake, registered when it found the queue empty.
    waker: Option<Waker>,
    /// A blocking reader is parked on the condvar.
    parked: bool,
    /// The handler is gone (association removed): the stream ends once drained.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
    dropped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every update of the queue is complete before any call that could panic.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes whoever waits; called with the lock released.
    fn wake(&self, waker: Option<Waker>, parked: bool) {
        if let Some(waker) = waker {
            waker.wake();
        }
        if parked {
            self.ready.notify_all();
        }
    }
}

/// Makes a bounded stream of at most `capacity` queued measurements (at least 1) and the read
/// handler that feeds it.
pub fn measurement_stream(capacity: usize) -> (StreamHandler, MeasurementStream) {
    let capacity = capacity.max(1);
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            waker: None,
            parked: false,
            closed: false,
        }),
        ready: Condvar::new(),
        capacity,
        dropped: AtomicU64::new(0),
    });
    (
        StreamHandler {
            shared: shared.clone(),
            batch: Vec::new(),
            unsolicited: false,
        },
        MeasurementStream { shared },
    )
}

/// The read handler feeding a [`MeasurementStream`]; give it to the association
/// (`Box::new(handler)`). Dropping it (the association was removed) ends the stream.
pub struct StreamHandler {
    shared: Arc<Shared>,
    /// The current response fragment's measurements, handed over at its end.
    batch: Vec<OwnedMeasurement>,
    unsolicited: bool,
}

impl StreamHandler {
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let (waker, parked) = {
            let mut q = self.shared.lock();
            let room = self.shared.capacity.saturating_sub(q.items.len());
            let excess = self.batch.len().saturating_sub(room);
            if excess > 0 {
                self.shared
                    .dropped
                    .fetch_add(excess as u64, Ordering::Relaxed);
                self.batch.truncate(room);
            }
            q.items.extend(self.batch.drain(..));
            (q.waker.take(), std::mem::take(&mut q.parked))
        };
        self.shared.wake(waker, parked);
        // Keep a modest buffer between responses, not the largest one ever seen.
        if self.batch.capacity() > 256 {
            self.batch = Vec::new();
        }
    }
}

impl ReadHandler for StreamHandler {
    fn begin(&mut self, info: ResponseInfo) {
        self.unsolicited = info.unsolicited;
    }

    fn measurement(&mut self, m: &Measurement<'_>) {
        if self.batch.len() < self.shared.capacity {
            self.batch.push(OwnedMeasurement::new(m, self.unsolicited));
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn end(&mut self, _info: ResponseInfo) {
        self.flush();
    }
}

impl Drop for StreamHandler {
    fn drop(&mut self) {
        self.flush();
        let (waker, parked) = {
            let mut q = self.shared.lock();
            q.closed = true;
            (q.waker.take(), std::mem::take(&mut q.parked))
        };
        self.shared.wake(waker, parked);
    }
}

/// The measurements of one association, in arrival order, bounded (see
/// [`measurement_stream`]). A [`futures_core::Stream`] for async code (or
/// [`MeasurementStream::next`]); [`MeasurementStream::recv_timeout`] for threads. It ends
/// (`None`) once the association is removed and the queue is drained.
pub struct MeasurementStream {
    shared: Arc<Shared>,
}

impl MeasurementStream {
    /// The next measurement, awaited (the same as `StreamExt::next`, without needing the
    /// futures crate); `None` once the stream has ended.
    #[allow(clippy::should_implement_trait)] // An async `next`, like `StreamExt::next`.
    pub fn next(&mut self) -> Next<'_> {
        Next { stream: self }
    }

    /// The next measurement if one is queued.
    pub fn try_next(&mut self) -> Option<OwnedMeasurement> {
        self.shared.lock().items.pop_front()
    }

    /// Blocks up to `timeout` for the next measurement; `None` on timeout or once the stream
    /// has ended. Do not call it on an executor thread.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<OwnedMeasurement> {
        let deadline = Instant::now() + timeout;
        let mut q = self.shared.lock();
        loop {
            if let Some(m) = q.items.pop_front() {
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if q.closed || left.is_zero() {
                return None;
            }
            q.parked = true;
            q = self
                .shared
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Measurements dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Measurements queued now.
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stream for MeasurementStream {
    type Item = OwnedMeasurement;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OwnedMeasurement>> {
        let mut q = self.shared.lock();
        if let Some(m) = q.items.pop_front() {
            return Poll::Ready(Some(m));
        }
        if q.closed {
            return Poll::Ready(None);
        }
        q.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The future of [`MeasurementStream::next`].
pub struct Next<'a> {
    stream: &'a mut MeasurementStream,
}

impl Future for Next<'_> {
    type Output = Option<OwnedMeasurement>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdnp3_stack::app::Iin;

    fn info() -> ResponseInfo {
        ResponseInfo::new(false, true, true, Iin::default())
    }

    fn analog(index: u16) -> Measurement<'static> {
        let value = MeasurementValue::Analog(f64::from(index));
        Measurement::new(PointType::AnalogInput, index, value)
    }

    #[test]
    fn measurements_are_handed_over_at_the_end_of_each_response() {
        let (mut handler, mut stream) = measurement_stream(8);
        handler.begin(info());
        handler.measurement(&analog(1));
        assert!(stream.try_next().is_none(), "not before the response ends");
        handler.end(info());
        let m = stream.try_next().expect("one measurement");
        assert_eq!((m.index, m.value), (1, OwnedValue::Analog(1.0)));
    }

    #[test]
    fn a_full_queue_drops_and_counts_the_excess() {
        let (mut handler, mut stream) = measurement_stream(3);
        for round in 0..2 {
            handler.begin(info());
            for i in 0..5 {
                handler.measurement(&analog(round * 10 + i));
            }
            handler.end(info());
        }
        assert_eq!(stream.len(), 3);
        assert_eq!(stream.dropped(), 7);
        let first: Vec<u16> = std::iter::from_fn(|| stream.try_next())
            .map(|m| m.index)
            .collect();
        assert_eq!(first, [0, 1, 2]);
    }

    #[test]
    fn a_blocked_reader_wakes_on_the_next_response_and_the_stream_ends_with_its_handler() {
        let (mut handler, mut stream) = measurement_stream(8);
        let reader = std::thread::spawn(move || {
            let first = stream.recv_timeout(Duration::from_secs(20));
            let after = stream.recv_timeout(Duration::from_secs(20));
            (first.map(|m| m.index), after)
        });
        std::thread::sleep(Duration::from_millis(20));
        handler.begin(info());
        handler.measurement(&analog(4));
        handler.end(info());
        drop(handler);
        let (first, after) = reader.join().expect("reader");
        assert_eq!(first, Some(4));
        assert_eq!(after, None, "the stream ended with its handler");
    }
}
