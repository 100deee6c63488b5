//! The axum router of the example receiver: one `POST /webhooks/<route>` per route, each
//! behind `VerifyWebhookLayer`, answering `{"event_type","id","duplicate":false}`.
#![allow(dead_code, unreachable_pub)]

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use webhook::Receiver;
use webhook::axum::{Verified, VerifyWebhookLayer, Webhook, WebhookProof, WebhookRejection};

use super::email::EmailEvent;
use super::routes::{Kind, RouteSpec, summarize};

fn accepted(event_type: Option<&str>, id: Option<&str>) -> Response {
    let body = serde_json::json!({ "event_type": event_type, "id": id, "duplicate": false });
    axum::Json(body).into_response()
}

async fn raw(State(receiver): State<Receiver>, headers: HeaderMap, hook: Verified) -> Response {
    let mut request = webhook::WebhookRequest::new(hook.body());
    for (name, value) in &headers {
        request.push_header(name.as_str(), value.as_bytes());
    }
    match summarize(&request, hook.proof()) {
        Ok((event_type, id)) => accepted(event_type.as_deref(), id.as_deref()),
        Err(error) => WebhookRejection::from_error(&receiver, error).into_response(),
    }
}

async fn email(WebhookProof(proof): WebhookProof, Webhook(event): Webhook<EmailEvent>) -> Response {
    use webhook::WebhookEvent as _;
    accepted(Some(event.event_type()), proof.message_id())
}

/// The router serving every route.
pub fn app(routes: &[RouteSpec]) -> Router {
    let mut app = Router::new();
    for route in routes {
        let method = match route.kind {
            Kind::Raw => post(raw),
            Kind::Email => post(email),
        };
        // `route_layer`: the layer wraps the POST handler only, so another method is
        // answered 405 by axum without running the pipeline (`layer` would wrap the 405
        // fallback too, and a GET would be answered 401).
        let method = method
            .route_layer(VerifyWebhookLayer::new(route.receiver.clone()))
            .with_state(route.receiver.clone());
        app = app.route(&route.path(), method);
    }
    app
}
