//! The rocket example receiver under test: the conformance table through rocket's own test
//! client (`rocket::local::asynchronous::Client`), the loopback subset over real HTTP, and the
//! rows the table does not carry yet (missing configuration, the lease after a failure).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

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
#[path = "../../examples/support/rocket_app.rs"]
mod rocket_app;
#[path = "../../examples/support/routes.rs"]
mod routes;
#[path = "../conformance/tenants.rs"]
mod tenant_script;
#[cfg(feature = "axum")]
#[path = "../conformance/unconfigured_axum.rs"]
mod unconfigured_axum;
#[path = "../conformance/unconfigured_rocket.rs"]
mod unconfigured_rocket;

mod admission;
mod conformance;
#[cfg(feature = "fetch")]
mod fetched_certificates;
mod loopback;
#[cfg(feature = "axum")]
mod parity;
mod tenants;

/// rocket's configuration for tests: quiet, on a free loopback port when launched.
fn figment() -> rocket::figment::Figment {
    rocket::figment::Figment::from(rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        port: 0,
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        ..rocket::Config::debug_default()
    })
}

/// A rocket launched on a free loopback port: its base URL, its shutdown handle and the
/// task serving it.
async fn launch(
    rocket: rocket::Rocket<rocket::Build>,
) -> (
    String,
    rocket::Shutdown,
    tokio::task::JoinHandle<Result<rocket::Rocket<rocket::Ignite>, rocket::Error>>,
) {
    let (port_tx, port_rx) = tokio::sync::oneshot::channel::<u16>();
    let port_tx = std::sync::Mutex::new(Some(port_tx));
    let rocket = rocket
        .attach(rocket::fairing::AdHoc::on_liftoff("port", move |rocket| {
            let port = rocket.config().port;
            Box::pin(async move {
                if let Some(tx) = port_tx.lock().unwrap().take() {
                    let _ = tx.send(port);
                }
            })
        }))
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());
    let port = tokio::time::timeout(std::time::Duration::from_secs(30), port_rx)
        .await
        .unwrap()
        .unwrap();
    (format!("http://127.0.0.1:{port}"), shutdown, server)
}
