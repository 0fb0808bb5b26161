//! Application layer (IEEE 1815-2012, clause 4): fragment headers, function codes, IIN, object headers
//! and qualifiers; zero-copy parsing and formatting into caller buffers.

mod control;
mod function;
mod iin;
mod parser;
mod qualifier;
mod writer;

pub use control::AppControl;
pub use function::FunctionCode;
pub use iin::Iin;
pub use parser::{AppError, AppErrorKind, Fragment, ObjectHeader, ObjectParser, ParseMode, Points};
pub use qualifier::{split as split_qualifier, Prefix, Range, RangeCode};
pub use writer::{FragmentWriter, HeaderWriter, WriteError};
