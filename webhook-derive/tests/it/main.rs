//! Runtime tests of the derives: one binary, one module per concern.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod attributes;
mod catch_all;
mod email;
mod errors;
#[path = "../../../examples/support/email.rs"]
mod example_email;
mod github;
mod nested;
mod roundtrip;
mod schema;
mod stripe;
