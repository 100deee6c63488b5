//! Every row of the conformance table through rocket's test client, plus the rows only a test
//! client can present (peer addresses) and the ones the table does not carry yet.

use std::net::SocketAddr;

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;

use crate::cases::{CASES, TestRequest, env};
use crate::{figment, rocket_app, routes, unconfigured_rocket};

async fn send(client: &Client, request: TestRequest) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut local = client
        .post(request.path)
        .header(Header::new("host", "localhost"))
        .remote(SocketAddr::new(request.peer.parse().unwrap(), 50_000))
        .body(request.body);
    for (name, value) in request.headers {
        local = local.header(Header::new(name, value));
    }
    let response = local.dispatch().await;
    let status = response.status().code;
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_string()))
        .collect();
    let body = response.into_bytes().await.unwrap_or_default();
    (status, headers, body)
}

#[rocket::async_test]
async fn the_conformance_table_holds_for_rocket() {
    run_table(&routes::routes(&env, "http://localhost").unwrap()).await;
}

/// The same table with every route's claims in Redis.
#[cfg(feature = "redis")]
#[rocket::async_test]
async fn the_conformance_table_holds_for_rocket_with_the_redis_store() {
    run_table(&crate::cases::routes_in_redis("rocket").await).await;
}

async fn run_table(routes: &[routes::RouteSpec]) {
    let app = unconfigured_rocket::with_unconfigured_route(rocket_app::app(routes, figment()));
    let client = Client::tracked(app).await.unwrap();
    for case in CASES {
        let mut last = None;
        for request in case.requests(routes) {
            last = Some(send(&client, request).await);
        }
        let (status, headers, body) = last.unwrap();
        case.check(status, &headers, &body);
    }
}

#[rocket::async_test]
async fn an_unknown_route_is_404_and_a_get_is_not_a_delivery() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let client = Client::tracked(rocket_app::app(&routes, figment()))
        .await
        .unwrap();
    let response = client.post("/webhooks/nope").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    let response = client.get("/webhooks/github").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
}

#[rocket::async_test]
async fn without_a_receiver_every_delivery_is_500_not_configured() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    // The same app without its `Receivers`.
    let rocket = rocket::custom(figment())
        .attach(webhook::rocket::WebhookFairing)
        .mount("/webhooks/email", rocket::routes![email_route]);
    let client = Client::tracked(rocket).await.unwrap();
    let case = CASES.iter().find(|c| c.name == "email accepted").unwrap();
    for request in case.requests(&routes) {
        let (status, headers, body) = send(&client, request).await;
        assert_eq!(status, 500);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "not_configured");
        assert!(
            headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v == "application/json")
        );
    }
}

#[rocket::post("/", data = "<hook>")]
fn email_route(hook: webhook::rocket::Webhook<crate::email::EmailEvent>) -> Status {
    let _ = hook.proof();
    Status::NoContent
}

#[rocket::post("/hook", data = "<hook>")]
fn typed_probe(
    hook: webhook::rocket::Webhook<crate::email::EmailEvent>,
    runs: &rocket::State<std::sync::atomic::AtomicUsize>,
) -> rocket::http::Status {
    let _event = hook.into_inner();
    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    rocket::http::Status::NoContent
}

/// A handler that takes the guard's rejection as a value and answers 200 for itself,
/// counting only the events it gets.
#[rocket::post("/swallow", data = "<hook>")]
fn swallowing_probe(
    hook: Result<
        webhook::rocket::Webhook<crate::email::EmailEvent>,
        webhook::rocket::WebhookRejection,
    >,
    runs: &rocket::State<std::sync::atomic::AtomicUsize>,
) -> rocket::http::Status {
    match hook {
        Ok(_) => {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            rocket::http::Status::NoContent
        }
        Err(_) => rocket::http::Status::Ok,
    }
}

/// A handler that answers with the guard's `Debug` output.
#[rocket::post("/debug", data = "<hook>")]
fn debug_probe(hook: webhook::rocket::Webhook<crate::email::EmailEvent>) -> String {
    format!("{hook:?}")
}

/// `requests` in order to `/hook`, whose handler takes the typed event through the guard and
/// answers 204: each answer, and how often the handler ran.
async fn typed_through_the_guard(
    receiver: &webhook::Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
) -> (Vec<(u16, Vec<u8>)>, usize) {
    typed_through_the_guard_at("/hook", receiver, requests).await
}

