//! Every row of the conformance table through axum's test client.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::cases::{CASES, EventIdDuplicate, env};
use crate::{axum_app, routes, unconfigured_axum};

#[tokio::test]
async fn the_conformance_table_holds_for_axum() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    run_table(&routes).await;
}

/// The same table with every route's claims in Redis (a prefix of its own per run), as the
/// example receiver runs with `REDIS_URL`: the layer's lease protocol through a store that
/// answers over the network.
#[cfg(feature = "redis")]
#[tokio::test]
async fn the_conformance_table_holds_for_axum_with_the_redis_store() {
    run_table(&crate::cases::routes_in_redis("axum").await).await;
}

async fn run_table(routes: &[routes::RouteSpec]) {
    let app = unconfigured_axum::with_unconfigured_route(axum_app::app(routes));
    for case in CASES {
        let mut last = None;
        for request in case.requests(routes) {
            let mut builder = Request::post(&request.path).header("host", "localhost");
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let mut http_request = builder.body(Body::from(request.body)).unwrap();
            let peer: SocketAddr = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
            http_request.extensions_mut().insert(ConnectInfo(peer));
            let response = app.clone().oneshot(http_request).await.unwrap();
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            last = Some((status, headers, body));
        }
        let (status, headers, body) = last.unwrap();
        case.check(status, &headers, &body);
    }
}

/// `requests` in order to `/hook` behind the layer, whose handler takes the typed event and
/// answers 204: each answer, and how often the handler ran.
async fn typed_behind_the_layer(
    receiver: &webhook::Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
) -> (Vec<(u16, Vec<u8>)>, usize) {
    typed_behind_the_layer_at("/hook", receiver, requests).await
}

