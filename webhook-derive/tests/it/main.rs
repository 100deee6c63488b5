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
#[path = "../../../examples/support/email.rs"]
mod example_email;
mod github;
mod roundtrip;
mod schema;
