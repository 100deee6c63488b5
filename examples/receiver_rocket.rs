//! The example webhook receiver on rocket: the same routes, environment and answers as
//! `examples/receiver.rs` (axum) — `POST /webhooks/<route>` for Standard Webhooks, GitHub,
//! Stripe, Slack, Shopify, Twilio, JWT, Basic, SendGrid, Mailgun, a typed `email` event set and
//! `sealed-email` (the same events sealed with AES-256-GCM).
//!
//! ```text
//! cargo run --example receiver_rocket --features rocket
//! cargo run --example receiver_rocket --features rocket -- sign github   # a fresh test command
//! ```
//!
//! Configuration (environment): `WEBHOOK_ADDR` (default `127.0.0.1:3000`), `PUBLIC_BASE_URL`,
//! `<ROUTE>_WEBHOOK_SECRET` (e.g. `GITHUB_WEBHOOK_SECRET`, `STANDARD_WEBHOOKS_WEBHOOK_SECRET`),
//! `TWILIO_AUTH_TOKEN`, `SENDGRID_PUBLIC_KEY`, `JWT_HS256_SECRET`, `JWT_PUBLIC_KEY_FILE`,
//! `JWT_JWKS_FILE`, `JWT_AUDIENCE`, `JWT_ISSUER`, `BASIC_AUTH`, `SEALED_EMAIL_ENCRYPTION_KEY`
//! (base64 of 32 bytes), and the receiver settings
//! `WEBHOOK_TRUSTED_PROXIES`, `WEBHOOK_FORWARDED_HEADER`, `WEBHOOK_ALLOWED_SOURCES`,
//! `WEBHOOK_REQUIRE_HTTPS`,
//! `WEBHOOK_RATE_LIMIT`, `WEBHOOK_MAX_BODY_BYTES`, `WEBHOOK_REPLAY_CAPACITY`, and `REDIS_URL`
//! (with `--features rocket,redis`: every route's claims in that Redis, shared by replicas). A
//! route whose secret is unset gets a random one, printed at start-up with a ready-to-paste
//! signed `curl`. rocket's own settings come from
//! its figment (`ROCKET_*` variables, e.g. `ROCKET_LIMITS={webhook="64KiB"}`,
//! `ROCKET_LOG_LEVEL=normal`); `WEBHOOK_ADDR` sets its address and port.

#[path = "support/email.rs"]
mod email;
#[path = "support/rocket_app.rs"]
mod rocket_app;
#[path = "support/routes.rs"]
mod routes;

use routes::env;

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    routes::refuse_blank_settings()?;
    let addr = env("WEBHOOK_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    if routes::sign_command(&addr)? {
        return Ok(());
    }

    // Resolve the address (a host name, port 0) to the one rocket will bind.
    let local = std::net::TcpListener::bind(&addr)?.local_addr()?;
    let base = format!("http://{local}");
    let store = routes::replay_store().await?;
    let routes = routes::routes_with_store(&env, &base, store)?;
    routes::print_banner(&base, &routes);
    let mut figment = rocket::Config::figment()
        .merge(("address", local.ip()))
        .merge(("port", local.port()));
    if env("ROCKET_LOG_LEVEL").is_none() {
        figment = figment.merge(("log_level", rocket::config::LogLevel::Critical));
    }
    let _rocket = rocket_app::app(&routes, figment).launch().await?;
    Ok(())
}
