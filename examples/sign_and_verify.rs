//! Sign a delivery the way a Standard Webhooks sender does, then verify it the way a receiver
//! does, with no web framework: `cargo run --example sign_and_verify`.
//!
//! It also shows the three rejections every receiver meets: a tampered body, a stale
//! timestamp and a rotated-out key.

use std::time::Duration;

use webhook::{
    FixedClock, Freshness, Key, KeyRing, Outgoing, Secret, Signer, StandardWebhooks,
    StandardWebhooksSigner, Verifier, WebhookRequest,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = 1_700_000_000;
    let clock = FixedClock::at_secs(now);

    // The sender's side: one secret, shared with the receiver out of band.
    let current = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    let signer = StandardWebhooksSigner::new(current.clone());
    let body = br#"{"event_type":"email.delivered","data":{"message_id":"m-1","recipient":"ada@example.com"}}"#;
    let headers = signer.sign(&Outgoing::new(body).id("msg_2Lx8").timestamp_secs(now))?;
    for (name, value) in headers.iter() {
        println!(
            "{name}: {}",
            if name.ends_with("signature") {
                "v1,…"
            } else {
                value
            }
        );
    }

    // The receiver's side: a key ring (the current secret and one being rotated out).
    let previous = Secret::from_whsec("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
    let ring = KeyRing::new()
        .with(Key::new("2026-11", current))
        .with(Key::new("2026-05", previous));
    let verifier =
        StandardWebhooks::new(ring)?.freshness(Freshness::default().with_clock(clock.clone()));

    let request = headers.apply(WebhookRequest::new(body));
    let proof = verifier.verify(&request)?;
    println!(
        "accepted: scheme {}, key {}, message {}",
        proof.scheme(),
        proof.key_id().unwrap_or("?"),
        proof.message_id().unwrap_or("?")
    );

    let tampered = headers.apply(WebhookRequest::new(b"{\"event_type\":\"email.bounced\"}"));
    let err = verifier
        .verify(&tampered)
        .expect_err("a tampered body is rejected");
    println!("tampered body: {} {}", err.status(), err.to_json());

    clock.advance(Duration::from_secs(301));
    let err = verifier
        .verify(&request)
        .expect_err("a stale delivery is rejected");
    println!("six minutes later: {} {}", err.status(), err.to_json());
    Ok(())
}
