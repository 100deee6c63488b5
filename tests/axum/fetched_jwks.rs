//! A `JwtBearer` on keys fetched from a JWKS address, behind the axum layer: the layer awaits
//! the fetch before authentication, so the first delivery signed with a published key is
//! accepted (one fetch, reused after), forged tokens are 401 without another fetch, and a
//! token naming a `kid` the set lacks is 503 with `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::axum::{Verified, VerifyWebhookLayer};
use webhook::{
    CertificateFetcher, FetchError, FetchFuture, FixedClock, JwksCache, JwtBearer, JwtSigner,
    Outgoing, Receiver, Signer,
};

const PATH: &str = "/webhooks/push";
const JWKS_URL: &str = "https://issuer.example/.well-known/jwks.json";
const ISSUER: &str = "https://issuer.example";
const NOW: i64 = 1_700_000_000;
/// The issuer's published key set: the public half of the test Ed25519 key
/// (`webhook-core/tests/fixtures/auth/ed25519-*.pem`), as `push-1`.
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"push-1","alg":"EdDSA","use":"sig","x":"4QcGEGW0YEwThwP0M-R-REGirujxFqQyu70lIvu6-RE"}]}"#;
/// Someone else's Ed25519 key (PKCS#8 of the seed 0x40..=0x5f; it protects nothing): the
/// published key's algorithm, so that only its signature tells it apart.
const OTHER_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f
-----END PRIVATE KEY-----
";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/webhook-core/tests/fixtures/auth/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Serves the issuer's key set and counts its fetches.
#[derive(Debug, Default)]
struct Served {
    fetches: AtomicUsize,
}

#[derive(Debug)]
struct Fetcher(Arc<Served>);

impl CertificateFetcher for Fetcher {
    fn fetch(&self, url: &str) -> FetchFuture {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        let document = (url == JWKS_URL).then(|| JWKS.as_bytes().to_vec());
        Box::pin(async move { document.ok_or_else(|| FetchError::new("answered 404")) })
    }
}

fn app(served: &Arc<Served>, clock: &Arc<FixedClock>) -> Router {
    let keys = JwksCache::builder(JWKS_URL, Fetcher(served.clone()))
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = JwtBearer::from_jwks_cache(keys)
        .issuer(ISSUER)
        .clock(clock.clone());
    let receiver = Receiver::builder()
        .route("push")
        .verifier(verifier)
        .build()
        .unwrap();
    Router::new()
        .route(
            PATH,
            post(|verified: Verified| async move {
                assert_eq!(verified.proof().key_id(), Some("push-1"));
                StatusCode::OK
            })
            .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .with_state(receiver)
}

/// `Authorization` of a token `signer` makes, naming `push-1`.
fn bearer(signer: JwtSigner, clock: &Arc<FixedClock>) -> String {
    let headers = signer
        .key_id("push-1")
        .issuer(ISSUER)
        .clock(clock.clone())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    headers.get("authorization").unwrap().to_owned()
}

/// Status, `WWW-Authenticate` and body of one delivery.
async fn send(app: &Router, authorization: &str, body: &str) -> (u16, Option<String>, String) {
    let request = Request::post(PATH)
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        challenge,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn a_delivery_signed_with_a_fetched_key_is_200_and_a_forged_one_401() {
    let served = Arc::new(Served::default());
    let clock = Arc::new(FixedClock::at_secs(NOW));
    let app = app(&served, &clock);
    let issuer = || JwtSigner::ed25519_pem(&fixture("ed25519-private.pem")).unwrap();

    // The first delivery fetches the key set, then is verified with it.
    let genuine = bearer(issuer(), &clock);
    let (status, _, reply) = send(&app, &genuine, r#"{"n":1}"#).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(served.fetches.load(Ordering::SeqCst), 1);
    // The next reuses it.
    let (status, _, reply) = send(&app, &bearer(issuer(), &clock), r#"{"n":2}"#).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(served.fetches.load(Ordering::SeqCst), 1);

    // Forged: signed by a key of someone else's (EdDSA, as the published key) under the
    // published kid, or with claims changed after signing. Either way the signature is what
    // fails.
    let other = JwtSigner::ed25519_pem(OTHER_ED25519.as_bytes()).unwrap();
    let (header, rest) = genuine.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let altered = format!(
        "{header}.{}.{signature}",
        "eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiZXhwIjo5OTk5OTk5OTk5fQ"
    );
    for forged in [bearer(other, &clock), altered] {
        let (status, challenge, reply) = send(&app, &forged, r#"{"n":3}"#).await;
        assert_eq!(status, 401, "{reply}");
        assert!(reply.contains("invalid_credentials"), "{reply}");
        assert!(reply.contains("signature does not verify"), "{reply}");
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="webhook", error="invalid_token""#)
        );
    }
    assert_eq!(served.fetches.load(Ordering::SeqCst), 1);

    // A `kid` the set lacks, right after the fetch: 503 with `Retry-After` (the issuer may
    // have just rotated; the sender retries once the cache may refetch), without a fetch.
    let unknown = issuer()
        .key_id("push-2")
        .issuer(ISSUER)
        .clock(clock.clone())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    let request = Request::post(PATH)
        .header("content-type", "application/json")
        .header("authorization", unknown.get("authorization").unwrap())
        .body(Body::from(r#"{"n":4}"#))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "300");
    assert!(response.headers().get("www-authenticate").is_none());
    let reply = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&reply).contains("key_unavailable"));
    assert_eq!(served.fetches.load(Ordering::SeqCst), 1);
}
