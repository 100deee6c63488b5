//! What only the actix-web adapter has: the receiver from `app_data` (and its absence), the
//! middleware's lease (done on 2xx, released on failure, panic), forwarded headers actix's
//! `connection_info()` would believe, chunked bodies, and `ResponseError`.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, ResponseError as _, test, web};
use webhook::actix::{Verified, VerifyWebhook, Webhook, WebhookProof, WebhookRejection};
use webhook::{
    Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner, VerifyError,
    VerifyErrorKind,
};

use crate::email::EmailEvent;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn builder() -> webhook::ReceiverBuilder {
    Receiver::builder()
        .route("email")
        .verifier(StandardWebhooks::new(Secret::from_whsec(SECRET).unwrap()).unwrap())
        .content_type("application/json")
}

fn receiver() -> Receiver {
    builder().build().unwrap()
}

fn email_body(id: &str) -> String {
    format!(
        r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
    )
}

/// A signed delivery of `body` with message id `id`, from `peer`.
fn signed(path: &str, id: &str, body: &str, peer: &str) -> test::TestRequest {
    let signer = StandardWebhooksSigner::new(Secret::from_whsec(SECRET).unwrap());
    let headers = signer.sign(&Outgoing::new(body.as_bytes()).id(id)).unwrap();
    let mut request = test::TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/json"))
        .peer_addr(SocketAddr::new(peer.parse().unwrap(), 40_000));
    for (name, value) in headers.iter() {
        request = request.append_header((name, value));
    }
    request.set_payload(body.to_owned())
}

async fn answer<B: actix_web::body::MessageBody>(
    response: ServiceResponse<B>,
) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

async fn ok_event(Webhook(event): Webhook<EmailEvent>) -> HttpResponse {
    use webhook::WebhookEvent as _;
    HttpResponse::Ok().json(serde_json::json!({ "event_type": event.event_type() }))
}

async fn text<B: actix_web::body::MessageBody>(response: ServiceResponse<B>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn ok_verified(hook: Verified) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "len": hook.body().len() }))
}

/// The test service of `/hook` behind `VerifyWebhook::new(receiver)`, answered by
/// [`ok_verified`]. (A macro: the service's request type, actix-http's, is not named by
/// actix-web.)
macro_rules! verified_app {
    ($receiver:expr) => {
        test::init_service(
            App::new().service(
                web::resource("/hook")
                    .wrap(VerifyWebhook::new($receiver))
                    .route(web::post().to(ok_verified)),
            ),
        )
        .await
    };
}

#[actix_web::test]
async fn a_failed_handler_releases_the_claim_and_the_retry_is_processed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver()))
                .route(web::post().to(move |_: Webhook<EmailEvent>| {
                    let n = counted.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n == 0 {
                            HttpResponse::InternalServerError().finish()
                        } else {
                            HttpResponse::NoContent().finish()
                        }
                    }
                })),
        ),
    )
    .await;
    let body = email_body("m1");
    let send = || signed("/hook", "msg_1", &body, "127.0.0.1").to_request();
    assert_eq!(test::call_service(&app, send()).await.status(), 500);
    assert_eq!(test::call_service(&app, send()).await.status(), 204);
    let (status, json) = answer(test::call_service(&app, send()).await).await;
    assert_eq!(status, 200);
    assert_eq!(json["duplicate"], true);
    assert_eq!(json["id"], "msg_1");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the duplicate ran no handler"
    );
}

#[actix_web::test]
async fn a_handler_error_releases_the_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver()))
                .route(web::post().to(move |_: Verified| {
                    let n = counted.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n == 0 {
                            Err(actix_web::error::ErrorServiceUnavailable("later"))
                        } else {
                            Ok(HttpResponse::NoContent().finish())
                        }
                    }
                })),
        ),
    )
    .await;
    let body = email_body("m2");
    let send = || signed("/hook", "msg_2", &body, "127.0.0.1").to_request();
    assert_eq!(test::call_service(&app, send()).await.status(), 503);
    assert_eq!(test::call_service(&app, send()).await.status(), 204);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// The panic goes on (no response, as without the middleware), after the claim's release
