//! JWT keys fetched from a JWKS address (feature `fetch`): the first delivery fetches, later
//! ones reuse the keys; a rotation to a new `kid` refetches once; unknown `kid`s refetch at
//! most once per interval and are answered 503 meanwhile; failures keep the keys held, up to
//! `max_stale`; no keys fail closed with 503; the refresh interval on the injected clock, a
//! clock that steps back; one fetch for concurrent deliveries, run to its end whatever
//! becomes of the delivery that started it; `https` only; symmetric keys never used; the
//! pipeline; and nothing of a token or document in logs, errors or `Debug`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use webhook_core::{
    CertificateFetcher, FetchError, FetchFuture, FixedClock, HttpsFetcher, JwksCache, JwtBearer,
    JwtSigner, MAX_KEY_FETCHES, Outgoing, Proof, Receiver, Signer, Verifier, VerifyError,
    VerifyErrorKind, WebhookRequest,
};

use crate::fetch::{block_on, poll_once};
use crate::pipeline::Captured;

const NOW: i64 = 1_700_000_000;
const URL: &str = "https://issuer.example/.well-known/jwks.json";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "https://receiver.example/webhooks/push";
const HS_SECRET: &str = "jwks-oct-secret-hunter2-0123456789-long-enough";

const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/rsa-private.pem");
const RSA2_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/rsa2-private.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/ec-private.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/ed25519-private.pem");

// ---------------------------------------------------------------------------------------------
// the issuer's side: keys, documents, tokens

/// A signing key of the issuer: its private PEM, algorithm, and the `kid` it is published as.
#[derive(Clone, Copy)]
struct IssuerKey {
    pem: &'static [u8],
    alg: Algorithm,
    kid: &'static str,
}

const ED: IssuerKey = IssuerKey {
    pem: ED_PRIVATE,
    alg: Algorithm::EdDSA,
    kid: "ed-2025",
};
const EC: IssuerKey = IssuerKey {
    pem: EC_PRIVATE,
    alg: Algorithm::ES256,
    kid: "ec-2026",
};
const RSA: IssuerKey = IssuerKey {
    pem: RSA_PRIVATE,
    alg: Algorithm::RS256,
    kid: "rsa-1",
};
const RSA2: IssuerKey = IssuerKey {
    pem: RSA2_PRIVATE,
    alg: Algorithm::RS256,
    kid: "rsa-2",
};

impl IssuerKey {
    /// Its public JWK, as the issuer publishes it.
    fn jwk(self) -> Value {
        let key = match self.alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(self.pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.pem),
            _ => EncodingKey::from_rsa_pem(self.pem),
        }
        .unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.to_owned());
        serde_json::to_value(&jwk).unwrap()
    }

    fn signer(self) -> JwtSigner {
        match self.alg {
            Algorithm::EdDSA => JwtSigner::ed25519_pem(self.pem),
            Algorithm::ES256 => JwtSigner::ec_pem(self.pem),
            _ => JwtSigner::rsa_pem(self.pem),
        }
        .unwrap()
        .key_id(self.kid)
    }
}

/// A JWKS document of these keys.
fn document(keys: &[Value]) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

fn published(keys: &[IssuerKey]) -> Vec<u8> {
    document(&keys.iter().map(|k| k.jwk()).collect::<Vec<_>>())
}