/// As [`typed_behind_the_layer`], at `path`: `/swallow` is a handler that takes the
/// rejection as a value and answers 200 for itself (counting only the events it gets);
/// `/flaky` fails (500) the first time it runs and answers 204 after.
async fn typed_behind_the_layer_at(
    path: &str,
    receiver: &webhook::Receiver,
    requests: &[(crate::cases::Headers, Vec<u8>)],
) -> (Vec<(u16, Vec<u8>)>, usize) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::post;
    use webhook::axum::{VerifyWebhookLayer, Webhook, WebhookRejection};

    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let swallowed = Arc::clone(&runs);
    let flaky = Arc::clone(&runs);
    let app: axum::Router = axum::Router::new()
        .route(
            "/hook",
            post(move |Webhook(_event): Webhook<crate::email::EmailEvent>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::NO_CONTENT }
            })
            .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .route(
            "/flaky",
            post(move |Webhook(_event): Webhook<crate::email::EmailEvent>| {
                let failed_before = flaky.fetch_add(1, Ordering::SeqCst) > 0;
                async move {
                    if failed_before {
                        axum::http::StatusCode::NO_CONTENT
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            })
            .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .route(
            "/swallow",
            post(
                move |event: Result<Webhook<crate::email::EmailEvent>, WebhookRejection>| {
                    let fresh = event.is_ok();
                    if fresh {
                        swallowed.fetch_add(1, Ordering::SeqCst);
                    }
                    async move {
                        if fresh {
                            axum::http::StatusCode::NO_CONTENT
                        } else {
                            axum::http::StatusCode::OK
                        }
                    }
                },
            )
            .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .with_state(receiver.clone());
    let mut answers = Vec::new();
    for (headers, body) in requests {
        let mut builder = Request::post(path);
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut request = builder.body(Body::from(body.clone())).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        answers.push((status, bytes.to_vec()));
    }
    (answers, runs.load(Ordering::SeqCst))
}

/// A scheme that proves no message id, the same event sent again with a new signature: the
/// layer's claim on the signature is fresh, the extractor finds the event's declared id
/// processed (see [`EventIdDuplicate`]).
#[tokio::test]
async fn an_event_id_duplicate_behind_the_layer_counts_as_a_duplicate() {
    let fixture = EventIdDuplicate::new("m_layered_dup");
    let (answers, runs) = typed_behind_the_layer(&fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// The same, to a handler that takes the extractor's answer as a value and answers for
/// itself: the duplicate is still answered as one (as the rocket fairing answers), and the
/// handler's answer does not stand for it.
#[tokio::test]
async fn an_event_id_duplicate_the_handler_answers_for_is_still_a_duplicate() {
    let fixture = EventIdDuplicate::new("m_layered_swallow_dup");
    let (answers, runs) =
        typed_behind_the_layer_at("/swallow", &fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// Behind the layer, a rejected decode is answered once its claim is released: the corrected
/// retry is processed (see [`RetryAfterRejection`](crate::cases::RetryAfterRejection)).
#[tokio::test]
async fn a_retry_after_a_rejected_decode_is_processed() {
    let fixture = crate::cases::RetryAfterRejection::new("m_layered_retry");
    let (answers, runs) = typed_behind_the_layer(&fixture.receiver, &fixture.deliveries).await;
    fixture.check(&answers, runs);
}

/// Behind the layer, on a scheme without message ids, a failed handler is answered once both
/// claims (the signature's, replaced by the event id's) are released: the identical retry is
/// processed (see [`RetryAfterFailure`](crate::cases::RetryAfterFailure)).
#[tokio::test]
async fn a_retry_after_a_failed_handler_without_a_message_id_is_processed() {
    let fixture = crate::cases::RetryAfterFailure::new("m_layered_failure");
    let (answers, runs) =
        typed_behind_the_layer_at("/flaky", &fixture.receiver, &fixture.requests()).await;
    fixture.check(&answers, runs);
}

/// A handler that takes the rejection as a value and answers 200 for itself is overruled:
/// the delivery was not handed on, so it is answered with the rejection and its claim is
/// released, and the corrected retry is processed, as with a plain handler and as in the
/// other adapters.
#[tokio::test]
async fn a_rejection_the_handler_answers_for_is_still_the_answer() {
    let fixture = crate::cases::RetryAfterRejection::new("m_layered_swallow");
    let (answers, runs) =
        typed_behind_the_layer_at("/swallow", &fixture.receiver, &fixture.deliveries).await;
    fixture.check(&answers, runs);
}

/// The example's start-up banner prints a signed test command only for a route whose
/// secrets were all generated for the run: `sealed-email` with one of its two secrets
/// configured prints none, since its command would carry a delivery signed (or sealed) with
/// the configured one, usable by whoever reads the log.
#[test]
fn the_banner_prints_no_command_made_with_a_configured_secret() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    for (secret, key) in [
        (Some(SECRET), None),
        (None, Some(KEY)),
        (None, None),
        (Some(SECRET), Some(KEY)),
    ] {
        let lookup = |name: &str| match name {
            "SEALED_EMAIL_WEBHOOK_SECRET" => secret.map(str::to_owned),
            routes::SEALED_KEY_VAR => key.map(str::to_owned),
            other => env(other),
        };
        let routes = routes::routes(&lookup, "http://localhost").unwrap();
        let text = routes::banner("http://localhost", &routes);
        let section = text
            .split("\n\n# ")
            .find(|s| s.starts_with("sealed-email:"));
        let case = format!("secret {:?}, key {:?}", secret.is_some(), key.is_some());
        match (secret, key) {
            (Some(_), Some(_)) => assert!(section.is_none(), "{case}: {text}"),
            (None, None) => {
                let section = section.unwrap();
                assert!(section.contains("curl "), "{case}: {section}");
            }
            _ => {
                let section = section.unwrap();
                assert!(!section.contains("curl "), "{case}: {section}");
                assert!(section.contains("no test command"), "{case}: {section}");
            }
        }
        // Never a configured secret in the banner.
        assert!(
            !text.contains(&SECRET[6..]) && !text.contains(KEY),
            "{case}"
        );
        // Every other route generated its secret: each prints its command.
        let commands = text.lines().filter(|l| l.starts_with("curl ")).count();
        let expected = routes.iter().filter(|r| !r.generated.is_empty()).count()
            - usize::from(secret.is_some() != key.is_some());
        assert_eq!(commands, expected, "{case}: {text}");
    }
}

/// Only POST runs the pipeline: the example mounts the layer with `route_layer`, so another
/// method is answered 405 by axum, without a rejection counted or the source's rate limit
/// spent.
#[tokio::test]
async fn other_methods_are_405_without_running_the_pipeline() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let app = axum_app::app(&routes);
    for method in ["GET", "HEAD", "PUT", "OPTIONS", "DELETE"] {
        let mut request = Request::builder()
            .method(method)
            .uri("/webhooks/github")
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
    }
    for route in &routes {
        assert_eq!(route.receiver.stats().rejected_total(), 0, "{}", route.name);
    }
}

/// `Webhook<E>`'s `Debug` shows the event's type, no payload.
#[test]
fn the_extractors_debug_shows_no_payload() {
    use webhook::WebhookEvent as _;
    let body = br#"{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"m_debug","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}"#;
    let event = crate::email::EmailEvent::decode(&webhook::WebhookRequest::new(body)).unwrap();
    let shown = format!("{:?}", webhook::axum::Webhook(event));
    assert_eq!(shown, r#"Webhook { event_type: "email.delivered", .. }"#);
}
