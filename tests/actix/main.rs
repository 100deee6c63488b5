//! The actix-web example receiver under test: the conformance table through actix's own test
//! client (`actix_web::test::init_service` / `call_service`), the loopback subset over real
//! HTTP, and what only actix has (app data lookup, its middleware, forwarded headers it would
//! otherwise believe, chunked bodies).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../examples/support/actix_app.rs"]
mod actix_app;
#[path = "../conformance/admission.rs"]
mod admission_cases;
#[cfg(feature = "axum")]
#[path = "../../examples/support/axum_app.rs"]
mod axum_app;
#[path = "../conformance/cases.rs"]
mod cases;
#[path = "../../examples/support/email.rs"]
mod email;
#[cfg(feature = "fetch")]
#[path = "../conformance/fetching.rs"]
mod fetching;
#[cfg(feature = "axum")]
#[path = "../conformance/parity_axum.rs"]
mod parity_axum;
#[path = "../../examples/support/routes.rs"]
mod routes;
#[path = "../conformance/tenants.rs"]
mod tenant_script;
#[cfg(feature = "axum")]
#[path = "../conformance/unconfigured_axum.rs"]
mod unconfigured_axum;

mod adapter;
mod admission;
mod conformance;
#[cfg(feature = "fetch")]
mod fetched_certificates;
mod loopback;
#[cfg(feature = "axum")]
mod parity;
mod tenants;
