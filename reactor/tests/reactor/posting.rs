//! Posting and completions: order per sender, bounded mailboxes, closed actors, and
//! replies waited on from a plain thread or awaited as a future.

use std::sync::mpsc;
use std::thread;

use rdnp3_reactor::{completion, Actor, Backend, Context, Pool, PostError, Promise, WaitError};

use crate::util::{self, block_on};

enum Msg {
    Seq {
        sender: usize,
        seq: u64,
    },
    Report(Promise<(Vec<u64>, bool)>),
    Block {
        entered: mpsc::Sender<()>,
        release: mpsc::Receiver<()>,
    },
    Echo(u64, Promise<u64>),
    Hold(Promise<u64>),
    /// Waits (blocking) on a completion inside the callback, and reports what the wait said.
    WaitInside(Promise<Result<u64, WaitError>>),
    Stop,
}

/// Records per-sender sequence numbers and answers requests.
struct Sink {
    last: Vec<u64>,
    in_order: bool,
    held: Vec<Promise<u64>>,
    stopped: Option<Promise<()>>,
}

impl Sink {
    fn new(senders: usize) -> Self {
        Sink {
            last: vec![0; senders],
            in_order: true,
            held: Vec::new(),
            stopped: None,
        }
    }
}

impl Actor for Sink {
    type Message = Msg;

    fn on_message(&mut self, cx: &mut Context<'_, Msg>, msg: Msg) {
        match msg {
            Msg::Seq { sender, seq } => {
                if seq != self.last[sender] + 1 {
                    self.in_order = false;
                }
                self.last[sender] = seq;
            }
            Msg::Report(reply) => reply.complete((self.last.clone(), self.in_order)),
            Msg::Block { entered, release } => {
                let _ = entered.send(());
                let _ = release.recv();
            }
            Msg::Echo(n, reply) => reply.complete(n),
            Msg::Hold(reply) => self.held.push(reply),
            Msg::WaitInside(report) => {
                let (_never, pending) = completion::<u64>();
                report.complete(pending.wait());
            }
            Msg::Stop => cx.stop(),
        }
    }

    fn on_stop(&mut self) {
        if let Some(stopped) = self.stopped.take() {
            stopped.complete(());
        }
    }
}

fn post_retrying(handle: &rdnp3_reactor::Handle<Msg>, mut msg: Msg) {
    loop {
        match handle.post(msg) {
            Ok(()) => return,
            Err(PostError::Full(m)) => {
                msg = m;
                thread::yield_now();
            }
            Err(e) => panic!("post failed: {e}"),
        }
    }
}

