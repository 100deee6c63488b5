//! The conformance table: one list of cases with the expected status and error code, run
//! unchanged against every framework's example router (through its own test client) and,
//! for the rows marked `loopback`, over real HTTP against the example receiver.
//!
//! Framework runners include this file with `#[path]`, turn each [`TestRequest`] into their
//! request type, and check the last response with [`Case::check`].
#![allow(dead_code, unreachable_pub)]

use super::routes::RouteSpec;

/// The HTTP client of the loopback runs: a connection per request. After a rejection that
/// leaves a body unread (413 for a declared length over the limit), the server answers and may
/// then close the connection rather than read the rest; a pooled client could send its next
/// request down that closing connection and see it fail (`IncompleteMessage`), which says
/// nothing about the case under test.
pub fn loopback_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The routes under test with every route's claims in Redis (`WEBHOOK_TEST_REDIS_URL`,
/// default `redis://127.0.0.1:6379`), under a prefix of this run's own, as the example
/// receivers run with `REDIS_URL`.
#[cfg(feature = "redis")]
pub async fn routes_in_redis(framework: &str) -> Vec<RouteSpec> {
    use std::hash::{BuildHasher as _, Hasher as _};
    let url = std::env::var("WEBHOOK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let run = std::hash::RandomState::new().build_hasher().finish();
    let store = webhook::RedisStore::builder()
        .prefix(format!("webhook-test:{framework}-conformance:{run:016x}:"))
        .timeout(std::time::Duration::from_secs(5))
        .connect(&url)
        .await
        .expect("a Redis must answer at WEBHOOK_TEST_REDIS_URL (default redis://127.0.0.1:6379)");
    let store: std::sync::Arc<dyn webhook::ReplayStore> = std::sync::Arc::new(store);
    super::routes::routes_with_store(&env, "http://localhost", Some(store)).unwrap()
}

/// The environment of the routes under test.
pub fn env(name: &str) -> Option<String> {
    match name {
        "WEBHOOK_MAX_BODY_BYTES" => Some("65536".into()),
        "WEBHOOK_TRUSTED_PROXIES" => Some("10.0.0.0/8".into()),
        "WEBHOOK_ALLOWED_SOURCES" => Some("127.0.0.0/8, ::1, 198.51.100.0/24".into()),
        _ => None,
    }
}

/// What to do to a correctly signed sample delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// Send it twice; the second answer is checked.
    Twice,
    /// Change one byte of the body after signing.
    TamperBody,
    /// Remove the signature / credential headers.
    DropAuth,
    /// Sign with a timestamp an hour old.
    Stale,
    /// Sign with a timestamp an hour ahead.
    Future,
    /// Send it as `text/plain`.
    TextPlain,
    /// Sign a body larger than the limit.
    Oversize,
    /// Sign a body that is not JSON.
    NotJson,
    /// Sign an email event of a type the set does not have.
    UnknownType,
    /// Sign an email event whose recipient is not an address.
    BadRecipient,
    /// From an untrusted peer claiming an allowed address in `X-Forwarded-For`.
    SpoofedForwardedFor,
    /// Through a trusted proxy, from an allowed client.
    ViaTrustedProxy,
    /// Standard Webhooks sent with the Svix-branded `svix-*` header names.
    SvixHeaders,
    /// Sent to [`UNCONFIGURED_PATH`], a route each runner mounts with the adapter's typed
    /// extractor or guard and no receiver configuration (axum: without the layer its
    /// `WebhookProof` needs; a missing `Receiver` state is a compile error there).
    Unconfigured,
    /// A JSON body (Twilio: signed URL carrying `bodySHA256`).
    JsonBody,
    /// Sealed with another AES-256 key than the route's, then signed correctly.
    SealedWithAnotherKey,
    /// Sent unsealed (the plaintext signed as it is) to a route that decrypts.
    Unsealed,
    /// Sealed under another message id (the associated data) than the one it is sent with.
    SealedForAnotherId,
    /// Sent with `Content-Encoding: gzip` (a coding the receiver does not read).
    Gzip,
    /// Sent with `Content-Encoding: identity` (no coding).
    IdentityCoding,
}

