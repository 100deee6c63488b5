//! Fetched signing certificates (feature `fetch`): the cache's rules (one fetch per address,
//! failures held back, a budget of fetches, validity, capacity, a fetch run to its end
//! whatever becomes of its delivery, or abandoned halfway without a runtime), the SNS and
//! PayPal verifiers built on it, the pipeline's step, the fetches of `AnyOf` and `AllOf`
//! members awaited together, and `HttpsFetcher` against a real TLS server on loopback.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use webhook_core::provider::{paypal, sns};
use webhook_core::{
    AllOf, AnyOf, CertificateCache, CertificateFetcher, FetchError, FetchFuture, FixedClock,
    HttpsFetcher, KeyFetch, Outgoing, PrivateKey, Proof, RateLimit, Receiver, SharedClock, Signer,
    Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

use crate::pipeline::Captured;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ses-events";
const SNS_CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
const PAYPAL_CERT_URL: &str = "https://api-m.paypal.com/v1/notifications/certs/CERT-test-1";
const WEBHOOK_ID: &str = "8PT597110X687430LKGECATA";
/// 2026-06-01T00:00:00Z, inside the test signing certificate's validity (2025 to 2035).
const NOW_MS: i64 = 1_780_272_000_000;
/// 2035-01-01T00:00:00Z, when the test signing certificate expires.
const CERT_NOT_AFTER_MS: i64 = 2_051_222_400_000;

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signing_key() -> PrivateKey {
    PrivateKey::from_pem(std::str::from_utf8(&fixture("asym/rsa2048-private.pem")).unwrap())
        .unwrap()
}

fn clock(ms: i64) -> SharedClock {
    Arc::new(FixedClock::at_ms(ms))
}

/// A fetcher that serves documents from a table, counts its fetches and can hold each one
/// until released.
#[derive(Debug, Default)]
struct Served {
    documents: Mutex<HashMap<String, Result<Vec<u8>, String>>>,
    fetches: AtomicUsize,
    gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

impl Served {
    fn with(url: &str, document: Result<Vec<u8>, &str>) -> Arc<Self> {
        let served = Arc::new(Self::default());
        served.serve(url, document);
        served
    }

    fn serve(&self, url: &str, document: Result<Vec<u8>, &str>) {
        self.documents
            .lock()
            .unwrap()
            .insert(url.to_owned(), document.map_err(str::to_owned));
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Hold every fetch until the returned semaphore gets a permit.
    fn hold(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(gate.clone());
        gate
    }
}

/// The cache's fetcher, sharing a [`Served`] with the test.
#[derive(Debug)]
struct Fetcher(Arc<Served>);

impl CertificateFetcher for Fetcher {
    fn fetch(&self, url: &str) -> FetchFuture {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        let document = self.0.documents.lock().unwrap().get(url).cloned();
        let gate = self.0.gate.lock().unwrap().clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
            match document {
                Some(Ok(bytes)) => Ok(bytes),
                Some(Err(message)) => Err(FetchError::new(message)),
                None => Err(FetchError::gone("answered 404 instead of 200")),
            }
        })
    }
}

fn cache(served: &Arc<Served>) -> CertificateCache {
    CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .build()
}

fn sns_verifier(cache: CertificateCache) -> sns::SnsVerifier {
    sns::verifier_fetching(cache, [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(NOW_MS + 1_000)))
}

fn sns_body(cert_url: &str, topic: &str, id: &str) -> String {
    sns::signer(signing_key(), cert_url)
        .unwrap()
        .sign(
            &sns::Message::notification(topic, r#"{"eventType":"Delivery"}"#)
                .id(id)
                .timestamp_ms(NOW_MS),
        )
        .unwrap()
}

fn served_signing_cert() -> Arc<Served> {
    Served::with(SNS_CERT_URL, Ok(fixture("fetch/signing-cert.pem")))
}

// ---------------------------------------------------------------------------------------------
// polling without a Tokio runtime (where a fetch runs inside its delivery's future)

/// Wakes the thread that waits in [`block_on`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Run `future` to its end on this thread, without a Tokio runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Poll `future` once, without a Tokio runtime.
pub(crate) fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

// ---------------------------------------------------------------------------------------------
// the SNS verifier on the cache

#[tokio::test]
async fn sns_fetches_the_certificate_a_message_names_once_then_verifies_with_it() {
    let served = served_signing_cert();
    let cache = cache(&served);
    let verifier = sns_verifier(cache.clone());
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());

    // Not fetched yet: 503 with Retry-After, so that SNS retries.
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.status(), 503);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(15)));

    verifier.fetch_keys(&request).expect("a fetch").await;
    let proof = verifier.verify(&request).unwrap();
    assert_eq!(proof.message_id(), Some("m-1"));
    assert!(proof.key_id().unwrap().starts_with("x509-sha256:"));
    assert_eq!(cache.len(), 1);

    // Held: no second fetch, for this message or the next.
    let next = sns_body(SNS_CERT_URL, TOPIC, "m-2");
    assert!(verifier.fetch_keys(&request).is_none());
    assert!(
        verifier
            .fetch_keys(&WebhookRequest::new(next.as_bytes()))
            .is_none()
    );
    assert!(
        verifier
            .verify(&WebhookRequest::new(next.as_bytes()))
            .is_ok()
    );
    assert_eq!(served.fetches(), 1);
}

#[tokio::test]
async fn a_tampered_message_is_401_with_a_fetched_certificate() {
    let served = served_signing_cert();
    let verifier = sns_verifier(cache(&served));
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1").replace("Delivery", "Bounce");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
}

