//! rdnp3-stack: the DNP3 codec (link, transport, application layer, object library).
#![deny(missing_docs)]
