//! The tenants script through axum's test client: the route mounted behind
//! `VerifyWebhookLayer`, with a path parameter where the path names the tenant.

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::axum::{VerifyWebhookLayer, Webhook, WebhookProof};

use crate::email::EmailEvent;
use crate::tenant_script::{Rig, Selection, accepted, play};

async fn handler(
    WebhookProof(proof): WebhookProof,
    _: Webhook<EmailEvent>,
) -> axum::Json<serde_json::Value> {
    axum::Json(accepted(&proof))
}

#[tokio::test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let path = match selection {
            Selection::Path => "/webhooks/mail/{tenant}",
            Selection::Query => "/webhooks/mail",
        };
        let app = Router::new()
            .route(path, post(handler))
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
}
