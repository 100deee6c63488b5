//! Integration tests of the rocket adapter: the fairing owns the lease, the guards fail closed,
//! the limits, the source and the rejections. The conformance table itself runs in the root
//! package's `tests/rocket`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod fairing;
mod guards;
mod support;
