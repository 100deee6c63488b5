//! The admission scenarios (see [`admission_cases`](crate::admission_cases)) through axum's
//! test client, to a handler behind `VerifyWebhookLayer`: the same scenarios and checks as
//! the actix-web and rocket runners.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::Receiver;
use webhook::axum::{HttpsConnection, VerifyWebhookLayer, Webhook};

use crate::admission_cases::{
    Answer, ChunkedOverLimit, CustomRejection, Gate, HttpsRequired, InFlight, RateLimited, Sent,
    Sequential as _, StoreDown,
};
use crate::email::EmailEvent;

/// `POST /hook` behind the layer of `receiver`: the handler takes the typed event, counts its
/// runs, waits at `gate` (if any) and answers 204. The router and the count of runs.
fn app(receiver: &Receiver, gate: Option<Arc<Gate>>) -> (Router, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = Router::new()
        .route(
            "/hook",
            post(move |Webhook(_event): Webhook<EmailEvent>| {
                counted.fetch_add(1, Ordering::SeqCst);
                let gate = gate.clone();
                async move {
                    if let Some(gate) = gate {
                        gate.hold().await;
                    }
                    StatusCode::NO_CONTENT
                }
            })
            .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .with_state(receiver.clone());
    (app, runs)
}

/// `sent` to `app` from its peer (`ConnectInfo`), a chunked body as frames of no known
/// length; `over_tls` adds the `HttpsConnection` marker a TLS listener would.
async fn send_as(app: &Router, sent: Sent, over_tls: bool) -> Answer {
    let mut builder = Request::post("/hook");
    for (name, value) in &sent.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match sent.chunks() {
        Some(chunks) => Body::new(chunks),
        None => Body::from(sent.body.clone()),
    };
    let mut request = builder.body(body).unwrap();
    request.extensions_mut().insert(ConnectInfo(sent.peer));
    if over_tls {
        request.extensions_mut().insert(HttpsConnection);
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// `sent` over plain HTTP.
async fn send(app: &Router, sent: Sent) -> Answer {
    send_as(app, sent, false).await
}

/// Plain HTTP is 403 `https_required`, also when the peer, no trusted proxy, claims HTTPS in
/// its forwarding headers; a trusted proxy's `X-Forwarded-Proto: https` admits (see
/// [`HttpsRequired`]).
#[tokio::test]
async fn https_is_required_of_plain_http() {
    let fixture = HttpsRequired::new();
    let (app, runs) = app(&fixture.receiver, None);
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// axum knows a TLS connection only by the `HttpsConnection` marker: the same delivery is 403
/// `https_required` without it and processed with it.
#[tokio::test]
async fn the_https_marker_admits() {
    let fixture = HttpsRequired::new();
    let (app, runs) = app(&fixture.receiver, None);
    let plain = send_as(&app, fixture.over_tls(), false).await;
    let marked = send_as(&app, fixture.over_tls(), true).await;
    fixture.check_over_tls(&[plain, marked], runs.load(Ordering::SeqCst));
}

/// One delivery a minute per source: the second is 429 with `Retry-After: 60`, another
/// source is not held back, and on the receiver's clock the source is admitted again a
/// minute later, not a second sooner (see [`RateLimited`]).
#[tokio::test]
async fn a_rate_limited_source_is_429_with_retry_after_then_recovers() {
    let fixture = RateLimited::new();
    let (app, runs) = app(&fixture.receiver, None);
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A copy of a delivery whose handler is still running is 409 with `Retry-After`, without
/// the handler; after the answer it is a duplicate (see [`InFlight`]).
#[tokio::test]
async fn a_copy_of_a_delivery_in_flight_is_409_with_retry_after() {
    let fixture = InFlight::new();
    let (app, runs) = app(&fixture.receiver, Some(Arc::clone(&fixture.gate)));
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A replay store that cannot answer refuses authenticated deliveries 503 with its
/// `Retry-After`, and is never asked about unauthenticated ones (see [`StoreDown`]).
#[tokio::test]
async fn a_failing_replay_store_is_503_with_retry_after() {
    let fixture = StoreDown::new();
    let (app, runs) = app(&fixture.receiver, None);
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// The receiver's custom rejection answers every rejection, with the rejection's
/// `WWW-Authenticate` and `Retry-After` where it keeps the status, and does not change the
/// answer to a duplicate (see [`CustomRejection`]).
#[tokio::test]
async fn a_custom_rejection_answers_rejections_but_not_duplicates() {
    let fixture = CustomRejection::new();
    let (app, runs) = app(&fixture.receiver, None);
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
}

/// A chunked body (no `Content-Length`) is read under the limit: an event in small frames is
/// processed, a larger body is 413 once the limit is passed, its later frames never read
/// (see [`ChunkedOverLimit`]).
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_while_streaming() {
    let fixture = ChunkedOverLimit::new();
    let (app, runs) = app(&fixture.receiver, None);
    let answers = fixture.run(|sent| send(&app, sent)).await;
    fixture.check(&answers, runs.load(Ordering::SeqCst));
    fixture.check_stopped_at_the_limit();
}