/// was waited for: the retry is processed, on a store whose background release would not
/// have landed.
#[actix_web::test]
async fn a_panicking_handler_releases_the_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let receiver = builder()
        .replay(crate::cases::SlowRelease::default())
        .build()
        .unwrap();
    let app = Rc::new(
        test::init_service(
            App::new().service(
                web::resource("/hook")
                    .wrap(VerifyWebhook::new(receiver.clone()))
                    .route(web::post().to(move |_: Verified| {
                        let n = counted.fetch_add(1, Ordering::SeqCst);
                        async move {
                            assert!(n != 0, "handler panics on the first delivery");
                            HttpResponse::NoContent().finish()
                        }
                    })),
            ),
        )
        .await,
    );
    let body = email_body("m3");
    let request = signed("/hook", "msg_3", &body, "127.0.0.1").to_request();
    let first = Rc::clone(&app);
    let panicked = actix_web::rt::spawn(async move { first.call(request).await.is_ok() }).await;
    assert!(panicked.is_err(), "the handler panicked");
    let retry = signed("/hook", "msg_3", &body, "127.0.0.1").to_request();
    assert_eq!(test::call_service(&*app, retry).await.status(), 204);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(receiver.stats().handler_failures, 1);
}

#[actix_web::test]
async fn a_duplicate_in_flight_is_409_with_retry_after() {
    let entered = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let (inside, held) = (Arc::clone(&entered), Arc::clone(&gate));
    let app = Rc::new(
        test::init_service(
            App::new().service(
                web::resource("/hook")
                    .wrap(VerifyWebhook::new(receiver()))
                    .route(web::post().to(move |_: Verified| {
                        let (inside, held) = (Arc::clone(&inside), Arc::clone(&held));
                        async move {
                            inside.notify_one();
                            held.notified().await;
                            HttpResponse::NoContent().finish()
                        }
                    })),
            ),
        )
        .await,
    );
    let body = email_body("m4");
    let first = Rc::clone(&app);
    let request = signed("/hook", "msg_4", &body, "127.0.0.1").to_request();
    let running = actix_web::rt::spawn(async move { first.call(request).await.unwrap().status() });
    entered.notified().await;
    let second = signed("/hook", "msg_4", &body, "127.0.0.1").to_request();
    let second = test::call_service(&*app, second).await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert!(second.headers().contains_key("retry-after"));
    gate.notify_one();
    assert_eq!(running.await.unwrap(), 204);
}

/// A subscriber writing into a buffer, for the log assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[actix_web::test]
async fn missing_configuration_is_500_not_configured_and_logged() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = test::init_service(
        App::new()
            .route("/event", web::post().to(ok_event))
            .route("/verified", web::post().to(ok_verified))
            .route(
                "/proof",
                web::post()
                    .to(|WebhookProof(_): WebhookProof| async { HttpResponse::Ok().finish() }),
            ),
    )
    .await;
    let body = email_body("m5");
    for path in ["/event", "/verified", "/proof"] {
        let response =
            test::call_service(&app, signed(path, "msg_5", &body, "127.0.0.1").to_request()).await;
        let (status, json) = answer(response).await;
        assert_eq!(
            (status, &json["error"]),
            (500, &serde_json::json!("not_configured")),
            "{path}"
        );
    }
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(logs.matches("ERROR").count(), 3, "{logs}");
    assert!(
        !logs.contains("a@example.com") && !logs.contains("v1,"),
        "{logs}"
    );
}

