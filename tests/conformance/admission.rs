//! The admission scenarios every adapter must answer alike, beyond the conformance table:
//! HTTPS required (403), the rate limit (429 with `Retry-After`, then recovery on the
//! receiver's clock), a copy of a delivery still in flight (409 with `Retry-After`), a replay
//! store that fails (503 with `Retry-After`), a custom rejection response, and a chunked body
//! over the limit (413 while streaming).
//!
//! Each scenario builds its [`Receiver`] and its signed requests. Framework runners include
//! this file with `#[path]` and serve `POST /hook` with a handler that takes
//! `Webhook<EmailEvent>` behind the adapter's layer, middleware or guard, counts its runs,
//! waits at the scenario's [`Gate`] when it has one, and answers 204. A scenario's `run`
//! sends its requests through the runner's `send` (moving the receiver's clock in between
//! where it says time passes), and its `check` asserts every answer and the handler's runs.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use http_body_util::Full;
use webhook::{
    BasicAuth, BasicAuthSigner, Claim, Clock as _, FixedClock, LeaseToken, Outgoing, RateLimit,
    Receiver, ReplayStore, Reply, Secret, Signer, StandardWebhooks, StandardWebhooksSigner,
    StoreError, StoreFuture, SystemClock, VerifyErrorKind,
};

use super::email::EmailEvent;

/// Header names and values, in order.
pub type Headers = Vec<(String, String)>;

/// How long a runner waits for a handler to be entered, or for an answer while one is held,
/// before the scenario fails (rather than hang).
const PATIENCE: Duration = Duration::from_secs(10);

/// One request to `POST /hook`.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The headers, content type included (never `Content-Length`: the runner's client sets
    /// it for a whole body, and a chunked one has none).
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The peer address the test client presents.
    pub peer: SocketAddr,
    /// Sent with the chunked transfer coding: in pieces, with no declared length.
    pub chunked: Option<Chunking>,
}

/// How a chunked body is cut, and how many of its pieces the server read.
#[derive(Debug, Clone)]
pub struct Chunking {
    pub size: usize,
    read: Arc<AtomicUsize>,
}

impl Sent {
    /// The body as a stream of pieces (`None`: sent whole). axum's test client sends it as
    /// the request body, actix-web's as the request's payload stream; rocket's local client
    /// has no streamed bodies and sends [`body`](Self::body) whole, without a length.
    pub fn chunks(&self) -> Option<Chunks> {
        let chunking = self.chunked.as_ref()?;
        Some(Chunks {
            pieces: self
                .body
                .chunks(chunking.size)
                .map(|piece| Full::new(Bytes::copy_from_slice(piece)))
                .collect(),
            read: Arc::clone(&chunking.read),
        })
    }
}

/// A request body of several data frames and no known length, as a chunked request arrives;
/// it counts the frames the server has read.
#[derive(Debug)]
pub struct Chunks {
    pieces: VecDeque<Full<Bytes>>,
    read: Arc<AtomicUsize>,
}

/// What polling a body for its next frame yields (`http_body::Frame`, named through the
/// future of `BodyExt::frame`: `http_body` is no dependency of the tests).
type NextFrame = <http_body_util::combinators::Frame<'static, Full<Bytes>> as Future>::Output;

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<NextFrame> {
        let this = &mut *self;
        while let Some(piece) = this.pieces.front_mut() {
            match Pin::new(piece).poll_frame(cx) {
                Poll::Ready(None) => {
                    this.pieces.pop_front();
                }
                Poll::Ready(Some(frame)) => {
                    this.read.fetch_add(1, Ordering::SeqCst);
                    return Poll::Ready(Some(frame));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}

/// One answer: status, headers (names as the framework gives them) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Answer {
    /// The value of header `name` (any case); there must be at most one.
    pub fn header(&self, name: &str) -> Option<&str> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(
            values.len() <= 1,
            "{name} sent {} times: {values:?}",
            values.len()
        );
        values.first().copied()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self, step: &str) -> serde_json::Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{step}: content type"
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("{step}: body is not JSON: {}", self.text()))
    }
}

/// Holds the first run of the handler until the test releases it: the delivery is then in
/// flight, its claim held.
#[derive(Debug, Default)]
pub struct Gate {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
    held: AtomicBool,
}

