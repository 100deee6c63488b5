//! Integration tests of webhook-core.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

mod vectors;
mod edge;
mod leakage;
mod roundtrip;
