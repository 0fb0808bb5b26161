//! What users ask a master for: reads, commands, time synchronisation and restarts, and the
//! errors those requests can end with.

use crate::app::{FragmentWriter, Iin, WriteError};
use crate::objects::{Classes, CommandStatus, Crob, Variation};
use std::fmt;

/// One header of a READ request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadHeader {
    /// Event classes 1/2/3 (in that order) then class 0, each with qualifier 06.
    Classes(Classes),
    /// Every point of a variation (qualifier 06), e.g. g30v0 for all analog inputs.
    All(Variation),
    /// Points `start..=stop` of a variation (qualifier 00/01).
    Range {
        /// The variation (0 for the default).
        variation: Variation,
        /// First index.
        start: u16,
        /// Last index.
        stop: u16,
    },
    /// At most `count` objects of a variation (qualifier 07/08), e.g. events of one class.
    Count {
        /// The variation.
        variation: Variation,
        /// The limit.
        count: u16,
    },
}

/// A READ request: one or more headers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReadRequest {
    headers: Vec<ReadHeader>,
}

impl ReadRequest {
    /// A request with these headers.
    pub fn new(headers: Vec<ReadHeader>) -> Self {
        ReadRequest { headers }
    }

    /// The integrity poll: classes 1, 2, 3 then 0.
    pub fn integrity() -> Self {
        Self::classes(Classes::ALL)
    }

    /// A poll of the given classes.
    pub fn classes(classes: Classes) -> Self {
        ReadRequest {
            headers: vec![ReadHeader::Classes(classes)],
        }
    }

    /// The headers.
    pub fn headers(&self) -> &[ReadHeader] {
        &self.headers
    }

    /// Writes the headers into a READ fragment.
    pub fn write(&self, w: &mut FragmentWriter<'_>) -> Result<(), WriteError> {
        for h in &self.headers {
            match *h {
                ReadHeader::Classes(c) => {
                    for v in c.event_variations() {
                        w.all(v)?;
                    }
                    if c.contains(Classes::CLASS0) {
                        w.all(Variation::Group60Var1)?;
                    }
                }
                ReadHeader::All(v) => w.all(v)?,
                ReadHeader::Range {
                    variation,
                    start,
                    stop,
                } => w.range_only(variation, start, stop)?,
                ReadHeader::Count { variation, count } => w.count_only(variation, count)?,
            }
        }
        Ok(())
    }
}

/// How controls are executed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CommandMode {
    /// SELECT, then OPERATE with identical objects.
    SelectBeforeOperate,
    /// DIRECT_OPERATE with a response.
    DirectOperate,
    /// DIRECT_OPERATE_NR: no response; completes once sent.
    DirectOperateNoAck,
}

/// An analog output value; its type chooses the variation g41v1..v4.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum AnalogOutput {
    /// g41v1.
    I32(i32),
    /// g41v2.
    I16(i16),
    /// g41v3.
    F32(f32),
    /// g41v4.
    F64(f64),
}

impl AnalogOutput {
    /// The g41 variation for this value.
    pub fn variation(self) -> Variation {
        match self {
            AnalogOutput::I32(_) => Variation::Group41Var1,
            AnalogOutput::I16(_) => Variation::Group41Var2,
            AnalogOutput::F32(_) => Variation::Group41Var3,
            AnalogOutput::F64(_) => Variation::Group41Var4,
        }
    }

    /// The value as f64.
    pub fn as_f64(self) -> f64 {
        match self {
            AnalogOutput::I32(v) => f64::from(v),
            AnalogOutput::I16(v) => f64::from(v),
            AnalogOutput::F32(v) => f64::from(v),
            AnalogOutput::F64(v) => v,
        }
    }
}

/// One control in a command request.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Command {
    /// A control relay output block on a binary output.
    Crob {
        /// Point index.
        index: u16,
        /// The block.
        crob: Crob,
    },
    /// A set-point on an analog output.
    Analog {
        /// Point index.
        index: u16,
        /// The value.
        value: AnalogOutput,
    },
}

impl Command {
    /// The point index.
    pub fn index(&self) -> u16 {
        match *self {
            Command::Crob { index, .. } | Command::Analog { index, .. } => index,
        }
    }

