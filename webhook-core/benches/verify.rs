//! Standard Webhooks verification against its floor (the bare HMAC-SHA256 of the same signed
//! bytes) and against the `standardwebhooks` crate, on the same inputs, in the same run.
//!
//! `cargo bench -p webhook-core --bench verify`; the ratios are computed by
//! `python3 scripts/bench_ratios.py` from criterion's estimates and recorded in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used)]

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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = standard_webhooks
}
criterion_main!(benches);