/// The path of the route each runner mounts without configuration.
pub const UNCONFIGURED_PATH: &str = "/webhooks/unconfigured";

/// One row.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub route: &'static str,
    pub change: Change,
    pub status: u16,
    pub code: Option<&'static str>,
    /// Also run over real HTTP (rows that need no chosen peer address).
    pub loopback: bool,
}

const fn ok(name: &'static str, route: &'static str) -> Case {
    Case {
        name,
        route,
        change: Change::None,
        status: 200,
        code: None,
        loopback: true,
    }
}

const fn bad(
    name: &'static str,
    route: &'static str,
    change: Change,
    status: u16,
    code: &'static str,
    loopback: bool,
) -> Case {
    Case {
        name,
        route,
        change,
        status,
        code: Some(code),
        loopback,
    }
}

/// The table.
pub const CASES: &[Case] = &[
    ok("standard webhooks accepted", "standard-webhooks"),
    ok("github accepted", "github"),
    ok("stripe accepted", "stripe"),
    ok("slack accepted", "slack"),
    ok("shopify accepted", "shopify"),
    ok("twilio form accepted", "twilio"),
    ok("jwt accepted", "jwt"),
    ok("basic accepted", "basic"),
    ok("sendgrid accepted", "sendgrid"),
    ok("mailgun accepted", "mailgun"),
    ok("email accepted", "email"),
    ok("sealed email decrypted and accepted", "sealed-email"),
    Case {
        name: "duplicate answered 200 without the handler",
        route: "standard-webhooks",
        change: Change::Twice,
        status: 200,
        code: None,
        loopback: true,
    },
    Case {
        name: "github duplicate",
        route: "github",
        change: Change::Twice,
        status: 200,
        code: None,
        loopback: false,
    },
    Case {
        name: "email duplicate",
        route: "email",
        change: Change::Twice,
        status: 200,
        code: None,
        loopback: true,
    },
    Case {
        name: "sealed email duplicate",
        route: "sealed-email",
        change: Change::Twice,
        status: 200,
        code: None,
        loopback: true,
    },
    bad(
        "sealed email tampered ciphertext",
        "sealed-email",
        Change::TamperBody,
        401,
        "invalid_signature",
        true,
    ),
    bad(
        "sealed email with another key",
        "sealed-email",
        Change::SealedWithAnotherKey,
        400,
        "malformed_body",
        true,
    ),
    bad(
        "sealed email sent unsealed",
        "sealed-email",
        Change::Unsealed,
        400,
        "malformed_body",
        false,
    ),
    bad(
        "sealed email moved to another message id",
        "sealed-email",
        Change::SealedForAnotherId,
        400,
        "malformed_body",
        false,
    ),
    bad(
        "sealed email whose plaintext is not json",
        "sealed-email",
        Change::NotJson,
        400,
        "malformed_body",
        false,
    ),
    bad(
        "sealed email whose plaintext fails a rule",
        "sealed-email",
        Change::BadRecipient,
        422,
        "validation_failed",
        false,
    ),
    Case {
        name: "standard webhooks with svix-* headers",
        route: "standard-webhooks",
        change: Change::SvixHeaders,
        status: 200,
        code: None,
        loopback: true,
    },
    Case {
        name: "twilio json body with bodySHA256",
        route: "twilio",
        change: Change::JsonBody,
        status: 200,
        code: None,
        loopback: true,
    },
    bad(
        "github tampered body",
        "github",
        Change::TamperBody,
        401,
        "invalid_signature",
        true,
    ),
    bad(
        "standard webhooks tampered body",
        "standard-webhooks",
        Change::TamperBody,
        401,
        "invalid_signature",
        false,
    ),
    bad(
        "sendgrid tampered body",
        "sendgrid",
        Change::TamperBody,
        401,
        "invalid_signature",
        false,
    ),
    bad(
        "twilio tampered body",
        "twilio",
        Change::TamperBody,
        401,
        "invalid_signature",
        false,
    ),
    bad(
        "shopify tampered body",
        "shopify",
        Change::TamperBody,
        401,
        "invalid_signature",
        false,
    ),
    bad(
        "stripe missing signature",
        "stripe",
        Change::DropAuth,
        401,
        "missing_header",
        true,
    ),
    bad(
        "standard webhooks missing headers",
        "standard-webhooks",
        Change::DropAuth,
        401,
        "missing_header",
        false,
    ),
    bad(
        "basic missing credentials",
        "basic",
        Change::DropAuth,
        401,
        "missing_credentials",
        true,
    ),
    bad(
        "jwt missing bearer",
        "jwt",
        Change::DropAuth,
        401,
        "missing_credentials",
        false,
    ),
    bad(
        "standard webhooks stale",
        "standard-webhooks",
        Change::Stale,
        401,
        "timestamp_too_old",
        true,
    ),
    bad(
        "slack stale",
        "slack",
        Change::Stale,
        401,
        "timestamp_too_old",
        false,
    ),
    bad(
        "stripe stale",
        "stripe",
        Change::Stale,
        401,
        "timestamp_too_old",
        false,
    ),
    bad(
        "mailgun stale",
        "mailgun",
        Change::Stale,
        401,
        "timestamp_too_old",
        false,
    ),
    bad(
        "email from the future",
        "email",
        Change::Future,
        401,
        "timestamp_in_future",
        false,
    ),
    bad(
        "email as text/plain",
        "email",
        Change::TextPlain,
        415,
        "unsupported_content_type",
        true,
    ),
    bad(
        "email with a content coding",
        "email",
        Change::Gzip,
        415,
        "unsupported_content_type",
        true,
    ),
    Case {
        change: Change::IdentityCoding,
        ..ok("email with the identity coding", "email")
    },
    bad(
        "github with a content coding",
        "github",
        Change::Gzip,
        415,
        "unsupported_content_type",
        false,
    ),
    bad(
        "email too large",
        "email",
        Change::Oversize,
        413,
        "body_too_large",
        true,
    ),
    bad(
        "github too large",
        "github",
        Change::Oversize,
        413,
        "body_too_large",
        false,
    ),
    bad(
        "email not json",
        "email",
        Change::NotJson,
        400,
        "malformed_body",
        true,
    ),
    bad(
        "github not json",
        "github",
        Change::NotJson,
        400,
        "malformed_body",
        false,
    ),
    bad(
        "email unknown event type",
        "email",
        Change::UnknownType,
        422,
        "unknown_event_type",
        true,
    ),
    bad(
        "email bad recipient",
        "email",
        Change::BadRecipient,
        422,
        "validation_failed",
        true,
    ),
    bad(
        "spoofed x-forwarded-for from an untrusted peer",
        "standard-webhooks",
        Change::SpoofedForwardedFor,
        403,
        "source_not_allowed",
        false,
    ),
    Case {
        name: "allowed client through a trusted proxy",
        route: "standard-webhooks",
        change: Change::ViaTrustedProxy,
        status: 200,
        code: None,
        loopback: false,
    },
    bad(
        "route without receiver configuration",
        "email",
        Change::Unconfigured,
        500,
        "not_configured",
        false,
    ),
];