/// Without the middleware the extractors find the receiver in `app_data`, but only a receiver
/// without a replay store may run there: nothing else would complete or release its claims.
#[actix_web::test]
async fn extractors_without_the_middleware_find_the_receiver_in_app_data() {
    let unclaimed = || builder().without_replay_protection().build().unwrap();
    let alone = unclaimed();
    let data = test::init_service(
        App::new()
            .app_data(web::Data::new(alone.clone()))
            .route("/hook", web::post().to(ok_event)),
    )
    .await;
    let bare = test::init_service(
        App::new()
            .app_data(unclaimed())
            .route("/hook", web::post().to(ok_verified)),
    )
    .await;
    let claiming = test::init_service(
        App::new()
            .app_data(web::Data::new(receiver()))
            .route("/hook", web::post().to(ok_event)),
    )
    .await;
    let body = email_body("m6");
    let send = || signed("/hook", "msg_6", &body, "127.0.0.1").to_request();
    let (status, json) = answer(test::call_service(&data, send()).await).await;
    assert_eq!(
        (status, &json["event_type"]),
        (200, &serde_json::json!("email.delivered"))
    );
    // Nothing sees the handler's answer there: handed on, not accepted (so not trusted by a
    // rate limit).
    let stats = alone.stats();
    assert_eq!((stats.accepted, stats.handed_on), (0, 1));
    let (status, json) = answer(test::call_service(&bare, send()).await).await;
    assert_eq!(
        (status, &json["len"]),
        (200, &serde_json::json!(body.len()))
    );
    let tampered = signed("/hook", "msg_7", &body, "127.0.0.1")
        .set_payload(body.replace("m6", "m7"))
        .to_request();
    let (status, json) = answer(test::call_service(&bare, tampered).await).await;
    assert_eq!(
        (status, &json["error"]),
        (401, &serde_json::json!("invalid_signature"))
    );
    // A claiming receiver (the default) without the middleware is refused, not silently
    // marked done before the handler runs.
    let (status, json) = answer(test::call_service(&claiming, send()).await).await;
    assert_eq!(
        (status, &json["error"]),
        (500, &serde_json::json!("not_configured"))
    );
}

#[actix_web::test]
async fn forwarded_proto_is_believed_only_from_trusted_proxies() {
    let strict = builder()
        .require_https(true)
        .trusted_proxies(["10.0.0.0/8"])
        .build()
        .unwrap();
    let app = verified_app!(strict);
    let body = email_body("m8");
    // actix's connection_info().scheme() would say https here; the adapter must not.
    let spoofed = signed("/hook", "msg_8", &body, "203.0.113.9")
        .insert_header(("x-forwarded-proto", "https"))
        .insert_header(("forwarded", "proto=https"))
        .to_request();
    let (status, json) = answer(test::call_service(&app, spoofed).await).await;
    assert_eq!(
        (status, &json["error"]),
        (403, &serde_json::json!("https_required"))
    );
    let proxied = signed("/hook", "msg_8", &body, "10.0.0.7")
        .insert_header(("x-forwarded-proto", "https"))
        .to_request();
    assert_eq!(test::call_service(&app, proxied).await.status(), 200);
}

/// As in axum: behind a trusted proxy that appends to the client's `X-Forwarded-For`, a
/// client value that is not UTF-8 takes the whole header out of the request view, so the
/// client is unknown (refused by the allowlist), never the proxy itself.
#[actix_web::test]
async fn a_forwarding_header_that_is_not_text_leaves_the_client_unknown() {
    let receiver = builder()
        .trusted_proxies(["10.0.0.0/8"])
        .allow_sources(["10.0.0.0/8", "198.51.100.0/24"])
        .build()
        .unwrap();
    let app = verified_app!(receiver);
    let body = email_body("m_xff");
    let xff = |value: &[u8]| actix_web::http::header::HeaderValue::from_bytes(value).unwrap();
    for (id, value) in [
        ("msg_xff_1", Some(&b"\xff, 203.0.113.9"[..])),
        ("msg_xff_2", None),
    ] {
        let mut request = signed("/hook", id, &body, "10.0.0.7");
        if let Some(value) = value {
            request = request.insert_header(("x-forwarded-for", xff(value)));
        }
        let (status, json) = answer(test::call_service(&app, request.to_request()).await).await;
        assert_eq!(
            (status, &json["error"]),
            (403, &serde_json::json!("source_not_allowed")),
            "{value:?}"
        );
    }
    let allowed = signed("/hook", "msg_xff_3", &body, "10.0.0.7")
        .insert_header(("x-forwarded-for", xff(b"198.51.100.7")))
        .to_request();
    assert_eq!(test::call_service(&app, allowed).await.status(), 200);
}

