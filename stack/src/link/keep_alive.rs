//! The link keep-alive (IEEE 1815-2012, clause 9): after a period with no frame received, the
//! link sends REQUEST_LINK_STATUS and expects some frame back within the link timeout; if none
//! comes the connection is presumed dead. Time is passed in, never read.

use std::time::{Duration, Instant};

/// What the keep-alive asks of its owner when its timer fires.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeepAliveAction {
    /// Nothing to do yet.
    Idle,
    /// The line was silent for a whole period: send REQUEST_LINK_STATUS, then call
    /// [`KeepAlive::on_request_sent`] so that the answer is awaited.
    SendRequestLinkStatus,
    /// The request went unanswered for the link timeout: the connection should be closed.
    Failed,
}

/// Where the keep-alive stands on the current connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Line {
    /// No connection: no timer runs.
    Closed,
    /// A connection is open.
    Open {
        /// When the last frame was received (or the connection opened, or the last request
        /// was due).
        last_rx: Instant,
        /// When an outstanding REQUEST_LINK_STATUS is given up, if one is outstanding.
        request_deadline: Option<Instant>,
    },
}

/// The keep-alive of one connection: a timer on the silence of the line, not on the answer to
/// any particular request, so any received frame (not only LINK_STATUS) proves the peer alive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeepAlive {
    period: Option<Duration>,
    link_timeout: Duration,
    line: Line,
}

impl KeepAlive {
    /// A keep-alive that sends REQUEST_LINK_STATUS after `period` of silence (`None`: never)
    /// and gives up on it after `link_timeout`. It starts closed.
    pub fn new(period: Option<Duration>, link_timeout: Duration) -> Self {
        KeepAlive {
            period,
            link_timeout,
            line: Line::Closed,
        }
    }

    /// The silence after which a request is sent, if keep-alive is enabled.
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// How long an answer to a request is awaited.
    pub fn link_timeout(&self) -> Duration {
        self.link_timeout
    }

    /// True while a REQUEST_LINK_STATUS awaits its answer.
    pub fn is_awaiting_answer(&self) -> bool {
        matches!(
            self.line,
            Line::Open {
                request_deadline: Some(_),
                ..
            }
        )
    }

    /// The connection opened at `now`: the silence is counted from here.
    pub fn on_open(&mut self, now: Instant) {
        self.line = Line::Open {
            last_rx: now,
            request_deadline: None,
        };
    }

    /// The connection closed: no timer runs until the next `on_open`.
    pub fn on_close(&mut self) {
        self.line = Line::Closed;
    }

    /// A valid frame of any kind arrived at `now`: the peer is alive.
    pub fn on_frame_received(&mut self, now: Instant) {
        if let Line::Open { .. } = self.line {
            self.on_open(now);
        }
    }

    /// A frame was sent at `now`. On a half-duplex (serial) line the silence is counted from
    /// the last frame either way, so that a master that polls slowly keeps the line quiet of
    /// keep-alives; an outstanding request still awaits its answer.
    pub fn on_frame_sent(&mut self, now: Instant) {
        if let Line::Open { last_rx, .. } = &mut self.line {
            *last_rx = (*last_rx).max(now);
        }
    }

    /// The REQUEST_LINK_STATUS asked for by [`KeepAliveAction::SendRequestLinkStatus`] was
    /// queued at `now`: some frame must arrive within the link timeout.
    pub fn on_request_sent(&mut self, now: Instant) {
        if let Line::Open {
            request_deadline, ..
        } = &mut self.line
        {
            *request_deadline = now.checked_add(self.link_timeout);
        }
    }

    /// The moment `on_timer` must run next, if any: the end of the outstanding request's link
    /// timeout, else the end of the current period of silence.
    pub fn deadline(&self) -> Option<Instant> {
        match self.line {
            Line::Closed => None,
            Line::Open {
                request_deadline: Some(deadline),
                ..
            } => Some(deadline),
            Line::Open { last_rx, .. } => self.period.and_then(|p| last_rx.checked_add(p)),
        }
    }

