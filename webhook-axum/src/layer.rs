//! [`VerifyWebhookLayer`].

use tower_layer::Layer;
use webhook_core::Receiver;

use crate::VerifyWebhook;

/// Verifies every request of the routes it wraps and owns their idempotency claims: the
/// handler's response decides whether a delivery is done (2xx) or released (any other status,
/// an error, or a panic — the claim is released while the panic unwinds), so a failed delivery
/// is processed again when the sender retries.
///
/// Requests that fail a check never reach the handler; they are answered from the status
/// table (see [`Webhook`](crate::Webhook) for the list). Duplicates of a processed delivery
/// are answered 200 without running the handler; a duplicate in flight is 409. Behind the
/// layer, handlers take [`Webhook<E>`](crate::Webhook), [`Verified`](crate::Verified),
/// [`WebhookProof`](crate::WebhookProof), or any body extractor (`Json<T>`, `Bytes`): the body
/// is handed on as verified — unchanged, or its plaintext when the receiver decrypts (with
/// `Content-Length` and `Content-Type` set for the plaintext, and no `Transfer-Encoding`).
///
/// Mount it with `route_layer` (on the `Router` or on `post(handler)`): it then wraps the
/// routes' handlers only, and a request of another method (a `GET` from a monitor, a
/// `HEAD`) is answered 405 by axum. `layer` would wrap axum's 405 and 404 fallbacks too:
/// such requests would run the pipeline, spend the source's rate limit and be answered 401.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::post};
/// use webhook_axum::{Verified, VerifyWebhookLayer};
/// use webhook_core::{Receiver, Secret, StandardWebhooks};
///
/// let receiver = Receiver::builder()
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/email", post(|hook: Verified| async move { hook.body().len().to_string() }))
///     .route_layer(VerifyWebhookLayer::new(receiver.clone()))
///     .with_state(receiver);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifyWebhookLayer {
    receiver: Receiver,
}

impl VerifyWebhookLayer {
    /// A layer verifying with `receiver`.
    #[must_use]
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> VerifyWebhook<S> {
        VerifyWebhook::new(inner, self.receiver.clone())
    }
}
