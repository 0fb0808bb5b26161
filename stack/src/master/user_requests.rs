//! What users ask an association for: each request becomes a task in the association's
//! bounded queue (see `association.rs`), answered through its reply.

use super::association::MasterSession;
use super::functions::{
    assign_class_headers, attributes_header, unsolicited_headers, ClassAssignment, FreezeRequest,
    ObjectHeaders, WriteRequest,
};
use super::request::{
    Command, CommandMode, ReadRequest, Reply, RestartKind, TaskError, TimeSyncMode,
};
use super::tasks::{CommandTask, FunctionTask, ReadTask, RestartTask, Task, TimeSyncTask};
use crate::app::{FunctionCode, WriteError};
use crate::objects::{Classes, CommandStatus};
use std::time::Duration;

impl MasterSession {
    /// Queues a READ; measurements go to the association's handler.
    pub fn read(&mut self, request: ReadRequest, reply: Reply<()>) {
        self.enqueue(ReadTask::user(request, reply).into());
    }

    /// Queues a command request (one or more controls in one request).
    pub fn command(
        &mut self,
        mode: CommandMode,
        commands: Vec<Command>,
        reply: Reply<Vec<CommandStatus>>,
    ) {
        if commands.is_empty() {
            reply.send(Err(TaskError::BadRequest("no commands")));
            return;
        }
        self.enqueue(CommandTask::new(mode, commands, reply).into());
    }

    /// Queues a time synchronisation.
    pub fn time_sync(&mut self, mode: TimeSyncMode, reply: Reply<()>) {
        self.enqueue(TimeSyncTask::user(mode, reply).into());
    }

    /// Queues a cold or warm restart; the reply carries the time until the outstation is back.
    pub fn restart(&mut self, kind: RestartKind, reply: Reply<Duration>) {
        self.enqueue(RestartTask::new(kind, reply).into());
    }

    /// Queues a freeze of counters; the no-response forms complete once sent.
    pub fn freeze(&mut self, request: FreezeRequest, reply: Reply<()>) {
        self.function("freeze", request.function(), request.headers(), reply);
    }

    /// Queues ENABLE_UNSOLICITED (`enable`) or DISABLE_UNSOLICITED for the event classes of
    /// `classes`.
    pub fn set_unsolicited(&mut self, enable: bool, classes: Classes, reply: Reply<()>) {
        let (name, function) = if enable {
            ("enable unsolicited", FunctionCode::EnableUnsolicited)
        } else {
            ("disable unsolicited", FunctionCode::DisableUnsolicited)
        };
        self.function(name, function, unsolicited_headers(classes), reply);
    }

    /// Queues an ASSIGN_CLASS with these assignments, in order.
    pub fn assign_class(&mut self, assignments: &[ClassAssignment], reply: Reply<()>) {
        let headers = assign_class_headers(assignments);
        self.function("assign class", FunctionCode::AssignClass, headers, reply);
    }

    /// Queues a WRITE (deadbands, time and interval, an IIN bit to clear).
    pub fn write(&mut self, request: &WriteRequest, reply: Reply<()>) {
        self.function("write", FunctionCode::Write, request.headers(), reply);
    }

    /// Queues a READ of device attribute `variation` of set `set` (see
    /// [`super::ALL_ATTRIBUTES`]); the attributes go to the read handler.
    pub fn read_attributes(&mut self, set: u8, variation: u8, reply: Reply<()>) {
        let headers = attributes_header(set, variation);
        self.function("read attributes", FunctionCode::Read, headers, reply);
    }

    /// Queues a request of any function code with any object headers; objects in the
    /// responses go to the read handler.
    pub fn request(&mut self, function: FunctionCode, headers: ObjectHeaders, reply: Reply<()>) {
        self.function("request", function, Ok(headers), reply);
    }

    fn function(
        &mut self,
        name: &'static str,
        function: FunctionCode,
        headers: Result<ObjectHeaders, WriteError>,
        reply: Reply<()>,
    ) {
        let headers = match headers {
            Ok(headers) => headers,
            Err(WriteError::FragmentFull) => {
                return reply.send(Err(TaskError::BadRequest(
                    "the objects do not fit one fragment",
                )))
            }
            Err(_) => return reply.send(Err(TaskError::BadRequest("invalid objects or range"))),
        };
        match FunctionTask::new(name, function, headers, reply) {
            Ok(task) => self.enqueue(task.into()),
            Err((error, reply)) => reply.send(Err(error)),
        }
    }

    /// The first queued user request still wanted; those whose requester went away are
    /// ended with [`TaskError::Canceled`] unsent and counted.
    pub(super) fn pop_user(&mut self) -> Option<Task> {
        loop {
            let task = self.queue.pop_front()?;
            if task.wanted() {
                return Some(task);
            }
            self.stats.canceled += 1;
            tracing::debug!(task = task.name(), "canceled before it was sent");
            task.fail(TaskError::Canceled);
        }
    }
}
