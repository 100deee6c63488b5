//! The receive pipeline end to end: step order and statuses, typed decode, idempotency leases,
//! floods, and what the tracing span shows.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webhook_core::{
    DecodeError, Delivery, MemoryStore, RateLimit, Receiver, ReplayStore, VerifyError,
    VerifyErrorKind, WebhookEvent, WebhookRequest,
};

use crate::support_pipeline::{Rig, peer, request};

const BODY: &[u8] = br#"{"type":"email.sent","id":"evt_1","data":{"to":"a@example.com"}}"#;

/// A hand-written event set (the derive is tested in its own crate).
#[derive(Debug, PartialEq)]
enum Mail {
    Sent { to: String },
}

impl WebhookEvent for Mail {
    fn event_types() -> &'static [&'static str] {
        &["email.sent"]
    }
    fn event_type(&self) -> &str {
        "email.sent"
    }
    fn decode(request: &WebhookRequest<'_>) -> Result<Self, DecodeError> {
        let v: serde_json::Value =
            serde_json::from_slice(request.body()).map_err(|_| DecodeError::malformed_body())?;
        match v["type"].as_str() {
            Some("email.sent") => match v["data"]["to"].as_str() {
                Some(to) if to.contains('@') => Ok(Self::Sent { to: to.to_owned() }),
                _ => Err(DecodeError::field("data.to", "not a valid email address")),
            },
            _ => Err(DecodeError::unknown_event_type("type")),
        }
    }
    fn event_id(request: &WebhookRequest<'_>) -> Result<Option<String>, DecodeError> {
        let v: serde_json::Value =
            serde_json::from_slice(request.body()).map_err(|_| DecodeError::malformed_body())?;
        Ok(v["id"].as_str().map(str::to_owned))
    }
    fn json_schema() -> serde_json::Value {
        serde_json::Value::Bool(true)
    }
}

/// One full delivery as an adapter runs it; `Ok(None)` for a duplicate.
async fn run(
    receiver: &Receiver,
    request: &WebhookRequest<'_>,
) -> Result<(Option<Mail>, Delivery), VerifyError> {
    let mut delivery = receiver.delivery();
    delivery.admit(request, false)?;
    let has_message_id = delivery.authenticate(request)?.message_id().is_some();
    let event_id = if has_message_id {
        None
    } else {
        delivery.event_id::<Mail>(request)?
    };
    if !delivery.claim(event_id.as_deref()).await? {
        return Ok((None, delivery));
    }
    let event = delivery.decode::<Mail>(request)?;
    Ok((Some(event), delivery))
}

#[tokio::test]
async fn accepts_then_answers_the_duplicate() {
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let headers = rig.sign("msg_1", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (event, delivery) = run(&receiver, &req).await.unwrap();
    assert_eq!(
        event,
        Some(Mail::Sent {
            to: "a@example.com".into()
        })
    );
    delivery.finish(true).await;
    let (event, delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_none());
    let reply = delivery.duplicate_reply();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = serde_json::from_str(reply.body()).unwrap();
    assert_eq!(body["duplicate"], true);
    assert_eq!(body["id"], "msg_1");
    let stats = receiver.stats();
    assert_eq!((stats.accepted, stats.duplicates), (1, 1));
}

/// `BODY` padded with a JSON field to exactly `len` bytes.
fn padded(len: usize) -> Vec<u8> {
    let head = br#"{"type":"email.sent","id":"evt_1","data":{"to":"a@example.com"},"pad":""#;
    let mut body = head.to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), len);
    body
}

/// The body limit is inclusive: a body of exactly the limit is accepted, one byte more is
/// 413, whether the size comes from `Content-Length` (before the body is read) or from the
/// body itself.
#[tokio::test]
async fn the_body_limit_admits_exactly_the_limit() {
    let rig = Rig::new();
    let receiver = rig.builder().max_body_bytes(256).build().unwrap();
    for (id, len, declared, want) in [
        ("msg_l1", 256, false, None),
        ("msg_l2", 257, false, Some(413)),
        ("msg_l3", 256, true, None),
        ("msg_l4", 257, true, Some(413)),
    ] {
        let body = padded(len);
        let mut headers = rig.sign(id, &body);
        if declared {
            headers.push(("content-length".into(), len.to_string()));
        }
        let req = request(&headers, &body, peer("192.0.2.1"));
        let got = match run(&receiver, &req).await {
            Ok((event, delivery)) => {
                assert_eq!(
                    event,
                    Some(Mail::Sent {
                        to: "a@example.com".into()
                    })
                );
                delivery.finish(true).await;
                None
            }
            Err(error) => Some(error.status()),
        };
        assert_eq!(got, want, "{len} bytes, declared: {declared}");
    }
    // A declared length one over the limit is refused before the body is looked at, even
    // when the body itself is within it.
    let body = padded(200);
    let mut headers = rig.sign("msg_l5", &body);
    headers.push(("content-length".into(), "257".into()));
    let req = request(&headers, &body, peer("192.0.2.1"));
    assert_eq!(
        run(&receiver, &req).await.err().map(|e| e.status()),
        Some(413)
    );
}

/// Two `Content-Type` headers are ambiguous (each reader could take another): a receiver
/// that requires a content type refuses them, even when both name an accepted one.
#[test]
fn a_repeated_content_type_is_refused() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .content_type("application/json")
        .build()
        .unwrap();
    let admit = |request: &WebhookRequest<'_>| {
        let mut delivery = receiver.delivery();
        delivery.admit(request, false).map_err(|e| e.status())
    };
    let once = WebhookRequest::new(BODY).with_header("content-type", "application/json");
    assert_eq!(admit(&once), Ok(()));
    let twice = once.clone().with_header("content-type", "application/json");
    assert_eq!(twice.content_type(), None);
    assert_eq!(admit(&twice), Err(415));
    let mixed = once.clone().with_header("content-type", "text/plain");
    assert_eq!(admit(&mixed), Err(415));
}