#[actix_web::test]
async fn body_extractors_behind_the_middleware_get_the_body_unchanged() {
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver()))
                .route(web::post().to(
                |WebhookProof(proof): WebhookProof, json: web::Json<serde_json::Value>| async move {
                    HttpResponse::Ok().json(serde_json::json!({
                        "id": proof.message_id(),
                        "type": json["event_type"],
                    }))
                },
            )),
        ),
    )
    .await;
    let body = email_body("m9");
    let (status, json) = answer(
        test::call_service(
            &app,
            signed("/hook", "msg_9", &body, "127.0.0.1").to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        json,
        serde_json::json!({ "id": "msg_9", "type": "email.delivered" })
    );
}

#[actix_web::test]
async fn rejections_implement_status_code_and_error_response() {
    let receiver = receiver();
    let limited = WebhookRejection::from_error(
        &receiver,
        VerifyError::new(VerifyErrorKind::RateLimited).with_retry_after(Duration::from_secs(2)),
    );
    assert_eq!(limited.status_code(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.kind(), Some(VerifyErrorKind::RateLimited));
    let response = limited.error_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").unwrap(), "2");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    assert_eq!(
        &body[..],
        br#"{"error":"rate_limited","message":"too many requests"}"#
    );
    let basic = WebhookRejection::from_error(
        &receiver,
        VerifyError::new(VerifyErrorKind::MissingCredentials)
            .with_www_authenticate(r#"Basic realm="webhook""#),
    );
    assert_eq!(basic.status_code(), 401);
    assert_eq!(
        basic
            .error_response()
            .headers()
            .get("www-authenticate")
            .unwrap(),
        r#"Basic realm="webhook""#
    );
}

/// Reads one HTTP response from `stream`, up to the end of its JSON body (or until the
/// connection ends).
fn response_text(stream: &mut std::net::TcpStream) -> String {
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"}") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

#[actix_web::test]
async fn a_chunked_body_over_the_limit_is_413_without_buffering_it_all() {
    let small = builder().max_body_bytes(16 * 1024).build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(small.clone()))
                .route(web::post().to(ok_verified)),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    let server = actix_web::rt::spawn(server);
    // `finish`: send the terminating chunk. Without it the body never ends, so only a server
    // that stops reading at the limit can answer.
    let send_chunked = move |chunks: usize, finish: bool| {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = "POST /hook HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
                    webhook-id: msg_10\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,x\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
        for _ in 0..chunks {
            if stream.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
        if finish {
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        response_text(&mut stream)
    };
    let (small, large, endless) = actix_web::rt::task::spawn_blocking(move || {
        (
            send_chunked(2, true),
            send_chunked(64, true),
            send_chunked(8, false),
        )
    })
    .await
    .unwrap();
    // Under the limit the body is read and fails authentication; past it, 413.
    assert!(small.starts_with("HTTP/1.1 401"), "{small}");
    assert!(large.starts_with("HTTP/1.1 413"), "{large}");
    // 32 KiB of a body that never ends: answered 413 once the limit is passed, not after
    // waiting for the rest (the read would time out with no status line).
    assert!(endless.starts_with("HTTP/1.1 413"), "{endless}");
    // The answer states the limit that stopped the read.
    for answer in [&large, &endless] {
        assert!(
            answer.contains(r#""message":"body is larger than 16384 bytes""#),
            "{answer}"
        );
    }
    handle.stop(true).await;
    server.await.unwrap().unwrap();
}

/// Each of `requests` (headers and body) to `/hook` of `app`, in order: status and body. (A
/// macro: the service's request type, actix-http's, is not named by actix-web.)
macro_rules! deliver {
    ($app:expr, $requests:expr) => {{
        let mut answers: Vec<(u16, Vec<u8>)> = Vec::new();
        for (headers, body) in $requests {
            let mut request = test::TestRequest::post()
                .uri("/hook")
                .peer_addr(SocketAddr::from(([127, 0, 0, 1], 40_000)));
            for (name, value) in headers {
                request = request.append_header((name.as_str(), value.as_str()));
            }
            let request = request.set_payload(body.clone()).to_request();
            let response = test::call_service(&$app, request).await;
            let status = response.status().as_u16();
            answers.push((status, test::read_body(response).await.to_vec()));
        }
        answers
    }};
}

/// `requests` in order to `/hook` behind the middleware, whose handler takes the typed event
/// and answers 204: each answer, and how often the handler ran.
async fn typed_behind_the_middleware(
    receiver: &Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
) -> (Vec<(u16, Vec<u8>)>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver.clone()))
                .route(web::post().to(move |Webhook(_event): Webhook<EmailEvent>| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async { HttpResponse::NoContent().finish() }
                })),
        ),
    )
    .await;
    let answers = deliver!(app, requests);
    (answers, runs.load(Ordering::SeqCst))
}

