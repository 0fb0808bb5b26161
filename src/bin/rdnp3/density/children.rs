//! `--farms K`: the outstations run in K child processes — this same program re-run with
//! `--role outstations` and a share of the outstations each — so that the master process
//! holds one descriptor per channel. With dial-in the children's outstations connect to the
//! master's listener, each farm with its own run of link addresses. Each child exits when its standard input closes, so the
//! farms end with the master even if it is killed.

use super::args::Peers;
use super::farm::mapped;
use super::report::cpu_seconds;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Child, Command, Stdio};

/// The running child farms.
pub struct Farms {
    children: Vec<Child>,
    /// Where each farm's outstations listen from, and how many it has.
    shares: Vec<(SocketAddrV4, usize)>,
}

/// The arguments this process was started with before the benchmark's own (`density` for
/// `rdnp3 density`, nothing for the example), to re-run it in the same way.
fn command_prefix(own: usize) -> Vec<String> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let keep = all.len().saturating_sub(own);
    all[..keep].to_vec()
}

impl Farms {
    /// Starts `k` farms sharing `n` outstations, and waits until each listens (or has started
    /// dialing in). With `Peers::Connect(base)` farm j listens from `base` moved on by as many
    /// IPv4 addresses as the farms before it fill, every outstation with link address
    /// `outstation`; with `Peers::DialIn(master)` the farms connect to `master` and the link
    /// addresses run on from `outstation`, farm after farm. `own_args` is the number of
    /// arguments this benchmark was given; `extra` are passed on.
    pub fn start(
        k: usize,
        n: usize,
        peers: &Peers,
        outstation: u16,
        own_args: usize,
        extra: &[String],
    ) -> Result<Farms, String> {
        let base = match peers {
            Peers::Connect(base) | Peers::DialIn(base) => *base,
        };
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let prefix = command_prefix(own_args);
        let per_ip = 32768 - usize::from(base.port());
        let largest = n.div_ceil(k);
        let ips_per_farm = largest.div_ceil(per_ip) as u32;
        let mut farms = Farms {
            children: Vec::new(),
            shares: Vec::new(),
        };
        let mut first = outstation;
        for j in 0..k {
            let share = n / k + usize::from(j < n % k);
            let ip = u32::from(*base.ip())
                .checked_add(j as u32 * ips_per_farm)
                .ok_or("the farms' addresses pass 255.255.255.255")?;
            let listen = SocketAddrV4::new(Ipv4Addr::from(ip), base.port());
            let mut command = Command::new(&exe);
            command
                .args(&prefix)
                .args(["--role", "outstations", "--exit-on-stdin-eof"]);
            match peers {
                Peers::Connect(_) => {
                    command.args(["--listen", &listen.to_string()]);
                    command.args(["--outstation-address", &outstation.to_string()]);
                }
                Peers::DialIn(master) => {
                    command.args(["--dial-in", "--connect", &master.to_string()]);
                    command.args(["--outstation-address", &first.to_string()]);
                    first = first.wrapping_add(share as u16);
                }
            }
            command
                .args(["--outstations", &share.to_string()])
                .args(extra)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            let mut child = command
                .spawn()
                .map_err(|e| format!("cannot start farm {j}: {e}"))?;
            let stdout = child.stdout.take();
            farms.children.push(child);
            farms.shares.push((listen, share));
            // The child says "listening:" once every outstation listens ("dialing in:" once
            // its client channels are started); the rest of what it
            // prints is read and dropped so that it never blocks on a full pipe.
            let Some(stdout) = stdout else { continue };
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .any(|l| l.starts_with("listening:") || l.starts_with("dialing in:"));
            if !ready {
                return Err(format!("farm {j} ended before listening"));
            }
            std::thread::spawn(move || lines.for_each(drop));
        }
        Ok(farms)
    }

    /// Every outstation's address, farm after farm.
    pub fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.shares
            .iter()
            .flat_map(|&(base, n)| (0..n).filter_map(move |i| mapped(base, i)))
    }

    /// CPU seconds the farms have used so far.
    pub fn cpu_seconds(&self) -> f64 {
        self.children
            .iter()
            .map(|c| cpu_seconds(&c.id().to_string()))
            .sum()
    }
}

impl Drop for Farms {
    /// Kills the farms and reaps them.
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}