/// Route names are the namespace of their keys in a shared store (`{route}:{kind}:{id}`): a
/// name holding the separator could make two routes' keys meet, so it is refused at build.
#[test]
fn route_names_cannot_make_keys_collide() {
    let rig = Rig::new();
    for bad in ["a:m", "", "tab\there"] {
        let error = rig
            .builder()
            .route(bad)
            .build()
            .err()
            .map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("route name")),
            "{bad:?}: {error:?}"
        );
    }
    for good in [
        "email",
        "standard-webhooks",
        "billing.v2",
        "tenant_7/orders",
    ] {
        assert!(rig.builder().route(good).build().is_ok(), "{good}");
    }
}

#[tokio::test]
async fn steps_run_in_order_with_their_statuses() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .max_body_bytes(256)
        .content_type("application/json")
        .allow_sources(["192.0.2.0/24"])
        .build()
        .unwrap();
    let headers = rig.sign("msg_2", BODY);
    let status = |r: Result<(Option<Mail>, Delivery), VerifyError>| r.err().map(|e| e.status());

    // 413 from the declared length, before anything else (even from a forbidden source).
    let mut big = headers.clone();
    big.push(("content-length".into(), "100000".into()));
    let req = request(&big, BODY, peer("203.0.113.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(413));
    // 413 from the actual body.
    let huge = vec![b'x'; 300];
    let req = request(&headers, &huge, peer("192.0.2.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(413));
    // 415 before the source.
    let req = WebhookRequest::new(BODY)
        .with_headers(&headers)
        .with_header("content-type", "text/plain")
        .with_peer(peer("203.0.113.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(415));
    // 403 before authentication.
    let req = request(&[], BODY, peer("203.0.113.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(403));
    // 401 for a bad signature, missing headers, or a stale timestamp.
    let req = request(&[], BODY, peer("192.0.2.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(401));
    let tampered = br#"{"type":"email.sent","id":"evt_1","data":{"to":"b@example.com"}}"#;
    let req = request(&headers, tampered, peer("192.0.2.1"));
    assert_eq!(status(run(&receiver, &req).await), Some(401));
    rig.clock.advance(Duration::from_secs(301));
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let err = run(&receiver, &req).await.err().unwrap();
    assert_eq!(err.kind(), VerifyErrorKind::TimestampTooOld);

    // 400 and 422 after authentication.
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    for (body, want) in [
        (&b"not json"[..], VerifyErrorKind::MalformedBody),
        (
            &br#"{"type":"email.lost","id":"e"}"#[..],
            VerifyErrorKind::UnknownEventType,
        ),
        (
            &br#"{"type":"email.sent","id":"e2","data":{"to":"nobody"}}"#[..],
            VerifyErrorKind::Validation,
        ),
    ] {
        let headers = rig.sign(&format!("msg_{}", body.len()), body);
        let req = request(&headers, body, peer("192.0.2.1"));
        let err = run(&receiver, &req).await.err().unwrap();
        assert_eq!(err.kind(), want);
        if want == VerifyErrorKind::Validation {
            assert_eq!(err.to_string(), "data.to: not a valid email address");
        }
    }
}

/// 200 deliveries of one id at once: the first one's handler is held until every other one
/// has been answered, so each of those meets the claim in flight (409) whatever the
/// scheduling; the handler runs once, and a later copy is a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_of_one_id_run_the_handler_once() {
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let headers = Arc::new(rig.sign("msg_same", BODY));
    let ran = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (sent, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..200 {
        let (receiver, headers, ran, gate, sent) = (
            receiver.clone(),
            Arc::clone(&headers),
            Arc::clone(&ran),
            Arc::clone(&gate),
            sent.clone(),
        );
        tokio::spawn(async move {
            let req = request(&headers, BODY, peer("192.0.2.1"));
            let status = match run(&receiver, &req).await {
                Ok((Some(_), delivery)) => {
                    ran.fetch_add(1, Ordering::SeqCst);
                    let _permit = gate.acquire().await;
                    delivery.finish(true).await;
                    200
                }
                Ok((None, _)) => 208,
                Err(e) => e.status(),
            };
            let _ = sent.send(status);
        });
    }
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(60), answers.recv())
            .await
            .expect("a delivery was not answered")
            .expect("a delivery task failed")
    };
    for _ in 0..199 {
        assert_eq!(next().await, 409);
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    gate.add_permits(1);
    assert_eq!(next().await, 200);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    assert!(matches!(run(&receiver, &req).await, Ok((None, _))));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_handler_releases_so_the_retry_is_processed() {
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let headers = rig.sign("msg_fail", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (event, delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some());
    // While in flight, a duplicate is 409 with Retry-After.
    let err = run(&receiver, &req).await.err().unwrap();
    assert_eq!(err.status(), 409);
    assert!(err.retry_after_secs().is_some());
    delivery.finish(false).await;
    let (event, delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some(), "the retry runs the handler");
    delivery.finish(true).await;
    assert_eq!(receiver.stats().handler_failures, 1);
}

#[tokio::test]
async fn a_panicking_handler_releases_the_claim() {
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let headers = Arc::new(rig.sign("msg_panic", BODY));
    let task = {
        let (receiver, headers) = (receiver.clone(), Arc::clone(&headers));
        tokio::spawn(async move {
            let req = request(&headers, BODY, peer("192.0.2.1"));
            let (_event, _delivery) = run(&receiver, &req).await.unwrap();
            panic!("handler bug");
        })
    };
    assert!(task.await.unwrap_err().is_panic());
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (event, _delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some());
}

#[tokio::test]
async fn an_expired_lease_frees_the_id() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .lease(Duration::from_secs(10))
        .build()
        .unwrap();
    let headers = rig.sign("msg_crash", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (_event, delivery) = run(&receiver, &req).await.unwrap();
    // The process "crashes": the delivery is never finished nor dropped.
    std::mem::forget(delivery);
    assert_eq!(
        run(&receiver, &req).await.err().map(|e| e.status()),
        Some(409)
    );
    rig.clock.advance(Duration::from_secs(10));
    let (event, _delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some());
}

#[tokio::test]
async fn event_id_dedupes_when_there_is_no_message_id() {
    let rig = Rig::new();
    let receiver = no_id_receiver(&rig);
    let first = rig.sign("msg_a", BODY);
    let (_, d) = run(&receiver, &request(&first, BODY, peer("192.0.2.1")))
        .await
        .unwrap();
    assert_eq!(
        d.key(),
        Some(&webhook_core::DedupeKey::EventId("evt_1".into()))
    );
    d.finish(true).await;
    // A retry with a new signature but the same event id is a duplicate.
    let retry = rig.sign("msg_b", BODY);
    let (event, _) = run(&receiver, &request(&retry, BODY, peer("192.0.2.1")))
        .await
        .unwrap();
    assert!(event.is_none());
}

/// A verifier without a message id: Standard Webhooks with the id dropped from the proof.
#[derive(Debug)]
struct NoId(webhook_core::StandardWebhooks);

impl webhook_core::Verifier for NoId {
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<webhook_core::Proof, VerifyError> {
        self.0.verify(request)?;
        Ok(webhook_core::Proof::new("no-id").with_signature(b"sig"))
    }
}

/// A delivery of `request` admitted and authenticated, ready to claim.
fn authenticated(receiver: &Receiver, request: &WebhookRequest<'_>) -> Delivery {
    let mut delivery = receiver.delivery();
    delivery.admit(request, false).unwrap();
    delivery.authenticate(request).unwrap();
    delivery
}

/// The layer's raw claim of a fresh delivery: its proof.
async fn fresh_proof(layer: &mut Delivery) -> webhook_core::Proof {
    match layer.accept_raw().await.unwrap() {
        webhook_core::Accepted::Fresh(proof) => proof,
        webhook_core::Accepted::Duplicate(_) => panic!("a fresh delivery"),
    }
}

fn no_id_receiver(rig: &Rig) -> Receiver {
    let inner = webhook_core::StandardWebhooks::new(rig.secret.clone())
        .unwrap()
        .freshness(webhook_core::Freshness::default().with_shared_clock(rig.shared()));
    Receiver::builder()
        .verifier(NoId(inner))
        .clock(rig.shared())
        .build()
        .unwrap()
}

/// A store that answers only through its futures, as a networked store does: the pipeline
/// must wait on them (the in-process store answers at once, through `claim_ready`).
#[derive(Debug, Default)]
struct Later {
    inner: MemoryStore,
    claims: AtomicUsize,
    completes: AtomicUsize,
}

impl ReplayStore for Later {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.inner.claim(key, lease).await
        })
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
        retention: Duration,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.completes.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.inner.complete(key, token, retention).await
        })
    }
    fn release(&self, key: &str, token: webhook_core::LeaseToken) {
        self.inner.release(key, token);
    }
}

#[tokio::test]
async fn a_store_that_answers_later_gets_the_same_protocol() {
    let rig = Rig::new();
    let store = Arc::new(Later::default());
    let receiver = rig.builder().replay(Arc::clone(&store)).build().unwrap();
    let headers = rig.sign("msg_later", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (event, delivery) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some());
    delivery.finish(true).await;
    let (event, _) = run(&receiver, &req).await.unwrap();
    assert!(event.is_none(), "the completed id is a duplicate");
    assert_eq!(store.claims.load(Ordering::SeqCst), 2);
    assert_eq!(store.completes.load(Ordering::SeqCst), 1);
    // A failed handler releases through the store, so the next delivery of an id is new.
    let other = rig.sign("msg_later_2", BODY);
    let req = request(&other, BODY, peer("192.0.2.1"));
    let (_, delivery) = run(&receiver, &req).await.unwrap();
    delivery.finish(false).await;
    let (event, _) = run(&receiver, &req).await.unwrap();
    assert!(event.is_some(), "a released id is processed again");
}

/// A delivery whose completion is cut short while the store has not answered (the
/// connection closed, the task was cancelled) must not leave its key claimed until the lease
/// runs out: the retry is processed at once.
#[tokio::test]
async fn a_completion_cut_short_releases_the_claim() {
    let rig = Rig::new();
    let store = Arc::new(Later::default());
    let receiver = rig.builder().replay(Arc::clone(&store)).build().unwrap();
    let headers = rig.sign("msg_cut", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (_, delivery) = run(&receiver, &req).await.unwrap();
    // Polled once (the store's future waits), then dropped.
    {
        let mut finish = std::pin::pin!(delivery.finish(true));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            finish.as_mut().poll(&mut cx).is_pending(),
            "the completion is waiting on the store"
        );
    }
    assert_eq!(store.completes.load(Ordering::SeqCst), 1);
    let (event, _) = run(&receiver, &req).await.unwrap();
    assert!(
        event.is_some(),
        "the retry is processed, not answered 409 or as a duplicate"
    );
}

/// A store whose fire-and-forget release never lands (as a networked store's background
/// release may not have yet when the answer reaches the sender); only a release that is
/// waited on frees the key.
#[derive(Debug, Default)]
struct SlowRelease {
    inner: MemoryStore,
    unwaited: AtomicUsize,
}

impl ReplayStore for SlowRelease {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
        self.inner.claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
        retention: Duration,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.inner.complete(key, token, retention)
    }
    fn release(&self, _: &str, _: webhook_core::LeaseToken) {
        self.unwaited.fetch_add(1, Ordering::SeqCst);
    }
    fn release_wait<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.inner.release(key, token);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A delivery that fails decoding after its claim (422) is answered only once the claim's
/// release is confirmed: the sender's corrected retry, sent at once, is processed rather
/// than found in flight.
#[tokio::test]
async fn a_decode_failure_after_the_claim_waits_for_the_release() {
    let rig = Rig::new();
    let store = Arc::new(SlowRelease::default());
    let receiver = rig.builder().replay(Arc::clone(&store)).build().unwrap();
    let bad = br#"{"type":"email.sent","id":"evt_1","data":{"to":"nobody"}}"#;
    let headers = rig.sign("msg_undecodable", bad);
    let req = request(&headers, bad, peer("192.0.2.1"));
    let mut delivery = receiver.delivery();
    delivery.admit(&req, false).unwrap();
    delivery.authenticate(&req).unwrap();
    let error = delivery.accept::<Mail>(&req).await.unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::Validation);
    drop(delivery);
    assert_eq!(store.unwaited.load(Ordering::SeqCst), 0);
    let mut retry = receiver.delivery();
    retry.admit(&req, false).unwrap();
    retry.authenticate(&req).unwrap();
    assert!(
        retry.claim(None).await.unwrap(),
        "the key was released before the 422 went out"
    );
}

/// A store that holds claims but cannot mark them done: it refuses (as a store losing its
/// connection between the two would), or, `silent`, never answers. What the pipeline asks of
/// it after the claims is recorded; a completion handed back to it succeeds (as the Redis
/// store's second try over a new connection would).
#[derive(Debug, Default)]
struct FailingCompletion {
    inner: MemoryStore,
    silent: bool,
    calls: Mutex<Vec<&'static str>>,
}

impl FailingCompletion {
    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

impl ReplayStore for FailingCompletion {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
        self.inner.claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        _: &'a str,
        _: webhook_core::LeaseToken,
        _: Duration,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.calls.lock().unwrap().push("complete");
        if self.silent {
            Box::pin(std::future::pending())
        } else {
            Box::pin(async { Err(webhook_core::StoreError::new("connection reset")) })
        }
    }
    fn release(&self, key: &str, token: webhook_core::LeaseToken) {
        self.calls.lock().unwrap().push("release");
        self.inner.release(key, token);
    }
    fn complete_abandoned(&self, key: &str, token: webhook_core::LeaseToken, retention: Duration) {
        self.calls.lock().unwrap().push("complete_abandoned");
        if !self.silent {
            let done = self.inner.complete_ready(key, token, retention);
            assert!(matches!(done, Some(Ok(()))));
        }
    }
}

/// When the store cannot mark a delivery done, the handler's success stands: its answer is
/// sent and the sender will not retry, so freeing the key would only let a copy be processed
/// again. The completion is handed back to the store, not released.
#[tokio::test]
async fn a_completion_the_store_refuses_is_handed_back_not_released() {
    let rig = Rig::new();
    let store = Arc::new(FailingCompletion::default());
    let receiver = rig.builder().replay(Arc::clone(&store)).build().unwrap();
    let headers = rig.sign("msg_refused", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let (_, delivery) = run(&receiver, &req).await.unwrap();
    delivery.finish(true).await;
    assert_eq!(store.calls(), ["complete", "complete_abandoned"]);
    assert_eq!(
        receiver.stats().accepted,
        1,
        "the handler's success still counts"
    );
    let (event, _) = run(&receiver, &req).await.unwrap();
    assert!(event.is_none(), "a copy is a duplicate");
}

/// A delivery holding two claims whose success is being recorded when its future is dropped
/// (the client went away while the store was silent): both completions are handed to the
/// store, the one under way and the one not started yet; neither claim is released.
#[tokio::test]
async fn every_claim_of_a_success_dropped_mid_completion_is_handed_to_the_store() {
    let rig = Rig::new();
    let store = Arc::new(FailingCompletion {
        silent: true,
        ..FailingCompletion::default()
    });
    let receiver = Receiver::builder()
        .verifier(NoId(
            webhook_core::StandardWebhooks::new(rig.secret.clone())
                .unwrap()
                .freshness(webhook_core::Freshness::default().with_shared_clock(rig.shared())),
        ))
        .clock(rig.shared())
        .replay(Arc::clone(&store))
        .build()
        .unwrap();
    let headers = rig.sign("msg_two_silent", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let mut delivery = authenticated(&receiver, &req);
    assert!(delivery.claim(Some("evt_a")).await.unwrap());
    assert!(delivery.claim(Some("evt_b")).await.unwrap());
    {
        let mut finishing = std::pin::pin!(delivery.finish(true));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(finishing.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(
        store.calls(),
        ["complete", "complete_abandoned", "complete_abandoned"]
    );
}

/// A delivery that claims twice (two event ids, no message id) finishes both claims: done
/// together on success, released together on failure.
#[tokio::test]
async fn every_claim_of_a_delivery_is_finished_with_it() {
    let rig = Rig::new();
    let receiver = no_id_receiver(&rig);
    let headers = rig.sign("msg_two", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    // Failure: both released, so both are claimed afresh.
    let mut failed = authenticated(&receiver, &req);
    assert!(failed.claim(Some("evt_a")).await.unwrap());
    assert!(failed.claim(Some("evt_b")).await.unwrap());
    failed.finish(false).await;
    let mut done = authenticated(&receiver, &req);
    assert!(
        done.claim(Some("evt_a")).await.unwrap(),
        "evt_a was released"
    );
    assert!(
        done.claim(Some("evt_b")).await.unwrap(),
        "evt_b was released"
    );
    // Success: both marked done.
    done.finish(true).await;
    for id in ["evt_a", "evt_b"] {
        let mut again = authenticated(&receiver, &req);
        assert!(!again.claim(Some(id)).await.unwrap(), "{id} is a duplicate");
    }
}

/// A delivery whose second claim finds a duplicate is finished as one; dropping it then
/// still releases its first claim, which no handler ran for.
#[tokio::test]
async fn a_claim_before_a_duplicate_is_released_when_the_delivery_is_dropped() {
    let rig = Rig::new();
    let receiver = no_id_receiver(&rig);
    let headers = rig.sign("msg_dup", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let mut first = authenticated(&receiver, &req);
    assert!(first.claim(Some("evt_done")).await.unwrap());
    first.finish(true).await;
    let mut second = authenticated(&receiver, &req);
    assert!(second.claim(Some("evt_new")).await.unwrap());
    assert!(
        !second.claim(Some("evt_done")).await.unwrap(),
        "a duplicate"
    );
    drop(second);
    let mut third = authenticated(&receiver, &req);
    assert!(
        third.claim(Some("evt_new")).await.unwrap(),
        "evt_new was released, not left in flight until its lease ran out"
    );
    assert_eq!(receiver.stats().duplicates, 1);
}

/// Two extractors of one request behind a layer (actix-web polls a handler's extractors side
/// by side), on a store that answers later: the second waits for the first one's claim of the
/// event id and shares it, rather than find it in flight (409); one claim reaches the store.
/// An extractor cancelled mid-claim leaves the id to the other.
#[tokio::test]
async fn extractors_of_one_request_share_the_event_ids_claim() {
    let rig = Rig::new();
    let store = Arc::new(Later::default());
    let inner = webhook_core::StandardWebhooks::new(rig.secret.clone())
        .unwrap()
        .freshness(webhook_core::Freshness::default().with_shared_clock(rig.shared()));
    let receiver = Receiver::builder()
        .verifier(NoId(inner))
        .route("shared")
        .clock(rig.shared())
        .replay(Arc::clone(&store))
        .build()
        .unwrap();
    let headers = rig.sign("msg_shared", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let mut layer = authenticated(&receiver, &req);
    let webhook_core::Accepted::Fresh(proof) = layer.accept_raw().await.unwrap() else {
        panic!("a fresh delivery")
    };
    let slot = webhook_core::LeaseSlot::new();
    let claims_before = store.claims.load(Ordering::SeqCst);
    let (first, second) = tokio::join!(
        receiver.accept_layered::<Mail>(&proof, &slot, &req),
        receiver.accept_layered::<Mail>(&proof, &slot, &req)
    );
    for accepted in [first, second] {
        assert!(
            matches!(
                accepted,
                Ok(webhook_core::Accepted::Fresh(Mail::Sent { .. }))
            ),
            "{accepted:?}"
        );
    }
    assert_eq!(store.claims.load(Ordering::SeqCst), claims_before + 1);
    layer.adopt(&slot);
    layer.finish(true).await;

    // Cancelled while its claim waits on the store: the other extractor claims for itself.
    let body = br#"{"type":"email.sent","id":"evt_2","data":{"to":"b@example.com"}}"#;
    let other = rig.sign("msg_cancelled", body);
    let req = request(&other, body, peer("192.0.2.1"));
    let mut layer = authenticated(&receiver, &req);
    let webhook_core::Accepted::Fresh(proof) = layer.accept_raw().await.unwrap() else {
        panic!("a fresh delivery")
    };
    let slot = webhook_core::LeaseSlot::new();
    {
        let mut cancelled = std::pin::pin!(receiver.accept_layered::<Mail>(&proof, &slot, &req));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(cancelled.as_mut().poll(&mut cx).is_pending());
    }
    let accepted = tokio::time::timeout(
        Duration::from_secs(30),
        receiver.accept_layered::<Mail>(&proof, &slot, &req),
    )
    .await
    .expect("the remaining extractor does not wait for a cancelled one");
    assert!(matches!(
        accepted,
        Ok(webhook_core::Accepted::Fresh(Mail::Sent { .. }))
    ));
}

/// Behind a layer, the extractor claims the event's own id only when the proof has no
/// message id, parking that claim in the layer's slot, which the layer finishes.
#[tokio::test]
async fn layered_claims_of_the_event_id_are_parked_and_finished_by_the_layer() {
    let rig = Rig::new();
    let receiver = no_id_receiver(&rig);
    let headers = rig.sign("msg_layered", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));

    // The layer: authenticate and claim (the signature, as the proof has no message id).
    let mut layer = authenticated(&receiver, &req);
    let proof = fresh_proof(&mut layer).await;
    assert!(proof.message_id().is_none());
    let slot = webhook_core::LeaseSlot::new();

    // The extractor claims `evt_1` into the slot and decodes.
    match receiver.accept_layered::<Mail>(&proof, &slot, &req).await {
        Ok(webhook_core::Accepted::Fresh(Mail::Sent { to })) => assert_eq!(to, "a@example.com"),
        other => panic!("expected the event, got {other:?}"),
    }
    // While the handler runs, the event id is in flight for any other delivery.
    let mut other = authenticated(&receiver, &req);
    let error = other.claim(Some("evt_1")).await.unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InFlight);
    drop(other);

    // The handler succeeded: the layer adopts the parked claim and marks it done.
    layer.adopt(&slot);
    assert!(slot.take().is_empty(), "the layer took every parked claim");
    layer.finish(true).await;
    let mut retry = authenticated(&receiver, &req);
    assert!(
        !retry.claim(Some("evt_1")).await.unwrap(),
        "the parked claim was completed with the delivery"
    );
    drop(retry);

    // The event id, not the signature, deduplicates the delivery (as without a layer): the
    // layer's claim of the signature was released, so an exact replay passes the layer and
    // the extractor answers the duplicate with the event's id.
    let mut replay = authenticated(&receiver, &req);
    let replay_proof = match replay.accept_raw().await.unwrap() {
        webhook_core::Accepted::Fresh(proof) => proof,
        webhook_core::Accepted::Duplicate(_) => panic!("the signature claim was released"),
    };
    let replay_slot = webhook_core::LeaseSlot::new();
    match receiver
        .accept_layered::<Mail>(&replay_proof, &replay_slot, &req)
        .await
        .unwrap()
    {
        webhook_core::Accepted::Duplicate(reply) => {
            assert_eq!(reply.status(), 200);
            assert!(reply.body().contains(r#""id":"evt_1""#), "{}", reply.body());
        }
        webhook_core::Accepted::Fresh(_) => panic!("a duplicate of evt_1"),
    }
    replay.adopt(&replay_slot);
    replay.finish(true).await;
    // `retry` and `replay` were both answered as duplicates; only the first was processed.
    assert_eq!(receiver.stats().duplicates, 2);
    assert_eq!(receiver.stats().accepted, 1);
}

/// An extractor behind a layer refused the delivery (its body does not validate): whatever the
/// handler answered, the layer that adopts the slot finishes it as rejected, even through
/// `finish(true)`: its claim is released (the corrected retry is fresh), and it counts as
/// rejected, not accepted.
#[tokio::test]
async fn a_refused_delivery_behind_a_layer_is_never_finished_as_processed() {
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let bad = br#"{"type":"email.sent","id":"evt_2","data":{}}"#;
    let headers = rig.sign("msg_refused", bad);
    let req = request(&headers, bad, peer("192.0.2.1"));
    let mut layer = authenticated(&receiver, &req);
    let proof = fresh_proof(&mut layer).await;
    let slot = webhook_core::LeaseSlot::new();
    let error = receiver
        .accept_layered::<Mail>(&proof, &slot, &req)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 422);
    layer.adopt(&slot);
    // As an adapter that did not ask for the rejection would: `finish(true)`.
    layer.finish(true).await;
    assert_eq!(receiver.stats().accepted, 0);
    assert_eq!(receiver.stats().rejected(error.kind()), 1);
    let mut retry = authenticated(&receiver, &req);
    assert!(retry.claim(None).await.unwrap(), "the claim was released");

    // An adapter that asks takes the rejection, with what the sender is answered.
    let mut layer = authenticated(
        &receiver,
        &request(&rig.sign("msg_other", bad), bad, peer("192.0.2.1")),
    );
    let proof = fresh_proof(&mut layer).await;
    let slot = webhook_core::LeaseSlot::new();
    let _ = receiver.accept_layered::<Mail>(&proof, &slot, &req).await;
    layer.adopt(&slot);
    let taken = layer.take_rejection().expect("the extractor's rejection");
    assert_eq!(taken.to_json(), error.to_json());
    assert!(layer.take_rejection().is_none());
}

#[tokio::test]
async fn a_store_failure_fails_closed_with_503() {
    #[derive(Debug)]
    struct Down;
    impl ReplayStore for Down {
        fn claim<'a>(
            &'a self,
            _: &'a str,
            _: Duration,
        ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
            Box::pin(async { Err(webhook_core::StoreError::new("connection refused")) })
        }
        fn complete<'a>(
            &'a self,
            _: &'a str,
            _: webhook_core::LeaseToken,
            _: Duration,
        ) -> webhook_core::StoreFuture<'a, ()> {
            Box::pin(async { Err(webhook_core::StoreError::new("connection refused")) })
        }
        fn release(&self, _: &str, _: webhook_core::LeaseToken) {}
    }
    let rig = Rig::new();
    let receiver = rig.builder().replay(Down).build().unwrap();
    let headers = rig.sign("msg_x", BODY);
    let err = run(&receiver, &request(&headers, BODY, peer("192.0.2.1")))
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after_secs(), Some(5));
    assert!(!err.to_json().contains("connection refused"));
}

#[tokio::test]
async fn a_flood_of_bad_signatures_leaves_the_store_empty_and_memory_flat() {
    let rig = Rig::new();
    let store = MemoryStore::with_clock(1_000, rig.shared());
    let receiver = rig
        .builder()
        .replay(store.clone())
        .rate_limit(RateLimit::per_second(1_000_000).max_sources(1_000))
        .build()
        .unwrap();
    let mut headers = rig.sign("msg_flood", BODY);
    for (name, value) in &mut headers {
        if name == "webhook-signature" {
            *value = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        }
    }
    for i in 0..10_000u32 {
        let from = std::net::SocketAddr::new(std::net::Ipv4Addr::from(0x0a00_0000 + i).into(), 1);
        let err = run(&receiver, &request(&headers, BODY, from))
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    }
    assert_eq!(store.len(), 0);
    assert!(
        receiver.rate_limited_sources() <= 1_001,
        "{}",
        receiver.rate_limited_sources()
    );
    assert_eq!(
        receiver.stats().rejected(VerifyErrorKind::InvalidSignature),
        10_000
    );
}

/// A `Write` into a shared buffer, for a captured subscriber.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// A subscriber writing here, up to `level`, with span closes when `spans`.
    pub(crate) fn subscriber(
        &self,
        level: tracing::Level,
        spans: bool,
    ) -> impl tracing::Subscriber {
        use tracing_subscriber::fmt::format::FmtSpan;
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_span_events(if spans { FmtSpan::CLOSE } else { FmtSpan::NONE })
            .with_max_level(level)
            .with_ansi(false)
            .finish()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn the_span_shows_the_delivery_but_no_secret_signature_or_payload() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::TRACE, true);
    let rig = Rig::new();
    let receiver = rig.builder().build().unwrap();
    let body = br#"{"type":"email.sent","id":"evt_1","data":{"to":"payload-marker@example.com"}}"#;
    let headers = rig.sign("msg_traced", body);
    let signature = headers
        .iter()
        .find(|(n, _)| n == "webhook-signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let req = request(&headers, body, peer("192.0.2.1"));
            let (_, delivery) = run(&receiver, &req).await.unwrap();
            delivery.finish(true).await;
            let mut bad = headers.clone();
            bad.retain(|(n, _)| n != "webhook-signature");
            bad.push((
                "webhook-signature".into(),
                "v1,c2lnbmF0dXJlLW1hcmtlcg==".into(),
            ));
            let req = request(&bad, body, peer("192.0.2.1"));
            assert!(run(&receiver, &req).await.is_err());
        });
    });
    let text = captured.text();
    for expected in [
        "webhook.delivery",
        r#"scheme="standard-webhooks-v1""#,
        r#"outcome="accepted""#,
        r#"outcome="rejected""#,
        r#"reason="invalid_signature""#,
        r#"event_type="email.sent""#,
        r#"message_id="msg_traced""#,
        "latency_ms=",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let secret_b64 = rig.secret.expose_base64();
    for forbidden in [
        secret_b64.as_str(),
        "0123456789abcdef",
        signature.as_str(),
        signature.trim_start_matches("v1,"),
        "c2lnbmF0dXJlLW1hcmtlcg",
        "payload-marker",
        "email.sent\",",
    ] {
        assert!(
            !text.contains(forbidden),
            "leaked {forbidden:?} in:\n{text}"
        );
    }
}

/// Only URL-signing schemes make adapters build the URL: the answer of each built-in verifier,
/// of the combinators, and of the receiver around them.
#[test]
fn verifiers_say_whether_they_sign_the_url() {
    use webhook_core::provider::hubspot::{self, Legacy};
    use webhook_core::provider::{github, square, twilio};
    use webhook_core::{AllOf, AnyOf, ApiKey, Secret, StandardWebhooks, Verifier};

    let secret = || Secret::from_text("a-test-secret-of-some-length").unwrap();
    let standard = StandardWebhooks::new(secret()).unwrap();
    let github = github::scheme().verifier(secret()).unwrap();
    let square = square::scheme().verifier(secret()).unwrap();
    let twilio = twilio::verifier(secret()).unwrap();
    assert!(!standard.signs_url());
    assert!(!github.signs_url());
    assert!(square.signs_url());
    assert!(twilio.signs_url());
    assert!(
        !hubspot::legacy_verifier(Legacy::V1, secret())
            .unwrap()
            .signs_url()
    );
    assert!(
        hubspot::legacy_verifier(Legacy::V2, secret())
            .unwrap()
            .signs_url()
    );
    assert!(!ApiKey::bearer([secret()]).unwrap().signs_url());

    let either = AnyOf::new()
        .or(StandardWebhooks::new(secret()).unwrap())
        .or(twilio::verifier(secret()).unwrap());
    assert!(either.signs_url());
    let both = AllOf::new()
        .and(StandardWebhooks::new(secret()).unwrap())
        .and(github::scheme().verifier(secret()).unwrap());
    assert!(!both.signs_url());

    let receiver = |v: Box<dyn Verifier>| Receiver::builder().verifier(v).build().unwrap();
    assert!(!receiver(Box::new(standard)).signs_url());
    assert!(receiver(Box::new(twilio)).signs_url());
}

/// `authenticate` before `admit` is refused (500), so that a custom adapter that forgets the
/// source checks cannot tell a refused source whether its signature is good.
#[test]
fn authenticate_needs_admit_first() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .allow_sources(["192.0.2.0/24"])
        .build()
        .unwrap();
    let headers = rig.sign("msg_order", BODY);
    let outsider = request(&headers, BODY, peer("203.0.113.9"));
    let mut skipped = receiver.delivery();
    let error = skipped.authenticate(&outsider).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::NotConfigured);
    assert_eq!(error.status(), 500);
    // In order: the source is refused before its signature is looked at.
    let mut ordered = receiver.delivery();
    assert_eq!(ordered.admit(&outsider, false).unwrap_err().status(), 403);
    // An allowed source, admitted, is authenticated.
    let insider = request(&headers, BODY, peer("192.0.2.7"));
    let mut admitted = receiver.delivery();
    admitted.admit(&insider, false).unwrap();
    assert!(admitted.authenticate(&insider).is_ok());
}

/// A rate-limited flood does not flood the logs: its rejections are DEBUG events, where a bad
/// signature is a WARN.
#[test]
fn rate_limited_rejections_log_at_debug() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::INFO, false);
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .rate_limit(RateLimit::per_minute(1))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let headers = rig.sign("msg_limited", BODY);
            let mut bad = headers.clone();
            bad.retain(|(n, _)| n != "webhook-signature");
            bad.push(("webhook-signature".into(), "v1,AAAA".into()));
            let first = request(&bad, BODY, peer("192.0.2.1"));
            assert_eq!(
                run(&receiver, &first).await.err().map(|e| e.kind()),
                Some(VerifyErrorKind::InvalidSignature)
            );
            for _ in 0..50 {
                let again = request(&headers, BODY, peer("192.0.2.1"));
                assert_eq!(
                    run(&receiver, &again).await.err().map(|e| e.kind()),
                    Some(VerifyErrorKind::RateLimited)
                );
            }
        });
    });
    let text = captured.text();
    let rejected: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("webhook delivery rejected"))
        .collect();
    assert_eq!(rejected.len(), 1, "{text}");
    assert!(
        rejected[0].contains("WARN") && rejected[0].contains("invalid_signature"),
        "{text}"
    );
    assert!(!text.contains("rate_limited"), "{text}");
    let stats = receiver.stats();
    assert_eq!(stats.rejected(VerifyErrorKind::RateLimited), 50);
    assert_eq!(stats.rejected(VerifyErrorKind::InvalidSignature), 1);
}

