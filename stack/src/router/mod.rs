//! The DNP3 side of a channel, without I/O: [`Router`] takes bytes in, checks link frames and
//! routes them by address to the sessions it carries (multi-drop), answers the link layer
//! (through each session's [`SecondaryLinkState`]), runs the [`KeepAlive`], and segments and
//! frames every session's fragments into one output buffer. The I/O crate only moves bytes and
//! timers, so a router is also what tests drive when they wire a master to an outstation.

use crate::link::{
    format_frame, AddressKind, KeepAlive, KeepAliveAction, LinkErrorKind, LinkFrame, LinkFunction,
    LinkHeader, LinkParser, SecondaryLinkState, HEADER_SIZE,
};
use crate::master::MasterSession;
use crate::outstation::OutstationSession;
use crate::session::{Now, Session};
use crate::transport::{Reassembler, Segmenter};
use decode::log_fragment;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod decode;
mod error;
mod flood;
mod scratch;
mod stats;
#[cfg(test)]
mod tests;

pub use decode::DecodeLevel;
pub use error::AddSessionError;
pub use stats::{ChannelCounters, ChannelStats};

/// Link-layer replies queued at most (ACK, LINK_STATUS …); more are dropped.
const MAX_LINK_REPLIES: usize = 16;

/// A session of either role, owned by its channel.
pub enum SessionKind {
    /// A master association.
    Master(Box<MasterSession>),
    /// An outstation.
    Outstation(Box<OutstationSession>),
}

impl SessionKind {
    fn session(&mut self) -> &mut dyn Session {
        match self {
            SessionKind::Master(m) => m.as_mut(),
            SessionKind::Outstation(o) => o.as_mut(),
        }
    }

    fn session_ref(&self) -> &dyn Session {
        match self {
            SessionKind::Master(m) => m.as_ref(),
            SessionKind::Outstation(o) => o.as_ref(),
        }
    }

    fn is_busy_master(&self) -> bool {
        matches!(self, SessionKind::Master(m) if m.is_busy())
    }

    fn max_tx_fragment(&self) -> usize {
        match self {
            SessionKind::Master(m) => m.config().max_tx_fragment,
            SessionKind::Outstation(o) => o.config().max_tx_fragment,
        }
    }

    fn max_rx_fragment(&self) -> usize {
        match self {
            SessionKind::Master(m) => m.config().max_rx_fragment,
            SessionKind::Outstation(o) => o.config().max_rx_fragment,
        }
    }
}

struct Slot {
    id: u32,
    kind: SessionKind,
    rx: Reassembler,
    tx: Segmenter,
    /// Reset state and expected FCB of link-confirmed data (IEEE 1815-2012, clause 9).
    link: SecondaryLinkState,
    /// The session's log span (its local and remote link addresses), entered for its work.
    span: tracing::Span,
}

impl Slot {
    /// Runs `f` on the session inside its log span.
    fn with_session<R>(&mut self, f: impl FnOnce(&mut dyn Session) -> R) -> R {
        let _entered = self.span.enter();
        f(self.kind.session())
    }
}

/// The sans-I/O heart of a channel: the sessions it carries, the link parser, link-layer
/// replies and the keep-alive. The caller passes bytes and time in and takes bytes out.
pub struct Router {
    name: Arc<str>,
    slots: Vec<Slot>,
    next_id: u32,
    parser: LinkParser,
    counters: Arc<ChannelCounters>,
    decode: DecodeLevel,
    keep_alive: KeepAlive,
    open: bool,
    link_replies: VecDeque<LinkHeader>,
    /// Half-duplex line (serial): one master request on the line at a time.
    half_duplex: bool,
    /// Half-duplex: the slot offered the line first, so the masters take turns.
    turn: usize,
    /// Unusable input on the current connection.
    flood: flood::FloodGuard,
}

/// What a timer expiry asks of the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerOutcome {
    /// Nothing special.
    Continue,
    /// A keep-alive went unanswered: the connection should be closed.
    KeepAliveFailed,
}

impl Router {
    /// A router with no sessions, closed. `keep_alive` is the silence after which
    /// REQUEST_LINK_STATUS is sent (`None`: never), `link_timeout` how long its answer is
    /// awaited before [`TimerOutcome::KeepAliveFailed`].
    pub fn new(
        name: Arc<str>,
        counters: Arc<ChannelCounters>,
        decode: DecodeLevel,
        keep_alive: Option<Duration>,
        link_timeout: Duration,
    ) -> Self {
        Router {
            name,
            slots: Vec::new(),
            next_id: 1,
            parser: LinkParser::new(),
            counters,
            decode,
            keep_alive: KeepAlive::new(keep_alive, link_timeout),
            open: false,
            link_replies: VecDeque::new(),
            half_duplex: false,
            turn: 0,
            flood: flood::FloodGuard::default(),
        }
    }

