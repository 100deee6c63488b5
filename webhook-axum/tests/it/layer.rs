//! The layer owns the idempotency lease: the handler's outcome decides done or released.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook_axum::{Verified, VerifyWebhookLayer, Webhook};
use webhook_core::{
    DecodeError, FixedClock, Freshness, Outgoing, RateLimit, Receiver, Secret, SharedClock, Signer,
    StandardWebhooks, StandardWebhooksSigner, WebhookEvent, WebhookRequest,
};

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"type":"ping"}"#;

struct Rig {
    clock: FixedClock,
    secret: Secret,
}

impl Rig {
    fn new() -> Self {
        Self {
            clock: FixedClock::at_secs(NOW),
            secret: Secret::random(24),
        }
    }
    fn shared(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }
    fn receiver(
        &self,
        tweak: impl FnOnce(webhook_core::ReceiverBuilder) -> webhook_core::ReceiverBuilder,
    ) -> Receiver {
        let verifier = StandardWebhooks::new(self.secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(self.shared()));
        tweak(Receiver::builder().verifier(verifier).clock(self.shared()))
            .build()
            .unwrap()
    }
    fn request(&self, id: &str, body: &[u8]) -> Request {
        let headers = StandardWebhooksSigner::new(self.secret.clone())
            .clock(self.shared())
            .sign(&Outgoing::new(body).id(id))
            .unwrap();
        let mut builder = Request::post("/hook").header("content-type", "application/json");
        for (name, value) in headers.iter() {
            builder = builder.header(name, value);
        }
        let mut request = builder.body(Body::from(body.to_vec())).unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, 1],
                5000,
            ))));
        request
    }
}

async fn status_of(app: &Router, request: Request) -> (StatusCode, serde_json::Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A router whose handler counts runs and answers with the status in `outcome`.
fn app(
    receiver: &Receiver,
    runs: &Arc<AtomicUsize>,
    outcome: StatusCode,
    delay: Duration,
) -> Router {
    let runs = Arc::clone(runs);
    Router::new()
        .route(
            "/hook",
            post(move |_: Verified| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                (outcome, "{}")
            }),
        )
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone())
}