/// One request to send.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The peer address to present (test clients only; loopback is always 127.0.0.1).
    pub peer: &'static str,
}

fn unique_id(case: &Case) -> String {
    let mut bytes = [0u8; 6];
    for (i, b) in case.name.bytes().enumerate() {
        if let Some(slot) = bytes.get_mut(i % 6) {
            *slot = slot.wrapping_mul(31).wrapping_add(b);
        }
    }
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_nanos());
    format!("c{}{nanos}", hex::encode(bytes))
}

impl Case {
    /// The requests of this case, in order (the last one's answer is checked).
    pub fn requests(&self, routes: &[RouteSpec]) -> Vec<TestRequest> {
        let route = routes
            .iter()
            .find(|r| r.name == self.route)
            .expect("route exists");
        let id = unique_id(self);
        let now = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map_or(0, |d| d.as_secs());
        let now = i64::try_from(now).unwrap_or(0);
        let (mut content_type, mut body) = route.sample_body(&id);
        let mut at = None;
        match self.change {
            Change::Stale => at = Some(now - 3600),
            Change::Future => at = Some(now + 3600),
            Change::Oversize => {
                body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(70_000)).into_bytes()
            }
            Change::NotJson => body = b"this is not json".to_vec(),
            Change::UnknownType => {
                body = br#"{"event_type":"email.teleported","timestamp":"t","data":{}}"#.to_vec();
            }
            Change::BadRecipient => {
                body = format!(r#"{{"event_type":"email.sent","timestamp":"t","data":{{"message_id":"{id}","recipient":"not-an-address","timestamp":"t"}}}}"#).into_bytes();
            }
            _ => {}
        }
        if self.change == Change::JsonBody {
            content_type = "application/json";
            body = format!(r#"{{"type":"message.status","id":"{id}"}}"#).into_bytes();
        }
        if self.change == Change::TextPlain {
            content_type = "text/plain";
        }
        let signed = match self.change {
            Change::SealedWithAnotherKey | Change::Unsealed | Change::SealedForAnotherId => {
                let body = match self.change {
                    Change::SealedWithAnotherKey => {
                        let key = webhook::Key::new("default", webhook::Secret::random(32));
                        webhook::Aes256GcmSealer::new(key, super::routes::sealed_envelope())
                            .unwrap()
                            .seal(&body, id.as_bytes())
                            .unwrap()
                    }
                    Change::SealedForAnotherId => route
                        .sealer
                        .as_ref()
                        .expect("a sealing route")
                        .seal(&body, b"msg_another")
                        .unwrap(),
                    _ => body,
                };
                route.sign_as_sent(content_type, &body, &id, at)
            }
            _ => route.sign(content_type, &body, &id, at),
        }
        .expect("route can sign");
        let mut headers: Vec<(String, String)> =
            vec![("content-type".into(), signed.content_type.into())];
        match self.change {
            Change::Gzip => headers.push(("content-encoding".into(), "gzip".into())),
            Change::IdentityCoding => headers.push(("content-encoding".into(), "Identity".into())),
            _ => {}
        }
        let auth_names = [
            "signature",
            "authorization",
            "webhook-id",
            "webhook-timestamp",
        ];
        for (name, value) in &signed.headers {
            let auth = auth_names
                .iter()
                .any(|a| name.to_ascii_lowercase().contains(a));
            if self.change == Change::DropAuth && auth {
                continue;
            }
            let name = match (self.change, name.strip_prefix("webhook-")) {
                (Change::SvixHeaders, Some(rest)) => format!("svix-{rest}"),
                _ => name.clone(),
            };
            headers.push((name, value.clone()));
        }
        let mut body = signed.body;
        if self.change == Change::TamperBody
            && let Some(pos) = body.iter().position(|b| b.is_ascii_digit() || *b == b'a')
            && let Some(b) = body.get_mut(pos)
        {
            *b = if *b == b'a' {
                b'b'
            } else {
                b'0' + (*b - b'0' + 1) % 10
            };
        }
        let mut peer = "127.0.0.1";
        if self.change == Change::SpoofedForwardedFor {
            peer = "203.0.113.9";
            headers.push(("x-forwarded-for".into(), "127.0.0.1".into()));
        }
        if self.change == Change::ViaTrustedProxy {
            peer = "10.0.0.7";
            headers.push(("x-forwarded-for".into(), "203.0.113.9, 198.51.100.7".into()));
        }
        let path = if self.change == Change::Unconfigured {
            UNCONFIGURED_PATH.to_owned()
        } else {
            signed.path
        };
        let request = TestRequest {
            path,
            headers,
            body,
            peer,
        };
        if self.change == Change::Twice {
            vec![request.clone(), request]
        } else {
            vec![request]
        }
    }

    /// Check the answer to the last request.
    pub fn check(&self, status: u16, headers: &[(String, String)], body: &[u8]) {
        assert_eq!(
            status,
            self.status,
            "{}: status (body {})",
            self.name,
            String::from_utf8_lossy(body)
        );
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|_| {
            panic!(
                "{}: body is not json: {}",
                self.name,
                String::from_utf8_lossy(body)
            )
        });
        // Rejections and duplicates alike are JSON, and say so.
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        if self.code.is_some() || self.change == Change::Twice {
            assert_eq!(
                content_type.map(|v| v.split(';').next().unwrap_or(v).trim()),
                Some("application/json"),
                "{}: content-type",
                self.name
            );
        }
        match self.code {
            Some(code) => {
                assert_eq!(json["error"], code, "{}", self.name);
                assert!(json["message"].is_string(), "{}", self.name);
                let header = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
                if code == "missing_credentials" {
                    assert!(
                        header("www-authenticate"),
                        "{}: www-authenticate",
                        self.name
                    );
                }
            }
            None => {
                assert_eq!(
                    json["duplicate"],
                    self.change == Change::Twice,
                    "{}",
                    self.name
                );
                assert!(
                    json.get("event_type").is_some() && json.get("id").is_some(),
                    "{}",
                    self.name
                );
                // A duplicate is answered before decoding, and still names its event type.
                if self.change == Change::Twice {
                    assert!(json["event_type"].is_string(), "{}: {json}", self.name);
                }
            }
        }
    }
}