#[tokio::test]
async fn a_message_signed_by_another_key_is_401_whatever_certificate_it_names() {
    // The certificate at the address is the test key's; the message is signed by another.
    let served = served_signing_cert();
    let verifier = sns_verifier(cache(&served));
    let other = PrivateKey::from_pem(
        std::str::from_utf8(&fixture("fetch/other-rsa2048-private.pem")).unwrap(),
    )
    .unwrap();
    let body = sns::signer(other, SNS_CERT_URL)
        .unwrap()
        .sign(&sns::Message::notification(TOPIC, "x").timestamp_ms(NOW_MS))
        .unwrap();
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert_eq!(
        verifier.verify(&request).unwrap_err().kind(),
        VerifyErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn only_an_accepted_topic_and_an_sns_address_cause_a_fetch() {
    let served = served_signing_cert();
    let verifier = sns_verifier(cache(&served));
    let foreign = sns_body(
        SNS_CERT_URL,
        "arn:aws:sns:us-east-1:999999999999:theirs",
        "m-1",
    );
    assert!(
        verifier
            .fetch_keys(&WebhookRequest::new(foreign.as_bytes()))
            .is_none()
    );
    // An address of another shape: the signer refuses to make one, so edit the body.
    let mut value: serde_json::Value =
        serde_json::from_str(&sns_body(SNS_CERT_URL, TOPIC, "m-2")).unwrap();
    let name = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
    for url in [
        format!("https://evil.example.com/{name}"),
        format!("http://sns.us-east-1.amazonaws.com/{name}"),
        format!("https://sns.us-east-1.amazonaws.com.evil.example/{name}"),
        format!("https://127.0.0.1/{name}"),
        // On SNS's hosts but not its certificates' shape: other spellings of the address,
        // other files, S3's endpoints (a bucket named `sns`).
        format!("https://sns.us-east-1.amazonaws.com/./{name}"),
        format!("https://sns.us-east-1.amazonaws.com//{name}"),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem".to_owned(),
        "https://sns.us-east-1.amazonaws.com/other.pem".to_owned(),
        format!("https://sns.s3-external-1.amazonaws.com/{name}"),
        format!("https://sns.s3-us-west-2.amazonaws.com/{name}"),
    ] {
        let url = url.as_str();
        value["SigningCertURL"] = url.into();
        let body = value.to_string();
        let request = WebhookRequest::new(body.as_bytes());
        assert!(verifier.fetch_keys(&request).is_none(), "{url}");
        assert_eq!(
            verifier.verify(&request).unwrap_err().kind(),
            VerifyErrorKind::InvalidSignature,
            "{url}"
        );
    }
    for garbage in ["", "not json", "[]", "{\"TopicArn\":1}"] {
        assert!(
            verifier
                .fetch_keys(&WebhookRequest::new(garbage.as_bytes()))
                .is_none()
        );
    }
    assert_eq!(served.fetches(), 0);
}

#[test]
fn fetchable_addresses_have_the_shape_of_sns_certificates() {
    for url in [
        // The AWS-signed vector's own address.
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bb750dd426d95ee9390147a5624348ee.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-0123456789ABCDEF0123456789abcdef.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
    ] {
        assert!(sns::is_fetchable_cert_url(url), "{url}");
        assert!(sns::is_signing_cert_url(url), "{url}");
    }
    let name = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
    for url in [
        format!("https://sns.s3-external-1.amazonaws.com/{name}"),
        format!("https://sns.us.amazonaws.com/{name}"),
        format!("https://sns.us-east.amazonaws.com/{name}"),
        format!("https://sns.us-east-123.amazonaws.com/{name}"),
        format!("https://sns.US-east-1.amazonaws.com/{name}"),
        format!("https://sns.us--1.amazonaws.com/{name}"),
        // Region names are read up to 32 bytes, before they are split: longer ones, however
        // well formed, are not AWS's.
        format!("https://sns.us-{}1.amazonaws.com/{name}", "east-".repeat(6)),
        format!("https://sns.us-east-1.amazonaws.com:443/{name}"),
        format!("https://user@sns.us-east-1.amazonaws.com/{name}"),
        format!("https://sns.us-east-1.amazonaws.com./{name}"),
        format!("https://sns.us-east-1.amazonaws.com/{name}?x=1"),
        format!("https://sns.us-east-1.amazonaws.com/a/{name}"),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdeg.pem".to_owned(),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcde.pem".to_owned(),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-%30123456789abcdef0123456789abcde.pem".to_owned(),
        String::new(),
    ] {
        assert!(!sns::is_fetchable_cert_url(&url), "{url}");
    }
}

#[tokio::test]
async fn the_answer_to_an_unknown_address_does_not_depend_on_the_topic() {
    // Whether the topic is accepted or not, a message naming an address whose fetch failed
    // (or that no fetch was spent on) is answered alike: 503.
    let served = Served::with(SNS_CERT_URL, Err("answered 404 instead of 200"));
    let verifier = sns_verifier(cache(&served));
    let ours = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let theirs = sns_body(
        SNS_CERT_URL,
        "arn:aws:sns:us-east-1:999999999999:theirs",
        "m-2",
    );
    verifier
        .fetch_keys(&WebhookRequest::new(ours.as_bytes()))
        .expect("a fetch")
        .await;
    let answer = |body: &str| {
        let error = verifier
            .verify(&WebhookRequest::new(body.as_bytes()))
            .unwrap_err();
        (error.status(), error.to_string())
    };
    assert_eq!(answer(&ours), answer(&theirs));
    assert_eq!(answer(&ours).0, 503);
    assert_eq!(served.fetches(), 1);
}

#[tokio::test]
async fn pinned_verifiers_fetch_nothing() {
    let verifier = sns::verifier(signing_key().public_key(), [TOPIC]).unwrap();
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    assert!(
        verifier
            .fetch_keys(&WebhookRequest::new(body.as_bytes()))
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// the cache's rules

#[tokio::test]
async fn deliveries_naming_an_address_in_flight_wait_for_its_one_fetch() {
    let served = served_signing_cert();
    let gate = served.hold();
    let verifier = sns_verifier(cache(&served));
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());

    let first = tokio::spawn(verifier.fetch_keys(&request).expect("the fetch"));
    let waiters: Vec<_> = (0..5)
        .map(|_| tokio::spawn(verifier.fetch_keys(&request).expect("a wait")))
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(waiters.iter().all(|w| !w.is_finished()));
    assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);

    gate.add_permits(1);
    first.await.unwrap();
    for waiter in waiters {
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiters wake when the fetch ends")
            .unwrap();
    }
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 1);
}

/// A fetch that never ends is ended as failed at the cache's `fetch_deadline`: the waiting
/// delivery is answered 503, and the address can be fetched again (it was never cleared
/// before).
#[tokio::test]
async fn a_fetch_that_never_ends_is_ended_at_the_deadline() {
    let served = served_signing_cert();
    let _never = served.hold();
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .retry_after_failure(Duration::ZERO)
        .fetch_deadline(Duration::from_millis(300))
        .build();
    let verifier = sns_verifier(cache);
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let started = std::time::Instant::now();
    let fetch = verifier.fetch_keys(&request).expect("a fetch");
    tokio::time::timeout(Duration::from_secs(30), fetch)
        .await
        .expect("the deadline ends the fetch");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    // The deadline is at least a millisecond and at most a minute, 10 s unless set.
    let shown = |builder: webhook_core::CertificateCacheBuilder| format!("{:?}", builder.build());
    assert!(
        shown(CertificateCache::builder(Fetcher(served.clone()))).contains("fetch_deadline: 10s")
    );
    for (set, clamped) in [(Duration::ZERO, "1ms"), (Duration::MAX, "60s")] {
        let builder = CertificateCache::builder(Fetcher(served.clone())).fetch_deadline(set);
        assert!(shown(builder).contains(&format!("fetch_deadline: {clamped}")));
    }

    *served.gate.lock().unwrap() = None;
    verifier.fetch_keys(&request).expect("a fetch again").await;
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn a_failed_fetch_answers_503_and_is_not_retried_within_the_delay() {
    let served = Served::with(SNS_CERT_URL, Err("answered 500 instead of 200"));
    let verifier = sns_verifier(cache(&served));
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(15)));
    assert!(
        !error.to_string().contains("500"),
        "the fetch's failure is logged, not told to the sender"
    );
    assert!(verifier.fetch_keys(&request).is_none());
    assert_eq!(served.fetches(), 1);

    // With no delay, the next delivery fetches again, and the certificate is back.
    let served = Served::with(SNS_CERT_URL, Err("answered 500 instead of 200"));
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .retry_after_failure(Duration::ZERO)
        .build();
    let verifier = sns_verifier(cache);
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    served.serve(SNS_CERT_URL, Ok(fixture("fetch/signing-cert.pem")));
    verifier.fetch_keys(&request).expect("a fetch again").await;
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 2);
}

