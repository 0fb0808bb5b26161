//! Hands the measurements of a response to the user's [`ReadHandler`], one by one, straight
//! from the response bytes, and counts them.

use super::device_data::DeviceData;
use super::measurement::{Measurement, ReadHandler, ResponseInfo, TimeQuality, UnsupportedObject};
use super::repeats::RepeatFilter;
use crate::app::{Fragment, Iin};
use crate::objects::Variation;

/// The user's read handler plus the association's measurement counter: what a task (or the
/// unsolicited path) needs to deliver the data of a response.
pub(crate) struct MeasurementSink<'a> {
    handler: &'a mut dyn ReadHandler,
    delivered: &'a mut u64,
    /// Headers that could not be parsed, over the sink's life.
    unsupported: u64,
    /// Recognises events delivered before, and counts those it holds back.
    repeats: Option<(&'a mut RepeatFilter, &'a mut u64)>,
}

impl<'a> MeasurementSink<'a> {
    /// Delivers to `handler`, adding one to `delivered` per measurement.
    pub(crate) fn new(handler: &'a mut dyn ReadHandler, delivered: &'a mut u64) -> Self {
        MeasurementSink {
            handler,
            delivered,
            unsupported: 0,
            repeats: None,
        }
    }

    /// Holds back the timed events `filter` recognises as delivered before, adding one to
    /// `repeated` for each.
    pub(crate) fn with_repeats(
        mut self,
        filter: &'a mut RepeatFilter,
        repeated: &'a mut u64,
    ) -> Self {
        self.repeats = Some((filter, repeated));
        self
    }

    /// Hands every measurement of the fragment to the read handler, between `begin` and `end`
    /// (nothing at all for a fragment without objects). Objects that are not measurements are
    /// skipped. A header that cannot be parsed ends the delivery: the handler hears of it and
    /// it is returned. Never allocates.
    pub(crate) fn deliver(
        &mut self,
        response: &Fragment<'_>,
        unsolicited: bool,
    ) -> Option<UnsupportedObject> {
        if response.body.is_empty() {
            return None;
        }
        let info = ResponseInfo {
            unsolicited,
            fir: response.control.fir,
            fin: response.control.fin,
            iin: response.iin.unwrap_or_default(),
        };
        self.handler.begin(info);
        if let Some((filter, _)) = &mut self.repeats {
            filter.begin_fragment();
        }
        let mut unsupported = None;
        // Times are unsynchronized when the outstation asks for time, or when they are
        // relative to an unsynchronized CTO (IEEE 1815-2012, Annex A, g51v2).
        let need_time = info.iin.contains(Iin::NEED_TIME);
        let mut unsynchronized_cto = false;
        let mut objects = response.objects();
        while let Some(header) = objects.next() {
            let h = match header {
                Ok(h) => h,
                Err(e) => {
                    let rest = objects.remaining();
                    let object = UnsupportedObject {
                        group: rest.first().copied().unwrap_or(0),
                        variation: rest.get(1).copied().unwrap_or(0),
                        error: e.kind,
                    };
                    tracing::info!(
                        group = object.group,
                        variation = object.variation,
                        error = object.error.name(),
                        unsolicited,
                        "object the master cannot parse: fragment not confirmed"
                    );
                    self.unsupported += 1;
                    self.handler.unsupported(&object);
                    unsupported = Some(object);
                    break;
                }
            };
            match h.variation {
                Variation::Group51Var1 => unsynchronized_cto = false,
                Variation::Group51Var2 => unsynchronized_cto = true,
                _ => {}
            }
            let unsynchronized = need_time || (unsynchronized_cto && h.variation.needs_cto());
            for p in h.points() {
                if let Some(mut m) = Measurement::from_point(h.variation, &p) {
                    if unsynchronized && m.time.is_some() {
                        m.time_quality = TimeQuality::Unsynchronized;
                    }
                    if let Some((filter, repeated)) = &mut self.repeats {
                        if filter.is_repeat(&m) {
                            **repeated += 1;
                            continue;
                        }
                    }
                    *self.delivered += 1;
                    self.handler.measurement(&m);
                    continue;
                }
                let quality = if unsynchronized {
                    TimeQuality::Unsynchronized
                } else {
                    TimeQuality::Synchronized
                };
                match DeviceData::from_point(h.variation, &p, quality) {
                    Some(DeviceData::Time(t)) => self.handler.time(&t),
                    Some(DeviceData::Statistic(s)) => self.handler.security_statistic(&s),
                    Some(DeviceData::Attribute(a)) => self.handler.device_attribute(&a),
                    None => {}
                }
            }
        }
        self.handler.end(info);
        unsupported
    }

    /// How many headers could not be parsed since the sink was made.
    pub(crate) fn unsupported(&self) -> u64 {
        self.unsupported
    }
}
