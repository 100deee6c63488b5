//! Amazon SES notifications, delivered by Amazon SNS, received with axum.
//!
//! ```text
//! cargo run --example ses --features axum          # pinned certificates, or the demo
//! cargo run --example ses --features axum,fetch    # certificates fetched as messages name them
//! ```
//!
//! Configuration (environment):
//! - `SES_TOPIC_ARNS`: the ARNs of your SNS topics, comma-separated. Only their messages are
//!   accepted: any AWS account can subscribe your endpoint to a topic of its own.
//! - `SNS_CERTIFICATE_FILE`: a file with the PEM certificates SNS signs with, one per region
//!   you use (download each from the `SigningCertURL` of a message). They are pinned. Without
//!   it (and with the `fetch` feature), each certificate is fetched over HTTPS from the
//!   `SigningCertURL` of the first message that names it.
//! - `WEBHOOK_ADDR` (default `127.0.0.1:3001`).
//!
//! A setting other than `WEBHOOK_ADDR` that is set but empty, or not UTF-8, stops the
//! start-up, naming it.
//!
//! With neither variable set, the example runs in **demo mode**: it makes a signing key of its
//! own (a few seconds in a debug build), accepts the topic
//! `arn:aws:sns:us-east-1:000000000000:ses-demo`, and prints a `curl` that sends a correctly
//! signed SES bounce notification. With only `SNS_CERTIFICATE_FILE` set, or only
//! `SES_TOPIC_ARNS` without the `fetch` feature, it refuses to start.
//!
//! Subscribing the endpoint: create the SNS subscription (protocol HTTPS) with *raw message
//! delivery* off. SNS then sends a `SubscriptionConfirmation`, which this receiver verifies
//! and logs with its `SubscribeURL`: open that URL to confirm.

#[path = "support/ses_app.rs"]
mod ses_app;

#[path = "support/setting.rs"]
mod setting;

use setting::env;
use std::net::SocketAddr;

use webhook::provider::sns;
use webhook::{PrivateKey, PublicKeyRing};

const DEMO_TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:ses-demo";
const DEMO_CERT_URL: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-demo.pem";

/// Every certificate of a PEM file.
fn certificates(path: &str) -> Result<PublicKeyRing, Box<dyn std::error::Error>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("SNS_CERTIFICATE_FILE {path}: {e}"))?;
    Ok(PublicKeyRing::from_certificates_pem(&text)
        .map_err(|e| format!("SNS_CERTIFICATE_FILE {path}: {e}"))?)
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = setting::listen_addr("127.0.0.1:3001");

    let (verifier, demo) = match (env("SES_TOPIC_ARNS")?, env("SNS_CERTIFICATE_FILE")?) {
        (Some(topics), Some(file)) => {
            let topics: Vec<String> = topics.split(',').map(|t| t.trim().to_owned()).collect();
            (sns::verifier(certificates(&file)?, topics)?, None)
        }
        #[cfg(feature = "fetch")]
        (Some(topics), None) => {
            let topics: Vec<String> = topics.split(',').map(|t| t.trim().to_owned()).collect();
            let cache = webhook::CertificateCache::new(webhook::HttpsFetcher::new()?);
            println!("SNS certificates are fetched from the addresses messages name");
            (sns::verifier_fetching(cache, topics)?, None)
        }
        (None, None) => {
            println!("demo mode: making a signing key (a few seconds in a debug build)…");
            let key = PrivateKey::generate_rsa(2048)?;
            let signer = sns::signer(key.clone(), DEMO_CERT_URL)?;
            (sns::verifier(key.public_key(), [DEMO_TOPIC])?, Some(signer))
        }
        _ => {
            return Err(
                "set SES_TOPIC_ARNS and SNS_CERTIFICATE_FILE, or SES_TOPIC_ARNS alone with the \
                 `fetch` feature, or neither for the demo mode"
                    .into(),
            );
        }
    };

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}/webhooks/ses");
    if let Some(signer) = demo {
        let event = serde_json::json!({
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [{ "emailAddress": "bounce@simulator.amazonses.com" }],
            },
            "mail": {
                "messageId": "0100018c-demo",
                "destination": ["bounce@simulator.amazonses.com"],
            },
        });
        let body = signer.sign(&sns::Message::notification(DEMO_TOPIC, event.to_string()))?;
        println!(
            "send a signed SES bounce (valid for an hour; sent twice, the second is a duplicate):"
        );
        println!(
            "  curl -s -X POST http://{local}/webhooks/ses \\\n    -H 'content-type: text/plain; charset=UTF-8' \\\n    -H 'x-amz-sns-message-type: Notification' \\\n    --data-binary {}",
            shell_quote(&body)
        );
    }
    let receiver = ses_app::receiver(verifier)?;
    let app = ses_app::app(receiver, ses_app::Inbox::default());
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