/// A duplicate is answered before decoding; the receiver's event-type reader still names it,
/// and without one its `event_type` is `null`.
#[tokio::test]
async fn a_duplicate_names_its_event_type_when_the_receiver_can_read_it() {
    let rig = Rig::new();
    let reader = |request: &WebhookRequest<'_>| {
        let body: serde_json::Value = serde_json::from_slice(request.body()).ok()?;
        body.get("type")?.as_str().map(str::to_owned)
    };
    let named = rig.builder().event_type_from(reader).build().unwrap();
    let unnamed = rig.builder().build().unwrap();
    let headers = rig.sign("msg_dup_type", BODY);
    for (receiver, expected) in [
        (&named, serde_json::json!("email.sent")),
        (&unnamed, serde_json::Value::Null),
    ] {
        let req = request(&headers, BODY, peer("192.0.2.1"));
        let mut first = receiver.delivery();
        first.admit(&req, false).unwrap();
        first.authenticate(&req).unwrap();
        assert!(matches!(
            first.accept_raw().await.unwrap(),
            webhook_core::Accepted::Fresh(_)
        ));
        first.finish(true).await;
        let mut again = receiver.delivery();
        again.admit(&req, false).unwrap();
        again.authenticate(&req).unwrap();
        let webhook_core::Accepted::Duplicate(reply) = again.accept_raw().await.unwrap() else {
            panic!("not a duplicate");
        };
        let body: serde_json::Value = serde_json::from_str(reply.body()).unwrap();
        assert_eq!(body["event_type"], expected);
        assert_eq!(body["id"], "msg_dup_type");
        assert_eq!(body["duplicate"], true);
    }
}