impl Gate {
    /// In the handler: the first call says so and waits for [`release`](Self::release);
    /// later calls pass.
    pub async fn hold(&self) {
        if !self.held.swap(true, Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
    }

    /// In the test: wait until the handler is held.
    pub async fn entered(&self) {
        tokio::time::timeout(PATIENCE, self.entered.notified())
            .await
            .expect("the handler was never entered");
    }

    /// Let the held handler answer.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 50_000)
}

fn email_body(id: &str) -> Vec<u8> {
    format!(
        r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
    )
    .into_bytes()
}

/// `body` signed by `signer` (with message id `id`, for schemes that carry one), as
/// `content_type`, from `from`.
fn signed(signer: &impl Signer, id: &str, body: Vec<u8>, content_type: &str, from: &str) -> Sent {
    let headers = signer.sign(&Outgoing::new(&body).id(id)).unwrap();
    let mut all = vec![("content-type".to_owned(), content_type.to_owned())];
    all.extend(headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
    Sent {
        headers: all,
        body,
        peer: peer(from),
        chunked: None,
    }
}

/// An email event with message id `id`, signed by `signer`, from `from`.
fn delivery(signer: &impl Signer, id: &str, from: &str) -> Sent {
    signed(signer, id, email_body(id), "application/json", from)
}

fn with_header(mut sent: Sent, name: &str, value: &str) -> Sent {
    sent.headers.push((name.to_owned(), value.to_owned()));
    sent
}

/// Standard Webhooks: its verifier and its signer.
fn standard_webhooks() -> (StandardWebhooks, StandardWebhooksSigner) {
    let secret = Secret::random(24);
    (
        StandardWebhooks::new(secret.clone()).unwrap(),
        StandardWebhooksSigner::new(secret),
    )
}

/// A clock standing at the system's time, for a receiver whose rate limit the test moves on.
fn clock_now() -> FixedClock {
    FixedClock::at_ms(SystemClock.now_ms())
}

/// A scenario whose requests are sent in order, each once the one before is answered.
pub trait Sequential {
    fn requests(&self) -> &[Sent];

    fn run<F, Fut>(&self, send: F) -> impl Future<Output = Vec<Answer>>
    where
        F: Fn(Sent) -> Fut,
        Fut: Future<Output = Answer>,
    {
        async move { in_order(self.requests(), &send).await }
    }
}

/// Send `requests` in order, each once the one before is answered.
async fn in_order<F, Fut>(requests: &[Sent], send: &F) -> Vec<Answer>
where
    F: Fn(Sent) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut answers = Vec::new();
    for sent in requests {
        answers.push(send(sent.clone()).await);
    }
    answers
}

/// `answer` is the handler's 204.
fn processed(answer: &Answer, step: &str) {
    assert_eq!(
        answer.status,
        204,
        "{step}: status (body {})",
        answer.text()
    );
    assert!(answer.body.is_empty(), "{step}: body {}", answer.text());
}

/// `answer` is the standard rejection: `status`, `application/json`, and exactly
/// `{"error": code, "message": "…"}`; no `WWW-Authenticate` (no scenario here challenges
/// but the custom one, which checks its own).
fn rejected(answer: &Answer, status: u16, code: &str, step: &str) -> serde_json::Value {
    assert_eq!(
        answer.status,
        status,
        "{step}: status (body {})",
        answer.text()
    );
    let json = answer.json(step);
    assert_eq!(json["error"], code, "{step}: {json}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{step}: {json}"
    );
    assert_eq!(
        json.as_object().map(serde_json::Map::len),
        Some(2),
        "{step}: only error and message: {json}"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        None,
        "{step}: www-authenticate"
    );
    json
}

/// The `Retry-After` of `answer`: present, whole seconds, at least 1.
fn retry_after(answer: &Answer, step: &str) -> u64 {
    let value = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("{step}: no retry-after ({:?})", answer.headers));
    let secs: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("{step}: retry-after {value:?} is not whole seconds"));
    assert!(secs >= 1, "{step}: retry-after {secs}");
    secs
}

/// `answer` has no `Retry-After` (its status does not carry one).
fn no_retry_after(answer: &Answer, step: &str) {
    assert_eq!(answer.header("retry-after"), None, "{step}: retry-after");
}

/// `answer` is the 200 answer to a duplicate of processed delivery `id`.
fn duplicate(answer: &Answer, id: &str, step: &str) {
    assert_eq!(
        answer.status,
        200,
        "{step}: status (body {})",
        answer.text()
    );
    assert_eq!(
        answer.json(step),
        serde_json::json!({ "event_type": "email.delivered", "id": id, "duplicate": true }),
        "{step}"
    );
}

