//! The admission scenarios (see [`admission_cases`](crate::admission_cases)) through
//! actix-web's test client, to a handler behind the `VerifyWebhook` middleware: the same
//! scenarios and checks as the axum and rocket runners.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::{Payload, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::{App, HttpResponse, test, web};
use http_body_util::BodyExt as _;
use webhook::actix::{VerifyWebhook, Webhook};

use crate::admission_cases::{
    Answer, ChunkedOverLimit, CustomRejection, Gate, HttpsRequired, InFlight, RateLimited, Sent,
    Sequential as _, StoreDown,
};
use crate::email::EmailEvent;

/// The test service of `POST /hook` behind `VerifyWebhook::new(receiver)`: the handler takes
/// the typed event, counts its runs in `runs`, waits at `gate` (an `Option<Arc<Gate>>`) and
/// answers 204. (A macro: the service's request type, actix-http's, is not named by
/// actix-web.)
macro_rules! hook_app {
    ($receiver:expr, $runs:expr, $gate:expr) => {{
        let counted: Arc<AtomicUsize> = Arc::clone(&$runs);
        let gate: Option<Arc<Gate>> = $gate;
        test::init_service(
            App::new().service(
                web::resource("/hook")
                    .wrap(VerifyWebhook::new($receiver.clone()))
                    .route(web::post().to(move |Webhook(_event): Webhook<EmailEvent>| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let gate = gate.clone();
                        async move {
                            if let Some(gate) = gate {
                                gate.hold().await;
                            }
                            HttpResponse::NoContent().finish()
                        }
                    })),
            ),
        )
        .await
    }};
}

/// The future of the answer of `app` to `sent` (from its peer; a chunked body as the
/// request's payload stream, with no `Content-Length`). (A macro, as [`hook_app`].)
macro_rules! send {
    ($app:expr, $sent:expr) => {{
        let app = &$app;
        let sent: Sent = $sent;
        async move {
            let mut builder = test::TestRequest::post().uri("/hook").peer_addr(sent.peer);
            for (name, value) in &sent.headers {
                builder = builder.append_header((name.as_str(), value.as_str()));
            }
            let request = match sent.chunks() {
                // `set_payload` declares the length.
                None => builder.set_payload(sent.body.clone()).to_request(),
                Some(chunks) => {
                    let stream = chunks
                        .map_err(|never: Infallible| -> PayloadError { match never {} })
                        .into_data_stream();
                    // `Payload` with its default stream type, which the stream is boxed into.
                    let payload: Payload = Payload::Stream {
                        payload: Box::pin(stream),
                    };
                    builder.to_request().replace_payload(payload).0
                }
            };
            answer(test::call_service(app, request).await).await
        }
    }};
}

async fn answer<B: actix_web::body::MessageBody>(response: ServiceResponse<B>) -> Answer {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = test::read_body(response).await.to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Plain HTTP is 403 `https_required`, also when the peer, no trusted proxy, claims HTTPS in
/// its forwarding headers; a trusted proxy's `X-Forwarded-Proto: https` admits (see
/// [`HttpsRequired`]).
#[actix_web::test]
async fn https_is_required_of_plain_http() {
    let fixture = HttpsRequired::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, None);
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// One delivery a minute per source: the second is 429 with `Retry-After: 60`, another
/// source is not held back, and on the receiver's clock the source is admitted again a
/// minute later, not a second sooner (see [`RateLimited`]).
#[actix_web::test]
async fn a_rate_limited_source_is_429_with_retry_after_then_recovers() {
    let fixture = RateLimited::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, None);
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A copy of a delivery whose handler is still running is 409 with `Retry-After`, without
/// the handler; after the answer it is a duplicate (see [`InFlight`]).
#[actix_web::test]
async fn a_copy_of_a_delivery_in_flight_is_409_with_retry_after() {
    let fixture = InFlight::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, Some(Arc::clone(&fixture.gate)));
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A replay store that cannot answer refuses authenticated deliveries 503 with its
/// `Retry-After`, and is never asked about unauthenticated ones (see [`StoreDown`]).
#[actix_web::test]
async fn a_failing_replay_store_is_503_with_retry_after() {
    let fixture = StoreDown::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, None);
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// The receiver's custom rejection answers every rejection, with the rejection's
/// `WWW-Authenticate` and `Retry-After` where it keeps the status, and does not change the
/// answer to a duplicate (see [`CustomRejection`]).
#[actix_web::test]
async fn a_custom_rejection_answers_rejections_but_not_duplicates() {
    let fixture = CustomRejection::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, None);
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A chunked body (no `Content-Length`) is read under the limit: an event in small pieces is
/// processed, a larger body is 413 once the limit is passed, its later pieces never read
/// (see [`ChunkedOverLimit`]).
#[actix_web::test]
async fn a_chunked_body_over_the_limit_is_413_while_streaming() {
    let fixture = ChunkedOverLimit::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let app = hook_app!(fixture.receiver, runs, None);
    let answers = fixture.run(|sent| send!(app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
    fixture.check_stopped_at_the_limit();
}