/// Values a sender or a replayer controls reach neither the logs nor a duplicate's answer
/// unbounded: an event type read from an unsigned header (`event_type_from`) and a signed
/// message id longer than an event id may be (256 bytes) are recorded nowhere, and the
/// duplicate's answer names them `null`; the delivery is still processed once.
#[test]
fn unbounded_event_types_and_ids_are_not_reported() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::INFO, false);
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .event_type_from(|_| Some("t".repeat(10_000)))
        .build()
        .unwrap();
    let long_id = "m".repeat(10_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let headers = rig.sign(&long_id, BODY);
            let req = request(&headers, BODY, peer("192.0.2.1"));
            let (event, delivery) = run(&receiver, &req).await.unwrap();
            assert!(event.is_some());
            delivery.finish(true).await;
            let (event, delivery) = run(&receiver, &req).await.unwrap();
            assert!(event.is_none(), "the copy is a duplicate");
            let reply: serde_json::Value =
                serde_json::from_str(delivery.duplicate_reply().body()).unwrap();
            assert_eq!(
                reply,
                serde_json::json!({"event_type": null, "id": null, "duplicate": true})
            );
        });
    });
    let logs = captured.text();
    assert!(logs.contains("duplicate"), "{logs}");
    assert!(
        !logs.contains("tttt"),
        "event type logged: {} bytes",
        logs.len()
    );
    assert!(
        !logs.contains("mmmm"),
        "message id logged: {} bytes",
        logs.len()
    );
    // A reportable type and id still are.
    let reply = webhook_core::Reply::duplicate(Some("email.sent"), Some("msg_1"));
    assert_eq!(
        reply.body(),
        r#"{"duplicate":true,"event_type":"email.sent","id":"msg_1"}"#
    );
}