/// A held certificate is fetched again after a day, by the next delivery that names it, while
/// deliveries meanwhile use it without waiting, and whatever the minute's budget; then what
/// the address holds decides: the certificate again keeps it; a failure to reach the
/// provider keeps it, to be fetched again after the hold-back; an answer that nothing is
/// there (404) withdraws it.
#[tokio::test]
async fn a_held_certificate_is_fetched_again_after_a_day() {
    let served = served_signing_cert();
    let time = FixedClock::at_ms(NOW_MS);
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(Arc::new(time.clone()))
        .fetches_per_minute(2)
        .build();
    assert!(format!("{cache:?}").contains("refresh_after: 86400s"));
    let verifier = sns_verifier(cache.clone());
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert!(verifier.verify(&request).is_ok());
    time.advance(Duration::from_secs(24 * 3600 - 1));
    assert!(verifier.fetch_keys(&request).is_none(), "not due yet");
    time.advance(Duration::from_secs(1));

    // Due: one refetch, while other deliveries use the certificate held.
    let gate = served.hold();
    let refetch = tokio::spawn(verifier.fetch_keys(&request).expect("a refetch"));
    tokio::time::timeout(Duration::from_secs(5), async {
        while served.fetches() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the refetch starts");
    assert!(
        verifier.fetch_keys(&request).is_none(),
        "one refetch at a time"
    );
    assert!(verifier.verify(&request).is_ok(), "the held one meanwhile");
    gate.add_permits(1);
    refetch.await.unwrap();
    *served.gate.lock().unwrap() = None;
    assert!(verifier.verify(&request).is_ok());
    assert!(
        verifier.fetch_keys(&request).is_none(),
        "due again in a day"
    );

    // A day on, made-up addresses have spent the minute's fetches; the provider cannot be
    // reached: still fetched again, kept, and fetched again after the hold-back.
    time.advance(Duration::from_secs(24 * 3600));
    for n in 1..=2 {
        let url =
            format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n:032x}.pem");
        let made_up = sns_body(&url, TOPIC, "m-x");
        let made_up = WebhookRequest::new(made_up.as_bytes());
        verifier.fetch_keys(&made_up).expect("a fetch").await;
    }
    let url = format!(
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{:032x}.pem",
        3
    );
    let spent = sns_body(&url, TOPIC, "m-y");
    assert!(
        verifier
            .fetch_keys(&WebhookRequest::new(spent.as_bytes()))
            .is_none(),
        "spent"
    );
    served.serve(SNS_CERT_URL, Err("request failed"));
    verifier.fetch_keys(&request).expect("a refetch").await;
    assert_eq!(served.fetches(), 5);
    assert!(verifier.verify(&request).is_ok(), "kept");
    assert!(verifier.fetch_keys(&request).is_none(), "held back");
    time.advance(Duration::from_secs(15));

    // Withdrawn: the address answers 404, and the certificate is no longer trusted.
    served.documents.lock().unwrap().remove(SNS_CERT_URL);
    verifier.fetch_keys(&request).expect("a refetch").await;
    assert_eq!(served.fetches(), 6);
    assert_eq!(cache.len(), 0);
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
}

/// A refetch that finds another certificate at the address replaces the one held (messages
/// signed with the old key are refused from then on), and one that finds a document that is
/// not a certificate keeps the one held.
#[tokio::test]
async fn a_refetch_replaces_the_certificate_and_keeps_it_on_a_bad_document() {
    let served = served_signing_cert();
    let time = FixedClock::at_ms(NOW_MS);
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(Arc::new(time.clone()))
        .refresh_after(Duration::from_secs(3600))
        .build();
    let verifier = sns_verifier(cache.clone());
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    let held = verifier
        .verify(&request)
        .unwrap()
        .key_id()
        .unwrap()
        .to_owned();

    served.serve(SNS_CERT_URL, Ok(b"<html>maintenance</html>".to_vec()));
    time.advance(Duration::from_secs(3600));
    verifier.fetch_keys(&request).expect("a refetch").await;
    assert_eq!(
        verifier.verify(&request).unwrap().key_id(),
        Some(held.as_str())
    );

    served.serve(SNS_CERT_URL, Ok(fixture("fetch/other-signing-cert.pem")));
    time.advance(Duration::from_secs(15));
    verifier.fetch_keys(&request).expect("a refetch").await;
    assert_eq!(served.fetches(), 3);
    assert_eq!(cache.len(), 1);
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
}

/// SNS retries a 503 three times, 20 s apart, then drops the message: with the default
/// hold-back after a failed fetch (15 s, on the cache's clock), its first retry fetches the
/// certificate again, and verifies.
#[tokio::test]
async fn an_sns_retry_after_a_failed_fetch_fetches_again() {
    let served = Served::with(SNS_CERT_URL, Err("answered 500 instead of 200"));
    let time = FixedClock::at_ms(NOW_MS);
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(Arc::new(time.clone()))
        .build();
    let verifier = sns_verifier(cache);
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    let error = verifier.verify(&request).unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(15)));
    served.serve(SNS_CERT_URL, Ok(fixture("fetch/signing-cert.pem")));
    time.advance(Duration::from_secs(14));
    assert!(verifier.fetch_keys(&request).is_none(), "held back");
    time.advance(Duration::from_secs(6));
    verifier
        .fetch_keys(&request)
        .expect("SNS's retry fetches")
        .await;
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_made_up_addresses_spends_only_the_budget_of_fetches() {
    let served = Arc::new(Served::default());
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .fetches_per_minute(3)
        .build();
    let verifier = sns_verifier(cache.clone());
    let captured = crate::pipeline::Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    let mut fetched = 0;
    for n in 0..50 {
        let url =
            format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n:032x}.pem");
        let body = sns_body(&url, TOPIC, &format!("m-{n}"));
        let request = WebhookRequest::new(body.as_bytes());
        if let Some(fetch) = verifier.fetch_keys(&request) {
            fetch.await;
            fetched += 1;
        }
        assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    }
    assert_eq!(fetched, 3);
    assert_eq!(served.fetches(), 3);
    assert!(cache.is_empty());
    // The spent budget is logged once, not once per request: only the three fetches made
    // name their address.
    let logs = captured.text();
    assert_eq!(logs.matches("fetches are spent").count(), 1, "{logs}");
    assert_eq!(
        logs.matches("SimpleNotificationService-").count(),
        3,
        "{logs}"
    );
}