pub fn messages_from_each_thread_arrive_in_order(backend: Backend) {
    const SENDERS: usize = 4;
    const EACH: u64 = 20_000;
    let pool = Pool::builder()
        .backend(backend)
        .threads(2)
        .mailbox_capacity(256)
        .build()
        .expect("pool");
    let sink = pool.spawn(Sink::new(SENDERS)).expect("spawn");
    let threads: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let sink = sink.clone();
            thread::spawn(move || {
                for seq in 1..=EACH {
                    post_retrying(&sink, Msg::Seq { sender, seq });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("sender");
    }
    let (reply, done) = completion();
    post_retrying(&sink, Msg::Report(reply));
    let (last, in_order) = util::wait(done);
    assert!(in_order, "a sender's messages arrived out of order");
    assert_eq!(last, vec![EACH; SENDERS]);
    pool.shutdown();
}

pub fn a_full_mailbox_refuses_posts_with_full(backend: Backend) {
    let pool = Pool::builder()
        .backend(backend)
        .threads(1)
        .mailbox_capacity(8)
        .build()
        .expect("pool");
    let sink = pool.spawn(Sink::new(1)).expect("spawn");
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    sink.post(Msg::Block {
        entered: entered_tx,
        release: release_rx,
    })
    .expect("post");
    entered_rx
        .recv()
        .expect("the actor is blocked in a callback");
    for seq in 1..=8 {
        sink.post(Msg::Seq { sender: 0, seq }).expect("fits");
    }
    assert!(matches!(
        sink.post(Msg::Seq { sender: 0, seq: 9 }),
        Err(PostError::Full(_))
    ));
    release_tx.send(()).expect("release");
    let (reply, done) = completion();
    post_retrying(&sink, Msg::Report(reply));
    assert_eq!(util::wait(done), (vec![8], true));
    pool.shutdown();
}

pub fn a_stopped_channel_refuses_posts_and_cancels_pending_replies(backend: Backend) {
    let pool = util::pool(backend, 1);
    let (stopped, is_stopped) = completion();
    let mut sink = Sink::new(1);
    sink.stopped = Some(stopped);
    let handle = pool.spawn(sink).expect("spawn");
    let (held, held_done) = completion();
    handle.post(Msg::Hold(held)).expect("post");
    handle.post(Msg::Stop).expect("post");
    util::wait(is_stopped);
    assert!(handle.is_closed());
    assert!(matches!(handle.post(Msg::Stop), Err(PostError::Closed(_))));
    assert_eq!(
        held_done.wait(),
        Err(WaitError::Canceled),
        "a reply the actor held is cancelled"
    );
    pool.shutdown();
}

pub fn a_completion_can_be_waited_on_or_awaited(backend: Backend) {
    let pool = util::pool(backend, 2);
    let handle = pool.spawn(Sink::new(1)).expect("spawn");
    let (reply, done) = completion();
    handle.post(Msg::Echo(7, reply)).expect("post");
    assert_eq!(done.wait(), Ok(7));
    let (reply, done) = completion();
    handle.post(Msg::Echo(8, reply)).expect("post");
    assert_eq!(block_on(done), Ok(8));
    let from_thread = thread::spawn(move || {
        let (reply, done) = completion();
        handle.post(Msg::Echo(9, reply)).expect("post");
        block_on(done)
    });
    assert_eq!(from_thread.join().expect("thread"), Ok(9));
    pool.shutdown();
}

pub fn a_blocking_wait_inside_a_callback_returns_an_error_instead_of_deadlocking(backend: Backend) {
    let pool = util::pool(backend, 1);
    let handle = pool.spawn(Sink::new(1)).expect("spawn");
    let (report, done) = completion();
    handle.post(Msg::WaitInside(report)).expect("post");
    assert_eq!(done.wait(), Ok(Err(WaitError::OnExecutor)));
    // The executor is still serving its actors.
    let (reply, done) = completion();
    handle.post(Msg::Echo(5, reply)).expect("post");
    assert_eq!(done.wait(), Ok(5));
    pool.shutdown();
}

/// Posts itself `left` more messages, one from each, recording the turn of each delivery.
struct SelfPoster {
    turns: Vec<u64>,
}

enum Relay {
    Next(u32, Promise<Vec<u64>>),
}

impl Actor for SelfPoster {
    type Message = Relay;

    fn on_message(&mut self, cx: &mut Context<'_, Relay>, msg: Relay) {
        let Relay::Next(left, done) = msg;
        self.turns.push(cx.turn());
        if left == 0 {
            return done.complete(std::mem::take(&mut self.turns));
        }
        if let Err(
            PostError::Full(Relay::Next(_, done)) | PostError::Closed(Relay::Next(_, done)),
        ) = cx.handle().post(Relay::Next(left - 1, done))
        {
            done.complete(Vec::new());
        }
    }
}

pub fn a_message_an_actor_posts_to_itself_arrives_in_a_later_turn(backend: Backend) {
    let pool = Pool::builder()
        .backend(backend)
        .threads(1)
        .build()
        .expect("pool");
    let poster = pool.spawn(SelfPoster { turns: Vec::new() }).expect("spawn");
    let (promise, done) = completion();
    poster
        .post(Relay::Next(5, promise))
        .map_err(|_| "post")
        .expect("posted");
    let turns = done.wait().expect("relayed");
    assert_eq!(turns.len(), 6, "every relay delivered: {turns:?}");
    assert!(
        turns.windows(2).all(|w| w[1] > w[0]),
        "each in a later turn: {turns:?}"
    );
    pool.shutdown();
}
