//! The example webhook receiver on actix-web: the same `POST /webhooks/<route>` routes,
//! environment and answers as `receiver.rs` (axum) — Standard Webhooks, GitHub, Stripe, Slack,
//! Shopify, Twilio, JWT, Basic, SendGrid, Mailgun, a typed `email` event set and
//! `sealed-email` (the same events sealed with AES-256-GCM).
//!
//! ```text
//! cargo run --example receiver_actix --features actix
//! cargo run --example receiver_actix --features actix -- sign github   # a fresh test command
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
//! (with `--features actix,redis`: every route's claims in that Redis, shared by replicas). A
//! route whose secret is unset gets a random one, printed at start-up with a ready-to-paste
//! signed `curl`.

#[path = "support/actix_app.rs"]
mod actix_app;
#[path = "support/email.rs"]
mod email;
#[path = "support/routes.rs"]
mod routes;

use actix_web::{App, HttpServer};

use routes::env;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    routes::refuse_blank_settings()?;
    let addr = env("WEBHOOK_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    if routes::sign_command(&addr)? {
        return Ok(());
    }

    let listener = std::net::TcpListener::bind(&addr)?;
    let local = listener.local_addr()?;
    let base = format!("http://{local}");
    let store = routes::replay_store().await?;
    let routes = routes::routes_with_store(&env, &base, store)?;
    routes::print_banner(&base, &routes);
    let mounts = actix_app::mounts(&routes);
    // actix-web stops gracefully on Ctrl-C by itself.
    HttpServer::new(move || {
        let mounts = mounts.clone();
        App::new().configure(move |config| actix_app::configure(config, &mounts))
    })
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