#[tokio::test]
async fn a_certificate_outside_its_validity_is_refused() {
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    // Fetched after its end, or before its start (2025-01-01).
    for at in [CERT_NOT_AFTER_MS, CERT_NOT_AFTER_MS + 1, 1_735_689_599_000] {
        let served = served_signing_cert();
        let cache = CertificateCache::builder(Fetcher(served.clone()))
            .clock(clock(at))
            .build();
        let verifier = sns_verifier(cache.clone());
        verifier.fetch_keys(&request).expect("a fetch").await;
        assert!(cache.is_empty(), "at {at}");
        assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    }

    // Fetched while valid, then used after it expired: refused, and fetched again.
    let served = served_signing_cert();
    let time = Arc::new(FixedClock::at_ms(NOW_MS));
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(time.clone())
        .build();
    let verifier = sns_verifier(cache);
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert!(verifier.verify(&request).is_ok());
    time.set_ms(CERT_NOT_AFTER_MS);
    assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    verifier.fetch_keys(&request).expect("fetched again").await;
    assert_eq!(served.fetches(), 2);
}

/// The cache alone judges a fetched certificate's validity, on its clock: a verifier whose
/// clock has already passed the certificate's end (it read the time a moment later, or runs
/// on another clock) verifies with the key the cache handed out, rather than answer 500 as if
/// its configuration had no current key.
#[tokio::test]
async fn the_cache_alone_judges_a_fetched_certificates_validity() {
    let served = served_signing_cert();
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(CERT_NOT_AFTER_MS - 1))
        .build();
    let verifier = sns::verifier_fetching(cache, [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(CERT_NOT_AFTER_MS + 500)));
    let body = sns::signer(signing_key(), SNS_CERT_URL)
        .unwrap()
        .sign(
            &sns::Message::notification(TOPIC, r#"{"eventType":"Delivery"}"#)
                .id("m-edge")
                .timestamp_ms(CERT_NOT_AFTER_MS),
        )
        .unwrap();
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert!(verifier.verify(&request).is_ok());
}