/// 200 deliveries of one id at once: the first one's handler is held until every other one
/// has been answered, so each of those meets the claim in flight (409 + `Retry-After`)
/// whatever the scheduling; the handler runs once, and a later copy is a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_of_one_id_run_the_handler_exactly_once() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let app = Router::new()
        .route(
            "/hook",
            post({
                let (runs, gate) = (Arc::clone(&runs), Arc::clone(&gate));
                move |_: Verified| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let _permit = gate.acquire().await;
                    (StatusCode::OK, "{}")
                }
            }),
        )
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone());
    let (sent, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..200 {
        let (app, request, sent) = (app.clone(), rig.request("msg_once", BODY), sent.clone());
        tokio::spawn(async move {
            let response = app.oneshot(request).await.unwrap();
            let retry_after = response.headers().contains_key("retry-after");
            let _ = sent.send((response.status(), retry_after));
        });
    }
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(60), answers.recv())
            .await
            .expect("a delivery was not answered")
            .expect("a delivery task failed")
    };
    for _ in 0..199 {
        assert_eq!(next().await, (StatusCode::CONFLICT, true));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    gate.add_permits(1);
    assert_eq!(next().await, (StatusCode::OK, false));
    let (status, body) = status_of(&app, rig.request("msg_once", BODY)).await;
    assert_eq!(
        (status, body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_handler_is_retried_and_a_success_is_not() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let runs = Arc::new(AtomicUsize::new(0));
    let failing = app(
        &receiver,
        &runs,
        StatusCode::INTERNAL_SERVER_ERROR,
        Duration::ZERO,
    );
    assert_eq!(
        status_of(&failing, rig.request("msg_r", BODY)).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let working = app(&receiver, &runs, StatusCode::NO_CONTENT, Duration::ZERO);
    assert_eq!(
        status_of(&working, rig.request("msg_r", BODY)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status_of(&working, rig.request("msg_r", BODY)).await.0,
        StatusCode::OK
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let stats = receiver.stats();
    assert_eq!(
        (stats.accepted, stats.handler_failures, stats.duplicates),
        (1, 1, 1)
    );
}

async fn boom(_: Verified) -> StatusCode {
    panic!("handler bug")
}

/// A store whose fire-and-forget release never lands (a networked store's background release
/// may not have landed when the sender retries); a release that is waited for does.
#[derive(Debug, Default)]
struct SlowRelease(webhook_core::MemoryStore);

impl webhook_core::ReplayStore for SlowRelease {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
        self.0.claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
        retention: Duration,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.0.complete(key, token, retention)
    }
    fn release(&self, _: &str, _: webhook_core::LeaseToken) {}
    fn release_wait<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.0.release(key, token);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The panic goes on to the server (no response, as without the layer), after the claim's
/// release was waited for: the retry is processed, on a store whose background release
/// would not have landed.
#[tokio::test]
async fn a_panicking_handler_releases_the_claim() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.replay(SlowRelease::default()));
    let panicking: Router = Router::new()
        .route("/hook", post(boom))
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone());
    let request = rig.request("msg_p", BODY);
    let outcome = tokio::spawn(async move { panicking.oneshot(request).await }).await;
    assert!(outcome.unwrap_err().is_panic());
    let runs = Arc::new(AtomicUsize::new(0));
    let working = app(&receiver, &runs, StatusCode::OK, Duration::ZERO);
    assert_eq!(
        status_of(&working, rig.request("msg_p", BODY)).await.0,
        StatusCode::OK
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(receiver.stats().handler_failures, 1);
}

#[tokio::test]
async fn an_expired_lease_frees_the_id() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.lease(Duration::from_secs(10)));
    // A crashed claim: taken through the core and never finished.
    let body = BODY;
    let headers = StandardWebhooksSigner::new(rig.secret.clone())
        .clock(rig.shared())
        .sign(&Outgoing::new(body).id("msg_c"))
        .unwrap();
    let view = headers.apply(WebhookRequest::new(body));
    let mut delivery = receiver.delivery();
    delivery.admit(&view, false).unwrap();
    delivery.authenticate(&view).unwrap();
    assert!(delivery.claim(None).await.unwrap());
    std::mem::forget(delivery);
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(&receiver, &runs, StatusCode::OK, Duration::ZERO);
    let (status, body) = status_of(&app, rig.request("msg_c", BODY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("in_flight"))
    );
    rig.clock.advance(Duration::from_secs(10));
    assert_eq!(
        status_of(&app, rig.request("msg_c", BODY)).await.0,
        StatusCode::OK
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn default_body_limit_and_the_receivers_limit_are_both_honoured() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.max_body_bytes(1_000));
    let runs = Arc::new(AtomicUsize::new(0));
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1_500));
    let app = app(&receiver, &runs, StatusCode::OK, Duration::ZERO);
    let mut request = rig.request("msg_big", big.as_bytes());
    request.headers_mut().remove("content-length");
    let (status, body) = status_of(&app, request).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    let smaller = app.clone().layer(DefaultBodyLimit::max(10));
    let (status, _) = status_of(&smaller, rig.request("msg_small", BODY)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

/// `len` bytes of JSON, sent in 100-byte frames with no `Content-Length`, as a client
/// streaming its body does: only the bytes counted while reading can enforce a limit.
fn streamed(rig: &Rig, id: &str, len: usize) -> Request {
    let mut body = br#"{"pad":""#.to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    let mut request = rig.request(id, &body);
    let frames: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(100)
        .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
        .collect();
    *request.body_mut() = Body::from_stream(futures_util::stream::iter(frames));
    assert!(request.headers().get("content-length").is_none());
    request
}

/// Both limits are inclusive, on a streamed body: exactly the limit is read and handled,
/// one byte more is 413 and never reaches the handler.
#[tokio::test]
async fn streamed_bodies_are_held_to_the_limit_to_the_byte() {
    let rig = Rig::new();
    let runs = Arc::new(AtomicUsize::new(0));
    // The receiver's limit, under axum's default.
    let receiver = rig.receiver(|b| b.max_body_bytes(1_000));
    let by_receiver = app(&receiver, &runs, StatusCode::OK, Duration::ZERO);
    // axum's `DefaultBodyLimit`, under a larger receiver limit.
    let larger = rig.receiver(|b| b.max_body_bytes(1_000_000));
    let framework =
        app(&larger, &runs, StatusCode::OK, Duration::ZERO).layer(DefaultBodyLimit::max(1_000));
    for (name, app, message) in [
        ("receiver", &by_receiver, "body is larger than 1000 bytes"),
        (
            "DefaultBodyLimit",
            &framework,
            "body is larger than the route's body limit",
        ),
    ] {
        let before = runs.load(Ordering::SeqCst);
        let id = format!("msg_{name}");
        assert_eq!(
            status_of(app, streamed(&rig, &id, 1_000)).await.0,
            StatusCode::OK,
            "{name}: exactly the limit"
        );
        let (status, body) = status_of(app, streamed(&rig, &format!("{id}_over"), 1_001)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")),
            "{name}: one byte over"
        );
        assert_eq!(body["message"].as_str(), Some(message), "{name}");
        assert_eq!(runs.load(Ordering::SeqCst), before + 1, "{name}");
    }
}

/// A read buffer of the server (8 KiB, as hyper's), of which a frame shows one byte: counts
/// how many are alive, as the frames pointing into them keep them.
struct ReadBuffer {
    bytes: Vec<u8>,
    alive: Arc<AtomicUsize>,
}

impl AsRef<[u8]> for ReadBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `body` sent one byte per frame, each frame pinning a read buffer of its own (a slow
/// sender); made lazily, each when read. `peak` gets the most buffers ever alive at once.
fn byte_by_byte(body: Vec<u8>, peak: &Arc<AtomicUsize>) -> Body {
    let alive = Arc::new(AtomicUsize::new(0));
    let peak = Arc::clone(peak);
    let frames = futures_util::stream::unfold(0, move |at| {
        let (alive, peak) = (Arc::clone(&alive), Arc::clone(&peak));
        let byte = body.get(at).copied();
        async move {
            let byte = byte?;
            let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let buffer = ReadBuffer {
                bytes: vec![byte; 8192],
                alive,
            };
            let frame = bytes::Bytes::from_owner(buffer).slice(0..1);
            Some((Ok::<_, std::convert::Infallible>(frame), at + 1))
        }
    });
    Body::from_stream(frames)
}

/// A body of many tiny frames is read frame by frame, each dropped once copied: the buffers
/// they pin never pile up (a slow sender could otherwise hold thousands of times the limit
/// before authentication), with or without the layer, and the body is whole.
#[tokio::test]
async fn tiny_frames_are_dropped_as_they_are_read() {
    let rig = Rig::new();
    let mut body = br#"{"type":"ping","pad":""#.to_vec();
    body.resize(4_000, b'x');
    body.extend_from_slice(b"\"}");
    let handler = |hook: Verified| async move { hook.body().len().to_string() };
    let layered = Router::new()
        .route("/hook", post(handler))
        .layer(VerifyWebhookLayer::new(rig.receiver(|b| b)))
        .with_state(rig.receiver(|b| b));
    let alone = Router::new()
        .route("/hook", post(handler))
        .with_state(rig.receiver(webhook_core::ReceiverBuilder::without_replay_protection));
    for (name, app) in [("layer", layered), ("extractor alone", alone)] {
        let peak = Arc::new(AtomicUsize::new(0));
        let mut request = rig.request(&format!("msg_{name}"), &body);
        *request.body_mut() = byte_by_byte(body.clone(), &peak);
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let read = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(read, body.len().to_string(), "{name}");
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= 2, "{name}: {peak} read buffers alive at once");
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_then_recovers() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.rate_limit(RateLimit::per_minute(1)));
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(&receiver, &runs, StatusCode::OK, Duration::ZERO);
    assert_eq!(
        status_of(&app, rig.request("a", BODY)).await.0,
        StatusCode::OK
    );
    let response = app.clone().oneshot(rig.request("b", BODY)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "60");
    rig.clock.advance(Duration::from_secs(60));
    assert_eq!(
        status_of(&app, rig.request("c", BODY)).await.0,
        StatusCode::OK
    );
}

#[derive(Debug)]
struct Ping;

impl WebhookEvent for Ping {
    fn event_types() -> &'static [&'static str] {
        &["ping"]
    }
    fn event_type(&self) -> &str {
        "ping"
    }
    fn decode(request: &WebhookRequest<'_>) -> Result<Self, DecodeError> {
        match serde_json::from_slice::<serde_json::Value>(request.body()) {
            Ok(v) if v["type"] == "ping" => Ok(Self),
            Ok(_) => Err(DecodeError::unknown_event_type("type")),
            Err(_) => Err(DecodeError::malformed_body()),
        }
    }
    fn json_schema() -> serde_json::Value {
        serde_json::Value::Bool(true)
    }
}

