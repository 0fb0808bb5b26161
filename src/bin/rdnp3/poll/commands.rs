//! The `[[outstation.command]]` controls: one thread sends each when it is due — a one-shot
//! command once its outstation first goes online, a periodic one every period while it is
//! online — and reports each result as a line. It never waits on a completion: it checks them
//! every tick, so one slow outstation does not hold back the others.

use super::config::CommandEntry;
use super::metrics::OutstationMetrics;
use super::output::Output;
use rdnp3::{Command, CommandResult, Completion, Master, TaskError};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often due commands and finished completions are looked for.
const TICK: Duration = Duration::from_millis(50);

/// One configured command and where its schedule stands.
pub struct Scheduled {
    outstation: Arc<OutstationMetrics>,
    master: Master,
    entry: CommandEntry,
    command: Command,
    /// When it is due next (`None`: as soon as the outstation is online).
    next: Option<Instant>,
    pending: Option<Completion<CommandResult>>,
    /// A one-shot command that was answered.
    done: bool,
}

impl Scheduled {
    /// `entry`, sent through `master` to the outstation of `outstation`.
    pub fn new(outstation: Arc<OutstationMetrics>, master: Master, entry: CommandEntry) -> Self {
        let command = entry.command();
        Scheduled {
            outstation,
            master,
            entry,
            command,
            next: None,
            pending: None,
            done: false,
        }
    }

    /// Collects a finished result, or sends the command if it is due.
    fn tick(&mut self, now: Instant, out: &Output) {
        if let Some(pending) = self.pending.take_if(|p| p.is_ready()) {
            // Ready: `wait` returns at once.
            self.report(pending.wait().ok(), out);
            return;
        }
        let due = self.next.is_none_or(|next| now >= next);
        if self.done || self.pending.is_some() || !due || !self.outstation.online() {
            return;
        }
        self.pending = Some(self.master.operate(self.entry.mode(), vec![self.command]));
        self.next = self.entry.period().map(|p| now + p);
    }

    fn report(&mut self, result: Option<CommandResult>, out: &Output) {
        // A one-shot command is sent once; only one that never left (the link dropped
        // first) is tried again when the outstation is back online.
        self.done =
            self.entry.period().is_none() && !matches!(result, Some(Err(TaskError::LinkDown)));
        let (status, error) = match result {
            Some(Ok(statuses)) => (statuses.first().map_or("NO_STATUS", |s| s.name()), None),
            Some(Err(e)) => ("FAILED", Some(e.to_string())),
            None => ("FAILED", Some("canceled".to_string())),
        };
        out.send(&CommandLine {
            outstation: &self.outstation.name,
            command: self.entry.kind.name(),
            index: self.entry.index,
            status,
            error,
        });
    }
}

/// The result of one command.
#[derive(Serialize)]
struct CommandLine<'a> {
    outstation: &'a str,
    command: &'static str,
    index: u16,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs the commands until `stop` is set.
pub fn run(mut commands: Vec<Scheduled>, out: Output, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        for c in &mut commands {
            c.tick(now, &out);
        }
        std::thread::sleep(TICK);
    }
}
