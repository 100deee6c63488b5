//! The admission scenarios (see [`admission_cases`](crate::admission_cases)) through rocket's
//! test client, to a handler taking the `Webhook<E>` guard with `WebhookFairing` attached:
//! the same scenarios and checks as the axum and actix-web runners.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::State;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use webhook::Receiver;
use webhook::rocket::{Webhook, WebhookFairing};

use crate::admission_cases::{
    Answer, ChunkedOverLimit, CustomRejection, Gate, HttpsRequired, InFlight, RateLimited, Sent,
    Sequential as _, StoreDown,
};
use crate::email::EmailEvent;
use crate::figment;

/// How often [`hook`] ran.
#[derive(Default)]
struct Runs(AtomicUsize);

/// Where [`hook`] waits, if anywhere.
struct Held(Option<Arc<Gate>>);

/// Takes the typed event, counts its runs, waits at the gate (if any) and answers 204.
#[rocket::post("/hook", data = "<hook>")]
async fn hook(hook: Webhook<EmailEvent>, runs: &State<Runs>, held: &State<Held>) -> Status {
    let _event = hook.into_inner();
    runs.0.fetch_add(1, Ordering::SeqCst);
    if let Some(gate) = &held.0 {
        gate.hold().await;
    }
    Status::NoContent
}

/// A client of the rocket serving [`hook`] with `receiver` (untracked: two requests may be
/// in flight at once).
async fn client(receiver: &Receiver, gate: Option<Arc<Gate>>) -> Client {
    let rocket = rocket::custom(figment())
        .manage(receiver.clone())
        .manage(Runs::default())
        .manage(Held(gate))
        .attach(WebhookFairing)
        .mount("/", rocket::routes![hook]);
    Client::untracked(rocket).await.unwrap()
}

fn runs(client: &Client) -> usize {
    client
        .rocket()
        .state::<Runs>()
        .unwrap()
        .0
        .load(Ordering::SeqCst)
}

/// `sent` from its peer (`remote`). The local client has no streamed bodies: a chunked body
/// is sent whole, with its headers and, as every body here, no `Content-Length`.
async fn send(client: &Client, sent: Sent) -> Answer {
    let mut request = client.post("/hook").remote(sent.peer).body(&sent.body);
    for (name, value) in sent.headers {
        request = request.header(Header::new(name, value));
    }
    let response = request.dispatch().await;
    let status = response.status().code;
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_string()))
        .collect();
    let body = response.into_bytes().await.unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// Plain HTTP is 403 `https_required`, also when the peer, no trusted proxy, claims HTTPS in
/// its forwarding headers; a trusted proxy's `X-Forwarded-Proto: https` admits (see
/// [`HttpsRequired`]).
#[rocket::async_test]
async fn https_is_required_of_plain_http() {
    let fixture = HttpsRequired::new();
    let client = client(&fixture.receiver, None).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}

/// One delivery a minute per source: the second is 429 with `Retry-After: 60`, another
/// source is not held back, and on the receiver's clock the source is admitted again a
/// minute later, not a second sooner (see [`RateLimited`]).
#[rocket::async_test]
async fn a_rate_limited_source_is_429_with_retry_after_then_recovers() {
    let fixture = RateLimited::new();
    let client = client(&fixture.receiver, None).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}

/// A copy of a delivery whose handler is still running is 409 with `Retry-After`, without
/// the handler; after the answer it is a duplicate (see [`InFlight`]).
#[rocket::async_test]
async fn a_copy_of_a_delivery_in_flight_is_409_with_retry_after() {
    let fixture = InFlight::new();
    let client = client(&fixture.receiver, Some(Arc::clone(&fixture.gate))).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}

/// A replay store that cannot answer refuses authenticated deliveries 503 with its
/// `Retry-After`, and is never asked about unauthenticated ones (see [`StoreDown`]).
#[rocket::async_test]
async fn a_failing_replay_store_is_503_with_retry_after() {
    let fixture = StoreDown::new();
    let client = client(&fixture.receiver, None).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}

/// The receiver's custom rejection answers every rejection, with the rejection's
/// `WWW-Authenticate` and `Retry-After` where it keeps the status, and does not change the
/// answer to a duplicate (see [`CustomRejection`]).
#[rocket::async_test]
async fn a_custom_rejection_answers_rejections_but_not_duplicates() {
    let fixture = CustomRejection::new();
    let client = client(&fixture.receiver, None).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}

/// A body of no declared length is read under the limit: the event is processed, a larger
/// body is 413 naming the limit (see [`ChunkedOverLimit`]; the local client cannot stream
/// it in pieces).
#[rocket::async_test]
async fn a_chunked_body_over_the_limit_is_413_while_streaming() {
    let fixture = ChunkedOverLimit::new();
    let client = client(&fixture.receiver, None).await;
    let answers = fixture.run(|sent| send(&client, sent)).await;
    fixture.check(&answers, runs(&client));
}