#[tokio::test]
async fn the_typed_extractor_works_with_and_without_the_layer() {
    let rig = Rig::new();
    let handler = || post(|Webhook(Ping): Webhook<Ping>| async { StatusCode::NO_CONTENT });
    // Without a replay store there is no claim to finish: the extractor works alone.
    let alone = rig.receiver(webhook_core::ReceiverBuilder::without_replay_protection);
    let unclaimed: Router = Router::new()
        .route("/hook", handler())
        .with_state(alone.clone());
    assert_eq!(
        status_of(&unclaimed, rig.request("t1", BODY)).await.0,
        StatusCode::NO_CONTENT
    );
    // Nothing sees the handler's answer there: handed on, not accepted (so not trusted by
    // a rate limit), even when the handler fails.
    let failing: Router = Router::new()
        .route(
            "/hook",
            post(|Webhook(Ping): Webhook<Ping>| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .with_state(alone.clone());
    assert_eq!(
        status_of(&failing, rig.request("t0", BODY)).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let stats = alone.stats();
    assert_eq!((stats.accepted, stats.handed_on), (0, 2));
    let other = br#"{"type":"pong"}"#;
    let (status, body) = status_of(&unclaimed, rig.request("t2", other)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_event_type"))
    );
    // A claiming receiver (the default) without the layer is refused, not silently marked
    // done before the handler runs.
    let receiver = rig.receiver(|b| b);
    let bare: Router = Router::new()
        .route("/hook", handler())
        .with_state(receiver.clone());
    let (status, body) = status_of(&bare, rig.request("t1", BODY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("not_configured"))
    );
    let layered = bare.layer(VerifyWebhookLayer::new(receiver.clone()));
    assert_eq!(
        status_of(&layered, rig.request("t3", BODY)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = status_of(&layered, rig.request("t4", b"nope")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_body"))
    );
    let stats = receiver.stats();
    assert_eq!(
        stats.rejected(webhook_core::VerifyErrorKind::MalformedBody),
        1
    );
    // The decode failure released the claim: a fixed retry with the same id is processed,
    // and a second one is then a duplicate.
    assert_eq!(
        status_of(&layered, rig.request("t4", BODY)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = status_of(&layered, rig.request("t4", BODY)).await;
    assert_eq!(
        (status, body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
}

/// A receiver that decrypts: the layer hands the plaintext to every extractor behind it (its
/// own and axum's `Json`, whose content-type check sees the plaintext's), the extractors
/// alone decrypt too, and a body sealed for another delivery is refused before any handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decrypted_bodies_reach_every_extractor() {
    use webhook_axum::WebhookProof;
    use webhook_core::{Aes256GcmDecryptor, Aes256GcmSealer, Envelope, Key};

    let rig = Rig::new();
    let key = Key::new("k", Secret::random(32));
    let envelope = Envelope::base64().associated_data_header("webhook-id");
    let decryptor = || Aes256GcmDecryptor::new(key.clone(), envelope.clone()).unwrap();
    let sealer = Aes256GcmSealer::new(key.clone(), envelope.clone()).unwrap();
    // Sealed for `sealed_for`, sent as `id`, as text/plain (the base64 envelope).
    let sealed = |path: &str, id: &str, sealed_for: &str| {
        let body = sealer.seal(BODY, sealed_for.as_bytes()).unwrap();
        let mut request = rig.request(id, &body);
        *request.uri_mut() = path.parse().unwrap();
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        request
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = |runs: &Arc<AtomicUsize>| {
        runs.fetch_add(1, Ordering::SeqCst);
    };
    let receiver = rig.receiver(|b| b.decryptor(decryptor()));
    let (r1, r2, r3) = (Arc::clone(&runs), Arc::clone(&runs), Arc::clone(&runs));
    let layered: Router = Router::new()
        .route(
            "/verified",
            post(move |v: Verified| async move {
                counted(&r1);
                v.body().clone()
            }),
        )
        .route(
            "/json",
            post(
                move |WebhookProof(proof): WebhookProof,
                      axum::Json(value): axum::Json<serde_json::Value>| async move {
                    counted(&r2);
                    format!("{} {}", value["type"], proof.message_id().unwrap_or("-"))
                },
            ),
        )
        .route(
            "/typed",
            post(move |Webhook(Ping): Webhook<Ping>| async move {
                counted(&r3);
                "ping"
            }),
        )
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone());
    let text = |app: &Router, request: Request| {
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    assert_eq!(
        text(&layered, sealed("/verified", "d1", "d1")).await,
        (StatusCode::OK, String::from_utf8(BODY.to_vec()).unwrap())
    );
    assert_eq!(
        text(&layered, sealed("/json", "d2", "d2")).await,
        (StatusCode::OK, r#""ping" d2"#.to_owned())
    );
    assert_eq!(
        text(&layered, sealed("/typed", "d3", "d3")).await,
        (StatusCode::OK, "ping".to_owned())
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    // Sealed for another delivery: 400 before the handler, and its id stays unclaimed.
    let (status, body) = status_of(&layered, sealed("/verified", "d4", "d1")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_body"))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(
        text(&layered, sealed("/verified", "d4", "d4")).await.0,
        StatusCode::OK
    );

    // The extractors alone (no replay store, so no layer needed) decrypt as well.
    let alone_receiver = rig.receiver(|b| b.decryptor(decryptor()).without_replay_protection());
    let alone: Router = Router::new()
        .route(
            "/verified",
            post(|v: Verified| async move { v.body().clone() }),
        )
        .route(
            "/typed",
            post(|Webhook(Ping): Webhook<Ping>| async { "ping" }),
        )
        .with_state(alone_receiver);
    assert_eq!(
        text(&alone, sealed("/verified", "a1", "a1")).await,
        (StatusCode::OK, String::from_utf8(BODY.to_vec()).unwrap())
    );
    assert_eq!(
        text(&alone, sealed("/typed", "a2", "a2")).await,
        (StatusCode::OK, "ping".to_owned())
    );
    let (status, body) = status_of(&alone, sealed("/typed", "a3", "a2")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_body"))
    );
}

/// Behind a trusted proxy that appends to the client's `X-Forwarded-For` (nginx's
/// `$proxy_add_x_forwarded_for`), a client value that is not UTF-8 takes the whole header out
/// of the request view: the client is then unknown, which the allowlist refuses, and never
/// the proxy itself, although the allowlist covers the proxy's network.
#[tokio::test]
async fn a_forwarding_header_that_is_not_text_leaves_the_client_unknown() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| {
        b.trusted_proxies(["192.0.2.0/24"])
            .allow_sources(["192.0.2.0/24", "198.51.100.0/24"])
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(&receiver, &runs, StatusCode::NO_CONTENT, Duration::ZERO);
    let with_xff = |id: &str, value: &[u8]| {
        let mut request = rig.request(id, BODY);
        request.headers_mut().append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(value).unwrap(),
        );
        request
    };
    let (status, body) = status_of(&app, with_xff("msg_bytes", b"\xff, 203.0.113.9")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "source_not_allowed");
    let (status, body) = status_of(&app, rig.request("msg_bare", BODY)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "source_not_allowed");
    // The same proxy naming an allowed client.
    let (status, _) = status_of(&app, with_xff("msg_text", b"198.51.100.7")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// A handler that takes the extractor's rejection as a value and answers 200 for itself (an
/// "always acknowledge" handler) is overruled by the layer: the delivery was not handed on,
/// so it is answered with the rejection and its claim released (a fixed retry with the same
/// id is processed), as the rocket fairing answers.
#[tokio::test]
async fn a_rejection_the_handler_swallows_is_still_the_answer_and_releases() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let runs = Arc::new(AtomicUsize::new(0));
    let app: Router = Router::new()
        .route(
            "/hook",
            post({
                let runs = Arc::clone(&runs);
                move |event: Result<Webhook<Ping>, webhook_axum::WebhookRejection>| async move {
                    if event.is_ok() {
                        runs.fetch_add(1, Ordering::SeqCst);
                    }
                    StatusCode::OK
                }
            }),
        )
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone());
    let (status, body) = status_of(&app, rig.request("s1", br#"{"type":"pong"}"#)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_event_type"))
    );
    assert_eq!(
        receiver
            .stats()
            .rejected(webhook_core::VerifyErrorKind::UnknownEventType),
        1
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Released, not completed: the retry is processed, then a copy is a duplicate.
    assert_eq!(
        status_of(&app, rig.request("s1", BODY)).await.0,
        StatusCode::OK
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let (status, body) = status_of(&app, rig.request("s1", BODY)).await;
    assert_eq!(
        (status, body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