/// A receiver whose checks read the peer's address, given requests without one (axum without
/// `ConnectInfo`, actix-web on a Unix socket): said once, at error level, naming the fix,
/// whatever the adapter. (nextest runs each test in a process of its own, so this one sees
/// the process's first such request.)
#[test]
fn requests_without_a_peer_are_said_once_to_a_receiver_that_reads_it() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::WARN, false);
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .rate_limit(RateLimit::per_second(100))
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            let headers = rig.sign("msg_no_peer", BODY);
            let mut request = WebhookRequest::new(BODY);
            for (name, value) in &headers {
                request = request.with_header(name, value);
            }
            assert!(receiver.delivery().admit(&request, false).is_ok());
        }
    });
    let logs = captured.text();
    assert_eq!(logs.matches("carry no peer address").count(), 1, "{logs}");
    assert!(logs.contains("ERROR") && logs.contains("into_make_service_with_connect_info"));
}

/// Refusals made before the rate limiter is asked (here 403 for a source outside the
/// allowlist) are never slowed by a 429: a flood of them writes at most ten WARN lines a
/// second, the rest at DEBUG, while the counters show every one.
#[test]
fn a_flood_refused_before_the_rate_limit_writes_few_warn_lines() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::WARN, false);
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .allow_sources(["10.0.0.0/8"])
        .rate_limit(RateLimit::per_second(1))
        .build()
        .unwrap();
    let outsider = std::net::SocketAddr::from(([203, 0, 113, 9], 40_000));
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..500 {
            let request = WebhookRequest::new(BODY).with_peer(outsider);
            let error = receiver.delivery().admit(&request, false).unwrap_err();
            assert_eq!(error.kind(), VerifyErrorKind::SourceNotAllowed);
        }
    });
    // Ten a second: the loop may cross a second's boundary or two on a slow machine.
    let allowed = 10 * (usize::try_from(started.elapsed().as_secs()).unwrap() + 2);
    let lines = captured.text().matches("webhook delivery rejected").count();
    assert!((1..=allowed).contains(&lines), "{lines} lines");
    assert_eq!(
        receiver.stats().rejected(VerifyErrorKind::SourceNotAllowed),
        500
    );
}

