//! One route for many tenants behind the layer: each tenant's deliveries verified with its own
//! keys (named by the path), deduplicated apart from the others' (by the event's own id, which
//! the extractor claims), and a tenant added while the router serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook_axum::{VerifyWebhookLayer, Webhook, WebhookProof};
use webhook_core::provider::stripe;
use webhook_core::{
    DecodeError, Outgoing, Receiver, Secret, Signer, Tenants, WebhookEvent, WebhookRequest,
};

/// An event whose own id (`id`) deduplicates it: Stripe's proof carries no message id.
#[derive(Debug)]
struct Charge;

impl WebhookEvent for Charge {
    fn event_types() -> &'static [&'static str] {
        &["charge.succeeded"]
    }
    fn event_type(&self) -> &str {
        "charge.succeeded"
    }
    fn decode(request: &WebhookRequest<'_>) -> Result<Self, DecodeError> {
        let v: serde_json::Value =
            serde_json::from_slice(request.body()).map_err(|_| DecodeError::malformed_body())?;
        match v["type"].as_str() {
            Some("charge.succeeded") => Ok(Self),
            _ => Err(DecodeError::unknown_event_type("type")),
        }
    }
    fn event_id(request: &WebhookRequest<'_>) -> Result<Option<String>, DecodeError> {
        let v: serde_json::Value =
            serde_json::from_slice(request.body()).map_err(|_| DecodeError::malformed_body())?;
        Ok(v["id"].as_str().map(str::to_owned))
    }
    fn json_schema() -> serde_json::Value {
        serde_json::Value::Bool(true)
    }
}

fn secret(seed: u8) -> Secret {
    Secret::from_bytes(vec![seed; 32]).unwrap()
}

/// A Stripe delivery of event `id`, signed with `key`, posted to `/webhooks/stripe/{tenant}`.
fn delivery(key: u8, tenant: &str, id: &str) -> Request {
    let body = format!(r#"{{"id":"{id}","type":"charge.succeeded"}}"#);
    let headers = stripe::signer(secret(key))
        .sign(&Outgoing::new(body.as_bytes()))
        .unwrap();
    let mut builder = Request::post(format!("/webhooks/stripe/{tenant}"))
        .header("content-type", "application/json");
    for (name, value) in headers.iter() {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body)).unwrap()
}

async fn answer(app: &Router, request: Request) -> (u16, serde_json::Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test]
async fn each_tenant_is_verified_and_deduplicated_on_its_own() {
    let tenants = Tenants::by_last_path_segment()
        .tenant("acme", stripe::verifier(secret(1)).unwrap())
        .unwrap()
        .tenant("globex", stripe::verifier(secret(2)).unwrap())
        .unwrap();
    let registry = tenants.clone();
    let receiver = Receiver::builder()
        .route("stripe")
        .verifier(tenants)
        .public_base_url("https://hooks.example.com")
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = Router::new()
        .route(
            "/webhooks/stripe/{tenant}",
            post(
                move |WebhookProof(proof): WebhookProof, Webhook(_): Webhook<Charge>| async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({ "tenant": proof.tenant() }))
                },
            ),
        )
        .layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver.clone());

    let (status, body) = answer(&app, delivery(1, "acme", "evt_1")).await;
    assert_eq!((status, body["tenant"].as_str()), (200, Some("acme")));
    // Globex's own event that happens to share the id is a delivery of its own.
    let (status, body) = answer(&app, delivery(2, "globex", "evt_1")).await;
    assert_eq!((status, body["tenant"].as_str()), (200, Some("globex")));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Acme's retry is a duplicate, answered without the handler.
    let (status, body) = answer(&app, delivery(1, "acme", "evt_1")).await;
    assert_eq!((status, body["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Acme's signature posted to Globex's URL, and an unknown tenant: refused.
    let (status, body) = answer(&app, delivery(1, "globex", "evt_2")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_signature"))
    );
    let (status, body) = answer(&app, delivery(3, "initech", "evt_2")).await;
    assert_eq!(
        (status, body["error"].as_str(), body["message"].as_str()),
        (401, Some("invalid_credentials"), Some("unknown tenant"))
    );

    // Added while the router serves, through the clone kept aside.
    registry
        .insert("initech", stripe::verifier(secret(3)).unwrap())
        .unwrap();
    let (status, body) = answer(&app, delivery(3, "initech", "evt_2")).await;
    assert_eq!((status, body["tenant"].as_str()), (200, Some("initech")));
    assert!(registry.remove("acme"));
    let (status, _) = answer(&app, delivery(1, "acme", "evt_3")).await;
    assert_eq!(status, 401);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let stats = receiver.stats();
    assert_eq!((stats.accepted, stats.duplicates), (3, 1));
}