/// A receiver that requires HTTPS and trusts the proxies of `10.0.0.0/8`: plain HTTP is
/// refused (403 `https_required`) whether or not the peer claims HTTPS in forwarding headers
/// it is not trusted to write; a trusted proxy's `X-Forwarded-Proto: https` admits. (The test
/// clients speak plain HTTP; only axum can be told a connection is TLS, by its
/// `HttpsConnection` marker: see [`over_tls`](Self::over_tls).)
pub struct HttpsRequired {
    pub receiver: Receiver,
    requests: Vec<Sent>,
    over_tls: Sent,
}

impl Sequential for HttpsRequired {
    fn requests(&self) -> &[Sent] {
        &self.requests
    }
}

impl HttpsRequired {
    pub fn new() -> Self {
        let (verifier, signer) = standard_webhooks();
        let receiver = Receiver::builder()
            .route("https-required")
            .verifier(verifier)
            .events::<EmailEvent>()
            .require_https(true)
            .trusted_proxies(["10.0.0.0/8"])
            .build()
            .unwrap();
        let plain = delivery(&signer, "msg_https_1", "203.0.113.9");
        let claimed = with_header(
            with_header(
                delivery(&signer, "msg_https_2", "203.0.113.9"),
                "x-forwarded-proto",
                "https",
            ),
            "forwarded",
            "for=203.0.113.9;proto=https",
        );
        let proxied = with_header(
            with_header(
                delivery(&signer, "msg_https_3", "10.0.0.7"),
                "x-forwarded-for",
                "203.0.113.9",
            ),
            "x-forwarded-proto",
            "https",
        );
        Self {
            receiver,
            requests: vec![plain, claimed, proxied],
            over_tls: delivery(&signer, "msg_https_4", "203.0.113.9"),
        }
    }

    /// Plain HTTP 403 `https_required`, also with the untrusted peer's claim of HTTPS; the
    /// trusted proxy's delivery processed; the handler run once.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 3);
        for (answer, step) in answers
            .iter()
            .zip(["plain http", "https claimed by the peer"])
        {
            rejected(answer, 403, "https_required", step);
            no_retry_after(answer, step);
        }
        processed(&answers[2], "https from a trusted proxy");
        assert_eq!(handler_runs, 1, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.rejected(VerifyErrorKind::HttpsRequired), 2);
    }

    /// A delivery from a peer that is no proxy, for a runner that can say the connection is
    /// TLS (axum: the `HttpsConnection` marker).
    pub fn over_tls(&self) -> Sent {
        self.over_tls.clone()
    }

    /// [`over_tls`](Self::over_tls) sent without the marker, then with it: 403
    /// `https_required`, then processed; the handler run once.
    pub fn check_over_tls(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 2);
        rejected(&answers[0], 403, "https_required", "without the marker");
        processed(&answers[1], "with the marker");
        assert_eq!(handler_runs, 1, "handler runs");
    }
}

/// A receiver limited to one delivery a minute per source, on a clock the test moves: the
/// second delivery from a source is 429 `rate_limited` with `Retry-After: 60`, another source
/// is not limited by it, 59 s later the source is still limited (`Retry-After: 1`), and a
/// second after that it is admitted again.
pub struct RateLimited {
    pub receiver: Receiver,
    clock: FixedClock,
    requests: Vec<Sent>,
}

impl RateLimited {
    pub fn new() -> Self {
        let (verifier, signer) = standard_webhooks();
        let clock = clock_now();
        let receiver = Receiver::builder()
            .route("rate-limited")
            .verifier(verifier)
            .events::<EmailEvent>()
            .rate_limit(RateLimit::per_minute(1))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let requests = vec![
            delivery(&signer, "msg_rate_1", "192.0.2.10"),
            delivery(&signer, "msg_rate_2", "192.0.2.10"),
            delivery(&signer, "msg_rate_3", "198.51.100.7"),
            delivery(&signer, "msg_rate_2", "192.0.2.10"),
            delivery(&signer, "msg_rate_2", "192.0.2.10"),
        ];
        Self {
            receiver,
            clock,
            requests,
        }
    }

    pub async fn run<F, Fut>(&self, send: F) -> Vec<Answer>
    where
        F: Fn(Sent) -> Fut,
        Fut: Future<Output = Answer>,
    {
        let [first, limited, other, early, recovered] = &self.requests[..] else {
            unreachable!("five requests")
        };
        let mut answers = in_order(&[first.clone(), limited.clone(), other.clone()], &send).await;
        self.clock.advance(Duration::from_secs(59));
        answers.push(send(early.clone()).await);
        self.clock.advance(Duration::from_secs(1));
        answers.push(send(recovered.clone()).await);
        answers
    }

