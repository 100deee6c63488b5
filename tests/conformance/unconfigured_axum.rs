//! The conformance table's unconfigured route for axum: `WebhookProof` needs
//! `VerifyWebhookLayer`, and this route has none. (A `Webhook<E>` without a `Receiver` in
//! the state does not compile, which is axum's stronger answer to missing configuration.)

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use webhook::axum::WebhookProof;

use crate::cases::UNCONFIGURED_PATH;

/// `app` with the unconfigured route added.
pub(crate) fn with_unconfigured_route(app: Router) -> Router {
    app.route(
        UNCONFIGURED_PATH,
        post(|WebhookProof(_): WebhookProof| async { StatusCode::NO_CONTENT }),
    )
}
