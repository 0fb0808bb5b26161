//! The router's wiring of the link layer: replies of the secondary link state and the
//! keep-alive go out in its output, and an unanswered keep-alive closes the connection.

use super::*;
use crate::link::{LinkParser, MAX_FRAME_SIZE};
use crate::master::{MasterConfig, NullReadHandler};
use crate::objects::Timestamp;
use crate::outstation::{DatabaseBuilder, DefaultApplication, OutstationConfig, RejectControls};

const MASTER: u16 = 1;
const OUTSTATION: u16 = 1024;

fn start() -> Now {
    Now {
        instant: Instant::now(),
        wall: Timestamp(0),
    }
}

fn router(keep_alive: Option<Duration>) -> Router {
    let counters = Arc::new(ChannelCounters::default());
    Router::new(
        "test".into(),
        counters,
        DecodeLevel::Nothing,
        keep_alive,
        Duration::from_secs(1),
    )
}

/// An open router carrying one outstation that has nothing to say by itself.
fn outstation_router(now: &Now) -> Router {
    let config = OutstationConfig {
        allow_unsolicited: false,
        ..OutstationConfig::default()
    };
    let db = DatabaseBuilder::new().build().expect("an empty database");
    let session = OutstationSession::new(
        config,
        db,
        Box::new(RejectControls),
        Box::new(DefaultApplication),
    );
    let mut r = router(None);
    r.add(now, SessionKind::Outstation(Box::new(session)))
        .expect("a valid address");
    r.on_open(now);
    r
}

/// The bytes of a frame from the master to the outstation.
fn from_master(function: LinkFunction, fcb: bool, user_data: &[u8]) -> Vec<u8> {
    let mut h = LinkHeader::new(true, function, OUTSTATION, MASTER);
    h.control.fcb = fcb;
    let mut buf = [0; MAX_FRAME_SIZE];
    let n = format_frame(&h, user_data, &mut buf).expect("a valid frame");
    buf[..n].to_vec()
}

/// The headers of the frames the router sends now.
fn sent(r: &mut Router, now: &Now) -> Vec<LinkHeader> {
    let mut out = Vec::new();
    r.poll_send(now, &mut out, 64 * 1024);
    let (mut parser, mut data, mut headers) = (LinkParser::new(), &out[..], Vec::new());
    while let Some(frame) = parser.parse(&mut data) {
        headers.push(frame.expect("the router writes valid frames").header);
    }
    headers
}

#[test]
fn link_requests_are_answered_with_ack_and_link_status() {
    let now = start();
    let mut r = outstation_router(&now);
    assert!(sent(&mut r, &now).is_empty());
    r.on_bytes(
        &now,
        &from_master(LinkFunction::ResetLinkStates, false, &[]),
    );
    r.on_bytes(
        &now,
        &from_master(LinkFunction::RequestLinkStatus, false, &[]),
    );
    let ack = LinkHeader::new(false, LinkFunction::Ack, MASTER, OUTSTATION);
    let status = LinkHeader::new(false, LinkFunction::LinkStatus, MASTER, OUTSTATION);
    assert_eq!(sent(&mut r, &now), [ack, status]);
}

#[test]
fn a_repeated_confirmed_frame_is_acked_but_its_fragment_is_delivered_once() {
    let now = start();
    let mut r = outstation_router(&now);
    r.on_bytes(
        &now,
        &from_master(LinkFunction::ResetLinkStates, false, &[]),
    );
    sent(&mut r, &now);
    // Transport FIR|FIN seq 0, then a READ with no objects: the outstation answers it.
    let read = from_master(LinkFunction::ConfirmedUserData, true, &[0xC0, 0xC0, 0x01]);
    r.on_bytes(&now, &read);
    let first = sent(&mut r, &now);
    r.on_bytes(&now, &read);
    let repeat = sent(&mut r, &now);
    let ack = LinkHeader::new(false, LinkFunction::Ack, MASTER, OUTSTATION);
    assert_eq!(first.len(), 2, "ACK and the response: {first:?}");
    assert_eq!(first[0], ack);
    assert_eq!(repeat, [ack], "the repeat is not answered again");
    assert_eq!(r.counters().snapshot().fragments_rx, 1);
}

#[test]
fn an_unanswered_keep_alive_closes_the_connection() {
    let t0 = start();
    let config = MasterConfig {
        startup_integrity: false,
        disable_unsolicited_at_startup: false,
        unsolicited_classes: crate::master::Classes::NONE,
        ..MasterConfig::default()
    };
    let session = MasterSession::new(config, Box::new(NullReadHandler));
    let mut r = router(Some(Duration::from_secs(10)));
    r.add(&t0, SessionKind::Master(Box::new(session)))
        .expect("a valid address");
    r.on_open(&t0);
    assert!(sent(&mut r, &t0).is_empty());
    assert_eq!(r.deadline(), Some(t0.instant + Duration::from_secs(10)));

    let t1 = t0.after(Duration::from_secs(10));
    assert_eq!(r.on_timer(&t1), TimerOutcome::Continue);
    let request = LinkHeader::new(true, LinkFunction::RequestLinkStatus, OUTSTATION, MASTER);
    assert_eq!(sent(&mut r, &t1), [request]);
    assert_eq!(r.deadline(), Some(t1.instant + Duration::from_secs(1)));

    let t2 = t1.after(Duration::from_secs(1));
    assert_eq!(r.on_timer(&t2), TimerOutcome::KeepAliveFailed);
    assert_eq!(r.counters().snapshot().keep_alive_failures, 1);
}