/// The event-id duplicate check every adapter runs: a scheme that proves no message id
/// (Stripe's), one email event, and two deliveries of it signed 30 s apart — so the second
/// has a new signature and is a duplicate only by the event's declared id — then the first
/// delivery again, byte for byte: the event's id deduplicates it too, answered alike by
/// every adapter (with the event's id), and no adapter keeps a second key for it.
pub struct EventIdDuplicate {
    pub receiver: webhook::Receiver,
    pub body: Vec<u8>,
    /// The headers of each delivery, content type included.
    pub deliveries: Vec<Vec<(String, String)>>,
    id: String,
}

impl EventIdDuplicate {
    pub fn new(id: &str) -> Self {
        use webhook::provider::stripe;
        use webhook::{Outgoing, Receiver, Secret, Signer as _};
        let secret = Secret::random(32);
        let receiver = Receiver::builder()
            .verifier(stripe::scheme().verifier(secret.clone()).unwrap())
            .build()
            .unwrap();
        let body = format!(
            r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
        )
        .into_bytes();
        let signer = stripe::scheme().signer(secret);
        let now = webhook::Clock::now_ms(&webhook::SystemClock) / 1000;
        let deliveries = [now - 30, now, now - 30]
            .into_iter()
            .map(|at| {
                let signed = signer
                    .sign(&Outgoing::new(&body).timestamp_secs(at))
                    .unwrap();
                let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
                headers.extend(signed.iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
                headers
            })
            .collect();
        Self {
            receiver,
            body,
            deliveries,
            id: id.to_owned(),
        }
    }

    /// Each delivery's headers and body, in order.
    pub fn requests(&self) -> Vec<(Headers, Vec<u8>)> {
        self.deliveries
            .iter()
            .map(|headers| (headers.clone(), self.body.clone()))
            .collect()
    }

    /// The first delivery processed (204 from the handler), the second and the replay of
    /// the first answered as duplicates of the event's id, the handler run once, and the
    /// receiver's counters: one accepted delivery and two duplicates.
    pub fn check(&self, answers: &[(u16, Vec<u8>)], handler_runs: usize) {
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0].0, 204);
        for (status, body) in &answers[1..] {
            assert_eq!(*status, 200);
            let reply: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(reply["duplicate"], serde_json::json!(true));
            assert_eq!(reply["id"], serde_json::json!(self.id));
            assert_eq!(reply["event_type"], serde_json::json!("email.delivered"));
        }
        assert_eq!(handler_runs, 1, "the handler ran for a duplicate");
        let stats = self.receiver.stats();
        assert_eq!(
            (stats.accepted, stats.duplicates),
            (1, 2),
            "accepted and duplicates"
        );
    }
}

