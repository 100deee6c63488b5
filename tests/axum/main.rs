//! The axum example receiver under test: the conformance table through axum's own test
//! client (`tower::ServiceExt::oneshot`), and a subset over real loopback HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../conformance/admission.rs"]
mod admission_cases;
#[path = "../../examples/support/axum_app.rs"]
mod axum_app;
#[path = "../conformance/cases.rs"]
mod cases;
#[path = "../../examples/support/email.rs"]
mod email;
#[cfg(feature = "fetch")]
#[path = "../conformance/fetching.rs"]
mod fetching;
#[path = "../../examples/support/routes.rs"]
mod routes;
#[path = "../../examples/support/ses_app.rs"]
mod ses_app;
#[path = "../conformance/tenants.rs"]
mod tenant_script;
#[path = "../conformance/unconfigured_axum.rs"]
mod unconfigured_axum;

mod admission;
mod conformance;
#[cfg(feature = "fetch")]
mod fetched_certificates;
#[cfg(feature = "fetch")]
mod fetched_jwks;
mod loopback;
mod ses;
mod tenants;