/// An open half-duplex (serial) router carrying one quiet master with a 30 s response
/// timeout; keep-alive after 10 s of silence, answer awaited 1 s.
fn serial_master_router(now: &Now) -> (Router, u32) {
    let config = MasterConfig {
        startup_integrity: false,
        disable_unsolicited_at_startup: false,
        unsolicited_classes: crate::master::Classes::NONE,
        response_timeout: Duration::from_secs(30),
        ..MasterConfig::default()
    };
    let session = MasterSession::new(config, Box::new(NullReadHandler));
    let mut r = router(Some(Duration::from_secs(10)));
    r.set_half_duplex(true);
    let id = r
        .add(now, SessionKind::Master(Box::new(session)))
        .expect("a valid address");
    r.on_open(now);
    (r, id)
}

fn queue_read(r: &mut Router, id: u32) {
    let Some(SessionKind::Master(m)) = r.get_mut(id) else {
        panic!("the master session");
    };
    m.read(
        crate::master::ReadRequest::classes(crate::master::Classes::CLASS1),
        crate::master::Reply::new(|_| {}),
    );
}

#[test]
fn a_serial_keep_alive_waits_while_a_master_request_is_on_the_line() {
    let t0 = start();
    let (mut r, id) = serial_master_router(&t0);
    let t1 = t0.after(Duration::from_secs(9));
    queue_read(&mut r, id);
    assert_eq!(sent(&mut r, &t1).len(), 1, "the READ");
    // Ten seconds of silence since the READ; its response is still awaited.
    let t2 = t1.after(Duration::from_secs(10));
    assert_eq!(r.on_timer(&t2), TimerOutcome::Continue);
    assert!(sent(&mut r, &t2).is_empty(), "no REQUEST_LINK_STATUS");
}

#[test]
fn a_serial_line_stays_open_when_a_keep_alive_goes_unanswered_while_a_response_is_awaited() {
    let t0 = start();
    let (mut r, id) = serial_master_router(&t0);
    let t1 = t0.after(Duration::from_secs(10));
    assert_eq!(r.on_timer(&t1), TimerOutcome::Continue);
    let request = LinkHeader::new(true, LinkFunction::RequestLinkStatus, OUTSTATION, MASTER);
    assert_eq!(sent(&mut r, &t1), [request]);
    // The master polls right after; the outstation is slow to answer.
    let t2 = t1.after(Duration::from_millis(200));
    queue_read(&mut r, id);
    assert_eq!(sent(&mut r, &t2).len(), 1, "the READ");
    let t3 = t1.after(Duration::from_secs(1));
    assert_eq!(r.on_timer(&t3), TimerOutcome::Continue);
    assert_eq!(r.counters().snapshot().keep_alive_failures, 0);
}

/// The bytes of a frame from the outstation to the master.
fn from_outstation(user_data: &[u8]) -> Vec<u8> {
    let h = LinkHeader::new(false, LinkFunction::UnconfirmedUserData, MASTER, OUTSTATION);
    let mut buf = [0; MAX_FRAME_SIZE];
    let n = format_frame(&h, user_data, &mut buf).expect("a valid frame");
    buf[..n].to_vec()
}

/// The application fragments (transport header removed) of the frames the router sends now.
fn sent_fragments(r: &mut Router, now: &Now) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    r.poll_send(now, &mut out, 64 * 1024);
    let (mut parser, mut data, mut fragments) = (LinkParser::new(), &out[..], Vec::new());
    while let Some(frame) = parser.parse(&mut data) {
        let frame = frame.expect("the router writes valid frames");
        fragments.push(frame.user_data.get(1..).unwrap_or_default().to_vec());
    }
    fragments
}

#[test]
fn two_response_fragments_read_off_the_line_together_are_both_confirmed_in_order() {
    let t0 = start();
    let (mut r, id) = serial_master_router(&t0);
    queue_read(&mut r, id);
    assert_eq!(
        sent_fragments(&mut r, &t0),
        [vec![0xC0, 0x01, 0x3C, 0x02, 0x06]]
    );
    // FIR+CON SEQ 0, then FIN+CON SEQ 1, in one read of the line.
    let mut bytes = from_outstation(&[0xC0, 0xA0, 0x81, 0x00, 0x00]);
    bytes.extend(from_outstation(&[0xC1, 0x61, 0x81, 0x00, 0x00]));
    r.on_bytes(&t0, &bytes);
    assert_eq!(
        sent_fragments(&mut r, &t0),
        [vec![0xC0, 0x00], vec![0xC1, 0x00]]
    );
}
