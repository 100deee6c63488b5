//! Integration tests of webhook-core.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod asym;
mod auth;
mod auto_traits;
mod decrypt;
mod edge;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod jwks;
mod jwt;
mod leakage;
mod mailgun_multipart;
mod paddle_classic;
mod paypal;
mod pipeline;
#[cfg(feature = "redis")]
mod redis;
mod regressions;
mod roundtrip;
mod sns;
mod source;
mod store;
mod support_pipeline;
mod tenants;
mod vectors;
