//! The tenants script through axum's test client: the route mounted with a path parameter
//! behind `VerifyWebhookLayer`.

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::axum::{VerifyWebhookLayer, Webhook, WebhookProof};

use crate::email::EmailEvent;
use crate::tenant_script::{Rig, accepted, play};

async fn handler(
    WebhookProof(proof): WebhookProof,
    _: Webhook<EmailEvent>,
) -> axum::Json<serde_json::Value> {
    axum::Json(accepted(&proof))
}

#[tokio::test]
async fn the_tenants_script() {
    let rig = Rig::new();
    let app = Router::new()
        .route("/webhooks/mail/{tenant}", post(handler))
        .layer(VerifyWebhookLayer::new(rig.receiver.clone()))
        .with_state(rig.receiver.clone());
    for (step, (path, headers, body)) in play(&rig) {
        let mut request = axum::http::Request::post(path);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        rig.check(step, status, &bytes);
    }
    rig.finished();
}
