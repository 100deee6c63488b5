//! Integration tests of webhook-core.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

mod vectors;
mod edge;
mod leakage;
mod roundtrip;
mod auth;
mod jwt;
mod pipeline;
mod source;
mod store;
mod support_pipeline;
mod asym;