    /// Checks the timers at `now` and says what is due.
    pub fn on_timer(&mut self, now: Instant) -> KeepAliveAction {
        let period = self.period;
        let Line::Open {
            last_rx,
            request_deadline,
        } = &mut self.line
        else {
            return KeepAliveAction::Idle;
        };
        if let Some(deadline) = *request_deadline {
            if deadline <= now {
                *request_deadline = None;
                return KeepAliveAction::Failed;
            }
            return KeepAliveAction::Idle;
        }
        let due = period.and_then(|p| last_rx.checked_add(p));
        if due.is_some_and(|due| due <= now) {
            // The next period of silence starts now, whether or not a request can be sent.
            *last_rx = now;
            return KeepAliveAction::SendRequestLinkStatus;
        }
        KeepAliveAction::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(60);
    const TIMEOUT: Duration = Duration::from_secs(2);

    fn open(start: Instant) -> KeepAlive {
        let mut k = KeepAlive::new(Some(PERIOD), TIMEOUT);
        k.on_open(start);
        k
    }

    #[test]
    fn a_request_is_sent_after_a_period_of_silence() {
        let t0 = Instant::now();
        let mut k = open(t0);
        assert_eq!(k.deadline(), Some(t0 + PERIOD));
        assert_eq!(
            k.on_timer(t0 + PERIOD - Duration::from_millis(1)),
            KeepAliveAction::Idle
        );
        assert_eq!(
            k.on_timer(t0 + PERIOD),
            KeepAliveAction::SendRequestLinkStatus
        );
        k.on_request_sent(t0 + PERIOD);
        assert!(k.is_awaiting_answer());
        assert_eq!(k.deadline(), Some(t0 + PERIOD + TIMEOUT));
    }

    #[test]
    fn any_received_frame_restarts_the_period_and_answers_the_request() {
        let t0 = Instant::now();
        let mut k = open(t0);
        let t1 = t0 + Duration::from_secs(30);
        k.on_frame_received(t1);
        assert_eq!(k.on_timer(t0 + PERIOD), KeepAliveAction::Idle);
        assert_eq!(k.deadline(), Some(t1 + PERIOD));

        let t2 = t1 + PERIOD;
        assert_eq!(k.on_timer(t2), KeepAliveAction::SendRequestLinkStatus);
        k.on_request_sent(t2);
        k.on_frame_received(t2 + Duration::from_secs(1));
        assert!(!k.is_awaiting_answer());
        assert_eq!(k.on_timer(t2 + TIMEOUT), KeepAliveAction::Idle);
        assert_eq!(k.deadline(), Some(t2 + Duration::from_secs(1) + PERIOD));
    }

    #[test]
    fn an_unanswered_request_fails_after_the_link_timeout() {
        let t0 = Instant::now();
        let mut k = open(t0);
        let sent = t0 + PERIOD;
        assert_eq!(k.on_timer(sent), KeepAliveAction::SendRequestLinkStatus);
        k.on_request_sent(sent);
        assert_eq!(
            k.on_timer(sent + TIMEOUT - Duration::from_millis(1)),
            KeepAliveAction::Idle
        );
        assert_eq!(k.on_timer(sent + TIMEOUT), KeepAliveAction::Failed);
        assert!(!k.is_awaiting_answer());
        // Left open, the next period of silence counts from when the request was due.
        assert_eq!(k.deadline(), Some(sent + PERIOD));
    }

    #[test]
    fn without_a_request_sent_no_answer_is_awaited() {
        let t0 = Instant::now();
        let mut k = open(t0);
        assert_eq!(
            k.on_timer(t0 + PERIOD),
            KeepAliveAction::SendRequestLinkStatus
        );
        assert!(!k.is_awaiting_answer());
        assert_eq!(k.deadline(), Some(t0 + PERIOD + PERIOD));
    }

    #[test]
    fn a_sent_frame_restarts_the_period_but_not_an_awaited_answer() {
        let t0 = Instant::now();
        let mut k = open(t0);
        let t1 = t0 + Duration::from_secs(30);
        k.on_frame_sent(t1);
        assert_eq!(k.on_timer(t0 + PERIOD), KeepAliveAction::Idle);
        assert_eq!(k.deadline(), Some(t1 + PERIOD));
        let t2 = t1 + PERIOD;
        assert_eq!(k.on_timer(t2), KeepAliveAction::SendRequestLinkStatus);
        k.on_request_sent(t2);
        k.on_frame_sent(t2 + Duration::from_secs(1));
        assert!(k.is_awaiting_answer());
        assert_eq!(k.on_timer(t2 + TIMEOUT), KeepAliveAction::Failed);
    }

    #[test]
    fn no_keep_alive_runs_when_the_period_is_none() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(None, TIMEOUT);
        k.on_open(t0);
        assert_eq!(k.period(), None);
        assert_eq!(k.deadline(), None);
        assert_eq!(
            k.on_timer(t0 + Duration::from_secs(3600)),
            KeepAliveAction::Idle
        );
    }

    #[test]
    fn no_timer_runs_while_closed() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(Some(PERIOD), TIMEOUT);
        assert_eq!(k.deadline(), None);
        assert_eq!(k.on_timer(t0 + PERIOD), KeepAliveAction::Idle);
        k.on_open(t0);
        k.on_request_sent(t0);
        k.on_close();
        assert_eq!(k.deadline(), None);
        assert!(!k.is_awaiting_answer());
        k.on_frame_received(t0);
        assert_eq!(k.on_timer(t0 + PERIOD + TIMEOUT), KeepAliveAction::Idle);
        assert_eq!(k.link_timeout(), TIMEOUT);
    }
}