/// A receiver whose verifier signs no timestamp, built with the default retention, warns at
/// start-up (naming its route) that a copy is refused only while its key is retained; one
/// given a retention, one whose verifier signs a timestamp, and an API key's do not.
#[test]
fn no_signed_timestamp_and_the_default_retention_warn_at_start_up() {
    use webhook_core::provider::github;
    use webhook_core::{ApiKey, Secret, StandardWebhooks};
    let secret = || Secret::from_text("a-test-secret-of-some-length").unwrap();
    let warned = |build: &dyn Fn() -> Receiver| {
        let captured = Captured::default();
        let subscriber = captured.subscriber(tracing::Level::WARN, false);
        tracing::subscriber::with_default(subscriber, build);
        captured.text()
    };
    let text = warned(&|| {
        Receiver::builder()
            .route("gh")
            .verifier(github::scheme().verifier(secret()).unwrap())
            .build()
            .unwrap()
    });
    assert!(text.contains("signs no timestamp"), "{text}");
    assert!(text.contains("route=gh"), "{text}");
    assert!(text.contains("retention_secs=600"), "{text}");
    assert!(!text.contains("a-test-secret"), "{text}");
    let quiet = [
        warned(&|| {
            Receiver::builder()
                .verifier(github::scheme().verifier(secret()).unwrap())
                .retention(Duration::from_secs(3 * 24 * 3600))
                .build()
                .unwrap()
        }),
        warned(&|| {
            Receiver::builder()
                .verifier(StandardWebhooks::new(secret()).unwrap())
                .build()
                .unwrap()
        }),
        // An API key signs nothing: no key of its would refuse a copy either way.
        warned(&|| {
            Receiver::builder()
                .verifier(ApiKey::bearer([secret()]).unwrap())
                .build()
                .unwrap()
        }),
    ];
    for text in quiet {
        assert!(text.is_empty(), "{text}");
    }
}