/// As [`typed_behind_the_middleware`], with a handler that takes the rejection as a value
/// (`Result`, or `Option`) and answers 200 for itself, counting only the events it gets.
async fn swallowing_behind_the_middleware(
    receiver: &Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
    as_option: bool,
) -> (Vec<(u16, Vec<u8>)>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let (by_result, by_option) = (Arc::clone(&runs), Arc::clone(&runs));
    let answer = |fresh: bool| {
        if fresh {
            HttpResponse::NoContent().finish()
        } else {
            HttpResponse::Ok().finish()
        }
    };
    let route = if as_option {
        web::post().to(move |event: Option<Webhook<EmailEvent>>| {
            if event.is_some() {
                by_option.fetch_add(1, Ordering::SeqCst);
            }
            let response = answer(event.is_some());
            async { response }
        })
    } else {
        web::post().to(
            move |event: Result<Webhook<EmailEvent>, WebhookRejection>| {
                if event.is_ok() {
                    by_result.fetch_add(1, Ordering::SeqCst);
                }
                let response = answer(event.is_ok());
                async { response }
            },
        )
    };
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver.clone()))
                .route(route),
        ),
    )
    .await;
    let answers = deliver!(app, requests);
    (answers, runs.load(Ordering::SeqCst))
}

/// A handler that takes the verified body next to an optional event (a raw fallback for
/// events it has no type for) got the delivery: its answer stands when the typed extractor
/// refused, and the delivery is done (a copy is a duplicate).
#[actix_web::test]
async fn a_raw_fallback_beside_a_refusing_extractor_keeps_the_handlers_answer() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver()))
                .route(web::post().to(
                    move |hook: Verified, event: Option<Webhook<EmailEvent>>| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let typed = event.is_some();
                        let len = hook.body().len();
                        async move {
                            HttpResponse::Ok()
                                .json(serde_json::json!({ "typed": typed, "len": len }))
                        }
                    },
                )),
        ),
    )
    .await;
    let body = r#"{"event_type":"email.unheard_of","data":{}}"#;
    let (status, json) = answer(
        test::call_service(
            &app,
            signed("/hook", "msg_raw", body, "127.0.0.1").to_request(),
        )
        .await,
    )
    .await;
    assert_eq!((status, &json["typed"]), (200, &serde_json::json!(false)));
    let (status, json) = answer(
        test::call_service(
            &app,
            signed("/hook", "msg_raw", body, "127.0.0.1").to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &json["duplicate"]),
        (200, &serde_json::json!(true))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// As in axum and rocket: a handler that takes the rejection as a value and answers 200 for
/// itself is overruled (the rejection is the answer, and the claim is released, so the
/// corrected retry is processed).
#[actix_web::test]
async fn a_rejection_the_handler_answers_for_is_still_the_answer() {
    for as_option in [false, true] {
        let fixture = crate::cases::RetryAfterRejection::new(if as_option {
            "m_middleware_swallow_option"
        } else {
            "m_middleware_swallow"
        });
        let (answers, runs) =
            swallowing_behind_the_middleware(&fixture.receiver, &fixture.deliveries, as_option)
                .await;
        fixture.check(&answers, runs);
    }
}

/// As in axum and rocket: to a handler that takes the extractor's outcome as a value
/// (`Result` or `Option`) and answers for itself, a duplicate by the event's id is still
/// answered as one.
#[actix_web::test]
async fn an_event_id_duplicate_the_handler_answers_for_is_still_a_duplicate() {
    for as_option in [false, true] {
        let fixture = crate::cases::EventIdDuplicate::new(if as_option {
            "m_middleware_swallow_dup_option"
        } else {
            "m_middleware_swallow_dup"
        });
        let (answers, runs) =
            swallowing_behind_the_middleware(&fixture.receiver, &fixture.requests(), as_option)
                .await;
        fixture.check(&answers, runs);
    }
}

/// As in axum: the same event again with a new signature is a duplicate by its declared id
/// (see [`EventIdDuplicate`]).
#[actix_web::test]
async fn an_event_id_duplicate_behind_the_middleware_counts_as_a_duplicate() {
    let fixture = crate::cases::EventIdDuplicate::new("m_middleware_dup");
    let (answers, runs) = typed_behind_the_middleware(&fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// Behind the middleware, a rejected decode is answered once its claim is released: the
/// corrected retry is processed (see [`RetryAfterRejection`](crate::cases::RetryAfterRejection)).
#[actix_web::test]
async fn a_retry_after_a_rejected_decode_is_processed() {
    let fixture = crate::cases::RetryAfterRejection::new("m_middleware_retry");
    let (answers, runs) = typed_behind_the_middleware(&fixture.receiver, &fixture.deliveries).await;
    fixture.check(&answers, runs);
}

/// As in axum: on a scheme without message ids, a failed handler is answered once both
/// claims (the signature's, replaced by the event id's) are released, so the identical retry
/// is processed (see [`RetryAfterFailure`](crate::cases::RetryAfterFailure)).
#[actix_web::test]
async fn a_retry_after_a_failed_handler_without_a_message_id_is_processed() {
    let fixture = crate::cases::RetryAfterFailure::new("m_middleware_failure");
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(fixture.receiver.clone()))
                .route(web::post().to(move |_: Webhook<EmailEvent>| {
                    let failed_before = counted.fetch_add(1, Ordering::SeqCst) > 0;
                    async move {
                        if failed_before {
                            HttpResponse::NoContent().finish()
                        } else {
                            HttpResponse::InternalServerError().finish()
                        }
                    }
                })),
        ),
    )
    .await;
    let answers = deliver!(app, &fixture.requests());
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// actix-web lets a handler take two webhook extractors: behind the middleware, the second
/// finds the event id the first claimed in this request (not a claim in flight, 409), and
/// duplicates are answered as with one extractor.
#[actix_web::test]
async fn two_extractors_in_one_handler_share_the_requests_claim() {
    let fixture = crate::cases::EventIdDuplicate::new("m_two_extractors");
    let receiver = fixture.receiver.clone();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(receiver))
                .route(web::post().to(
                    move |Webhook(first): Webhook<EmailEvent>,
                          Webhook(second): Webhook<EmailEvent>,
                          hook: Verified| {
                        assert_eq!(first, second);
                        assert!(!hook.body().is_empty());
                        counted.fetch_add(1, Ordering::SeqCst);
                        async { HttpResponse::NoContent().finish() }
                    },
                )),
        ),
    )
    .await;
    let answers = deliver!(app, &fixture.requests());
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A middleware around a decrypting `VerifyWebhook` that keeps a clone of the `HttpRequest`
/// across the call leaves actix-web unable to change the request's headers (it panics when
/// asked): the delivery is refused with 500 `not_configured`, the worker carries on, and the
/// claim is released (the same delivery again is refused alike, not found in flight).
#[actix_web::test]
async fn a_kept_request_clone_refuses_a_decrypted_delivery_without_a_panic() {
    use actix_web::dev::Service as _;
    use webhook::{Aes256GcmDecryptor, Aes256GcmSealer, Envelope, Key};

    let key = Key::new("k", Secret::random(32));
    let envelope = Envelope::base64();
    let receiver = builder()
        .content_type("text/plain")
        .decryptor(Aes256GcmDecryptor::new(key.clone(), envelope.clone()).unwrap())
        .build()
        .unwrap();
    let sealed = Aes256GcmSealer::new(key, envelope)
        .unwrap()
        .seal(email_body("m_kept").as_bytes(), b"")
        .unwrap();
    let sealed = String::from_utf8(sealed).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(VerifyWebhook::new(receiver.clone()))
                .wrap_fn(|request, service| {
                    let kept = request.request().clone();
                    let call = service.call(request);
                    async move {
                        let response = call.await;
                        drop(kept);
                        response
                    }
                })
                .route(
                    "/hook",
                    web::post().to(move |_: Verified| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        async { HttpResponse::NoContent().finish() }
                    }),
                ),
        ),
    )
    .await;
    for _ in 0..2 {
        let request = signed("/hook", "m_kept", &sealed, "127.0.0.1")
            .insert_header(("content-type", "text/plain"))
            .to_request();
        let (status, json) = answer(test::call_service(&app, request).await).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (500, Some("not_configured"))
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(receiver.stats().accepted, 0);
}