    /// Unusable input (bytes that are not a valid frame, valid frames addressed to no
    /// session) a connection may bring per second before [`Router::flooded`] says to drop it;
    /// `None`: no limit.
    pub fn set_unusable_limit(&mut self, bytes_per_second: Option<u64>) {
        self.flood.set_limit(bytes_per_second);
    }

    /// The current connection brought more unusable input than the limit allows within a
    /// second: close it (and back off). Cleared when a connection opens.
    pub fn flooded(&self) -> bool {
        self.flood.is_flooded()
    }

    /// A valid frame reached a session since the connection opened.
    pub fn had_useful_input(&self) -> bool {
        self.flood.had_useful_input()
    }

    /// Marks the line half-duplex (serial, multi-drop): a master session starts a request only
    /// while no other master session of the channel has one in flight, and the masters take
    /// turns; confirms and outstation responses always go. Off by default (TCP).
    pub fn set_half_duplex(&mut self, half_duplex: bool) {
        self.half_duplex = half_duplex;
        self.turn = 0;
    }

    /// Half-duplex only: the slot whose master has the line, if any.
    fn line_holder(&self) -> Option<usize> {
        if !self.half_duplex {
            return None;
        }
        self.slots.iter().position(|s| match &s.kind {
            SessionKind::Master(m) => m.is_busy(),
            SessionKind::Outstation(_) => false,
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<ChannelCounters> {
        &self.counters
    }

    /// Adds a session; it starts at once if the connection is open. Returns its id.
    pub fn add(&mut self, now: &Now, kind: SessionKind) -> Result<u32, AddSessionError> {
        let s = kind.session_ref();
        let (local, remote) = (s.local_address(), s.remote_address());
        for a in [local, remote] {
            if AddressKind::of(a) != AddressKind::Station {
                return Err(AddSessionError::InvalidAddress(a));
            }
        }
        let clash = self.slots.iter().any(|slot| {
            let o = slot.kind.session_ref();
            o.local_address() == local && o.remote_address() == remote
        });
        if clash {
            return Err(AddSessionError::DuplicateAddress { local, remote });
        }
        let id = self.next_id;
        self.next_id += 1;
        let span = tracing::info_span!("session", local, remote);
        let mut slot = Slot {
            id,
            rx: Reassembler::new(kind.max_rx_fragment()),
            tx: Segmenter::new(),
            kind,
            link: SecondaryLinkState::new(),
            span,
        };
        if self.open {
            slot.with_session(|s| s.on_link_up(now));
        }
        // Most channels carry one session: no room for more until it is needed.
        self.slots.reserve_exact(1);
        self.slots.push(slot);
        Ok(id)
    }

    /// Removes a session; it sees the link go down first.
    pub fn remove(&mut self, now: &Now, id: u32) -> Option<SessionKind> {
        let i = self.slots.iter().position(|s| s.id == id)?;
        let mut slot = self.slots.remove(i);
        slot.with_session(|s| s.on_link_down(now));
        Some(slot.kind)
    }

    /// The session with this id.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut SessionKind> {
        self.slots
            .iter_mut()
            .find(|s| s.id == id)
            .map(|s| &mut s.kind)
    }

    /// The id of the first session, if any.
    pub fn first_id(&self) -> Option<u32> {
        self.slots.first().map(|s| s.id)
    }

    /// How many sessions the channel carries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the channel carries no session.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// True while the connection is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Holds (or lets go) the startup sequence of every master session (see
    /// [`MasterSession::hold_startup`](crate::master::MasterSession::hold_startup)).
    pub fn hold_startup(&mut self, hold: bool) {
        for slot in &mut self.slots {
            if let SessionKind::Master(m) = &mut slot.kind {
                m.hold_startup(hold);
            }
        }
    }

    /// True while a master session's startup sequence is under way.
    pub fn is_starting(&self) -> bool {
        self.slots
            .iter()
            .any(|s| matches!(&s.kind, SessionKind::Master(m) if m.is_starting()))
    }

    /// The connection opened: sessions start talking.
    pub fn on_open(&mut self, now: &Now) {
        self.open = true;
        self.parser.reset();
        self.flood.reset();
        self.keep_alive.on_open(now.instant);
        self.link_replies.clear();
        for slot in &mut self.slots {
            slot.rx.reset();
            slot.link.on_open();
            slot.with_session(|s| s.on_link_up(now));
        }
    }

    /// The connection closed.
    pub fn on_close(&mut self, now: &Now) {
        if !self.open {
            return;
        }
        self.open = false;
        self.keep_alive.on_close();
        self.link_replies.clear();
        for slot in &mut self.slots {
            slot.with_session(|s| s.on_link_down(now));
        }
    }

    /// Bytes received on the connection.
    pub fn on_bytes(&mut self, now: &Now, data: &[u8]) {
        ChannelCounters::add(&self.counters.bytes_rx, data.len() as u64);
        let discarded = self.parser.stats().discarded_bytes;
        let Router {
            parser,
            slots,
            counters,
            link_replies,
            decode,
            name,
            keep_alive,
            flood,
            ..
        } = self;
        parser.feed(data, |event| match event {
            Ok(frame) => {
                ChannelCounters::add(&counters.frames_rx, 1);
                keep_alive.on_frame_received(now.instant);
                if *decode >= DecodeLevel::Headers {
                    tracing::debug!(channel = %name, "RX {:?} {} -> {} ({} octets)",
                        frame.header.control.function, frame.header.source, frame.header.destination, frame.user_data.len());
                }
                if route(now, slots, counters, link_replies, *decode, name, &frame) {
                    flood.useful();
                } else {
                    flood.unusable(now.instant, flood::wire_len(frame.user_data.len()));
                }
            }
            Err(e) => {
                ChannelCounters::add(&counters.link_errors, 1);
                if matches!(e.kind, LinkErrorKind::HeaderCrc | LinkErrorKind::BodyCrc) {
                    ChannelCounters::add(&counters.crc_errors, 1);
                }
                // Per frame and caused by the peer: logged at debug so a hostile stream cannot
                // flood the log (and stall the executor); the counters keep the totals.
                tracing::debug!(channel = %name, "{e}");
            }
        });
        let discarded = self
            .parser
            .stats()
            .discarded_bytes
            .saturating_sub(discarded);
        self.flood.unusable(now.instant, discarded);
    }

    /// Appends what the sessions and the link layer want to send to `out`, using at most
    /// `room` bytes; returns how many were appended.
    pub fn poll_send(&mut self, now: &Now, out: &mut Vec<u8>, room: usize) -> usize {
        let start = out.len();
        if !self.open {
            return 0;
        }
        while let Some(h) = self.link_replies.front() {
            if room - (out.len() - start) < HEADER_SIZE {
                break;
            }
            let at = out.len();
            out.resize(at + HEADER_SIZE, 0);
            if format_frame(h, &[], &mut out[at..]).is_err() {
                out.truncate(at);
            } else {
                ChannelCounters::add(&self.counters.frames_tx, 1);
            }
            self.link_replies.pop_front();
        }
        // Fragments are written into the executor thread's scratch buffer, not one per channel.
        let mut fragment = scratch::take();
        loop {
            let mut progressed = false;
            let count = self.slots.len();
            // `turn` stays 0 unless half-duplex: full-duplex order is the slot order.
            let first = self.turn;
            for k in 0..count {
                let i = (first + k) % count;
                let holder = self.line_holder();
                let slot = &mut self.slots[i];
                if let (Some(h), SessionKind::Master(m)) = (holder, &slot.kind) {
                    if h != i && !m.confirm_pending() {
                        continue;
                    }
                }
                let max_tx = slot.kind.max_tx_fragment();
                if room - (out.len() - start) < Segmenter::wire_size(max_tx) {
                    continue;
                }
                if fragment.len() < max_tx {
                    fragment.resize(max_tx, 0);
                }
                let frag = &mut fragment[..max_tx];
                let Some(n) = slot.with_session(|s| s.next_fragment(now, frag)) else {
                    continue;
                };
                let s = slot.kind.session_ref();
                let header = LinkHeader::new(
                    s.is_master(),
                    LinkFunction::UnconfirmedUserData,
                    s.remote_address(),
                    s.local_address(),
                );
                if self.decode >= DecodeLevel::Headers {
                    log_fragment(&self.name, "TX", &frag[..n], self.decode);
                }
                let at = out.len();
                out.resize(at + Segmenter::wire_size(n), 0);
                match slot.tx.write_frames(&header, &frag[..n], &mut out[at..]) {
                    Ok(w) => {
                        out.truncate(at + w);
                        if holder.is_none() && self.half_duplex && slot.kind.is_busy_master() {
                            // This master took the line: the next one is offered it first.
                            self.turn = (i + 1) % count;
                        }
                        ChannelCounters::add(&self.counters.fragments_tx, 1);
                        ChannelCounters::add(
                            &self.counters.frames_tx,
                            Segmenter::segment_count(n) as u64,
                        );
                        progressed = true;
                    }
                    Err(_) => out.truncate(at),
                }
            }
            if !progressed {
                break;
            }
        }
        scratch::give_back(fragment);
        let n = out.len() - start;
        if n > 0 && self.half_duplex {
            self.keep_alive.on_frame_sent(now.instant);
        }
        ChannelCounters::add(&self.counters.bytes_tx, n as u64);
        n
    }

    /// The earliest moment `on_timer` must run.
    pub fn deadline(&self) -> Option<Instant> {
        if !self.open {
            return None;
        }
        self.slots
            .iter()
            .filter_map(|s| s.kind.session_ref().deadline())
            .chain(self.keep_alive.deadline())
            .min()
    }

    /// Runs due session timers and the keep-alive.
    pub fn on_timer(&mut self, now: &Now) -> TimerOutcome {
        for slot in &mut self.slots {
            if slot
                .kind
                .session_ref()
                .deadline()
                .is_some_and(|d| d <= now.instant)
            {
                slot.with_session(|s| s.on_timer(now));
            }
        }
        if !self.open {
            return TimerOutcome::Continue;
        }
        // Half-duplex: while a master's request is on the line, its response is the proof of
        // life; no REQUEST_LINK_STATUS goes out and a missing answer to one sent earlier
        // does not close the line (the request has its own response timeout).
        let request_on_line = self.line_holder().is_some();
        match self.keep_alive.on_timer(now.instant) {
            KeepAliveAction::Failed | KeepAliveAction::SendRequestLinkStatus if request_on_line => {
                tracing::debug!(channel = %self.name, "keep-alive skipped: a request is on the line");
            }
            KeepAliveAction::Failed => {
                ChannelCounters::add(&self.counters.keep_alive_failures, 1);
                tracing::warn!(channel = %self.name, "keep-alive unanswered");
                return TimerOutcome::KeepAliveFailed;
            }
            KeepAliveAction::SendRequestLinkStatus => {
                // Sent on behalf of the first session; with none, there is no one to ask.
                if let Some(slot) = self.slots.first() {
                    let s = slot.kind.session_ref();
                    let h = LinkHeader::new(
                        s.is_master(),
                        LinkFunction::RequestLinkStatus,
                        s.remote_address(),
                        s.local_address(),
                    );
                    queue_reply(&mut self.link_replies, h);
                    self.keep_alive.on_request_sent(now.instant);
                }
            }
            KeepAliveAction::Idle => {}
        }
        TimerOutcome::Continue
    }
}

fn queue_reply(q: &mut VecDeque<LinkHeader>, h: LinkHeader) {
    if q.len() < MAX_LINK_REPLIES {
        q.push_back(h);
    }
}

/// Routes one valid frame to the session(s) it is for: by destination (broadcasts reach every
/// outstation) and source address, then through each session's secondary link state
/// (IEEE 1815-2012, clause 9).
fn route(
    now: &Now,
    slots: &mut [Slot],
    counters: &ChannelCounters,
    replies: &mut VecDeque<LinkHeader>,
    decode: DecodeLevel,
    name: &str,
    frame: &LinkFrame<'_>,
) -> bool {
    let h = frame.header;
    let dest_kind = AddressKind::of(h.destination);
    let mut delivered = false;
    for slot in slots.iter_mut() {
        let s = slot.kind.session_ref();
        let is_master = s.is_master();
        let for_us = h.destination == s.local_address() || (!is_master && dest_kind.is_broadcast());
        // A frame's DIR is its sender's role: it must be the opposite of ours.
        if !for_us || h.source != s.remote_address() || h.control.dir == is_master {
            continue;
        }
        delivered = true;
        let local = s.local_address();
        let action = slot.link.on_frame(&h, dest_kind.is_broadcast());
        if let Some(reply) = action.reply {
            let header = LinkHeader::new(is_master, reply.function(), h.source, local);
            queue_reply(replies, header);
        }
        if !action.deliver {
            continue;
        }
        let Slot { rx, kind, span, .. } = slot;
        match rx.push(frame.user_data, h.source, h.destination) {
            Ok(Some(fragment)) => {
                ChannelCounters::add(&counters.fragments_rx, 1);
                if decode >= DecodeLevel::Headers {
                    log_fragment(name, "RX", fragment, decode);
                }
                let _entered = span.enter();
                kind.session()
                    .on_fragment(now, h.source, dest_kind, fragment);
                rx.release();
            }
            Ok(None) => {}
            Err(e) => {
                ChannelCounters::add(&counters.transport_errors, 1);
                tracing::debug!(channel = %name, "{e}");
            }
        }
    }
    if !delivered {
        ChannelCounters::add(&counters.dropped_frames, 1);
        tracing::debug!(channel = %name, "frame {} -> {} ({:?}) dropped: no session for it", h.source, h.destination, h.control.function);
    }
    delivered
}
