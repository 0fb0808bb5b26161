//! [`OutstationSession`]: the outstation's request/response state machine behind the
//! channel-facing [`Session`] trait. It checks each request's header (IEEE 1815-2012, clause 4),
//! answers repeats from history (§4.5), serves the request, and tracks solicited confirms,
//! unsolicited reporting and broadcasts. It never blocks, reads no clock and allocates only
//! at construction (and once per buffer growth of the kept request).

use super::application::{OutstationApplication, APPLICATION_IIN};
use super::assign;
use super::config::OutstationConfig;
use super::control::{ControlHandler, SelectState};
use super::database::Database;
use super::deferred::HeldResponse;
use super::read::ReadCursor;
use super::stats::OutstationStats;
use super::unsolicited::{TimeoutOutcome, Unsolicited};
use super::update::{ApplyReport, Update};
use crate::app::{AppControl, AppErrorKind, Fragment, FunctionCode, Iin};
use crate::link::AddressKind;
use crate::objects::Variation;
use crate::objects::{Classes, EventClass};
use crate::session::{Now, Session};
use std::fmt;
use std::time::Instant;

mod held;
mod respond;

/// IIN1.0 after a broadcast (IEEE 1815-2012, clause 4).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum BroadcastState {
    /// Nothing to report.
    Clear,
    /// Report in the next response only (0xFFFD, 0xFFFF).
    ReportOnce,
    /// Report with CON until a response carrying it is confirmed (0xFFFE).
    UntilConfirmed,
}

/// A multi-fragment READ response in progress.
#[derive(Copy, Clone, Debug)]
struct ReadProgress {
    cursor: ReadCursor,
    error_iin: Iin,
}

/// The solicited side.
#[derive(Copy, Clone, Debug)]
enum SolicitedState {
    /// Nothing waits for a confirm.
    Idle,
    /// A response with CON waits for the master's confirm.
    ConfirmWait {
        seq: u8,
        deadline: Instant,
        /// It carries events (removed on confirm, released on timeout).
        events: bool,
        /// It reported a broadcast that needs a confirm.
        broadcast: bool,
        /// The rest of a multi-fragment response.
        next: Option<ReadProgress>,
    },
}

/// What the kept last request allows when the same bytes arrive again (IEEE 1815-2012, clause 4).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum History {
    /// Nothing kept (start, after a CONFIRM, after link down).
    Empty,
    /// A READ: answered afresh.
    Read,
    /// A request whose response is still in the transmit buffer: sent again.
    Answered,
    /// A request without a response: ignored.
    Unanswered,
}

/// A DNP3 outstation as a sans-I/O state machine: give it fragments, time and timer
/// expiries through [`Session`]; it answers through [`Session::next_fragment`]. User code
/// changes points with [`OutstationSession::apply`].
pub struct OutstationSession {
    config: OutstationConfig,
    db: Database,
    controls: Box<dyn ControlHandler + Send>,
    app: Box<dyn OutstationApplication + Send>,
    restart_iin: bool,
    need_time: bool,
    broadcast: BroadcastState,
    solicited: SolicitedState,
    history: History,
    /// The last request (for repeats and for the fragments of a READ response).
    request: Vec<u8>,
    /// `request` is a READ waiting for the unsolicited exchange to end.
    deferred_read: bool,
    /// The solicited response being sent or last sent.
    tx: Vec<u8>,
    tx_len: usize,
    tx_ready: bool,
    select: SelectState,
    /// RECORD_CURRENT_TIME: its SEQ and when it arrived, for the very next request only.
    record: Option<(u8, Instant)>,
    unsol: Unsolicited,
    online: bool,
    stats: OutstationStats,
    /// A control response waiting for controls answered later.
    held: Option<HeldResponse>,
}

impl fmt::Debug for OutstationSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutstationSession")
            .field("local_address", &self.config.local_address)
            .field("solicited", &self.solicited)
            .field("unsolicited", &self.unsol.state)
            .field("online", &self.online)
            .finish()
    }
}

impl OutstationSession {
    /// A session over `database` (its event buffers are sized from `config.event_buffer`).
    /// The handlers are called on the channel's executor and must not block.
    pub fn new(
        config: OutstationConfig,
        database: Database,
        control_handler: Box<dyn ControlHandler + Send>,
        app_handler: Box<dyn OutstationApplication + Send>,
    ) -> Self {
        let mut db = database.with_event_buffers(&config.event_buffer);
        db.command_events = config.command_events;
        let mut unsol = Unsolicited::new(
            config.allow_unsolicited,
            config.unsolicited_confirm_timeout,
            config.unsolicited_retries,
        );
        if config.allow_unsolicited {
            unsol.tx = vec![0; config.max_tx_fragment];
        }
        OutstationSession {
            tx: vec![0; config.max_tx_fragment],
            need_time: config.need_time_at_start,
            config,
            db,
            controls: control_handler,
            app: app_handler,
            restart_iin: true,
            broadcast: BroadcastState::Clear,
            solicited: SolicitedState::Idle,
            history: History::Empty,
            request: Vec::new(),
            deferred_read: false,
            tx_len: 0,
            tx_ready: false,
            select: SelectState::new(),
            record: None,
            unsol,
            online: false,
            stats: OutstationStats::default(),
            held: None,
        }
    }