/// A receiver that decrypts: the middleware hands the plaintext to every extractor behind it
/// (its own and actix-web's `web::Json`, whose content-type check sees the plaintext's), the
/// extractors alone decrypt too, and a body sealed for another delivery is refused before any
/// handler runs.
#[actix_web::test]
async fn decrypted_bodies_reach_every_extractor() {
    use webhook::{Aes256GcmDecryptor, Aes256GcmSealer, Envelope, Key};

    let key = Key::new("k", Secret::random(32));
    let envelope = Envelope::base64().associated_data_header("webhook-id");
    let decrypting = || {
        builder()
            .content_type("text/plain")
            .decryptor(Aes256GcmDecryptor::new(key.clone(), envelope.clone()).unwrap())
    };
    let sealer = Aes256GcmSealer::new(key.clone(), envelope.clone()).unwrap();
    let plaintext = email_body("m9");
    // Sealed for `sealed_for`, sent as `id`, as text/plain (the base64 envelope).
    let sealed = |path: &str, id: &str, sealed_for: &str| {
        let body = sealer
            .seal(plaintext.as_bytes(), sealed_for.as_bytes())
            .unwrap();
        signed(path, id, std::str::from_utf8(&body).unwrap(), "127.0.0.1")
            .insert_header(("content-type", "text/plain"))
            .to_request()
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let (r1, r2, r3) = (Arc::clone(&runs), Arc::clone(&runs), Arc::clone(&runs));
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(VerifyWebhook::new(decrypting().build().unwrap()))
                .route(
                    "/verified",
                    web::post().to(move |hook: Verified| {
                        r1.fetch_add(1, Ordering::SeqCst);
                        async move { HttpResponse::Ok().body(hook.body().clone()) }
                    }),
                )
                .route(
                    "/json",
                    web::post().to(
                        move |WebhookProof(proof): WebhookProof,
                              value: web::Json<serde_json::Value>| {
                            r2.fetch_add(1, Ordering::SeqCst);
                            let text = format!(
                                "{} {}",
                                value["event_type"],
                                proof.message_id().unwrap_or("-")
                            );
                            async move { HttpResponse::Ok().body(text) }
                        },
                    ),
                )
                .route(
                    "/typed",
                    web::post().to(move |event: Webhook<EmailEvent>| {
                        r3.fetch_add(1, Ordering::SeqCst);
                        ok_event(event)
                    }),
                ),
        ),
    )
    .await;
    assert_eq!(
        text(test::call_service(&app, sealed("/verified", "d1", "d1")).await).await,
        (200, plaintext.clone())
    );
    assert_eq!(
        text(test::call_service(&app, sealed("/json", "d2", "d2")).await).await,
        (200, r#""email.delivered" d2"#.to_owned())
    );
    let (status, json) = answer(test::call_service(&app, sealed("/typed", "d3", "d3")).await).await;
    assert_eq!(
        (status, json["event_type"].as_str()),
        (200, Some("email.delivered"))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    // Sealed for another delivery: 400 before the handler, and its id stays unclaimed.
    let (status, json) =
        answer(test::call_service(&app, sealed("/verified", "d4", "d1")).await).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("malformed_body"))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let retry = test::call_service(&app, sealed("/verified", "d4", "d4")).await;
    assert_eq!(retry.status(), 200);

    // The extractors alone (no replay store, so no middleware needed) decrypt as well.
    let alone = test::init_service(
        App::new()
            .app_data(web::Data::new(
                decrypting().without_replay_protection().build().unwrap(),
            ))
            .route(
                "/verified",
                web::post().to(|hook: Verified| async move {
                    HttpResponse::Ok().body(hook.body().clone())
                }),
            )
            .route("/typed", web::post().to(ok_event)),
    )
    .await;
    assert_eq!(
        text(test::call_service(&alone, sealed("/verified", "a1", "a1")).await).await,
        (200, plaintext.clone())
    );
    let (status, json) =
        answer(test::call_service(&alone, sealed("/typed", "a2", "a2")).await).await;
    assert_eq!(
        (status, json["event_type"].as_str()),
        (200, Some("email.delivered"))
    );
    let (status, json) =
        answer(test::call_service(&alone, sealed("/typed", "a3", "a2")).await).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("malformed_body"))
    );
}

