//! Runtime tests of the derives: one binary, one module per concern.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod attributes;
mod email;
mod errors;
mod github;
mod roundtrip;
mod schema;
