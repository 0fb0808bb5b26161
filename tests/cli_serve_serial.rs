#![cfg(feature = "cli")]
//! `rdnp3 serve` on a serial port: the simulator opens the slave end of one pseudo-terminal by
//! path, the library's master the slave end of another, and a thread here copies bytes between
//! their master ends (a null modem).

mod util;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rdnp3::stack::master::MasterConfig;
use rdnp3::stack::outstation::PointType;
use rdnp3::SerialSettings;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use util::*;

/// A raw pseudo-terminal: the master end for the null modem, the slave end's path for a port.
struct Pty {
    master: OwnedFd,
    _slave: OwnedFd,
    path: String,
}

impl Pty {
    fn open() -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let mut termios = tcgetattr(&pty.slave).expect("tcgetattr");
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).expect("tcsetattr");
        fcntl(pty.master.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
        let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
        Pty {
            master: pty.master,
            _slave: pty.slave,
            path: path.to_string_lossy().into_owned(),
        }
    }
}

/// Copies bytes between the two master ends until `stop`.
fn null_modem(a: Pty, b: Pty, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let mut fds = [
                PollFd::new(a.master.as_fd(), PollFlags::POLLIN),
                PollFd::new(b.master.as_fd(), PollFlags::POLLIN),
            ];
            if nix::poll::poll(&mut fds, 20u16).unwrap_or(0) <= 0 {
                continue;
            }
            let ready = fds.map(|f| f.revents().is_some_and(|r| !r.is_empty()));
            for (i, (from, to)) in [(&a, &b), (&b, &a)].into_iter().enumerate() {
                if !ready[i] {
                    continue;
                }
                if let Ok(n @ 1..) = nix::unistd::read(from.master.as_raw_fd(), &mut buf) {
                    let mut bytes = &buf[..n];
                    while let Ok(k @ 1..) = nix::unistd::write(&to.master, bytes) {
                        bytes = &bytes[k..];
                        if bytes.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
    })
}

#[test]
fn a_master_polls_the_simulator_across_a_null_modem() {
    let (simulator_port, master_port) = (Pty::open(), Pty::open());
    let dir = std::env::temp_dir().join(format!("rdnp3-cli-serve-serial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("serial.toml");
    std::fs::write(
        &config,
        format!(
            "[[outstation]]\nname = \"line-1\"\nserial = \"{}\"\nbaud = 19200\naddress = 7\n\n\
             [[outstation.point]]\ntype = \"analog\"\nindex = 0\ncount = 2\nvalue = -4.25\n",
            simulator_port.path
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdnp3"))
        .args(["serve", "--seconds", "60", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(
        (ready["serial"].as_str(), ready["baud"].as_u64()),
        (Some(simulator_port.path.as_str()), Some(19200))
    );
    let path = master_port.path.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let modem = null_modem(simulator_port, master_port, stop.clone());

    let manager = manager();
    let channel = manager
        .add_serial(
            channel_config("master"),
            SerialSettings::new(path.as_str(), 19200),
            None,
        )
        .expect("serial channel");
    let recorder = Recorder::default();
    let master = channel
        .add_master(
            MasterConfig::default().with_outstation_address(7),
            recorder.handler(),
        )
        .expect("master added");
    wait_startup(&master);
    let analogs: Vec<(u16, Val)> = recorder
        .statics()
        .into_iter()
        .filter(|m| m.kind == PointType::AnalogInput)
        .map(|m| (m.index, m.value))
        .collect();
    assert_eq!(analogs, [(0, Val::Analog(-4.25)), (1, Val::Analog(-4.25))]);
    manager.shutdown();
    let _ = child.kill();
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    let _ = modem.join();
    let _ = std::fs::remove_dir_all(&dir);
}