    /// 204, 429 (`Retry-After: 60`), 204 from the other source, 429 (`Retry-After: 1`), 204;
    /// the handler run three times.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 5);
        processed(&answers[0], "first from the source");
        rejected(&answers[1], 429, "rate_limited", "second from the source");
        assert_eq!(retry_after(&answers[1], "second from the source"), 60);
        processed(&answers[2], "another source");
        rejected(&answers[3], 429, "rate_limited", "59 s later");
        assert_eq!(retry_after(&answers[3], "59 s later"), 1);
        processed(&answers[4], "a minute later");
        assert_eq!(handler_runs, 3, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!(stats.accepted, 3);
        assert_eq!(stats.rejected(VerifyErrorKind::RateLimited), 2);
    }
}

/// One delivery whose handler is held at a [`Gate`], on a clock the test moves: a copy sent
/// 10 s into the 30 s lease is 409 with `Retry-After: 20` (what is left of the lease) without
/// running the handler; once the held delivery is answered (204), the copy is a duplicate
/// (200).
pub struct InFlight {
    pub receiver: Receiver,
    pub gate: Arc<Gate>,
    clock: FixedClock,
    delivery: Sent,
}

impl InFlight {
    pub fn new() -> Self {
        let (verifier, signer) = standard_webhooks();
        let clock = clock_now();
        let receiver = Receiver::builder()
            .route("in-flight")
            .verifier(verifier)
            .events::<EmailEvent>()
            .lease(Duration::from_secs(30))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        Self {
            receiver,
            gate: Arc::new(Gate::default()),
            clock,
            delivery: delivery(&signer, "msg_in_flight", "127.0.0.1"),
        }
    }

    /// The delivery; once its handler is held, 10 s on, the copy; then (released) the copy
    /// again.
    /// The answers in that order: the held delivery's, the copy's while it was held, the
    /// copy's after.
    pub async fn run<F, Fut>(&self, send: F) -> Vec<Answer>
    where
        F: Fn(Sent) -> Fut,
        Fut: Future<Output = Answer>,
    {
        let (held, meanwhile) = tokio::join!(send(self.delivery.clone()), async {
            self.gate.entered().await;
            self.clock.advance(Duration::from_secs(10));
            let copy = tokio::time::timeout(PATIENCE, send(self.delivery.clone())).await;
            self.gate.release();
            copy.expect("the copy was not answered while the delivery was in flight")
        });
        let after = send(self.delivery.clone()).await;
        vec![held, meanwhile, after]
    }

    /// 204, 409 `in_flight` with `Retry-After: 20`, then 200 duplicate; the handler run once.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 3);
        processed(&answers[0], "the held delivery");
        rejected(&answers[1], 409, "in_flight", "the copy in flight");
        assert_eq!(retry_after(&answers[1], "the copy in flight"), 20);
        duplicate(&answers[2], "msg_in_flight", "the copy after");
        assert_eq!(handler_runs, 1, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!((stats.accepted, stats.duplicates), (1, 1));
        assert_eq!(stats.rejected(VerifyErrorKind::InFlight), 1);
    }
}

/// A replay store that cannot answer (its claims fail, suggesting a retry in 7 s), counting
/// the claims it is asked for.
#[derive(Debug, Default)]
pub struct FailingStore {
    claims: Arc<AtomicUsize>,
}

impl ReplayStore for FailingStore {
    fn claim<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Err(StoreError::new(
            "replay store unreachable",
        )
        .with_retry_after(Duration::from_secs(7)))))
    }
    fn complete<'a>(&'a self, _: &'a str, _: LeaseToken, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn release(&self, _: &str, _: LeaseToken) {}
}

/// A receiver on a [`FailingStore`]: an authenticated delivery is refused 503
/// `store_unavailable` with the store's `Retry-After` (fail closed), a tampered one 401
/// without reaching the store, and the authenticated one again 503: the handler never runs.
pub struct StoreDown {
    pub receiver: Receiver,
    claims: Arc<AtomicUsize>,
    requests: Vec<Sent>,
}

impl Sequential for StoreDown {
    fn requests(&self) -> &[Sent] {
        &self.requests
    }
}

