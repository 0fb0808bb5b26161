//! rdnp3-bench: shared helpers for the criterion benchmarks of rdnp3.
#![deny(missing_docs)]
