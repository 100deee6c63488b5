//! Standard Webhooks verification against its floor (the bare HMAC-SHA256 of the same signed
//! bytes) and against the `standardwebhooks` crate, on the same inputs, in the same run; and
//! Amazon SNS verification against its floor (SHA-256 and the RSA check of the same canonical
//! string, already built).
//!
//! `cargo bench -p webhook-core --bench verify`; the ratios are computed by
//! `python3 scripts/bench_ratios.py` from criterion's estimates and recorded in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use webhook_core::{
    Clock, Outgoing, Secret, Signer, StandardWebhooks, StandardWebhooksSigner, SystemClock,
    Verifier, WebhookRequest,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn body(len: usize) -> Vec<u8> {
    let mut body = br#"{"type":"email.delivered","data":{"padding":""#.to_vec();
    while body.len() + 3 < len {
        body.push(b'x');
    }
    body.extend_from_slice(br#""}}"#);
    body
}

fn standard_webhooks(c: &mut Criterion) {
    let secret = Secret::from_whsec(SECRET).unwrap();
    let key = secret.expose_secret().to_vec();
    let ours = StandardWebhooks::new(secret.clone()).unwrap();
    let theirs = standardwebhooks::Webhook::new(SECRET).unwrap();
    let signer = StandardWebhooksSigner::new(secret);

    let mut group = c.benchmark_group("standard_webhooks_verify");
    for (label, len) in [("1KiB", 1024usize), ("64KiB", 64 * 1024)] {
        let body = body(len);
        let now = SystemClock.now_ms() / 1000;
        let headers = signer
            .sign(
                &Outgoing::new(&body)
                    .id("msg_p5jXN8AQM9LWM0D4loKWxJek")
                    .timestamp_secs(now),
            )
            .unwrap();
        let request = headers.apply(WebhookRequest::new(&body));
        assert!(ours.verify(&request).is_ok());

        let mut map = http::HeaderMap::new();
        for (name, value) in headers.iter() {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        assert!(theirs.verify(&body, &map).is_ok());

        let mut signed = Vec::new();
        signed.extend_from_slice(headers.get("webhook-id").unwrap().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(headers.get("webhook-timestamp").unwrap().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(&body);

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(
            BenchmarkId::new("bare_hmac_sha256", label),
            &signed,
            |b, s| {
                b.iter(|| {
                    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                    mac.update(black_box(s));
                    black_box(mac.finalize().into_bytes())
                });
            },
        );
        // The same floor with the key's state computed once, as the verifier now does.
        let keyed = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        group.bench_with_input(
            BenchmarkId::new("bare_hmac_sha256_keyed", label),
            &signed,
            |b, s| {
                b.iter(|| {
                    let mut mac = keyed.clone();
                    mac.update(black_box(s));
                    black_box(mac.finalize().into_bytes())
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("webhook_core", label), &request, |b, r| {
            b.iter(|| black_box(ours.verify(black_box(r)).is_ok()));
        });
        group.bench_with_input(
            BenchmarkId::new("standardwebhooks_crate", label),
            &body,
            |b, body| {
                b.iter(|| black_box(theirs.verify(black_box(body), &map).is_ok()));
            },
        );
    }
    group.finish();
}

/// An SES bounce notification of about `len` bytes, signed with version 2 by the test key.
fn sns(c: &mut Criterion) {
    use rsa::pkcs8::DecodePublicKey as _;
    use sha2::Digest as _;
    use webhook_core::provider::sns;

    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/asym/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let private = webhook_core::PrivateKey::from_pem(&fixture("rsa2048-private.pem")).unwrap();
    let public = rsa::RsaPublicKey::from_public_key_pem(&fixture("rsa2048-public.pem")).unwrap();
    let topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
    let signer = sns::signer(
        private.clone(),
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
    )
    .unwrap();
    let verifier = sns::verifier(private.public_key(), [topic]).unwrap();

    let mut group = c.benchmark_group("sns_verify");
    for (label, len) in [("1KiB", 1024usize), ("16KiB", 16 * 1024)] {
        let event = serde_json::json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "feedbackId": "x".repeat(len.saturating_sub(200))},
            "mail": {"messageId": "0100018c-ses"},
        })
        .to_string();
        let body = signer
            .sign(&sns::Message::notification(topic, event).timestamp_ms(SystemClock.now_ms()))
            .unwrap();
        let request_body = body.clone().into_bytes();
        let request = WebhookRequest::new(&request_body);
        assert!(verifier.verify(&request).is_ok());

        let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
        let field = |name: &str| envelope[name].as_str().unwrap().to_owned();
        let canonical = ["Message", "MessageId", "Timestamp", "TopicArn", "Type"]
            .iter()
            .map(|name| format!("{name}\n{}\n", field(name)))
            .collect::<String>();
        let signature = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(field("Signature"))
                .unwrap()
        };
        let floor = |content: &[u8]| {
            let digest = Sha256::digest(content);
            public
                .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
                .is_ok()
        };
        assert!(floor(canonical.as_bytes()));

        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("bare_sha256_rsa", label),
            &canonical,
            |b, content| b.iter(|| black_box(floor(black_box(content.as_bytes())))),
        );
        group.bench_with_input(BenchmarkId::new("webhook_core", label), &request, |b, r| {
            b.iter(|| black_box(verifier.verify(black_box(r)).is_ok()));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = standard_webhooks, sns
}
criterion_main!(benches);