impl StoreDown {
    pub fn new() -> Self {
        let (verifier, signer) = standard_webhooks();
        let store = FailingStore::default();
        let claims = Arc::clone(&store.claims);
        let receiver = Receiver::builder()
            .route("store-down")
            .verifier(verifier)
            .events::<EmailEvent>()
            .replay(store)
            .build()
            .unwrap();
        let authentic = delivery(&signer, "msg_store_1", "127.0.0.1");
        let mut tampered = delivery(&signer, "msg_store_2", "127.0.0.1");
        tampered.body = email_body("msg_store_3");
        Self {
            receiver,
            claims,
            requests: vec![authentic.clone(), tampered, authentic],
        }
    }

    /// 503 (`Retry-After: 7`), 401 `invalid_signature`, 503 (`Retry-After: 7`); the store
    /// asked twice, the handler never run.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 3);
        for (i, step) in [(0, "authentic"), (2, "authentic again")] {
            rejected(&answers[i], 503, "store_unavailable", step);
            assert_eq!(retry_after(&answers[i], step), 7, "{step}");
        }
        rejected(&answers[1], 401, "invalid_signature", "tampered");
        no_retry_after(&answers[1], "tampered");
        assert_eq!(
            self.claims.load(Ordering::SeqCst),
            2,
            "claims: only authenticated deliveries reach the store, each once"
        );
        assert_eq!(handler_runs, 0, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!(stats.rejected(VerifyErrorKind::StoreUnavailable), 2);
        assert_eq!(stats.accepted, 0);
    }
}

/// The realm challenge of the custom rejection's Basic verifier.
const BASIC_CHALLENGE: &str = r#"Basic realm="webhook", charset="UTF-8""#;

/// A receiver with a custom rejection (`ReceiverBuilder::rejection`) that answers
/// `{"ok":false,"reason":code}` with an `X-Hook-Rejected` header, keeping the rejection's
/// status but for wrong credentials, which it hides as 404. Its verifier is HTTP Basic (so a
/// rejection has a challenge) and it allows four deliveries a minute per source, on a clock
/// that stands still. A custom reply that keeps the status gets the rejection's
/// `WWW-Authenticate` and `Retry-After`; the 404 gets neither; a duplicate is answered in the
/// standard form all the same.
pub struct CustomRejection {
    pub receiver: Receiver,
    requests: Vec<Sent>,
}

impl Sequential for CustomRejection {
    fn requests(&self) -> &[Sent] {
        &self.requests
    }
}

impl CustomRejection {
    pub fn new() -> Self {
        let password = || Secret::from_text("s3cret-password").unwrap();
        let receiver = Receiver::builder()
            .route("custom-rejection")
            .verifier(BasicAuth::new([("sender", password())]).unwrap())
            .content_type("application/json")
            .rate_limit(RateLimit::per_minute(4))
            .clock(Arc::new(clock_now()))
            .rejection(|error| {
                let status = if error.kind() == VerifyErrorKind::InvalidCredentials {
                    404
                } else {
                    error.status()
                };
                let body = serde_json::json!({ "ok": false, "reason": error.code() });
                Reply::json(status, body.to_string()).with_header("x-hook-rejected", error.code())
            })
            .build()
            .unwrap();
        let signer = BasicAuthSigner::new("sender", password());
        let wrong = BasicAuthSigner::new("sender", Secret::from_text("not-the-password").unwrap());
        let mut anonymous = delivery(&signer, "m_custom_0", "127.0.0.1");
        anonymous
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        let requests = vec![
            anonymous,
            delivery(&wrong, "m_custom_0", "127.0.0.1"),
            signed(
                &signer,
                "m_custom_1",
                email_body("m_custom_1"),
                "text/plain",
                "127.0.0.1",
            ),
            delivery(&signer, "m_custom_1", "127.0.0.1"),
            delivery(&signer, "m_custom_1", "127.0.0.1"),
            delivery(&signer, "m_custom_2", "127.0.0.1"),
        ];
        Self { receiver, requests }
    }

