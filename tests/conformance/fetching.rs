//! Shared by the adapters' tests of fetched signing certificates: a fetcher that serves the
//! test signing certificate (or fails) and counts its fetches, a receiver of SNS messages
//! built on it, and messages signed by the test key.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use webhook::provider::sns;
use webhook::{
    CertificateCache, CertificateFetcher, FetchError, FetchFuture, FixedClock, PrivateKey, Receiver,
};

pub const PATH: &str = "/webhooks/sns";
pub const CONTENT_TYPE: &str = "text/plain; charset=UTF-8";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ses-events";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
/// 2026-06-01T00:00:00Z, inside the test signing certificate's validity.
const NOW_MS: i64 = 1_780_272_000_000;

fn fixture(path: &str) -> String {
    let path = format!(
        "{}/webhook-core/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the fetcher serves and how often it was asked.
#[derive(Debug, Default)]
pub struct Served {
    pub fetches: AtomicUsize,
    pub fail: AtomicBool,
}

impl Served {
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Fetcher(Arc<Served>);

impl CertificateFetcher for Fetcher {
    fn fetch(&self, url: &str) -> FetchFuture {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        let document = (url == CERT_URL && !self.0.fail.load(Ordering::SeqCst))
            .then(|| fixture("fetch/signing-cert.pem").into_bytes());
        Box::pin(async move { document.ok_or_else(|| FetchError::new("answered 503")) })
    }
}

/// A receiver of SNS messages whose certificates `served` provides.
pub fn receiver(served: &Arc<Served>) -> Receiver {
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(Arc::new(FixedClock::at_ms(NOW_MS)))
        .build();
    let verifier = sns::verifier_fetching(cache, [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(NOW_MS)));
    Receiver::builder()
        .route("sns")
        .verifier(verifier)
        .content_type("text/plain")
        .content_type("application/json")
        .build()
        .unwrap()
}

/// An SNS notification signed by the test key, naming the served certificate.
pub fn body(id: &str) -> String {
    let key = PrivateKey::from_pem(&fixture("asym/rsa2048-private.pem")).unwrap();
    sns::signer(key, CERT_URL)
        .unwrap()
        .sign(
            &sns::Message::notification(TOPIC, r#"{"eventType":"Delivery"}"#)
                .id(id)
                .timestamp_ms(NOW_MS - 1_000),
        )
        .unwrap()
}

/// One answer: status, `Retry-After`, body.
pub type Answer = (u16, Option<String>, String);

/// What every adapter answers two messages naming a certificate it can fetch: both accepted,
/// after one fetch.
pub fn assert_fetched_once(served: &Served, answers: &[Answer]) {
    for (status, _, reply) in answers {
        assert_eq!(*status, 204, "{reply}");
    }
    assert_eq!(answers.len(), 2);
    assert_eq!(served.fetches(), 1);
}

/// What every adapter answers a message whose certificate it tried and failed to fetch: 503
/// `key_unavailable` with `Retry-After`.
pub fn assert_unavailable(served: &Served, answers: &[Answer]) {
    let [(status, retry_after, reply)] = answers else {
        panic!("one answer expected");
    };
    assert_eq!(served.fetches(), 1, "the adapter awaited the fetch");
    assert_eq!(*status, 503, "{reply}");
    assert_eq!(retry_after.as_deref(), Some("15"));
    assert!(reply.contains("key_unavailable"), "{reply}");
}

/// A fetcher that fails.
pub fn failing() -> Arc<Served> {
    let served = Arc::new(Served::default());
    served.fail.store(true, Ordering::SeqCst);
    served
}
