//! The README's quick start, compiled: a typed, verified email webhook on axum.
//!
//! `EMAIL_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw cargo run --example quickstart --features axum`

use std::net::SocketAddr;

use axum::{Router, http::StatusCode, routing::post};
use serde::Deserialize;
use webhook::axum::{VerifyWebhookLayer, Webhook};
use webhook::{Receiver, Secret, StandardWebhooks, WebhookEvent, WebhookPayload};

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "event_type", content = "data", id = "data.message_id")]
enum EmailEvent {
    #[webhook(rename = "email.delivered")]
    Delivered {
        message_id: String,
        #[webhook(email)]
        recipient: String,
    },
    #[webhook(rename = "email.bounced")]
    Bounced(Bounce),
    #[webhook(other)]
    Unknown,
}

#[derive(Debug, Deserialize, WebhookPayload)]
struct Bounce {
    message_id: String,
    #[webhook(email)]
    recipient: String,
    #[webhook(one_of("hard", "soft"))]
    bounce_type: String,
}

async fn on_email(Webhook(event): Webhook<EmailEvent>) -> StatusCode {
    match event {
        EmailEvent::Delivered {
            message_id,
            recipient,
        } => println!("{message_id} delivered to {recipient}"),
        EmailEvent::Bounced(bounce) => {
            println!(
                "{} bounce for {} ({})",
                bounce.bounce_type, bounce.recipient, bounce.message_id
            );
        }
        EmailEvent::Unknown => {}
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = Receiver::builder()
        .route("email")
        .verifier(StandardWebhooks::new(Secret::from_env(
            "EMAIL_WEBHOOK_SECRET",
        )?)?)
        .events::<EmailEvent>() // names the event type in duplicate answers
        .build()?;
    let app = Router::new()
        .route("/webhooks/email", post(on_email))
        .route_layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