#[tokio::test]
async fn documents_that_are_not_a_certificate_are_refused() {
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let pem = fixture("fetch/signing-cert.pem");
    let truncated = pem.get(..pem.len() - 40).unwrap().to_vec();
    // Not base64 any more.
    let mut corrupted = pem.clone();
    corrupted[100] = b'!';
    for document in [
        Vec::new(),
        b"<html>not found</html>".to_vec(),
        truncated,
        corrupted,
        fixture("asym/rsa2048-public.pem"),
        vec![0xff; 70_000],
    ] {
        let served = Served::with(SNS_CERT_URL, Ok(document));
        let cache = cache(&served);
        let verifier = sns_verifier(cache.clone());
        verifier.fetch_keys(&request).expect("a fetch").await;
        assert!(cache.is_empty());
        assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    }
    // A chain: the leaf, first, is read.
    let mut chain = pem.clone();
    chain.extend_from_slice(&fixture("fetch/test-ca.pem"));
    let served = Served::with(SNS_CERT_URL, Ok(chain));
    let verifier = sns_verifier(cache(&served));
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert!(verifier.verify(&request).is_ok());
}

#[tokio::test]
async fn a_certificate_with_a_key_sns_does_not_use_is_401() {
    // The TLS test CA's certificate holds a P-256 key: SNS signs with RSA.
    let served = Served::with(SNS_CERT_URL, Ok(fixture("fetch/test-ca.pem")));
    let cache = cache(&served);
    let verifier = sns_verifier(cache.clone());
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert_eq!(cache.len(), 1);
    assert_eq!(
        verifier.verify(&request).unwrap_err().kind(),
        VerifyErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn a_delivery_dropped_mid_fetch_does_not_stop_the_certificate_being_cached() {
    let served = served_signing_cert();
    let gate = served.hold();
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .fetches_per_minute(1)
        .build();
    let verifier = sns_verifier(cache.clone());
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::INFO, false));

    // The client of the delivery that starts the fetch goes away mid-fetch, and so do the
    // deliveries that wait for it.
    let fetch = verifier.fetch_keys(&request).expect("the fetch");
    let abandoned = tokio::time::timeout(Duration::from_millis(20), fetch).await;
    assert!(abandoned.is_err());
    drop(verifier.fetch_keys(&request).expect("a wait"));
    // The fetch runs on, as a task of its own: the certificate is cached, with the only
    // fetch of the minute.
    gate.add_permits(1);
    tokio::time::timeout(Duration::from_secs(5), async {
        while cache.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the certificate arrives");
    assert!(verifier.fetch_keys(&request).is_none());
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 1);
    let logs = captured.text();
    assert!(logs.contains("signing certificate fetched"), "{logs}");
    assert!(!logs.contains("abandoned"), "{logs}");
}

#[test]
fn an_abandoned_fetch_lets_the_next_delivery_fetch_again() {
    // No Tokio runtime: the fetch runs inside the future of the delivery that started it,
    // and dropping that future abandons it.
    let served = served_signing_cert();
    let gate = served.hold();
    let verifier = sns_verifier(cache(&served));
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));

    let mut fetch = verifier.fetch_keys(&request).expect("the fetch");
    assert!(poll_once(&mut fetch).is_pending());
    let waiter = verifier.fetch_keys(&request).expect("a wait");
    // The client of the first delivery goes away mid-fetch: the waiter wakes, and the
    // abandoned fetch is logged.
    drop(fetch);
    block_on(waiter);
    let logs = captured.text();
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("signing certificate fetch abandoned"),
        "{logs}"
    );
    assert!(logs.contains(SNS_CERT_URL), "{logs}");

    gate.add_permits(1);
    block_on(verifier.fetch_keys(&request).expect("fetched again"));
    assert!(verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 2);
}

#[test]
fn abandoned_fetches_are_logged_at_most_once_a_minute_and_count_toward_the_budget() {
    // No Tokio runtime, as above.
    let served = served_signing_cert();
    let _gate = served.hold();
    let verifier = sns_verifier(
        CertificateCache::builder(Fetcher(served.clone()))
            .clock(clock(NOW_MS))
            .fetches_per_minute(3)
            .build(),
    );
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    for _ in 0..3 {
        let mut fetch = verifier.fetch_keys(&request).expect("a fetch");
        assert!(poll_once(&mut fetch).is_pending());
        drop(fetch);
    }
    // The provider's server was asked three times: the minute's fetches are spent.
    assert!(verifier.fetch_keys(&request).is_none());
    assert_eq!(served.fetches(), 3);
    let logs = captured.text();
    assert_eq!(logs.matches("fetch abandoned").count(), 1, "{logs}");
    assert!(logs.contains("fetches are spent"), "{logs}");
}

/// A verifier whose key fetch waits for `gate` (when it has one), after recording that it
/// was polled, and which accepts every request.
#[derive(Debug)]
struct Fetching {
    polled: Arc<AtomicBool>,
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

impl Verifier for Fetching {
    fn verify(&self, _request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        Ok(Proof::new("test"))
    }

