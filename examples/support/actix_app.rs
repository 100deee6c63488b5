//! The actix-web app of the example receiver: one `POST /webhooks/<route>` per route, each
//! wrapped in `VerifyWebhook`, answering `{"event_type","id","duplicate":false}` — the same
//! routes and answers as the axum router in `axum_app.rs`.
#![allow(dead_code, unreachable_pub)]

use actix_web::{HttpRequest, HttpResponse, web};
use webhook::Receiver;
use webhook::actix::{Verified, VerifyWebhook, Webhook, WebhookProof, WebhookRejection};

use super::email::EmailEvent;
use super::routes::{Kind, RouteSpec, summarize};

fn accepted(event_type: Option<&str>, id: Option<&str>) -> HttpResponse {
    let body = serde_json::json!({ "event_type": event_type, "id": id, "duplicate": false });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string())
}

async fn raw(
    request: HttpRequest,
    receiver: web::Data<Receiver>,
    hook: Verified,
) -> Result<HttpResponse, WebhookRejection> {
    let mut view = webhook::WebhookRequest::new(hook.body());
    for (name, value) in request.headers() {
        view.push_header(name.as_str(), value.as_bytes());
    }
    match summarize(&view, hook.proof()) {
        Ok((event_type, id)) => Ok(accepted(event_type.as_deref(), id.as_deref())),
        Err(error) => Err(WebhookRejection::from_error(&receiver, error)),
    }
}

async fn email(
    WebhookProof(proof): WebhookProof,
    Webhook(event): Webhook<EmailEvent>,
) -> HttpResponse {
    use webhook::WebhookEvent as _;
    accepted(Some(event.event_type()), proof.message_id())
}

/// One route of the app, `Send` so every server worker can build its own `App`.
#[derive(Clone)]
pub struct Mount {
    path: String,
    receiver: Receiver,
    kind: Kind,
}

/// The mounts of `routes`.
pub fn mounts(routes: &[RouteSpec]) -> Vec<Mount> {
    routes
        .iter()
        .map(|route| Mount {
            path: route.path(),
            receiver: route.receiver.clone(),
            kind: route.kind,
        })
        .collect()
}

/// Register every route: `App::new().configure(|cfg| configure(cfg, &mounts))`.
pub fn configure(config: &mut web::ServiceConfig, mounts: &[Mount]) {
    for mount in mounts {
        let handler = match mount.kind {
            Kind::Raw => web::post().to(raw),
            Kind::Email => web::post().to(email),
        };
        // The middleware wraps the POST route only (`Route::wrap`), so another method is
        // answered 405 by actix-web without running the pipeline (on the resource, it would
        // wrap the resource's 405 service too, and a GET would be answered 401).
        config.service(
            web::resource(mount.path.as_str())
                .app_data(web::Data::new(mount.receiver.clone()))
                .route(handler.wrap(VerifyWebhook::new(mount.receiver.clone()))),
        );
    }
}
