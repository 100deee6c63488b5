//! The fairing owns the lease: the handler's response decides done or released.

use std::time::Duration;

use rocket::futures::StreamExt as _;
use rocket::futures::stream::FuturesUnordered;
use webhook_core::{Outgoing, Signer, StandardWebhooksSigner, VerifyErrorKind, WebhookRequest};

use crate::support::{BODY, Gate, Rig, answer, client, rocket, runs};

/// 50 deliveries of one id at once: the first one's handler is held until every other one
/// has been answered, so each of those meets the claim in flight (409 + `Retry-After`)
/// whatever the scheduling; the handler runs once, and a later copy is a duplicate.
#[rocket::async_test]
async fn concurrent_deliveries_of_one_id_run_the_handler_exactly_once() {
    let rig = Rig::new();
    let client = client(rocket(Some(rig.receiver(|b| b)), true)).await;
    let mut answers: FuturesUnordered<_> = (0..50)
        .map(|_| {
            answer(
                rig.request(&client, "/held", "msg_once", BODY),
                "retry-after",
            )
        })
        .collect();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(60), answers.next())
            .await
            .expect("a delivery was not answered")
            .expect("fewer answers than deliveries")
    };
    for _ in 0..49 {
        let (status, body, retry_after) = next().await;
        assert_eq!((status, body["error"].as_str()), (409, Some("in_flight")));
        assert!(retry_after.is_some());
    }
    assert_eq!(runs(&client), 1);
    client.rocket().state::<Gate>().unwrap().0.add_permits(1);
    let (status, body, _) = next().await;
    assert_eq!((status, body), (200, serde_json::json!({})));
    let (status, body, _) = answer(rig.request(&client, "/held", "msg_once", BODY), "").await;
    assert_eq!((status, body["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(runs(&client), 1);
}

#[rocket::async_test]
async fn a_failing_handler_is_retried_and_a_success_is_not() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let client = client(rocket(Some(receiver.clone()), true)).await;
    assert_eq!(
        answer(rig.request(&client, "/fail", "msg_r", BODY), "")
            .await
            .0,
        500
    );
    assert_eq!(
        answer(rig.request(&client, "/ok", "msg_r", BODY), "")
            .await
            .0,
        204
    );
    let (status, body, _) = answer(rig.request(&client, "/ok", "msg_r", BODY), "").await;
    assert_eq!((status, body["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(runs(&client), 2);
    let stats = receiver.stats();
    assert_eq!(
        (stats.accepted, stats.handler_failures, stats.duplicates),
        (1, 1, 1)
    );
}

#[rocket::async_test]
async fn a_panicking_handler_releases_the_claim() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let client = client(rocket(Some(receiver.clone()), true)).await;
    assert_eq!(
        answer(rig.request(&client, "/boom", "msg_p", BODY), "")
            .await
            .0,
        500
    );
    assert_eq!(
        answer(rig.request(&client, "/ok", "msg_p", BODY), "")
            .await
            .0,
        204
    );
    assert_eq!(runs(&client), 2);
    assert_eq!(receiver.stats().handler_failures, 1);
}

#[rocket::async_test]
async fn a_handler_rejection_is_answered_recorded_and_released() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let client = client(rocket(Some(receiver.clone()), true)).await;
    let (status, body, content_type) = answer(
        rig.request(&client, "/reject", "msg_x", BODY),
        "content-type",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_body"))
    );
    assert_eq!(body["message"], "not for us");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(receiver.stats().rejected(VerifyErrorKind::MalformedBody), 1);
    assert_eq!(
        answer(rig.request(&client, "/ok", "msg_x", BODY), "")
            .await
            .0,
        204
    );
}

/// The rejection that overrules a handler answering for itself replaces its response whole:
/// nothing of the handler's (cookies, `Location`, `Cache-Control`, its own headers) rides on
/// the 401, as in the other adapters; rocket's own `Server` and `Shield` headers stay.
#[rocket::async_test]
async fn a_rejection_replaces_the_handlers_response_whole() {
    let rig = Rig::new();
    let client = client(rocket(Some(rig.receiver(|b| b)), true)).await;

    let response = client.post("/answers").body(BODY).dispatch().await;
    assert_eq!(response.status().code, 401);
    let headers = response.headers();
    for name in ["set-cookie", "location", "cache-control", "x-handler"] {
        assert!(
            !headers.contains(name),
            "{name}: {:?}",
            headers.get_one(name)
        );
    }
    assert_eq!(headers.get_one("content-type"), Some("application/json"));
    assert_eq!(headers.get_one("x-content-type-options"), Some("nosniff"));
    assert_eq!(headers.get_one("server"), Some("Rocket"));
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "missing_header");
    assert_eq!(runs(&client), 1);

    // A delivery that passed keeps the handler's answer, headers and all.
    let response = rig
        .request(&client, "/answers", "msg_ok", BODY)
        .dispatch()
        .await;
    assert_eq!(response.status().code, 200);
    let headers = response.headers();
    let cookies: Vec<&str> = headers.get("set-cookie").collect();
    assert!(cookies.contains(&"session=handler"), "{cookies:?}");
    assert!(
        cookies.iter().any(|c| c.starts_with("jar=handler")),
        "{cookies:?}"
    );
    assert_eq!(headers.get_one("x-handler"), Some("1"));
}

#[rocket::async_test]
async fn an_expired_lease_frees_the_id() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.lease(Duration::from_secs(10)));
    let client = client(rocket(Some(receiver.clone()), true)).await;
    // A crashed claim: taken through the core and never finished.
    let headers = StandardWebhooksSigner::new(rig.secret.clone())
        .clock(rig.shared())
        .sign(&Outgoing::new(BODY).id("msg_c"))
        .unwrap();
    let view = headers.apply(WebhookRequest::new(BODY));
    let mut delivery = receiver.delivery();
    delivery.admit(&view, false).unwrap();
    delivery.authenticate(&view).unwrap();
    assert!(delivery.claim(None).await.unwrap());
    std::mem::forget(delivery);
    let (status, body, retry_after) =
        answer(rig.request(&client, "/ok", "msg_c", BODY), "retry-after").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("in_flight")));
    assert!(retry_after.is_some());
    rig.clock.advance(Duration::from_secs(10));
    assert_eq!(
        answer(rig.request(&client, "/ok", "msg_c", BODY), "")
            .await
            .0,
        204
    );
}

/// A rocket whose routes take webhook guards does not launch without the fairing (the
/// guards' sentinels abort it): nothing could finish a delivery nor render a rejection.
#[rocket::async_test]
async fn without_the_fairing_the_rocket_does_not_launch() {
    let rig = Rig::new();
    let launched =
        rocket::local::asynchronous::Client::tracked(rocket(Some(rig.receiver(|b| b)), false))
            .await;
    let Err(error) = launched else {
        panic!("a rocket without WebhookFairing must not launch");
    };
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{error:?}"
    );
    // With it, the same rocket launches.
    let client = client(rocket(Some(rig.receiver(|b| b)), true)).await;
    assert_eq!(runs(&client), 0);
}