    fn fetch_keys(&self, _request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        let (polled, gate) = (self.polled.clone(), self.gate.clone());
        Some(Box::pin(async move {
            polled.store(true, Ordering::SeqCst);
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
        }))
    }
}

#[tokio::test]
async fn the_fetches_of_several_members_are_awaited_together() {
    for any in [true, false] {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (slow, fast) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let members = (
            Fetching {
                polled: slow.clone(),
                gate: Some(gate.clone()),
            },
            Fetching {
                polled: fast.clone(),
                gate: None,
            },
        );
        let request = WebhookRequest::new(b"{}");
        let mut fetch = if any {
            AnyOf::new()
                .or(members.0)
                .or(members.1)
                .fetch_keys(&request)
        } else {
            AllOf::new()
                .and(members.0)
                .and(members.1)
                .fetch_keys(&request)
        }
        .expect("a fetch");
        // The first member's fetch waits; the second's runs meanwhile, and ends.
        assert!(poll_once(&mut fetch).is_pending());
        assert!(slow.load(Ordering::SeqCst));
        assert!(
            fast.load(Ordering::SeqCst),
            "the second member waits for the first"
        );
        gate.add_permits(1);
        tokio::time::timeout(Duration::from_secs(5), fetch)
            .await
            .expect("ends once every member's fetch has");
    }
}

/// Three SNS certificate addresses, each served the signing certificate, and a cache with room
/// for two of them on a clock the test moves.
fn three_certificates_two_places() -> (Vec<String>, FixedClock, CertificateCache) {
    let served = Arc::new(Served::default());
    let urls: Vec<String> = (0..3)
        .map(|n| {
            format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n:032x}.pem")
        })
        .collect();
    for url in &urls {
        served.serve(url, Ok(fixture("fetch/signing-cert.pem")));
    }
    let time = FixedClock::at_ms(NOW_MS);
    let cache = CertificateCache::builder(Fetcher(served))
        .clock(Arc::new(time.clone()))
        .capacity(2)
        .build();
    (urls, time, cache)
}

#[tokio::test]
async fn capacity_bounds_the_certificates_held() {
    let (urls, time, cache) = three_certificates_two_places();
    let verifier = sns_verifier(cache.clone());
    let requests: Vec<String> = urls
        .iter()
        .enumerate()
        .map(|(n, url)| sns_body(url, TOPIC, &format!("m-{n}")))
        .collect();
    let request = |n: usize| WebhookRequest::new(requests[n].as_bytes());
    for n in 0..2 {
        verifier.fetch_keys(&request(n)).expect("a fetch").await;
        assert!(verifier.verify(&request(n)).is_ok());
        // A little apart on the cache's clock, so that "used longest ago" is one of them.
        time.advance(Duration::from_millis(2));
    }
    // The first is used again: the second is now the one used longest ago.
    assert!(verifier.verify(&request(0)).is_ok());
    time.advance(Duration::from_millis(2));
    verifier.fetch_keys(&request(2)).expect("a fetch").await;
    assert_eq!(cache.len(), 2);
    assert_eq!(verifier.verify(&request(1)).unwrap_err().status(), 503);
    assert!(verifier.verify(&request(0)).is_ok());
    assert!(verifier.verify(&request(2)).is_ok());
    assert!(format!("{cache:?}").contains("capacity: 2"));
}

/// A genuine but stale message (a replay) is refused after its signature verified, and does
/// not count as a delivery the certificate verified: with the cache full, the certificate
/// only it used is the one given up, not the one a fresh delivery used earlier.
#[tokio::test]
async fn a_stale_message_does_not_keep_its_certificate_in_use() {
    let (urls, time, cache) = three_certificates_two_places();
    let verifier = sns_verifier(cache.clone());
    // The same cache, two hours on: every message is stale to it.
    let late = sns::verifier_fetching(cache.clone(), [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(NOW_MS + 7_200_000)));
    let bodies: Vec<String> = (0..3)
        .map(|n| sns_body(&urls[n], TOPIC, &format!("m-{n}")))
        .collect();
    let request = |n: usize| WebhookRequest::new(bodies[n].as_bytes());
    for n in 0..2 {
        verifier.fetch_keys(&request(n)).expect("a fetch").await;
        time.advance(Duration::from_millis(2));
    }
    assert!(verifier.verify(&request(1)).is_ok());
    time.advance(Duration::from_millis(2));
    let stale = late.verify(&request(0)).unwrap_err();
    assert_eq!(stale.kind(), VerifyErrorKind::TimestampTooOld);
    time.advance(Duration::from_millis(2));
    verifier.fetch_keys(&request(2)).expect("a fetch").await;
    assert_eq!(cache.len(), 2);
    assert!(verifier.verify(&request(1)).is_ok(), "the one in use stays");
    assert_eq!(verifier.verify(&request(0)).unwrap_err().status(), 503);
}

#[tokio::test]
async fn made_up_addresses_cannot_push_out_a_certificate_in_use() {
    let served = Arc::new(Served::default());
    let url = |n: usize| {
        format!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n:032x}.pem")
    };
    for n in [0, 7, 8] {
        served.serve(&url(n), Ok(fixture("fetch/signing-cert.pem")));
    }
    let cache = CertificateCache::builder(Fetcher(served.clone()))
        .clock(clock(NOW_MS))
        .capacity(2)
        .build();
    let verifier = sns_verifier(cache.clone());
    let bodies: Vec<String> = (0..9)
        .map(|n| sns_body(&url(n), TOPIC, &format!("m-{n}")))
        .collect();
    let request = |n: usize| WebhookRequest::new(bodies[n].as_bytes());

    // The certificate in use verifies a delivery.
    verifier.fetch_keys(&request(0)).expect("a fetch").await;
    assert!(verifier.verify(&request(0)).is_ok());
    // Made-up addresses (404) fill the other place, and only it.
    for n in 1..6 {
        verifier.fetch_keys(&request(n)).expect("a fetch").await;
        assert_eq!(verifier.verify(&request(n)).unwrap_err().status(), 503);
        assert!(verifier.verify(&request(0)).is_ok(), "after {n}");
    }
    // Genuine certificates that verify nothing take the place of a failure, then of each
    // other, never of the one in use.
    for n in [7, 8] {
        verifier.fetch_keys(&request(n)).expect("a fetch").await;
        assert_eq!(cache.len(), 2);
    }
    assert!(verifier.fetch_keys(&request(0)).is_none());
    assert!(verifier.verify(&request(0)).is_ok());
    assert!(verifier.verify(&request(8)).is_ok());
    assert_eq!(verifier.verify(&request(7)).unwrap_err().status(), 503);
    assert_eq!(served.fetches(), 8);
}