    /// Applies point updates atomically (all before any response is built) and creates
    /// their events; see [`Database::apply`].
    pub fn apply(&mut self, now: &Now, updates: &[Update]) -> ApplyReport {
        self.db.apply(now, updates)
    }

    /// Read access to the points and event counts.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The configuration.
    pub fn config(&self) -> &OutstationConfig {
        &self.config
    }

    /// Counters since creation.
    pub fn stats(&self) -> OutstationStats {
        OutstationStats {
            events_created: self.db.events_created(),
            events_dropped: self.db.events_dropped(),
            rejected_updates: self.db.rejected_updates(),
            ..self.stats
        }
    }

    /// The IIN the next response would carry, without request-specific error bits.
    pub fn iin(&self) -> Iin {
        let mut iin = self.app.application_iin() & APPLICATION_IIN;
        for (on, bit) in [
            (self.restart_iin, Iin::DEVICE_RESTART),
            (self.need_time, Iin::NEED_TIME),
            (self.broadcast != BroadcastState::Clear, Iin::BROADCAST),
            (self.db.events.overflow(), Iin::EVENT_BUFFER_OVERFLOW),
        ] {
            if on {
                iin |= bit;
            }
        }
        let classes = self.db.events.unreported_classes();
        for (class, bit) in [
            (EventClass::Class1, Iin::CLASS_1_EVENTS),
            (EventClass::Class2, Iin::CLASS_2_EVENTS),
            (EventClass::Class3, Iin::CLASS_3_EVENTS),
        ] {
            if classes.includes(class) {
                iin |= bit;
            }
        }
        iin
    }

    /// Sets or clears IIN1.4 NEED_TIME (e.g. when the application's clock drifted, or was
    /// set by other means than the master).
    pub fn set_need_time(&mut self, need: bool) {
        self.need_time = need;
    }

    /// Sets IIN1.7 DEVICE_RESTART again (e.g. after the application restarted the device's
    /// process image), so the master re-reads everything; it clears when the master writes
    /// it to 0 (IEEE 1815-2012, clause 4).
    pub fn set_restart(&mut self) {
        self.restart_iin = true;
    }

    /// The classes the master enabled for unsolicited reporting.
    pub fn unsolicited_classes(&self) -> Classes {
        self.unsol.enabled
    }

    /// A request addressed to us.
    fn on_request(&mut self, now: &Now, frag: &Fragment<'_>, raw: &[u8]) {
        let function = frag.function;
        let seq = frag.control.seq;
        if self.history != History::Empty && raw == self.request.as_slice() {
            self.stats.duplicate_requests += 1;
            match self.history {
                History::Answered => {
                    tracing::debug!(seq, "repeated request: previous response sent again");
                    self.tx_ready = true;
                    return;
                }
                History::Unanswered => return,
                _ => tracing::debug!(seq, "repeated READ answered afresh"),
            }
        }
        self.abandon_solicited();
        self.deferred_read = false;
        self.request.clear();
        self.request.extend_from_slice(raw);
        if function != FunctionCode::Operate {
            self.select.cancel();
        }
        if function != FunctionCode::Write {
            self.record = None;
        }
        self.history = match function {
            FunctionCode::Read => History::Read,
            _ => History::Unanswered,
        };
        tracing::debug!(seq, %function, len = raw.len(), "request");
        match function {
            FunctionCode::Read => match self.unsol.on_read() {
                None => {
                    tracing::debug!(seq, "READ deferred until the unsolicited confirm");
                    self.deferred_read = true;
                }
                Some(outcome) => {
                    if outcome == TimeoutOutcome::ReleaseEvents {
                        tracing::debug!(
                            seq,
                            "unconfirmed unsolicited response given up for a READ"
                        );
                        self.db.events.unselect_all();
                        self.unsol.carries_broadcast = false;
                    }
                    self.respond_read(now)
                }
            },
            FunctionCode::Write => self.respond_write(now, frag, true),
            FunctionCode::Select | FunctionCode::Operate | FunctionCode::DirectOperate => {
                self.respond_controls(now, raw, true)
            }
            FunctionCode::DirectOperateNr => self.respond_controls(now, raw, false),
            FunctionCode::ImmedFreeze | FunctionCode::FreezeClear => {
                self.respond_freeze(now, frag, true)
            }
            FunctionCode::ImmedFreezeNr | FunctionCode::FreezeClearNr => {
                self.respond_freeze(now, frag, false)
            }
            FunctionCode::ColdRestart | FunctionCode::WarmRestart => {
                self.respond_restart(now, frag)
            }
            FunctionCode::DelayMeasure => {
                if !self.refuse_objects(now, frag) {
                    // Processing delay: nothing here takes measurable time.
                    self.respond_single(now, seq, Variation::Group52Var2, 0);
                }
            }
            FunctionCode::RecordCurrentTime => {
                if !self.refuse_objects(now, frag) {
                    self.record = Some((seq, now.instant));
                    self.respond_null(now, seq, Iin::NONE);
                }
            }
            FunctionCode::EnableUnsolicited | FunctionCode::DisableUnsolicited => {
                self.respond_unsolicited_control(now, frag, true)
            }
            FunctionCode::AssignClass => {
                let result = assign::assign_class(frag.objects(), &mut self.db);
                self.respond_null(now, seq, result.err().unwrap_or(Iin::NONE));
            }
            f if f.expects_no_response() => {
                tracing::debug!(function = %f, "unsupported function without response ignored")
            }
            f => {
                tracing::debug!(function = %f, "unsupported function");
                self.respond_null(now, seq, Iin::NO_FUNC_CODE_SUPPORT);
            }
        }
    }