    /// The object variation this command is written with.
    pub fn variation(&self) -> Variation {
        match self {
            Command::Crob { .. } => Variation::Group12Var1,
            Command::Analog { value, .. } => value.variation(),
        }
    }
}

/// Time synchronisation procedures (IEEE 1815-2012, clause 4).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum TimeSyncMode {
    /// RECORD_CURRENT_TIME, then WRITE g50v3.
    Lan,
    /// DELAY_MEASURE, then WRITE g50v1 corrected by half the round trip.
    NonLan,
}

/// Restart kinds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RestartKind {
    /// COLD_RESTART.
    Cold,
    /// WARM_RESTART.
    Warm,
}

/// Why a master request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// No response within the response timeout.
    Timeout,
    /// The channel is not connected, or closed while the request was pending.
    LinkDown,
    /// Too many requests are queued on this association.
    QueueFull,
    /// The association or its channel was shut down.
    Shutdown,
    /// The outstation answered with IIN2 error bits (no function / unknown object / bad
    /// parameter).
    Rejected(Iin),
    /// The response was malformed or did not match the request.
    BadResponse(&'static str),
    /// The response carried an object this master cannot parse (an unknown group/variation
    /// or a malformed header). The objects before it were delivered; the fragment was not
    /// confirmed, so the outstation keeps its events.
    UnsupportedObject {
        /// Its group.
        group: u8,
        /// Its variation.
        variation: u8,
    },
    /// The request does not fit in one fragment or is otherwise invalid.
    BadRequest(&'static str),
    /// The requester dropped its completion before the request's turn came: it was never
    /// sent.
    Canceled,
    /// Select-before-operate stopped after the SELECT: not every control was selected, so
    /// none was operated. The SELECT's statuses, in request order.
    SelectFailed(Vec<CommandStatus>),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Timeout => f.write_str("no response within the response timeout"),
            TaskError::LinkDown => f.write_str("the channel is not connected"),
            TaskError::QueueFull => f.write_str("too many requests queued on the association"),
            TaskError::Shutdown => f.write_str("the association was shut down"),
            TaskError::Rejected(iin) => write!(f, "rejected by the outstation: {iin}"),
            TaskError::BadResponse(why) => write!(f, "bad response: {why}"),
            TaskError::UnsupportedObject { group, variation } => write!(
                f,
                "the response carries g{group}v{variation}, which this master cannot parse"
            ),
            TaskError::BadRequest(why) => write!(f, "bad request: {why}"),
            TaskError::Canceled => f.write_str("canceled before it was sent"),
            TaskError::SelectFailed(statuses) => {
                write!(f, "select refused, nothing operated:")?;
                for s in statuses {
                    write!(f, " {}", s.name())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for TaskError {}

/// The outcome of a command request: one status per control, in request order.
pub type CommandResult = Result<Vec<CommandStatus>, TaskError>;

/// Where a request's result goes: sent exactly once, on the channel's executor.
///
/// A reply may carry a probe that says whether anyone still wants the result. A queued request
/// whose reply is no longer wanted is skipped when its turn comes — never sent — and ends with
/// [`TaskError::Canceled`]; a request already on the wire runs to its end (the outstation may
/// be acting on it), and its result is discarded.
pub struct Reply<T> {
    send: Box<dyn FnOnce(Result<T, TaskError>) + Send>,
    wanted: Option<Box<dyn Fn() -> bool + Send>>,
}

impl<T> Reply<T> {
    /// A reply that calls `send` with the result.
    pub fn new(send: impl FnOnce(Result<T, TaskError>) + Send + 'static) -> Self {
        Reply {
            send: Box::new(send),
            wanted: None,
        }
    }

    /// Adds the probe: `wanted()` false means the requester has gone away.
    pub fn with_wanted(mut self, wanted: impl Fn() -> bool + Send + 'static) -> Self {
        self.wanted = Some(Box::new(wanted));
        self
    }

    /// Whether the requester still wants the result (true without a probe).
    pub fn is_wanted(&self) -> bool {
        self.wanted.as_ref().is_none_or(|w| w())
    }

    /// Delivers the result.
    pub fn send(self, result: Result<T, TaskError>) {
        (self.send)(result)
    }
}

impl<T> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("wanted", &self.is_wanted())
            .finish()
    }
}