/// A verifier that signs the URL (Twilio's) on a receiver without a public base URL: the URL
/// is built from `Host`, and a request without one is refused as the sender's fault (401
/// `missing_header`), one with two as `malformed_header`, as in the other adapters.
#[actix_web::test]
async fn the_signed_url_comes_from_the_host_and_needs_one() {
    use webhook::provider::twilio;
    let secret = Secret::from_text("twilio-auth-token").unwrap();
    let receiver = Receiver::builder()
        .verifier(twilio::verifier(secret.clone()).unwrap())
        .build()
        .unwrap();
    let app = verified_app!(receiver);
    let form = "Body=hello&From=%2B15550001111";
    let signed = twilio::signer(secret)
        .sign(&Outgoing::new(form.as_bytes()).url("http://hooks.example/hook?a=1"))
        .unwrap();
    let request = |host: Option<&str>| {
        let mut request = test::TestRequest::post()
            .uri("/hook?a=1")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .peer_addr(SocketAddr::from(([127, 0, 0, 1], 50_000)))
            .set_payload(form);
        for (name, value) in signed.iter() {
            request = request.insert_header((name.to_owned(), value.to_owned()));
        }
        if let Some(host) = host {
            request = request.insert_header(("host", host.to_owned()));
        }
        request.to_request()
    };
    let response = test::call_service(&app, request(Some("hooks.example"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    for (host, code) in [
        (None, "missing_header"),
        (Some("hooks example"), "malformed_header"),
    ] {
        let response = test::call_service(&app, request(host)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{host:?}");
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["error"], code, "{host:?}");
    }
    // Two hosts (which actix-http's own HTTP/1.1 parser answers 400 before any handler):
    // refused by the middleware too.
    let mut two = request(Some("hooks.example"));
    two.headers_mut().append(
        actix_web::http::header::HOST,
        actix_web::http::header::HeaderValue::from_static("other.example"),
    );
    let response = test::call_service(&app, two).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["error"], "malformed_header");
}

/// `Webhook<E>`'s `Debug` shows the event's type, no payload.
#[actix_web::test]
async fn the_extractors_debug_shows_no_payload() {
    use webhook::WebhookEvent as _;
    let body = br#"{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"m_debug","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}"#;
    let event = crate::email::EmailEvent::decode(&webhook::WebhookRequest::new(body)).unwrap();
    let shown = format!("{:?}", webhook::actix::Webhook(event));
    assert_eq!(shown, r#"Webhook { event_type: "email.delivered", .. }"#);
}