    /// A request sent to a broadcast address: acted on when it needs no response, never
    /// answered; IIN1.0 goes into the next response (IEEE 1815-2012, clause 4).
    fn on_broadcast(&mut self, now: &Now, kind: AddressKind, frag: &Fragment<'_>, raw: &[u8]) {
        self.stats.broadcasts += 1;
        self.broadcast = match (kind, self.broadcast) {
            (AddressKind::BroadcastShallConfirm, _) => BroadcastState::UntilConfirmed,
            (_, BroadcastState::Clear) => BroadcastState::ReportOnce,
            (_, state) => state,
        };
        if let Err(e) = frag.objects().validate() {
            tracing::debug!(error = %e, "malformed broadcast request");
            self.stats.malformed_requests += 1;
            return;
        }
        tracing::debug!(function = %frag.function, "broadcast request");
        match frag.function {
            FunctionCode::Write => self.respond_write(now, frag, false),
            FunctionCode::DirectOperateNr => self.respond_controls(now, raw, false),
            FunctionCode::ImmedFreezeNr | FunctionCode::FreezeClearNr => {
                self.respond_freeze(now, frag, false)
            }
            FunctionCode::RecordCurrentTime if frag.body.is_empty() => {
                self.record = Some((frag.control.seq, now.instant));
            }
            FunctionCode::EnableUnsolicited | FunctionCode::DisableUnsolicited => {
                self.respond_unsolicited_control(now, frag, false)
            }
            f => tracing::debug!(function = %f, "broadcast ignored"),
        }
    }

    /// A CONFIRM: of the unsolicited response (UNS=1) or of the solicited one.
    fn on_confirm(&mut self, now: &Now, c: AppControl) {
        self.stats.confirms += 1;
        self.history = History::Empty;
        if c.uns {
            match self.unsol.on_confirm(c.seq) {
                Some(events) => {
                    tracing::debug!(seq = c.seq, "unsolicited response confirmed");
                    if events {
                        self.db.events.remove_written();
                    }
                    if std::mem::take(&mut self.unsol.carries_broadcast) {
                        self.broadcast = BroadcastState::Clear;
                    }
                    if std::mem::take(&mut self.deferred_read) {
                        self.respond_read(now);
                    }
                }
                None => tracing::debug!(seq = c.seq, "unexpected unsolicited confirm ignored"),
            }
            return;
        }
        match self.solicited {
            SolicitedState::ConfirmWait {
                seq,
                events,
                broadcast,
                next,
                ..
            } if seq == c.seq => {
                tracing::debug!(seq, "response confirmed");
                if events {
                    self.db.events.remove_written();
                }
                if broadcast {
                    self.broadcast = BroadcastState::Clear;
                }
                self.solicited = SolicitedState::Idle;
                if let Some(p) = next {
                    self.write_read_fragment(now, (seq + 1) & 0x0F, false, p);
                }
            }
            _ => tracing::debug!(seq = c.seq, "unexpected confirm ignored"),
        }
    }
}

impl Session for OutstationSession {
    fn local_address(&self) -> u16 {
        self.config.local_address
    }

    fn remote_address(&self) -> u16 {
        self.config.master_address
    }

    fn is_master(&self) -> bool {
        false
    }