/// A store whose fire-and-forget release never lands (a networked store's background release
/// may not have landed when the answer reaches the sender); a release that is waited on does.
#[derive(Debug, Default)]
pub struct SlowRelease(webhook::MemoryStore);

impl webhook::ReplayStore for SlowRelease {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: std::time::Duration,
    ) -> webhook::StoreFuture<'a, webhook::Claim> {
        self.0.claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: webhook::LeaseToken,
        retention: std::time::Duration,
    ) -> webhook::StoreFuture<'a, ()> {
        self.0.complete(key, token, retention)
    }
    fn release(&self, _: &str, _: webhook::LeaseToken) {}
    fn release_wait<'a>(
        &'a self,
        key: &'a str,
        token: webhook::LeaseToken,
    ) -> webhook::StoreFuture<'a, ()> {
        self.0.release(key, token);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The retry after a failed handler on a scheme without message ids (Stripe's), checked
/// behind the axum layer and the actix-web middleware: they claim the signature's digest,
/// then `Webhook<E>` claims the event's own id in its place. On a store whose unwaited release
/// never lands, the same delivery is sent twice; the handler fails the first time (500). The
/// retry is processed: both claims, the replaced one too, were released before the answer.
pub struct RetryAfterFailure {
    pub receiver: webhook::Receiver,
    /// The one delivery (headers, content type included, and body), sent twice.
    pub delivery: (Headers, Vec<u8>),
}

impl RetryAfterFailure {
    pub fn new(id: &str) -> Self {
        use webhook::provider::stripe;
        use webhook::{Outgoing, Receiver, Secret, Signer as _};
        let secret = Secret::random(32);
        let receiver = Receiver::builder()
            .verifier(stripe::scheme().verifier(secret.clone()).unwrap())
            .route("retry-after-failure")
            .replay(SlowRelease::default())
            .build()
            .unwrap();
        let body = format!(
            r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
        )
        .into_bytes();
        let signed = stripe::scheme()
            .signer(secret)
            .sign(&Outgoing::new(&body))
            .unwrap();
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(signed.iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
        Self {
            receiver,
            delivery: (headers, body),
        }
    }

    /// The delivery twice.
    pub fn requests(&self) -> Vec<(Headers, Vec<u8>)> {
        vec![self.delivery.clone(), self.delivery.clone()]
    }

    /// 500 from the handler, then 204 for the retry: the handler ran for both.
    pub fn check(&self, answers: &[(u16, Vec<u8>)], handler_runs: usize) {
        let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
        assert_eq!(statuses, [500, 204], "the retry found a claim in flight");
        assert_eq!(handler_runs, 2);
        assert_eq!(self.receiver.stats().accepted, 1);
    }
}

/// The retry after a rejected decode, checked in every adapter behind its layer, middleware
/// or guard: on a store whose unwaited release never lands, a delivery whose event fails its
/// rules (422, a recipient that is not an address) and its corrected retry with the same
/// message id, sent as soon as the answer arrives. The retry is processed: the rejection was
/// answered only once its claim was released.
pub struct RetryAfterRejection {
    pub receiver: webhook::Receiver,
    /// Headers (content type included) and body of each delivery, in order.
    pub deliveries: Vec<(Headers, Vec<u8>)>,
}

/// Header names and values, in order.
pub type Headers = Vec<(String, String)>;

impl RetryAfterRejection {
    pub fn new(id: &str) -> Self {
        use webhook::{Outgoing, Receiver, Secret, Signer as _, StandardWebhooks};
        let secret = Secret::random(24);
        let receiver = Receiver::builder()
            .verifier(StandardWebhooks::new(secret.clone()).unwrap())
            .route("retry-after")
            .replay(SlowRelease::default())
            .build()
            .unwrap();
        let signer = webhook::StandardWebhooksSigner::new(secret);
        let deliveries = ["nobody", "a@example.com"]
            .into_iter()
            .map(|recipient| {
                let body = format!(
                    r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"{recipient}","timestamp":"2024-05-01T12:00:00Z"}}}}"#
                )
                .into_bytes();
                let signed = signer.sign(&Outgoing::new(&body).id(id)).unwrap();
                let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
                headers.extend(signed.iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
                (headers, body)
            })
            .collect();
        Self {
            receiver,
            deliveries,
        }
    }

    /// 422 for the first delivery, 204 from the handler for the retry, the handler run once.
    pub fn check(&self, answers: &[(u16, Vec<u8>)], handler_runs: usize) {
        let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
        assert_eq!(statuses, [422, 204], "the retry found the key in flight");
        assert_eq!(handler_runs, 1);
        assert_eq!(self.receiver.stats().accepted, 1);
    }
}