    /// 401 custom + challenge, 404 custom without it, 415 custom, 204, 200 standard
    /// duplicate, 429 custom + `Retry-After: 15` (the 415 was refused before the rate limit
    /// counted it); the handler run once.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 6);
        let custom = |answer: &Answer, status: u16, code: &str, step: &str| {
            assert_eq!(
                answer.status,
                status,
                "{step}: status (body {})",
                answer.text()
            );
            assert_eq!(
                answer.json(step),
                serde_json::json!({ "ok": false, "reason": code }),
                "{step}"
            );
            assert_eq!(answer.header("x-hook-rejected"), Some(code), "{step}");
        };
        custom(&answers[0], 401, "missing_credentials", "no credentials");
        assert_eq!(
            answers[0].header("www-authenticate"),
            Some(BASIC_CHALLENGE),
            "no credentials: the challenge is added to the custom reply"
        );
        no_retry_after(&answers[0], "no credentials");
        custom(&answers[1], 404, "invalid_credentials", "wrong credentials");
        assert_eq!(
            answers[1].header("www-authenticate"),
            None,
            "wrong credentials: a reply hiding the endpoint names no auth scheme"
        );
        no_retry_after(&answers[1], "wrong credentials");
        custom(
            &answers[2],
            415,
            "unsupported_content_type",
            "as text/plain",
        );
        processed(&answers[3], "authentic");
        duplicate(&answers[4], "m_custom_1", "authentic again");
        custom(&answers[5], 429, "rate_limited", "over the rate limit");
        assert_eq!(
            retry_after(&answers[5], "over the rate limit"),
            15,
            "the rate limit's retry-after is added to the custom reply"
        );
        assert_eq!(handler_runs, 1, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!((stats.accepted, stats.duplicates), (1, 1));
    }
}

/// A receiver whose body limit is 16 KiB, sent chunked bodies (no `Content-Length`): an event
/// in 64-byte pieces is read whole and processed; a signed 64 KiB body in 4 KiB pieces is
/// refused 413 `body_too_large`, naming the limit, once the limit is passed.
pub struct ChunkedOverLimit {
    pub receiver: Receiver,
    requests: Vec<Sent>,
    /// The pieces of the large body the server read.
    large_read: Arc<AtomicUsize>,
}

/// The body limit of [`ChunkedOverLimit`].
const SMALL_LIMIT: usize = 16 * 1024;
/// The piece size of its large body.
const LARGE_PIECE: usize = 4096;

impl Sequential for ChunkedOverLimit {
    fn requests(&self) -> &[Sent] {
        &self.requests
    }
}

impl ChunkedOverLimit {
    pub fn new() -> Self {
        let (verifier, signer) = standard_webhooks();
        let receiver = Receiver::builder()
            .route("chunked")
            .verifier(verifier)
            .events::<EmailEvent>()
            .max_body_bytes(SMALL_LIMIT)
            .build()
            .unwrap();
        let chunked = |mut sent: Sent, size: usize| {
            let read = Arc::new(AtomicUsize::new(0));
            sent.chunked = Some(Chunking {
                size,
                read: Arc::clone(&read),
            });
            (with_header(sent, "transfer-encoding", "chunked"), read)
        };
        let (small, _) = chunked(delivery(&signer, "msg_chunked_1", "127.0.0.1"), 64);
        let pad = format!(r#"{{"pad":"{}"}}"#, "x".repeat(64 * 1024)).into_bytes();
        let (large, large_read) = chunked(
            signed(
                &signer,
                "msg_chunked_2",
                pad,
                "application/json",
                "127.0.0.1",
            ),
            LARGE_PIECE,
        );
        Self {
            receiver,
            requests: vec![small, large],
            large_read,
        }
    }

    /// 204 for the event, 413 `body_too_large` ("body is larger than 16384 bytes") for the
    /// large body; the handler run once.
    pub fn check(&self, answers: &[Answer], handler_runs: usize) {
        assert_eq!(answers.len(), 2);
        processed(&answers[0], "chunked event under the limit");
        let json = rejected(
            &answers[1],
            413,
            "body_too_large",
            "chunked body over the limit",
        );
        assert_eq!(
            json["message"], "body is larger than 16384 bytes",
            "the answer states the limit that stopped the read"
        );
        no_retry_after(&answers[1], "chunked body over the limit");
        assert_eq!(handler_runs, 1, "handler runs");
        let stats = self.receiver.stats();
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.rejected(VerifyErrorKind::BodyTooLarge), 1);
    }

    /// For a runner that streams the pieces ([`Sent::chunks`]): the server stopped reading
    /// the large body once past the limit (the four pieces that fill it and the one that
    /// passes it), not at its end (sixteen).
    pub fn check_stopped_at_the_limit(&self) {
        let read = self.large_read.load(Ordering::SeqCst);
        assert!(
            read <= SMALL_LIMIT / LARGE_PIECE + 1,
            "{read} pieces of 4 KiB read past a 16 KiB limit"
        );
    }
}
