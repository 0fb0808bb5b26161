//! Hands the measurements of a response to the user's [`ReadHandler`], one by one, straight
//! from the response bytes, and counts them.

use super::measurement::{Measurement, ReadHandler, ResponseInfo};
use crate::app::Fragment;

/// The user's read handler plus the association's measurement counter: what a task (or the
/// unsolicited path) needs to deliver the data of a response.
pub(crate) struct MeasurementSink<'a> {
    handler: &'a mut dyn ReadHandler,
    delivered: &'a mut u64,
}

impl<'a> MeasurementSink<'a> {
    /// Delivers to `handler`, adding one to `delivered` per measurement.
    pub(crate) fn new(handler: &'a mut dyn ReadHandler, delivered: &'a mut u64) -> Self {
        MeasurementSink { handler, delivered }
    }

    /// Hands every measurement of the fragment to the read handler, between `begin` and `end`
    /// (nothing at all for a fragment without objects). Objects that are not measurements are
    /// skipped. Never allocates.
    pub(crate) fn deliver(&mut self, response: &Fragment<'_>, unsolicited: bool) {
        if response.body.is_empty() {
            return;
        }
        let info = ResponseInfo {
            unsolicited,
            fir: response.control.fir,
            fin: response.control.fin,
            iin: response.iin.unwrap_or_default(),
        };
        self.handler.begin(info);
        for h in response.objects().flatten() {
            for p in h.points() {
                if let Some(m) = Measurement::from_point(h.variation, &p) {
                    *self.delivered += 1;
                    self.handler.measurement(&m);
                }
            }
        }
        self.handler.end(info);
    }
}
