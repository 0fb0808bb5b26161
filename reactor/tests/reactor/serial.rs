//! Serial: a pseudo-terminal pair driven through the reactor, one end opened and configured
//! with `serialport` at several baud settings, bytes verified both ways.

use std::os::fd::OwnedFd;

use nix::pty::openpty;
use rdnp3_reactor::{completion, Actor, Backend, Context, Promise, SourceId};

use crate::util::{self, Rng};

const BYTES: usize = 16 * 1024;

/// Owns both ends; sends a pattern each way and checks what arrives at the other end.
struct PtyLoop {
    port: Option<serialport::TTYPort>,
    master: Option<OwnedFd>,
    ends: Option<(SourceId, SourceId)>,
    to_port: Vec<u8>,
    to_master: Vec<u8>,
    sent: [usize; 2],
    got_at_port: Vec<u8>,
    got_at_master: Vec<u8>,
    done: Option<Promise<(Vec<u8>, Vec<u8>)>>,
}

impl PtyLoop {
    fn pump(&mut self, cx: &mut Context<'_, ()>) {
        let Some((port, master)) = self.ends else {
            return;
        };
        // Send in 256-byte pieces so neither side's tty buffer ever needs to hold it all.
        for (dir, (source, data)) in [(port, &self.to_master), (master, &self.to_port)]
            .into_iter()
            .enumerate()
        {
            while self.sent[dir] < data.len() {
                let end = (self.sent[dir] + 256).min(data.len());
                if cx.send(source, &data[self.sent[dir]..end]).is_err() {
                    break;
                }
                self.sent[dir] = end;
            }
        }
    }

    fn check_done(&mut self, cx: &mut Context<'_, ()>) {
        if self.got_at_port.len() >= BYTES && self.got_at_master.len() >= BYTES {
            if let Some(done) = self.done.take() {
                done.complete((
                    std::mem::take(&mut self.got_at_port),
                    std::mem::take(&mut self.got_at_master),
                ));
            }
            cx.stop();
        }
    }
}

impl Actor for PtyLoop {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        let port = cx
            .adopt_serial(self.port.take().expect("port"))
            .expect("adopt serial");
        let master = cx
            .adopt_fd(self.master.take().expect("master"))
            .expect("adopt master");
        self.ends = Some((port, master));
        self.pump(cx);
    }

    fn on_data(&mut self, cx: &mut Context<'_, ()>, source: SourceId, data: &[u8]) {
        let Some((port, _)) = self.ends else { return };
        if source == port {
            self.got_at_port.extend_from_slice(data);
        } else {
            self.got_at_master.extend_from_slice(data);
        }
        self.check_done(cx);
    }

    fn on_writable(&mut self, cx: &mut Context<'_, ()>, _: SourceId) {
        self.pump(cx);
    }
}

pub fn bytes_cross_a_pseudo_terminal_both_ways_at_several_baud_rates(backend: Backend) {
    let pool = util::pool(backend, 1);
    for (i, baud) in [9600u32, 115_200, 921_600].into_iter().enumerate() {
        let pty = openpty(None, None).expect("openpty");
        let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
        let port = serialport::new(path.to_string_lossy(), baud)
            .timeout(std::time::Duration::from_millis(10))
            .open_native()
            .expect("open the pty's slave end as a serial port");
        drop(pty.slave);
        let mut rng = Rng::new(100 + i as u64);
        let mut to_port = vec![0; BYTES];
        let mut to_master = vec![0; BYTES];
        rng.fill(&mut to_port);
        rng.fill(&mut to_master);
        let (promise, done) = completion();
        pool.spawn(PtyLoop {
            port: Some(port),
            master: Some(pty.master),
            ends: None,
            to_port: to_port.clone(),
            to_master: to_master.clone(),
            sent: [0, 0],
            got_at_port: Vec::new(),
            got_at_master: Vec::new(),
            done: Some(promise),
        })
        .expect("spawn");
        let (at_port, at_master) = util::wait(done);
        assert!(
            at_port == to_port,
            "bytes to the serial port differ at {baud} baud"
        );
        assert!(
            at_master == to_master,
            "bytes from the serial port differ at {baud} baud"
        );
    }
    pool.shutdown();
}