// ---------------------------------------------------------------------------------------------
// PayPal on the cache

/// PayPal's headers for `body`, with `replace` swapped in.
fn paypal_headers(body: &[u8], replace: Option<(&str, &str)>) -> Vec<(String, String)> {
    let headers = paypal::signer(signing_key(), PAYPAL_CERT_URL, WEBHOOK_ID)
        .unwrap()
        .clock(clock(NOW_MS))
        .sign(&Outgoing::new(body))
        .unwrap();
    headers
        .iter()
        .map(|(name, value)| match replace {
            Some((n, v)) if name.eq_ignore_ascii_case(n) => (name.to_owned(), v.to_owned()),
            _ => (name.to_owned(), value.to_owned()),
        })
        .collect()
}

#[tokio::test]
async fn paypal_fetches_the_certificate_a_delivery_names() {
    let served = Served::with(PAYPAL_CERT_URL, Ok(fixture("fetch/signing-cert.pem")));
    let cache = cache(&served);
    let verifier = paypal::verifier_fetching(cache.clone(), WEBHOOK_ID)
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_ms(NOW_MS + 1_000)));
    let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
    let headers = paypal_headers(body, None);
    let request = WebhookRequest::new(body).with_headers(&headers);

    assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    verifier.fetch_keys(&request).expect("a fetch").await;
    let proof = verifier.verify(&request).unwrap();
    assert_eq!(proof.scheme(), "paypal");
    assert!(verifier.fetch_keys(&request).is_none());

    // Tampered body: 401 (CRC-32 differs).
    let tampered = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.REFUNDED"}"#;
    let forged = WebhookRequest::new(tampered).with_headers(&headers);
    assert_eq!(
        verifier.verify(&forged).unwrap_err().kind(),
        VerifyErrorKind::InvalidSignature
    );

    // Another algorithm or an address of another shape: no fetch.
    for replace in [
        ("paypal-auth-algo", "SHA1withRSA"),
        (
            "paypal-cert-url",
            "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        ),
        (
            "paypal-cert-url",
            "https://api-m.paypal.com/v1/notifications/certs/CERT-other",
        ),
    ] {
        let headers = paypal_headers(body, Some(replace));
        let request = WebhookRequest::new(body).with_headers(&headers);
        let fetch = verifier.fetch_keys(&request);
        // A PayPal address not held is fetched (and 404s here); the others never are.
        assert_eq!(
            fetch.is_some(),
            replace.1.ends_with("CERT-other"),
            "{replace:?}"
        );
        if let Some(fetch) = fetch {
            fetch.await;
        }
    }
    assert_eq!(served.fetches(), 2);
}

// ---------------------------------------------------------------------------------------------
// the pipeline

#[tokio::test]
async fn the_pipeline_fetches_after_admission_only() {
    let served = served_signing_cert();
    let receiver = Receiver::builder()
        .verifier(sns_verifier(cache(&served)))
        .allow_sources(["10.0.0.0/8"])
        .rate_limit(RateLimit::per_minute(1))
        .build()
        .unwrap();
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let inside: SocketAddr = "10.1.2.3:5000".parse().unwrap();
    let outside: SocketAddr = "192.0.2.1:5000".parse().unwrap();

    // Refused by the allowlist: no fetch.
    let request = WebhookRequest::new(body.as_bytes()).with_peer(outside);
    let mut refused = receiver.delivery();
    assert_eq!(refused.admit(&request, false).unwrap_err().status(), 403);
    assert!(refused.fetch_keys(&request).is_none());
    assert_eq!(served.fetches(), 0);

    // Admitted: the fetch, then authentication.
    let request = WebhookRequest::new(body.as_bytes()).with_peer(inside);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.fetch_keys(&request).expect("a fetch").await;
    assert_eq!(
        delivery.authenticate(&request).unwrap().message_id(),
        Some("m-1")
    );
    assert_eq!(served.fetches(), 1);

    // Rate limited (one a minute): refused before any fetch would happen.
    let mut limited = receiver.delivery();
    assert_eq!(limited.admit(&request, false).unwrap_err().status(), 429);
    assert!(limited.fetch_keys(&request).is_none());
}