/// As [`typed_through_the_guard`], at `path` (`/swallow`: [`swallowing_probe`]).
async fn typed_through_the_guard_at(
    path: &str,
    receiver: &webhook::Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
) -> (Vec<(u16, Vec<u8>)>, usize) {
    use rocket::http::Header;

    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    let rocket = rocket::custom(config)
        .manage(receiver.clone())
        .manage(std::sync::atomic::AtomicUsize::new(0))
        .attach(webhook::rocket::WebhookFairing)
        .mount(
            "/",
            rocket::routes![typed_probe, swallowing_probe, debug_probe],
        );
    let client = rocket::local::asynchronous::Client::tracked(rocket)
        .await
        .unwrap();
    let mut answers = Vec::new();
    for (headers, body) in requests {
        let mut request = client
            .post(path.to_owned())
            .remote(std::net::SocketAddr::from(([127, 0, 0, 1], 5000)))
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(Header::new(name.clone(), value.clone()));
        }
        let response = request.dispatch().await;
        let status = response.status().code;
        answers.push((status, response.into_bytes().await.unwrap_or_default()));
    }
    let runs = client
        .rocket()
        .state::<std::sync::atomic::AtomicUsize>()
        .unwrap()
        .load(std::sync::atomic::Ordering::SeqCst);
    (answers, runs)
}

/// The guard's `Debug` shows the event's type and the proof, no payload (as axum's and
/// actix-web's `Webhook` show the type only).
#[rocket::async_test]
async fn the_guards_debug_shows_no_payload() {
    let fixture = crate::cases::EventIdDuplicate::new("m_debug_shows_type");
    let first = fixture.requests().into_iter().take(1).collect::<Vec<_>>();
    let body = String::from_utf8(first[0].1.clone()).unwrap();
    assert!(body.contains("a@example.com"), "{body}");
    let (answers, _) = typed_through_the_guard_at("/debug", &fixture.receiver, &first).await;
    let shown = String::from_utf8(answers[0].1.clone()).unwrap();
    assert_eq!(answers[0].0, 200, "{shown}");
    assert!(
        shown.contains(r#"event_type: "email.delivered""#),
        "{shown}"
    );
    assert!(!shown.contains("a@example.com"), "{shown}");
    assert!(!shown.contains("m_debug_shows_type"), "{shown}");
}

/// As in axum and actix-web: the same event again with a new signature is a duplicate by
/// its declared id (see [`EventIdDuplicate`](crate::cases::EventIdDuplicate)).
#[rocket::async_test]
async fn an_event_id_duplicate_counts_as_a_duplicate() {
    let fixture = crate::cases::EventIdDuplicate::new("m_fairing_dup");
    let (answers, runs) = typed_through_the_guard(&fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// As in axum and actix-web: to a handler that takes the guard's outcome as a value and
/// answers for itself, a duplicate by the event's id is still answered as one.
#[rocket::async_test]
async fn an_event_id_duplicate_the_handler_answers_for_is_still_a_duplicate() {
    let fixture = crate::cases::EventIdDuplicate::new("m_fairing_swallow_dup");
    let (answers, runs) =
        typed_through_the_guard_at("/swallow", &fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// The guard answers a rejected decode once its claim is released: the corrected retry is
/// processed (see [`RetryAfterRejection`](crate::cases::RetryAfterRejection)).
#[rocket::async_test]
async fn a_retry_after_a_rejected_decode_is_processed() {
    let fixture = crate::cases::RetryAfterRejection::new("m_guard_retry");
    let (answers, runs) = typed_through_the_guard(&fixture.receiver, &fixture.deliveries).await;
    fixture.check(&answers, runs);
}

/// As in axum and actix-web: a handler that takes the rejection as a value and answers 200
/// for itself is overruled by the fairing (the rejection is the answer, the claim released,
/// the corrected retry processed).
#[rocket::async_test]
async fn a_rejection_the_handler_answers_for_is_still_the_answer() {
    let fixture = crate::cases::RetryAfterRejection::new("m_guard_swallow");
    let (answers, runs) =
        typed_through_the_guard_at("/swallow", &fixture.receiver, &fixture.deliveries).await;
    fixture.check(&answers, runs);
}