    fn on_fragment(&mut self, now: &Now, source: u16, destination: AddressKind, fragment: &[u8]) {
        if source != self.config.master_address || destination == AddressKind::Reserved {
            self.stats.ignored_fragments += 1;
            tracing::debug!(source, "fragment from an unexpected source ignored");
            return;
        }
        if fragment.len() > self.config.max_rx_fragment {
            self.stats.malformed_requests += 1;
            tracing::debug!(
                len = fragment.len(),
                "request longer than the receive limit"
            );
            return;
        }
        let broadcast = destination.is_broadcast();
        let frag = match Fragment::parse(fragment) {
            Ok(f) => f,
            Err(e) => {
                self.stats.malformed_requests += 1;
                tracing::debug!(error = %e, "malformed request");
                let c = fragment.first().map(|&b| AppControl::from_byte(b));
                if let Some(c) = c.filter(|c| c.fir && c.fin && !c.con && !c.uns) {
                    if e.kind == AppErrorKind::UnknownFunction && !broadcast {
                        self.stats.requests += 1;
                        self.abandon_solicited();
                        self.select.cancel();
                        self.record = None;
                        self.history = History::Empty;
                        self.deferred_read = false;
                        self.respond_null(now, c.seq, Iin::NO_FUNC_CODE_SUPPORT);
                    }
                }
                return;
            }
        };
        if frag.function.is_response() {
            self.stats.ignored_fragments += 1;
            return;
        }
        let c = frag.control;
        let is_confirm = frag.function == FunctionCode::Confirm;
        if !c.fir || !c.fin || c.con || (c.uns && !is_confirm) {
            self.stats.malformed_requests += 1;
            tracing::debug!(
                control = c.to_byte(),
                "request with invalid control bits ignored"
            );
            return;
        }
        if is_confirm {
            if !broadcast {
                self.on_confirm(now, c);
            }
            return;
        }
        self.stats.requests += 1;
        if let AddressKind::BroadcastDontConfirm
        | AddressKind::BroadcastShallConfirm
        | AddressKind::BroadcastOptionalConfirm = destination
        {
            self.on_broadcast(now, destination, &frag, fragment);
        } else {
            self.on_request(now, &frag, fragment);
        }
    }

    fn next_fragment(&mut self, now: &Now, out: &mut [u8]) -> Option<usize> {
        if self.tx_ready {
            self.tx_ready = false;
            let src = self.tx.get(..self.tx_len)?;
            let Some(dst) = out.get_mut(..src.len()) else {
                tracing::warn!(len = src.len(), "transmit buffer smaller than the response");
                return None;
            };
            dst.copy_from_slice(src);
            self.stats.responses += 1;
            return Some(src.len());
        }
        if !self.online || !matches!(self.solicited, SolicitedState::Idle) {
            return None;
        }
        self.next_unsolicited(now, out)
    }

    fn deadline(&self) -> Option<Instant> {
        let solicited = match self.solicited {
            SolicitedState::ConfirmWait { deadline, .. } => Some(deadline),
            SolicitedState::Idle => None,
        };
        [
            solicited,
            self.unsol.deadline(),
            self.held.map(|h| h.deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timer(&mut self, now: &Now) {
        self.expire_held(now);
        if let SolicitedState::ConfirmWait { deadline, seq, .. } = self.solicited {
            if now.instant >= deadline {
                self.stats.confirm_timeouts += 1;
                tracing::debug!(seq, "no confirm of the solicited response");
                self.abandon_solicited();
            }
        }
        if self.unsol.deadline().is_some_and(|d| now.instant >= d) {
            self.stats.confirm_timeouts += 1;
            tracing::debug!(
                seq = self.unsol.seq,
                "no confirm of the unsolicited response"
            );
            if self.unsol.on_timeout(now.instant, self.deferred_read)
                == TimeoutOutcome::ReleaseEvents
            {
                self.db.events.unselect_all();
                self.unsol.carries_broadcast = false;
            }
            if self.deferred_read && !self.unsol.awaiting_confirm() {
                self.deferred_read = false;
                self.respond_read(now);
            }
        }
    }

    fn on_link_up(&mut self, _now: &Now) {
        tracing::info!(local = self.config.local_address, "outstation link up");
        self.online = true;
    }

    fn on_link_down(&mut self, _now: &Now) {
        tracing::info!(local = self.config.local_address, "outstation link down");
        self.online = false;
        self.tx_ready = false;
        self.abandon_solicited();
        self.select.cancel();
        self.record = None;
        self.deferred_read = false;
        self.history = History::Empty;
        if self.unsol.on_link_down() == TimeoutOutcome::ReleaseEvents {
            self.db.events.unselect_all();
        }
        self.unsol.carries_broadcast = false;
    }
}