/// `Authorization` of a token the issuer signs with `key`, at the clock's time.
fn bearer(signer: JwtSigner, clock: &Arc<FixedClock>) -> String {
    let headers = signer
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    headers.get("authorization").unwrap().to_owned()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A forged token: a header naming `kid`, claims the verifier would accept, and a signature
/// of nobody's (the forger has no key of the issuer's).
fn forged(alg: &str, kid: &str) -> String {
    forged_with(&json!({"alg": alg, "typ": "JWT", "kid": kid}))
}

/// A forged token with this header.
fn forged_with(header: &Value) -> String {
    let header = header.to_string();
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": NOW, "exp": NOW + 300}).to_string();
    format!(
        "Bearer {}.{}.{}",
        b64(header.as_bytes()),
        b64(claims.as_bytes()),
        b64(&[7u8; 64])
    )
}

// ---------------------------------------------------------------------------------------------
// the fetcher

/// What the fetcher serves, how often it was asked, and a gate that can hold each fetch.
#[derive(Debug, Default)]
struct Served {
    document: Mutex<Option<Result<Vec<u8>, String>>>,
    fetches: AtomicUsize,
    urls: Mutex<Vec<String>>,
    gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

impl Served {
    fn with(document: Vec<u8>) -> Arc<Self> {
        let served = Arc::new(Self::default());
        served.serve(Ok(document));
        served
    }

    fn serve(&self, document: Result<Vec<u8>, &str>) {
        *self.document.lock().unwrap() = Some(document.map_err(str::to_owned));
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

#[derive(Debug)]
struct Fetcher(Arc<Served>);

impl CertificateFetcher for Fetcher {
    fn fetch(&self, url: &str) -> FetchFuture {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        self.0.urls.lock().unwrap().push(url.to_owned());
        let document = self.0.document.lock().unwrap().clone();
        let gate = self.0.gate.lock().unwrap().clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
            match document {
                Some(Ok(bytes)) => Ok(bytes),
                Some(Err(message)) => Err(FetchError::new(message)),
                None => Err(FetchError::new("answered 404 instead of 200")),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// the receiver's side

/// A cache on `served`, a verifier on it, and the clock both read.
struct Rig {
    served: Arc<Served>,
    clock: Arc<FixedClock>,
    cache: JwksCache,
    verifier: JwtBearer,
}

impl Rig {
    fn new(served: &Arc<Served>) -> Self {
        let clock = Arc::new(FixedClock::at_secs(NOW));
        let cache = JwksCache::builder(URL, Fetcher(served.clone()))
            .clock(clock.clone())
            .build()
            .unwrap();
        let verifier = JwtBearer::from_jwks_cache(cache.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .clock(clock.clone());
        Self {
            served: served.clone(),
            clock,
            cache,
            verifier,
        }
    }

    fn serving(keys: &[IssuerKey]) -> Self {
        Self::new(&Served::with(published(keys)))
    }

    fn bearer(&self, key: IssuerKey) -> String {
        bearer(key.signer(), &self.clock)
    }

    /// What the pipeline does: await each fetch the verifier asks for (at most
    /// `MAX_KEY_FETCHES`), then verify. Answers the outcome and whether it fetched.
    async fn deliver(&self, authorization: &str) -> Result<Proof, VerifyError> {
        deliver(&self.verifier, authorization).await
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

async fn deliver(verifier: &JwtBearer, authorization: &str) -> Result<Proof, VerifyError> {
    let request = WebhookRequest::new(b"{}").with_header("Authorization", authorization);
    for _ in 0..MAX_KEY_FETCHES {
        match verifier.fetch_keys(&request) {
            Some(fetch) => fetch.await,
            None => break,
        }
    }
    verifier.verify(&request)
}

/// A token whose `kid` the set held lacks: 503 `key_unavailable`, as for no keys at all (the
/// default message, whatever the `kid`), with `Retry-After` the time until a refetch may
/// run, which is answered.
#[track_caller]
fn assert_unknown_kid(result: Result<Proof, VerifyError>) -> Duration {
    let error = result.unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable, "{error}");
    assert_eq!(error.status(), 503);
    assert_eq!(
        error.message(),
        VerifyError::new(VerifyErrorKind::KeyUnavailable).message()
    );
    assert!(error.www_authenticate().is_none());
    let wait = error.retry_after().expect("Retry-After");
    assert!(wait >= Duration::from_secs(1), "{wait:?}");
    wait
}

// ---------------------------------------------------------------------------------------------
// first need, reuse, rotation

#[tokio::test]
async fn the_first_delivery_fetches_once_and_later_ones_reuse_the_keys() {
    let rig = Rig::serving(&[ED, RSA]);
    let first = rig.bearer(ED);
    assert!(rig.cache.is_empty());

    let proof = rig.deliver(&first).await.unwrap();
    assert_eq!(proof.scheme(), "jwt");
    assert_eq!(proof.key_id(), Some("ed-2025"), "the fetched key's own kid");
    assert_eq!(rig.served.fetches(), 1);
    assert_eq!(rig.cache.len(), 2);
    assert_eq!(*rig.served.urls.lock().unwrap(), [URL]);

    // A second delivery, with either key: nothing to fetch.
    let second = rig.bearer(RSA);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &second);
    assert!(rig.verifier.fetch_keys(&request).is_none());
    assert_eq!(
        rig.deliver(&second).await.unwrap().key_id(),
        Some("rsa-1"),
        "an RSA key of the set verifies too"
    );
    assert!(rig.deliver(&first).await.is_ok());
    assert_eq!(rig.served.fetches(), 1);
}

#[tokio::test]
async fn a_rotation_to_a_new_kid_refetches_once_then_verifies() {
    let rig = Rig::serving(&[RSA]);
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
    assert_eq!(rig.served.fetches(), 1);

    // The issuer publishes its next key and signs with it, some minutes later.
    rig.served.serve(Ok(published(&[RSA, RSA2])));
    rig.advance(Duration::from_secs(10 * 60));
    let rotated = rig.bearer(RSA2);
    assert_eq!(rig.deliver(&rotated).await.unwrap().key_id(), Some("rsa-2"));
    assert_eq!(rig.served.fetches(), 2, "one refetch for the new kid");
    assert_eq!(rig.cache.len(), 2);

    // Both keys verify now, without another fetch.
    assert!(rig.deliver(&rotated).await.is_ok());
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
    assert_eq!(rig.served.fetches(), 2);

    // The issuer drops the old key: once refetched, it no longer verifies.
    rig.served.serve(Ok(published(&[RSA2])));
    rig.advance(Duration::from_secs(60 * 60));
    assert!(rig.deliver(&rig.bearer(RSA2)).await.is_ok());
    assert_eq!(rig.served.fetches(), 3, "the hourly refresh");
    assert_eq!(rig.cache.len(), 1);
    let old = rig.bearer(RSA);
    assert_unknown_kid(rig.deliver(&old).await);
}

#[tokio::test]
async fn a_new_kid_right_after_a_fetch_is_503_until_the_interval_has_passed() {
    let rig = Rig::serving(&[ED]);
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    // The issuer rotates a minute after our fetch: the new kid waits for the interval, and
    // its sender is told how long (it retries rather than giving up).
    rig.served.serve(Ok(published(&[ED, EC])));
    rig.advance(Duration::from_secs(60));
    let wait = assert_unknown_kid(rig.deliver(&rig.bearer(EC)).await);
    assert_eq!(wait, Duration::from_secs(4 * 60));
    assert_eq!(rig.served.fetches(), 1);
    rig.advance(Duration::from_secs(3 * 60));
    let wait = assert_unknown_kid(rig.deliver(&rig.bearer(EC)).await);
    assert_eq!(wait, Duration::from_secs(60));
    assert_eq!(rig.served.fetches(), 1);
    rig.advance(wait);
    assert_eq!(
        rig.deliver(&rig.bearer(EC)).await.unwrap().key_id(),
        Some("ec-2026")
    );
    assert_eq!(rig.served.fetches(), 2);
}

// ---------------------------------------------------------------------------------------------
// forged kids

/// 150 forged tokens, each naming a new made-up `kid` (the forger chooses them).
fn made_up_kids(n: &mut u64) -> Vec<String> {
    (0..150)
        .map(|_| {
            *n += 1;
            let kid = format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            forged(["RS256", "ES256", "EdDSA"][(*n % 3) as usize], &kid)
        })
        .collect()
}

#[tokio::test]
async fn a_flood_of_unknown_kids_is_503_and_refetches_at_most_once_per_interval() {
    let rig = Rig::serving(&[RSA]);
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
    assert_eq!(rig.served.fetches(), 1);

    // A made-up kid every 2 seconds for 20 minutes: 600 forged tokens, 4 intervals of 5
    // minutes. Each interval allows one refetch, however many made-up kids arrive in it.
    let mut n = 0u64;
    for round in 1..=4 {
        for token in made_up_kids(&mut n) {
            rig.advance(Duration::from_secs(2));
            let wait = assert_unknown_kid(rig.deliver(&token).await);
            assert!(wait <= Duration::from_secs(5 * 60), "{wait:?}");
        }
        assert_eq!(rig.served.fetches(), 1 + round);
    }
    // The genuine key still verifies throughout.
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
    assert_eq!(rig.served.fetches(), 5);
}

#[tokio::test]
async fn a_token_no_fetched_key_could_verify_fetches_nothing() {
    let rig = Rig::serving(&[ED]);
    for authorization in [
        String::new(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer not-a-jwt".to_owned(),
        "Bearer e30.e30.e30".to_owned(),
        // HMAC: a fetched set holds no shared secret.
        forged("HS256", "sym"),
        forged("none", "ed-2025"),
        forged("ES384", "ed-2025"),
    ] {
        let request = WebhookRequest::new(b"{}").with_header("Authorization", &authorization);
        assert!(
            rig.verifier.fetch_keys(&request).is_none(),
            "{authorization:?} caused a fetch"
        );
    }
    assert_eq!(rig.served.fetches(), 0);
    let no_header = WebhookRequest::new(b"{}");
    assert!(rig.verifier.fetch_keys(&no_header).is_none());
    assert_eq!(
        rig.verifier.verify(&no_header).unwrap_err().kind(),
        VerifyErrorKind::MissingCredentials
    );
}

// ---------------------------------------------------------------------------------------------
// failures

#[tokio::test]
async fn a_failed_fetch_or_a_bad_document_keeps_the_keys_held() {
    let rig = Rig::serving(&[ED]);
    let token = rig.bearer(ED);
    assert!(rig.deliver(&token).await.is_ok());

    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::INFO, false));
    let oct_only = document(&[json!({"kty": "oct", "kid": "sym", "k": b64(HS_SECRET.as_bytes())})]);
    let bad: [Result<Vec<u8>, &str>; 5] = [
        Err("answered 500 instead of 200"),
        Ok(b"<html>hunter2-document-marker</html>".to_vec()),
        Ok(br#"{"keys": "hunter2-document-marker"}"#.to_vec()),
        Ok(oct_only),
        Ok(vec![b' '; 300 * 1024]),
    ];
    let mut fetches = 1;
    for document in bad {
        rig.served.serve(document);
        // Past the refresh interval: the next delivery fetches, fails, and still verifies
        // with the key held.
        rig.advance(Duration::from_secs(60 * 60));
        let token = rig.bearer(ED);
        assert_eq!(rig.deliver(&token).await.unwrap().key_id(), Some("ed-2025"));
        fetches += 1;
        assert_eq!(rig.served.fetches(), fetches);
        assert_eq!(rig.cache.len(), 1);
        // Held off: the next delivery does not fetch again within the delay.
        let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
        assert!(rig.verifier.fetch_keys(&request).is_none());
        assert_unknown_kid(rig.deliver(&rig.bearer(EC)).await);
        assert_eq!(rig.served.fetches(), fetches);
    }
    // After the delay, with the issuer back, a delivery fetches again.
    rig.served.serve(Ok(published(&[ED, EC])));
    rig.advance(Duration::from_secs(60));
    assert!(rig.deliver(&rig.bearer(EC)).await.is_ok());
    assert_eq!(rig.served.fetches(), fetches + 1);

    let logs = captured.text();
    assert_eq!(
        logs.matches("the keys fetched before stay in use").count(),
        5,
        "{logs}"
    );
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains(URL), "the address is logged: {logs}");
    assert!(
        logs.contains("answered 500"),
        "the reason is logged: {logs}"
    );
    assert!(!logs.contains("hunter2"), "no document content: {logs}");
    assert!(!logs.contains(&b64(HS_SECRET.as_bytes())), "{logs}");
    assert!(!logs.contains("eyJ"), "no token: {logs}");
}

#[tokio::test]
async fn with_no_keys_a_delivery_fails_closed_with_503_and_retry_after() {
    let served = Arc::new(Served::default());
    served.serve(Err("connection refused"));
    let rig = Rig::new(&served);
    let token = rig.bearer(ED);

    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    let error = rig.deliver(&token).await.unwrap_err();
    // What SNS answers for a signing certificate it cannot fetch: 503 `key_unavailable`.
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.status(), 503);
    assert_eq!(error.code(), "key_unavailable");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
    assert!(!error.to_string().contains("refused"), "logged, not told");
    assert_eq!(served.fetches(), 1);
    assert!(captured.text().contains("ERROR"), "{}", captured.text());

    // Held off for the delay: 503 without a fetch, Retry-After counting down.
    rig.advance(Duration::from_secs(20));
    let error = rig.deliver(&token).await.unwrap_err();
    assert_eq!(error.status(), 503);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(40)));
    assert_eq!(served.fetches(), 1);

    // A garbage document is no better than none.
    served.serve(Ok(b"{}".to_vec()));
    rig.advance(Duration::from_secs(40));
    assert_eq!(rig.deliver(&token).await.unwrap_err().status(), 503);
    assert_eq!(served.fetches(), 2);

    // Back: the next delivery after the delay verifies.
    served.serve(Ok(published(&[ED])));
    rig.advance(Duration::from_secs(60));
    let token = rig.bearer(ED);
    assert!(rig.deliver(&token).await.is_ok());
    assert_eq!(served.fetches(), 3);
}

/// A fetch that never ends (a fetcher whose client has no timeout, an address that stalls)
/// is ended as failed at the cache's `fetch_deadline`: the waiting delivery is answered 503,
/// the failure is logged, and a later fetch can start (before, the one in flight was never
/// cleared and every later delivery waited on it). The deadline is timed by a thread, so a
/// runtime without timers (this test's) times it as well.
#[test]
fn a_fetch_that_never_ends_is_ended_at_the_deadline() {
    let served = Served::with(published(&[ED]));
    let _never = served.hold();
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let cache = JwksCache::builder(URL, Fetcher(served.clone()))
        .clock(clock.clone())
        .fetch_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let verifier = JwtBearer::from_jwks_cache(cache)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone());
    let token = bearer(ED.signer(), &clock);
    let captured = Captured::default();
    // One delivery on a runtime without timers, in a thread of its own, so that the test
    // fails rather than hangs should the deadline not end the fetch.
    let deliver_once = || {
        let (verifier, token, captured) = (verifier.clone(), token.clone(), captured.clone());
        let (answered, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _logs =
                tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let _ = answered.send(runtime.block_on(deliver(&verifier, &token)));
        });
        answer
            .recv_timeout(Duration::from_secs(30))
            .expect("the deadline ends the fetch")
    };

    let started = std::time::Instant::now();
    let error = deliver_once().unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
    assert!(
        captured.text().contains("did not end within its deadline"),
        "{}",
        captured.text()
    );
    assert_eq!(served.fetches(), 1);

    // The fetch is over: after the failure's delay the next delivery fetches again.
    *served.gate.lock().unwrap() = None;
    clock.advance(Duration::from_secs(60));
    assert!(deliver_once().is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn verify_without_the_key_step_is_503_never_401() {
    let rig = Rig::serving(&[ED]);
    let token = rig.bearer(ED);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    let error = rig.verifier.verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(rig.served.fetches(), 0);
}

#[tokio::test]
async fn past_max_stale_the_keys_are_dropped_and_deliveries_are_503() {
    let served = Served::with(published(&[ED]));
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let cache = JwksCache::builder(URL, Fetcher(served.clone()))
        .max_stale(Duration::from_secs(3 * 60 * 60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = JwtBearer::from_jwks_cache(cache.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone());
    let ed = || bearer(ED.signer(), &clock);
    assert_eq!(cache.fetched_ago(), None);
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(cache.fetched_ago(), Some(Duration::ZERO));

    // The issuer goes down (or egress is blocked).
    served.serve(Err("connection refused"));
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    let overdue = "older than the refresh interval and the retry delay";
    clock.advance(Duration::from_secs(60 * 60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 2);
    assert_eq!(cache.fetched_ago(), Some(Duration::from_secs(60 * 60)));
    assert!(!captured.text().contains(overdue), "{}", captured.text());
    // Older than a refresh and a retry: ERROR, once.
    for fetches in 3..6 {
        clock.advance(Duration::from_secs(61));
        assert!(deliver(&verifier, &ed()).await.is_ok());
        assert_eq!(served.fetches(), fetches);
    }
    let logs = captured.text();
    assert_eq!(logs.matches(overdue).count(), 1, "{logs}");
    assert!(logs.contains("ERROR"), "{logs}");
    assert_eq!(logs.matches("WARN").count(), 3, "{logs}");

    // Past max_stale: the keys are dropped, and deliveries fail closed.
    clock.set_ms((NOW + 3 * 60 * 60 + 1) * 1000);
    let error = deliver(&verifier, &ed()).await.unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::KeyUnavailable);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(served.fetches(), 6, "a fetch, which failed");
    assert_eq!(cache.fetched_ago(), None);
    assert!(cache.is_empty());
    let logs = captured.text();
    assert_eq!(logs.matches("jwks dropped").count(), 1, "{logs}");
    assert!(logs.contains("deliveries are refused (503)"), "{logs}");

    // The issuer back: the next delivery after the delay fetches and verifies.
    served.serve(Ok(published(&[ED])));
    clock.advance(Duration::from_secs(60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(cache.fetched_ago(), Some(Duration::ZERO));
    assert_eq!(served.fetches(), 7);
}

#[tokio::test]
async fn a_set_older_than_max_stale_is_not_used_even_before_a_fetch_fails() {
    // No delivery for two days: the first one after waits for a fetch, and the old set
    // verifies nothing meanwhile.
    let rig = Rig::serving(&[RSA]);
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
    rig.served.serve(Ok(published(&[RSA2])));
    rig.advance(Duration::from_secs(2 * 24 * 60 * 60));
    assert_eq!(rig.cache.len(), 0);
    let token = rig.bearer(RSA);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    assert_eq!(rig.verifier.verify(&request).unwrap_err().status(), 503);
    // The revoked key is gone once fetched: its tokens are answered as unknown.
    assert_unknown_kid(rig.deliver(&rig.bearer(RSA)).await);
    assert!(rig.deliver(&rig.bearer(RSA2)).await.is_ok());
    assert_eq!(rig.served.fetches(), 2);
}

#[tokio::test]
async fn keys_without_a_kid_serve_any_kid_without_refetches() {
    // An issuer that publishes its key without `kid`.
    let mut unnamed = ED.jwk();
    unnamed.as_object_mut().unwrap().remove("kid");
    let served = Served::with(document(&[unnamed]));
    let rig = Rig::new(&served);
    for (n, kid) in ["ed-2025", "something-else", "another-one"]
        .into_iter()
        .enumerate()
    {
        // Each past the refetch interval, none past the refresh interval.
        rig.advance(Duration::from_secs(6 * 60 * u64::try_from(n).unwrap()));
        let signer = JwtSigner::ed25519_pem(ED_PRIVATE).unwrap().key_id(kid);
        let proof = rig.deliver(&bearer(signer, &rig.clock)).await.unwrap();
        assert_eq!(proof.key_id(), None, "the key has no id of its own");
    }
    assert_eq!(
        rig.served.fetches(),
        1,
        "a key without an id is no unknown kid"
    );
}

#[tokio::test]
async fn a_clock_that_steps_back_counts_as_time_passed() {
    let rig = Rig::serving(&[ED]);
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    // The clock goes back an hour: a refresh is due, and nothing holds it off.
    rig.clock.set_ms((NOW - 60 * 60) * 1000);
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    assert_eq!(rig.served.fetches(), 2);
    assert_eq!(rig.cache.fetched_ago(), Some(Duration::ZERO));
    // From then on, on the new time.
    rig.advance(Duration::from_secs(59 * 60));
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    assert_eq!(rig.served.fetches(), 2);

    // With no key and a failing issuer, a step back neither stretches the hold-off nor the
    // Retry-After past `retry_after_failure`.
    let served = Arc::new(Served::default());
    served.serve(Err("connection refused"));
    let down = Rig::new(&served);
    let token = down.bearer(ED);
    assert_eq!(
        down.deliver(&token).await.unwrap_err().retry_after(),
        Some(Duration::from_secs(60))
    );
    down.clock.set_ms((NOW - 24 * 60 * 60) * 1000);
    let error = down.deliver(&token).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(served.fetches(), 1);
    served.serve(Ok(published(&[ED])));
    down.advance(Duration::from_secs(60));
    assert!(down.deliver(&down.bearer(ED)).await.is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn a_refused_fetched_set_never_quotes_its_kids() {
    // Nine keys of one id and algorithm: a token naming it would meet more than 8.
    let kid = "kid-marker-\u{1b}[31m<script>";
    let mut key = RSA.jwk();
    key["kid"] = json!(kid);
    let served = Served::with(document(&vec![key; 9]));
    let rig = Rig::new(&served);
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::INFO, false));

    let error = rig.cache.refresh().await.unwrap_err();
    let chain = format!("{error} {error:?}");
    assert!(chain.contains("would be checked against 9 keys"), "{chain}");
    assert!(chain.contains("one of its keys"), "{chain}");
    rig.advance(Duration::from_secs(60));
    let delivered = rig.deliver(&rig.bearer(RSA)).await.unwrap_err();
    assert_eq!(delivered.status(), 503);
    assert_eq!(rig.served.fetches(), 2);
    let logs = captured.text();
    assert_eq!(
        logs.matches("would be checked against").count(),
        2,
        "{logs}"
    );
    for text in [&chain, &logs, &delivered.to_string()] {
        assert!(!text.contains("kid-marker"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// refresh interval, warm-up, single flight

#[tokio::test]
async fn the_refresh_interval_refetches_once_time_has_advanced() {
    let served = Served::with(published(&[ED]));
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let cache = JwksCache::builder(URL, Fetcher(served.clone()))
        .refresh_every(Duration::from_secs(30 * 60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = JwtBearer::from_jwks_cache(cache.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone());
    let ed = || bearer(ED.signer(), &clock);

    assert!(deliver(&verifier, &ed()).await.is_ok());
    clock.advance(Duration::from_secs(29 * 60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 1, "younger than the interval: no fetch");
    clock.advance(Duration::from_secs(60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 2, "as old as the interval: refetched");
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 2);
    // The interval counts from the last fetch.
    clock.advance(Duration::from_secs(30 * 60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 3);
}

#[tokio::test]
async fn refresh_fetches_at_start_up_and_reports_failures() {
    let served = Served::with(published(&[ED, EC, RSA]));
    let rig = Rig::new(&served);
    assert_eq!(rig.cache.refresh().await.unwrap(), 3);
    assert_eq!(served.fetches(), 1);
    // Warm: the first delivery fetches nothing.
    assert!(rig.deliver(&rig.bearer(EC)).await.is_ok());
    assert_eq!(served.fetches(), 1);

    // An explicit refresh fetches whatever the intervals say, and reports a failure,
    // keeping the keys.
    served.serve(Ok(b"not json at all".to_vec()));
    let error = rig.cache.refresh().await.unwrap_err();
    assert!(error.to_string().contains("jwks document"), "{error}");
    assert!(!error.to_string().contains("not json"), "{error}");
    assert_eq!(served.fetches(), 2);
    assert_eq!(rig.cache.len(), 3);
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());

    served.serve(Err("answered 503 instead of 200"));
    let error = rig.cache.refresh().await.unwrap_err();
    assert!(error.to_string().contains("answered 503"), "{error}");
    assert_eq!(rig.cache.len(), 3);
}

#[tokio::test]
async fn concurrent_deliveries_share_one_fetch() {
    let served = Served::with(published(&[ED]));
    let gate = served.hold();
    let rig = Arc::new(Rig::new(&served));
    let token = rig.bearer(ED);

    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let (rig, token) = (rig.clone(), token.clone());
            tokio::spawn(async move {
                rig.deliver(&token)
                    .await
                    .map(|p| p.key_id().map(str::to_owned))
            })
        })
        .collect();
    // A refresh at start-up joins the same fetch.
    let warm = {
        let rig = rig.clone();
        tokio::spawn(async move { rig.cache.refresh().await.map_err(|e| e.to_string()) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(deliveries.iter().all(|d| !d.is_finished()), "all wait");
    assert_eq!(served.fetches(), 1);

    gate.add_permits(1);
    for delivery in deliveries {
        let outcome = tokio::time::timeout(Duration::from_secs(5), delivery)
            .await
            .expect("waiters wake when the fetch ends")
            .unwrap();
        assert_eq!(outcome.unwrap().as_deref(), Some("ed-2025"));
    }
    assert_eq!(warm.await.unwrap(), Ok(1));
    assert_eq!(served.fetches(), 1);
}

#[tokio::test]
async fn deliveries_the_keys_held_can_judge_do_not_wait_for_a_refresh() {
    let served = Served::with(published(&[ED]));
    let rig = Arc::new(Rig::new(&served));
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    let gate = served.hold();
    rig.advance(Duration::from_secs(60 * 60));

    // The first delivery past the interval refreshes, and waits for it...
    let token = rig.bearer(ED);
    let refreshing = {
        let (rig, token) = (rig.clone(), token.clone());
        tokio::spawn(async move { rig.deliver(&token).await.is_ok() })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(served.fetches(), 2);
    // ...the others verify with the keys held meanwhile.
    for _ in 0..3 {
        assert!(rig.deliver(&token).await.is_ok());
    }
    assert!(!refreshing.is_finished());
    gate.add_permits(1);
    assert!(refreshing.await.unwrap());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test]
async fn a_delivery_dropped_mid_fetch_does_not_stop_the_keys_arriving() {
    let served = Served::with(published(&[ED]));
    let gate = served.hold();
    let rig = Rig::new(&served);
    let token = rig.bearer(ED);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::INFO, false));

    // Someone starts a delivery and goes away at once, every second: each time the delivery
    // is dropped mid-fetch. The fetch runs on as a task of its own, and no other starts.
    for _ in 0..5 {
        if let Some(fetch) = rig.verifier.fetch_keys(&request) {
            drop(fetch);
        }
        tokio::task::yield_now().await;
        rig.advance(Duration::from_secs(1));
    }
    assert_eq!(served.fetches(), 1, "one fetch, still in flight");

    // A genuine delivery waits for it, and the keys arrive.
    let waiting = {
        let (verifier, token) = (rig.verifier.clone(), token.clone());
        tokio::spawn(async move {
            deliver(&verifier, &token)
                .await
                .map(|p| p.key_id().map(str::to_owned))
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished());
    gate.add_permits(1);
    let outcome = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiter wakes when the fetch ends")
        .unwrap();
    assert_eq!(outcome.unwrap().as_deref(), Some("ed-2025"));
    assert_eq!(served.fetches(), 1);
    assert_eq!(rig.cache.len(), 1);
    let logs = captured.text();
    assert!(
        logs.contains("jwks fetched"),
        "the outcome is logged: {logs}"
    );
    assert!(!logs.contains("abandoned"), "{logs}");
}

#[tokio::test]
async fn a_fetch_ends_even_when_nobody_awaits_it() {
    let served = Served::with(published(&[ED]));
    let rig = Rig::new(&served);
    let token = rig.bearer(ED);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    // Dropped before it is ever polled: the task still fetches and keeps the keys.
    drop(rig.verifier.fetch_keys(&request).expect("the fetch"));
    tokio::time::timeout(Duration::from_secs(5), async {
        while rig.cache.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the keys arrive");
    assert!(rig.verifier.fetch_keys(&request).is_none());
    assert!(rig.verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 1);
}

#[test]
fn an_abandoned_fetch_lets_a_later_delivery_fetch_again() {
    // No Tokio runtime: the fetch runs inside the future of the delivery that started it,
    // and dropping that future abandons it.
    let served = Served::with(published(&[ED]));
    let gate = served.hold();
    let rig = Rig::new(&served);
    let token = rig.bearer(ED);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));

    let mut first = rig.verifier.fetch_keys(&request).expect("the fetch");
    assert!(poll_once(&mut first).is_pending());
    let waiter = rig.verifier.fetch_keys(&request).expect("a wait");
    // The client of the first delivery goes away mid-fetch.
    drop(first);
    block_on(waiter);
    assert_eq!(rig.verifier.verify(&request).unwrap_err().status(), 503);
    let logs = captured.text();
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("jwks fetch abandoned"), "{logs}");
    assert!(logs.contains(URL), "{logs}");

    // Deliveries start at most one fetch a second: the next one after that fetches.
    assert!(rig.verifier.fetch_keys(&request).is_none());
    rig.advance(Duration::from_secs(1));
    gate.add_permits(1);
    block_on(rig.verifier.fetch_keys(&request).expect("a new fetch"));
    assert!(rig.verifier.verify(&request).is_ok());
    assert_eq!(served.fetches(), 2);
}

#[test]
fn abandoned_fetches_are_logged_at_most_once_a_minute_and_spend_no_refetch_interval() {
    // No Tokio runtime, as above.
    let served = Served::with(published(&[ED]));
    let rig = Rig::new(&served);
    assert_eq!(block_on(rig.cache.refresh()).unwrap(), 1);
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));

    // The issuer rotates; the first deliveries under the new kid are abandoned mid-fetch.
    served.serve(Ok(published(&[ED, EC])));
    let gate = served.hold();
    rig.advance(Duration::from_secs(5 * 60));
    let token = rig.bearer(EC);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    for _ in 0..3 {
        let mut fetch = rig.verifier.fetch_keys(&request).expect("a refetch");
        assert!(poll_once(&mut fetch).is_pending());
        drop(fetch);
        // Only the spacing of a second holds the next one off: not the refetch interval.
        assert!(rig.verifier.fetch_keys(&request).is_none());
        rig.advance(Duration::from_secs(1));
    }
    assert_eq!(served.fetches(), 4);
    let logs = captured.text();
    assert_eq!(logs.matches("jwks fetch abandoned").count(), 1, "{logs}");

    gate.add_permits(1);
    block_on(rig.verifier.fetch_keys(&request).expect("a refetch"));
    assert_eq!(
        rig.verifier.verify(&request).unwrap().key_id(),
        Some("ec-2026")
    );
    assert_eq!(served.fetches(), 5);

    // A minute after the first report, the next abandoned fetch is reported, with the
    // count of those since.
    rig.advance(Duration::from_secs(60 * 60));
    let mut fetch = rig
        .verifier
        .fetch_keys(&request)
        .expect("the hourly refresh");
    assert!(poll_once(&mut fetch).is_pending());
    drop(fetch);
    let logs = captured.text();
    assert_eq!(logs.matches("jwks fetch abandoned").count(), 2, "{logs}");
    assert!(logs.contains("abandoned=3"), "{logs}");
}

#[test]
fn refresh_after_joining_an_abandoned_fetch_fetches_again() {
    let served = Served::with(published(&[ED]));
    let gate = served.hold();
    let rig = Rig::new(&served);
    let token = rig.bearer(ED);
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);

    let mut first = rig.verifier.fetch_keys(&request).expect("the fetch");
    assert!(poll_once(&mut first).is_pending());
    let mut refresh = Box::pin(rig.cache.refresh());
    assert!(
        poll_once(&mut refresh).is_pending(),
        "joins the fetch in flight"
    );
    assert_eq!(served.fetches(), 1);
    // The fetch it joined is abandoned: `refresh` does not answer for it, but fetches.
    drop(first);
    assert!(poll_once(&mut refresh).is_pending());
    assert_eq!(served.fetches(), 2);
    gate.add_permits(1);
    assert_eq!(block_on(refresh).unwrap(), 1);
    assert_eq!(rig.cache.len(), 1);
}

#[tokio::test]
async fn an_unknown_kid_delivery_waits_for_the_fetch_in_flight() {
    let served = Served::with(published(&[ED]));
    let rig = Arc::new(Rig::new(&served));
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());

    // The issuer rotates; a refresh is in flight (held) when the first token of the new key
    // arrives, right after the last fetch: it waits for that fetch instead of being refused.
    served.serve(Ok(published(&[ED, EC])));
    let gate = served.hold();
    let refreshing = {
        let rig = rig.clone();
        tokio::spawn(async move { rig.cache.refresh().await.map_err(|e| e.to_string()) })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(served.fetches(), 2);
    let rotated = {
        let (rig, token) = (rig.clone(), rig.bearer(EC));
        tokio::spawn(async move {
            rig.deliver(&token)
                .await
                .map(|p| p.key_id().map(str::to_owned))
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!rotated.is_finished(), "waits for the fetch in flight");
    // A token the keys held can judge does not wait.
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());

    gate.add_permits(1);
    let outcome = tokio::time::timeout(Duration::from_secs(5), rotated)
        .await
        .expect("wakes when the fetch ends")
        .unwrap();
    assert_eq!(outcome.unwrap().as_deref(), Some("ec-2026"));
    assert_eq!(refreshing.await.unwrap(), Ok(2));
    assert_eq!(served.fetches(), 2, "no fetch of its own");
}

// ---------------------------------------------------------------------------------------------
// configuration and the rules of the set

#[test]
fn only_an_https_address_is_accepted() {
    let fetcher = || HttpsFetcher::new().unwrap();
    for (url, mentions) in [
        ("http://issuer.example/jwks.json", "`https`"),
        ("HTTP://issuer.example/jwks.json", "`https`"),
        ("ftp://issuer.example/jwks.json", "`https`"),
        ("file:///etc/jwks.json", "`https`"),
        ("issuer.example/jwks.json", "not a valid url"),
        ("", "not a valid url"),
        ("https://", "not a valid url"),
        (
            "https://user:hunter2@issuer.example/jwks.json",
            "user name or password",
        ),
    ] {
        let error = JwksCache::new(url, fetcher()).unwrap_err();
        assert!(error.to_string().contains(mentions), "{url}: {error}");
        assert!(error.to_string().starts_with("jwks url"), "{error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(JwtBearer::from_jwks_url(url).is_err(), "{url}");
    }
    let builder = JwksCache::builder("https://user:hunter2@issuer.example/", fetcher());
    assert!(!format!("{builder:?}").contains("hunter2"));

    // An https address is accepted (the scheme and host in any case), its fragment dropped.
    let cache = JwksCache::new("HTTPS://Issuer.Example/jwks.json#keys", fetcher()).unwrap();
    assert!(format!("{cache:?}").contains(r#"url: "https://issuer.example/jwks.json""#));
    assert!(JwtBearer::from_jwks_url("https://www.googleapis.com/oauth2/v3/certs").is_ok());
}

#[test]
fn the_builder_clamps_its_settings() {
    let served = Served::with(published(&[ED]));
    let debug = |builder: webhook_core::JwksCacheBuilder| format!("{:?}", builder.build().unwrap());
    let clamped = debug(
        JwksCache::builder(URL, Fetcher(served.clone()))
            .refresh_every(Duration::ZERO)
            .min_refetch_interval(Duration::ZERO)
            .retry_after_failure(Duration::MAX)
            .max_stale(Duration::ZERO)
            .fetch_deadline(Duration::ZERO),
    );
    for shown in [
        "refresh_every: 60s",
        "min_refetch_interval: 1s",
        "retry_after_failure: 86400s",
        "max_stale: 60s",
        "fetch_deadline: 1ms",
    ] {
        assert!(clamped.contains(shown), "{clamped} lacks {shown}");
    }
    let clamped = debug(
        JwksCache::builder(URL, Fetcher(served.clone()))
            .refresh_every(Duration::MAX)
            .min_refetch_interval(Duration::MAX)
            .retry_after_failure(Duration::ZERO)
            .max_stale(Duration::MAX)
            .fetch_deadline(Duration::MAX),
    );
    for shown in [
        "refresh_every: 86400s",
        "min_refetch_interval: 86400s",
        "retry_after_failure: 1s",
        "max_stale: 604800s",
        "fetch_deadline: 60s",
    ] {
        assert!(clamped.contains(shown), "{clamped} lacks {shown}");
    }
    // `max_stale` is at least `refresh_every`, whichever is set first.
    let clamped = debug(
        JwksCache::builder(URL, Fetcher(served))
            .max_stale(Duration::from_secs(60 * 60))
            .refresh_every(Duration::from_secs(6 * 60 * 60)),
    );
    assert!(clamped.contains("max_stale: 21600s"), "{clamped}");
}

#[tokio::test]
async fn clamped_settings_hold_in_use() {
    let served = Served::with(published(&[ED]));
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let cache = JwksCache::builder(URL, Fetcher(served.clone()))
        .refresh_every(Duration::ZERO)
        .min_refetch_interval(Duration::ZERO)
        .retry_after_failure(Duration::MAX)
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = JwtBearer::from_jwks_cache(cache.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone());
    let ed = || bearer(ED.signer(), &clock);
    assert!(deliver(&verifier, &ed()).await.is_ok());
    // A refresh every minute, not on every delivery.
    clock.advance(Duration::from_secs(59));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 1);
    clock.advance(Duration::from_secs(1));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 2);
    // Unknown kids refetch at most once a second, not on every delivery.
    let ec = || bearer(EC.signer(), &clock);
    assert_eq!(
        assert_unknown_kid(deliver(&verifier, &ec()).await),
        Duration::from_secs(1)
    );
    assert_eq!(served.fetches(), 2);
    clock.advance(Duration::from_secs(1));
    assert_unknown_kid(deliver(&verifier, &ec()).await);
    assert_eq!(served.fetches(), 3);
    // A failure holds fetches off for a day at most.
    served.serve(Err("connection refused"));
    clock.advance(Duration::from_secs(60));
    assert!(deliver(&verifier, &ed()).await.is_ok());
    assert_eq!(served.fetches(), 4);
    assert_eq!(
        assert_unknown_kid(deliver(&verifier, &ec()).await),
        Duration::from_secs(24 * 60 * 60)
    );
    assert_eq!(served.fetches(), 4);
}

#[tokio::test]
async fn a_crit_header_never_causes_a_fetch() {
    let rig = Rig::serving(&[ED]);
    let crit = |kid: &str| {
        forged_with(&json!({"alg": "EdDSA", "typ": "JWT", "kid": kid, "crit": ["x-ext"]}))
    };
    // No key held yet.
    for kid in ["ed-2025", "unknown"] {
        let token = crit(kid);
        let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
        assert!(rig.verifier.fetch_keys(&request).is_none(), "{kid}");
    }
    assert_eq!(rig.served.fetches(), 0);
    // Keys held, past the refetch interval, with a `kid` the set lacks.
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
    rig.advance(Duration::from_secs(10 * 60));
    let token = crit("unknown");
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    assert!(rig.verifier.fetch_keys(&request).is_none());
    let error = rig.verifier.verify(&request).unwrap_err();
    assert_eq!(error.status(), 401);
    assert!(error.message().contains("crit"), "{error}");
    assert_eq!(rig.served.fetches(), 1);
}

#[tokio::test]
async fn the_address_given_is_the_one_fetched() {
    let served = Served::with(published(&[ED]));
    let cache = JwksCache::new(
        "https://issuer.example/keys?appid=42#frag",
        Fetcher(served.clone()),
    )
    .unwrap();
    assert_eq!(cache.refresh().await.unwrap(), 1);
    assert_eq!(
        *served.urls.lock().unwrap(),
        ["https://issuer.example/keys?appid=42"]
    );
}

#[tokio::test]
async fn a_symmetric_key_in_the_fetched_set_is_never_used() {
    let oct = json!({"kty": "oct", "kid": "sym", "alg": "HS256", "k": b64(HS_SECRET.as_bytes())});
    let served = Served::with(document(&[ED.jwk(), oct]));
    let rig = Rig::new(&served);
    assert_eq!(
        rig.cache.refresh().await.unwrap(),
        1,
        "only the Ed25519 key"
    );

    // A token signed with the published secret, naming it, is refused without a fetch.
    let hs = JwtSigner::hmac(webhook_core::Secret::from_text(HS_SECRET).unwrap())
        .unwrap()
        .key_id("sym");
    let authorization = bearer(hs, &rig.clock);
    rig.advance(Duration::from_secs(10 * 60));
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &authorization);
    assert!(rig.verifier.fetch_keys(&request).is_none());
    let error = rig.verifier.verify(&request).unwrap_err();
    assert_eq!(error.status(), 401);
    assert_eq!(rig.served.fetches(), 1);
    assert!(rig.deliver(&rig.bearer(ED)).await.is_ok());
}

#[tokio::test]
async fn alg_and_use_of_the_fetched_keys_are_respected() {
    let mut enc = EC.jwk();
    enc["use"] = json!("enc");
    let served = Served::with(document(&[RSA.jwk(), enc]));
    let rig = Rig::new(&served);
    assert_eq!(rig.cache.refresh().await.unwrap(), 1);

    // `rsa-1` is published for RS256 only.
    let ps = RSA
        .signer()
        .algorithm(webhook_core::JwtAlgorithm::Ps256)
        .unwrap();
    let error = rig.deliver(&bearer(ps, &rig.clock)).await.unwrap_err();
    assert_eq!(error.status(), 401);
    assert!(error.message().contains("not allowed"), "{error}");
    // The encryption key is not a verification key.
    assert_unknown_kid(rig.deliver(&rig.bearer(EC)).await);
    assert!(rig.deliver(&rig.bearer(RSA)).await.is_ok());
}

#[tokio::test]
async fn the_verifiers_claims_apply_to_fetched_keys() {
    let rig = Rig::serving(&[ED]);
    let verifier = JwtBearer::from_jwks_cache(rig.cache.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .claim("email", ["push@my-project.iam.gserviceaccount.com"])
        .unwrap()
        .claim_true("email_verified")
        .unwrap()
        .body_digest_claim("body_sha256")
        .clock(rig.clock.clone());
    let signer = || {
        ED.signer()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .clock(rig.clock.clone())
            .body_digest_claim("body_sha256")
    };
    let send = |signer: JwtSigner| {
        let headers = signer.sign(&Outgoing::new(b"{}").id("m-1")).unwrap();
        headers.get("authorization").unwrap().to_owned()
    };
    let genuine = send(
        signer()
            .claim("email", "push@my-project.iam.gserviceaccount.com")
            .claim_true("email_verified"),
    );
    let proof = deliver(&verifier, &genuine).await.unwrap();
    assert_eq!(proof.message_id(), Some("m-1"));

    let other = send(
        signer()
            .claim("email", "attacker@evil.iam.gserviceaccount.com")
            .claim_true("email_verified"),
    );
    let error = deliver(&verifier, &other).await.unwrap_err();
    assert_eq!(error.message(), "claim `email` is not an accepted value");
    let wrong_audience = send(
        ED.signer()
            .issuer(ISSUER)
            .audience("https://elsewhere.example")
            .clock(rig.clock.clone()),
    );
    assert_eq!(
        deliver(&verifier, &wrong_audience)
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Expired by the verifier's clock.
    rig.advance(Duration::from_secs(3 * 3600));
    let error = deliver(&verifier, &genuine).await.unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::TimestampTooOld);
}

#[tokio::test]
async fn debug_shows_the_address_the_key_count_and_the_limits_only() {
    let rig = Rig::serving(&[RSA]);
    let token = rig.bearer(RSA);
    assert!(rig.deliver(&token).await.is_ok());
    let cache = format!("{:?}", rig.cache);
    assert!(cache.starts_with("JwksCache {"), "{cache}");
    for shown in [
        URL,
        "keys: 1",
        "refresh_every: 3600s",
        "min_refetch_interval: 300s",
        "retry_after_failure: 60s",
        "max_stale: 86400s",
    ] {
        assert!(cache.contains(shown), "{cache} lacks {shown}");
    }
    let verifier = format!("{:?}", rig.verifier);
    assert!(verifier.contains("jwks: JwksCache {"), "{verifier}");
    let n = RSA.jwk()["n"].as_str().unwrap().to_owned();
    for text in [&cache, &verifier] {
        assert!(!text.contains(&n[..16]), "no key material: {text}");
        assert!(!text.contains("rsa-1"), "no key id: {text}");
    }

    // A rejection repeats nothing of the token: not its `kid` (known or made up), not the
    // token itself.
    for (kid, status) in [("rsa-1", 401), ("kid-marker-hunter2", 503)] {
        let token = forged("RS256", kid);
        let error = rig.deliver(&token).await.unwrap_err();
        assert_eq!(error.status(), status, "{error}");
        let encoded = token.trim_start_matches("Bearer ");
        for text in [error.to_string(), format!("{error:?}"), error.to_json()] {
            assert!(!text.contains(kid), "{text}");
            assert!(!text.contains(&encoded[..24]), "{text}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the pipeline

#[tokio::test]
async fn the_pipeline_fetches_after_admission_and_verifies_with_fetched_keys() {
    let rig = Rig::serving(&[ED]);
    let receiver = Receiver::builder()
        .verifier(rig.verifier.clone())
        .allow_sources(["10.0.0.0/8"])
        .build()
        .unwrap();
    let inside: std::net::SocketAddr = "10.1.2.3:5000".parse().unwrap();
    let outside: std::net::SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let token = rig.bearer(ED);

    // Refused by the allowlist: no fetch.
    let request = WebhookRequest::new(b"{}")
        .with_header("Authorization", &token)
        .with_peer(outside);
    let mut refused = receiver.delivery();
    assert_eq!(refused.admit(&request, false).unwrap_err().status(), 403);
    assert!(refused.fetch_keys(&request).is_none());
    assert_eq!(rig.served.fetches(), 0);

    let request = WebhookRequest::new(b"{}")
        .with_header("Authorization", &token)
        .with_peer(inside);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    let mut fetched = 0;
    while let Some(fetch) = delivery.fetch_keys(&request) {
        fetch.await;
        fetched += 1;
    }
    assert_eq!(fetched, 1);
    assert_eq!(
        delivery.authenticate(&request).unwrap().key_id(),
        Some("ed-2025")
    );

    // A forged token: 401 with the bearer challenge.
    let forged = forged("EdDSA", "ed-2025");
    let request = WebhookRequest::new(b"{}")
        .with_header("Authorization", &forged)
        .with_peer(inside);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    assert!(delivery.fetch_keys(&request).is_none());
    let error = delivery.authenticate(&request).unwrap_err();
    assert_eq!(error.status(), 401);
    assert!(
        receiver
            .reply_for(&error)
            .body()
            .contains("invalid_credentials")
    );
    assert_eq!(rig.served.fetches(), 1);

    // Nothing fetchable: the reply is 503 with Retry-After.
    let served = Arc::new(Served::default());
    let down = Rig::new(&served);
    let receiver = Receiver::builder()
        .verifier(down.verifier.clone())
        .build()
        .unwrap();
    let request = WebhookRequest::new(b"{}").with_header("Authorization", &token);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    while let Some(fetch) = delivery.fetch_keys(&request) {
        fetch.await;
    }
    let reply = receiver.reply_for(&delivery.authenticate(&request).unwrap_err());
    assert_eq!(reply.status(), 503);
    assert!(reply.body().contains("key_unavailable"));
    assert!(
        reply
            .headers()
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("retry-after") && value == "60")
    );
    assert_eq!(served.fetches(), 1);
}

/// A key set's address may carry an access token in its query (`?api_key=…`): it is fetched
/// whole, but logs and `Debug` show the address without its query.
#[tokio::test]
async fn the_query_of_the_address_is_fetched_but_neither_logged_nor_shown() {
    const WITH_QUERY: &str = "https://issuer.example/jwks.json?api_key=hunter2-query";
    let served = Arc::new(Served::default());
    served.serve(Err("connection refused"));
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let builder = JwksCache::builder(WITH_QUERY, Fetcher(served.clone())).clock(clock.clone());
    let shown = format!("{builder:?}");
    let cache = builder.build().unwrap();
    let verifier = JwtBearer::from_jwks_cache(cache.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock.clone());
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::INFO, false));
    let token = bearer(RSA.signer(), &clock);
    assert_unknown_kid(deliver(&verifier, &token).await);
    // Fetched whole, then the key set arrives and is logged.
    assert_eq!(served.urls.lock().unwrap().as_slice(), [WITH_QUERY]);
    served.serve(Ok(published(&[RSA])));
    clock.advance(Duration::from_secs(60));
    assert!(deliver(&verifier, &token).await.is_ok());
    let logs = captured.text();
    assert!(logs.contains("jwks fetched"), "{logs}");
    for text in [
        &logs,
        &shown,
        &format!("{cache:?}"),
        &format!("{verifier:?}"),
    ] {
        assert!(
            text.contains("https://issuer.example/jwks.json?…"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
