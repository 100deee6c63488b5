//! The example webhook receiver (axum): `POST /webhooks/<route>` for Standard Webhooks,
//! GitHub, Stripe, Slack, Shopify, Twilio, JWT, Basic, SendGrid, Mailgun, a typed `email`
//! event set and `sealed-email` (the same events sealed with AES-256-GCM).
//!
//! ```text
//! cargo run --example receiver --features axum
//! GITHUB_WEBHOOK_SECRET=… cargo run --example receiver --features axum -- sign github   # a fresh test command
//! ```
//!
//! Configuration (environment): `WEBHOOK_ADDR` (default `127.0.0.1:3000`), `PUBLIC_BASE_URL`,
//! `<ROUTE>_WEBHOOK_SECRET` (e.g. `GITHUB_WEBHOOK_SECRET`, `STANDARD_WEBHOOKS_WEBHOOK_SECRET`),
//! `TWILIO_AUTH_TOKEN`, `SENDGRID_PUBLIC_KEY`, `JWT_HS256_SECRET`, `JWT_PUBLIC_KEY_FILE`,
//! `JWT_JWKS_FILE`, `JWT_AUDIENCE`, `JWT_ISSUER`, `BASIC_AUTH`, `SEALED_EMAIL_ENCRYPTION_KEY`
//! (base64 of 32 bytes), and the receiver settings, applied to every route
//! (`ReceiverBuilder::env_with`): `WEBHOOK_TRUSTED_PROXIES`, `WEBHOOK_FORWARDED_HEADER`,
//! `WEBHOOK_ALLOWED_SOURCES`, `WEBHOOK_REQUIRE_HTTPS`, `WEBHOOK_RETRYABLE_AS_503`, `WEBHOOK_RATE_LIMIT`,
//! `WEBHOOK_MAX_BODY_BYTES`, `WEBHOOK_REPLAY_CAPACITY`, `WEBHOOK_RETENTION_SECS`,
//! `WEBHOOK_LEASE_SECS` and `WEBHOOK_CONTENT_TYPES` (added to the types each route accepts
//! itself: JSON, and forms where its sender posts them). The URL the Twilio route checks
//! starts with `PUBLIC_BASE_URL` (default: the address listened on); `WEBHOOK_PUBLIC_BASE_URL`
//! is refused, so that two settings never disagree. A route whose secret is unset gets a random
//! one, printed at start-up with a ready-to-paste signed `curl`. A setting that is set but
//! blank (`X="${UNSET}"`) stops the start-up, naming it: read as unset, it would turn a check
//! off or replace a secret. `sign <route>` prints a command signed with the configured
//! secret; it refuses a route whose secret is generated (the running receiver made up its
//! own) and the `basic` and `jwt` routes, whose command would print the credential itself.
//!
//! `REDIS_URL` (with `--features axum,redis`) puts every route's replay and idempotency
//! claims in that Redis, so that several replicas of the receiver share them
//! (`WEBHOOK_REPLAY_CAPACITY` then does not apply). Without `REDIS_URL`, each route keeps
//! them in memory; with `REDIS_URL` but without the `redis` feature, the receiver refuses to
//! start.

#[path = "support/axum_app.rs"]
mod axum_app;
#[path = "support/email.rs"]
mod email;
#[path = "support/routes.rs"]
mod routes;

use std::net::SocketAddr;

use routes::env;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    routes::refuse_blank_settings()?;
    let addr = env("WEBHOOK_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    if routes::sign_command(&addr)? {
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let base = format!("http://{local}");
    let store = routes::replay_store().await?;
    let routes = routes::routes_with_store(&env, &base, store)?;
    routes::print_banner(&base, &routes);
    let app = axum_app::app(&routes);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
