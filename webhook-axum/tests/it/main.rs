//! Integration tests of webhook-axum.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod https;
mod layer;
mod tenants;
