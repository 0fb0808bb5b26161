//! The object library (IEEE 1815-2012, Annex A): the group/variation table, value types and the field
//! codec that both the parser and the writer use, so no object is described twice.

mod class;
mod point;
mod point_type;
mod types;
mod variation;

pub use class::{Classes, EventClass};
pub(crate) use point::{decode_fields, encode_fields};
pub use point::{Attribute, Field, Point, Value};
pub use point_type::PointType;
pub(crate) use point_type::TYPE_COUNT;
pub use types::{flags, CommandStatus, ControlCode, Crob, DoubleBit, OpType, Timestamp, TripClose};
pub use variation::{Layout, Variation};