#[tokio::test]
async fn an_unfetched_certificate_is_counted_and_answered_503() {
    let served = Served::with(SNS_CERT_URL, Err("connection refused"));
    let receiver = Receiver::builder()
        .verifier(sns_verifier(cache(&served)))
        .build()
        .unwrap();
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.fetch_keys(&request).expect("a fetch").await;
    let error = delivery.authenticate(&request).unwrap_err();
    let reply = receiver.reply_for(&error);
    assert_eq!(reply.status(), 503);
    assert!(reply.body().contains("key_unavailable"));
    assert!(
        reply
            .headers()
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("retry-after") && value == "15")
    );
    assert_eq!(
        receiver.stats().rejected(VerifyErrorKind::KeyUnavailable),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// HttpsFetcher against a TLS server on loopback

/// A one-file HTTPS server on 127.0.0.1 with the test CA's server certificate (for
/// `sns.us-east-1.amazonaws.com`, `api-m.paypal.com` and 127.0.0.1): each path answers the
/// status and body given; every connection is closed after one answer.
async fn https_server(routes: HashMap<&'static str, (u16, Vec<u8>)>) -> SocketAddr {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain =
        vec![CertificateDer::from_pem_slice(&fixture("fetch/tls-server-cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(&fixture("fetch/tls-server-key.pem")).unwrap();
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let routes = routes.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, body) = routes
                    .get(path.as_str())
                    .cloned()
                    .unwrap_or((404, Vec::new()));
                let extra = if status == 302 {
                    "Location: https://sns.us-east-1.amazonaws.com/elsewhere.pem\r\n"
                } else {
                    ""
                };
                // Paths under /stream/ answer without a length: the body ends with the
                // connection.
                let length = if path.starts_with("/stream/") {
                    String::new()
                } else {
                    format!("Content-Length: {}\r\n", body.len())
                };
                let answer =
                    format!("HTTP/1.1 {status} X\r\n{length}{extra}Connection: close\r\n\r\n");
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// A client of its own that trusts the test CA and sends the provider's host names to `addr`.
fn test_client(addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([test_ca()])
        .resolve("sns.us-east-1.amazonaws.com", addr)
        .resolve("api-m.paypal.com", addr)
        .no_proxy()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn test_ca() -> reqwest::Certificate {
    reqwest::Certificate::from_pem(&fixture("fetch/test-ca.pem")).unwrap()
}

/// The error and its causes, in one line.
fn chain(error: &FetchError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(" / ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn https_fetcher_fetches_over_tls_and_the_verifier_uses_the_certificate() {
    let addr = https_server(HashMap::from([(
        "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        (200, fixture("fetch/signing-cert.pem")),
    )]))
    .await;
    let fetcher = HttpsFetcher::with_client(test_client(addr));
    let pem = fetcher.fetch(SNS_CERT_URL).await.unwrap();
    assert_eq!(pem, fixture("fetch/signing-cert.pem"));

    let cache = CertificateCache::builder(fetcher)
        .clock(clock(NOW_MS))
        .build();
    let verifier = sns_verifier(cache);
    let body = sns_body(SNS_CERT_URL, TOPIC, "m-1");
    let request = WebhookRequest::new(body.as_bytes());
    verifier.fetch_keys(&request).expect("a fetch").await;
    assert!(verifier.verify(&request).is_ok());
}

#[tokio::test]
async fn https_fetcher_refuses_errors_redirects_large_documents_and_plain_http() {
    let addr = https_server(HashMap::from([
        ("/large.pem", (200, vec![b'A'; HttpsFetcher::MAX_BYTES + 1])),
        (
            "/stream/large.pem",
            (200, vec![b'A'; HttpsFetcher::MAX_BYTES + 1]),
        ),
        ("/limit.pem", (200, vec![b'A'; HttpsFetcher::MAX_BYTES])),
        (
            "/stream/limit.pem",
            (200, vec![b'A'; HttpsFetcher::MAX_BYTES]),
        ),
        ("/gone.pem", (410, b"gone".to_vec())),
        ("/moved.pem", (302, Vec::new())),
    ]))
    .await;
    // The client `HttpsFetcher::new` builds, with the test CA in place of Mozilla's roots
    // (the server's certificate names 127.0.0.1).
    let fetcher = HttpsFetcher::with_root_certificates([test_ca()]).unwrap();
    let url = |path: &str| format!("https://127.0.0.1:{}{path}", addr.port());
    // Too large, by its declared length and by what arrives without one.
    for path in ["/large.pem", "/stream/large.pem"] {
        let error = fetcher.fetch(&url(path)).await.unwrap_err();
        assert!(error.to_string().contains("too large"), "{path}: {error}");
    }
    for path in ["/limit.pem", "/stream/limit.pem"] {
        let document = fetcher.fetch(&url(path)).await.unwrap();
        assert_eq!(document.len(), HttpsFetcher::MAX_BYTES, "{path}");
    }
    // Nothing there (410, 404): the document is gone, which withdraws a certificate held.
    for (path, status) in [("/gone.pem", "410"), ("/nothing.pem", "404")] {
        let error = fetcher.fetch(&url(path)).await.unwrap_err();
        assert!(error.to_string().contains(status), "{error}");
        assert!(error.is_gone(), "{path}");
        assert!(format!("{error:?}").contains("gone: true"), "{error:?}");
    }
    // A redirect is not followed, and says nothing of the document.
    let error = fetcher.fetch(&url("/moved.pem")).await.unwrap_err();
    assert!(error.to_string().contains("302"), "{error}");
    assert!(!error.is_gone());
    let error = fetcher
        .fetch(&format!("http://127.0.0.1:{}/limit.pem", addr.port()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("https"), "{error}");
}

#[tokio::test]
async fn https_fetcher_new_trusts_only_public_roots() {
    // The loopback server's certificate is from the test CA, which Mozilla's roots do not
    // hold: the default fetcher refuses the server's certificate.
    let addr = https_server(HashMap::from([(
        "/x.pem",
        (200, fixture("fetch/signing-cert.pem")),
    )]))
    .await;
    let fetcher = HttpsFetcher::new().unwrap();
    let error = fetcher
        .fetch(&format!("https://127.0.0.1:{}/x.pem", addr.port()))
        .await
        .unwrap_err();
    let text = chain(&error);
    assert!(text.contains("UnknownIssuer"), "{text}");
    // `Debug` names the fetcher, not the address it was asked for.
    let debug = format!("{fetcher:?}");
    assert!(debug.starts_with("HttpsFetcher {"), "{debug}");
    assert!(!debug.contains("127.0.0.1"), "{debug}");
}
