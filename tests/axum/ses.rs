//! The SES example's route (`examples/support/ses_app.rs`): SES notifications through Amazon
//! SNS, behind the axum layer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;
use webhook::provider::sns;
use webhook::{FixedClock, PrivateKey};

use crate::ses_app;

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ses-events";
const CERT_URL: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
const NOW_MS: i64 = 1_764_000_000_000;

fn key() -> PrivateKey {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/webhook-core/tests/fixtures/asym/rsa2048-private.pem"
    );
    PrivateKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn app() -> (axum::Router, ses_app::Inbox) {
    let verifier = sns::verifier(key().public_key(), [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(NOW_MS)));
    let inbox = ses_app::Inbox::default();
    // The rate limiter on the same fixed clock: its budget refills only when a test says so.
    let receiver =
        ses_app::receiver_on(verifier, std::sync::Arc::new(FixedClock::at_ms(NOW_MS))).unwrap();
    (ses_app::app(receiver, inbox.clone()), inbox)
}

fn signer() -> sns::SnsSigner {
    sns::signer(key(), CERT_URL).unwrap()
}

fn bounce(id: &str) -> String {
    let event = serde_json::json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent"},
        "mail": {"messageId": "0100018c-ses-1"},
    });
    signer()
        .sign(
            &sns::Message::notification(TOPIC, event.to_string())
                .id(id)
                .timestamp_ms(NOW_MS - 1000),
        )
        .unwrap()
}

async fn post(app: &axum::Router, body: String, content_type: &str) -> (StatusCode, Value) {
    let message_type = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["Type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let request = Request::post("/webhooks/ses")
        .header("content-type", content_type)
        .header("x-amz-sns-message-type", message_type)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const TEXT: &str = "text/plain; charset=UTF-8";

#[tokio::test]
async fn an_ses_bounce_is_processed_once() {
    let (app, inbox) = app();
    let body = bounce("6a2b9c10-0000-4000-8000-00000000000a");
    let (status, reply) = post(&app, body.clone(), TEXT).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["event_type"], "Bounce");
    assert_eq!(reply["id"], "6a2b9c10-0000-4000-8000-00000000000a");
    assert_eq!(reply["duplicate"], false);

    // SNS retries the same message: answered as a duplicate, the handler not run again.
    let (status, reply) = post(&app, body, TEXT).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["duplicate"], true, "{reply}");
    assert_eq!(inbox.events.lock().unwrap().len(), 1);
    assert_eq!(inbox.events.lock().unwrap()[0].1, "Bounce");

    // A delivery policy may send application/json instead.
    let (status, _) = post(
        &app,
        bounce("6a2b9c10-0000-4000-8000-00000000000b"),
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox.events.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn forged_foreign_and_malformed_messages_are_refused() {
    let (app, inbox) = app();
    // Another topic, correctly signed by the same certificate.
    let foreign = signer()
        .sign(
            &sns::Message::notification("arn:aws:sns:eu-west-1:999999999999:theirs", "{}")
                .timestamp_ms(NOW_MS),
        )
        .unwrap();
    let (status, reply) = post(&app, foreign, TEXT).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply["error"], "invalid_signature");

    // A changed message.
    let tampered = bounce("6a2b9c10-0000-4000-8000-00000000000c").replace("Permanent", "Transient");
    let (status, reply) = post(&app, tampered, TEXT).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply["error"], "invalid_signature");

    // Not an SNS envelope at all.
    let (status, reply) = post(&app, "hello".to_owned(), TEXT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");

    // A content type SNS never sends.
    let (status, _) = post(
        &app,
        bounce("6a2b9c10-0000-4000-8000-00000000000d"),
        "application/xml",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A verified message whose `Message` is not an SES event: 400 and the claim released,
    // not completed: sent again, it is handled again rather than answered as a duplicate.
    let odd = signer()
        .sign(
            &sns::Message::notification(TOPIC, "not json")
                .id("6a2b9c10-0000-4000-8000-00000000000e")
                .timestamp_ms(NOW_MS),
        )
        .unwrap();
    for _ in 0..2 {
        let (status, reply) = post(&app, odd.clone(), TEXT).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        assert_eq!(reply["error"], "malformed_body");
    }
    assert!(inbox.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_subscription_confirmation_yields_its_url() {
    let (app, inbox) = app();
    let url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription\
               &TopicArn=arn:aws:sns:eu-west-1:123456789012:ses-events&Token=2336412f37";
    let body = signer()
        .sign(
            &sns::Message::subscription_confirmation(TOPIC, "2336412f37", url).timestamp_ms(NOW_MS),
        )
        .unwrap();
    let (status, reply) = post(&app, body, TEXT).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["message_type"], "SubscriptionConfirmation");
    assert_eq!(
        inbox.confirmations.lock().unwrap().as_slice(),
        [url.to_owned()]
    );
}

#[tokio::test]
async fn ses_events_arrive_typed_and_validated() {
    let (app, inbox) = app();
    let send = |id: &'static str, event: Value| {
        signer()
            .sign(
                &sns::Message::notification(TOPIC, event.to_string())
                    .id(id)
                    .timestamp_ms(NOW_MS),
            )
            .unwrap()
    };
    let delivery = serde_json::json!({"eventType": "Delivery", "mail": {"messageId": "m-1"}});
    let (status, reply) = post(
        &app,
        send("6a2b9c10-0000-4000-8000-000000000011", delivery),
        TEXT,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["event_type"], "Delivery");

    // A type the set does not have: 422, the handler's own decode refusing it.
    let open = serde_json::json!({"eventType": "Open", "mail": {"messageId": "m-2"}});
    let (status, reply) = post(
        &app,
        send("6a2b9c10-0000-4000-8000-000000000012", open),
        TEXT,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["error"], "unknown_event_type");

    // Failed rules: 422 naming each field by the JSON name SES writes.
    let bounce = serde_json::json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Sideways"},
        "mail": {"messageId": ""},
    });
    let (status, reply) = post(
        &app,
        send("6a2b9c10-0000-4000-8000-000000000013", bounce),
        TEXT,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["error"], "validation_failed", "{reply}");
    assert_eq!(
        reply["message"],
        "bounce.bounceType: must be one of `Permanent`, `Transient`, `Undetermined`; \
         mail.messageId: must not be empty"
    );

    assert_eq!(inbox.events.lock().unwrap().len(), 1);
}

/// SNS drops a message answered with any 4xx: past the example's rate limit (a burst of 100)
/// a request is answered 503 `rate_limited` with `Retry-After`, which SNS retries, never 429.
#[tokio::test]
async fn past_the_rate_limit_sns_is_answered_503_never_429() {
    let (app, _) = app();
    let mut limited = 0;
    for _ in 0..300 {
        let request = Request::post("/webhooks/ses")
            .header("content-type", TEXT)
            .body(Body::from("not a message"))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(response.headers().contains_key("retry-after"));
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let json: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(json["error"], "rate_limited");
            limited += 1;
        }
    }
    // The clock stands still: the burst of 100 passes, every later request is limited.
    assert_eq!(limited, 200);
}
